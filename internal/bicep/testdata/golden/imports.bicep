import { roleName, roleId } from 'modules/shared.bicep'
import * as shared from 'modules/shared.bicep'

param role roleName = 'Reader'
param principalId string

resource site 'Microsoft.Web/sites@2022-09-01' existing = {
  name: 'site-one'
}

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(site.id, principalId, role)
  scope: site
  properties: {
    roleDefinitionId: roleId(role)
    principalId: principalId
  }
}

module ident 'modules/identity.bicep' = {
  params: {
    name: 'generated-name'
  }
}

output readerId string = shared.roleIds.Reader
output sitePrincipal string = site.identity.principalId
output identity string = ident.outputs.principalId
