package arm

import "strings"

// The provider catalogue: Azure's common resource provider namespaces and
// their resource types, with api-versions newest first as Azure lists
// them (az picks the first stable one when a command has no
// --api-version: `az resource create --resource-type Microsoft.Web/sites`
// fails with "Resource type sites not found" on an empty list). Written
// from the REST API references of each provider; keyless stores these
// types generically and accepts any date version for them, so the lists
// only steer clients to a version Azure would accept too.

// commonLocations are the regions listed for every catalogued type, in
// Azure's display-name form.
var commonLocations = []string{
	"East US", "East US 2", "West US", "West US 2", "West US 3", "Central US", "North Central US", "South Central US",
	"West Central US", "Canada Central", "Brazil South", "North Europe", "West Europe", "UK South", "France Central",
	"Germany West Central", "Switzerland North", "Norway East", "Sweden Central", "Poland Central", "Italy North",
	"Southeast Asia", "East Asia", "Japan East", "Korea Central", "Central India", "Australia East", "South Africa North",
	"UAE North",
}

// Capability strings as Azure writes them in resourceTypes[].capabilities.
const (
	capTracked         = "CrossResourceGroupResourceMove, CrossSubscriptionResourceMove, SupportsTags, SupportsLocation"
	capTrackedIdentity = capTracked + ", SystemAssignedResourceIdentity"
	capChild           = "None"
	capExtension       = "SupportsExtension"
)

var (
	webVersions = []string{"2024-04-01", "2023-12-01", "2023-01-01", "2022-09-01", "2022-03-01", "2021-03-01", "2021-02-01",
		"2021-01-15", "2021-01-01", "2020-12-01", "2020-10-01", "2020-09-01", "2020-06-01", "2019-08-01", "2018-11-01", "2018-02-01", "2016-08-01"}
	computeVersions = []string{"2024-07-01", "2024-03-01", "2023-09-01", "2023-07-01", "2023-03-01", "2022-11-01", "2022-08-01",
		"2022-03-01", "2021-11-01", "2021-07-01", "2021-04-01", "2021-03-01", "2020-12-01", "2020-06-01", "2019-12-01", "2019-07-01"}
	diskVersions = []string{"2024-03-02", "2023-10-02", "2023-04-02", "2023-01-02", "2022-07-02", "2022-03-02", "2021-12-01",
		"2021-08-01", "2021-04-01", "2020-12-01", "2020-09-30", "2020-06-30"}
	galleryVersions = []string{"2023-07-03", "2022-08-03", "2022-03-03", "2022-01-03", "2021-10-01", "2021-07-01", "2020-09-30", "2019-12-01"}
	storageVersions = []string{"2023-05-01", "2023-04-01", "2023-01-01", "2022-09-01", "2022-05-01", "2021-09-01", "2021-08-01",
		"2021-06-01", "2021-04-01", "2021-02-01", "2021-01-01", "2020-08-01-preview", "2019-06-01", "2019-04-01"}
	keyVaultVersions = []string{"2023-07-01", "2023-02-01", "2022-11-01", "2022-07-01", "2022-02-01-preview", "2021-11-01-preview",
		"2021-10-01", "2021-06-01-preview", "2021-04-01-preview", "2019-09-01", "2018-02-14"}
	acrVersions = []string{"2023-07-01", "2023-06-01-preview", "2023-01-01-preview", "2022-12-01", "2022-02-01-preview",
		"2021-09-01", "2021-08-01-preview", "2021-06-01-preview", "2020-11-01-preview", "2019-05-01", "2017-10-01"}
	aksVersions = []string{"2024-05-01", "2024-02-01", "2024-01-01", "2023-11-01", "2023-10-01", "2023-09-01", "2023-08-01",
		"2023-07-01", "2023-06-01", "2023-05-01", "2023-04-01", "2023-03-01", "2023-02-01", "2023-01-01", "2022-11-01",
		"2022-09-01", "2022-07-01", "2022-06-01", "2022-04-01", "2022-03-01", "2022-02-01", "2022-01-01"}
	networkVersions = []string{"2024-01-01", "2023-11-01", "2023-09-01", "2023-06-01", "2023-05-01", "2023-04-01", "2023-02-01",
		"2022-11-01", "2022-09-01", "2022-07-01", "2022-05-01", "2022-01-01", "2021-08-01", "2021-05-01", "2021-03-01",
		"2021-02-01", "2020-11-01", "2020-08-01", "2020-07-01", "2020-06-01", "2020-05-01"}
	dnsVersions        = []string{"2018-05-01", "2018-03-01-preview", "2017-10-01", "2017-09-01", "2016-04-01"}
	privateDNSVersions = []string{"2024-06-01", "2020-06-01", "2020-01-01", "2018-09-01"}
	sqlVersions        = []string{"2023-08-01", "2023-05-01-preview", "2023-02-01-preview", "2022-11-01-preview", "2022-08-01-preview",
		"2022-05-01-preview", "2021-11-01", "2021-08-01-preview", "2021-02-01-preview", "2020-11-01-preview", "2014-04-01"}
	cosmosVersions = []string{"2024-05-15", "2024-02-15-preview", "2023-11-15", "2023-09-15", "2023-04-15", "2023-03-15",
		"2022-11-15", "2022-08-15", "2022-05-15", "2021-10-15", "2021-06-15", "2021-04-15", "2021-01-15"}
	serviceBusVersions = []string{"2022-10-01-preview", "2022-01-01-preview", "2021-11-01", "2021-06-01-preview",
		"2021-01-01-preview", "2018-01-01-preview", "2017-04-01", "2015-08-01"}
	eventHubVersions = []string{"2024-01-01", "2023-01-01-preview", "2022-10-01-preview", "2022-01-01-preview", "2021-11-01",
		"2021-06-01-preview", "2021-01-01-preview", "2018-01-01-preview", "2017-04-01", "2015-08-01"}
	appVersions = []string{"2024-03-01", "2023-08-01-preview", "2023-05-01", "2023-04-01-preview", "2022-11-01-preview",
		"2022-10-01", "2022-06-01-preview", "2022-03-01"}
	appConfigVersions  = []string{"2024-05-01", "2023-03-01", "2022-05-01", "2021-10-01-preview", "2021-03-01-preview", "2020-06-01", "2019-10-01"}
	componentsVersions = []string{"2020-02-02", "2020-02-02-preview", "2018-05-01-preview", "2015-05-01"}
	workspaceVersions  = []string{"2023-09-01", "2022-10-01", "2021-12-01-preview", "2021-06-01", "2020-10-01", "2020-08-01",
		"2020-03-01-preview", "2015-11-01-preview"}
	authorizationVersions = []string{"2022-04-01", "2022-01-01-preview", "2020-10-01-preview", "2020-04-01-preview",
		"2018-09-01-preview", "2018-07-01", "2018-01-01-preview", "2017-05-01", "2015-07-01"}
)

