package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
)

// identityTemplate makes a user-assigned identity and grants its principal
// Reader on the group, the assignment named by guid() as Azure's
// quickstarts name them; the principal comes from reference() in the same
// template.
const identityTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  // Comments are allowed in templates.
  "parameters": {
    "identityName": {"type": "string", "defaultValue": "id-web"},
    "tags": {"type": "object", "defaultValue": {}}
  },
  "variables": {
    "readerRole": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
    "identityId": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]"
  },
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[parameters('identityName')]",
      "location": "[resourceGroup().location]",
      "tags": "[parameters('tags')]"
    },
    {
      "type": "Microsoft.Authorization/roleAssignments",
      "apiVersion": "2022-04-01",
      "name": "[guid(resourceGroup().id, parameters('identityName'), variables('readerRole'))]",
      "dependsOn": ["[variables('identityId')]"],
      "properties": {
        "roleDefinitionId": "[variables('readerRole')]",
        "principalId": "[reference(variables('identityId'), '2023-01-31').principalId]",
        "principalType": "ServicePrincipal"
      }
    }
  ],
  "outputs": {
    "principalId": {"type": "string", "value": "[reference(variables('identityId'), '2023-01-31').principalId]"}
  }
}`

// failingTemplate's role assignment names a role that does not exist; the
// identity before it is deployed and stays.
const failingTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "id-ok", "location": "westus"},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01", "name": "[guid('no-such-role')]",
     "dependsOn": ["id-ok"],
     "properties": {
       "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '00000000-dead-beef-0000-000000000000')]",
       "principalId": "[reference('id-ok').principalId]"}}
  ]
}`

// badTemplate calls a function that does not exist, in the resource that
// starts on line 5, column 5.
const badTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[noSuchFunction('x')]",
      "location": "westus"
    }
  ]
}`

// typedTemplate deploys nothing and echoes its parameters as outputs, so
// that what -p sent can be read back with its type.
const typedTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "name": {"type": "string", "defaultValue": "default"},
    "count": {"type": "int", "defaultValue": 1},
    "enabled": {"type": "bool", "defaultValue": true},
    "zones": {"type": "array", "defaultValue": []},
    "tags": {"type": "object", "defaultValue": {}}
  },
  "resources": [],
  "outputs": {
    "name": {"type": "string", "value": "[parameters('name')]"},
    "count": {"type": "int", "value": "[parameters('count')]"},
    "enabled": {"type": "bool", "value": "[parameters('enabled')]"},
    "zones": {"type": "array", "value": "[parameters('zones')]"},
    "tags": {"type": "object", "value": "[parameters('tags')]"}
  }
}`

// subscriptionTemplate makes a resource group at subscription scope.
const subscriptionTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"groupName": {"type": "string"}},
  "resources": [
    {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "[parameters('groupName')]", "location": "[deployment().location]"}
  ],
  "outputs": {"groupId": {"type": "string", "value": "[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"}}
}`

// tenantTemplate deploys nothing and reports where it ran.
const tenantTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [],
  "outputs": {"tenantId": {"type": "string", "value": "[tenant().tenantId]"}}
}`

