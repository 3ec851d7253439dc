param existingName string = 'id-existing'

resource shared 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: existingName
}

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(shared.id, 'reader')
  scope: shared
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: shared.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output sharedPrincipal string = shared.properties.principalId
output sharedId string = shared.id
