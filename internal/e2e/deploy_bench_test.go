package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
)

// template800 is 800 resources made by copy loops, as issue 10's benchmark
// asks: 200 user-assigned identities, 200 sites with a system-assigned
// identity, and a Reader role assignment for each of the 400 principals,
// the sites' read with reference(..., 'Full') in the same template.
const template800 = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"n": {"type": "int", "defaultValue": 200}},
  "variables": {"reader": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"},
  "resources": [
    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
     "name": "[format('id-{0}', copyIndex())]", "location": "westus", "copy": {"name": "ids", "count": "[parameters('n')]"}},
    {"type": "Microsoft.Web/sites", "apiVersion": "2022-03-01",
     "name": "[format('web-{0}', copyIndex())]", "location": "westus", "identity": {"type": "SystemAssigned"},
     "properties": {"serverFarmId": "plan"}, "copy": {"name": "sites", "count": "[parameters('n')]"}},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[guid(resourceGroup().id, 'id', string(copyIndex()))]", "copy": {"name": "idGrants", "count": "[parameters('n')]"},
     "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('id-{0}', copyIndex()))]"],
     "properties": {"roleDefinitionId": "[variables('reader')]", "principalType": "ServicePrincipal",
       "principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('id-{0}', copyIndex())), '2023-01-31').principalId]"}},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[guid(resourceGroup().id, 'site', string(copyIndex()))]", "copy": {"name": "siteGrants", "count": "[parameters('n')]"},
     "dependsOn": ["[resourceId('Microsoft.Web/sites', format('web-{0}', copyIndex()))]"],
     "properties": {"roleDefinitionId": "[variables('reader')]", "principalType": "ServicePrincipal",
       "principalId": "[reference(resourceId('Microsoft.Web/sites', format('web-{0}', copyIndex())), '2022-03-01', 'Full').identity.principalId]"}}
  ]
}`

// BenchmarkDeployment800 deploys the 800-resource template end to end
// through DeploymentsClient (PUT, poll, final GET), each iteration into a
// fresh resource group, and reports the what-if of the same template
// against the group it just filled.
func BenchmarkDeployment800(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			opts := testenv.Options{}
			if backend == "postgres" {
				opts.StoreDSN = pgtest.DSN(b)
			}
			env := testenv.Start(b, opts)
			ctx := context.Background()
			cred := env.AdminCredential(b)
			client, err := armdeploy.NewDeploymentsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
			if err != nil {
				b.Fatal(err)
			}
			var tpl map[string]any
			decodeJSON(b, []byte(template800), &tpl)
			props := &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: tpl}
			fast := &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}
			var whatIf time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				group := fmt.Sprintf("bench-%d", i)
				createGroup(b, env, group)
				b.StartTimer()
				p, err := client.BeginCreateOrUpdate(ctx, group, "d800", armdeploy.Deployment{Properties: props}, nil)
				if err != nil {
					b.Fatal(err)
				}
				res, err := p.PollUntilDone(ctx, fast)
				if err != nil {
					b.Fatal(err)
				}
				if *res.Properties.ProvisioningState != armdeploy.ProvisioningStateSucceeded || len(res.Properties.OutputResources) != 800 {
					b.Fatalf("state %s, %d resources", *res.Properties.ProvisioningState, len(res.Properties.OutputResources))
				}
				b.StopTimer()
				began := time.Now()
				wp, err := client.BeginWhatIf(ctx, group, "wi", armdeploy.DeploymentWhatIf{Properties: &armdeploy.DeploymentWhatIfProperties{
					Mode: props.Mode, Template: tpl}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				wr, err := wp.PollUntilDone(ctx, fast)
				if err != nil {
					b.Fatal(err)
				}
				whatIf += time.Since(began)
				if len(wr.Properties.Changes) != 800 {
					b.Fatalf("what-if: %d changes", len(wr.Properties.Changes))
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(whatIf.Milliseconds())/float64(b.N), "whatif-ms/op")
		})
	}
}
