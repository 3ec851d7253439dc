package usageapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/usage"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, buf.Bytes(), want)
	}
}

// TestWireShapes pins the usage list: a used identity with tokens for two
// audiences and requests allowed and denied, and one never used (nulls and
// empty lists, never absent members).
func TestWireShapes(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	day := t0.Truncate(24 * time.Hour)
	const rg = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg1"
	used := store.Principal{ObjectID: "00000000-0000-0000-0000-000000000001", AppID: "00000000-0000-0000-0000-000000000002",
		DisplayName: "id-web", Kind: store.PrincipalUserAssigned, ResourceID: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web"}
	idle := store.Principal{ObjectID: "00000000-0000-0000-0000-000000000003", AppID: "00000000-0000-0000-0000-000000000004",
		DisplayName: "ci", Kind: store.PrincipalServicePrincipal}
	u := usage.Principal{PrincipalID: used.ObjectID,
		Tokens: []usage.Audience{
			{Audience: "https://management.azure.com/", First: t0, Last: t0.Add(25 * time.Hour), Count: 5,
				Days: []usage.Day{{Day: day, Count: 3}, {Day: day.Add(24 * time.Hour), Count: 2}}},
			{Audience: "https://vault.azure.net", First: t0, Last: t0, Count: 1, Days: []usage.Day{{Day: day, Count: 1}}},
		},
		Actions: []usage.Action{
			{Action: "Microsoft.Resources/subscriptions/resourceGroups/read", Scope: rg, Count: 4, First: t0, Last: t0.Add(time.Hour)},
			{Action: "Microsoft.ManagedIdentity/userAssignedIdentities/write", Scope: rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x", Denied: true, Count: 1, First: t0, Last: t0},
		},
	}
	golden(t, "usage-list", List{Value: []PrincipalUsage{wire(rg, used, u), wire(rg, idle, usage.Principal{})}, FlushIntervalSeconds: 5})
	golden(t, "usage-list-root", List{Value: []PrincipalUsage{wire("/", idle, usage.Principal{})}})
}
