using 'params.bicep'

import * as naming from 'modules/naming.bicep'
import { roleIds, identityName as nameFor } from 'modules/naming.bicep'

var app = 'Orders API'

param names = map(naming.environments, env => nameFor(env, app))
param tags = naming.tagsFor(last(naming.environments))
param readerRoleId = roleIds.Reader
