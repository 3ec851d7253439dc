package authz

import (
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// Built-in role definition IDs. They are the GUIDs Azure uses in every cloud
// and tenant, so scripts, templates and Terraform written against Azure
// (`roleDefinitionId: .../b24988ac-...`) work unchanged against keyless.
const (
	RoleOwner                      = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor                = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator    = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleRBACAdministrator          = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
	RoleManagedIdentityOperator    = "f1a07417-d97a-45cb-824c-7a7467783830"
	RoleManagedIdentityContributor = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
	RoleKeyVaultSecretsUser        = "4633458b-17de-408a-b874-0445c86b69e6"
	RoleKeyVaultSecretsOfficer     = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	RoleStorageBlobDataReader      = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	RoleStorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
)

// RoleTypeBuiltIn and RoleTypeCustom are the values of RoleDefinition.RoleType
// (the `type` property on the wire).
const (
	RoleTypeBuiltIn = "BuiltInRole"
	RoleTypeCustom  = "CustomRole"
)

// Actions the rest of keyless asks the engine about by name.
const (
	// ActionAssignUserAssignedIdentity is what attaching a user-assigned
	// identity to a resource requires on the identity; Azure names it in
	// LinkedAuthorizationFailed. Managed Identity Operator grants it through
	// the pattern .../userAssignedIdentities/*/assign/action.
	ActionAssignUserAssignedIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
	ActionRoleAssignmentsWrite       = "Microsoft.Authorization/roleAssignments/write"
	ActionRoleAssignmentsDelete      = "Microsoft.Authorization/roleAssignments/delete"
	ActionRoleDefinitionsWrite       = "Microsoft.Authorization/roleDefinitions/write"
	ActionRoleDefinitionsDelete      = "Microsoft.Authorization/roleDefinitions/delete"
)

// Blocks shared by several built-ins, as Azure lists them.
var (
	supportAndDeployments = []string{
		"Microsoft.Authorization/*/read",
		"Microsoft.Insights/alertRules/*",
		"Microsoft.Resources/subscriptions/resourceGroups/read",
		"Microsoft.Resources/deployments/*",
		"Microsoft.Support/*",
	}
)

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// builtinRoles is the dated snapshot of reference §11.5. Entries are never
// handed out directly: BuiltinRoles returns deep copies.
var builtinRoles = []store.RoleDefinition{
	{
		ID:          RoleOwner,
		RoleName:    "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []store.Permission{{Actions: []string{"*"}}},
	},
	{
		ID:          RoleContributor,
		RoleName:    "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permissions: []store.Permission{{
			Actions: []string{"*"},
			NotActions: []string{
				"Microsoft.Authorization/*/Delete",
				"Microsoft.Authorization/*/Write",
				"Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write",
				"Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write",
				"Microsoft.Purview/consents/delete",
				"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
				"Microsoft.Subscription/cancel/action",
				"Microsoft.Subscription/enable/action",
			},
		}},
	},
	{
		ID:          RoleReader,
		RoleName:    "Reader",
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []store.Permission{{Actions: []string{"*/read"}}},
	},
	{
		ID:          RoleUserAccessAdministrator,
		RoleName:    "User Access Administrator",
		Description: "Lets you manage user access to Azure resources.",
		Permissions: []store.Permission{{Actions: []string{
			"*/read",
			"Microsoft.Authorization/*",
			"Microsoft.Support/*",
		}}},
	},
	{
		ID:          RoleRBACAdministrator,
		RoleName:    "Role Based Access Control Administrator",
		Description: "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
		Permissions: []store.Permission{{Actions: []string{
			"Microsoft.Authorization/roleAssignments/write",
			"Microsoft.Authorization/roleAssignments/delete",
			"*/read",
			"Microsoft.Support/*",
		}}},
	},
	{
		ID:          RoleManagedIdentityOperator,
		RoleName:    "Managed Identity Operator",
		Description: "Read and Assign User Assigned Identity",
		Permissions: []store.Permission{{Actions: concat([]string{
			"Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
		}, supportAndDeployments)}},
	},
	{
		ID:          RoleManagedIdentityContributor,
		RoleName:    "Managed Identity Contributor",
		Description: "Create, Read, Update, and Delete User Assigned Identity",
		Permissions: []store.Permission{{Actions: concat([]string{
			"Microsoft.ManagedIdentity/userAssignedIdentities/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
		}, supportAndDeployments)}},
	},
	{
		ID:          RoleKeyVaultSecretsUser,
		RoleName:    "Key Vault Secrets User",
		Description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []store.Permission{{DataActions: []string{
			"Microsoft.KeyVault/vaults/secrets/getSecret/action",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		}}},
	},
	{
		ID:          RoleKeyVaultSecretsOfficer,
		RoleName:    "Key Vault Secrets Officer",
		Description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
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
			DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"},
		}},
	},
	{
		ID:          RoleStorageBlobDataReader,
		RoleName:    "Storage Blob Data Reader",
		Description: "Allows for read access to Azure Storage blob containers and data",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/read",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
		}},
	},
	{
		ID:          RoleStorageBlobDataContributor,
		RoleName:    "Storage Blob Data Contributor",
		Description: "Allows for read, write and delete access to Azure Storage blob containers and data",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/write",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
			},
		}},
	},
}

