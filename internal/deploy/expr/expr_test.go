package expr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	testSub = "00000000-0000-0000-0000-000000000001"
	testRG  = "rg1"
)

// fakeHost is a Host with fixed answers for tests and fuzzing.
type fakeHost struct {
	NoHost
	params, vars *Object
	copyIndex    map[string]int64
}

func (h *fakeHost) Parameter(name string) (any, error) {
	if v, ok := h.params.Get(name); ok {
		return v, nil
	}
	return nil, ErrNotFound
}

func (h *fakeHost) Variable(name string) (any, error) {
	if v, ok := h.vars.Get(name); ok {
		return v, nil
	}
	return nil, ErrNotFound
}

func (h *fakeHost) CopyIndex(loop string) (int64, error) {
	if i, ok := h.copyIndex[strings.ToLower(loop)]; ok {
		return i, nil
	}
	return 0, fmt.Errorf("The template function 'copyIndex' is not expected at this location; there is no copy loop '%s'.", loop)
}

// Values are immutable, so the host hands out the same objects every call.
var (
	testResourceGroup = mustJSON(`{"id":"/subscriptions/` + testSub + `/resourceGroups/` + testRG + `","name":"` + testRG + `","type":"Microsoft.Resources/resourceGroups","location":"westus2","properties":{"provisioningState":"Succeeded"}}`)
	testSubscription  = mustJSON(`{"id":"/subscriptions/` + testSub + `","subscriptionId":"` + testSub + `","tenantId":"00000000-0000-0000-0000-0000000000aa","displayName":"sub"}`)
	testDeployment    = mustJSON(`{"name":"deploy1","properties":{"templateLink":{"uri":"https://example.com/t.json"}}}`)
)

func (h *fakeHost) ResourceGroup() (any, error) { return testResourceGroup, nil }
func (h *fakeHost) Subscription() (any, error)  { return testSubscription, nil }
func (h *fakeHost) Deployment() (any, error)    { return testDeployment, nil }

func (h *fakeHost) Reference(target, apiVersion string, full bool) (any, error) {
	if full {
		return ObjectOf("id", target, "identity", ObjectOf("principalId", "p-1"), "properties", ObjectOf("a", 1)), nil
	}
	return mustJSON(`{"a":1,"provisioningState":"Succeeded"}`), nil
}

func (h *fakeHost) List(fn, id, apiVersion string, body any) (any, error) {
	return nil, fmt.Errorf("The resource '%s' does not support the action '%s'.", id, fn)
}

func mustJSON(s string) any {
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

func newTestHost() *fakeHost {
	return &fakeHost{
		NoHost: NoHost{ScopeValue: Scope{TenantID: "00000000-0000-0000-0000-0000000000aa", SubscriptionID: testSub, ResourceGroup: testRG}},
		params: mustJSON(`{
			"name": "sa1",
			"n": "role",
			"count": 3,
			"obj": {"properties": {"a": 1, "nested": {"b": [10, 20, 30]}}, "key": "v"},
			"arr": ["x", "y", "z"],
			"dogs": [
				{"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]},
				{"name": "Casper", "age": 3, "interests": ["Other dogs"]},
				{"name": "Indy", "age": 2, "interests": ["Butter"]},
				{"name": "Kira", "age": 8, "interests": ["Rubs"]}
			],
			"nothing": null
		}`).(*Object),
		vars:      mustJSON(`{"prefix": "kl", "list": [1, 2, 3]}`).(*Object),
		copyIndex: map[string]int64{"": 2, "loop": 5},
	}
}

func testContext() *Context {
	return &Context{
		Host:    newTestHost(),
		Now:     func() time.Time { return time.Date(2019, 3, 5, 17, 53, 18, 0, time.UTC) },
		NewGUID: func() string { return "6a9c5f2e-0000-4000-8000-000000000000" },
	}
}

func render(v any) string {
	b, err := appendJSON(nil, v, false, 0)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func canonical(t *testing.T, jsonText string) string {
	t.Helper()
	v, err := DecodeJSON([]byte(jsonText))
	if err != nil {
		t.Fatalf("bad expected JSON %q: %v", jsonText, err)
	}
	return render(v)
}

type evalCase struct {
	name string
	expr string
	want string // JSON of the expected value
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := EvalString(tc.expr, testContext())
			if err != nil {
				t.Fatalf("%s: %v", tc.expr, err)
			}
			if got, want := render(v), canonical(t, tc.want); got != want {
				t.Errorf("%s\n got  %s\n want %s", tc.expr, got, want)
			}
		})
	}
}

