package authz_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv/shareddata"
)

// TestCompiledRolesMatchAzure checks every built-in role compiled into
// keyless against Azure's catalogue, as `az role definition list` exports
// it: same ID, name, description, permissions (order included) and
// assignable scopes.
func TestCompiledRolesMatchAzure(t *testing.T) {
	azure, skipped, err := authz.ReadCatalogue(shareddata.AzureRoleCatalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(azure) < 900 || skipped != 0 {
		t.Fatalf("the catalogue holds %d built-in roles (%d skipped); want Azure's whole catalogue", len(azure), skipped)
	}
	byID := map[string]store.RoleDefinition{}
	for _, r := range azure {
		byID[r.ID] = r
	}
	compiled := authz.BuiltinRoles()
	if len(compiled) < 40 {
		t.Errorf("%d compiled built-in roles; the workload roles are missing", len(compiled))
	}
	for _, r := range compiled {
		t.Run(r.RoleName, func(t *testing.T) {
			want, ok := byID[r.ID]
			if !ok {
				t.Fatalf("%s is not an Azure built-in role ID", r.ID)
			}
			if diff := roleDiff(r, want); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func roleDiff(got, want store.RoleDefinition) string {
	var d []string
	if got.RoleName != want.RoleName {
		d = append(d, fmt.Sprintf("roleName %q, Azure %q", got.RoleName, want.RoleName))
	}
	if got.Description != want.Description {
		d = append(d, fmt.Sprintf("description %q, Azure %q", got.Description, want.Description))
	}
	if !slices.Equal(got.AssignableScopes, want.AssignableScopes) {
		d = append(d, fmt.Sprintf("assignableScopes %v, Azure %v", got.AssignableScopes, want.AssignableScopes))
	}
	if len(got.Permissions) != len(want.Permissions) {
		return strings.Join(append(d, fmt.Sprintf("%d permission blocks, Azure %d", len(got.Permissions), len(want.Permissions))), "\n")
	}
	for i := range got.Permissions {
		p, q := got.Permissions[i], want.Permissions[i]
		for _, l := range []struct {
			name     string
			got, exp []string
		}{{"actions", p.Actions, q.Actions}, {"notActions", p.NotActions, q.NotActions},
			{"dataActions", p.DataActions, q.DataActions}, {"notDataActions", p.NotDataActions, q.NotDataActions}} {
			if !slices.Equal(l.got, l.exp) {
				d = append(d, fmt.Sprintf("block %d %s:\n  keyless %q\n  Azure   %q", i, l.name, l.got, l.exp))
			}
		}
		if p.Condition != q.Condition || p.ConditionVersion != q.ConditionVersion {
			d = append(d, fmt.Sprintf("block %d condition differs", i))
		}
	}
	return strings.Join(d, "\n")
}

func TestParseCatalogue(t *testing.T) {
	const doc = `[
	 {"id": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8B54135C-B56D-4D72-A534-26097CFDC8D8",
	  "name": "8b54135c-b56d-4d72-a534-26097cfdc8d8", "roleName": "Key Vault Data Access Administrator", "roleType": "BuiltInRole",
	  "type": "Microsoft.Authorization/roleDefinitions", "description": "d", "assignableScopes": ["/"],
	  "permissions": [{"actions": ["Microsoft.Authorization/roleAssignments/write", "*/read"], "notActions": [], "dataActions": [], "notDataActions": [],
	    "condition": "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{4633458b-17de-408a-b874-0445c86b69e6}))",
	    "conditionVersion": "2.0"}]},
	 {"id": "0e0e0e0e-0000-4000-8000-000000000001", "roleName": "Mine", "roleType": "CustomRole", "permissions": [{"actions": ["*"]}], "assignableScopes": ["/subscriptions/s"]},
	 {"id": "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d", "name": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
	  "properties": {"roleName": "AcrPull", "type": "BuiltInRole", "description": "acr pull", "assignableScopes": ["/"],
	   "permissions": [{"actions": ["Microsoft.ContainerRegistry/registries/pull/read"], "condition": null, "conditionVersion": null}]}}
	]`
	roles, skipped, err := authz.ParseCatalogue(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 || len(roles) != 2 {
		t.Fatalf("%d roles, %d skipped; want 2 built-in and the custom one skipped", len(roles), skipped)
	}
	kv, acr := roles[0], roles[1]
	if kv.ID != "8b54135c-b56d-4d72-a534-26097cfdc8d8" || kv.RoleType != authz.RoleTypeBuiltIn || kv.Permissions[0].ConditionVersion != "2.0" ||
		!strings.HasPrefix(kv.Permissions[0].Condition, "((!(ActionMatches") {
		t.Errorf("az shape: %+v", kv)
	}
	if acr.ID != "7f951dda-4ed3-4680-a7ca-43fe172d538d" || acr.RoleName != "AcrPull" || acr.Permissions[0].Condition != "" ||
		acr.Permissions[0].NotActions == nil {
		t.Errorf("ARM shape: %+v", acr)
	}
	for _, bad := range []string{`{}`, `[{"roleName": "x", "roleType": "BuiltInRole", "id": "not-a-guid"}]`,
		`[{"id": "7f951dda-4ed3-4680-a7ca-43fe172d538d", "roleType": "BuiltInRole"}]`} {
		if _, _, err := authz.ParseCatalogue(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	merged := authz.WithCatalogues(roles)
	if len(merged) != len(authz.BuiltinRoles())+1 {
		t.Errorf("merge: %d roles; AcrPull is compiled in and replaced, the other added", len(merged))
	}
}