// managementGroupTemplate grants Reader at the management group it is
// deployed to.
const managementGroupTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"principalId": {"type": "string"}},
  "resources": [
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[guid(managementGroup().id, parameters('principalId'))]",
     "properties": {
       "roleDefinitionId": "[tenantResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
       "principalId": "[parameters('principalId')]", "principalType": "ServicePrincipal"}}
  ],
  "outputs": {"group": {"type": "string", "value": "[managementGroup().name]"}}
}`

func writeTemplate(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// decodeOne decodes a command's stdout, which must be exactly one JSON
// document.
func decodeOne(t *testing.T, out string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", out)
	}
	return v
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// TestDeploymentGroupCommands deploys a template that makes an identity
// and a role assignment for it, then reads the deployment back with show,
// list, operation list and export, and deletes it.
func TestDeploymentGroupCommands(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-app", "-l", "westus")
	dir := t.TempDir()
	tpl := writeTemplate(t, dir, "identity.json", identityTemplate)

	r := e.run("deployment", "group", "create", "-g", "rg-app", "-f", tpl, "-o", "json")
	if r.code != 0 {
		t.Fatalf("create: exit %d\n%s", r.code, r.stderr)
	}
	d := decodeOne(t, r.stdout)
	if jsonString(d, "name") != "identity" || jsonString(d, "properties", "provisioningState") != "Succeeded" || jsonString(d, "resourceGroup") != "rg-app" {
		t.Fatalf("create printed %v", d)
	}
	principal := jsonString(d, "properties", "outputs", "principalId", "value")
	wantContains(t, "create's progress", r.stderr,
		"Deploying 'identity' to resource group 'rg-app': 2 resources.\n",
		"] Succeeded Microsoft.ManagedIdentity/userAssignedIdentities/id-web (",
		"[2/2] Succeeded ",
		"Succeeded: 'identity' deployed 2 resources in ",
		"Outputs:\n  principalId  "+principal+"\n")
	if got := e.ok("identity", "show", "-g", "rg-app", "-n", "id-web", "--query", "principalId", "-o", "tsv"); got != principal+"\n" {
		t.Fatalf("the identity's principal is %q, the output says %s", got, principal)
	}
	if got := e.ok("role", "assignment", "list", "-g", "rg-app", "--assignee", principal, "--query", "[].roleDefinitionName", "-o", "tsv"); got != "Reader\n" {
		t.Fatalf("the identity's assignments at the group: %q, want Reader", got)
	}

	t.Run("show", func(t *testing.T) {
		e := e.in(t)
		got := e.okJSON("deployment", "group", "show", "-g", "rg-app", "-n", "identity")
		if jsonString(got, "id") != jsonString(d, "id") || jsonString(got, "properties", "outputs", "principalId", "value") != principal {
			t.Errorf("show: %v", got)
		}
		table := e.ok("deployment", "group", "show", "-g", "rg-app", "-n", "identity", "-o", "table")
		wantContains(t, "show -o table", table, "Name      State      Timestamp", "Mode         ResourceGroup", "identity  Succeeded  ", "Incremental  rg-app")
	})
	t.Run("list, with a provisioningState filter and --top", func(t *testing.T) {
		e := e.in(t)
		e.ok("deployment", "group", "create", "-g", "rg-app", "-n", "second", "-f", tpl, "-o", "none")
		if got := e.ok("deployment", "group", "list", "-g", "rg-app", "--query", "[].name", "-o", "tsv"); got != "identity\nsecond\n" {
			t.Errorf("list: %q", got)
		}
		if got := e.ok("deployment", "group", "list", "-g", "rg-app", "--filter", "provisioningState eq 'Failed'", "-o", "json"); got != "[]\n" {
			t.Errorf("list of failed deployments: %q", got)
		}
		if got := e.ok("deployment", "group", "list", "-g", "rg-app", "--top", "1", "--query", "length(@)", "-o", "tsv"); got != "1\n" {
			t.Errorf("list --top 1: %q", got)
		}
	})
	t.Run("operation list: one per resource", func(t *testing.T) {
		e := e.in(t)
		ops := e.okJSON("deployment", "operation", "group", "list", "-g", "rg-app", "-n", "identity")
		list, _ := ops.([]any)
		if len(list) != 2 {
			t.Fatalf("%d operations, want 2: %v", len(list), ops)
		}
		types := map[string]bool{}
		for _, op := range list {
			if jsonString(op, "properties", "provisioningState") != "Succeeded" || jsonString(op, "properties", "duration") == "" {
				t.Errorf("operation %v", op)
			}
			types[jsonString(op, "properties", "targetResource", "resourceType")] = true
		}
		if !types["Microsoft.ManagedIdentity/userAssignedIdentities"] || !types["Microsoft.Authorization/roleAssignments"] {
			t.Errorf("operation targets: %v", types)
		}
		table := e.ok("deployment", "operation", "group", "list", "-g", "rg-app", "-n", "identity", "-o", "table")
		wantContains(t, "operation list -o table", table, "Resource", "Operation  State", "id-web", "Create     Succeeded")
	})
	t.Run("export prints the template that ran", func(t *testing.T) {
		e := e.in(t)
		got := e.okJSON("deployment", "group", "export", "-g", "rg-app", "-n", "identity")
		if res, _ := jsonField(got, "resources").([]any); len(res) != 2 || jsonString(got, "contentVersion") != "1.0.0.0" {
			t.Errorf("export: %v", got)
		}
	})
	t.Run("validate lists the resources it would deploy", func(t *testing.T) {
		e := e.in(t)
		got := e.okJSON("deployment", "group", "validate", "-g", "rg-app", "-f", tpl, "--mode", "complete")
		if res, _ := jsonField(got, "properties", "validatedResources").([]any); len(res) != 2 || jsonString(got, "properties", "mode") != "Complete" {
			t.Errorf("validate: %v", got)
		}
	})
	t.Run("cancel of a finished deployment is ARM's error", func(t *testing.T) {
		e := e.in(t)
		r := e.run("deployment", "group", "cancel", "-g", "rg-app", "-n", "identity")
		if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "keyless: (DeploymentCannotBeCanceled) ") {
			t.Errorf("cancel: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("--what-if shows the what-if and deploys nothing", func(t *testing.T) {
		e := e.in(t)
		r := e.run("deployment", "group", "create", "-g", "rg-app", "-n", "preview", "-f", tpl, "-p", "identityName=id-preview", "--what-if")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		wantContains(t, "--what-if", r.stdout, "+ Microsoft.ManagedIdentity/userAssignedIdentities/id-preview [2023-01-31]", "Resource changes: 2 to create, 1 to ignore.")
		e.fails("keyless: (DeploymentNotFound) Deployment could not be found.", "deployment", "group", "show", "-g", "rg-app", "-n", "preview")
	})
	t.Run("-c --yes shows the what-if on stderr, then deploys", func(t *testing.T) {
		e := e.in(t)
		r := e.run("deployment", "group", "create", "-g", "rg-app", "-n", "confirmed", "-f", tpl, "-p", "identityName=id-confirmed", "-c", "--yes", "-o", "json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if got := decodeOne(t, r.stdout); jsonString(got, "properties", "provisioningState") != "Succeeded" {
			t.Errorf("stdout: %v", got)
		}
		wantContains(t, "-c's stderr", r.stderr, "+ Microsoft.ManagedIdentity/userAssignedIdentities/id-confirmed", "Succeeded: 'confirmed' deployed 2 resources")
	})
	t.Run("-c --proceed-if-no-change deploys an unchanged template without asking", func(t *testing.T) {
		e := e.in(t)
		r := e.run("deployment", "group", "create", "-g", "rg-app", "-n", "confirmed", "-f", tpl, "-p", "identityName=id-confirmed", "-c", "--proceed-if-no-change", "-o", "none")
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
		}
		wantContains(t, "stderr", r.stderr, "Resource changes: 2 no change, 1 to ignore.", "[2/2] Succeeded", "Succeeded: 'confirmed' deployed 2 resources")
		if strings.Contains(r.stderr, "[3/") {
			t.Errorf("the earlier run's operations were shown as this one's:\n%s", r.stderr)
		}
	})
	t.Run("delete removes the record and keeps the resources", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("deployment", "group", "delete", "-g", "rg-app", "-n", "identity"); got != "" {
			t.Errorf("delete printed %q", got)
		}
		e.fails("keyless: (DeploymentNotFound) Deployment could not be found.", "deployment", "group", "show", "-g", "rg-app", "-n", "identity")
		e.ok("identity", "show", "-g", "rg-app", "-n", "id-web")
		e.ok("deployment", "group", "delete", "-g", "rg-app", "-n", "second", "--no-wait")
	})
}

// TestDeploymentParameters passes parameters in each of az's forms and
// reads them back from the deployment's outputs, typed.
func TestDeploymentParameters(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-p", "-l", "westus")
	dir := t.TempDir()
	tpl := writeTemplate(t, dir, "typed.json", typedTemplate)
	paramsFile := writeTemplate(t, dir, "typed.parameters.json", `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"name": {"value": "from-file"}, "count": {"value": 2}, "zones": {"value": ["1", "2"]}}
}`)
	plainFile := writeTemplate(t, dir, "plain.json", `{"enabled": {"value": false}}`)
	tests := []struct {
		name   string
		params []string
		want   string // the outputs, as name=value lines
	}{
		{"defaults", nil, `count=1 enabled=true name="default" tags={} zones=[]`},
		{"a deploymentParameters file", []string{"-p", "@" + paramsFile}, `count=2 enabled=true name="from-file" tags={} zones=["1","2"]`},
		{"a plain parameters object file", []string{"-p", "@" + plainFile}, `count=1 enabled=false name="default" tags={} zones=[]`},
		{"inline JSON", []string{"-p", `{"name": {"value": "inline"}, "count": {"value": 9}}`}, `count=9 enabled=true name="inline" tags={} zones=[]`},
		{"key=value typed by the declared types", []string{"-p", "count=3", "enabled=false", `zones=["3"]`, `tags={"env":"prod"}`, "name=a=b"},
			`count=3 enabled=false name="a=b" tags={"env":"prod"} zones=["3"]`},
		{"forms mixed, later ones win", []string{"-p", "@" + paramsFile, "--parameters", "count=5", "-p", `{"name": {"value": "last"}}`},
			`count=5 enabled=true name="last" tags={} zones=["1","2"]`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			args := append([]string{"deployment", "group", "create", "-g", "rg-p", "-n", "typed-" + string(rune('a'+i)), "-f", tpl, "--query", "properties.outputs"}, tc.params...)
			outputs, _ := e.okJSON(args...).(map[string]any)
			var got []string
			for _, k := range []string{"count", "enabled", "name", "tags", "zones"} {
				b, _ := json.Marshal(jsonField(outputs, k, "value"))
				got = append(got, k+"="+string(b))
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("outputs\n got %s\nwant %s", strings.Join(got, " "), tc.want)
			}
		})
	}
	t.Run("a name the template does not declare is refused", func(t *testing.T) {
		e.in(t).fails("keyless: --parameters: unrecognized template parameter 'colour'. Allowed parameters: count, enabled, name, tags, zones",
			"deployment", "group", "create", "-g", "rg-p", "-f", tpl, "-p", "colour=red")
	})
	t.Run("a value of the wrong type is refused", func(t *testing.T) {
		e.in(t).fails(`keyless: --parameters count=many: 'count' is an int parameter; "many" is not an integer`,
			"deployment", "group", "validate", "-g", "rg-p", "-f", tpl, "-p", "count=many")
	})
}

// TestDeploymentWhatIfGolden pins what-if's diff (and its access summary)
// before and after a deployment, and its -o json document. Review the
// diff after `go test ./internal/cli -run TestDeploymentWhatIfGolden -update`.
func TestDeploymentWhatIfGolden(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-golden", "-l", "westus")
	tpl := writeTemplate(t, t.TempDir(), "identity.json", identityTemplate)
	whatIf := []string{"deployment", "group", "what-if", "-g", "rg-golden", "-f", tpl}
	steps := []struct {
		golden string
		before []string
		args   []string
	}{
		{"deployment_whatif_create.golden", nil, whatIf},
		{"deployment_whatif_create.json.golden", nil, append(append([]string{}, whatIf...), "-o", "json")},
		{"deployment_whatif_modify.golden",
			[]string{"deployment", "group", "create", "-g", "rg-golden", "-f", tpl, "-p", `tags={"env":"dev"}`, "-o", "none"},
			append(append([]string{}, whatIf...), "-p", `tags={"env":"prod","team":"web"}`)},
		{"deployment_whatif_nochange.golden", nil, append(append([]string{}, whatIf...), "-p", `tags={"env":"dev"}`)},
		{"deployment_whatif_exclude.golden", nil, append(append([]string{}, whatIf...), "-p", `tags={"env":"prod"}`, "-x", "NoChange")},
	}
	for _, step := range steps {
		if step.before != nil {
			e.ok(step.before...)
		}
		t.Run(step.golden, func(t *testing.T) {
			got := newNormalizer(e.env).normalize(e.in(t).ok(step.args...))
			path := filepath.Join("testdata", step.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("keyless %s differs from %s:\n--- got\n%s\n--- want\n%s", strings.Join(step.args, " "), path, got, want)
			}
		})
	}
}

// TestDeploymentFailures: a deployment that fails exits 1 and prints ARM's
// DeploymentFailed with its cause; a template error prints InvalidTemplate
// with the file's line and column; flags are checked before anything is
// sent.
func TestDeploymentFailures(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-f", "-l", "westus")
	dir := t.TempDir()
	failing := writeTemplate(t, dir, "failing.json", failingTemplate)
	bad := writeTemplate(t, dir, "bad.json", badTemplate)
	good := writeTemplate(t, dir, "identity.json", identityTemplate)

	t.Run("a failed resource fails the deployment with its cause", func(t *testing.T) {
		e := e.in(t)
		r := e.run("deployment", "group", "create", "-g", "rg-f", "-f", failing, "-o", "json")
		if r.code != 1 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
		}
		wantContains(t, "stderr", r.stderr,
			"Deploying 'failing' to resource group 'rg-f': 2 resources.\n",
			"] Succeeded Microsoft.ManagedIdentity/userAssignedIdentities/id-ok (",
			"[2/2] Failed    Microsoft.Authorization/roleAssignments/",
			"(RoleDefinitionDoesNotExist) The specified role definition with ID '00000000-dead-beef-0000-000000000000' does not exist.\n",
			"Failed: 'failing' stopped after ",
			": 1 of 2 failed, 1 succeeded.\n",
			"\nkeyless: (DeploymentFailed) At least one resource deployment operation failed.",
			"\n  (RoleDefinitionDoesNotExist) The specified role definition with ID '00000000-dead-beef-0000-000000000000' does not exist.\n")
		if got := e.ok("deployment", "group", "show", "-g", "rg-f", "-n", "failing", "--query", "properties.provisioningState", "-o", "tsv"); got != "Failed\n" {
			t.Errorf("state %q", got)
		}
		e.ok("identity", "show", "-g", "rg-f", "-n", "id-ok")
	})
	t.Run("--rollback-on-error names the deployment to redeploy", func(t *testing.T) {
		e := e.in(t)
		e.ok("deployment", "group", "create", "-g", "rg-f", "-n", "good", "-f", good, "-o", "none")
		for _, tc := range []struct {
			args       []string
			wantType   string
			wantTarget string
		}{
			{[]string{"--rollback-on-error"}, "LastSuccessful", "good"},
			{[]string{"--rollback-on-error", "good"}, "SpecificDeployment", "good"},
		} {
			args := append([]string{"deployment", "group", "create", "-g", "rg-f", "-n", "rolled", "-f", failing}, tc.args...)
			if r := e.run(args...); r.code != 1 {
				t.Fatalf("%v: exit %d", tc.args, r.code)
			}
			got := e.okJSON("deployment", "group", "show", "-g", "rg-f", "-n", "rolled", "--query", "properties.onErrorDeployment")
			if jsonString(got, "type") != tc.wantType || jsonString(got, "deploymentName") != tc.wantTarget {
				t.Errorf("%v: onErrorDeployment %v", tc.args, got)
			}
		}
	})
	t.Run("a template error names the file's line and column", func(t *testing.T) {
		e := e.in(t)
		for _, verb := range []string{"create", "validate", "what-if"} {
			r := e.run("deployment", "group", verb, "-g", "rg-f", "-f", bad)
			if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
				!strings.HasPrefix(r.stderr, "keyless: (InvalidTemplate) ") || !strings.Contains(r.stderr, "at line '5' and column '5'") {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", verb, r.code, r.stdout, r.stderr)
			}
		}
	})
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"a template is required", "keyless: give the template with --template-file (-f), or a .bicepparam file with --parameters",
			[]string{"deployment", "group", "create", "-g", "rg-f"}},
		{"the resource group is required", `keyless: required flag(s) "resource-group" not set`,
			[]string{"deployment", "group", "create", "-f", good}},
		{"a subscription deployment needs a location", `keyless: required flag(s) "location" not set`,
			[]string{"deployment", "sub", "create", "-f", good}},
		{"a management group deployment needs its group", `keyless: required flag(s) "management-group-id" not set`,
			[]string{"deployment", "mg", "show", "-n", "x"}},
		{"--mode is Incremental or Complete", `keyless: --mode must be Incremental or Complete, not "Partial"`,
			[]string{"deployment", "group", "create", "-g", "rg-f", "-f", good, "--mode", "Partial"}},
		{"--what-if and -c exclude each other", "keyless: give --what-if or --confirm-with-what-if, not both",
			[]string{"deployment", "group", "create", "-g", "rg-f", "-f", good, "-w", "-c"}},
		{"-c without a terminal needs --yes", "keyless: --confirm-with-what-if asks on a terminal and stdin is not one; give --yes to deploy after the what-if without asking",
			[]string{"deployment", "group", "create", "-g", "rg-f", "-n", "unconfirmed", "-f", good, "-c", "-o", "none"}},
		{"a bad -x word is refused", `keyless: --what-if-exclude-change-types: "Sideways" is not a change type; give Create, Delete, Modify, Deploy, NoChange, Ignore or Unsupported`,
			[]string{"deployment", "group", "create", "-g", "rg-f", "-f", good, "-w", "-x", "Sideways"}},
		{"a missing template file is refused", "keyless: --template-file: open " + filepath.Join(dir, "none.json") + ": no such file or directory",
			[]string{"deployment", "group", "create", "-g", "rg-f", "-f", filepath.Join(dir, "none.json")}},
		{"a missing group is ARM's error", "keyless: (ResourceGroupNotFound) Resource group 'rg-none' could not be found.",
			[]string{"deployment", "group", "create", "-g", "rg-none", "-f", good}},
		{"show of a missing deployment is ARM's error", "keyless: (DeploymentNotFound) Deployment could not be found.",
			[]string{"deployment", "group", "show", "-g", "rg-f", "-n", "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			r := e.run(tc.args...)
			if tc.name == "-c without a terminal needs --yes" {
				// The what-if is shown first, on stderr.
				r.stderr = r.stderr[strings.LastIndex(strings.TrimSuffix(r.stderr, "\n"), "\n")+1:]
			}
			checkFailure(t, r, tc.want, tc.args)
		})
	}
	t.Run("a Bicep error prints the compiler's diagnostics and sends nothing", func(t *testing.T) {
		e := e.in(t)
		broken := writeTemplate(t, dir, "broken.bicep", "param name strin\n")
		r := e.run("deployment", "group", "create", "-g", "rg-f", "-f", broken)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, broken+":1:12: error BCP302: ") || strings.Contains(r.stderr, "keyless:") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		e.fails("keyless: (DeploymentNotFound) Deployment could not be found.", "deployment", "group", "show", "-g", "rg-f", "-n", "broken")
	})
	t.Run("-c without a terminal deploys nothing", func(t *testing.T) {
		e.in(t).fails("keyless: (DeploymentNotFound) Deployment could not be found.", "deployment", "group", "show", "-g", "rg-f", "-n", "unconfirmed")
	})
}

// mainBicep is identityTemplate in Bicep.
const mainBicep = `param identityName string = 'id-bicep'
param location string = resourceGroup().location

var readerRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')

resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, identityName, readerRole)
  properties: {
    roleDefinitionId: readerRole
    principalId: uami.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output principalId string = uami.properties.principalId
`

// TestDeploymentBicep deploys a .bicep file, compiled by keyless's own
// compiler, and a .bicepparam file naming it, as az does.
func TestDeploymentBicep(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-b", "-l", "westus")
	dir := t.TempDir()
	main := writeTemplate(t, dir, "main.bicep", mainBicep)
	params := writeTemplate(t, dir, "prod.bicepparam", "using 'main.bicep'\n\nparam identityName = 'id-from-bicepparam'\n")
	writeTemplate(t, dir, "naming.bicep", "@export()\nfunc identityFor(app string) string => 'id-${toLower(app)}'\n")
	imports := writeTemplate(t, dir, "imports.bicepparam", "using 'main.bicep'\n\nimport * as naming from 'naming.bicep'\n\nparam identityName = naming.identityFor('Imports')\n")

	tests := []struct {
		name, deployment, identity string
		args                       []string
	}{
		{"a .bicep template file", "main", "id-bicep", []string{"-f", main}},
		{"a .bicep template with key=value parameters", "typed", "id-typed", []string{"-n", "typed", "-f", main, "-p", "identityName=id-typed"}},
		{"a .bicepparam file alone names its template", "prod", "id-from-bicepparam", []string{"-p", params}},
		{"a .bicepparam file with the template, overridden after", "both", "id-both", []string{"-n", "both", "-f", main, "-p", "@" + params, "identityName=id-both"}},
		{"a .bicepparam file calling an imported function", "imports", "id-imports", []string{"-n", "imports", "-f", main, "-p", imports}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			r := e.run(append([]string{"deployment", "group", "create", "-g", "rg-b", "-o", "json"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			d := decodeOne(t, r.stdout)
			principal := jsonString(d, "properties", "outputs", "principalId", "value")
			if jsonString(d, "name") != tc.deployment || principal == "" {
				t.Fatalf("create: %v", d)
			}
			if got := e.ok("identity", "show", "-g", "rg-b", "-n", tc.identity, "--query", "principalId", "-o", "tsv"); got != principal+"\n" {
				t.Errorf("identity %s: principal %q, output %s", tc.identity, got, principal)
			}
			if got := e.ok("role", "assignment", "list", "-g", "rg-b", "--assignee", principal, "--query", "[].roleDefinitionName", "-o", "tsv"); got != "Reader\n" {
				t.Errorf("assignments: %q", got)
			}
		})
	}
	t.Run("what-if of a .bicep file", func(t *testing.T) {
		out := e.in(t).ok("deployment", "group", "what-if", "-g", "rg-b", "-f", main, "-p", "identityName=id-next")
		wantContains(t, "what-if", out, "+ Microsoft.ManagedIdentity/userAssignedIdentities/id-next [2023-01-31]",
			"+ Grant  Reader to the new principal of Microsoft.ManagedIdentity/userAssignedIdentities/id-next at ")
	})
}

// TestDeploymentNoWait: create --no-wait returns at once, printing
// nothing; show then follows the deployment to its end.
func TestDeploymentNoWait(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-w", "-l", "westus")
	tpl := writeTemplate(t, t.TempDir(), "identity.json", identityTemplate)
	r := e.run("deployment", "group", "create", "-g", "rg-w", "-n", "later", "-f", tpl, "--no-wait")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("--no-wait: exit %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		state := e.ok("deployment", "group", "show", "-g", "rg-w", "-n", "later", "--query", "properties.provisioningState", "-o", "tsv")
		if state == "Succeeded\n" {
			break
		}
		if state != "Accepted\n" && state != "Running\n" || time.Now().After(deadline) {
			t.Fatalf("state %q", state)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.ok("identity", "show", "-g", "rg-w", "-n", "id-web")
}

// TestDeploymentOtherScopes deploys at subscription, tenant and
// management group scope, and reads each back.
func TestDeploymentOtherScopes(t *testing.T) {
	e := startCLI(t)
	dir := t.TempDir()

	t.Run("subscription", func(t *testing.T) {
		e := e.in(t)
		tpl := writeTemplate(t, dir, "groups.json", subscriptionTemplate)
		r := e.run("deployment", "sub", "create", "-l", "westus", "-f", tpl, "-p", "groupName=rg-made", "-o", "json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		d := decodeOne(t, r.stdout)
		sub := e.env.Creds.SubscriptionID
		if jsonString(d, "id") != "/subscriptions/"+sub+"/providers/Microsoft.Resources/deployments/groups" || jsonString(d, "location") != "westus" {
			t.Errorf("create: %v", d)
		}
		wantContains(t, "progress", r.stderr, "Deploying 'groups' to subscription '"+sub+"': 1 resource.", "[1/1] Succeeded resourceGroups/rg-made (")
		e.ok("group", "show", "-n", "rg-made")
		if got := e.ok("deployment", "sub", "show", "-n", "groups", "--query", "properties.outputs.groupId.value", "-o", "tsv"); got != "/subscriptions/"+sub+"/resourceGroups/rg-made\n" {
			t.Errorf("show: %q", got)
		}
		if got := e.ok("deployment", "sub", "list", "--query", "[].name", "-o", "tsv"); got != "groups\n" {
			t.Errorf("list: %q", got)
		}
		if got := e.ok("deployment", "operation", "sub", "list", "-n", "groups", "--query", "[].properties.targetResource.resourceName", "-o", "tsv"); got != "rg-made\n" {
			t.Errorf("operation list: %q", got)
		}
		wantContains(t, "what-if", e.ok("deployment", "sub", "what-if", "-l", "westus", "-f", tpl, "-p", "groupName=rg-next"),
			"Scope: /subscriptions/"+sub+"\n", "+ resourceGroups/rg-next [2022-09-01]")
		e.ok("deployment", "sub", "validate", "-l", "westus", "-f", tpl, "-p", "groupName=rg-next")
		e.ok("deployment", "sub", "export", "-n", "groups")
		e.ok("deployment", "sub", "delete", "-n", "groups")
		if got := e.ok("deployment", "sub", "list", "-o", "json"); got != "[]\n" {
			t.Errorf("list after delete: %q", got)
		}
	})
	t.Run("tenant", func(t *testing.T) {
		e := e.in(t)
		tpl := writeTemplate(t, dir, "where.json", tenantTemplate)
		got := e.okJSON("deployment", "tenant", "create", "-l", "westus", "-f", tpl)
		if jsonString(got, "id") != "/providers/Microsoft.Resources/deployments/where" || jsonString(got, "properties", "outputs", "tenantId", "value") != e.env.Creds.TenantID {
			t.Errorf("create: %v", got)
		}
		if got := e.ok("deployment", "tenant", "list", "--query", "[].name", "-o", "tsv"); got != "where\n" {
			t.Errorf("list: %q", got)
		}
		e.ok("deployment", "tenant", "show", "-n", "where")
		if got := e.ok("deployment", "operation", "tenant", "list", "-n", "where", "-o", "json"); got != "[]\n" {
			t.Errorf("operations of an empty template: %q", got)
		}
		e.ok("deployment", "tenant", "delete", "-n", "where")
	})
	t.Run("management group", func(t *testing.T) {
		e := e.in(t)
		if err := createManagementGroup(t, e, "mg-platform"); err != nil {
			var respErr *azcore.ResponseError
			if errors.As(err, &respErr) && (respErr.StatusCode == 404 || respErr.StatusCode == 405) {
				t.Skipf("this server has no management groups: %v", err)
			}
			t.Fatal(err)
		}
		tpl := writeTemplate(t, dir, "mg.json", managementGroupTemplate)
		e.ok("group", "create", "-n", "rg-mg", "-l", "westus")
		e.ok("identity", "create", "-g", "rg-mg", "-n", "id-platform")
		objectID := strings.TrimSpace(e.ok("identity", "show", "-g", "rg-mg", "-n", "id-platform", "--query", "principalId", "-o", "tsv"))
		r := e.run("deployment", "mg", "create", "-m", "mg-platform", "-l", "westus", "-f", tpl, "-p", "principalId="+objectID, "-o", "json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		d := decodeOne(t, r.stdout)
		if jsonString(d, "id") != "/providers/Microsoft.Management/managementGroups/mg-platform/providers/Microsoft.Resources/deployments/mg" ||
			jsonString(d, "properties", "outputs", "group", "value") != "mg-platform" {
			t.Errorf("create: %v", d)
		}
		wantContains(t, "progress", r.stderr, "Deploying 'mg' to management group 'mg-platform': 1 resource.", "[1/1] Succeeded Microsoft.Authorization/roleAssignments/")
		if got := e.ok("deployment", "mg", "list", "-m", "mg-platform", "--query", "[].name", "-o", "tsv"); got != "mg\n" {
			t.Errorf("list: %q", got)
		}
		if got := e.ok("deployment", "operation", "mg", "list", "-m", "mg-platform", "-n", "mg", "--query", "[].properties.provisioningState", "-o", "tsv"); got != "Succeeded\n" {
			t.Errorf("operation list: %q", got)
		}
		wantContains(t, "what-if", e.ok("deployment", "mg", "what-if", "-m", "mg-platform", "-l", "westus", "-f", tpl, "-p", "principalId="+objectID),
			"Scope: /providers/Microsoft.Management/ManagementGroups/mg-platform\n", "= Microsoft.Authorization/roleAssignments/")
		e.ok("deployment", "mg", "show", "-m", "mg-platform", "-n", "mg")
		e.ok("deployment", "mg", "export", "-m", "mg-platform", "-n", "mg")
		e.ok("deployment", "mg", "delete", "-m", "mg-platform", "-n", "mg")
	})
}

// createManagementGroup makes a group under the tenant root group through
// armmanagementgroups (keyless has no CLI command for groups yet).
func createManagementGroup(t *testing.T, e *cliEnv, name string) error {
	t.Helper()
	client, err := armmanagementgroups.NewClient(e.env.AdminCredential(t), e.env.ARMOptions())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	poller, err := client.BeginCreateOrUpdate(ctx, name, armmanagementgroups.CreateManagementGroupRequest{
		Properties: &armmanagementgroups.CreateManagementGroupProperties{
			DisplayName: to.Ptr(name),
			Details: &armmanagementgroups.CreateManagementGroupDetails{Parent: &armmanagementgroups.CreateParentGroupInfo{
				ID: to.Ptr("/providers/Microsoft.Management/managementGroups/" + e.env.Creds.TenantID)}},
		},
	}, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond})
	return err
}
