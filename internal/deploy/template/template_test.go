package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

const (
	testTenant = "00000000-0000-0000-0000-0000000000aa"
	testSub    = "00000000-0000-0000-0000-000000000001"
	testRG     = "rg1"
	rgID       = "/subscriptions/" + testSub + "/resourceGroups/" + testRG
)

// fakeResolver answers reference() with what a deployed resource would
// show: a principalId for identities, the ID echoed otherwise.
type fakeResolver struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeResolver) Reference(id, apiVersion string, full bool) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s@%s full=%v", id, apiVersion, full))
	f.mu.Unlock()
	props := expr.ObjectOf("provisioningState", "Succeeded", "principalId", "pid-"+lastSegment(id), "clientId", "cid-"+lastSegment(id), "vaultUri", "https://"+lastSegment(id)+".vault.azure.net/")
	if !full {
		return props, nil
	}
	return expr.ObjectOf("id", id, "identity", expr.ObjectOf("type", "SystemAssigned", "principalId", "sys-"+lastSegment(id)), "properties", props), nil
}

func (f *fakeResolver) List(function, id, apiVersion string, body any) (any, error) {
	return nil, fmt.Errorf("The resource '%s' does not support the action '%s'.", id, function)
}

func (f *fakeResolver) Providers(namespace, resourceType string) (any, error) {
	return expr.ObjectOf("namespace", namespace, "resourceTypes", []any{}), nil
}

func lastSegment(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }

func rgDeployment(params string) Deployment {
	return Deployment{
		Scope:             expr.Scope{TenantID: testTenant, SubscriptionID: testSub, ResourceGroup: testRG},
		Name:              "deploy1",
		Parameters:        []byte(params),
		Resolver:          &fakeResolver{},
		Now:               func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) },
		NewGUID:           func() string { return "11111111-2222-3333-4444-555555555555" },
		ResourceGroupInfo: []byte(`{"id":"` + rgID + `","name":"rg1","type":"Microsoft.Resources/resourceGroups","location":"westeurope","properties":{"provisioningState":"Succeeded"}}`),
		SubscriptionInfo:  []byte(`{"id":"/subscriptions/` + testSub + `","subscriptionId":"` + testSub + `","tenantId":"` + testTenant + `","displayName":"sub"}`),
		TenantInfo:        []byte(`{"tenantId":"` + testTenant + `"}`),
	}
}

func mustParse(t *testing.T, doc string) *Template {
	t.Helper()
	tmpl, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tmpl
}

func mustBind(t *testing.T, doc, params string) *Plan {
	t.Helper()
	p, err := mustParse(t, doc).Bind(rgDeployment(params))
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return p
}

