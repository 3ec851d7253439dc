package authz

import (
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// TestConditionalBlocksNeverGrantWhatTheyConstrain: keyless does not
// evaluate conditions, so a block grants its other actions and never the
// ones its condition is about (Azure may allow those in some cases).
func TestConditionalBlocksNeverGrantWhatTheyConstrain(t *testing.T) {
	kvDataAccessAdmin := store.RoleDefinition{ID: "8b54135c-b56d-4d72-a534-26097cfdc8d8", Permissions: []store.Permission{{
		Actions: []string{"Microsoft.Authorization/roleAssignments/delete", "Microsoft.Authorization/roleAssignments/write", "*/read"},
		Condition: "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{4633458b-17de-408a-b874-0445c86b69e6})) AND " +
			"((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{4633458b-17de-408a-b874-0445c86b69e6}))",
		ConditionVersion: "2.0",
	}}}
	opaque := store.RoleDefinition{ID: "x", Permissions: []store.Permission{{
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
		Condition:   "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'", ConditionVersion: "2.0",
	}}}
	cases := []struct {
		name   string
		role   store.RoleDefinition
		action string
		data   bool
		want   bool
	}{
		{"an action the condition does not name is granted", kvDataAccessAdmin, "Microsoft.KeyVault/vaults/read", false, true},
		{"the conditional write is refused", kvDataAccessAdmin, "Microsoft.Authorization/roleAssignments/write", false, false},
		{"the conditional delete is refused", kvDataAccessAdmin, "Microsoft.Authorization/roleAssignments/delete", false, false},
		{"a condition naming no action grants nothing", opaque, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compileRole(tc.role).allows(tc.action, tc.data); got != tc.want {
				t.Fatalf("allows(%s) = %v, want %v", tc.action, got, tc.want)
			}
		})
	}
	if kvDataAccessAdmin.Permissions[0].NotActions != nil {
		t.Fatal("effective changed the role it was given")
	}
}
