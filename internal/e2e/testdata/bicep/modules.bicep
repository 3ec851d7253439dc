param names array = [
  'alpha'
  'beta'
]

module ident 'modules/identity.bicep' = {
  name: 'ident-main'
  params: {
    name: 'id-main'
  }
}

module idents 'modules/identity.bicep' = [for n in names: {
  name: 'ident-${n}'
  params: {
    name: 'id-${n}'
  }
}]

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, 'ident-main', 'reader')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: ident.outputs.principalId
    principalType: 'ServicePrincipal'
  }
}

output mainPrincipal string = ident.outputs.principalId
output mainId string = ident.outputs.id
output clientIds array = [for (n, i) in names: idents[i].outputs.clientId]
