package cli_test

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
)

func TestIdentityCommands(t *testing.T) {
	e := startCLI(t)
	sub := e.env.Creds.SubscriptionID
	e.ok("group", "create", "-n", "rg-app", "-l", "westus")
	e.ok("group", "create", "-n", "rg-ops", "-l", "northeurope")

	a := e.okJSON("identity", "create", "-g", "rg-app", "-n", "id-a")
	t.Run("create prints az's flattened identity", func(t *testing.T) {
		e := e.in(t)
		if jsonString(a, "name") != "id-a" || jsonString(a, "resourceGroup") != "rg-app" || jsonString(a, "type") != "Microsoft.ManagedIdentity/userAssignedIdentities" ||
			jsonString(a, "principalId") == "" || jsonString(a, "clientId") == "" || jsonString(a, "tenantId") != e.env.Creds.TenantID {
			t.Fatalf("identity create printed %v", a)
		}
		if jsonField(a, "properties") != nil {
			t.Errorf("properties not flattened: %v", a)
		}
	})
	t.Run("create takes the group's location by default", func(t *testing.T) {
		e := e.in(t)
		if jsonString(a, "location") != "westus" {
			t.Errorf("location %q, want the group's westus", jsonString(a, "location"))
		}
		b := e.okJSON("identity", "create", "-g", "rg-app", "-n", "id-b", "-l", "eastus", "--tags", "env=prod", "team=jobs")
		if jsonString(b, "location") != "eastus" || jsonString(b, "tags", "env") != "prod" || jsonString(b, "tags", "team") != "jobs" {
			t.Errorf("identity create -l --tags printed %v", b)
		}
	})
	t.Run("the SDK sees what the CLI made", func(t *testing.T) {
		e := e.in(t)
		client, err := armmsi.NewUserAssignedIdentitiesClient(sub, e.env.AdminCredential(t), e.env.ARMOptions())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		got, err := client.Get(ctx, "rg-app", "id-a", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *got.Properties.PrincipalID != jsonString(a, "principalId") || *got.Properties.ClientID != jsonString(a, "clientId") {
			t.Errorf("SDK reads %+v, CLI printed %v", got.Properties, a)
		}
	})
	t.Run("show by name and by --ids", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("identity", "show", "-g", "rg-app", "-n", "id-a", "--query", "principalId", "-o", "tsv"); got != jsonString(a, "principalId")+"\n" {
			t.Errorf("show --query principalId: %q", got)
		}
		if got := e.okJSON("identity", "show", "--ids", jsonString(a, "id")); jsonString(got, "clientId") != jsonString(a, "clientId") {
			t.Errorf("show --ids: %v", got)
		}
	})
	t.Run("show of several --ids prints a list", func(t *testing.T) {
		e := e.in(t)
		idB := "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-b"
		if got := e.ok("identity", "show", "--ids", jsonString(a, "id"), idB, "--query", "[].name", "-o", "tsv"); got != "id-a\nid-b\n" {
			t.Errorf("show --ids a b: %q", got)
		}
	})
	e.ok("identity", "create", "-g", "rg-ops", "-n", "id-c")
	t.Run("list in a group and in the subscription", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("identity", "list", "-g", "rg-app", "--query", "[].name", "-o", "tsv"); got != "id-a\nid-b\n" {
			t.Errorf("list -g: %q", got)
		}
		if got := e.ok("identity", "list", "--query", "sort([].name)", "-o", "tsv"); got != "id-a\nid-b\nid-c\n" {
			t.Errorf("list: %q", got)
		}
		if got := e.ok("identity", "list", "--query", "[?name=='id-c'].resourceGroup", "-o", "tsv"); got != "rg-ops\n" {
			t.Errorf("list resourceGroup: %q", got)
		}
	})

	t.Run("federated-credential", func(t *testing.T) {
		e := e.in(t)
		fic := e.okJSON("identity", "federated-credential", "create", "-g", "rg-app", "--identity-name", "id-a", "-n", "github-main",
			"--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:acme/web:ref:refs/heads/main")
		if jsonString(fic, "issuer") != "https://token.actions.githubusercontent.com" || jsonString(fic, "subject") != "repo:acme/web:ref:refs/heads/main" ||
			jsonString(fic, "resourceGroup") != "rg-app" || jsonString(fic, "name") != "github-main" {
			t.Fatalf("federated-credential create printed %v", fic)
		}
		if auds, _ := jsonField(fic, "audiences").([]any); len(auds) != 1 || auds[0] != "api://AzureADTokenExchange" {
			t.Errorf("default audiences %v", jsonField(fic, "audiences"))
		}
		e.ok("identity", "federated-credential", "create", "-g", "rg-app", "--identity-name", "id-a", "-n", "k8s-web",
			"--issuer", "https://oidc.example/cluster1", "--subject", "system:serviceaccount:web:app", "--audiences", "api://k8s-web")
		if got := e.ok("identity", "federated-credential", "show", "-g", "rg-app", "--identity-name", "id-a", "-n", "k8s-web",
			"--query", "audiences", "-o", "tsv"); got != "api://k8s-web\n" {
			t.Errorf("explicit audiences: %q", got)
		}
		// --audiences takes several words, as az's does; the service
		// allows one, as Azure does.
		e.fails("keyless: (BadRequest) Federated identity credentials must have exactly one audience.",
			"identity", "federated-credential", "create", "-g", "rg-app", "--identity-name", "id-a", "-n", "two-auds",
			"--issuer", "https://oidc.example/cluster1", "--subject", "s", "--audiences", "aud-one", "aud-two")
		if got := e.ok("identity", "federated-credential", "list", "-g", "rg-app", "--identity-name", "id-a", "--query", "[].name", "-o", "tsv"); got != "github-main\nk8s-web\n" {
			t.Errorf("federated-credential list: %q", got)
		}
		if got := e.ok("identity", "federated-credential", "delete", "-g", "rg-app", "--identity-name", "id-a", "-n", "k8s-web", "--yes"); got != "" {
			t.Errorf("federated-credential delete printed %q", got)
		}
		if got := e.ok("identity", "federated-credential", "list", "-g", "rg-app", "--identity-name", "id-a", "--query", "[].name", "-o", "tsv"); got != "github-main\n" {
			t.Errorf("federated-credential list after delete: %q", got)
		}
		e.fails("keyless: (ResourceNotFound) The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/id-a/federatedIdentityCredentials/k8s-web' under resource group 'rg-app' was not found.",
			"identity", "federated-credential", "show", "-g", "rg-app", "--identity-name", "id-a", "-n", "k8s-web")
		e.fails(`keyless: required flag(s) "issuer", "subject" not set`,
			"identity", "federated-credential", "create", "-g", "rg-app", "--identity-name", "id-a", "-n", "x-cred")
	})

	t.Run("delete by name and by --ids", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("identity", "delete", "-g", "rg-app", "-n", "id-b"); got != "" {
			t.Errorf("delete printed %q", got)
		}
		e.ok("identity", "delete", "--ids", jsonString(a, "id"))
		if got := e.ok("identity", "list", "-g", "rg-app", "-o", "json"); got != "[]\n" {
			t.Errorf("identities left after delete: %q", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		e := e.in(t)
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"show of a missing identity", "keyless: (ResourceNotFound) The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/id-none' under resource group 'rg-app' was not found.",
				[]string{"identity", "show", "-g", "rg-app", "-n", "id-none"}},
			{"create in a missing group", "keyless: (ResourceGroupNotFound) Resource group 'rg-none' could not be found.",
				[]string{"identity", "create", "-g", "rg-none", "-n", "id-x"}},
			{"create needs a group", `keyless: required flag(s) "resource-group" not set`,
				[]string{"identity", "create", "-n", "id-x"}},
			{"show needs a name", "keyless: give --ids, or --name with --resource-group",
				[]string{"identity", "show", "-g", "rg-app"}},
			{"--ids is not combined with --name", "keyless: give either --ids or --name with --resource-group, not both",
				[]string{"identity", "show", "--ids", "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a", "-n", "id-a"}},
			{"--ids must name identities", "keyless: --ids: \"/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.Web/sites/w\" is a Microsoft.Web/sites, not a Microsoft.ManagedIdentity/userAssignedIdentities",
				[]string{"identity", "delete", "--ids", "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.Web/sites/w"}},
			{"--ids must be resource IDs", `keyless: --ids: "id-a" is not a resource ID of the form /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{namespace}/{type}/{name}`,
				[]string{"identity", "show", "--ids", "id-a"}},
			{"stray words are refused", "keyless: unrecognized arguments: extra",
				[]string{"identity", "show", "-g", "rg-app", "-n", "id-a", "--query", "name", "extra"}},
		} {
			t.Run(tc.name, func(t *testing.T) { e.in(t).fails(tc.want, tc.args...) })
		}
	})
}