func bodyJSON(t *testing.T, r *Resource) string {
	t.Helper()
	if r.Body == nil {
		t.Fatalf("resource %s has no body", r.ID)
	}
	o, err := r.Body()
	if err != nil {
		t.Fatalf("Body(%s): %v", r.ID, err)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ids(rs []*Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func find(t *testing.T, p *Plan, id string) *Resource {
	t.Helper()
	for _, r := range p.Resources {
		if strings.EqualFold(r.ID, id) {
			return r
		}
	}
	t.Fatalf("resource %s not in plan: %v", id, ids(p.Resources))
	return nil
}

// identityAndRole is shaped like the quickstarts: a user-assigned identity
// and a role assignment for it named by guid(), scoped to a storage
// account, plus a site with both identity kinds.
const identityAndRole = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "identityName": {"type": "string", "defaultValue": "[concat('id-', uniqueString(resourceGroup().id))]"},
    "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
    "roleDefinitionId": {"type": "string", "defaultValue": "ba92f5b4-2d11-453d-a403-e96b0029c9fe"}
  },
  "variables": {
    "storageName": "[toLower(concat('st', uniqueString(resourceGroup().id)))]",
    "roleId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', parameters('roleDefinitionId'))]"
  },
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[parameters('identityName')]",
      "location": "[parameters('location')]"
    },
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-01-01",
      "name": "[variables('storageName')]",
      "location": "[parameters('location')]",
      "sku": {"name": "Standard_LRS"},
      "kind": "StorageV2"
    },
    {
      "type": "Microsoft.Authorization/roleAssignments",
      "apiVersion": "2022-04-01",
      "name": "[guid(resourceId('Microsoft.Storage/storageAccounts', variables('storageName')), parameters('identityName'), variables('roleId'))]",
      "scope": "[format('Microsoft.Storage/storageAccounts/{0}', variables('storageName'))]",
      "dependsOn": [
        "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]",
        "[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]"
      ],
      "properties": {
        "roleDefinitionId": "[variables('roleId')]",
        "principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))).principalId]",
        "principalType": "ServicePrincipal"
      }
    },
    {
      "type": "Microsoft.Web/sites",
      "apiVersion": "2022-09-01",
      "name": "site1",
      "location": "[parameters('location')]",
      "identity": {
        "type": "SystemAssigned, UserAssigned",
        "userAssignedIdentities": {
          "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]": {}
        }
      },
      "dependsOn": ["[parameters('identityName')]"],
      "properties": {"siteConfig": {"appSettings": [{"name": "CLIENT_ID", "value": "[reference(parameters('identityName')).clientId]"}]}},
      "resources": [
        {"type": "config", "apiVersion": "2022-09-01", "name": "web", "properties": {"ftpsState": "Disabled"}}
      ]
    }
  ],
  "outputs": {
    "principalId": {"type": "string", "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName')), '2023-01-31', 'Full').properties.principalId]"},
    "sitePrincipal": {"type": "string", "value": "[reference(resourceId('Microsoft.Web/sites', 'site1'), '2022-09-01', 'Full').identity.principalId]"}
  }
}`

func TestIdentityRoleAssignmentAndSite(t *testing.T) {
	p := mustBind(t, identityAndRole, `{"identityName": {"value": "id-app"}}`)
	if len(p.Resources) != 5 {
		t.Fatalf("resources = %v", ids(p.Resources))
	}
	uami := find(t, p, rgID+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app")
	storage := p.Resources[1]
	if !strings.HasPrefix(storage.Name, "st") || storage.Name != strings.ToLower(storage.Name) {
		t.Errorf("storage name = %q", storage.Name)
	}
	ra := p.Resources[2]
	if ra.Scope != storage.ID {
		t.Errorf("role assignment scope = %q, want %q", ra.Scope, storage.ID)
	}
	if want := storage.ID + "/providers/Microsoft.Authorization/roleAssignments/" + ra.Name; ra.ID != want {
		t.Errorf("role assignment ID = %q, want %q", ra.ID, want)
	}
	if len(ra.Name) != 36 {
		t.Errorf("role assignment name %q is not a GUID", ra.Name)
	}
	if got := ids(ra.DependsOn); len(got) != 2 || got[0] != uami.ID || got[1] != storage.ID {
		t.Errorf("role assignment dependsOn = %v", got)
	}
	body := bodyJSON(t, ra)
	for _, want := range []string{`"principalId":"pid-id-app"`, `"roleDefinitionId":"/subscriptions/` + testSub + `/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"`} {
		if !strings.Contains(body, want) {
			t.Errorf("role assignment body %s lacks %s", body, want)
		}
	}
	if strings.Contains(body, `"scope"`) || strings.Contains(body, `"dependsOn"`) || strings.Contains(body, `"name"`) {
		t.Errorf("body carries template-only members: %s", body)
	}
	site := p.Resources[3]
	if got := ids(site.DependsOn); len(got) != 1 || got[0] != uami.ID {
		t.Errorf("site dependsOn by name = %v", got)
	}
	sb := bodyJSON(t, site)
	if !strings.Contains(sb, `"userAssignedIdentities":{"`+uami.ID+`":{}}`) || !strings.Contains(sb, `"value":"cid-id-app"`) {
		t.Errorf("site body = %s", sb)
	}
	cfg := p.Resources[4]
	if cfg.Type != "Microsoft.Web/sites/config" || cfg.Name != "site1/web" || cfg.ID != rgID+"/providers/Microsoft.Web/sites/site1/config/web" {
		t.Errorf("child = %s %s %s", cfg.Type, cfg.Name, cfg.ID)
	}
	if got := ids(cfg.DependsOn); len(got) != 1 || got[0] != site.ID {
		t.Errorf("child dependsOn = %v, want its parent", got)
	}
	outs, err := p.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	if outs["principalId"].Value != "pid-id-app" || outs["principalId"].Type != "String" || outs["sitePrincipal"].Value != "sys-site1" {
		t.Errorf("outputs = %+v", outs)
	}
	// The same template and inputs give the same names: guid() and
	// uniqueString() are deterministic.
	p2 := mustBind(t, identityAndRole, `{"identityName": {"value": "id-app"}}`)
	if p2.Resources[2].Name != ra.Name || p2.Resources[1].Name != storage.Name {
		t.Error("names differ between two bindings of the same template")
	}
}

const copyTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "count": {"type": "int", "defaultValue": 3, "minValue": 0, "maxValue": 10},
    "withLock": {"type": "bool", "defaultValue": false}
  },
  "variables": {
    "copy": [{"name": "names", "count": "[parameters('count')]", "input": "[format('id-{0}', copyIndex('names'))]"}]
  },
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[variables('names')[copyIndex()]]",
      "location": "westeurope",
      "copy": {"name": "identities", "count": "[parameters('count')]"},
      "tags": {"index": "[string(copyIndex(1))]"}
    },
    {
      "type": "Microsoft.Authorization/roleAssignments",
      "apiVersion": "2022-04-01",
      "name": "[guid(resourceGroup().id, variables('names')[copyIndex()])]",
      "copy": {"name": "assignments", "count": "[parameters('count')]", "mode": "serial", "batchSize": 2},
      "dependsOn": ["identities"],
      "properties": {
        "principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('names')[copyIndex()])).principalId]",
        "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"
      }
    },
    {
      "condition": "[parameters('withLock')]",
      "type": "Microsoft.Authorization/locks",
      "apiVersion": "2020-05-01",
      "name": "lock",
      "properties": {"level": "CanNotDelete", "notes": "[reference('missing').x]"}
    },
    {
      "type": "Microsoft.Network/virtualNetworks",
      "apiVersion": "2023-04-01",
      "name": "vnet",
      "dependsOn": ["[resourceId('Microsoft.Authorization/locks', 'lock')]"],
      "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "copy": [{"name": "subnets", "count": "[parameters('count')]", "input": {"name": "[format('s{0}', copyIndex('subnets'))]", "properties": {"addressPrefix": "[format('10.0.{0}.0/24', copyIndex('subnets'))]"}}}]
      }
    }
  ],
  "outputs": {
    "identityIds": {"type": "array", "copy": {"count": "[parameters('count')]", "input": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('names')[copyIndex()])]"}},
    "lockId": {"type": "string", "condition": "[parameters('withLock')]", "value": "[resourceId('Microsoft.Authorization/locks', 'lock')]"}
  }
}`