type errCase struct {
	name string
	expr string
	want string // substring of the message
	pos  int    // expected character position, -1 to skip
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := EvalString(tc.expr, testContext())
			if err == nil {
				t.Fatalf("%s = %s, want error containing %q", tc.expr, render(v), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %q does not contain %q", tc.expr, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if tc.pos >= 0 && e.Position != tc.pos {
				t.Errorf("%s: position %d, want %d (%s)", tc.expr, e.Position, tc.pos, err)
			}
		})
	}
}

func TestIsExpression(t *testing.T) {
	tests := []struct {
		in      string
		isExpr  bool
		literal string
	}{
		{"[parameters('a')]", true, ""},
		{"[[parameters('a')]", false, "[parameters('a')]"},
		{"[[test value]", false, "[test value]"},
		{"plain", false, "plain"},
		{"[", false, "["},
		{"[]", true, ""},
		{"]", false, "]"},
		{"[abc", false, "[abc"},
		{"", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := IsExpression(tc.in); got != tc.isExpr {
				t.Errorf("IsExpression(%q) = %v", tc.in, got)
			}
			if !tc.isExpr {
				if got := Literal(tc.in); got != tc.literal {
					t.Errorf("Literal(%q) = %q, want %q", tc.in, got, tc.literal)
				}
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[concat('a', 'b')]", "concat('a', 'b')"},
		{"[ concat ( 'it''s' , -5 ) ]", "concat('it''s', -5)"},
		{"[resourceGroup().properties['x'].y[0]]", "resourceGroup().properties['x'].y[0]"},
		{"[contoso.uniqueName('a')]", "contoso.uniqueName('a')"},
		{"[parameters('a')[add(1, 2)]]", "parameters('a')[add(1, 2)]"},
		{"['lit']", "'lit'"},
		{"[lambda('x', lambdaVariables('x'))]", "lambda('x', lambdaVariables('x'))"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Root.String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			again, err := Parse("[" + e.Root.String() + "]")
			if err != nil || again.Root.String() != tc.want {
				t.Errorf("re-parse of %s: %v %v", tc.want, again, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	runErrCases(t, []errCase{
		{"unterminated call", "[concat('a']", "expected token 'RightParenthesis' and actual 'EndOfData'", 11},
		{"unterminated string", "['abc]", "is not terminated", 1},
		{"stray character", "[concat('a') b]", "the string character 'b' at position '12' is not expected", 13},
		{"decimal literal", "[add(1.5, 1)]", "not a valid integer", 5},
		{"empty expression", "[]", "the expression is empty", 1},
		{"bare identifier", "[foo]", "expected token 'LeftParenthesis' and actual 'EndOfData'", 4},
		{"missing comma", "[concat('a' 'b')]", "expected token 'Comma' and actual 'String'", 12},
		{"bad character", "[concat(@)]", "the string character '@' at position '7' is not expected", 8},
		{"dot without name", "[resourceGroup().]", "expected token 'Identifier'", 17},
		{"integer overflow", "[add(99999999999999999999, 1)]", "out of range", 5},
		{"quote in message", "[concat('a']", "Unable to parse language expression 'concat('a''", -1},
		{"message quotes the expression", "[concat(@)]", "The template language expression 'concat(@)' is not valid", -1},
	})
}

func TestParseLimits(t *testing.T) {
	long := "[concat('" + strings.Repeat("a", MaxExpressionLength) + "')]"
	if _, err := Parse(long); err == nil || !strings.Contains(err.Error(), "exceeds the limit of '24576' characters") {
		t.Errorf("long expression: %v", err)
	}
	deep := "[" + strings.Repeat("not(", MaxDepth+5) + "true()" + strings.Repeat(")", MaxDepth+5) + "]"
	if _, err := Parse(deep); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("deep expression: %v", err)
	}
	accessors := "[resourceGroup()" + strings.Repeat(".a", MaxDepth+5) + "]"
	if _, err := Parse(accessors); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("deep accessors: %v", err)
	}
	ok := "[" + strings.Repeat("not(", 50) + "true()" + strings.Repeat(")", 50) + "]"
	if v, err := EvalString(ok, testContext()); err != nil || v != true {
		t.Errorf("50 nested not(): %v %v", v, err)
	}
}

func TestAccessors(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"property", "[resourceGroup().location]", `"westus2"`},
		{"property is case-insensitive", "[resourceGroup().LOCATION]", `"westus2"`},
		{"nested property keeps key case", "[parameters('obj').Properties]", `{"a":1,"nested":{"b":[10,20,30]}}`},
		{"index into array", "[parameters('arr')[1]]", `"y"`},
		{"string index into object", "[parameters('obj')['KEY']]", `"v"`},
		{"chained", "[parameters('obj').properties.nested.b[2]]", `30`},
		{"computed index", "[parameters('arr')[sub(length(parameters('arr')), 1)]]", `"z"`},
		{"reference full identity", "[reference('/x', '2023-01-31', 'Full').identity.principalId]", `"p-1"`},
		{"literal expression", "['text']", `"text"`},
		{"escaped literal", "[[not an expression]", `"[not an expression]"`},
		{"plain string", "hello", `"hello"`},
	})
	runErrCases(t, []errCase{
		{"missing property", "[resourceGroup().nope]", "The language expression property 'nope' doesn't exist, available properties are 'id, name, type, location, properties'.", 16},
		{"index out of bounds", "[parameters('arr')[3]]", "The language expression property array index '3' is out of bounds.", 18},
		{"property of null", "[parameters('nothing').x]", "can't be evaluated because the value is null", 22},
		{"property of string", "[parameters('name').x]", "property selection is not supported on values of type 'String'", 19},
	})
}

func TestDeploymentFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"parameters", "[parameters('name')]", `"sa1"`},
		{"parameters case-insensitive", "[parameters('NAME')]", `"sa1"`},
		{"variables", "[variables('prefix')]", `"kl"`},
		{"copyIndex", "[copyIndex()]", `2`},
		{"copyIndex offset", "[copyIndex(1)]", `3`},
		{"copyIndex loop", "[copyIndex('loop')]", `5`},
		{"copyIndex loop offset", "[copyIndex('loop', 10)]", `15`},
		{"deployment", "[deployment().name]", `"deploy1"`},
		{"subscription", "[subscription().subscriptionId]", `"` + testSub + `"`},
		{"function names are case-insensitive", "[RESOURCEGROUP().name]", `"rg1"`},
	})
	runErrCases(t, []errCase{
		{"unknown parameter", "[parameters('nope')]", "The template parameter 'nope' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details.", 1},
		{"unknown variable", "[concat('a', variables('nope'))]", "The template variable 'nope' is not found.", 13},
		{"unknown function", "[foo()]", "The template function 'foo' is not valid. Please see https://aka.ms/arm-functions for usage details.", 1},
		{"wrong argument count", "[parameters()]", "The template language function 'parameters' expects exactly '1' parameter(s). The function was invoked with '0' parameter(s).", 1},
		{"wrong argument type", "[parameters(1)]", "The template language function 'parameters' expects its first parameter to be of type 'String'. The provided value is of type 'Integer'.", 1},
		{"host error", "[listKeys('/x', '2023-01-01')]", "Unable to evaluate template language function 'listKeys': The resource '/x' does not support the action 'listKeys'.", 1},
		{"reference third argument", "[reference('/x', '2020-01-01', 'Partial')]", "the third parameter must be 'Full'", 1},
		{"no copy loop", "[copyIndex('other')]", "there is no copy loop 'other'", 1},
		{"not available", "[tenant()]", "not available in this context", 1},
	})
}

