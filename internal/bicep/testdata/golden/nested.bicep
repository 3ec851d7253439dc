param storageName string = 'st${uniqueString(resourceGroup().id)}'

resource storage 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: storageName
  location: resourceGroup().location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  identity: {
    type: 'SystemAssigned'
  }

  resource blobs 'blobServices' = {
    name: 'default'

    resource container 'containers' = {
      name: 'data'
    }
  }
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-01-01' = {
  parent: queues
  name: 'jobs'
}

resource existingIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: 'shared-identity'
  scope: resourceGroup('shared-rg')
}

resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'shared-kv'
}

resource kvSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kv.id, storage.id, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: kv
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: storage.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output containerId string = storage::blobs::container.id
output containerName string = storage::blobs::container.name
output queueId string = queue.id
output sharedPrincipal string = existingIdentity.properties.principalId
output vaultUri string = kv.properties.vaultUri
