package bicep

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func compileMap(t *testing.T, files map[string]string, opts Options) *Result {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	res, err := Compile(fsys, "main.bicep", opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestDiagnostics: bad input gives a diagnostic with file, line, column and
// code, and no template.
func TestDiagnostics(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		code      string
		line, col int
		file      string
	}{
		{"syntax error in a declaration", map[string]string{"main.bicep": "param x string\nvar = 1\n"}, "BCP015", 2, 5, ""},
		{"unknown symbol", map[string]string{"main.bicep": "output o string = missing\n"}, "BCP057", 1, 19, ""},
		{"unknown function", map[string]string{"main.bicep": "output o string = noSuchFunction()\n"}, "BCP057", 1, 19, ""},
		{"function name in wrong case", map[string]string{"main.bicep": "output o string = touppeR('a')\n"}, "BCP082", 1, 19, ""},
		{"duplicate declaration", map[string]string{"main.bicep": "param a string\nvar a = 'x'\noutput o string = a\n"}, "BCP028", 2, 5, ""},
		{"variable cycle", map[string]string{"main.bicep": "var a = b\nvar b = a\noutput o string = a\n"}, "BCP080", 2, 5, ""},
		{"self reference", map[string]string{"main.bicep": "var a = a\noutput o string = a\n"}, "BCP079", 1, 5, ""},
		{"wrong default type", map[string]string{"main.bicep": "param n int = 'x'\noutput o int = n\n"}, "BCP033", 1, 15, ""},
		{"default not allowed", map[string]string{"main.bicep": "@allowed([\n  'a'\n])\nparam n string = 'b'\noutput o string = n\n"}, "BCP027", 4, 18, ""},
		{"decorator on wrong type", map[string]string{"main.bicep": "@minValue(1)\nparam n string\noutput o string = n\n"}, "BCP124", 1, 1, ""},
		{"batchSize without loop", map[string]string{"main.bicep": "@batchSize(1)\nresource r 'A.B/c@2020-01-01' = {\n  name: 'r'\n}\n"}, "BCP154", 1, 1, ""},
		{"missing module file", map[string]string{"main.bicep": "module m './nope.bicep' = {\n  name: 'm'\n}\n"}, "BCP091", 1, 10, ""},
		{"module cycle", map[string]string{"main.bicep": "module m './a.bicep' = {\n  name: 'm'\n}\n", "a.bicep": "module m './main.bicep' = {\n  name: 'm'\n}\n"}, "BCP095", 1, 10, "a.bicep"},
		{"unknown module parameter", map[string]string{"main.bicep": "module m './a.bicep' = {\n  name: 'm'\n  params: {\n    nope: 1\n  }\n}\n", "a.bicep": "param p string = 'x'\noutput o string = p\n"}, "BCP037", 4, 5, ""},
		{"missing module parameter", map[string]string{"main.bicep": "module m './a.bicep' = {\n  name: 'm'\n}\n", "a.bicep": "param p string\noutput o string = p\n"}, "BCP035", 1, 8, ""},
		{"wrong module parameter type", map[string]string{"main.bicep": "module m './a.bicep' = {\n  name: 'm'\n  params: {\n    p: 1\n  }\n}\n", "a.bicep": "param p string\noutput o string = p\n"}, "BCP036", 4, 8, ""},
		{"module to a different scope without scope", map[string]string{"main.bicep": "targetScope = 'subscription'\nmodule m './a.bicep' = {\n  name: 'm'\n}\n", "a.bicep": "output o string = 'x'\n"}, "BCP134", 2, 8, ""},
		{"resource at another scope", map[string]string{"main.bicep": "resource r 'A.B/c@2020-01-01' = {\n  name: 'r'\n  scope: resourceGroup('other')\n}\n"}, "BCP139", 3, 10, ""},
		{"registry module without cache", map[string]string{"main.bicep": "module m 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.0' = {\n  name: 'm'\n}\n"}, "BCP192", 1, 10, ""},
		{"resource missing name", map[string]string{"main.bicep": "resource r 'A.B/c@2020-01-01' = {\n  location: 'x'\n}\n"}, "BCP035", 1, 10, ""},
		{"invalid resource type", map[string]string{"main.bicep": "resource r 'nope' = {\n  name: 'r'\n}\n"}, "BCP029", 1, 12, ""},
		{"loop in expression", map[string]string{"main.bicep": "output o int = length([for i in range(0, 2): i])\n"}, "BCP138", 1, 23, ""},
		{"unterminated string", map[string]string{"main.bicep": "var a = 'abc\n"}, "BCP004", 1, 9, ""},
		{"bad escape", map[string]string{"main.bicep": "var a = 'a\\qb'\noutput o string = a\n"}, "BCP006", 1, 11, ""},
		{"wrong target scope", map[string]string{"main.bicep": "targetScope = 'galaxy'\n"}, "BCP033", 1, 15, ""},
		{"type cycle", map[string]string{"main.bicep": "type a = b\ntype b = a\n"}, "BCP298", 1, 10, ""},
		{"experimental assert", map[string]string{"main.bicep": "assert a = true\n"}, "BCP343", 1, 1, ""},
		{"wrong output literal", map[string]string{"main.bicep": "output o bool = 'yes'\n"}, "BCP033", 1, 17, ""},
		{"nested resource in a resource loop", map[string]string{"main.bicep": "resource p 'A.B/c@2020-01-01' = [for i in range(0, 2): {\n  name: 'p${i}'\n  resource c 'd' = {\n    name: 'c'\n  }\n}]\n"}, "BCP160", 3, 3, ""},
		{"undeclared module output", map[string]string{"main.bicep": "module m './a.bicep' = {\n  name: 'm'\n}\noutput o string = m.outputs.nope\n", "a.bicep": "output o string = 'x'\n"}, "BCP053", 4, 29, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := compileMap(t, tc.files, Options{NoLint: true})
			file := tc.file
			if file == "" {
				file = "main.bicep"
			}
			for _, d := range res.Diagnostics {
				if d.Code == tc.code && d.File == file && d.Line == tc.line && d.Column == tc.col {
					if d.Severity != SeverityError || d.Message == "" {
						t.Errorf("diagnostic %s: want an error with a message", d)
					}
					if res.Template != nil {
						t.Error("template emitted despite errors")
					}
					return
				}
			}
			t.Errorf("want %s at %s:%d:%d, got %v", tc.code, file, tc.line, tc.col, res.Diagnostics)
		})
	}
}

