type identitySpec = {
  @description('Name of the identity.')
  name: string
  tags: object?
}

param specs identitySpec[] = [
  {
    name: 'id-typed-a'
    tags: {
      team: 'a'
    }
  }
  {
    name: 'id-typed-b'
  }
]

resource uamis 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for spec in specs: {
  name: spec.name
  location: resourceGroup().location
  tags: spec.?tags ?? {}
}]

output principals array = [for (spec, i) in specs: uamis[i].properties.principalId]
