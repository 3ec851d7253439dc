package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/testenv"
)

const (
	contributorRoleID = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	miOperatorRoleID  = "f1a07417-d97a-45cb-824c-7a7467783830"
)

func deployAs(t *testing.T, env *testenv.Env, cred azcore.TokenCredential, group, name, template string, params map[string]any, mode armdeploy.DeploymentMode) (armdeploy.DeploymentExtended, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.BeginCreateOrUpdate(ctx, group, name, armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(mode), Template: mustTemplate(t, template), Parameters: params}}, nil)
	if err != nil {
		return armdeploy.DeploymentExtended{}, err
	}
	if _, err := p.PollUntilDone(ctx, poll); err != nil {
		got, gerr := client.Get(ctx, group, name, nil)
		if gerr != nil {
			return armdeploy.DeploymentExtended{}, err
		}
		return got.DeploymentExtended, err
	}
	got, err := client.Get(ctx, group, name, nil)
	return got.DeploymentExtended, err
}

const attachTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"identityId": {"type": "string"}},
  "resources": [{
    "type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "web-borrow", "location": "westus",
    "identity": {"type": "UserAssigned", "userAssignedIdentities": {"[parameters('identityId')]": {}}},
    "properties": {}
  }]
}`

// TestDeploymentsActAsTheirCaller: a deployment can do nothing its caller
// could not do. A Reader cannot deploy at all; a Contributor on the group
// who does not hold Managed Identity Operator on an identity cannot attach
// it through a template (LinkedAuthorizationFailed, in the deployment's
// error details), and can once granted.
func TestDeploymentsActAsTheirCaller(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	createGroup(t, env, "rg-app")
	createGroup(t, env, "rg-ids")
	ctx := context.Background()
	sub := env.Creds.SubscriptionID
	ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, env.AdminCredential(t), env.ARMOptions())
	id, err := ids.CreateOrUpdate(ctx, "rg-ids", "id-privileged", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	appScope := "/subscriptions/" + sub + "/resourceGroups/rg-app"
	params := map[string]any{"identityId": map[string]any{"value": *id.ID}}

	reader := newRBACPrincipal(t, env, "reader")
	grant(t, env, appScope, readerRoleID, reader.ObjectID)
	_, err = deployAs(t, env, reader.Cred, "rg-app", "d1", attachTemplate, params, armdeploy.DeploymentModeIncremental)
	if status, code := armErrorOf(t, err); status != http.StatusForbidden || code != "AuthorizationFailed" {
		t.Fatalf("a Reader deployed: %d %s", status, code)
	}

	dev := newRBACPrincipal(t, env, "contributor")
	grant(t, env, appScope, contributorRoleID, dev.ObjectID)
	got, err := deployAs(t, env, dev.Cred, "rg-app", "d2", attachTemplate, params, armdeploy.DeploymentModeIncremental)
	if err == nil {
		t.Fatal("a Contributor attached an identity it may not assign")
	}
	if got.Properties == nil || got.Properties.Error == nil || len(got.Properties.Error.Details) != 1 ||
		*got.Properties.Error.Details[0].Code != "LinkedAuthorizationFailed" {
		t.Fatalf("want DeploymentFailed with LinkedAuthorizationFailed in details, got %+v (%v)", got.Properties, err)
	}
	generic, _ := armresources.NewClient(sub, env.AdminCredential(t), env.ARMOptions())
	if _, err := generic.GetByID(ctx, appScope+"/providers/Microsoft.Web/sites/web-borrow", "2022-03-01", nil); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("the refused site exists: %v", err)
	}

	grant(t, env, *id.ID, miOperatorRoleID, dev.ObjectID)
	if _, err := deployAs(t, env, dev.Cred, "rg-app", "d3", attachTemplate, params, armdeploy.DeploymentModeIncremental); err != nil {
		t.Fatalf("with Managed Identity Operator on the identity: %v", err)
	}
}

// TestCompleteModeAppliesTheLifecycleRules: complete mode deletes what the
// template does not name, through the front door, so a deleted resource's
// system-assigned principal and its role assignments go with it.
func TestCompleteModeAppliesTheLifecycleRules(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	createGroup(t, env, "rg1")
	sub := env.Creds.SubscriptionID
	generic, _ := armresources.NewClient(sub, env.AdminCredential(t), env.ARMOptions())
	vmID := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm-old"
	p, err := generic.BeginCreateOrUpdateByID(ctx, vmID, "2024-07-01", armresources.GenericResource{Location: to.Ptr("westus"),
		Identity: &armresources.Identity{Type: to.Ptr(armresources.ResourceIdentityTypeSystemAssigned)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := p.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	principal := *vm.Identity.PrincipalID
	grant(t, env, "/subscriptions/"+sub+"/resourceGroups/rg1", readerRoleID, principal)

	keep := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	  "resources":[{"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id-kept","location":"westus"}]}`
	got, err := deployAs(t, env, env.AdminCredential(t), "rg1", "complete", keep, nil, armdeploy.DeploymentModeComplete)
	if err != nil {
		t.Fatalf("complete deployment: %v %+v", err, got.Properties)
	}
	if _, err := generic.GetByID(ctx, vmID, "2024-07-01", nil); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("complete mode left vm-old: %v", err)
	}
	pager := assignmentsClient(t, env, env.AdminCredential(t)).NewListForSubscriptionPager(
		&armauthorization.RoleAssignmentsClientListForSubscriptionOptions{Filter: encodeFilter("principalId eq '" + principal + "'")})
	if n := len(drain(t, pager, forSubscription)); n != 0 {
		t.Fatalf("the deleted VM's principal still holds %d role assignments", n)
	}
	ops := drain(t, armdeployOps(t, env).NewListPager("rg1", "complete", nil),
		func(r armdeploy.DeploymentOperationsClientListResponse) []*armdeploy.DeploymentOperation {
			return r.Value
		})
	deletes := 0
	for _, op := range ops {
		if *op.Properties.ProvisioningOperation == armdeploy.ProvisioningOperationDelete {
			deletes++
		}
	}
	if deletes != 1 {
		t.Fatalf("%d delete operations, want 1 (vm-old)", deletes)
	}
}

