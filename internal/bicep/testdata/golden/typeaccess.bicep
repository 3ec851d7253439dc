// Tagged unions, type property and index access, non-null types and
// resource-derived types, as the official compiler emits them.
type typeA = {
  type: 'a'
  value: string
}

type typeB = {
  type: 'b'
  value: int
}

@discriminator('type')
type union1 = typeA | typeB

@discriminator('type')
type union2 = union1 | { type: 'c', value: bool }

@discriminator('type')
type optionalUnion = (typeA | typeB)?

type holder = {
  @discriminator('type')
  prop: typeA | typeB
  @discriminator('type')
  *: typeA | typeB
}

type foo = {
  objectProp: {
    intProp: int
  }
  list: string[]
}

type fooProperty = foo.objectProp.intProp
type fooList = foo.list
type listItem = foo.list[*]
type tuple = [string, int]
type tupleSecond = tuple[1]
type dict = {
  *: string
}
type dictValue = dict.*
type nullable = string?
type nonNullable = nullable!

type accountName = resourceInput<'Microsoft.Storage/storageAccounts@2023-01-01'>.name
type tagValue = resourceInput<'Microsoft.Resources/tags@2022-09-01'>.properties.tags.*
type multiLine = resourceInput<

  'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'

>.name

param tagsParam resourceInput<'Microsoft.Resources/tags@2022-09-01'>.properties = {
  tags: {
    team: 'a'
  }
}

@discriminator('type')
param choice typeA | typeB = {
  type: 'a'
  value: 'x'
}

output identityName resourceOutput<'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'>.name = 'id-a'
output tags object = tagsParam
output chosen object = choice
