// Package shareddata finds the third-party data that tests use but the
// repository never holds: it lives in ../shared/data beside the
// repository, as CI lays it out.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// AzureRoleCatalogue is the path of Azure's built-in role catalogue (943
// roles in the shape `az role definition list` prints),
// ../shared/data/azure-builtin-roles.json from the repository root.
// Without it the test is skipped, except in CI (CI=true), where it fails.
func AzureRoleCatalogue(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shareddata: no go.mod above the test's directory")
		}
		dir = parent
	}
	path := filepath.Join(filepath.Dir(dir), "shared", "data", "azure-builtin-roles.json")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Azure role catalogue is missing at %s (CI lays out ../shared/data beside the repository): %v", path, err)
		}
		t.Skipf("the Azure role catalogue is not at %s", path)
	}
	return path
}
