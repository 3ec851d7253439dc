import * as names from 'modules/wmod.bicep'
import { fizz } from 'modules/wmod.bicep'

param things fizz = []
param more names.fizz = []

resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: names.identityName('one')
  location: resourceGroup().location
}

output prefix string = names.prefix
output count int = length(things) + length(more)