func init() {
	for i := range builtinRoles {
		r := &builtinRoles[i]
		r.RoleType = RoleTypeBuiltIn
		r.AssignableScopes = []string{"/"}
		r.Scope = "/"
		for j := range r.Permissions {
			p := &r.Permissions[j]
			// The wire shape always carries all four lists; empty, not null.
			p.Actions = nonNil(p.Actions)
			p.NotActions = nonNil(p.NotActions)
			p.DataActions = nonNil(p.DataActions)
			p.NotDataActions = nonNil(p.NotDataActions)
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// BuiltinRoles returns the built-in role definitions keyless ships, as fresh
// copies the caller may modify (for instance to seed the store).
func BuiltinRoles() []store.RoleDefinition {
	out := make([]store.RoleDefinition, len(builtinRoles))
	for i, r := range builtinRoles {
		out[i] = cloneRole(r)
	}
	return out
}

// BuiltinRole returns the built-in role with this ID (case-insensitive).
func BuiltinRole(id string) (store.RoleDefinition, bool) {
	id = roleKey(id)
	for _, r := range builtinRoles {
		if r.ID == id {
			return cloneRole(r), true
		}
	}
	return store.RoleDefinition{}, false
}

// BuiltinRoleByName returns the built-in role with this roleName, compared
// case-insensitively as `az role assignment create --role Reader` does.
func BuiltinRoleByName(name string) (store.RoleDefinition, bool) {
	for _, r := range builtinRoles {
		if strings.EqualFold(r.RoleName, name) {
			return cloneRole(r), true
		}
	}
	return store.RoleDefinition{}, false
}

// IsBuiltinRole reports whether id names a built-in role.
func IsBuiltinRole(id string) bool {
	_, ok := BuiltinRole(id)
	return ok
}

func cloneRole(r store.RoleDefinition) store.RoleDefinition {
	r.Permissions = clonePermissions(r.Permissions)
	r.AssignableScopes = append([]string(nil), r.AssignableScopes...)
	return r
}

func clonePermissions(ps []store.Permission) []store.Permission {
	out := make([]store.Permission, len(ps))
	for i, p := range ps {
		out[i] = store.Permission{
			Actions:        append([]string{}, p.Actions...),
			NotActions:     append([]string{}, p.NotActions...),
			DataActions:    append([]string{}, p.DataActions...),
			NotDataActions: append([]string{}, p.NotDataActions...),
			Condition:      p.Condition, ConditionVersion: p.ConditionVersion,
		}
	}
	return out
}
