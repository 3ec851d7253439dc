package template

import (
	"strings"
	"testing"
)

// Bicep compiles type property and index access (cfg.size, cfg.tags.*,
// list[*], pair[1]) to $ref pointers into parts of a definition; binding
// checks values against the part named.
func TestRefToPartsOfADefinition(t *testing.T) {
	doc := `{
	  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
	  "languageVersion": "2.0", "contentVersion": "1.0.0.0",
	  "definitions": {
	    "alias": {"$ref": "#/definitions/cfg/properties/size"},
	    "cfg": {"type": "object", "properties": {
	      "size": {"type": "int", "minValue": 1, "maxValue": 10},
	      "tags": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
	      "list": {"type": "array", "items": {"type": "bool"}},
	      "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "int"}], "items": false}
	    }}
	  },
	  "parameters": {
	    "size": {"$ref": "#/definitions/alias"},
	    "tag":  {"$ref": "#/definitions/cfg/properties/tags/additionalProperties"},
	    "flag": {"$ref": "#/definitions/cfg/properties/list/items"},
	    "second": {"$ref": "#/definitions/cfg/properties/pair/prefixItems/1"}
	  },
	  "resources": {}
	}`
	tpl, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	bind := func(params string) error {
		_, err := tpl.Bind(Deployment{Parameters: []byte(params)})
		return err
	}
	if err := bind(`{"size":{"value":5},"tag":{"value":"abc"},"flag":{"value":true},"second":{"value":2}}`); err != nil {
		t.Fatalf("valid values refused: %v", err)
	}
	for _, bad := range []string{
		`{"size":{"value":50},"tag":{"value":"abc"},"flag":{"value":true},"second":{"value":2}}`,
		`{"size":{"value":5},"tag":{"value":"abcd"},"flag":{"value":true},"second":{"value":2}}`,
		`{"size":{"value":5},"tag":{"value":"abc"},"flag":{"value":"yes"},"second":{"value":2}}`,
		`{"size":{"value":5},"tag":{"value":"abc"},"flag":{"value":true},"second":{"value":"two"}}`,
	} {
		if err := bind(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	_, err = Parse([]byte(strings.Replace(doc, "prefixItems/1", "prefixItems/7", 1)))
	if err == nil || !strings.Contains(err.Error(), "names no part") {
		t.Fatalf("a pointer to no part: %v", err)
	}
}

// languageVersion 2.0 writes an unconstrained type with no 'type'; older
// templates must still declare one.
func TestUntypedParameterIsAnyOnlyInLanguageVersion2(t *testing.T) {
	lv2 := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","languageVersion":"2.0","contentVersion":"1.0.0.0",
	  "parameters":{"p":{"metadata":{"__bicep_resource_derived_type!":{"source":"Microsoft.Web/sites@2022-03-01#properties/siteConfig"}}}},"resources":{}}`
	tpl, err := Parse([]byte(lv2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Bind(Deployment{Parameters: []byte(`{"p":{"value":{"any":["shape"]}}}`)}); err != nil {
		t.Fatalf("an untyped languageVersion 2.0 parameter refused a value: %v", err)
	}
	old := strings.Replace(strings.Replace(lv2, `"languageVersion":"2.0",`, "", 1), `"resources":{}`, `"resources":[]`, 1)
	if _, err := Parse([]byte(old)); err == nil || !strings.Contains(err.Error(), "'type' property is missing") {
		t.Fatalf("an untyped parameter outside languageVersion 2.0: %v", err)
	}
}
