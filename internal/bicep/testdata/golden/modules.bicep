param location string = resourceGroup().location
param names array = [
  'alpha'
  'beta'
]

@description('One identity from a module.')
module ident './modules/identity.bicep' = {
  name: 'identity-deploy'
  params: {
    name: 'id-main'
    location: location
  }
}

@batchSize(1)
module idents 'modules/identity.bicep' = [for (n, i) in names: {
  name: 'identity-${n}'
  params: {
    name: 'id-${n}-${i}'
  }
}]

module other './modules/identity.bicep' = if (length(names) > 1) {
  name: 'other'
  scope: resourceGroup('other-rg')
  params: {
    name: 'id-other'
  }
}

resource roleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, 'reader')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: ident.outputs.principalId
    principalType: 'ServicePrincipal'
  }
}

output principalIds array = [for (n, i) in names: idents[i].outputs.principalId]
output firstClientId string = idents[0].outputs.clientId
output otherId string = other.outputs.id
