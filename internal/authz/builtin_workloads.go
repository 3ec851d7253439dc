package authz

import "github.com/keyless-io/keyless/internal/store"

// The built-in roles workloads with managed identities are granted most,
// beside the core ones: data access to Key Vault, Storage, Container
// Registry, Service Bus, Event Hubs and App Configuration, and monitoring.
// Each is written from Azure's built-in roles reference
// (learn.microsoft.com/azure/role-based-access-control/built-in-roles)
// with its exact ID, name, description and permissions, and checked
// against a catalogue exported from Azure (TestCompiledRolesMatchAzure).
// Any other role of Azure's comes from a catalogue file
// (--role-catalogue).

// Key Vault blocks shared by the officer roles, as Azure lists them.
var keyVaultOfficerActions = []string{
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
}

const keyVaultRBACOnly = " Only works for key vaults that use the 'Azure role-based access control' permission model."

var workloadRoles = []store.RoleDefinition{
	{
		ID: "f25e0fa2-a7c8-4377-a976-54943a77a395", RoleName: "Key Vault Contributor",
		Description: "Lets you manage key vaults, but not access to them.",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Authorization/*/read",
				"Microsoft.Insights/alertRules/*",
				"Microsoft.KeyVault/*",
				"Microsoft.Resources/deployments/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
				"Microsoft.Support/*",
			},
			NotActions: []string{
				"Microsoft.KeyVault/locations/deletedVaults/purge/action",
				"Microsoft.KeyVault/hsmPools/*",
				"Microsoft.KeyVault/managedHsms/*",
			},
		}},
	},
	{
		ID: "21090545-7ca7-4776-b22c-e363652d74d2", RoleName: "Key Vault Reader",
		Description: "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material." + keyVaultRBACOnly,
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Authorization/*/read",
				"Microsoft.Insights/alertRules/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
				"Microsoft.Support/*",
				"Microsoft.KeyVault/checkNameAvailability/read",
				"Microsoft.KeyVault/deletedVaults/read",
				"Microsoft.KeyVault/locations/*/read",
				"Microsoft.KeyVault/vaults/*/read",
				"Microsoft.KeyVault/operations/read",
			},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/*/read",
				"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
			},
		}},
	},
	{
		ID: "12338af0-0e69-4776-bea7-57ae8d297424", RoleName: "Key Vault Crypto User",
		Description: "Perform cryptographic operations using keys." + keyVaultRBACOnly,
		Permissions: []store.Permission{{DataActions: []string{
			"Microsoft.KeyVault/vaults/keys/read",
			"Microsoft.KeyVault/vaults/keys/update/action",
			"Microsoft.KeyVault/vaults/keys/backup/action",
			"Microsoft.KeyVault/vaults/keys/encrypt/action",
			"Microsoft.KeyVault/vaults/keys/decrypt/action",
			"Microsoft.KeyVault/vaults/keys/wrap/action",
			"Microsoft.KeyVault/vaults/keys/unwrap/action",
			"Microsoft.KeyVault/vaults/keys/sign/action",
			"Microsoft.KeyVault/vaults/keys/verify/action",
		}}},
	},
	{
		ID: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", RoleName: "Key Vault Crypto Officer",
		Description: "Perform any action on the keys of a key vault, except manage permissions." + keyVaultRBACOnly,
		Permissions: []store.Permission{{
			Actions:     keyVaultOfficerActions,
			DataActions: []string{"Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"},
		}},
	},
	{
		ID: "a4417e6f-fecd-4de8-b567-7b0420556985", RoleName: "Key Vault Certificates Officer",
		Description: "Perform any action on the certificates of a key vault, except manage permissions." + keyVaultRBACOnly,
		Permissions: []store.Permission{{
			Actions: keyVaultOfficerActions,
			DataActions: []string{
				"Microsoft.KeyVault/vaults/certificatecas/*",
				"Microsoft.KeyVault/vaults/certificates/*",
				"Microsoft.KeyVault/vaults/certificatecontacts/write",
			},
		}},
	},
	{
		ID: "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", RoleName: "Key Vault Certificate User",
		Description: "Read certificate contents." + keyVaultRBACOnly,
		Permissions: []store.Permission{{DataActions: []string{
			"Microsoft.KeyVault/vaults/certificates/read",
			"Microsoft.KeyVault/vaults/secrets/getSecret/action",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
			"Microsoft.KeyVault/vaults/keys/read",
		}}},
	},
	{
		ID: "e147488a-f6f5-4113-8e2d-b22465e65bf6", RoleName: "Key Vault Crypto Service Encryption User",
		Description: "Read metadata of keys and perform wrap/unwrap operations." + keyVaultRBACOnly,
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.EventGrid/eventSubscriptions/write",
				"Microsoft.EventGrid/eventSubscriptions/read",
				"Microsoft.EventGrid/eventSubscriptions/delete",
			},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/keys/read",
				"Microsoft.KeyVault/vaults/keys/wrap/action",
				"Microsoft.KeyVault/vaults/keys/unwrap/action",
			},
		}},
	},
	{
		ID: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", RoleName: "Storage Blob Data Owner",
		Description: "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/*",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"},
		}},
	},
	{
		ID: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", RoleName: "Storage Queue Data Contributor",
		Description: "Allows for read, write, and delete access to Azure Storage queues and queue messages",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/queueServices/queues/delete",
				"Microsoft.Storage/storageAccounts/queueServices/queues/read",
				"Microsoft.Storage/storageAccounts/queueServices/queues/write",
			},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
				"Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
				"Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
				"Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
			},
		}},
	},
	{
		ID: "19e7f393-937e-4f77-808e-94535e297925", RoleName: "Storage Queue Data Reader",
		Description: "Allows for read access to Azure Storage queues and queue messages",
		Permissions: []store.Permission{{
			Actions:     []string{"Microsoft.Storage/storageAccounts/queueServices/queues/read"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/queueServices/queues/messages/read"},
		}},
	},
	{
		ID: "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a", RoleName: "Storage Queue Data Message Sender",
		Description: "Allows for sending of Azure Storage queue messages",
		Permissions: []store.Permission{{DataActions: []string{
			"Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action",
		}}},
	},
	{
		ID: "8a0f0c08-91a1-4084-bc3d-661d67233fed", RoleName: "Storage Queue Data Message Processor",
		Description: "Allows for peek, receive, and delete access to Azure Storage queue messages",
		Permissions: []store.Permission{{DataActions: []string{
			"Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
			"Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
		}}},
	},
	{
		ID: "76199698-9eea-4c19-bc75-cec21354c6b6", RoleName: "Storage Table Data Reader",
		Description: "Allows for read access to Azure Storage tables and entities",
		Permissions: []store.Permission{{
			Actions:     []string{"Microsoft.Storage/storageAccounts/tableServices/tables/read"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/tableServices/tables/entities/read"},
		}},
	},
	{
		ID: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", RoleName: "Storage Table Data Contributor",
		Description: "Allows for read, write and delete access to Azure Storage tables and entities",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/tableServices/tables/read",
				"Microsoft.Storage/storageAccounts/tableServices/tables/write",
				"Microsoft.Storage/storageAccounts/tableServices/tables/delete",
			},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
				"Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
				"Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
				"Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
				"Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action",
			},
		}},
	},
	{
		ID: "17d1049b-9a84-46fb-8f53-869881c3d3ab", RoleName: "Storage Account Contributor",
		Description: "Lets you manage storage accounts, including accessing storage account keys which provide full access to storage account data.",
		Permissions: []store.Permission{{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/diagnosticSettings/*",
			"Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
			"Microsoft.ResourceHealth/availabilityStatuses/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Storage/storageAccounts/*",
			"Microsoft.Support/*",
		}}},
	},
	{
		ID: "7f951dda-4ed3-4680-a7ca-43fe172d538d", RoleName: "AcrPull",
		Description: "acr pull",
		Permissions: []store.Permission{{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}}},
	},
	{
		ID: "8311e382-0749-4cb8-b61a-304f252e45ec", RoleName: "AcrPush",
		Description: "acr push",
		Permissions: []store.Permission{{Actions: []string{
			"Microsoft.ContainerRegistry/registries/pull/read",
			"Microsoft.ContainerRegistry/registries/push/write",
		}}},
	},
	{
		ID: "090c5cfd-751d-490a-894a-3ce6f1109419", RoleName: "Azure Service Bus Data Owner",
		Description: "Allows for full access to Azure Service Bus resources.",
		Permissions: []store.Permission{{Actions: []string{"Microsoft.ServiceBus/*"}, DataActions: []string{"Microsoft.ServiceBus/*"}}},
	},
	{
		ID: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", RoleName: "Azure Service Bus Data Sender",
		Description: "Allows for send access to Azure Service Bus resources.",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.ServiceBus/*/queues/read",
				"Microsoft.ServiceBus/*/topics/read",
				"Microsoft.ServiceBus/*/topics/subscriptions/read",
			},
			DataActions: []string{"Microsoft.ServiceBus/*/send/action"},
		}},
	},
	{
		ID: "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", RoleName: "Azure Service Bus Data Receiver",
		Description: "Allows for receive access to Azure Service Bus resources.",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.ServiceBus/*/queues/read",
				"Microsoft.ServiceBus/*/topics/read",
				"Microsoft.ServiceBus/*/topics/subscriptions/read",
			},
			DataActions: []string{"Microsoft.ServiceBus/*/receive/action"},
		}},
	},
	{
		ID: "f526a384-b230-433a-b45c-95f59c4a2dec", RoleName: "Azure Event Hubs Data Owner",
		Description: "Allows for full access to Azure Event Hubs resources.",
		Permissions: []store.Permission{{Actions: []string{"Microsoft.EventHub/*"}, DataActions: []string{"Microsoft.EventHub/*"}}},
	},
	{
		ID: "2b629674-e913-4c01-ae53-ef4638d8f975", RoleName: "Azure Event Hubs Data Sender",
		Description: "Allows send access to Azure Event Hubs resources.",
		Permissions: []store.Permission{{
			Actions:     []string{"Microsoft.EventHub/*/eventhubs/read"},
			DataActions: []string{"Microsoft.EventHub/*/send/action"},
		}},
	},
	{
		ID: "a638d3c7-ab3a-418d-83e6-5f17a39d4fde", RoleName: "Azure Event Hubs Data Receiver",
		Description: "Allows receive access to Azure Event Hubs resources.",
		Permissions: []store.Permission{{
			Actions:     []string{"Microsoft.EventHub/*/eventhubs/consumergroups/read"},
			DataActions: []string{"Microsoft.EventHub/*/receive/action"},
		}},
	},
	{
		ID: "5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b", RoleName: "App Configuration Data Owner",
		Description: "Allows full access to App Configuration data.",
		Permissions: []store.Permission{{DataActions: []string{
			"Microsoft.AppConfiguration/configurationStores/*/read",
			"Microsoft.AppConfiguration/configurationStores/*/write",
			"Microsoft.AppConfiguration/configurationStores/*/delete",
			"Microsoft.AppConfiguration/configurationStores/*/action",
		}}},
	},
	{
		ID: "516239f1-63e1-4d78-a4de-a74fb236a071", RoleName: "App Configuration Data Reader",
		Description: "Allows read access to App Configuration data.",
		Permissions: []store.Permission{{DataActions: []string{"Microsoft.AppConfiguration/configurationStores/*/read"}}},
	},
	{
		ID: "43d0d8ad-25c7-4714-9337-8ba259a9fe05", RoleName: "Monitoring Reader",
		Description: "Can read all monitoring data.",
		Permissions: []store.Permission{{Actions: []string{
			"*/read",
			"Microsoft.OperationalInsights/workspaces/search/action",
			"Microsoft.Support/*",
		}}},
	},
	{
		ID: "749f88d5-cbae-40b8-bcfc-e573ddc772fa", RoleName: "Monitoring Contributor",
		Description: "Can read all monitoring data and update monitoring settings.",
		Permissions: []store.Permission{{Actions: []string{
			"*/read",
			"Microsoft.AlertsManagement/alerts/*",
			"Microsoft.AlertsManagement/alertsSummary/*",
			"Microsoft.AlertsManagement/issues/*",
			"Microsoft.Insights/actiongroups/*",
			"Microsoft.Insights/activityLogAlerts/*",
			"Microsoft.Insights/AlertRules/*",
			"Microsoft.Insights/components/*",
			"Microsoft.Insights/createNotifications/*",
			"Microsoft.Insights/dataCollectionEndpoints/*",
			"Microsoft.Insights/dataCollectionRules/*",
			"Microsoft.Insights/dataCollectionRuleAssociations/*",
			"Microsoft.Insights/DiagnosticSettings/*",
			"Microsoft.Insights/eventtypes/*",
			"Microsoft.Insights/LogDefinitions/*",
			"Microsoft.Insights/metricalerts/*",
			"Microsoft.Insights/MetricDefinitions/*",
			"Microsoft.Insights/Metrics/*",
			"Microsoft.Insights/notificationStatus/*",
			"Microsoft.Insights/Register/Action",
			"Microsoft.Insights/scheduledqueryrules/*",
			"Microsoft.Insights/webtests/*",
			"Microsoft.Insights/workbooks/*",
			"Microsoft.Insights/workbooktemplates/*",
			"Microsoft.Insights/privateLinkScopes/*",
			"Microsoft.Insights/privateLinkScopeOperationStatuses/*",
			"Microsoft.Monitor/accounts/*",
			"Microsoft.Monitor/settings/*",
			"Microsoft.OperationalInsights/workspaces/write",
			"Microsoft.OperationalInsights/workspaces/intelligencepacks/*",
			"Microsoft.OperationalInsights/workspaces/savedSearches/*",
			"Microsoft.OperationalInsights/workspaces/search/action",
			"Microsoft.OperationalInsights/workspaces/sharedKeys/action",
			"Microsoft.OperationalInsights/workspaces/sharedKeys/read",
			"Microsoft.OperationalInsights/workspaces/storageinsightconfigs/*",
			"Microsoft.OperationalInsights/locations/workspaces/failover/action",
			"Microsoft.OperationalInsights/workspaces/failback/action",
			"Microsoft.Support/*",
			"Microsoft.AlertsManagement/smartDetectorAlertRules/*",
			"Microsoft.AlertsManagement/actionRules/*",
			"Microsoft.AlertsManagement/smartGroups/*",
			"Microsoft.AlertsManagement/migrateFromSmartDetection/*",
			"Microsoft.AlertsManagement/investigations/*",
			"Microsoft.AlertsManagement/prometheusRuleGroups/*",
			"Microsoft.Monitor/investigations/*",
			"Microsoft.Resources/deployments/*",
		}}},
	},
	{
		ID: "3913510d-42f4-4e42-8a64-420c390055eb", RoleName: "Monitoring Metrics Publisher",
		Description: "Enables publishing metrics against Azure resources",
		Permissions: []store.Permission{{
			Actions: []string{
				"Microsoft.Insights/Register/Action",
				"Microsoft.Support/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
			},
			DataActions: []string{"Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"},
		}},
	},
	{
		ID: "73c42c96-874c-492b-b04d-ab87d138a893", RoleName: "Log Analytics Reader",
		Description: "Log Analytics Reader can view and search all monitoring data as well as and view monitoring settings, including viewing the configuration of Azure diagnostics on all Azure resources.",
		Permissions: []store.Permission{{
			Actions: []string{
				"*/read",
				"Microsoft.OperationalInsights/workspaces/analytics/query/action",
				"Microsoft.OperationalInsights/workspaces/search/action",
				"Microsoft.Support/*",
			},
			NotActions:  []string{"Microsoft.OperationalInsights/workspaces/sharedKeys/read"},
			DataActions: []string{"Microsoft.OperationalInsights/workspaces/jobs/export/action"},
		}},
	},
	{
		ID: "92aaf0da-9dab-42b6-94a3-d43ce8d16293", RoleName: "Log Analytics Contributor",
		Description: "Log Analytics Contributor can read all monitoring data and edit monitoring settings. Editing monitoring settings includes adding the VM extension to VMs; reading storage account keys to be able to configure collection of logs from Azure Storage; adding solutions; and configuring Azure diagnostics on all Azure resources.",
		Permissions: []store.Permission{{DataActions: []string{"Microsoft.OperationalInsights/workspaces/jobs/export/action"}, Actions: []string{
			"*/read",
			"Microsoft.ClassicCompute/virtualMachines/extensions/*",
			"Microsoft.ClassicStorage/storageAccounts/listKeys/action",
			"Microsoft.Compute/virtualMachines/extensions/*",
			"Microsoft.HybridCompute/machines/extensions/write",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/diagnosticSettings/*",
			"Microsoft.OperationalInsights/*",
			"Microsoft.OperationsManagement/*",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
			"Microsoft.Storage/storageAccounts/listKeys/action",
			"Microsoft.Support/*",
		}}},
	},
}

// The roles are added beside the core catalogue, each only if it does not
// carry the role already, and completed as the core ones are.
func init() {
	have := map[string]bool{}
	for _, r := range builtinRoles {
		have[r.ID] = true
	}
	for _, r := range workloadRoles {
		if have[r.ID] {
			continue
		}
		r.RoleType = RoleTypeBuiltIn
		r.AssignableScopes = []string{"/"}
		r.Scope = "/"
		for j := range r.Permissions {
			p := &r.Permissions[j]
			p.Actions = nonNil(p.Actions)
			p.NotActions = nonNil(p.NotActions)
			p.DataActions = nonNil(p.DataActions)
			p.NotDataActions = nonNil(p.NotDataActions)
		}
		builtinRoles = append(builtinRoles, r)
	}
}
