// A loop of identities used as a whole (references()) and a conditional
// identity read through .?, guarded by its condition.
param names array = [
  'id-worker-1'
  'id-worker-2'
]
param createExtra bool = true
param createMissing bool = false

resource workers 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in names: {
  name: n
  location: resourceGroup().location
}]

resource extra 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (createExtra) {
  name: 'id-extra'
  location: resourceGroup().location
  tags: {
    role: 'extra'
  }
}

resource missing 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (createMissing) {
  name: 'id-missing'
  location: resourceGroup().location
}

output workerIds array = map(workers, w => w.id)
output workerPrincipals array = map(workers, w => w.properties.principalId)
output extraId string? = extra.?id
output extraPrincipal string? = extra.?properties.principalId
output missingId string? = missing.?id
output missingPrincipal string? = missing.?properties.principalId
