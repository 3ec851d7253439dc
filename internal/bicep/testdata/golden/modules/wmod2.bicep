@export()
@minLength(3)
type pop = string

@export()
func tag() string => 'w'