// TestDisableNextLine: #disable-next-line suppresses the named codes on
// the following line only.
func TestDisableNextLine(t *testing.T) {
	res := compileMap(t, map[string]string{"main.bicep": "#disable-next-line no-unused-params\nparam a string\nparam b string\n"}, Options{})
	var codes []string
	for _, d := range res.Diagnostics {
		codes = append(codes, d.Code+"@"+string(rune('0'+d.Line)))
	}
	if strings.Join(codes, ",") != "no-unused-params@3" {
		t.Errorf("diagnostics = %v", res.Diagnostics)
	}
}

// TestLint reports the linter rules by name as warnings.
func TestLint(t *testing.T) {
	fsys := fstest.MapFS{"main.bicep": {Data: []byte("param unused string\nvar v = concat('a', 'b')\nresource r 'A.B/c@2020-01-01' = {\n  name: v\n  location: 'westus'\n}\noutput password string = 'x'\n")}}
	ds, err := Lint(fsys, "main.bicep", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"no-unused-params": false, "prefer-interpolation": false, "no-hardcoded-location": false, "outputs-should-not-contain-secrets": false}
	for _, d := range ds {
		if _, ok := want[d.Code]; ok {
			want[d.Code] = true
			if d.Severity != SeverityWarning {
				t.Errorf("%s: want a warning", d)
			}
		}
	}
	for code, seen := range want {
		if !seen {
			t.Errorf("rule %s not reported: %v", code, ds)
		}
	}
}

// TestRegistryModuleFromCache resolves br/public: from the module cache.
func TestRegistryModuleFromCache(t *testing.T) {
	cache := fstest.MapFS{"br/mcr.microsoft.com/bicep/avm/res/uami/0.4.0/main.bicep": {Data: []byte("param name string\nresource u 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: name\n  location: resourceGroup().location\n}\noutput principalId string = u.properties.principalId\n")}}
	res := compileMap(t, map[string]string{"main.bicep": "module m 'br/public:avm/res/uami:0.4.0' = {\n  name: 'm'\n  params: {\n    name: 'x'\n  }\n}\noutput p string = m.outputs.principalId\n"}, Options{ModuleCache: cache})
	if ErrorCount(res.Diagnostics) > 0 || res.Template == nil {
		t.Fatalf("diagnostics: %v", res.Diagnostics)
	}
	if !strings.Contains(string(res.Template), "Microsoft.ManagedIdentity/userAssignedIdentities") {
		t.Errorf("module template not inlined:\n%s", res.Template)
	}
}

