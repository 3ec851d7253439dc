package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/keyless-io/keyless/internal/testenv"
)

// TestTenantAndManagementGroupDeployments: a tenant-scope template creates a
// management group; a management-group-scope template grants a role at that
// group and, through a nested deployment at a subscription, creates a
// resource group there. Both through DeploymentsClient, each deployment in
// its own scope's history.
func TestTenantAndManagementGroupDeployments(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cred := env.AdminCredential(t)
	client, _ := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
	tenant := env.Server.Installation().TenantID

	const tenantTemplate = `{
	  "$schema": "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
	  "contentVersion": "1.0.0.0",
	  "parameters": {"parent": {"type": "string"}},
	  "resources": [{
	    "type": "Microsoft.Management/managementGroups", "apiVersion": "2021-04-01", "name": "mg-platform",
	    "properties": {"displayName": "Platform", "details": {"parent": {"id": "[tenantResourceId('Microsoft.Management/managementGroups', parameters('parent'))]"}}}
	  }],
	  "outputs": {"id": {"type": "string", "value": "[tenantResourceId('Microsoft.Management/managementGroups', 'mg-platform')]"}}
	}`
	p, err := client.BeginCreateOrUpdateAtTenantScope(ctx, "platform-groups", armdeploy.ScopedDeployment{Location: to.Ptr("westus"),
		Properties: &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, tenantTemplate),
			Parameters: map[string]any{"parent": map[string]any{"value": tenant}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Properties.Outputs.(map[string]any)["id"].(map[string]any)["value"]; got != "/providers/Microsoft.Management/managementGroups/mg-platform" {
		t.Fatalf("output %v", got)
	}
	groups, _ := armmanagementgroups.NewClient(cred, env.ARMOptions())
	mg, err := groups.Get(ctx, "mg-platform", nil)
	if err != nil || *mg.Properties.DisplayName != "Platform" {
		t.Fatalf("the management group the template created: %v", err)
	}

	const mgTemplate = `{
	  "$schema": "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
	  "contentVersion": "1.0.0.0",
	  "parameters": {"principalId": {"type": "string"}, "subscriptionId": {"type": "string"}},
	  "resources": [
	    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
	     "name": "[guid(managementGroup().id, parameters('principalId'), 'reader')]",
	     "properties": {"principalId": "[parameters('principalId')]", "principalType": "ServicePrincipal",
	       "roleDefinitionId": "[tenantResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"}},
	    {"type": "Microsoft.Resources/deployments", "apiVersion": "2021-04-01", "name": "landing-zone", "location": "westus",
	     "subscriptionId": "[parameters('subscriptionId')]",
	     "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
	       "template": {
	         "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
	         "contentVersion": "1.0.0.0",
	         "resources": [{"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2021-04-01", "name": "rg-landing", "location": "westus"}]
	       }}}
	  ]
	}`
	ops := newRBACPrincipal(t, env, "platform-ops")
	mgp, err := client.BeginCreateOrUpdateAtManagementGroupScope(ctx, "mg-platform", "baseline", armdeploy.ScopedDeployment{Location: to.Ptr("westus"),
		Properties: &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: mustTemplate(t, mgTemplate),
			Parameters: map[string]any{"principalId": map[string]any{"value": ops.ObjectID}, "subscriptionId": map[string]any{"value": env.Creds.SubscriptionID}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	assigns, _ := armauthorization.NewRoleAssignmentsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
	found := false
	pager := assigns.NewListForScopePager("/providers/Microsoft.Management/managementGroups/mg-platform",
		&armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: encodeFilter("principalId eq '" + ops.ObjectID + "'")})
	for _, a := range drain(t, pager, func(r armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
		return r.Value
	}) {
		found = found || strings.EqualFold(*a.Properties.Scope, "/providers/Microsoft.Management/managementGroups/mg-platform")
	}
	if !found {
		t.Fatal("the management group deployment did not grant Reader at the group")
	}
	if _, err := client.GetAtSubscriptionScope(ctx, "landing-zone", nil); err != nil {
		t.Fatalf("the nested subscription deployment's own record: %v", err)
	}
	createGroupsClient, _ := armdeploy.NewResourceGroupsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
	if _, err := createGroupsClient.Get(ctx, "rg-landing", nil); err != nil {
		t.Fatalf("the nested deployment's resource group: %v", err)
	}
	list := drain(t, client.NewListAtManagementGroupScopePager("mg-platform", nil),
		func(r armdeploy.DeploymentsClientListAtManagementGroupScopeResponse) []*armdeploy.DeploymentExtended {
			return r.Value
		})
	if len(list) != 1 || *list[0].Name != "baseline" {
		t.Fatalf("management group history: %d", len(list))
	}
}
