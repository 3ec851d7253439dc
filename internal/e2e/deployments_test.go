package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/deploy/expr"
	"github.com/keyless-io/keyless/internal/testenv"
)

// poll is fast polling for tests (the server asks for 100 ms through
// Retry-After-Ms anyway).
var poll = &runtime.PollUntilDoneOptions{Frequency: 50 * time.Millisecond}

// identityTemplate is shaped like Azure's quickstarts: a user-assigned
// identity, a site with a system-assigned identity and the user-assigned
// one attached, and two role assignments named by guid(): Reader for the
// user-assigned identity on the group, and Reader for the site's
// system-assigned principal, read with reference(..., 'Full') in the same
// template.
const identityTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "identityName": {"type": "string", "defaultValue": "id-web"},
    "siteName": {"type": "string", "defaultValue": "[concat('web-', uniqueString(resourceGroup().id))]"},
    "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
    "apiKey": {"type": "securestring"}
  },
  "variables": {
    "readerRole": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"
  },
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[parameters('identityName')]",
      "location": "[parameters('location')]"
    },
    {
      "type": "Microsoft.Web/sites",
      "apiVersion": "2022-03-01",
      "name": "[parameters('siteName')]",
      "location": "[parameters('location')]",
      "identity": {
        "type": "SystemAssigned, UserAssigned",
        "userAssignedIdentities": {
          "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]": {}
        }
      },
      "properties": {"serverFarmId": "plan1", "siteConfig": {"appSettings": [{"name": "API_KEY", "value": "[parameters('apiKey')]"}]}},
      "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]"]
    },
    {
      "type": "Microsoft.Authorization/roleAssignments",
      "apiVersion": "2022-04-01",
      "name": "[guid(resourceGroup().id, parameters('identityName'), variables('readerRole'))]",
      "properties": {
        "roleDefinitionId": "[variables('readerRole')]",
        "principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName')), '2023-01-31').principalId]",
        "principalType": "ServicePrincipal"
      },
      "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName'))]"]
    },
    {
      "type": "Microsoft.Authorization/roleAssignments",
      "apiVersion": "2022-04-01",
      "name": "[guid(resourceId('Microsoft.Web/sites', parameters('siteName')), variables('readerRole'))]",
      "scope": "[format('Microsoft.Web/sites/{0}', parameters('siteName'))]",
      "properties": {
        "roleDefinitionId": "[variables('readerRole')]",
        "principalId": "[reference(resourceId('Microsoft.Web/sites', parameters('siteName')), '2022-03-01', 'Full').identity.principalId]",
        "principalType": "ServicePrincipal"
      },
      "dependsOn": ["[resourceId('Microsoft.Web/sites', parameters('siteName'))]"]
    }
  ],
  "outputs": {
    "identityPrincipalId": {"type": "string", "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName')), '2023-01-31').principalId]"},
    "siteName": {"type": "string", "value": "[parameters('siteName')]"}
  }
}`

func mustTemplate(t testing.TB, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("template: %v", err)
	}
	return m
}

func deploymentsClient(t *testing.T, env *testenv.Env) *armdeploy.DeploymentsClient {
	t.Helper()
	c, err := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createGroup(t testing.TB, env *testenv.Env, name string) {
	t.Helper()
	groups, _ := armresources.NewResourceGroupsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if _, err := groups.CreateOrUpdate(context.Background(), name, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestTemplateDeploymentCreatesIdentitiesAndRoleAssignments deploys the
// quickstart-shaped template through armresources' DeploymentsClient and
// checks, with the armmsi and armauthorization clients, that every identity
// and assignment it declares exists with the right principal; then reads
// the record, its operations, the list, the export, and deletes it.
func TestTemplateDeploymentCreatesIdentitiesAndRoleAssignments(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		createGroup(t, env, "rg-app")
		client := deploymentsClient(t, env)
		const secret = "s3cr3t-api-key-that-must-not-leak"
		poller, err := client.BeginCreateOrUpdate(ctx, "rg-app", "identity-quickstart", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
			Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, identityTemplate),
			Parameters: map[string]any{"apiKey": map[string]any{"value": secret}},
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := poller.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		props := res.Properties
		if *props.ProvisioningState != armdeploy.ProvisioningStateSucceeded {
			t.Fatalf("state %s, error %+v", *props.ProvisioningState, props.Error)
		}
		outputs := props.Outputs.(map[string]any)
		principalID := outputs["identityPrincipalId"].(map[string]any)["value"].(string)
		siteName := outputs["siteName"].(map[string]any)["value"].(string)
		if len(props.OutputResources) != 4 {
			t.Fatalf("outputResources %d, want 4", len(props.OutputResources))
		}

		sub := env.Creds.SubscriptionID
		cred := env.AdminCredential(t)
		ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, cred, env.ARMOptions())
		uami, err := ids.Get(ctx, "rg-app", "id-web", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *uami.Properties.PrincipalID != principalID {
			t.Fatalf("output principal %s, identity's %s", principalID, *uami.Properties.PrincipalID)
		}
		generic, _ := armresources.NewClient(sub, cred, env.ARMOptions())
		site, err := generic.GetByID(ctx, "/subscriptions/"+sub+"/resourceGroups/rg-app/providers/Microsoft.Web/sites/"+siteName, "2022-03-01", nil)
		if err != nil {
			t.Fatal(err)
		}
		if site.Identity == nil || site.Identity.PrincipalID == nil || len(site.Identity.UserAssignedIdentities) != 1 {
			t.Fatalf("site identity %+v", site.Identity)
		}
		rgScope := "/subscriptions/" + sub + "/resourceGroups/rg-app"
		assigns, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, env.ARMOptions())
		wantGrant := func(scope, principal string) {
			t.Helper()
			pager := assigns.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: encodeFilter("principalId eq '" + principal + "'")})
			got := drain(t, pager, func(r armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
				return r.Value
			})
			for _, a := range got {
				if strings.EqualFold(*a.Properties.Scope, scope) && strings.HasSuffix(strings.ToLower(*a.Properties.RoleDefinitionID), readerRoleID) {
					return
				}
			}
			t.Fatalf("no Reader for %s at %s: %d assignments", principal, scope, len(got))
		}
		wantGrant(rgScope, principalID)
		wantGrant(*site.ID, *site.Identity.PrincipalID)

		// The record: secure values are never returned.
		got, err := client.Get(ctx, "rg-app", "identity-quickstart", nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(got)
		if strings.Contains(string(raw), secret) {
			t.Fatalf("the deployment record shows the secure parameter: %s", raw)
		}
		params := got.Properties.Parameters.(map[string]any)
		if p := params["apiKey"].(map[string]any); p["type"] != "SecureString" || p["value"] != nil {
			t.Fatalf("secure parameter shown as %v", p)
		}
		ops := drain(t, armdeployOps(t, env).NewListPager("rg-app", "identity-quickstart", nil),
			func(r armdeploy.DeploymentOperationsClientListResponse) []*armdeploy.DeploymentOperation {
				return r.Value
			})
		if len(ops) != 4 {
			t.Fatalf("%d operations, want one per resource (4)", len(ops))
		}
		for _, op := range ops {
			if *op.Properties.ProvisioningState != "Succeeded" || op.Properties.TargetResource == nil || op.Properties.Duration == nil {
				t.Fatalf("operation %+v", op.Properties)
			}
		}
		exists, err := client.CheckExistence(ctx, "rg-app", "identity-quickstart", nil)
		if err != nil || !exists.Success {
			t.Fatalf("check existence: %v %v", exists.Success, err)
		}
		list := drain(t, client.NewListByResourceGroupPager("rg-app", &armdeploy.DeploymentsClientListByResourceGroupOptions{Filter: to.Ptr("provisioningState eq 'Succeeded'")}),
			func(r armdeploy.DeploymentsClientListByResourceGroupResponse) []*armdeploy.DeploymentExtended {
				return r.Value
			})
		if len(list) != 1 || *list[0].Name != "identity-quickstart" {
			t.Fatalf("list: %d", len(list))
		}
		exported, err := client.ExportTemplate(ctx, "rg-app", "identity-quickstart", nil)
		if err != nil || exported.Template == nil {
			t.Fatalf("export: %v", err)
		}
		del, err := client.BeginDelete(ctx, "rg-app", "identity-quickstart", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := del.PollUntilDone(ctx, poll); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Get(ctx, "rg-app", "identity-quickstart", nil); !isStatus(err, http.StatusNotFound) {
			t.Fatalf("deleted deployment still readable: %v", err)
		}
		// The resources stay: deleting a deployment deletes its record only.
		if _, err := ids.Get(ctx, "rg-app", "id-web", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func armdeployOps(t *testing.T, env *testenv.Env) *armdeploy.DeploymentOperationsClient {
	t.Helper()
	c, err := armdeploy.NewDeploymentOperationsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDeploymentFailuresReadLikeARM: a template error is refused before
// anything is accepted (400 InvalidTemplate); a failing resource fails the
// deployment with DeploymentFailed and the cause in details, and what
// succeeded stays; validate answers the same errors.
func TestDeploymentFailuresReadLikeARM(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createGroup(t, env, "rg1")
	client := deploymentsClient(t, env)

	bad := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	  "resources":[{"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"[noSuchFunction('x')]","location":"westus"}]}`
	_, err := client.BeginCreateOrUpdate(ctx, "rg1", "bad", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, bad)}}, nil)
	if status, code := armErrorOf(t, err); status != http.StatusBadRequest || code != "InvalidTemplate" {
		t.Fatalf("bad template: %d %s", status, code)
	}
	if _, err := client.Get(ctx, "rg1", "bad", nil); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("a refused deployment left a record: %v", err)
	}
	vp, err := client.BeginValidate(ctx, "rg1", "bad", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, bad)}}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, poll)
	}
	if status, code := armErrorOf(t, err); status != http.StatusBadRequest || code != "InvalidTemplate" {
		t.Fatalf("validate bad template: %d %s", status, code)
	}

	// An assignment of a role that does not exist fails at the front door;
	// the identity deployed before it stays.
	failing := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	  "resources":[
	    {"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id-ok","location":"westus"},
	    {"type":"Microsoft.Authorization/roleAssignments","apiVersion":"2022-04-01","name":"[guid('x')]",
	     "dependsOn":["id-ok"],
	     "properties":{"roleDefinitionId":"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions','00000000-dead-beef-0000-000000000000')]",
	       "principalId":"[reference('id-ok').principalId]"}}]}`
	p, err := client.BeginCreateOrUpdate(ctx, "rg1", "failing", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, failing)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.PollUntilDone(ctx, poll)
	if err == nil {
		t.Fatal("a failing deployment reported success")
	}
	got, err := client.Get(ctx, "rg1", "failing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.ProvisioningState != armdeploy.ProvisioningStateFailed || *got.Properties.Error.Code != "DeploymentFailed" ||
		len(got.Properties.Error.Details) != 1 {
		t.Fatalf("failed deployment: %s %+v", *got.Properties.ProvisioningState, got.Properties.Error)
	}
	ids, _ := armmsi.NewUserAssignedIdentitiesClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if _, err := ids.Get(ctx, "rg1", "id-ok", nil); err != nil {
		t.Fatalf("what succeeded before the failure must stay: %v", err)
	}

	// Remote links cannot be followed: said clearly.
	_, err = client.BeginCreateOrUpdate(ctx, "rg1", "linked", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), TemplateLink: &armdeploy.TemplateLink{URI: to.Ptr("https://example.invalid/t.json")}}}, nil)
	if status, code := armErrorOf(t, err); status != http.StatusBadRequest || code != "InvalidContentLink" {
		t.Fatalf("template link: %d %s", status, code)
	}
}

// TestWhatIfResolvesWhatTheTemplateCreates: what-if predicts creates and
// no-changes through the SDK, and its access summary names the identity
// that gains a role even before it exists.
func TestWhatIfResolvesWhatTheTemplateCreates(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createGroup(t, env, "rg-app")
	client := deploymentsClient(t, env)
	params := map[string]any{"apiKey": map[string]any{"value": "k"}, "siteName": map[string]any{"value": "web1"}}
	props := &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, identityTemplate), Parameters: params}
	wp, err := client.BeginWhatIf(ctx, "rg-app", "wi", armdeploy.DeploymentWhatIf{Properties: &armdeploy.DeploymentWhatIfProperties{
		Mode: props.Mode, Template: props.Template, Parameters: params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := wp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Properties.Changes) != 4 {
		t.Fatalf("%d changes, want 4", len(res.Properties.Changes))
	}
	for _, c := range res.Properties.Changes {
		if *c.ChangeType != armdeploy.ChangeTypeCreate {
			t.Fatalf("%s: %s, want Create", *c.ResourceID, *c.ChangeType)
		}
	}
	wantName := expr.GUID("/subscriptions/"+env.Creds.SubscriptionID+"/resourceGroups/rg-app", "id-web",
		"/subscriptions/"+env.Creds.SubscriptionID+"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")
	found := false
	for _, c := range res.Properties.Changes {
		found = found || strings.HasSuffix(*c.ResourceID, "/roleAssignments/"+wantName)
	}
	if !found {
		t.Fatalf("no role assignment named guid(...) = %s among the changes", wantName)
	}
	// The access summary (keyless's addition) through the raw API.
	status, body := rawARM(t, env, env.AdminCredential(t), http.MethodPost,
		"/subscriptions/"+env.Creds.SubscriptionID+"/resourcegroups/rg-app/providers/Microsoft.Resources/deployments/wi/whatIf",
		apiVersion("2021-04-01"), map[string]any{"properties": map[string]any{"mode": "Incremental", "template": mustTemplate(t, identityTemplate), "parameters": params}})
	if status != http.StatusOK {
		t.Fatalf("what-if: %d %s", status, body)
	}
	var doc struct {
		Properties struct {
			AccessChanges []map[string]string `json:"accessChanges"`
		} `json:"properties"`
	}
	decodeJSON(t, body, &doc)
	grants := 0
	for _, ac := range doc.Properties.AccessChanges {
		if ac["changeType"] == "Grant" && ac["roleName"] == "Reader" && strings.HasSuffix(ac["identity"], "/userAssignedIdentities/id-web") {
			grants++
		}
	}
	if grants != 1 {
		t.Fatalf("access summary %+v: want a Reader grant naming id-web", doc.Properties.AccessChanges)
	}

	// Deploy, then what-if again: nothing changes.
	p, err := client.BeginCreateOrUpdate(ctx, "rg-app", "d1", armdeploy.Deployment{Properties: props}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	wp, err = client.BeginWhatIf(ctx, "rg-app", "wi", armdeploy.DeploymentWhatIf{Properties: &armdeploy.DeploymentWhatIfProperties{
		Mode: props.Mode, Template: props.Template, Parameters: params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = wp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Properties.Changes {
		if *c.ChangeType != armdeploy.ChangeTypeNoChange {
			raw, _ := json.Marshal(c)
			t.Errorf("after deploying, %s", raw)
		}
	}
}

// functionsTemplate exercises every function category through a real
// deployment; its outputs are compared with the values ARM documents.
const functionsTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"names": {"type": "array", "defaultValue": ["a", "b", "c"]}},
  "variables": {"base": "2020-04-07T14:53:14Z"},
  "resources": [],
  "outputs": {
    "array":      {"type": "array",  "value": "[union(parameters('names'), createArray('c', 'd'))]"},
    "contains":   {"type": "bool",   "value": "[contains(parameters('names'), 'b')]"},
    "comparison": {"type": "bool",   "value": "[and(greater(3, 2), lessOrEquals('a', 'b'), equals(coalesce(null(), 'x'), 'x'))]"},
    "date":       {"type": "string", "value": "[dateTimeAdd(variables('base'), 'P1D')]"},
    "epoch":      {"type": "int",    "value": "[dateTimeToEpoch(variables('base'))]"},
    "deployment": {"type": "string", "value": "[deployment().name]"},
    "lambda":     {"type": "array",  "value": "[map(filter(parameters('names'), lambda('n', not(equals(lambdaVariables('n'), 'b')))), lambda('n', toUpper(lambdaVariables('n'))))]"},
    "reduce":     {"type": "int",    "value": "[reduce(range(1, 4), 0, lambda('acc', 'x', add(lambdaVariables('acc'), lambdaVariables('x'))))]"},
    "logical":    {"type": "string", "value": "[if(or(false(), not(false())), 'yes', 'no')]"},
    "numeric":    {"type": "int",    "value": "[add(mul(3, 4), mod(div(17, 3), 4))]"},
    "object":     {"type": "object", "value": "[union(createObject('a', 1), json('{\"b\": 2}'))]"},
    "keys":       {"type": "array",  "value": "[objectKeys(createObject('x', 1, 'y', 2))]"},
    "tryGet":     {"type": "string", "value": "[coalesce(tryGet(createObject('a', 1), 'missing'), 'fallback')]"},
    "resourceId": {"type": "string", "value": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id1')]"},
    "format":     {"type": "string", "value": "[format('{0}-{1:D3}', 'web', 7)]"},
    "unique":     {"type": "string", "value": "[uniqueString('a')]"},
    "guid":       {"type": "string", "value": "[guid('a', 'b')]"},
    "base64":     {"type": "string", "value": "[base64ToString(base64('hello'))]"},
    "cidr":       {"type": "object", "value": "[parseCidr('10.144.0.0/20')]"},
    "subnet":     {"type": "string", "value": "[cidrSubnet('10.144.0.0/20', 24, 2)]"}
  }
}`

