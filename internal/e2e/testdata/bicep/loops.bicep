param names array = [
  'one'
  'two'
  'three'
]

resource uamis 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in names: {
  name: 'id-${n}'
  location: resourceGroup().location
}]

resource grants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (n, i) in names: {
  name: guid(resourceGroup().id, 'id-${n}', 'reader')
  scope: uamis[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: uamis[i].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

output principals array = [for (n, i) in names: uamis[i].properties.principalId]
