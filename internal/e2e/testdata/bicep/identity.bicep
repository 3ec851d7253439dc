@description('Name of the user-assigned identity.')
param identityName string = 'id-app'
param siteName string = 'web-app'
param location string = resourceGroup().location

var readerRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')

resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
}

resource site 'Microsoft.Web/sites@2022-09-01' = {
  name: siteName
  location: location
  identity: {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: {
      '${uami.id}': {}
    }
  }
  properties: {
    serverFarmId: 'plan1'
  }
}

resource uamiReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, uami.id, readerRole)
  properties: {
    roleDefinitionId: readerRole
    principalId: uami.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource siteReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(site.id, readerRole)
  scope: site
  properties: {
    roleDefinitionId: readerRole
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output identityId string = uami.id
output principalId string = uami.properties.principalId
output clientId string = uami.properties.clientId
output sitePrincipalId string = site.identity.principalId
