package portal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/chromedp/chromedp"
)

// deploymentTemplate deploys a user-assigned identity and a site running
// as it, so the deployment has two operations.
const deploymentTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "id-deployed", "location": "[resourceGroup().location]"},
    {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01", "name": "web-deployed", "location": "[resourceGroup().location]",
     "identity": {"type": "UserAssigned", "userAssignedIdentities": {"[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-deployed')]": {}}},
     "properties": {"serverFarmId": "plan1"},
     "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-deployed')]"]}
  ]
}`

// TestPortalDeployments: a deployment started through the SDK's
// DeploymentsClient shows on the resource group's Deployments blade, and
// its page shows it Succeeded with each resource's operation.
func TestPortalDeployments(t *testing.T) {
	f := setUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := armdeploy.NewDeploymentsClient(f.sub, f.env.AdminCredential(t), f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := jsonUnmarshal(deploymentTemplate, &tmpl); err != nil {
		t.Fatal(err)
	}
	poller, err := client.BeginCreateOrUpdate(ctx, f.group, "identity-stack", armdeploy.Deployment{Properties: &armdeploy.DeploymentProperties{
		Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: tmpl}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, f.env)
	b.signIn(f.creds, false)
	// From the group's page to its Deployments blade, while (or after) the
	// deployment runs.
	b.open("/portal/resource" + f.rg)
	b.run(chromedp.Click(`//nav[contains(@class,"blades")]//a[normalize-space()="Deployments"]`, chromedp.BySearch),
		chromedp.WaitVisible("table.deployments", chromedp.ByQuery))
	b.click("identity-stack")
	// The page refreshes itself until the deployment has finished.
	b.run(chromedp.WaitVisible(`//span[@id="deployment-state" and normalize-space()="Succeeded"]`, chromedp.BySearch))
	res, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 50 * time.Millisecond})
	if err != nil || *res.Properties.ProvisioningState != armdeploy.ProvisioningStateSucceeded {
		t.Fatalf("the deployment through the SDK: %+v, %v", res.Properties, err)
	}
	ops := b.text("table.operations")
	for _, want := range []string{"id-deployed", "Microsoft.ManagedIdentity/userAssignedIdentities", "web-deployed", "Microsoft.Web/sites", "Succeeded"} {
		if !strings.Contains(ops, want) {
			t.Fatalf("the operations table has no %q:\n%s", want, ops)
		}
	}
	var refreshing bool
	b.run(chromedp.Evaluate(`document.querySelector('meta[http-equiv="refresh"]') !== null`, &refreshing))
	if refreshing {
		t.Fatal("a finished deployment's page still refreshes itself")
	}
	b.shot("deployment")
	b.open("/portal/resource" + f.rg + "?blade=deployments")
	if row := b.text("table.deployments tbody"); !strings.Contains(row, "identity-stack") || !strings.Contains(row, "Succeeded") {
		t.Fatalf("the Deployments list shows %q", row)
	}
	b.shot("deployments")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
