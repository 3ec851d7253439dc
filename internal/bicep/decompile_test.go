package bicep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestDecompileRoundTrip decompiles every compiled golden template and
// compiles the Bicep again: no errors, no warnings from the decompiler.
// (internal/e2e deploys both and compares the deployed results.)
func TestDecompileRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.golden.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden templates: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			res, err := DecompileFiles(data, "main.bicep")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range res.Diagnostics {
				t.Errorf("decompiler: %s", d)
			}
			compileDecompiled(t, res.Files)
		})
	}
}

func compileDecompiled(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: src}
	}
	cres, err := Compile(fsys, "main.bicep", Options{NoLint: true})
	if err != nil {
		t.Fatal(err)
	}
	if cres.Template == nil {
		t.Fatalf("the decompiled Bicep does not compile: %v\n%s", cres.Diagnostics, files["main.bicep"])
	}
	checkExpressions(t, cres.Template)
	return cres.Template
}

// TestDecompileConstructs pins how each ARM construct comes back as Bicep.
func TestDecompileConstructs(t *testing.T) {
	const head = `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", `
	tests := []struct {
		name     string
		template string
		want     []string // fragments of the Bicep, in order
		warn     string   // a decompiler warning code, if one is expected
	}{
		{"parameters with decorators", head + `"parameters": {
			"name": {"type": "string", "minLength": 3, "maxLength": 24, "metadata": {"description": "The name."}},
			"sku": {"type": "string", "defaultValue": "S1", "allowedValues": ["S1", "S2"]},
			"key": {"type": "securestring"},
			"count": {"type": "int", "minValue": 1, "maxValue": 5, "defaultValue": 2}}, "resources": []}`,
			[]string{"@description('The name.')\n@minLength(3)\n@maxLength(24)\nparam name string\n", "@allowed([\n  'S1'\n  'S2'\n])\nparam sku string = 'S1'", "@secure()\nparam key string", "@minValue(1)\n@maxValue(5)\nparam count int = 2"}, ""},
		{"variables and string functions become interpolation", head + `"parameters": {"p": {"type": "string"}}, "variables": {
			"a": "[concat('x-', parameters('p'))]", "b": "[format('{0}/{1}', parameters('p'), variables('a'))]", "c": "[if(equals(parameters('p'), 'x'), 1, add(2, 3))]",
			"d": "[not(and(true(), or(false(), empty(variables('a')))))]", "e": "[[literal]"}, "resources": []}`,
			[]string{"var a = 'x-${p}'", "var b = '${p}/${a}'", "var c = p == 'x' ? 1 : 2 + 3", "var d = !(true && (false || empty(a)))", "var e = '[literal]'"}, ""},
		{"resource references become symbolic", head + `"parameters": {"identityName": {"type": "string"}}, "resources": [
			{"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "[parameters('identityName')]", "location": "westus"},
			{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "web", "location": "westus",
			 "identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {"[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]": {}}},
			 "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]"]},
			{"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01", "name": "[guid(resourceGroup().id, 'web')]",
			 "scope": "[format('Microsoft.Web/sites/{0}', 'web')]",
			 "properties": {"principalId": "[reference(resourceId('Microsoft.Web/sites', 'web'), '2022-09-01', 'Full').identity.principalId]",
			   "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"},
			 "dependsOn": ["[resourceId('Microsoft.Web/sites', 'web')]", "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]"]}],
			"outputs": {"principalId": {"type": "string", "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName')), '2023-01-31').principalId]"}}}`,
			[]string{"resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {", "resource web 'Microsoft.Web/sites@2022-09-01' = {", "'${identity.id}': {}", "  }\n}\n",
				"resource roleAssignment", "scope: web", "principalId: web.identity.principalId", "  dependsOn: [\n    identity\n  ]\n",
				"output principalId string = identity.properties.principalId"}, ""},
		{"copy becomes a for loop, condition an if", head + `"parameters": {"names": {"type": "array"}, "on": {"type": "bool"}}, "resources": [
			{"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "[parameters('names')[copyIndex()]]", "location": "westus",
			 "copy": {"name": "ids", "count": "[length(parameters('names'))]", "mode": "serial", "batchSize": 2}, "condition": "[parameters('on')]",
			 "tags": {"n": "[string(copyIndex(1))]"}}],
			"outputs": {"all": {"type": "array", "copy": {"count": 2, "input": "[copyIndex()]"}}}}`,
			[]string{"@batchSize(2)\nresource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for i in range(0, length(names)): if (on) {", "name: names[i]", "n: string(i + 1)", "output all array = [for i in range(0, 2): i]"}, ""},
		{"child resources get a parent", head + `"resources": [
			{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "st1", "location": "westus",
			 "resources": [{"type": "blobServices", "apiVersion": "2023-01-01", "name": "default", "dependsOn": ["st1"]}]}]}`,
			[]string{"resource st1 'Microsoft.Storage/storageAccounts@2023-01-01'", "resource default 'Microsoft.Storage/storageAccounts/blobServices@2023-01-01' = {\n  name: 'default'\n  parent: st1\n}"}, ""},
		{"inner nested deployment becomes a module", head + `"resources": [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "ident", "resourceGroup": "other",
			 "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "parameters": {"n": {"value": "id-1"}},
			  "template": {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
			   "parameters": {"n": {"type": "string"}}, "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "[parameters('n')]", "location": "westus"}],
			   "outputs": {"id": {"type": "string", "value": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('n'))]"}}}}}],
			"outputs": {"id": {"type": "string", "value": "[reference(resourceId('Microsoft.Resources/deployments', 'ident'), '2022-09-01').outputs.id.value]"}}}`,
			[]string{"module ident './ident.bicep' = {\n  name: 'ident'\n  scope: resourceGroup('other')\n  params: {\n    n: 'id-1'\n  }\n}", "output id string = ident.outputs.id"}, "decompile-module-file"},
		{"unresolved dependency is a warning", head + `"resources": [{"type": "A.B/c", "apiVersion": "2020-01-01", "name": "x", "dependsOn": ["[resourceId('A.B/d', 'missing')]"]}]}`,
			[]string{"resource x 'A.B/c@2020-01-01' = {\n  name: 'x'\n}"}, "decompile-dependency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, diags, err := Decompile([]byte(tc.template))
			if err != nil {
				t.Fatal(err)
			}
			got := string(src)
			at := 0
			for _, w := range tc.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("missing (in order) %q in:\n%s", w, got)
				}
				at += i + len(w)
			}
			found := tc.warn == ""
			for _, d := range diags {
				if d.Code == tc.warn && d.Severity == SeverityWarning {
					found = true
				} else {
					t.Errorf("unexpected diagnostic %s", d)
				}
			}
			if !found {
				t.Errorf("no %s warning in %v", tc.warn, diags)
			}
			if tc.warn == "" {
				compileDecompiled(t, map[string][]byte{"main.bicep": src})
			}
		})
	}
}

func TestDecompileRejectsNonTemplates(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"a": 1}`, `{"resources": [}`} {
		if _, _, err := Decompile([]byte(in)); err == nil {
			t.Errorf("Decompile(%q): no error", in)
		}
	}
}

// FuzzDecompile: any JSON decompiles without a panic.
func FuzzDecompile(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.golden.json")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := DecompileFiles(data, "main.bicep")
		if err != nil {
			return
		}
		fsys := fstest.MapFS{}
		for name, src := range res.Files {
			fsys[name] = &fstest.MapFile{Data: src}
		}
		_, _ = Compile(fsys, "main.bicep", Options{NoLint: true})
	})
}