func TestCopyLoopsConditionsAndSerialBatches(t *testing.T) {
	p := mustBind(t, copyTemplate, `{"count": {"value": 5}}`)
	if len(p.Resources) != 11 || len(p.Skipped) != 1 {
		t.Fatalf("resources %v skipped %v", ids(p.Resources), ids(p.Skipped))
	}
	for i := 0; i < 5; i++ {
		r := p.Resources[i]
		if r.CopyName != "identities" || r.CopyIndex != i || r.Name != fmt.Sprintf("id-%d", i) {
			t.Errorf("instance %d = %s %d %s", i, r.CopyName, r.CopyIndex, r.Name)
		}
	}
	if b := bodyJSON(t, p.Resources[3]); !strings.Contains(b, `"tags":{"index":"4"}`) {
		t.Errorf("copyIndex(1) body = %s", b)
	}
	// Serial, batch size 2: assignment 2 and 3 wait for 0 and 1, 4 for 2 and 3.
	ra := p.Resources[5:10]
	for i, r := range ra {
		if r.BatchSize != 2 {
			t.Errorf("batch size = %d", r.BatchSize)
		}
		n := len(r.DependsOn)
		want := 5
		if i >= 2 {
			want = 7
		}
		if n != want {
			t.Errorf("assignment %d depends on %d resources, want %d: %v", i, n, want, ids(r.DependsOn))
		}
	}
	if last := ra[4].DependsOn; last[5] != ra[2] || last[6] != ra[3] {
		t.Errorf("assignment 4 does not wait for batch 1: %v", ids(last))
	}
	if b := bodyJSON(t, ra[4]); !strings.Contains(b, `"principalId":"pid-id-4"`) {
		t.Errorf("assignment body = %s", b)
	}
	// The lock is conditioned out: listed as skipped, its body never
	// evaluated, and the dependency on it dropped.
	if p.Skipped[0].Name != "lock" || p.Skipped[0].Body != nil {
		t.Errorf("skipped = %+v", p.Skipped[0])
	}
	vnet := p.Resources[10]
	if len(vnet.DependsOn) != 0 {
		t.Errorf("vnet depends on %v, want nothing (its dependency is conditioned out)", ids(vnet.DependsOn))
	}
	vb := bodyJSON(t, vnet)
	if !strings.Contains(vb, `"subnets":[{"name":"s0","properties":{"addressPrefix":"10.0.0.0/24"}}`) || strings.Contains(vb, `"copy"`) {
		t.Errorf("property copy body = %s", vb)
	}
	outs, err := p.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := outs["identityIds"].Value.([]any)
	if len(arr) != 5 || arr[4] != rgID+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-4" {
		t.Errorf("copy output = %v", outs["identityIds"])
	}
	if _, ok := outs["lockId"]; ok {
		t.Error("conditioned-out output is present")
	}
	if names := p.OutputNames(); len(names) != 2 || names[0] != "identityIds" {
		t.Errorf("output names = %v", names)
	}

	// count 0: no instances, the dependsOn on the empty loop is fine.
	p0 := mustBind(t, copyTemplate, `{"count": {"value": 0}, "withLock": {"value": true}}`)
	if len(p0.Resources) != 2 {
		t.Fatalf("count 0: %v", ids(p0.Resources))
	}
	if got := ids(p0.Resources[1].DependsOn); len(got) != 1 || !strings.HasSuffix(got[0], "/locks/lock") {
		t.Errorf("vnet dependsOn = %v", got)
	}
}

const symbolicTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "languageVersion": "2.0",
  "contentVersion": "1.0.0.0",
  "definitions": {
    "roleSpec": {
      "type": "object",
      "properties": {
        "principalId": {"type": "string", "minLength": 1},
        "role": {"type": "string", "allowedValues": ["Reader", "Contributor"]},
        "description": {"type": "string", "nullable": true}
      },
      "additionalProperties": false
    }
  },
  "parameters": {
    "vaultName": {"type": "string"},
    "vaultGroup": {"type": "string", "defaultValue": "shared"},
    "roles": {"type": "array", "items": {"$ref": "#/definitions/roleSpec"}, "defaultValue": []},
    "tags": {"type": "object", "nullable": true}
  },
  "variables": {
    "roleIds": {"Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "Contributor": "b24988ac-6180-42a3-9940-e2c8f2f5e4ec"}
  },
  "resources": {
    "vault": {
      "existing": true,
      "type": "Microsoft.KeyVault/vaults",
      "apiVersion": "2023-02-01",
      "resourceGroup": "[parameters('vaultGroup')]",
      "name": "[parameters('vaultName')]"
    },
    "identity": {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "app-id",
      "location": "westeurope",
      "tags": "[coalesce(parameters('tags'), createObject())]"
    },
    "assignments": {
      "copy": {"name": "assignments", "count": "[length(parameters('roles'))]"},
      "type": "Microsoft.Authorization/roleAssignments",
      "apiVersion": "2022-04-01",
      "scope": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'app-id')]",
      "name": "[guid(parameters('roles')[copyIndex()].principalId, parameters('roles')[copyIndex()].role)]",
      "properties": {
        "principalId": "[parameters('roles')[copyIndex()].principalId]",
        "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('roleIds')[parameters('roles')[copyIndex()].role])]"
      },
      "dependsOn": ["identity", "vault"]
    },
    "appConfig": {
      "type": "Microsoft.Web/sites/config",
      "apiVersion": "2022-09-01",
      "name": "site/appsettings",
      "properties": {
        "VAULT_URI": "[reference('vault').vaultUri]",
        "CLIENT_ID": "[reference('identity').clientId]",
        "FIRST": "[reference('assignments[0]', '2022-04-01', 'full').id]"
      },
      "dependsOn": ["assignments"]
    }
  },
  "outputs": {
    "identityId": {"type": "string", "value": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'app-id')]"},
    "secret": {"type": "securestring", "value": "[parameters('vaultName')]"}
  }
}`

func TestSymbolicNamesExistingAndUserDefinedTypes(t *testing.T) {
	params := `{"vaultName": {"value": "kv1"}, "roles": {"value": [{"principalId": "p1", "role": "Reader"}, {"principalId": "p2", "role": "Contributor", "description": "ops"}]}}`
	p := mustBind(t, symbolicTemplate, params)
	if len(p.Resources) != 5 {
		t.Fatalf("resources = %v", ids(p.Resources))
	}
	vault := p.Resources[0]
	if !vault.Existing || vault.Symbol != "vault" || vault.ID != "/subscriptions/"+testSub+"/resourceGroups/shared/providers/Microsoft.KeyVault/vaults/kv1" {
		t.Errorf("existing vault = %+v", vault)
	}
	a1 := p.Resources[3]
	idID := rgID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id"
	if a1.Symbol != "assignments" || a1.CopyIndex != 1 || a1.Scope != idID || !strings.HasPrefix(a1.ID, idID+"/providers/Microsoft.Authorization/roleAssignments/") {
		t.Errorf("assignment = %+v", a1)
	}
	if got := ids(a1.DependsOn); len(got) != 2 || got[0] != idID || got[1] != vault.ID {
		t.Errorf("dependsOn symbols = %v", got)
	}
	cfg := p.Resources[4]
	if got := len(cfg.DependsOn); got != 2 {
		t.Errorf("dependsOn a loop symbol = %v, want both instances", ids(cfg.DependsOn))
	}
	if b := bodyJSON(t, a1); !strings.Contains(b, "b24988ac-6180-42a3-9940-e2c8f2f5e4ec") {
		t.Errorf("assignment body = %s", b)
	}
	res := &fakeResolver{}
	d := rgDeployment(params)
	d.Resolver = res
	p2, err := mustParse(t, symbolicTemplate).Bind(d)
	if err != nil {
		t.Fatal(err)
	}
	cb := bodyJSON(t, p2.Resources[4])
	if !strings.Contains(cb, `"CLIENT_ID":"cid-app-id"`) || !strings.Contains(cb, `"FIRST":"`+p2.Resources[2].ID+`"`) {
		t.Errorf("config body = %s", cb)
	}
	if !strings.Contains(strings.Join(res.calls, "\n"), vault.ID+"@2023-02-01 full=false") {
		t.Errorf("reference('vault') did not use the declared API version: %v", res.calls)
	}
	if p.Parameters["tags"].Value != nil || p.Parameters["vaultGroup"].Value != "shared" || p.Parameters["roles"].Type != "Array" {
		t.Errorf("bound parameters = %+v", p.Parameters)
	}
	outs, err := p.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	if !outs["secret"].Secure || outs["secret"].Type != "SecureString" || outs["identityId"].Secure {
		t.Errorf("outputs = %+v", outs)
	}
}

const nestedTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"prefix": {"type": "string", "defaultValue": "app"}},
  "variables": {"identityName": "[concat(parameters('prefix'), '-id')]"},
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[variables('identityName')]",
      "location": "westeurope"
    },
    {
      "type": "Microsoft.Resources/deployments",
      "apiVersion": "2022-09-01",
      "name": "grant",
      "resourceGroup": "other-rg",
      "dependsOn": ["[variables('identityName')]"],
      "properties": {
        "mode": "Incremental",
        "expressionEvaluationOptions": {"scope": "inner"},
        "parameters": {
          "principalId": {"value": "[reference(variables('identityName')).principalId]"},
          "identityName": {"value": "[variables('identityName')]"}
        },
        "template": {
          "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
          "contentVersion": "1.0.0.0",
          "parameters": {"principalId": {"type": "string"}, "identityName": {"type": "string"}},
          "variables": {"identityName": "inner-value"},
          "resources": [{
            "type": "Microsoft.Authorization/roleAssignments",
            "apiVersion": "2022-04-01",
            "name": "[guid(resourceGroup().id, parameters('principalId'))]",
            "properties": {"principalId": "[parameters('principalId')]", "note": "[variables('identityName')]"}
          }],
          "outputs": {"rg": {"type": "string", "value": "[resourceGroup().name]"}}
        }
      }
    },
    {
      "type": "Microsoft.Resources/deployments",
      "apiVersion": "2022-09-01",
      "name": "outer",
      "subscriptionId": "00000000-0000-0000-0000-000000000002",
      "resourceGroup": "rg2",
      "properties": {
        "mode": "Incremental",
        "template": {
          "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
          "contentVersion": "1.0.0.0",
          "variables": {"identityName": "ignored"},
          "resources": [{
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "apiVersion": "2023-01-31",
            "name": "[concat(variables('identityName'), '-', parameters('prefix'))]",
            "location": "westeurope",
            "tags": {"parentGroup": "[resourceGroup().name]"}
          }]
        }
      }
    }
  ]
}`

