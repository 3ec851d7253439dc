package cli_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
)

func TestResourceCommands(t *testing.T) {
	e := startCLI(t)
	sub := e.env.Creds.SubscriptionID
	rg := "/subscriptions/" + sub + "/resourceGroups/rg-app"
	uami := func(name string) string {
		return rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
	}
	e.ok("group", "create", "-n", "rg-app", "-l", "westus")
	e.ok("group", "create", "-n", "rg-ops", "-l", "westus")
	idA := e.okJSON("identity", "create", "-g", "rg-app", "-n", "id-a")
	idB := e.okJSON("identity", "create", "-g", "rg-app", "-n", "id-b")
	idC := e.okJSON("identity", "create", "-g", "rg-ops", "-n", "id-c")
	webID := rg + "/providers/Microsoft.Web/sites/web1"
	web := []string{"-g", "rg-app", "-n", "web1", "--resource-type", "Microsoft.Web/sites"}

	// systemPrincipal asks the SDK's SystemAssignedIdentitiesClient what the
	// resource's system-assigned principal is ("" when it has none).
	systemPrincipal := func(t *testing.T, scope string) string {
		t.Helper()
		client, err := armmsi.NewSystemAssignedIdentitiesClient(e.env.AdminCredential(t), e.env.ARMOptions())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		got, err := client.GetByScope(ctx, scope, nil)
		var respErr *azcore.ResponseError
		if errors.As(err, &respErr) && respErr.StatusCode == http.StatusNotFound {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return *got.Properties.PrincipalID
	}
	// uamiKeys are the user-assigned identities an identity block holds.
	uamiKeys := func(block any) []string {
		m, _ := jsonField(block, "userAssignedIdentities").(map[string]any)
		var keys []string
		for k := range m {
			keys = append(keys, k[strings.LastIndex(k, "/")+1:])
		}
		sort.Strings(keys)
		return keys
	}

	t.Run("create with --assign-identity [system] and identity names", func(t *testing.T) {
		e := e.in(t)
		r := e.okJSON(append(append([]string{"resource", "create"}, web...), "-p", `{"serverFarmId":"plan1","siteConfig":{"alwaysOn":true}}`, "--tags", "env=prod",
			"--assign-identity", "[system]", "id-a", uami("id-b"))...)
		if jsonString(r, "id") != webID || jsonString(r, "resourceGroup") != "rg-app" || jsonString(r, "location") != "westus" ||
			jsonString(r, "properties", "serverFarmId") != "plan1" || jsonField(r, "properties", "siteConfig", "alwaysOn") != true ||
			jsonString(r, "tags", "env") != "prod" {
			t.Fatalf("resource create printed %v", r)
		}
		if jsonString(r, "identity", "type") != "SystemAssigned, UserAssigned" || jsonString(r, "identity", "principalId") == "" ||
			jsonString(r, "identity", "tenantId") != e.env.Creds.TenantID {
			t.Fatalf("identity block %v", jsonField(r, "identity"))
		}
		if got := uamiKeys(jsonField(r, "identity")); strings.Join(got, ",") != "id-a,id-b" {
			t.Errorf("user-assigned identities %v", got)
		}
		if got := systemPrincipal(t, webID); got != jsonString(r, "identity", "principalId") {
			t.Errorf("identities/default says %q, resource create printed %q", got, jsonString(r, "identity", "principalId"))
		}
	})
	t.Run("create by --id with a full object from a file", func(t *testing.T) {
		e := e.in(t)
		doc := filepath.Join(t.TempDir(), "vm.json")
		if err := os.WriteFile(doc, []byte(`{"location":"eastus","kind":"linux","tags":{"role":"db"},"properties":{"hardwareProfile":{"vmSize":"Standard_B2s"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		vmID := rg + "/providers/Microsoft.Compute/virtualMachines/vm1"
		r := e.okJSON("resource", "create", "--id", vmID, "--is-full-object", "-p", "@"+doc, "--assign-identity")
		if jsonString(r, "location") != "eastus" || jsonString(r, "kind") != "linux" || jsonString(r, "tags", "role") != "db" ||
			jsonString(r, "properties", "hardwareProfile", "vmSize") != "Standard_B2s" || jsonString(r, "identity", "type") != "SystemAssigned" {
			t.Errorf("resource create --is-full-object printed %v", r)
		}
	})
	t.Run("create of a child resource with --namespace and --parent", func(t *testing.T) {
		e := e.in(t)
		e.ok("resource", "create", "-g", "rg-app", "-n", "vnet1", "--namespace", "Microsoft.Network", "--resource-type", "virtualNetworks", "-p", `{}`)
		r := e.okJSON("resource", "create", "-g", "rg-app", "-n", "s1", "--namespace", "Microsoft.Network", "--parent", "virtualNetworks/vnet1",
			"--resource-type", "subnets", "-p", `{"addressPrefix":"10.0.0.0/24"}`)
		if jsonString(r, "id") != rg+"/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/s1" || jsonString(r, "type") != "Microsoft.Network/virtualNetworks/subnets" {
			t.Errorf("child create printed %v", r)
		}
	})
	t.Run("show by parts and by --ids", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok(append([]string{"resource", "show"}, append(web, "--query", "properties.serverFarmId", "-o", "tsv")...)...); got != "plan1\n" {
			t.Errorf("show by parts: %q", got)
		}
		if got := e.ok("resource", "show", "--ids", webID, "--query", "name", "-o", "tsv"); got != "web1\n" {
			t.Errorf("show --ids: %q", got)
		}
		if got := e.ok("resource", "show", "--ids", webID, jsonString(idA, "id"), "--query", "[].type", "-o", "tsv"); got != "Microsoft.Web/sites\nMicrosoft.ManagedIdentity/userAssignedIdentities\n" {
			t.Errorf("show --ids of two resources: %q", got)
		}
		if got := e.ok("resource", "show", "--ids", webID, "--api-version", "2022-03-01", "--query", "name", "-o", "tsv"); got != "web1\n" {
			t.Errorf("show --api-version: %q", got)
		}
	})
	t.Run("list", func(t *testing.T) {
		e := e.in(t)
		// Child resources (the subnet) are left out of the comparison:
		// Azure does not list them, keyless does (reported to the lead).
		if got := e.ok("resource", "list", "-g", "rg-app", "--query", "sort([?!contains(id, '/subnets/')].name)", "-o", "tsv"); got != "id-a\nid-b\nvm1\nvnet1\nweb1\n" {
			t.Errorf("list -g: %q", got)
		}
		if got := e.ok("resource", "list", "--resource-type", "Microsoft.Web/sites", "--query", "[].id", "-o", "tsv"); got != webID+"\n" {
			t.Errorf("list --resource-type: %q", got)
		}
		if got := e.ok("resource", "list", "--namespace", "Microsoft.Compute", "--resource-type", "virtualMachines", "--query", "[].name", "-o", "tsv"); got != "vm1\n" {
			t.Errorf("list --namespace --resource-type: %q", got)
		}
		if got := e.ok("resource", "list", "--namespace", "Microsoft.ManagedIdentity", "--query", "sort([].name)", "-o", "tsv"); got != "id-a\nid-b\nid-c\n" {
			t.Errorf("list --namespace: %q", got)
		}
		if got := e.ok("resource", "list", "--tag", "env=prod", "--query", "[].name", "-o", "tsv"); got != "web1\n" {
			t.Errorf("list --tag: %q", got)
		}
		if got := e.ok("resource", "list", "-n", "vm1", "-l", "eastus", "--query", "[].name", "-o", "tsv"); got != "vm1\n" {
			t.Errorf("list -n -l: %q", got)
		}
	})

	t.Run("identity show prints the identity block", func(t *testing.T) {
		e := e.in(t)
		block := e.okJSON(append([]string{"resource", "identity", "show"}, web...)...)
		if jsonString(block, "type") != "SystemAssigned, UserAssigned" || jsonString(block, "principalId") != systemPrincipal(t, webID) {
			t.Errorf("identity show: %v", block)
		}
		for _, v := range jsonField(block, "userAssignedIdentities").(map[string]any) {
			if jsonString(v, "principalId") == "" || jsonString(v, "clientId") == "" {
				t.Errorf("user-assigned entry without IDs: %v", block)
			}
		}
		if got := e.ok("resource", "identity", "show", "--ids", webID, "--query", "principalId", "-o", "tsv"); got != systemPrincipal(t, webID)+"\n" {
			t.Errorf("identity show --query principalId: %q", got)
		}
	})
	t.Run("identity remove detaches one user-assigned identity", func(t *testing.T) {
		e := e.in(t)
		before := systemPrincipal(t, webID)
		block := e.okJSON(append([]string{"resource", "identity", "remove", "--identities", "id-b"}, web...)...)
		if got := uamiKeys(block); strings.Join(got, ",") != "id-a" || jsonString(block, "principalId") != before {
			t.Errorf("after removing id-b: %v", block)
		}
	})
	t.Run("identity assign attaches an identity from another group by ID, keeping the rest", func(t *testing.T) {
		e := e.in(t)
		block := e.okJSON("resource", "identity", "assign", "--ids", webID, "--identities", jsonString(idC, "id"))
		if got := uamiKeys(block); strings.Join(got, ",") != "id-a,id-c" || jsonString(block, "type") != "SystemAssigned, UserAssigned" {
			t.Errorf("after assigning id-c: %v", block)
		}
	})
	t.Run("identity remove [system] turns the system-assigned identity off", func(t *testing.T) {
		e := e.in(t)
		block := e.okJSON(append([]string{"resource", "identity", "remove", "--identities", "[system]"}, web...)...)
		if jsonString(block, "type") != "UserAssigned" || jsonString(block, "principalId") != "" {
			t.Errorf("after removing [system]: %v", block)
		}
		if got := systemPrincipal(t, webID); got != "" {
			t.Errorf("identities/default still answers %q", got)
		}
	})
	t.Run("identity remove of the last identities leaves type None", func(t *testing.T) {
		e := e.in(t)
		block := e.okJSON(append([]string{"resource", "identity", "remove", "--identities", "id-a", jsonString(idC, "id")}, web...)...)
		if jsonString(block, "type") != "None" || jsonField(block, "userAssignedIdentities") != nil {
			t.Errorf("after removing all: %v", block)
		}
		if got := e.ok(append([]string{"resource", "identity", "show", "-o", "json"}, web...)...); got != "{\n  \"type\": \"None\"\n}\n" {
			t.Errorf("identity show of a resource without identities: %q", got)
		}
	})
	t.Run("identity assign with no --identities turns [system] on", func(t *testing.T) {
		e := e.in(t)
		block := e.okJSON("resource", "identity", "assign", "--ids", webID)
		if jsonString(block, "type") != "SystemAssigned" || jsonString(block, "principalId") != systemPrincipal(t, webID) {
			t.Errorf("after assign: %v", block)
		}
		// Assigning again keeps the same principal.
		again := e.okJSON("resource", "identity", "assign", "--ids", webID, "--identities", "[system]")
		if jsonString(again, "principalId") != jsonString(block, "principalId") {
			t.Errorf("assign [system] twice made a new principal: %v then %v", block, again)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"show of a missing resource", "keyless: (ResourceNotFound) The Resource 'Microsoft.Web/sites/web9' under resource group 'rg-app' was not found.",
				[]string{"resource", "show", "-g", "rg-app", "-n", "web9", "--resource-type", "Microsoft.Web/sites"}},
			{"create in a missing group", "keyless: (ResourceGroupNotFound) Resource group 'rg-none' could not be found.",
				[]string{"resource", "create", "-g", "rg-none", "-n", "w", "--resource-type", "Microsoft.Web/sites", "-l", "westus"}},
			{"a missing user-assigned identity", "keyless: (FailedIdentityOperation) Identity operation for resource '" + rg + "/providers/Microsoft.Web/sites/web2' failed: the user-assigned identity '" + uami("id-none") + "' does not exist.",
				[]string{"resource", "create", "-g", "rg-app", "-n", "web2", "--resource-type", "Microsoft.Web/sites", "--assign-identity", "id-none"}},
			{"bad --properties JSON", "keyless: --properties is not valid JSON: invalid character 'n' looking for beginning of object key string",
				[]string{"resource", "create", "-g", "rg-app", "-n", "web2", "--resource-type", "Microsoft.Web/sites", "-p", "{nope}"}},
			{"a missing --properties file", "keyless: --properties: open /nonexistent/x.json: no such file or directory",
				[]string{"resource", "create", "-g", "rg-app", "-n", "web2", "--resource-type", "Microsoft.Web/sites", "-p", "@/nonexistent/x.json"}},
			{"--is-full-object without --properties", "keyless: --is-full-object needs the object in --properties",
				[]string{"resource", "create", "-g", "rg-app", "-n", "web2", "--resource-type", "Microsoft.Web/sites", "--is-full-object"}},
			{"a resource needs a type", "keyless: name the resource with --ids, or with --resource-group, --name and --resource-type (plus --namespace and --parent as needed)",
				[]string{"resource", "show", "-g", "rg-app", "-n", "web1"}},
			{"a type needs a namespace", "keyless: give --namespace, or a --resource-type with its namespace (e.g. Microsoft.Web/sites)",
				[]string{"resource", "show", "-g", "rg-app", "-n", "web1", "--resource-type", "sites"}},
			{"--ids is not combined with parts", "keyless: give either --ids or --resource-group, --name and --resource-type, not both",
				[]string{"resource", "show", "--ids", webID, "-g", "rg-app"}},
			{"create makes one resource", "keyless: create makes one resource: give one --id",
				[]string{"resource", "create", "--ids", webID, rg + "/providers/Microsoft.Web/sites/web3"}},
			{"a bad api-version is the server's error", "keyless: (InvalidApiVersionParameter) The api-version 'latest' is invalid. The supported versions are dates of the form 'YYYY-MM-DD' with an optional suffix such as '-preview'.",
				[]string{"resource", "show", "--ids", webID, "--api-version", "latest"}},
			{"removing an identity that is not attached", "keyless: user-assigned identity " + uami("id-b") + " is not attached to " + webID,
				[]string{"resource", "identity", "remove", "--ids", webID, "--identities", "id-b"}},
			{"removing a system-assigned identity that is off", "keyless: " + rg + "/providers/Microsoft.Network/virtualNetworks/vnet1 has no system-assigned identity",
				[]string{"resource", "identity", "remove", "--ids", rg + "/providers/Microsoft.Network/virtualNetworks/vnet1", "--identities", "[system]", "--subscription", sub}},
			{"an identity word that is neither a name nor an ID", `keyless: identity "rg-app/id-a" is neither a name nor a resource ID`,
				[]string{"resource", "identity", "assign", "--ids", webID, "--identities", "rg-app/id-a"}},
			{"identity show of a missing resource", "keyless: (ResourceNotFound) The Resource 'Microsoft.Web/sites/web9' under resource group 'rg-app' was not found.",
				[]string{"resource", "identity", "show", "--ids", rg + "/providers/Microsoft.Web/sites/web9"}},
		} {
			t.Run(tc.name, func(t *testing.T) { e.in(t).fails(tc.want, tc.args...) })
		}
	})

	t.Run("help works on commands with multi-word flags", func(t *testing.T) {
		e := e.in(t)
		for _, args := range [][]string{{"resource", "create", "-h"}, {"resource", "identity", "assign", "--help"}, {"group", "create", "--tags", "a", "-h"}} {
			if got := e.ok(args...); !strings.Contains(got, "Usage:\n  keyless "+args[0]) {
				t.Errorf("keyless %v printed %q", args, got)
			}
		}
	})
	t.Run("delete", func(t *testing.T) {
		e := e.in(t)
		principal := systemPrincipal(t, webID)
		if principal == "" {
			t.Fatal("web1 should have a system-assigned identity here")
		}
		if got := e.ok(append([]string{"resource", "delete"}, web...)...); got != "" {
			t.Errorf("delete printed %q", got)
		}
		e.ok("resource", "delete", "--ids", rg+"/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/s1", rg+"/providers/Microsoft.Compute/virtualMachines/vm1")
		if got := e.ok("resource", "list", "-g", "rg-app", "--query", "sort([].name)", "-o", "tsv"); got != "id-a\nid-b\nvnet1\n" {
			t.Errorf("left after delete: %q", got)
		}
		// Deleting a resource only detaches user-assigned identities.
		if got := e.ok("identity", "show", "--ids", jsonString(idB, "id"), "--query", "name", "-o", "tsv"); got != "id-b\n" {
			t.Errorf("id-b after deleting web1: %q", got)
		}
	})
}
