// Importing from an ARM JSON template (modules/sharedlib.json, the
// compiled form of modules/shared.bicep): the exported type, variable and
// function are read from the template's export markers.
import { roleName, roleId } from 'modules/sharedlib.json'
import * as lib from 'modules/sharedlib.json'

param role roleName = 'Reader'

output roleDefinitionId string = roleId(role)
output readerId string = lib.roleIds.Reader
