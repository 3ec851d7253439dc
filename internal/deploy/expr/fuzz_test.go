package expr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"[parameters('name')]",
	"[concat('a', 'b', copyIndex())]",
	"[resourceId('Microsoft.Storage/storageAccounts', parameters('name'))]",
	"[guid(resourceGroup().id, parameters('n'), 'role')]",
	"[format('{0:D3}-{1}', 7, uniqueString(subscription().id))]",
	"[if(empty(parameters('arr')), null(), first(parameters('arr')))]",
	"[reference('/x', '2023-01-31', 'Full').identity.principalId]",
	"[map(range(0, 3), lambda('i', createObject('n', lambdaVariables('i'))))]",
	"[union(json('{\"a\":{\"b\":1}}'), createObject('a', createObject('c', 2)))]",
	"[parameters('obj').properties['nested'].b[0]]",
	"[tryGet(parameters('obj'), 'properties', 'x')]",
	"[contoso.fn('x')]",
	"[[escaped]",
	"['it''s']",
	"[split('a,b', ',')[1]]",
	"[dateTimeAdd('2020-01-01T00:00:00Z', 'P1Y2M3DT4H5M6S', 'o')]",
	"[cidrSubnet('10.0.0.0/16', 24, 3)]",
	"[sort(createArray(3, 1, 2), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]",
	"[format('{0:#,0.00;(#,0.00)}', -1234)]",
	"[replace(replace('aa', 'a', 'aaaa'), 'a', 'aaaa')]",
	"[substring('abc', 1, 1)]",
	"[base64ToJson(base64('[1,2]'))]",
	"[concat(",
	"[foo(]",
	"[]",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		e, err := Parse(s)
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Fatalf("Parse took %v", elapsed)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if pe.Position < 0 || pe.Position > len([]rune(s)) {
				t.Fatalf("position %d outside %q", pe.Position, s)
			}
			return
		}
		// Rendering the tree and parsing it again gives the same tree.
		text := e.Root.String()
		again, err := Parse("[" + text + "]")
		if err != nil {
			if strings.Contains(err.Error(), "nested more than") || strings.Contains(err.Error(), "exceeds the limit") {
				return // the canonical form can be longer or deeper than the input
			}
			t.Fatalf("re-parse of %q (from %q): %v", text, s, err)
		}
		if again.Root.String() != text {
			t.Fatalf("round trip changed %q into %q", text, again.Root.String())
		}
	})
}

func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	fns, err := ParseFunctions(mustJSON(`[{"namespace": "contoso", "members": {
		"fn": {"parameters": [{"name": "p", "type": "string"}], "output": {"type": "string", "value": "[toUpper(parameters('p'))]"}},
		"rec": {"parameters": [], "output": {"type": "string", "value": "[contoso.rec()]"}}}}]`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		ctx := testContext()
		ctx.Functions = fns
		ctx.Budget = 1 << 20
		start := time.Now()
		v, err := e.Eval(ctx)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Eval of %q took %v", s, elapsed)
		}
		if err != nil {
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		if _, ok := v.(*Lambda); ok {
			t.Fatalf("%q returned a lambda", s)
		}
		if _, err := appendJSON(nil, v, false, 0); err != nil {
			t.Fatalf("%q returned a value that is not JSON: %v", s, err)
		}
	})
}