func TestNestedDeploymentsInnerAndOuter(t *testing.T) {
	p := mustBind(t, nestedTemplate, "")
	if len(p.Resources) != 3 {
		t.Fatalf("resources = %v", ids(p.Resources))
	}
	inner := p.Resources[1]
	if inner.ID != "/subscriptions/"+testSub+"/resourceGroups/other-rg/providers/Microsoft.Resources/deployments/grant" || inner.Nested == nil || !inner.Nested.InnerScope {
		t.Fatalf("inner deployment = %+v", inner)
	}
	if inner.Nested.Scope.ResourceGroup != "other-rg" || inner.Nested.Scope.SubscriptionID != testSub {
		t.Errorf("inner scope = %+v", inner.Nested.Scope)
	}
	ib := bodyJSON(t, inner)
	if !strings.Contains(ib, `"principalId":{"value":"pid-app-id"}`) {
		t.Errorf("inner body = %s", ib)
	}
	if !strings.Contains(ib, `"name":"[guid(resourceGroup().id, parameters('principalId'))]"`) {
		t.Errorf("the nested template must stay unevaluated in the body: %s", ib)
	}
	nd := rgDeployment("")
	nd.Scope = inner.Nested.Scope
	nd.Name = "grant"
	nd.ResourceGroupInfo = []byte(`{"id":"/subscriptions/` + testSub + `/resourceGroups/other-rg","name":"other-rg","location":"westeurope"}`)
	np, err := inner.Nested.Bind(nd)
	if err != nil {
		t.Fatal(err)
	}
	if np.Parameters["principalId"].Value != "pid-app-id" || np.Mode != "Incremental" {
		t.Errorf("nested parameters = %+v", np.Parameters)
	}
	ra := np.Resources[0]
	if !strings.HasPrefix(ra.ID, "/subscriptions/"+testSub+"/resourceGroups/other-rg/providers/Microsoft.Authorization/roleAssignments/") {
		t.Errorf("nested role assignment ID = %s", ra.ID)
	}
	if b := bodyJSON(t, ra); !strings.Contains(b, `"note":"inner-value"`) {
		t.Errorf("inner scope must use the nested variables: %s", b)
	}
	outs, err := np.Outputs()
	if err != nil || outs["rg"].Value != "other-rg" {
		t.Errorf("nested outputs = %+v, %v", outs, err)
	}

	outer := p.Resources[2]
	if outer.Nested.InnerScope || outer.Nested.Scope.SubscriptionID != "00000000-0000-0000-0000-000000000002" || outer.Nested.Scope.ResourceGroup != "rg2" {
		t.Fatalf("outer = %+v", outer.Nested)
	}
	od := rgDeployment("")
	od.Scope = outer.Nested.Scope
	od.ResourceGroupInfo = []byte(`{"name":"rg2"}`)
	op, err := outer.Nested.Bind(od)
	if err != nil {
		t.Fatal(err)
	}
	r := op.Resources[0]
	if r.Name != "app-id-app" || r.ID != "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg2/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id-app" {
		t.Errorf("outer resource = %s %s", r.Name, r.ID)
	}
	if b := bodyJSON(t, r); !strings.Contains(b, `"parentGroup":"rg1"`) {
		t.Errorf("outer scope must see the parent's resourceGroup(): %s", b)
	}
}

func TestOldStyleExtensionResourceAndScopes(t *testing.T) {
	doc := `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {"type": "Microsoft.Storage/storageAccounts/providers/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[concat('sa1', '/Microsoft.Authorization/', guid('x'))]", "properties": {}},
    {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "newrg", "location": "westeurope"},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01", "name": "ra", "scope": "/", "properties": {}}
  ]
}`
	tmpl := mustParse(t, doc)
	p, err := tmpl.Bind(rgDeployment(""))
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Resources[0]; !strings.HasPrefix(r.ID, rgID+"/providers/Microsoft.Storage/storageAccounts/sa1/providers/Microsoft.Authorization/roleAssignments/") {
		t.Errorf("old-style extension ID = %s", r.ID)
	}
	sd := rgDeployment("")
	sd.Scope = expr.Scope{TenantID: testTenant, SubscriptionID: testSub}
	sd.Location = "westeurope"
	sd.ResourceGroupInfo = nil
	sp, err := tmpl.Bind(sd)
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Resources[1].ID; got != "/subscriptions/"+testSub+"/resourceGroups/newrg" {
		t.Errorf("resource group ID at subscription scope = %s", got)
	}
	if got := sp.Resources[2].ID; got != "/providers/Microsoft.Authorization/roleAssignments/ra" {
		t.Errorf("tenant-root extension ID = %s", got)
	}
	md := sd
	md.Scope = expr.Scope{TenantID: testTenant, ManagementGroup: "mg1"}
	mp, err := tmpl.Bind(md)
	if err != nil {
		t.Fatal(err)
	}
	if got := mp.Resources[1].ID; got != "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Resources/resourceGroups/newrg" {
		t.Errorf("management group ID = %s", got)
	}
}

// errCase is a template (and parameters) that must fail with a message
// containing want, at a path.
type errCase struct {
	name, doc, params string
	code, want, path  string
	line              int
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse([]byte(tc.doc))
			if err == nil {
				_, err = tmpl.Bind(rgDeployment(tc.params))
			}
			if err == nil {
				t.Fatal("no error")
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			code := tc.code
			if code == "" {
				code = CodeInvalidTemplate
			}
			if te.Code != code {
				t.Errorf("code = %s, want %s (%s)", te.Code, code, te.Message)
			}
			if !strings.Contains(te.Message, tc.want) {
				t.Errorf("message = %q, want it to contain %q", te.Message, tc.want)
			}
			if tc.path != "" && te.Path != tc.path {
				t.Errorf("path = %q, want %q", te.Path, tc.path)
			}
			if tc.line != 0 && te.Line != tc.line {
				t.Errorf("line = %d, want %d", te.Line, tc.line)
			}
		})
	}
}

func tmplWith(params, resources string) string {
	return `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
"parameters": {` + params + `}, "resources": [` + resources + `]}`
}