// tracked, child and extension build catalogue entries.
func tracked(name string, versions []string, identity bool) ProviderResourceType {
	caps := capTracked
	if identity {
		caps = capTrackedIdentity
	}
	return ProviderResourceType{ResourceType: name, APIVersions: versions, Locations: commonLocations, Capabilities: caps}
}

func child(name string, versions []string) ProviderResourceType {
	return ProviderResourceType{ResourceType: name, APIVersions: versions, Locations: commonLocations, Capabilities: capChild}
}

func extension(name string, versions []string) ProviderResourceType {
	return ProviderResourceType{ResourceType: name, APIVersions: versions, Capabilities: capExtension}
}

// catalogueProviders are the namespaces keyless describes without serving
// them specially; packages that do serve one (identities, the activity
// log) register their own types over these.
func catalogueProviders() []Provider {
	return []Provider{
		{Namespace: "Microsoft.Web", ResourceTypes: []ProviderResourceType{
			tracked("sites", webVersions, true), tracked("serverFarms", webVersions, false),
			child("sites/slots", webVersions), child("sites/config", webVersions), child("sites/extensions", webVersions),
			child("sites/functions", webVersions), child("sites/hostNameBindings", webVersions),
			tracked("staticSites", webVersions[:11], true), tracked("certificates", webVersions, false),
			tracked("hostingEnvironments", webVersions, false),
		}},
		{Namespace: "Microsoft.Compute", ResourceTypes: []ProviderResourceType{
			tracked("virtualMachines", computeVersions, true), tracked("virtualMachineScaleSets", computeVersions, true),
			child("virtualMachines/extensions", computeVersions), child("virtualMachineScaleSets/extensions", computeVersions),
			child("virtualMachineScaleSets/virtualMachines", computeVersions),
			tracked("availabilitySets", computeVersions, false), tracked("sshPublicKeys", computeVersions, false),
			tracked("images", computeVersions, false), tracked("proximityPlacementGroups", computeVersions, false),
			tracked("disks", diskVersions, false), tracked("snapshots", diskVersions, false),
			tracked("diskEncryptionSets", diskVersions, true),
			tracked("galleries", galleryVersions, true), child("galleries/images", galleryVersions),
			child("galleries/images/versions", galleryVersions),
		}},
		{Namespace: "Microsoft.Storage", ResourceTypes: []ProviderResourceType{
			tracked("storageAccounts", storageVersions, true),
			child("storageAccounts/blobServices", storageVersions), child("storageAccounts/blobServices/containers", storageVersions),
			child("storageAccounts/queueServices", storageVersions), child("storageAccounts/queueServices/queues", storageVersions),
			child("storageAccounts/tableServices", storageVersions), child("storageAccounts/tableServices/tables", storageVersions),
			child("storageAccounts/fileServices", storageVersions), child("storageAccounts/fileServices/shares", storageVersions),
			child("storageAccounts/managementPolicies", storageVersions), child("storageAccounts/privateEndpointConnections", storageVersions),
		}},
		{Namespace: "Microsoft.KeyVault", ResourceTypes: []ProviderResourceType{
			tracked("vaults", keyVaultVersions, false), child("vaults/secrets", keyVaultVersions),
			child("vaults/keys", keyVaultVersions), child("vaults/accessPolicies", keyVaultVersions),
			child("vaults/privateEndpointConnections", keyVaultVersions), tracked("managedHSMs", keyVaultVersions[:8], true),
			child("deletedVaults", keyVaultVersions), child("locations", keyVaultVersions),
		}},
		{Namespace: "Microsoft.ContainerRegistry", ResourceTypes: []ProviderResourceType{
			tracked("registries", acrVersions, true), child("registries/replications", acrVersions),
			child("registries/webhooks", acrVersions), child("registries/scopeMaps", acrVersions),
			child("registries/tokens", acrVersions), child("registries/tasks", acrVersions),
		}},
		{Namespace: "Microsoft.ContainerService", ResourceTypes: []ProviderResourceType{
			tracked("managedClusters", aksVersions, true), child("managedClusters/agentPools", aksVersions),
			child("managedClusters/maintenanceConfigurations", aksVersions),
		}},
		{Namespace: "Microsoft.Network", ResourceTypes: []ProviderResourceType{
			tracked("virtualNetworks", networkVersions, false), child("virtualNetworks/subnets", networkVersions),
			child("virtualNetworks/virtualNetworkPeerings", networkVersions),
			tracked("networkInterfaces", networkVersions, false), tracked("publicIPAddresses", networkVersions, false),
			tracked("networkSecurityGroups", networkVersions, false), child("networkSecurityGroups/securityRules", networkVersions),
			tracked("loadBalancers", networkVersions, false), tracked("applicationGateways", networkVersions, true),
			tracked("privateEndpoints", networkVersions, false), tracked("natGateways", networkVersions, false),
			tracked("routeTables", networkVersions, false), tracked("bastionHosts", networkVersions, false),
			tracked("dnsZones", dnsVersions, false), tracked("privateDnsZones", privateDNSVersions, false),
			child("privateDnsZones/virtualNetworkLinks", privateDNSVersions),
		}},
		{Namespace: "Microsoft.Sql", ResourceTypes: []ProviderResourceType{
			tracked("servers", sqlVersions, true), child("servers/databases", sqlVersions),
			child("servers/firewallRules", sqlVersions), child("servers/elasticPools", sqlVersions),
			child("servers/administrators", sqlVersions), tracked("managedInstances", sqlVersions, true),
		}},
		{Namespace: "Microsoft.DocumentDB", ResourceTypes: []ProviderResourceType{
			tracked("databaseAccounts", cosmosVersions, true), child("databaseAccounts/sqlDatabases", cosmosVersions),
			child("databaseAccounts/sqlDatabases/containers", cosmosVersions), child("databaseAccounts/sqlRoleAssignments", cosmosVersions),
			child("databaseAccounts/sqlRoleDefinitions", cosmosVersions), child("databaseAccounts/mongodbDatabases", cosmosVersions),
		}},
		{Namespace: "Microsoft.ServiceBus", ResourceTypes: []ProviderResourceType{
			tracked("namespaces", serviceBusVersions, true), child("namespaces/queues", serviceBusVersions),
			child("namespaces/topics", serviceBusVersions), child("namespaces/topics/subscriptions", serviceBusVersions),
			child("namespaces/topics/subscriptions/rules", serviceBusVersions), child("namespaces/authorizationRules", serviceBusVersions),
		}},
		{Namespace: "Microsoft.EventHub", ResourceTypes: []ProviderResourceType{
			tracked("namespaces", eventHubVersions, true), child("namespaces/eventhubs", eventHubVersions),
			child("namespaces/eventhubs/consumergroups", eventHubVersions), child("namespaces/authorizationRules", eventHubVersions),
			tracked("clusters", eventHubVersions[:7], false),
		}},
		{Namespace: "Microsoft.App", ResourceTypes: []ProviderResourceType{
			tracked("containerApps", appVersions, true), tracked("managedEnvironments", appVersions, true),
			tracked("jobs", appVersions[:6], true), child("managedEnvironments/certificates", appVersions),
			child("managedEnvironments/daprComponents", appVersions), child("managedEnvironments/storages", appVersions),
		}},
		{Namespace: "Microsoft.AppConfiguration", ResourceTypes: []ProviderResourceType{
			tracked("configurationStores", appConfigVersions, true), child("configurationStores/keyValues", appConfigVersions),
		}},
		{Namespace: "Microsoft.Insights", ResourceTypes: []ProviderResourceType{
			tracked("components", componentsVersions, false),
			tracked("actionGroups", []string{"2023-01-01", "2022-06-01", "2022-04-01", "2021-09-01", "2019-06-01", "2019-03-01", "2018-09-01"}, false),
			tracked("metricAlerts", []string{"2018-03-01"}, false),
			tracked("activityLogAlerts", []string{"2023-01-01-preview", "2020-10-01", "2017-04-01"}, false),
			tracked("scheduledQueryRules", []string{"2023-03-15-preview", "2022-08-01-preview", "2022-06-15", "2021-08-01", "2018-04-16"}, true),
			tracked("dataCollectionRules", []string{"2022-06-01", "2021-09-01-preview", "2021-04-01", "2019-11-01-preview"}, true),
			tracked("dataCollectionEndpoints", []string{"2022-06-01", "2021-09-01-preview", "2021-04-01"}, false),
			extension("diagnosticSettings", []string{"2021-05-01-preview", "2017-05-01-preview", "2016-09-01"}),
			extension("metricDefinitions", []string{"2024-02-01", "2023-10-01", "2021-05-01", "2018-01-01"}),
			extension("metrics", []string{"2024-02-01", "2023-10-01", "2021-05-01", "2018-01-01"}),
		}},
		{Namespace: "Microsoft.OperationalInsights", ResourceTypes: []ProviderResourceType{
			tracked("workspaces", workspaceVersions, true), child("workspaces/tables", workspaceVersions[:6]),
			child("workspaces/savedSearches", workspaceVersions), child("workspaces/dataExports", workspaceVersions[:6]),
			tracked("clusters", workspaceVersions[:6], true),
		}},
		{Namespace: "Microsoft.Authorization", ResourceTypes: []ProviderResourceType{
			extension("roleAssignments", authorizationVersions), extension("roleDefinitions", authorizationVersions),
			extension("locks", []string{"2020-05-01", "2017-04-01", "2016-09-01", "2015-01-01"}),
			extension("policyAssignments", []string{"2023-04-01", "2022-06-01", "2021-06-01", "2020-09-01", "2019-09-01"}),
			extension("policyDefinitions", []string{"2023-04-01", "2021-06-01", "2020-09-01", "2019-09-01"}),
			extension("policySetDefinitions", []string{"2023-04-01", "2021-06-01", "2020-09-01", "2019-09-01"}),
			extension("permissions", authorizationVersions), extension("providerOperations", []string{"2022-04-01", "2018-01-01-preview", "2015-07-01"}),
		}},
	}
}

// mergeTypes lays over onto base: a type in both takes over's entry;
// base's other types keep their place, over's new ones follow.
func mergeTypes(base, over []ProviderResourceType) []ProviderResourceType {
	byName := map[string]int{}
	out := append([]ProviderResourceType(nil), base...)
	for i, t := range out {
		byName[strings.ToLower(t.ResourceType)] = i
	}
	for _, t := range over {
		if i, ok := byName[strings.ToLower(t.ResourceType)]; ok {
			out[i] = t
			continue
		}
		byName[strings.ToLower(t.ResourceType)] = len(out)
		out = append(out, t)
	}
	return out
}
