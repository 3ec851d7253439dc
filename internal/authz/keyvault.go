package authz

import "github.com/keyless-io/keyless/internal/store"

// RoleKeyVaultAdministrator is Azure's built-in "Key Vault Administrator":
// every data action on a vault and everything in it (secrets, keys,
// certificates), and the read actions of the vault, but not managing the
// vault resource or role assignments.
const RoleKeyVaultAdministrator = "00482a5a-887f-4fb3-b363-3b7fe8e74483"

// The role is added beside the catalogue rather than inside it, and only
// if the catalogue does not already carry it, so that the two can be
// edited apart.
func init() {
	for _, r := range builtinRoles {
		if r.ID == RoleKeyVaultAdministrator {
			return
		}
	}
	// builtin.go's init (which runs first, by file order) normalises the
	// catalogue; this entry is written normalised.
	builtinRoles = append(builtinRoles, store.RoleDefinition{
		RoleType: RoleTypeBuiltIn, AssignableScopes: []string{"/"}, Scope: "/",
		ID:          RoleKeyVaultAdministrator,
		RoleName:    "Key Vault Administrator",
		Description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Authorization/*/read",
				"Microsoft.Insights/alertRules/*",
				"Microsoft.Resources/deployments/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
				"Microsoft.Support/*",
				"Microsoft.KeyVault/checkNameAvailability/read",
				"Microsoft.KeyVault/deletedVaults/read",
				"Microsoft.KeyVault/locations/*/read",
				"Microsoft.KeyVault/vaults/*/read",
				"Microsoft.KeyVault/operations/read",
			},
			DataActions: []string{"Microsoft.KeyVault/vaults/*"},
			NotActions:  []string{}, NotDataActions: []string{},
		}},
	})
}
