@export()
@description('An identity to create.')
type identitySpec = {
  @minLength(3)
  name: string
  location: string?
  roles: roleName[]
}

type roleName = 'Reader' | 'Contributor'

@sealed()
type tagSet = {
  *: string
}

param specs identitySpec[] = [
  {
    name: 'one'
    roles: [
      'Reader'
    ]
  }
]

param tags tagSet = {}
param optionalName string?

func prefixed(name string) string => 'id-${name}'

var roleIds = {
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c'
}

resource uamis 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for spec in specs: {
  name: prefixed(spec.name)
  location: spec.?location ?? resourceGroup().location
  tags: tags
}]

output names string[] = [for (spec, i) in specs: uamis[i].name]
output first string = optionalName ?? 'none'
output principal string = uamis[0].properties.principalId
output readerId string = roleIds.Reader
