package template

import "encoding/json"

// Document renders the template as JSON, for the record of a nested
// deployment (exportTemplate) whose template was given inline.
func (t *Template) Document() ([]byte, error) {
	return json.Marshal(t.root)
}