// TestSubscriptionDeploymentWithNestedGroupDeployment: a subscription-scope
// template creates a resource group and deploys into it with a nested
// deployment (inner scope, parameters passed), with copy loops; the nested
// deployment is a deployment of its own in the group's history, and its
// outputs reach the outer template.
const nestedGroupTemplate = `{
	  "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
	  "contentVersion": "1.0.0.0",
	  "parameters": {"count": {"type": "int", "defaultValue": 3, "minValue": 1, "maxValue": 10}},
	  "resources": [
	    {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2021-04-01", "name": "rg-nested", "location": "westus"},
	    {"type": "Microsoft.Resources/deployments", "apiVersion": "2021-04-01", "name": "identities",
	     "resourceGroup": "rg-nested",
	     "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg-nested')]"],
	     "properties": {
	       "mode": "Incremental",
	       "expressionEvaluationOptions": {"scope": "inner"},
	       "parameters": {"count": {"value": "[parameters('count')]"}},
	       "template": {
	         "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
	         "contentVersion": "1.0.0.0",
	         "parameters": {"count": {"type": "int"}},
	         "resources": [{
	           "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
	           "name": "[format('id-{0}', copyIndex())]", "location": "[resourceGroup().location]",
	           "copy": {"name": "ids", "count": "[parameters('count')]"}
	         }],
	         "outputs": {"names": {"type": "array", "copy": {"count": "[parameters('count')]", "input": "[format('id-{0}', copyIndex())]"}}}
	       }
	     }}
	  ],
	  "outputs": {"names": {"type": "array", "value": "[reference('identities').outputs.names.value]"}}
	}`

