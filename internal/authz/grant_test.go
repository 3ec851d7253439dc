package authz

import (
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

func TestCanGrant(t *testing.T) {
	e := New()
	e.Load(nil, []store.RoleAssignment{
		{Name: "1", PrincipalID: "owner", RoleDefinitionID: RoleOwner, Scope: subA},
		{Name: "2", PrincipalID: "contributor", RoleDefinitionID: RoleContributor, Scope: subA},
		{Name: "3", PrincipalID: "uaa", RoleDefinitionID: RoleUserAccessAdministrator, Scope: subA},
		{Name: "4", PrincipalID: "rbac", RoleDefinitionID: RoleRBACAdministrator, Scope: subA},
		{Name: "5", PrincipalID: "contrib-uaa", RoleDefinitionID: RoleContributor, Scope: subA},
		{Name: "6", PrincipalID: "contrib-uaa", RoleDefinitionID: RoleUserAccessAdministrator, Scope: subA},
		{Name: "7", PrincipalID: "kv-officer", RoleDefinitionID: RoleKeyVaultSecretsOfficer, Scope: subA},
		{Name: "8", PrincipalID: "blob-contrib", RoleDefinitionID: RoleStorageBlobDataContributor, Scope: subA},
		{Name: "9", PrincipalID: "rg-owner", RoleDefinitionID: RoleOwner, Scope: rg1},
		{Name: "10", PrincipalID: "admins", RoleDefinitionID: RoleOwner, Scope: "/"},
		{Name: "11", PrincipalID: "two-owners", RoleDefinitionID: RoleContributor, Scope: subA},
		{Name: "12", PrincipalID: "two-owners", RoleDefinitionID: RoleOwner, Scope: rg1},
	}, map[string][]string{"admins": {"alice"}})

	builtin := func(id string) store.RoleDefinition {
		r, ok := BuiltinRole(id)
		if !ok {
			t.Fatalf("no built-in %s", id)
		}
		return r
	}
	custom := func(p ...store.Permission) store.RoleDefinition {
		return store.RoleDefinition{ID: "33333333-0000-0000-0000-000000000000", RoleName: "custom", Permissions: p}
	}
	contributorNot := builtin(RoleContributor).Permissions[0].NotActions

	tests := []struct {
		name    string
		granter string
		role    store.RoleDefinition
		scope   string
		want    bool
	}{
		{"owner grants owner at its scope", "owner", builtin(RoleOwner), subA, true},
		{"owner grants owner below its scope", "owner", builtin(RoleOwner), rg1, true},
		{"owner cannot grant above its scope", "owner", builtin(RoleOwner), "/", false},
		{"owner cannot grant in another subscription", "owner", builtin(RoleReader), "/subscriptions/ab", false},
		{"owner grants a data role (full control)", "owner", builtin(RoleKeyVaultSecretsUser), rg1, true},
		{"owner grants every built-in", "owner", builtin(RoleStorageBlobDataContributor), rg1, true},
		{"owner through a group", "alice", builtin(RoleOwner), slot, true},

		{"contributor cannot grant owner", "contributor", builtin(RoleOwner), rg1, false},
		{"contributor grants contributor", "contributor", builtin(RoleContributor), rg1, true},
		{"contributor grants reader", "contributor", builtin(RoleReader), rg1, true},
		{"contributor grants managed identity operator", "contributor", builtin(RoleManagedIdentityOperator), rg1, true},
		{"contributor cannot grant user access administrator", "contributor", builtin(RoleUserAccessAdministrator), rg1, false},
		{"contributor cannot grant RBAC administrator", "contributor", builtin(RoleRBACAdministrator), rg1, false},
		{"contributor cannot grant a data role", "contributor", builtin(RoleKeyVaultSecretsUser), rg1, false},
		{"contributor cannot grant blob data reader", "contributor", builtin(RoleStorageBlobDataReader), rg1, false},
		{"contributor grants authorization reads", "contributor", custom(store.Permission{Actions: []string{"Microsoft.Authorization/*/read"}}), rg1, true},
		{"contributor cannot grant all of authorization", "contributor", custom(store.Permission{Actions: []string{"Microsoft.Authorization/*"}}), rg1, false},
		{"contributor grants * minus its own exclusions", "contributor", custom(store.Permission{Actions: []string{"*"}, NotActions: contributorNot}), rg1, true},
		{"contributor grants * minus broader exclusions", "contributor", custom(store.Permission{Actions: []string{"*"}, NotActions: []string{
			"Microsoft.Authorization/*", "Microsoft.Blueprint/*", "Microsoft.Compute/galleries/*", "Microsoft.Purview/*",
			"Microsoft.Resources/deploymentStacks/*", "Microsoft.Subscription/*"}}), rg1, true},
		{"contributor cannot grant * minus too little", "contributor", custom(store.Permission{Actions: []string{"*"}, NotActions: contributorNot[:5]}), rg1, false},
		{"a notAction in another block of the role does not help", "contributor", custom(
			store.Permission{Actions: []string{"*"}},
			store.Permission{NotActions: contributorNot}), rg1, false},

		{"user access administrator grants RBAC administrator", "uaa", builtin(RoleRBACAdministrator), rg1, true},
		{"user access administrator grants itself", "uaa", builtin(RoleUserAccessAdministrator), rg1, true},
		{"user access administrator cannot grant contributor", "uaa", builtin(RoleContributor), rg1, false},

		{"RBAC administrator grants reader", "rbac", builtin(RoleReader), rg1, true},
		{"RBAC administrator grants itself", "rbac", builtin(RoleRBACAdministrator), rg1, true},
		{"RBAC administrator cannot grant owner", "rbac", builtin(RoleOwner), rg1, false},
		{"RBAC administrator cannot grant user access administrator", "rbac", builtin(RoleUserAccessAdministrator), rg1, false},

		// Two of the granter's blocks together: Contributor's holes in
		// Microsoft.Authorization are filled by User Access Administrator;
		// Blueprint and the rest are not.
		{"contributor plus UAA still cannot grant owner", "contrib-uaa", builtin(RoleOwner), rg1, false},
		{"contributor plus UAA grant * minus what neither holds", "contrib-uaa", custom(store.Permission{Actions: []string{"*"}, NotActions: []string{
			"Microsoft.Blueprint/*", "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/*",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/*"}}), rg1, true},

		{"secrets officer grants secrets user", "kv-officer", builtin(RoleKeyVaultSecretsUser), rg1, true},
		{"secrets officer cannot grant blob reader", "kv-officer", builtin(RoleStorageBlobDataReader), rg1, false},
		{"blob contributor grants blob reader", "blob-contrib", builtin(RoleStorageBlobDataReader), rg1, true},
		{"blob reader's data action is not covered by control actions", "contributor", custom(store.Permission{DataActions: []string{dataBlobRead}}), rg1, false},

		{"rg owner grants within its group", "rg-owner", builtin(RoleOwner), slot, true},
		{"rg owner cannot grant at the subscription", "rg-owner", builtin(RoleReader), subA, false},
		{"assignments at several levels add up", "two-owners", builtin(RoleOwner), uami1, true},
		{"the lower one does not help above it", "two-owners", builtin(RoleOwner), subA, false},

		{"a role granting nothing is always grantable", "nobody", custom(), rg1, true},
		{"a role excluding all it includes is grantable", "nobody", custom(store.Permission{Actions: []string{"Microsoft.Web/*"}, NotActions: []string{"*"}}), rg1, true},
		{"unknown granter", "nobody", builtin(RoleReader), rg1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.CanGrant(tc.granter, tc.role, tc.scope); got != tc.want {
				t.Errorf("CanGrant(%s, %s, %s) = %v, want %v", tc.granter, tc.role.RoleName, tc.scope, got, tc.want)
			}
		})
	}
}

func TestAssignable(t *testing.T) {
	owner, _ := BuiltinRole(RoleOwner)
	scoped := store.RoleDefinition{AssignableScopes: []string{"/Subscriptions/A/resourceGroups/RG1"}}
	tests := []struct {
		name  string
		role  store.RoleDefinition
		scope string
		want  bool
	}{
		{"built-in anywhere", owner, slot, true},
		{"custom at its scope", scoped, rg1, true},
		{"custom below its scope", scoped, uami1, true},
		{"custom above its scope", scoped, subA, false},
		{"custom in a sibling", scoped, subA + "/resourceGroups/rg10", false},
		{"no assignable scopes", store.RoleDefinition{}, rg1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Assignable(tc.role, tc.scope); got != tc.want {
				t.Errorf("Assignable = %v, want %v", got, tc.want)
			}
		})
	}
}
