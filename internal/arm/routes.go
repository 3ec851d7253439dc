package arm

import "net/http"

// Path prefixes shared by the route table.
const (
	subscriptionPath  = "/subscriptions/{subscriptionId}"
	resourceGroupPath = subscriptionPath + "/resourcegroups/{resourceGroupName}"
	identityListPath  = resourceGroupPath + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	identityPath      = identityListPath + "/{resourceName}"
	ficListPath       = identityPath + "/federatedIdentityCredentials"
	ficPath           = ficListPath + "/{federatedIdentityCredentialResourceName}"
	genericPath       = resourceGroupPath + "/providers/{resourceProviderNamespace}/{resourcePath...}"

	subscriptionScope  = "/subscriptions/{subscriptionId}"
	resourceGroupScope = subscriptionScope + "/resourceGroups/{resourceGroupName}"
	identityScope      = resourceGroupScope + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
	ficScope           = identityScope + "/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}"
	genericScope       = resourceGroupScope + "/providers/{resourceProviderNamespace}/{resourcePath...}"
)

// Sample values for Routes(): realistic enough that a matrix test can
// create the objects they name.
const (
	sampleSubscription = "/subscriptions/00000000-0000-0000-0000-000000000001"
	sampleGroup        = sampleSubscription + "/resourceGroups/rg1"
	sampleIdentity     = sampleGroup + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	sampleResource     = sampleGroup + "/providers/Microsoft.Compute/virtualMachines/vm1"
)