// Resource ID examples follow the Azure docs, "Resource functions for ARM
// templates" (resourceId, subscriptionResourceId, tenantResourceId,
// extensionResourceId, managementGroupResourceId).
func TestResourceIDs(t *testing.T) {
	rgID := "/subscriptions/" + testSub + "/resourceGroups/" + testRG
	runEvalCases(t, []evalCase{
		{"resourceId in the deployment's group", "[resourceId('Microsoft.Storage/storageAccounts', 'examplestorage')]", `"` + rgID + `/providers/Microsoft.Storage/storageAccounts/examplestorage"`},
		{"resourceId in another group", "[resourceId('otherResourceGroup', 'Microsoft.Storage/storageAccounts','examplestorage')]", `"/subscriptions/` + testSub + `/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/examplestorage"`},
		{"resourceId in another subscription", "[resourceId('11111111-1111-1111-1111-111111111111', 'otherResourceGroup', 'Microsoft.Storage/storageAccounts','examplestorage')]", `"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/examplestorage"`},
		{"resourceId child", "[resourceId('Microsoft.SQL/servers/databases', 'serverName', 'databaseName')]", `"` + rgID + `/providers/Microsoft.SQL/servers/serverName/databases/databaseName"`},
		{"resourceId child with slash name", "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet/default')]", `"` + rgID + `/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"`},
		{"subscriptionResourceId", "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]", `"/subscriptions/` + testSub + `/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"`},
		{"subscriptionResourceId other subscription", "[subscriptionResourceId('22222222-2222-2222-2222-222222222222', 'Microsoft.Resources/resourceGroups', 'rgX')]", `"/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rgX"`},
		{"tenantResourceId", "[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'p1')]", `"/providers/Microsoft.Authorization/policyDefinitions/p1"`},
		{"extensionResourceId", "[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks', 'lock1')]", `"` + rgID + `/providers/Microsoft.Authorization/locks/lock1"`},
		{"managementGroupResourceId with group", "[managementGroupResourceId('mg1', 'Microsoft.Authorization/policyDefinitions', 'p1')]", `"/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/p1"`},
		{"role assignment name", "[guid(resourceGroup().id, parameters('n'), 'role')]", `"` + GUID(rgID, "role", "role") + `"`},
	})
	runErrCases(t, []errCase{
		{"missing name", "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet')]", "the type 'Microsoft.Network/virtualNetworks/subnets' requires '2' resource name argument(s)", 1},
		{"no type", "[resourceId('a', 'b', 'c', 'd')]", "function requires fully qualified resource type", 1},
		{"management group needed", "[managementGroupResourceId('Microsoft.Authorization/policyDefinitions', 'p1')]", "not at management group scope", 1},
	})
}