func TestParameterValidation(t *testing.T) {
	runErrCases(t, []errCase{
		{name: "missing required", doc: "{\n  \"parameters\": {\n    \"adminPassword\": {\"type\": \"securestring\"}\n  }\n}",
			want: "Deployment template validation failed: 'The value for the template parameter 'adminPassword' at line '3' and column '22' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'.", path: "parameters.adminPassword", line: 3},
		{name: "unknown parameter", doc: tmplWith(`"a": {"type": "string", "defaultValue": "x"}`, ""), params: `{"a": {"value": "y"}, "b": {"value": 1}}`,
			want: "The template parameters 'b' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are 'a'."},
		{name: "wrong type", doc: tmplWith(`"n": {"type": "int"}`, ""), params: `{"n": {"value": "3"}}`,
			want: "The provided value for the template parameter 'n' at line '2' and column '21' is not valid. Expected a value of type 'Int', but received a value of type 'String'."},
		{name: "not allowed", doc: tmplWith(`"sku": {"type": "string", "allowedValues": ["Standard_LRS", "Premium_LRS"]}`, ""), params: `{"sku": {"value": "Basic"}}`,
			want: "The provided value 'Basic' for the template parameter 'sku' at line '2' and column '23' is not valid. The parameter value is not part of the allowed value(s): 'Standard_LRS,Premium_LRS'."},
		{name: "secure value never quoted", doc: tmplWith(`"pw": {"type": "securestring", "allowedValues": ["a1", "b2"]}`, ""), params: `{"pw": {"value": "hunter2"}}`,
			want: "The provided value for the template parameter 'pw'"},
		{name: "too short", doc: tmplWith(`"name": {"type": "string", "minLength": 3}`, ""), params: `{"name": {"value": "ab"}}`,
			want: "Length of the value should be greater than or equal to '3'."},
		{name: "array too long", doc: tmplWith(`"zones": {"type": "array", "maxLength": 1}`, ""), params: `{"zones": {"value": ["1", "2"]}}`,
			want: "Length of the value should be less than or equal to '1'."},
		{name: "above max", doc: tmplWith(`"count": {"type": "int", "maxValue": 5}`, ""), params: `{"count": {"value": 6}}`,
			want: "The value should be less than or equal to '5'."},
		{name: "default not allowed", doc: tmplWith(`"sku": {"type": "string", "defaultValue": "Basic", "allowedValues": ["Standard"]}`, ""),
			want: "The provided value 'Basic' for the template parameter 'sku'"},
		{name: "null for non-nullable", doc: tmplWith(`"o": {"type": "object"}`, ""), params: `{"o": {"value": null}}`,
			want: "Expected a value of type 'Object', but received a value of type 'Null'."},
		{name: "key vault reference", doc: tmplWith(`"pw": {"type": "securestring"}`, ""), params: `{"pw": {"reference": {"keyVault": {"id": "/x"}, "secretName": "s"}}}`,
			want: "Key Vault reference, which keyless does not support"},
		{name: "user-defined type property", doc: symbolicTemplate, params: `{"vaultName": {"value": "kv"}, "roles": {"value": [{"principalId": "p", "role": "Owner"}]}}`,
			want: "At '[0].role': The value 'Owner' is not part of the allowed value(s): 'Reader,Contributor'."},
		{name: "user-defined type sealed", doc: symbolicTemplate, params: `{"vaultName": {"value": "kv"}, "roles": {"value": [{"principalId": "p", "role": "Reader", "extra": 1}]}}`,
			want: "The property 'extra' is not allowed"},
		{name: "user-defined type required property", doc: symbolicTemplate, params: `{"vaultName": {"value": "kv"}, "roles": {"value": [{"role": "Reader"}]}}`,
			want: "The required property 'principalId' is missing."},
		{name: "default refers to itself", doc: tmplWith(`"a": {"type": "string", "defaultValue": "[parameters('b')]"}, "b": {"type": "string", "defaultValue": "[parameters('a')]"}`, ""),
			want: "refers to itself"},
		{name: "unknown type", doc: tmplWith(`"a": {"type": "float"}`, ""), want: "the type 'float' is not valid"},
		{name: "parameters file schema as template", doc: `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "parameters": {}}`,
			want: "is the schema of a parameters file"},
	})
}

func TestParametersFileAndDefaults(t *testing.T) {
	doc := tmplWith(`"when": {"type": "string", "defaultValue": "[utcNow('yyyy')]"}, "id": {"type": "string", "defaultValue": "[newGuid()]"},
"first": {"type": "string", "defaultValue": "[parameters('second')]"}, "second": {"type": "string", "defaultValue": "B"}, "Sku": {"type": "string", "allowedValues": ["Standard_LRS"]}`, "")
	p := mustBind(t, doc, `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {"sku": {"value": "standard_lrs"}}}`)
	if p.Parameters["when"].Value != "2024" || p.Parameters["id"].Value != "11111111-2222-3333-4444-555555555555" || p.Parameters["first"].Value != "B" || p.Parameters["Sku"].Value != "standard_lrs" {
		t.Errorf("parameters = %+v", p.Parameters)
	}
}

