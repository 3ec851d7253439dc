package template

import (
	"runtime"
	"testing"
	"time"
)

// FuzzParse runs outside input through Parse, Bind, every Body, nested
// Bind and Outputs: none may panic or run unbounded, and every error must
// be an *Error.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{identityAndRole, copyTemplate, symbolicTemplate, nestedTemplate,
		`{"resources": [{"type": "a/b", "apiVersion": "1", "name": "[string(copyIndex())]", "copy": {"name": "c", "count": 2}}]}`,
		`{"variables": {"copy": [{"name": "v", "count": 2, "input": "[copyIndex('v')]"}]}, "outputs": {"o": {"type": "array", "value": "[variables('v')]"}}}`,
		`{"languageVersion": "2.0", "definitions": {"t": {"type": "object", "properties": {"a": {"$ref": "#/definitions/t", "nullable": true}}}}, "parameters": {"p": {"$ref": "#/definitions/t", "defaultValue": {"a": {"a": null}}}}}`,
		"{\n// comment\n\"resources\": []}",
	} {
		f.Add([]byte(seed), []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, doc, params []byte) {
		if len(doc) > 1<<16 || len(params) > 1<<12 {
			return
		}
		watchdog := time.AfterFunc(10*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic("FuzzParse: one input ran for more than 10s:\n" + string(buf[:n]))
		})
		defer watchdog.Stop()
		tmpl, err := Parse(doc)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse error %T: %v", err, err)
			}
			return
		}
		p, err := tmpl.Bind(rgDeployment(string(params)))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Bind error %T: %v", err, err)
			}
			return
		}
		for _, r := range p.Resources {
			if r.Body != nil {
				_, _ = r.Body()
			}
			if r.Nested != nil {
				d := rgDeployment("")
				d.Scope = r.Nested.Scope
				if np, err := r.Nested.Bind(d); err == nil {
					_, _ = np.Outputs()
				}
			}
		}
		_, _ = p.Outputs()
	})
}