func TestResourceIDsAtOtherScopes(t *testing.T) {
	tests := []struct {
		name  string
		scope Scope
		expr  string
		want  string
	}{
		{"resourceId at subscription scope", Scope{SubscriptionID: testSub}, "[resourceId('Microsoft.Resources/resourceGroups', 'rg2')]", "/subscriptions/" + testSub + "/resourceGroups/rg2"},
		{"resourceId with group at subscription scope", Scope{SubscriptionID: testSub}, "[resourceId('rg2', 'Microsoft.Storage/storageAccounts', 'sa')]", "/subscriptions/" + testSub + "/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/sa"},
		{"resourceId at management group scope", Scope{ManagementGroup: "mg1"}, "[resourceId('Microsoft.Authorization/policyDefinitions', 'p')]", "/providers/Microsoft.Authorization/policyDefinitions/p"},
		{"managementGroupResourceId at management group scope", Scope{ManagementGroup: "mg1"}, "[managementGroupResourceId('Microsoft.Authorization/roleDefinitions', 'r')]", "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/roleDefinitions/r"},
		{"tenantResourceId at tenant scope", Scope{}, "[tenantResourceId('Microsoft.Management/managementGroups', 'mg1')]", "/providers/Microsoft.Management/managementGroups/mg1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := EvalString(tc.expr, &Context{Host: NoHost{ScopeValue: tc.scope}})
			if err != nil {
				t.Fatal(err)
			}
			if v != tc.want {
				t.Errorf("got %v, want %v", v, tc.want)
			}
		})
	}
	if _, err := EvalString("[subscriptionResourceId('Microsoft.X/y', 'n')]", &Context{Host: NoHost{ScopeValue: Scope{ManagementGroup: "mg"}}}); err == nil {
		t.Error("subscriptionResourceId without a subscription should fail")
	}
}

