package rbacapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// golden compares v, as the front door encodes it, with a golden file.
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
		t.Errorf("%s changed:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}

// TestWireShapes pins the documents armauthorization decodes (reference
// §11.1, §11.2): IDs prefixed by the subscription of the scope, the REST
// "type" of a role, nulls where ARM sends nulls.
func TestWireShapes(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	const sub = "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	reader, _ := authz.BuiltinRole(authz.RoleReader)
	reader.CreatedAt, reader.UpdatedAt = at, at
	golden(t, "role-definition-builtin", roleDefinitionWire(sub+"/resourceGroups/rg1", reader))
	golden(t, "role-definition-custom", roleDefinitionWire("/", store.RoleDefinition{
		ID: "3c7a6f1e-2b8d-4e5f-9a0b-1c2d3e4f5a6b", RoleName: "VM Restarter", Description: "restart VMs", RoleType: authz.RoleTypeCustom,
		Permissions:      []store.Permission{{Actions: []string{"Microsoft.Compute/virtualMachines/restart/action"}}},
		AssignableScopes: []string{sub}, Scope: sub, CreatedAt: at, UpdatedAt: at,
		CreatedBy: "3f9a0b1c-2d3e-4f50-6172-8394a5b6c7d8", UpdatedBy: "3f9a0b1c-2d3e-4f50-6172-8394a5b6c7d8",
	}))
	golden(t, "role-assignment", roleAssignmentWire(store.RoleAssignment{
		Name: "8a5d7a44-3c4c-4a5f-9f0e-0a5f1d3d1f7e", Scope: sub + "/resourceGroups/rg1", RoleDefinitionID: authz.RoleReader,
		PrincipalID: "55555555-5555-5555-5555-555555555555", PrincipalType: "ServicePrincipal",
		CreatedAt: at, UpdatedAt: at, CreatedBy: "3f9a0b1c-2d3e-4f50-6172-8394a5b6c7d8", UpdatedBy: "3f9a0b1c-2d3e-4f50-6172-8394a5b6c7d8",
	}))
	golden(t, "role-assignment-root", roleAssignmentWire(store.RoleAssignment{
		Name: "0d546b88-c3d8-4ab9-b0e0-c615063e1f19", Scope: "/", RoleDefinitionID: authz.RoleOwner,
		PrincipalID: "94424b65-e2bd-4d3a-9319-e6b55f9c67fb", PrincipalType: "ServicePrincipal",
		Description: "keyless administrator (created at first start)", CreatedAt: at, UpdatedAt: at,
	}))
}
