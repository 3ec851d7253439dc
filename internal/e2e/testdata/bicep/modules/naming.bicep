@export()
var environments = [
  'dev'
  'prod'
]

@export()
var roleIds = {
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
}

func slug(s string) string => toLower(replace(s, ' ', '-'))

@export()
func identityName(env string, app string) string => 'id-${slug(app)}-${env}'

@export()
func tagsFor(env string) object => {
  env: env
  owner: 'platform'
}