func TestUserDefinedFunctions(t *testing.T) {
	// The namespace/members shape and the uniqueName example are from the
	// Azure docs, "User-defined functions in ARM templates".
	section := mustJSON(`[{
		"namespace": "contoso",
		"members": {
			"uniqueName": {
				"parameters": [{"name": "namePrefix", "type": "string"}],
				"output": {"type": "string", "value": "[concat(toLower(parameters('namePrefix')), uniqueString(resourceGroup().id))]"}
			},
			"twice": {
				"parameters": [{"name": "s", "type": "string"}],
				"output": {"type": "object", "value": {"[parameters('s')]": "[contoso.uniqueName(parameters('s'))]", "list": ["[parameters('s')]"]}}
			},
			"useVariable": {
				"parameters": [],
				"output": {"type": "string", "value": "[variables('prefix')]"}
			},
			"outer": {
				"parameters": [{"name": "x", "type": "int"}],
				"output": {"type": "string", "value": "[parameters('name')]"}
			},
			"loop": {
				"parameters": [],
				"output": {"type": "string", "value": "[contoso.loop()]"}
			}
		}
	}]`)
	fns, err := ParseFunctions(section)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext()
	ctx.Functions = fns
	rgID := "/subscriptions/" + testSub + "/resourceGroups/" + testRG
	v, err := EvalString("[contoso.uniqueName('Storage')]", ctx)
	if err != nil || v != "storage"+UniqueString(rgID) {
		t.Errorf("uniqueName: %v %v", v, err)
	}
	v, err = EvalString("[contoso.TWICE('Ab')]", ctx)
	if err != nil || render(v) != `{"Ab":"ab`+UniqueString(rgID)+`","list":["Ab"]}` {
		t.Errorf("twice: %s %v", render(v), err)
	}
	for _, tc := range []struct{ expr, want string }{
		{"[contoso.useVariable()]", "a user-defined function can't access variables"},
		{"[contoso.outer(1)]", "The template function parameter 'name' is not found in user-defined function 'contoso.outer'"},
		{"[contoso.outer('x')]", "expects its parameter 'x' to be of type 'int'"},
		{"[contoso.uniqueName()]", "expects exactly '1' parameter(s)"},
		{"[contoso.nope()]", "The template function 'contoso.nope' is not valid"},
		{"[contoso.loop()]", "more than '64' levels deep"},
	} {
		if _, err := EvalString(tc.expr, ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.expr, err, tc.want)
		}
	}
	if _, err := ParseFunctions(mustJSON(`[{"namespace":"n","members":{"f":{"parameters":[],"output":{"type":"string","value":"[concat(]"}}}}]`)); err == nil {
		t.Error("a function with an invalid output expression should be rejected")
	}
}

func TestLazyEvaluation(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"if evaluates only the true branch", "[if(true(), 'yes', fail('not evaluated'))]", `"yes"`},
		{"if evaluates only the false branch", "[if(equals(1, 2), parameters('missing'), 'no')]", `"no"`},
		{"and short-circuits", "[and(false(), fail('x'))]", `false`},
		{"or short-circuits", "[or(true(), fail('x'))]", `true`},
		{"coalesce stops at the first value", "[coalesce(null(), 'a', fail('x'))]", `"a"`},
	})
	runErrCases(t, []errCase{
		{"fail", "[if(false(), 'x', fail('custom message'))]", "custom message", 18},
		{"if needs a boolean", "[if('true', 1, 2)]", "expects its first parameter to be of type 'Boolean'", 1},
	})
}

func TestBudget(t *testing.T) {
	ctx := testContext()
	ctx.Budget = 100000
	_, err := EvalString("[map(range(0, 10000), lambda('i', map(range(0, 10000), lambda('j', 1))))]", ctx)
	if err == nil || !strings.Contains(err.Error(), "too costly") {
		t.Fatalf("got %v, want a budget error", err)
	}
	// Nested replace() multiplies the string's length by four per level.
	expr := "'aaaa'"
	for i := 0; i < 30; i++ {
		expr = "replace(" + expr + ", 'a', 'aaaa')"
	}
	if _, err := EvalString("["+expr+"]", testContext()); err == nil || !strings.Contains(err.Error(), "more than") && !strings.Contains(err.Error(), "too costly") {
		t.Errorf("exponential replace: %v", err)
	}
}

