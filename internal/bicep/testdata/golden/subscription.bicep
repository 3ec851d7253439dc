targetScope = 'subscription'

param location string = deployment().location
param rgName string = 'rg-identities'

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: rgName
  location: location
}

module ident 'modules/identity.bicep' = {
  name: 'ident'
  scope: rg
  params: {
    name: 'id-sub'
    location: location
  }
}

module rg2 'modules/rg.bicep' = {
  name: 'rg2'
  params: {
    rgName: '${rgName}-2'
    location: location
  }
}

resource contributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, 'contributor')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')
    principalId: ident.outputs.principalId
    principalType: 'ServicePrincipal'
  }
}

output rgId string = rg.id
output principalId string = ident.outputs.principalId
