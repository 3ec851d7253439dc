// .? on a conditional resource is guarded by the condition; the JSONPath
// argument of loadJsonContent and loadYamlContent selects part of a file.
param create bool = true

resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (create) {
  name: 'id-conditional'
  location: resourceGroup().location
  tags: loadJsonContent('data/settings.json', '$.tags')
}

var names = loadJsonContent('data/settings.json', '$.identities[*].name')
var first = loadJsonContent('data/settings.json', '$.identities[0]')
var costCenter = loadJsonContent('data/settings.json', '$.tags[\'cost-center\']')
var yamlTeam = loadYamlContent('data/settings.yaml', '$.identities[0].team')

output id string? = uami.?id
output name string? = uami.?name
output resourceType string? = uami.?type
output principalId string? = uami.?properties.principalId
output tagsOut object? = uami.?tags
output names array = names
output first object = first
output costCenter string = costCenter
output yamlTeam string = yamlTeam