func TestEvalValue(t *testing.T) {
	in := mustJSON(`{"name": "[parameters('name')]", "[concat('k', '1')]": ["[[lit]", "[add(1, 2)]"], "n": 5}`)
	out, err := EvalValue(in, testContext())
	if err != nil {
		t.Fatal(err)
	}
	if got := render(out); got != `{"name":"sa1","k1":["[lit]",3],"n":5}` {
		t.Errorf("got %s", got)
	}
	if got := render(in); !strings.Contains(got, "[parameters('name')]") {
		t.Errorf("input was modified: %s", got)
	}
}

func TestFunctionInfo(t *testing.T) {
	for _, tc := range []struct {
		name        string
		paramOnly   bool
		runtime     bool
		wantPresent bool
	}{
		{"utcNow", true, false, true},
		{"NEWGUID", true, false, true},
		{"reference", false, true, true},
		{"listKeys", false, true, true},
		{"listAccountSas", false, true, true},
		{"concat", false, false, true},
		{"nope", false, false, false},
	} {
		info, ok := FunctionInfo(tc.name)
		if ok != tc.wantPresent || info.ParameterDefaultOnly != tc.paramOnly || info.Runtime != tc.runtime {
			t.Errorf("FunctionInfo(%s) = %+v, %v", tc.name, info, ok)
		}
	}
	e := MustParse("[concat(reference('a').x, utcNow())]")
	var names []string
	for _, c := range Calls(e.Root) {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "concat,reference,utcNow" {
		t.Errorf("Calls = %v", names)
	}
}

func TestJSONConversion(t *testing.T) {
	v, err := FromJSON(map[string]any{"b": 1.0, "a": []any{"x", 2.5, true, nil}})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(v); got != `{"a":["x",2.5,true,null],"b":1}` {
		t.Errorf("FromJSON: %s", got)
	}
	ordered := mustJSON(`{"z": 1, "a": {"y": 2, "b": 3}}`)
	if got := render(ordered); got != `{"z":1,"a":{"y":2,"b":3}}` {
		t.Errorf("DecodeJSON keeps order: %s", got)
	}
	plain := ToPlain(ordered).(map[string]any)
	if plain["z"] != int64(1) {
		t.Errorf("ToPlain: %v", plain)
	}
	o := ObjectOf("Key", 1)
	o.Set("KEY", int64(2))
	if o.Len() != 1 || render(o) != `{"Key":2}` {
		t.Errorf("case-insensitive Set: %s", render(o))
	}
	big := NewObject(0)
	for i := 0; i < 20; i++ {
		big.Set(fmt.Sprintf("K%d", i), int64(i))
	}
	if v, ok := big.Get("k17"); !ok || v != int64(17) {
		t.Errorf("indexed lookup: %v %v", v, ok)
	}
	big.Delete("K3")
	if _, ok := big.Get("k3"); ok || big.Len() != 19 {
		t.Error("delete")
	}
	if v, _ := big.Get("K19"); v != int64(19) {
		t.Error("lookup after delete")
	}
}

type missingHost struct{ fakeHost }

var errGone = errors.New("gone")

func (missingHost) Reference(target, _ string, _ bool) (any, error) {
	return nil, &Error{Message: "The Resource '" + target + "' was not found.", Err: errGone}
}

func TestHostErrors(t *testing.T) {
	ctx := &Context{Host: &missingHost{*newTestHost()}}
	_, err := EvalString("[concat('x', reference('/r').a)]", ctx)
	var e *Error
	if !errors.As(err, &e) || e.Message != "The Resource '/r' was not found." || e.Position != 13 {
		t.Fatalf("verbatim host error: %#v", err)
	}
	if !errors.Is(err, errGone) {
		t.Error("the host's error is not reachable with errors.Is")
	}
	_, err = EvalString("[parameters('nope')]", ctx)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("parameter not found: %v is not ErrNotFound", err)
	}
	_, err = EvalString("[tenant()]", ctx)
	if !errors.Is(err, ErrNotSupported) {
		t.Errorf("unavailable function: %v is not ErrNotSupported", err)
	}
}
