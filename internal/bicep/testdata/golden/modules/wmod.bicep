import * as inner from 'wmod2.bicep'

@export()
var prefix = '${base}-id'

var base = 'keyless'

@export()
type fizz = buzz[]

type buzz = {
  property: inner.pop?
}

@export()
@description('Name an identity.')
func identityName(suffix string) string => 'keyless-${suffix}-${inner.tag()}'
