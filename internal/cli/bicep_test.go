package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/bicep"
	"github.com/keyless-io/keyless/internal/cli"
)

// writeFiles writes files (slash paths) under a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const bicepIdentity = `param name string = 'id-web'

resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: resourceGroup().location
}

module shared '../shared/role.bicep' = {
  name: 'role'
  params: {
    principalId: uami.properties.principalId
  }
}

output principalId string = uami.properties.principalId
`

const bicepRole = `param principalId string

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: principalId
  }
}
`

func isTemplate(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if _, ok := m["resources"]; !ok {
		t.Fatalf("not a template:\n%s", data)
	}
	return m
}

func TestBicepBuild(t *testing.T) {
	dir := writeFiles(t, map[string]string{"app/main.bicep": bicepIdentity, "shared/role.bicep": bicepRole})
	main := filepath.Join(dir, "app", "main.bicep")

	t.Run("writes FILE.json next to the file, modules from sibling directories", func(t *testing.T) {
		r := runKeyless("bicep", "build", main)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, "app", "main.json"))
		if err != nil {
			t.Fatal(err)
		}
		tpl := isTemplate(t, data)
		if !strings.Contains(string(data), `"Microsoft.Resources/deployments"`) {
			t.Fatalf("the module is not a nested deployment:\n%s", data)
		}
		// The same bytes as the package's Compile.
		res, err := bicep.Compile(os.DirFS(dir), "app/main.bicep", bicep.Options{})
		if err != nil || string(res.Template)+"\n" != string(data) {
			t.Fatalf("keyless bicep build and bicep.Compile differ (%v)", err)
		}
		_ = tpl
	})
	t.Run("--stdout prints the template and writes nothing", func(t *testing.T) {
		os.Remove(filepath.Join(dir, "app", "main.json"))
		r := runKeyless("bicep", "build", main, "--stdout")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		isTemplate(t, []byte(r.stdout))
		if _, err := os.Stat(filepath.Join(dir, "app", "main.json")); err == nil {
			t.Fatal("--stdout wrote main.json")
		}
	})
	t.Run("--outdir and --outfile", func(t *testing.T) {
		out := t.TempDir()
		if r := runKeyless("bicep", "build", main, "--outdir", out); r.code != 0 {
			t.Fatalf("--outdir: exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "main.json")); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(out, "x.arm.json")
		if r := runKeyless("bicep", "build", main, "--outfile", f); r.code != 0 {
			t.Fatalf("--outfile: exit %d: %s", r.code, r.stderr)
		}
		data, _ := os.ReadFile(f)
		isTemplate(t, data)
		checkFailure(t, runKeyless("bicep", "build", main, "--outfile", f, "--stdout"), "keyless: give only one of --outfile, --outdir and --stdout", nil)
		checkFailure(t, runKeyless("bicep", "build", main, "--outdir", filepath.Join(out, "nope")), "keyless: --outdir "+filepath.Join(out, "nope")+": not a directory", nil)
	})
	t.Run("errors: diagnostics on stderr, exit 1, no file", func(t *testing.T) {
		bad := writeFiles(t, map[string]string{"main.bicep": "param x string\nvar = 1\noutput o string = missing\n"})
		r := runKeyless("bicep", "build", filepath.Join(bad, "main.bicep"))
		if r.code != 1 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, "main.bicep:2:5: error BCP015: Expected a variable identifier at this location.\n") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
		if _, err := os.Stat(filepath.Join(bad, "main.json")); err == nil {
			t.Fatal("a template was written despite errors")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		r := runKeyless("bicep", "build", filepath.Join(dir, "nope.bicep"))
		if r.code != 1 || !strings.Contains(r.stderr, "nope.bicep") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestBicepRegistryModulesFromTheCache(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.bicep": `module id 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.0' = {
  name: 'id'
  params: {
    name: 'id-from-registry'
  }
}

output principalId string = id.outputs.principalId
`})
	main := filepath.Join(dir, "main.bicep")
	t.Setenv(cli.BicepModuleCacheEnv, filepath.Join(dir, "empty-cache"))
	r := runKeyless("bicep", "build", main, "--stdout")
	if r.code != 1 || !strings.Contains(r.stderr, "main.bicep:1:11: error BCP192: ") || !strings.Contains(r.stderr, "br/mcr.microsoft.com/bicep/avm/res/managed-identity/user-assigned-identity/0.4.0/main.json") {
		t.Fatalf("without the module in the cache: exit %d, stderr %q", r.code, r.stderr)
	}
	cache := writeFiles(t, map[string]string{"br/mcr.microsoft.com/bicep/avm/res/managed-identity/user-assigned-identity/0.4.0/main.bicep": `param name string
resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: resourceGroup().location
}
output principalId string = uami.properties.principalId
`})
	if r := runKeyless("bicep", "build", main, "--stdout", "--module-cache", cache); r.code != 0 || !strings.Contains(r.stdout, "id-from-registry") {
		t.Fatalf("--module-cache: exit %d, stderr %q", r.code, r.stderr)
	}
	t.Setenv(cli.BicepModuleCacheEnv, cache)
	if r := runKeyless("bicep", "build", main, "--stdout"); r.code != 0 {
		t.Fatalf("$%s: exit %d, stderr %q", cli.BicepModuleCacheEnv, r.code, r.stderr)
	}
}

func TestBicepBuildParams(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.bicep":       "param name string\nparam count int = 1\noutput n string = name\n",
		"main.bicepparam":  "using 'main.bicep'\n\nparam name = 'id-${toUpper('x')}'\nparam count = 2\n",
		"wrong.bicepparam": "using 'main.bicep'\n\nparam nope = 1\n",
		// imports from a sibling directory: a wildcard import and an
		// imported function, evaluated into the parameters file
		"app/imports.bicepparam": "using '../main.bicep'\n\nimport * as n from '../shared/naming.bicep'\nimport { up } from '../shared/naming.bicep'\n\nparam name = up(n.prefix)\nparam count = length(n.regions)\n",
		"shared/naming.bicep":    "@export()\nvar prefix = 'id-web'\n@export()\nvar regions = [\n  'westus'\n  'eastus'\n  'northeurope'\n]\n@export()\nfunc up(s string) string => toUpper(s)\n",
	})
	if r := runKeyless("bicep", "build-params", filepath.Join(dir, "main.bicepparam")); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "main.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Parameters map[string]struct{ Value any } `json:"parameters"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Parameters["name"].Value != "id-X" || doc.Parameters["count"].Value != float64(2) {
		t.Fatalf("parameters file %s (%v)", data, err)
	}
	r := runKeyless("bicep", "build-params", filepath.Join(dir, "app", "imports.bicepparam"), "--stdout")
	doc.Parameters = nil
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil || doc.Parameters["name"].Value != "ID-WEB" || doc.Parameters["count"].Value != float64(3) {
		t.Fatalf("imports: exit %d, stdout %s, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runKeyless("bicep", "build-params", filepath.Join(dir, "wrong.bicepparam"), "--stdout")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "wrong.bicepparam:3:7: error BCP259: ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestBicepLint(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"warn.bicep":  "param unused string\noutput o string = 'x'\n",
		"error.bicep": "output o string = missing\n",
		"clean.bicep": "param p string\noutput o string = p\n",
	})
	r := runKeyless("bicep", "lint", filepath.Join(dir, "warn.bicep"))
	if r.code != 0 || !strings.Contains(r.stderr, "warn.bicep:1:7: warning no-unused-params: ") {
		t.Fatalf("warnings: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runKeyless("bicep", "lint", filepath.Join(dir, "error.bicep"))
	if r.code != 1 || !strings.Contains(r.stderr, "error.bicep:1:19: error BCP057: ") {
		t.Fatalf("errors: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runKeyless("bicep", "lint", filepath.Join(dir, "clean.bicep")); r.code != 0 || r.stderr != "" || r.stdout != "" {
		t.Fatalf("clean: exit %d, stderr %q", r.code, r.stderr)
	}
}

const nestedTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"prefix": {"type": "string", "defaultValue": "app", "metadata": {"description": "Name prefix."}}},
  "resources": [
    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "[format('{0}-id', parameters('prefix'))]", "location": "[resourceGroup().location]"},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "grants",
     "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
       "parameters": {"principalId": {"value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('{0}-id', parameters('prefix'))), '2023-01-31').principalId]"}},
       "template": {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
         "parameters": {"principalId": {"type": "string"}},
         "resources": [{"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01", "name": "[guid(resourceGroup().id, parameters('principalId'))]",
           "properties": {"principalId": "[parameters('principalId')]", "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"}}]}},
     "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('{0}-id', parameters('prefix')))]"]}
  ]
}`

func TestBicepDecompile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"azuredeploy.json": nestedTemplate, "bad.json": "{"})
	in := filepath.Join(dir, "azuredeploy.json")
	r := runKeyless("bicep", "decompile", in)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	main, err := os.ReadFile(filepath.Join(dir, "azuredeploy.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@description('Name prefix.')\nparam prefix string = 'app'", "resource userAssignedIdentity ", "module grants './grants.bicep' = {", "principalId: userAssignedIdentity.properties.principalId"} {
		if !strings.Contains(string(main), want) {
			t.Errorf("azuredeploy.bicep lacks %q:\n%s", want, main)
		}
	}
	if strings.Contains(string(main), "dependsOn") {
		t.Errorf("the implied dependency was kept:\n%s", main)
	}
	if _, err := os.Stat(filepath.Join(dir, "grants.bicep")); err != nil {
		t.Fatalf("the module file: %v", err)
	}
	// What was decompiled builds.
	if r := runKeyless("bicep", "build", filepath.Join(dir, "azuredeploy.bicep"), "--stdout"); r.code != 0 {
		t.Fatalf("building the decompiled file: %s", r.stderr)
	}
	checkFailure(t, runKeyless("bicep", "decompile", in), "keyless: "+filepath.Join(dir, "azuredeploy.bicep")+" exists; give --force to overwrite it", nil)
	if r := runKeyless("bicep", "decompile", in, "--force"); r.code != 0 {
		t.Fatalf("--force: exit %d: %s", r.code, r.stderr)
	}
	r = runKeyless("bicep", "decompile", in, "--stdout")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "@description") || !strings.Contains(r.stderr, "warning decompile-module-file: ") {
		t.Fatalf("--stdout: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runKeyless("bicep", "decompile", filepath.Join(dir, "bad.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "bad.json: the template is not JSON") {
		t.Fatalf("bad JSON: exit %d, stderr %q", r.code, r.stderr)
	}
}
