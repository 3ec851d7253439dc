@export()
type roleName = 'Reader' | 'Contributor'

@export()
var roleIds = {
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c'
}

@export()
func roleId(name roleName) string => subscriptionResourceId('Microsoft.Authorization/roleDefinitions', name == 'Reader' ? 'acdd72a7-3385-48ef-bd42-f606fba81ae7' : 'b24988ac-6180-42a0-ab88-20f7382dd24c')