// TestEveryFunctionCategoryThroughADeployment deploys a template whose
// outputs use a function of every category, through the SDK, and checks
// the values.
func TestEveryFunctionCategoryThroughADeployment(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createGroup(t, env, "rg-fn")
	client := deploymentsClient(t, env)
	p, err := client.BeginCreateOrUpdate(ctx, "rg-fn", "functions", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, functionsTemplate)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	outputs := res.Properties.Outputs.(map[string]any)
	value := func(name string) string {
		o, ok := outputs[name].(map[string]any)
		if !ok {
			t.Fatalf("no output %q in %v", name, outputs)
		}
		b, _ := json.Marshal(o["value"])
		return string(b)
	}
	rg := "/subscriptions/" + env.Creds.SubscriptionID + "/resourceGroups/rg-fn"
	tests := []struct{ output, want string }{
		{"array", `["a","b","c","d"]`},
		{"contains", `true`},
		{"comparison", `true`},
		{"date", `"4/8/2020 2:53:14 PM"`}, // the Azure docs example shape (en-US)
		{"epoch", `1586271194`},
		{"deployment", `"functions"`},
		{"lambda", `["A","C"]`},
		{"reduce", `10`}, // range(1, 4) is [1,2,3,4]
		{"logical", `"yes"`},
		{"numeric", `13`},
		{"object", `{"a":1,"b":2}`},
		{"keys", `["x","y"]`},
		{"tryGet", `"fallback"`},
		{"resourceId", `"` + rg + `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"`},
		{"format", `"web-007"`},
		{"unique", `"` + expr.UniqueString("a") + `"`},
		{"guid", `"` + expr.GUID("a", "b") + `"`},
		{"base64", `"hello"`},
		{"subnet", `"10.144.2.0/24"`},
	}
	for _, tc := range tests {
		if got := value(tc.output); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.output, got, tc.want)
		}
	}
	if got := value("cidr"); !strings.Contains(got, `"network":"10.144.0.0"`) || !strings.Contains(got, `"cidr":20`) {
		t.Errorf("parseCidr = %s", got)
	}
}