// TestSubscriptionWhatIfPredictsNestedResources: at subscription scope,
// what-if of a template that creates a group and deploys into it predicts
// the group and the nested resources, though the group does not exist yet.
func TestSubscriptionWhatIfPredictsNestedResources(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, _ := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	wp, err := client.BeginWhatIfAtSubscriptionScope(ctx, "sub-level", armdeploy.DeploymentWhatIf{Location: to.Ptr("westus"),
		Properties: &armdeploy.DeploymentWhatIfProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, nestedGroupTemplate)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := wp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, c := range wr.Properties.Changes {
		if *c.ChangeType == armdeploy.ChangeTypeCreate {
			created = append(created, *c.ResourceID)
		}
	}
	if len(created) != 4 {
		t.Fatalf("what-if creates %v, want the group and 3 identities", created)
	}
}

func TestSubscriptionDeploymentWithNestedGroupDeployment(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tpl := nestedGroupTemplate
	client, _ := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	p, err := client.BeginCreateOrUpdateAtSubscriptionScope(ctx, "sub-level", armdeploy.Deployment{Location: to.Ptr("westus"),
		Properties: &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, tpl)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	names := res.Properties.Outputs.(map[string]any)["names"].(map[string]any)["value"].([]any)
	if fmt.Sprint(names) != "[id-0 id-1 id-2]" {
		t.Fatalf("outputs %v", names)
	}
	ids, _ := armmsi.NewUserAssignedIdentitiesClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	list := drain(t, ids.NewListByResourceGroupPager("rg-nested", nil),
		func(r armmsi.UserAssignedIdentitiesClientListByResourceGroupResponse) []*armmsi.Identity {
			return r.Value
		})
	if len(list) != 3 {
		t.Fatalf("%d identities in rg-nested, want 3", len(list))
	}
	// What-if of the same template now: the group and the identities exist,
	// so nothing changes; before, a fresh subscription-scope what-if
	// predicts the nested deployment's resources in a group that does not
	// exist yet (TestSubscriptionWhatIfPredictsNestedResources).
	wp, err := client.BeginWhatIfAtSubscriptionScope(ctx, "sub-level", armdeploy.DeploymentWhatIf{Location: to.Ptr("westus"),
		Properties: &armdeploy.DeploymentWhatIfProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, tpl)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := wp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if len(wr.Properties.Changes) != 4 {
		t.Fatalf("what-if after deploying: %d changes, want the group and 3 identities", len(wr.Properties.Changes))
	}
	for _, c := range wr.Properties.Changes {
		if *c.ChangeType != armdeploy.ChangeTypeNoChange {
			t.Errorf("%s: %s", *c.ResourceID, *c.ChangeType)
		}
	}
	nested, err := client.Get(ctx, "rg-nested", "identities", nil)
	if err != nil || *nested.Properties.ProvisioningState != armdeploy.ProvisioningStateSucceeded {
		t.Fatalf("the nested deployment's own record: %v", err)
	}
	if !strings.EqualFold(*res.Properties.OutputResources[0].ID, "/subscriptions/"+env.Creds.SubscriptionID+"/resourceGroups/rg-nested") {
		t.Fatalf("outputResources %v", *res.Properties.OutputResources[0].ID)
	}
}

// TestRestartDuringADeploymentNeverLeavesItRunning stops the server right
// after accepting an 800-resource deployment and starts it again on the
// same data directory: the deployment is Succeeded (it beat the stop) or
// Failed with DeploymentInterrupted, never Accepted or Running, and what it
// deployed before the stop is still there.
func TestRestartDuringADeploymentNeverLeavesItRunning(t *testing.T) {
	dataDir := t.TempDir() + "/data"
	env := testenv.Start(t, testenv.Options{DataDir: dataDir})
	createGroup(t, env, "rg-big")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, _ := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if _, err := client.BeginCreateOrUpdate(ctx, "rg-big", "big", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, template800)}}, nil); err != nil {
		t.Fatal(err)
	}
	env.Stop(t)

	env = testenv.Start(t, testenv.Options{DataDir: dataDir})
	client, _ = armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	got, err := client.Get(ctx, "rg-big", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	switch state := *got.Properties.ProvisioningState; state {
	case armdeploy.ProvisioningStateSucceeded:
		t.Log("the deployment finished before the stop")
	case armdeploy.ProvisioningStateFailed:
		if *got.Properties.Error.Code != "DeploymentInterrupted" {
			t.Fatalf("failed with %s: %s", *got.Properties.Error.Code, *got.Properties.Error.Message)
		}
	default:
		t.Fatalf("after a restart the deployment is %s", state)
	}
	ops := drain(t, armdeployOps(t, env).NewListPager("rg-big", "big", nil),
		func(r armdeploy.DeploymentOperationsClientListResponse) []*armdeploy.DeploymentOperation {
			return r.Value
		})
	ids, _ := armmsi.NewUserAssignedIdentitiesClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	for _, op := range ops {
		if *op.Properties.ProvisioningState != "Succeeded" || *op.Properties.TargetResource.ResourceType != "Microsoft.ManagedIdentity/userAssignedIdentities" {
			continue
		}
		if _, err := ids.Get(ctx, "rg-big", *op.Properties.TargetResource.ResourceName, nil); err != nil {
			t.Fatalf("%s was deployed before the stop but is gone: %v", *op.Properties.TargetResource.ResourceName, err)
		}
	}
}
