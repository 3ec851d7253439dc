package template

import (
	"fmt"
	"testing"
)

// fleet800 is the benchmark shape: 800 resources by copy loops —
// 200 user-assigned identities, 200 sites with a system-assigned identity,
// and a role assignment for each (400) named by guid().
const fleet800 = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"n": {"type": "int", "defaultValue": 200}},
  "variables": {"reader": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"},
  "resources": [
    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "[format('id-{0}', copyIndex())]",
     "location": "[resourceGroup().location]", "copy": {"name": "ids", "count": "[parameters('n')]"}},
    {"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[format('site-{0}', copyIndex())]", "location": "[resourceGroup().location]",
     "identity": {"type": "SystemAssigned"}, "copy": {"name": "sites", "count": "[parameters('n')]"}, "properties": {"httpsOnly": true}},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[guid(resourceGroup().id, format('id-{0}', copyIndex()), variables('reader'))]",
     "copy": {"name": "idRoles", "count": "[parameters('n')]"},
     "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('id-{0}', copyIndex()))]"],
     "properties": {"roleDefinitionId": "[variables('reader')]", "principalType": "ServicePrincipal",
       "principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('id-{0}', copyIndex()))).principalId]"}},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[guid(resourceGroup().id, format('site-{0}', copyIndex()), variables('reader'))]",
     "scope": "[format('Microsoft.Web/sites/{0}', format('site-{0}', copyIndex()))]",
     "copy": {"name": "siteRoles", "count": "[parameters('n')]"},
     "dependsOn": ["[resourceId('Microsoft.Web/sites', format('site-{0}', copyIndex()))]"],
     "properties": {"roleDefinitionId": "[variables('reader')]", "principalType": "ServicePrincipal",
       "principalId": "[reference(resourceId('Microsoft.Web/sites', format('site-{0}', copyIndex())), '2022-09-01', 'Full').identity.principalId]"}}
  ]
}`

func BenchmarkBind800(b *testing.B) {
	tmpl, err := Parse([]byte(fleet800))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := tmpl.Bind(rgDeployment(""))
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Resources) != 800 {
			b.Fatal(fmt.Sprint(len(p.Resources)))
		}
	}
}

func BenchmarkParseBindBodies800(b *testing.B) {
	for b.Loop() {
		tmpl, err := Parse([]byte(fleet800))
		if err != nil {
			b.Fatal(err)
		}
		p, err := tmpl.Bind(rgDeployment(""))
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range p.Resources {
			if _, err := r.Body(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