func TestTemplateValidation(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	ra := func(name string, deps ...string) string {
		d, _ := json.Marshal(deps)
		return `{"type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01", "name": "` + name + `", "dependsOn": ` + string(d) + `, "properties": {"level": "ReadOnly"}}`
	}
	runErrCases(t, []errCase{
		{name: "not JSON", doc: "{\n  \"resources\": [\n    {,}\n  ]\n}", want: "Deployment template parse failed: 'Invalid property identifier character", line: 3},
		{name: "duplicate key", doc: `{"resources": [], "Resources": []}`, want: "Property with the same name already exists"},
		{name: "expression syntax", doc: tmplWith("", "\n"+`{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[concat('a', ]", "location": "x"}`),
			want: "The template resource '[concat('a', ]' at line '3' and column '1' is not valid:", path: "resources[0].name"},
		{name: "unknown function", doc: tmplWith("", `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "a", "location": "[nosuch()]"}`),
			want: "The template function 'nosuch' is not valid.", path: "resources[0].location"},
		{name: "reference in a name", doc: tmplWith("", `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[reference('x').name]"}`),
			want: "The template function 'reference' is not expected at this location."},
		{name: "utcNow in a variable", doc: `{"variables": {"now": "[utcNow()]"}}`,
			want: "The template function 'utcNow' is not expected at this location. The function can only be used with parameter default values."},
		{name: "type is an expression", doc: tmplWith("", `{"type": "[variables('t')]", "apiVersion": "1", "name": "a"}`), want: "The type property cannot be an expression."},
		{name: "segment lengths", doc: tmplWith("", `{"type": "Microsoft.Web/sites/config", "apiVersion": "2022-09-01", "name": "web"}`),
			want: "The template resource 'web' for type 'Microsoft.Web/sites/config' at line '2' and column '33' has incorrect segment lengths."},
		{name: "copy count too large", doc: tmplWith("", `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[string(copyIndex())]", "copy": {"name": "c", "count": 801}}`),
			want: "the copy count must be a non-negative integer value and cannot exceed '800'"},
		{name: "copy count negative", doc: tmplWith("", `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[string(copyIndex())]", "copy": {"name": "c", "count": -1}}`),
			want: "has an invalid copy count"},
		{name: "too many resources", doc: tmplWith("", `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[string(copyIndex())]", "copy": {"name": "c", "count": 800}},
{"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-09-01", "name": "plan"}`),
			want: "The number of template resources limit exceeded. Limit: '800' and actual: '801'."},
		{name: "too many parameters", doc: tmplWith(many(257, func(i int) string { return fmt.Sprintf(`"p%d": {"type": "int", "defaultValue": 1}`, i) }), ""),
			want: "The number of template parameters limit exceeded. Limit: '256' and actual: '257'."},
		{name: "too many variables", doc: `{"variables": {` + many(257, func(i int) string { return fmt.Sprintf(`"v%d": 1`, i) }) + `}}`,
			want: "The number of template variables limit exceeded. Limit: '256' and actual: '257'."},
		{name: "too many outputs", doc: `{"outputs": {` + many(65, func(i int) string { return fmt.Sprintf(`"o%d": {"type": "int", "value": 1}`, i) }) + `}}`,
			want: "The number of template outputs limit exceeded. Limit: '64' and actual: '65'."},
		{name: "dependsOn cycle", doc: tmplWith("", ra("a", "b")+","+ra("b", "c")+","+ra("c", "a")),
			want: "Circular dependency detected on resource: '" + rgID + "/providers/Microsoft.Authorization/locks/a'. The dependency cycle is '" + rgID + "/providers/Microsoft.Authorization/locks/a' -> '" + rgID + "/providers/Microsoft.Authorization/locks/b' -> '" + rgID + "/providers/Microsoft.Authorization/locks/c' -> '" + rgID + "/providers/Microsoft.Authorization/locks/a'."},
		{name: "depends on itself", doc: tmplWith("", ra("a", "a")), want: "Circular dependency detected on resource"},
		{name: "dependsOn unknown", doc: tmplWith("", ra("a", "[resourceId('Microsoft.Web/sites', 'nope')]")),
			want: "The resource '/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/nope' is not defined in the template.", path: "resources[0].dependsOn[0]"},
		{name: "defined twice", doc: tmplWith("", ra("a")+","+ra("a")), want: "is defined multiple times in a template."},
		{name: "variable fails", doc: `{"variables": {"a": "[div(1, 0)]"}}`, want: "The template variable 'a' at line '1' and column '33' is not valid: Unable to evaluate template language function 'div'", path: "variables.a"},
		{name: "variable cycle", doc: `{"variables": {"a": "[variables('b')]", "b": "[variables('a')]"}}`, want: "refers to itself"},
		{name: "copyIndex outside a loop", doc: tmplWith("", `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[string(copyIndex())]"}`),
			want: "The template function 'copyIndex' is not expected at this location."},
		{name: "symbolic names need 2.0", doc: `{"resources": {"a": {"type": "Microsoft.Web/sites", "apiVersion": "1", "name": "a"}}}`, want: "require languageVersion '2.0'"},
		{name: "unsupported language version", doc: `{"languageVersion": "2.1-experimental"}`, want: "is not supported"},
		{name: "extensibility", doc: `{"languageVersion": "2.0", "imports": {}}`, want: "not supported"},
		{name: "too large", doc: `{"metadata": "` + strings.Repeat("x", MaxTemplateSize) + `"}`, want: "exceeds the limit of '4194304' bytes"},
	})
}

func TestRuntimeAndOutputErrors(t *testing.T) {
	doc := tmplWith(`"n": {"type": "int", "defaultValue": 0}`, `{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "s",
  "properties": {"x": "[div(10, parameters('n'))]"}}`)
	p := mustBind(t, doc, "")
	_, err := p.Resources[0].Body()
	var te *Error
	if !errors.As(err, &te) || te.Code != CodeInvalidTemplate || !strings.HasPrefix(te.Message, "Unable to process template language expressions for resource '"+rgID+"/providers/Microsoft.Web/sites/s' at line '2' and column '") || te.Path != "resources[0].properties.x" {
		t.Errorf("body error = %#v", err)
	}

	out := `{"outputs": {"bad": {"type": "int", "value": "[string(1)]"}}}`
	_, err = mustBind(t, out, "").Outputs()
	if !errors.As(err, &te) || te.Code != CodeDeploymentOutputEvaluationFailed || !strings.Contains(te.Message, "Unable to evaluate template outputs: 'bad'") || len(te.Details) != 1 ||
		!strings.Contains(te.Details[0].Message, "Expected a value of type 'Int', but received a value of type 'String'") {
		t.Errorf("output error = %#v", err)
	}

	link := tmplWith("", `{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "linked",
  "properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.com/t.json"}}}`)
	lp := mustBind(t, link, "")
	_, err = lp.Resources[0].Nested.Bind(rgDeployment(""))
	if !errors.As(err, &te) || te.Code != CodeInvalidContentLink || !errors.Is(err, ErrNotSupported) || !strings.Contains(te.Message, "https://example.com/t.json") {
		t.Errorf("linked template error = %#v", err)
	}
}

