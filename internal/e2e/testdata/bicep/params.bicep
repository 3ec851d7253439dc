// Deployed with params.bicepparam, whose values come from a wildcard
// import and imported functions (modules/naming.bicep), evaluated at
// compile time.
param names array
param tags object
param readerRoleId string

resource uamis 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in names: {
  name: n
  location: resourceGroup().location
  tags: tags
}]

resource grants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (n, i) in names: {
  name: guid(resourceGroup().id, n, readerRoleId)
  scope: uamis[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: uamis[i].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

output names array = names
output tags object = tags
