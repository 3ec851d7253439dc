targetScope = 'subscription'

param rgName string
param location string = 'westus'

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

output rgId string = rg.id
output principalId string = ident.outputs.principalId