func TestBodiesAreSafeConcurrently(t *testing.T) {
	p := mustBind(t, copyTemplate, `{"count": {"value": 10}}`)
	var wg sync.WaitGroup
	errs := make(chan error, len(p.Resources))
	for _, r := range p.Resources {
		wg.Add(1)
		go func(r *Resource) {
			defer wg.Done()
			if _, err := r.Body(); err != nil {
				errs <- err
			}
		}(r)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLocate(t *testing.T) {
	doc := []byte("{\n  \"a\": [1, {\"b\": \"x\"}],\n  // comment\n  \"c\": {\"d\": true}\n}")
	for _, tc := range []struct {
		path      jsonPath
		line, col int
	}{
		{jsonPath{{key: "a"}}, 2, 8},
		{jsonPath{{key: "a"}, {index: 1, isIdx: true}, {key: "b"}}, 2, 20},
		{jsonPath{{key: "C"}, {key: "d"}}, 4, 17},
	} {
		end, ok := locate(doc, tc.path)
		l, c := newSource(doc, nil).lineCol(end)
		if ol, oc := lineCol(doc, end); ol != l || oc != c {
			t.Errorf("line index %d:%d differs from a scan %d:%d", l, c, ol, oc)
		}
		if !ok || l != tc.line || c != tc.col {
			t.Errorf("locate(%s) = %d:%d %v, want %d:%d", tc.path, l, c, ok, tc.line, tc.col)
		}
	}
	if got := (jsonPath{{key: "resources"}, {index: 0, isIdx: true}, {key: "a.b"}}).String(); got != "resources[0]['a.b']" {
		t.Errorf("path = %s", got)
	}
}

func TestFunctionsReferencesAndScopedModules(t *testing.T) {
	doc := `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/managementGroupDeploymentTemplate.json#",
  "languageVersion": "2.0",
  "contentVersion": "1.0.0.0",
  "functions": [{"namespace": "naming", "members": {"id": {"parameters": [{"name": "base", "type": "string"}], "output": {"type": "string", "value": "[format('id-{0}', parameters('base'))]"}}}}],
  "parameters": {"base": {"type": "string", "defaultValue": "[naming.id('x')]"}},
  "variables": {"mg": "[naming.id(parameters('base'))]"},
  "resources": {
    "ids": {"copy": {"name": "ids", "count": 2}, "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
            "subscriptionId": "00000000-0000-0000-0000-000000000009", "resourceGroup": "rg9", "existing": true, "name": "[format('{0}-{1}', parameters('base'), copyIndex())]"},
    "mod": {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "mod", "location": "westeurope",
            "scope": "[format('Microsoft.Management/managementGroups/{0}', variables('mg'))]",
            "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
              "parameters": {"principals": {"value": "[map(references('ids'), lambda('r', lambdaVariables('r').principalId))]"}},
              "template": {"parameters": {"principals": {"type": "array"}}, "resources": [],
                "outputs": {"n": {"type": "int", "value": "[length(parameters('principals'))]"}}}}},
    "after": {"type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01", "name": "lock", "dependsOn": ["mod"], "properties": {"level": "ReadOnly", "n": "[reference('mod').outputs]"}}
  }
}`
	d := rgDeployment("")
	d.Scope = expr.Scope{TenantID: testTenant, ManagementGroup: "root"}
	d.ResourceGroupInfo = nil
	p, err := mustParse(t, doc).Bind(d)
	if err != nil {
		t.Fatal(err)
	}
	if p.Parameters["base"].Value != "id-x" {
		t.Errorf("user-defined function in a default = %v", p.Parameters["base"].Value)
	}
	mod := p.Resources[2]
	if mod.Nested == nil || mod.Nested.Scope.ManagementGroup != "id-id-x" || mod.ID != "/providers/Microsoft.Management/managementGroups/id-id-x/providers/Microsoft.Resources/deployments/mod" {
		t.Fatalf("module = %+v", mod)
	}
	if p.Resources[0].ID != "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg9/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x-0" {
		t.Errorf("existing in another group = %s", p.Resources[0].ID)
	}
	if got := ids(p.Resources[3].DependsOn); len(got) != 1 || got[0] != mod.ID {
		t.Errorf("dependsOn module = %v", got)
	}
	nd := rgDeployment("")
	nd.Scope = mod.Nested.Scope
	np, err := mod.Nested.Bind(nd)
	if err != nil {
		t.Fatal(err)
	}
	principals, _ := np.Parameters["principals"].Value.([]any)
	if len(principals) != 2 || principals[1] != "pid-id-x-1" {
		t.Errorf("references() into a module = %v", principals)
	}
	outs, err := np.Outputs()
	if err != nil || outs["n"].Value != int64(2) {
		t.Errorf("module outputs = %v %v", outs, err)
	}
}

func TestCopiedParentWithChildrenAndSkippedReference(t *testing.T) {
	doc := tmplWith(`"on": {"type": "bool", "defaultValue": false}`, `
{"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[format('site{0}', copyIndex())]", "copy": {"name": "sites", "count": 2},
 "resources": [{"type": "config", "apiVersion": "2022-09-01", "name": "web", "properties": {"i": "[copyIndex('sites')]"}}]},
{"condition": "[parameters('on')]", "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "maybe"},
{"type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01", "name": "lock", "dependsOn": ["maybe"],
 "properties": {"p": "[if(parameters('on'), reference('maybe').principalId, 'none')]", "q": "[reference('maybe').principalId]"}}`)
	p := mustBind(t, doc, "")
	if len(p.Resources) != 5 {
		t.Fatalf("resources = %v", ids(p.Resources))
	}
	if p.Resources[3].Name != "site1/web" || p.Resources[3].DependsOn[0] != p.Resources[2] {
		t.Errorf("children of a copied parent = %s depends %v", p.Resources[3].Name, ids(p.Resources[3].DependsOn))
	}
	if b := bodyJSON(t, p.Resources[3]); !strings.Contains(b, `"i":1`) {
		t.Errorf("child body = %s", b)
	}
	_, err := p.Resources[4].Body()
	if err == nil || !strings.Contains(err.Error(), "its condition evaluated to false") || !strings.Contains(err.Error(), "properties.q") && false {
		t.Errorf("reference to a skipped resource = %v", err)
	}
	var te *Error
	if errors.As(err, &te) && te.Path != "resources[2].properties.q" {
		t.Errorf("path = %s", te.Path)
	}
}

func TestCircularTypeReference(t *testing.T) {
	runErrCases(t, []errCase{{name: "ref cycle", doc: `{"languageVersion": "2.0", "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
"parameters": {"p": {"$ref": "#/definitions/a", "type": "securestring"}}}`, want: "circular"}})
}
