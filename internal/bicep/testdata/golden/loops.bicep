param location string = resourceGroup().location
param identities array = [
  {
    name: 'one'
    enabled: true
  }
  {
    name: 'two'
    enabled: false
  }
]

var count = 3
var names = [for i in range(0, count): 'id-${i}']

resource uamis 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for item in identities: if (item.enabled) {
  name: item.name
  location: location
}]

resource numbered 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for (name, i) in names: {
  name: name
  location: location
  tags: {
    index: '${i}'
  }
}]

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for i in range(0, count): {
  name: guid(numbered[i].id, 'reader')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: numbered[i].properties.principalId
  }
}]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${uniqueString(resourceGroup().id)}'
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    accessPolicies: [for i in range(0, count): {
      tenantId: subscription().tenantId
      objectId: numbered[i].properties.principalId
      permissions: {
        secrets: [
          'get'
        ]
      }
    }]
  }
  dependsOn: [
    uamis
  ]
}

output ids array = [for i in range(0, count): numbered[i].id]
output names array = names