// builtinRoutes is the route table of the ARM operations keyless serves
// itself (reference §7–§10). Each entry names the RBAC action it needs and
// the scope it is checked at.
func (s *Server) builtinRoutes() []Route {
	get, put, patch, del, head, post := []string{http.MethodGet}, []string{http.MethodPut}, []string{http.MethodPatch},
		[]string{http.MethodDelete}, []string{http.MethodHead}, []string{http.MethodPost}
	return []Route{
		// Subscriptions (armsubscriptions).
		{Name: "Subscriptions_List", Methods: get, Pattern: "/subscriptions", APIVersions: SubscriptionsVersions,
			Action: actionSubscriptionRead, Scope: "/", Access: AccessFilter, Handler: s.listSubscriptions},
		{Name: "Subscriptions_Get", Methods: get, Pattern: subscriptionPath, APIVersions: SubscriptionsVersions,
			Action: actionSubscriptionRead, Scope: subscriptionScope, Sample: sampleSubscription, Handler: s.getSubscription},

		// Resource groups (armresources ResourceGroupsClient).
		{Name: "ResourceGroups_List", Methods: get, Pattern: subscriptionPath + "/resourcegroups", APIVersions: ResourcesVersions,
			Action: actionResourceGroupRead, Scope: subscriptionScope, Access: AccessFilter, Sample: sampleSubscription + "/resourcegroups", Handler: s.listResourceGroups},
		{Name: "ResourceGroups_Get", Methods: get, Pattern: resourceGroupPath, APIVersions: ResourcesVersions,
			Action: actionResourceGroupRead, Scope: resourceGroupScope, Sample: sampleGroup, Handler: s.getResourceGroup},
		{Name: "ResourceGroups_CheckExistence", Methods: head, Pattern: resourceGroupPath, APIVersions: ResourcesVersions,
			Action: actionResourceGroupRead, Scope: resourceGroupScope, Sample: sampleGroup, Handler: s.headResourceGroup},
		{Name: "ResourceGroups_CreateOrUpdate", Methods: put, Pattern: resourceGroupPath, APIVersions: ResourcesVersions,
			Action: actionResourceGroupWrite, Scope: resourceGroupScope, Sample: sampleGroup, Handler: s.putResourceGroup},
		{Name: "ResourceGroups_Update", Methods: patch, Pattern: resourceGroupPath, APIVersions: ResourcesVersions,
			Action: actionResourceGroupWrite, Scope: resourceGroupScope, Sample: sampleGroup, Handler: s.patchResourceGroup},
		{Name: "ResourceGroups_Delete", Methods: del, Pattern: resourceGroupPath, APIVersions: ResourcesVersions,
			Action: actionResourceGroupDelete, Scope: resourceGroupScope, Sample: sampleGroup, Handler: s.deleteResourceGroup},
		// The Location of a group delete. Any authenticated caller may poll
		// it: the token is unguessable and says only "done", and the
		// deleter's own access may have gone with the group's assignments.
		{Name: "OperationResults_Get", Methods: get, Pattern: subscriptionPath + "/operationresults/{operationId}", APIVersions: ResourcesVersions,
			Access: AccessAuthenticated, Sample: sampleSubscription + "/operationresults/" + operationToken{Operation: "ResourceGroupDelete", Target: "rg1"}.encode(),
			Handler: s.getOperationResult},

		// Generic resources (armresources Client), by ID and by parts alike.
		{Name: "Resources_ListByResourceGroup", Methods: get, Pattern: resourceGroupPath + "/resources", APIVersions: ResourcesVersions,
			Action: "Microsoft.Resources/subscriptions/resourceGroups/resources/read", Scope: resourceGroupScope, Access: AccessFilter,
			Sample: sampleGroup + "/resources", Handler: s.listResources},
		{Name: "Resources_List", Methods: get, Pattern: subscriptionPath + "/resources", APIVersions: ResourcesVersions,
			Action: "Microsoft.Resources/subscriptions/resources/read", Scope: subscriptionScope, Access: AccessFilter,
			Sample: sampleSubscription + "/resources", Handler: s.listResources},
		{Name: "Resources_Get", Methods: get, Pattern: genericPath, APIVersions: GenericVersions, Fallback: true, Bind: bindGenericResource,
			Action: "{resourceType}/read", Scope: genericScope, Sample: sampleResource, Handler: s.getResource},
		{Name: "Resources_CheckExistence", Methods: head, Pattern: genericPath, APIVersions: GenericVersions, Fallback: true, Bind: bindGenericResource,
			Action: "{resourceType}/read", Scope: genericScope, Sample: sampleResource, Handler: s.headResource},
		{Name: "Resources_CreateOrUpdate", Methods: put, Pattern: genericPath, APIVersions: GenericVersions, Fallback: true, Bind: bindGenericResource,
			Action: "{resourceType}/write", Scope: genericScope, Sample: sampleResource, Handler: s.putResource},
		{Name: "Resources_Update", Methods: patch, Pattern: genericPath, APIVersions: GenericVersions, Fallback: true, Bind: bindGenericResource,
			Action: "{resourceType}/write", Scope: genericScope, Sample: sampleResource, Handler: s.patchResource},
		{Name: "Resources_Delete", Methods: del, Pattern: genericPath, APIVersions: GenericVersions, Fallback: true, Bind: bindGenericResource,
			Action: "{resourceType}/delete", Scope: genericScope, Sample: sampleResource, Handler: s.deleteResource},

		// Resource providers. Every namespace is registered.
		{Name: "Providers_List", Methods: get, Pattern: subscriptionPath + "/providers", APIVersions: ResourcesVersions,
			Action: "Microsoft.Resources/subscriptions/providers/read", Scope: subscriptionScope, Sample: sampleSubscription + "/providers", Handler: s.listProviders},
		{Name: "Providers_Get", Methods: get, Pattern: subscriptionPath + "/providers/{resourceProviderNamespace}", APIVersions: ResourcesVersions,
			Action: "Microsoft.Resources/subscriptions/providers/read", Scope: subscriptionScope, Sample: sampleSubscription + "/providers/Microsoft.Compute", Handler: s.getProvider},
		{Name: "Providers_Register", Methods: post, Pattern: subscriptionPath + "/providers/{resourceProviderNamespace}/register", APIVersions: ResourcesVersions,
			Action: "{resourceProviderNamespace}/register/action", Scope: subscriptionScope, Sample: sampleSubscription + "/providers/Microsoft.Compute/register", Handler: s.registerProvider},
		{Name: "Providers_GetAtTenantScope", Methods: get, Pattern: "/providers/{resourceProviderNamespace}", APIVersions: ResourcesVersions,
			Access: AccessAuthenticated, Sample: "/providers/Microsoft.ManagedIdentity", Handler: s.getTenantProvider},

		// Microsoft.ManagedIdentity (armmsi).
		{Name: "Operations_List", Methods: get, Pattern: "/providers/Microsoft.ManagedIdentity/operations", APIVersions: ManagedIdentityVersions,
			Access: AccessAuthenticated, Handler: s.listManagedIdentityOperations},
		{Name: "UserAssignedIdentities_ListBySubscription", Methods: get, Pattern: subscriptionPath + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
			APIVersions: ManagedIdentityVersions, Action: actionIdentityRead, Scope: subscriptionScope, Access: AccessFilter,
			Sample: sampleSubscription + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", Handler: s.listUserAssignedIdentities},
		{Name: "UserAssignedIdentities_ListByResourceGroup", Methods: get, Pattern: identityListPath, APIVersions: ManagedIdentityVersions,
			Action: actionIdentityRead, Scope: resourceGroupScope, Access: AccessFilter,
			Sample: sampleGroup + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", Handler: s.listUserAssignedIdentities},
		{Name: "UserAssignedIdentities_Get", Methods: get, Pattern: identityPath, APIVersions: ManagedIdentityVersions,
			Action: actionIdentityRead, Scope: identityScope, Sample: sampleIdentity, Handler: s.getUserAssignedIdentity},
		{Name: "UserAssignedIdentities_CreateOrUpdate", Methods: put, Pattern: identityPath, APIVersions: ManagedIdentityVersions,
			Action: actionIdentityWrite, Scope: identityScope, Sample: sampleIdentity, Handler: s.putUserAssignedIdentity},
		{Name: "UserAssignedIdentities_Update", Methods: patch, Pattern: identityPath, APIVersions: ManagedIdentityVersions,
			Action: actionIdentityWrite, Scope: identityScope, Sample: sampleIdentity, Handler: s.patchUserAssignedIdentity},
		{Name: "UserAssignedIdentities_Delete", Methods: del, Pattern: identityPath, APIVersions: ManagedIdentityVersions,
			Action: actionIdentityDelete, Scope: identityScope, Sample: sampleIdentity, Handler: s.deleteUserAssignedIdentity},
		{Name: "FederatedIdentityCredentials_List", Methods: get, Pattern: ficListPath, APIVersions: FederatedCredentialVersions,
			Action: actionFICRead, Scope: identityScope, Sample: sampleIdentity + "/federatedIdentityCredentials", Handler: s.listFederatedCredentials},
		{Name: "FederatedIdentityCredentials_Get", Methods: get, Pattern: ficPath, APIVersions: FederatedCredentialVersions,
			Action: actionFICRead, Scope: ficScope, Sample: sampleIdentity + "/federatedIdentityCredentials/fic1", Handler: s.getFederatedCredential},
		{Name: "FederatedIdentityCredentials_CreateOrUpdate", Methods: put, Pattern: ficPath, APIVersions: FederatedCredentialVersions,
			Action: actionFICWrite, Scope: ficScope, Sample: sampleIdentity + "/federatedIdentityCredentials/fic1", Handler: s.putFederatedCredential},
		{Name: "FederatedIdentityCredentials_Delete", Methods: del, Pattern: ficPath, APIVersions: FederatedCredentialVersions,
			Action: actionFICDelete, Scope: ficScope, Sample: sampleIdentity + "/federatedIdentityCredentials/fic1", Handler: s.deleteFederatedCredential},
		{Name: "SystemAssignedIdentities_GetByScope", Methods: get, Pattern: "/{scope...}/providers/Microsoft.ManagedIdentity/identities/default",
			APIVersions: ManagedIdentityVersions, Action: actionSystemIdentity, Scope: "/{scope...}",
			Sample: sampleResource + "/providers/Microsoft.ManagedIdentity/identities/default", Handler: s.getSystemAssignedIdentity},
	}
}