// TestCompileParams: .bicepparam values are evaluated and checked against
// the template's parameters.
func TestCompileParams(t *testing.T) {
	fsys := fstest.MapFS{
		"main.bicep":      {Data: []byte("param name string\nparam count int = 1\nparam tags object\n@secure()\nparam secret string\noutput o string = '${name}${count}${tags.a}${secret}'\n")},
		"main.bicepparam": {Data: []byte("using './main.bicep'\n\nvar prefix = 'id'\nparam name = '${prefix}-${toUpper('x')}'\nparam count = 1 + 2\nparam tags = {\n  a: 'b'\n  list: [\n    1\n    true\n  ]\n}\nparam secret = az.getSecret('0000', 'rg', 'kv', 's')\n")},
	}
	res, err := CompileParams(fsys, "main.bicepparam", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ErrorCount(res.Diagnostics) > 0 {
		t.Fatalf("diagnostics: %v", res.Diagnostics)
	}
	want := `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "name": {
      "value": "id-X"
    },
    "count": {
      "value": 3
    },
    "tags": {
      "value": {
        "a": "b",
        "list": [
          1,
          true
        ]
      }
    },
    "secret": {
      "reference": {
        "keyVault": {
          "id": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
        },
        "secretName": "s"
      }
    }
  }
}`
	if string(res.Parameters) != want {
		t.Errorf("parameters:\n%s\nwant:\n%s", res.Parameters, want)
	}
	if res.Template == nil {
		t.Error("no template for the using file")
	}

	bad := fstest.MapFS{
		"main.bicep":      {Data: []byte("param name string\nparam other string\noutput o string = '${name}${other}'\n")},
		"main.bicepparam": {Data: []byte("using 'main.bicep'\nparam name = 1\nparam nope = 'x'\n")},
	}
	res, err = CompileParams(bad, "main.bicepparam", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range res.Diagnostics {
		got[d.Code] = true
	}
	for _, code := range []string{"BCP036", "BCP259", "BCP258"} {
		if !got[code] {
			t.Errorf("want %s, got %v", code, res.Diagnostics)
		}
	}
	if res.Parameters != nil {
		t.Error("parameters emitted despite errors")
	}
}

// TestSyntaxErrorRecovery: after a syntax error the parser goes on, so
// every broken declaration is reported at its own position, and a
// declaration without a name gives no linter warning about it.
func TestSyntaxErrorRecovery(t *testing.T) {
	src := "param x string\nvar = 1\nvar c = [1 2]\nvar d = {a: 1 b: 2}\nvar e = (1 +\nmodule m = {}\nresource r = {}\ntype t = \noutput o string = x\noutput p string = )\n"
	res := compileMap(t, map[string]string{"main.bicep": src}, Options{})
	want := []string{"2:5 BCP015", "3:12 BCP019", "4:15 BCP019", "6:1 BCP009", "6:10 BCP090", "7:12 BCP068", "8:10 BCP279", "10:19 BCP009"}
	got := map[string]bool{}
	for _, d := range res.Diagnostics {
		got[fmt.Sprintf("%d:%d %s", d.Line, d.Column, d.Code)] = true
		if d.Line == 0 || d.Column == 0 {
			t.Errorf("diagnostic without a position: %s", d)
		}
		if strings.Contains(d.Message, `""`) {
			t.Errorf("diagnostic about a nameless declaration: %s", d)
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing %s in %v", w, res.Diagnostics)
		}
	}
}

// TestReadEnvironmentVariable: readEnvironmentVariable in a .bicepparam
// file reads the environment at compile time, falls back to its default,
// and is an error without either; in a .bicep file it does not exist.
func TestReadEnvironmentVariable(t *testing.T) {
	fsys := fstest.MapFS{
		"main.bicep":      {Data: []byte("param a string\nparam b string\noutput o string = '${a}${b}'\n")},
		"main.bicepparam": {Data: []byte("using './main.bicep'\nparam a = readEnvironmentVariable('KEYLESS_TEST_A')\nparam b = readEnvironmentVariable('KEYLESS_TEST_B', 'fallback')\n")},
		"bad.bicepparam":  {Data: []byte("using './main.bicep'\nparam a = readEnvironmentVariable('KEYLESS_TEST_MISSING')\nparam b = 'x'\n")},
		"env.bicep":       {Data: []byte("output o string = readEnvironmentVariable('X')\n")},
	}
	env := map[string]string{"KEYLESS_TEST_A": "from-env"}
	opts := Options{LookupEnv: func(n string) (string, bool) { v, ok := env[n]; return v, ok }}
	res, err := CompileParams(fsys, "main.bicepparam", opts)
	if err != nil || ErrorCount(res.Diagnostics) > 0 {
		t.Fatalf("%v %v", err, res.Diagnostics)
	}
	if !strings.Contains(string(res.Parameters), `"value": "from-env"`) || !strings.Contains(string(res.Parameters), `"value": "fallback"`) {
		t.Errorf("parameters: %s", res.Parameters)
	}
	res, _ = CompileParams(fsys, "bad.bicepparam", opts)
	if ErrorCount(res.Diagnostics) == 0 || res.Parameters != nil || !strings.Contains(res.Diagnostics[0].String(), "KEYLESS_TEST_MISSING") {
		t.Errorf("missing variable: %v", res.Diagnostics)
	}
	cres, _ := Compile(fsys, "env.bicep", opts)
	if ErrorCount(cres.Diagnostics) == 0 || cres.Diagnostics[0].Code != "BCP057" {
		t.Errorf("in a .bicep file: %v", cres.Diagnostics)
	}
}

// A .bicepparam file imports as a .bicep file does: variables and
// functions by name (aliases included), and wildcard imports (ns.x,
// ns.f(...)), from .bicep files and ARM JSON templates. The values are
// evaluated at compile time, as the official compiler does, each imported
// symbol in the file that declares it: an imported variable may call its
// own file's functions or use its own file's imports.
func TestCompileParamsWithImports(t *testing.T) {
	shared := `import * as more from 'more.bicep'
var base = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
@export()
var roleIds = {
  Reader: base
}
func double(s string) string => '${s}${s}'
@export()
func twice(s string) string => toUpper(double(s))
@export()
func f() string => 'x'
@export()
var viaFunc = double('v')
@export()
var viaImport = more.suffix
@export()
type kind = 'a' | 'b'
`
	more := "@export()\nvar suffix = '-more'\n@export()\nfunc tag(n int) string => 'n${n}${bang()}'\nfunc bang() string => '!'\n"
	lib := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","languageVersion":"2.0","contentVersion":"1.0.0.0",
	  "metadata":{"__bicep_exported_variables!":[{"name":"region"}]},"variables":{"region":"westus"},
	  "functions":[{"namespace":"__bicep","members":{"greet":{"parameters":[{"type":"string","name":"who"}],"output":{"type":"string","value":"[format('hi {0}', parameters('who'))]"},"metadata":{"__bicep_export!":true}}}}],
	  "resources":{}}`
	tests := []struct {
		name, imports, role, where string
		want                       string // role and where, as JSON; "" when an error is wanted
		code                       string
	}{
		{"a variable by name", "import { roleIds } from 'shared.bicep'", "roleIds.Reader", "'x'", `"acdd72a7-3385-48ef-bd42-f606fba81ae7" "x"`, ""},
		{"an alias, from an ARM JSON template", "import { region as r } from 'lib.json'", "'r'", "r", `"r" "westus"`, ""},
		{"a wildcard import's variable", "import * as s from 'shared.bicep'", "s.roleIds.Reader", "s.roleIds['Reader']", `"acdd72a7-3385-48ef-bd42-f606fba81ae7" "acdd72a7-3385-48ef-bd42-f606fba81ae7"`, ""},
		{"a wildcard import's function", "import * as s from 'shared.bicep'", "s.f()", "s.twice('ab')", `"x" "ABAB"`, ""},
		{"a function by name", "import { f, twice } from 'shared.bicep'", "f()", "twice(f())", `"x" "XX"`, ""},
		{"a function by alias", "import { twice as t2 } from 'shared.bicep'", "t2('a')", "'${t2('b')}-${t2('c')}'", `"AA" "BB-CC"`, ""},
		{"functions of two files", "import { twice } from 'shared.bicep'\nimport * as m from 'more.bicep'", "twice(m.tag(1))", "m.tag(length(twice('q')))", `"N1!N1!" "n2!"`, ""},
		{"a variable that calls its own file's function", "import { viaFunc } from 'shared.bicep'", "viaFunc", "'x'", `"vv" "x"`, ""},
		{"a variable that uses its own file's import", "import * as s from 'shared.bicep'", "s.viaImport", "s.viaFunc", `"-more" "vv"`, ""},
		{"a parameters-file variable calling a function", "import { twice } from 'shared.bicep'\nvar t = twice('z')", "t", "'${t}!'", `"ZZ" "ZZ!"`, ""},
		{"a function from an ARM JSON template", "import { greet } from 'lib.json'\nimport * as l from 'lib.json'", "greet('a')", "l.greet(l.region)", `"hi a" "hi westus"`, ""},
		{"a type, which values do not use", "import { kind } from 'shared.bicep'", "'r'", "'x'", `"r" "x"`, ""},
		{"a variable not exported", "import { base } from 'shared.bicep'", "'r'", "'x'", "", "BCP360"},
		{"a function not exported", "import { double } from 'shared.bicep'", "'r'", "'x'", "", "BCP360"},
		{"a wildcard member not exported", "import * as s from 'shared.bicep'", "s.base", "'x'", "", "BCP052"},
		{"a wildcard function not exported", "import * as s from 'shared.bicep'", "s.double('a')", "'x'", "", "BCP052"},
		{"a function with the wrong arguments", "import { twice } from 'shared.bicep'", "twice()", "'x'", "", "BCP071"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := "using './main.bicep'\n" + tc.imports + "\nparam role = " + tc.role + "\nparam where = " + tc.where + "\n"
			fsys := fstest.MapFS{
				"main.bicep":      {Data: []byte("param role string\nparam where string\noutput o string = '${role}${where}'\n")},
				"shared.bicep":    {Data: []byte(shared)},
				"more.bicep":      {Data: []byte(more)},
				"lib.json":        {Data: []byte(lib)},
				"main.bicepparam": {Data: []byte(params)},
			}
			res, err := CompileParams(fsys, "main.bicepparam", Options{NoLint: true})
			if err != nil {
				t.Fatal(err)
			}
			if tc.code != "" {
				for _, d := range res.Diagnostics {
					if d.Code == tc.code && d.File == "main.bicepparam" {
						if res.Parameters != nil {
							t.Error("parameters emitted despite the error")
						}
						return
					}
				}
				t.Fatalf("want %s, got %v", tc.code, res.Diagnostics)
			}
			if ErrorCount(res.Diagnostics) > 0 {
				t.Fatalf("diagnostics: %v", res.Diagnostics)
			}
			var doc struct {
				Parameters map[string]struct{ Value json.RawMessage }
			}
			if err := json.Unmarshal(res.Parameters, &doc); err != nil {
				t.Fatal(err)
			}
			if got := string(doc.Parameters["role"].Value) + " " + string(doc.Parameters["where"].Value); got != tc.want {
				t.Errorf("role, where = %s, want %s\n%s", got, tc.want, res.Parameters)
			}
		})
	}
}

// TestNestedResourcePlacement: a nested resource declaration is part of
// the grammar only in a resource's body (plain, conditional or looped);
// anywhere else the official parser reads "resource" as a property name
// and reports the missing colon at the name that follows, so keyless does
// too instead of ignoring the declaration.
func TestNestedResourcePlacement(t *testing.T) {
	const child = "resource c 'blobServices' = {\n    name: 'default'\n  }\n"
	tests := []struct {
		name, src string
		line, col int // of the BCP018; 0: compiles
		children  int // nested resources emitted when it compiles
	}{
		{"in a resource body", "resource p 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'p'\n  " + child + "}\n", 0, 0, 1},
		{"in a conditional resource body", "param on bool\nresource p 'Microsoft.Storage/storageAccounts@2023-01-01' = if (on) {\n  name: 'p'\n  " + child + "}\n", 0, 0, 1},
		{"grandchild", "resource p 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'p'\n  resource c 'blobServices' = {\n    name: 'default'\n    resource g 'containers' = {\n      name: 'g'\n    }\n  }\n}\n", 0, 0, 2},
		{"a property named resource", "var v = {\n  resource: 'x'\n}\noutput o object = v\n", 0, 0, 0},
		{"in a variable's object", "var v = {\n  a: 1\n  " + child + "}\noutput o object = v\n", 3, 12, 0},
		{"in a resource's properties", "resource p 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'p'\n  properties: {\n  " + child + "  }\n}\n", 4, 12, 0},
		{"in a module body", "module m 'mod.bicep' = {\n  name: 'm'\n  " + child + "}\n", 3, 12, 0},
		{"in an output", "output o object = {\n  " + child + "}\n", 2, 12, 0},
		{"in a parameter default", "param p object = {\n  " + child + "}\noutput o object = p\n", 2, 12, 0},
		{"in a variable loop's body", "var v = [for i in range(0, 2): {\n  " + child + "}]\noutput o array = v\n", 2, 12, 0},
		{"decorated, in a variable's object", "var v = {\n  @batchSize(1)\n  " + child + "}\noutput o object = v\n", 3, 12, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := compileMap(t, map[string]string{"main.bicep": tc.src, "mod.bicep": "output o string = 'x'\n"}, Options{NoLint: true})
			if tc.line == 0 {
				if ErrorCount(res.Diagnostics) > 0 {
					t.Fatalf("diagnostics: %v", res.Diagnostics)
				}
				if got := strings.Count(string(res.Template), "Microsoft.Storage/storageAccounts/blobServices"); tc.children > 0 && got == 0 {
					t.Errorf("nested resource not emitted:\n%s", res.Template)
				}
				return
			}
			var errs []Diagnostic
			for _, d := range res.Diagnostics {
				if d.Severity == SeverityError {
					errs = append(errs, d)
				}
			}
			want := fmt.Sprintf("main.bicep:%d:%d BCP018 Expected the \":\" character at this location.", tc.line, tc.col)
			if len(errs) != 1 || fmt.Sprintf("%s:%d:%d %s %s", errs[0].File, errs[0].Line, errs[0].Column, errs[0].Code, errs[0].Message) != want {
				t.Errorf("want only %s, got %v", want, res.Diagnostics)
			}
			if res.Template != nil {
				t.Error("template emitted despite the error")
			}
		})
	}
}

// TestTypeAccessBase: a type access whose base names no type gets the
// official compiler's diagnostic. resource<> is one of those: the
// official compiler dropped that utility type in 0.34 for resourceInput<>
// and resourceOutput<>, so "resource" is not a type name there.
func TestTypeAccessBase(t *testing.T) {
	const ambient = `"any", "array", "bool", "int", "object", "resourceInput", "resourceOutput", "string"`
	tests := []struct {
		name, src, want string
	}{
		{"legacy resource<>", "type t = resource<'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'>.properties\n",
			`1:10 BCP302 The name "resource" is not a valid type. Please specify one of the following types: ` + ambient + `, "t".`},
		{"legacy resource<>, deeper", "type a = string\ntype t = resource<'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'>.properties.principalId\n",
			`2:10 BCP302 The name "resource" is not a valid type. Please specify one of the following types: ` + ambient + `, "a", "t".`},
		{"an undeclared name", "type t = nope.x\n",
			`1:10 BCP302 The name "nope" is not a valid type. Please specify one of the following types: ` + ambient + `, "t".`},
		{"an undeclared name, indexed", "type t = nope[*]\n",
			`1:10 BCP302 The name "nope" is not a valid type. Please specify one of the following types: ` + ambient + `, "t".`},
		{"a parameter", "param p object\ntype t = p.x\n", `2:10 BCP287 'p' refers to a value but is being used as a type here.`},
		{"a primitive", "type t = string.x\n", `1:10 BCP055 Cannot access properties of type "string". An "object" type is required.`},
		{"a type literal", "type t = {a: string}.a\n", `1:10 BCP391 Type member access is only supported on a reference to a named type.`},
		{"an unknown type", "type t = str\n",
			`1:10 BCP302 The name "str" is not a valid type. Please specify one of the following types: ` + ambient + `, "t".`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := compileMap(t, map[string]string{"main.bicep": tc.src}, Options{NoLint: true})
			var got []string
			for _, d := range res.Diagnostics {
				got = append(got, fmt.Sprintf("%d:%d %s %s", d.Line, d.Column, d.Code, d.Message))
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
	// resourceInput<> and resourceOutput<> allow the access
	res := compileMap(t, map[string]string{"main.bicep": "type t = resourceInput<'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'>.properties\n"}, Options{NoLint: true})
	if ErrorCount(res.Diagnostics) > 0 {
		t.Errorf("resourceInput<>: %v", res.Diagnostics)
	}
}
