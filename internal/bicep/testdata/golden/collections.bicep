// A resource or module collection used as a whole compiles to
// references(), in languageVersion 2.0.
param names array = [
  'id-w1'
  'id-w2'
]

resource workers 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in names: {
  name: n
  location: resourceGroup().location
}]

module mods 'modules/identity.bicep' = [for n in names: {
  name: 'mod-${n}'
  params: {
    name: '${n}-m'
  }
}]

var principals = map(workers, w => w.properties.principalId)

output ids array = map(workers, w => w.id)
output principals array = principals
output all array = workers
output modNames array = map(mods, m => m.outputs.id)
