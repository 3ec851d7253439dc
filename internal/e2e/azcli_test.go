package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/azcloud"
	"github.com/keyless-io/keyless/internal/launcher"
	"github.com/keyless-io/keyless/internal/sts"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// The real clients, as Debian ships them: azure-cli (az 2.45) and
// python3-azure, run by Debian's own interpreter (not a python on PATH,
// which would not see python3-azure).
const (
	debianAz     = "/usr/bin/az"
	debianPython = "/usr/bin/python3"
)

// realClients finds az and python3-azure; it fails in CI (CI=true), where
// .ci/run installs them, and skips elsewhere.
func realClients(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (.ci/run installs azure-cli and python3-azure)", args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := os.Stat(debianAz); err != nil {
		missing("Debian's azure-cli is not installed (%s): %v", debianAz, err)
	}
	probe := exec.Command(debianPython, "-c", "import azure.identity, azure.mgmt.msi, azure.mgmt.authorization")
	if out, err := probe.CombinedOutput(); err != nil {
		missing("python3-azure is not importable by %s: %v\n%s", debianPython, err, out)
	}
}

// azSession is one az configuration directory against one server.
type azSession struct {
	t   *testing.T
	env *testenv.Env
	dir string
	// vars are the environment of every az and python process: no
	// telemetry, the server's CA, and a proxy that answers nothing for
	// everything but loopback, so no request leaves the machine.
	vars []string
}

func newAzSession(t *testing.T, env *testenv.Env) *azSession {
	s := &azSession{t: t, env: env, dir: t.TempDir()}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "AZURE_") || strings.HasSuffix(upper, "_PROXY") || upper == "REQUESTS_CA_BUNDLE" ||
			strings.HasPrefix(upper, "MSI_") || strings.HasPrefix(upper, "IDENTITY_") || strings.HasPrefix(upper, "PYTHON") {
			continue
		}
		s.vars = append(s.vars, kv)
	}
	s.vars = append(s.vars,
		"AZURE_CONFIG_DIR="+filepath.Join(s.dir, "az"), "AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true", "AZURE_CORE_SURVEY_MESSAGE=false",
		"REQUESTS_CA_BUNDLE="+env.Creds.CACertificateFile,
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost",
		"KL_URL="+env.URL, "KL_TENANT="+env.Creds.TenantID, "KL_SUB="+env.Creds.SubscriptionID,
		"KL_CLIENT="+env.Creds.ClientID, "KL_SECRET="+env.Creds.ClientSecret,
	)
	return s
}

// run runs a shell script (set -e) and returns its stdout as key=value
// lines: each az call the script makes is one line, so that one process
// tree runs many commands (az starts slowly).
func (s *azSession) run(script string, extra ...string) map[string]string {
	s.t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.vars...), extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("script failed: %v\n--- script\n%s\n--- stdout\n%s\n--- stderr\n%s", err, script, stdout.String(), stderr.String())
	}
	return keyValues(stdout.String())
}

func keyValues(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

const identityAndReaderTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"name": {"type": "string"}},
  "resources": [
    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
     "name": "[parameters('name')]", "location": "[resourceGroup().location]"},
    {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
     "name": "[guid(resourceGroup().id, parameters('name'), 'reader')]",
     "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('name'))]"],
     "properties": {
       "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
       "principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('name')), '2023-01-31').principalId]",
       "principalType": "ServicePrincipal"}}
  ],
  "outputs": {"principalId": {"type": "string",
    "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('name')), '2023-01-31').principalId]"}}
}`

// TestAzureCLIAndPythonSDK runs Debian's az 2.45 and Azure SDK for Python
// against one keyless server, as a new user would after `eval "$(keyless
// env --az)"`. Commands that crash inside that az before sending anything
// ('RoleDefinitionsOperations' object has no attribute 'config': az role
// definition list, az role assignment create|list) are made with az rest,
// as docs/azure-cli.md says.
func TestAzureCLIAndPythonSDK(t *testing.T) {
	realClients(t)
	env := testenv.Start(t, testenv.Options{})
	az := newAzSession(t, env)
	sub := "/subscriptions/" + env.Creds.SubscriptionID
	ctx := context.Background()

	t.Run("login through the ADFS authority with keyless env --az", func(t *testing.T) {
		out := az.run(strings.Join(azcloud.Commands(env.Creds, ""), "\n") + `
echo "user=$(az account show --query user.name -o tsv)"
echo "tenant=$(az account show --query tenantId -o tsv)"
echo "sub=$(az account show --query id -o tsv)"
echo "login=$(az cloud show --query endpoints.activeDirectory -o tsv)"
`)
		if out["user"] != env.Creds.ClientID || out["tenant"] != env.Creds.TenantID || out["sub"] != env.Creds.SubscriptionID ||
			out["login"] != env.URL+"/adfs" {
			t.Fatalf("az account: %v", out)
		}
	})

	var site, siteIdentity string
	t.Run("groups, identities, federated credentials, resources with identities", func(t *testing.T) {
		out := az.run(`
echo "group=$(az group create -n rg-az -l westus --tags env=ci --query properties.provisioningState -o tsv)"
echo "groups=$(az group list --query "[?tags.env=='ci'].name" -o tsv)"
echo "identity=$(az identity create -g rg-az -n id-az --query id -o tsv)"
echo "identityPrincipal=$(az identity show -g rg-az -n id-az --query principalId -o tsv)"
az identity federated-credential create -g rg-az --identity-name id-az -n github-main \
  --issuer https://token.actions.githubusercontent.com --subject repo:acme/web:ref:refs/heads/main \
  --audiences api://AzureADTokenExchange -o none
echo "fic=$(az identity federated-credential list -g rg-az --identity-name id-az --query '[0].subject' -o tsv)"
# No --api-version: az picks it from the provider's resourceTypes.
echo "site=$(az resource create -g rg-az -n web-az --resource-type Microsoft.Web/sites -p '{"serverFarmId":"plan1"}' --query id -o tsv)"
echo "siteIdentity=$(az resource update -g rg-az -n web-az --resource-type Microsoft.Web/sites --set identity.type=SystemAssigned --query identity.principalId -o tsv)"
echo "listed=$(az resource list -g rg-az --resource-type Microsoft.Web/sites --query '[0].name' -o tsv)"
`)
		if out["group"] != "Succeeded" || out["groups"] != "rg-az" || out["fic"] != "repo:acme/web:ref:refs/heads/main" || out["listed"] != "web-az" {
			t.Fatalf("az: %v", out)
		}
		if _, err := uuid.Parse(out["identityPrincipal"]); err != nil {
			t.Fatalf("identity principal %q", out["identityPrincipal"])
		}
		if _, err := uuid.Parse(out["siteIdentity"]); err != nil {
			t.Fatalf("site identity %q", out["siteIdentity"])
		}
		site, siteIdentity = out["site"], out["siteIdentity"]
	})
	if site == "" {
		t.Fatal("the resources the rest of the suite uses were not created")
	}

	t.Run("role definitions and assignments by object ID through az rest", func(t *testing.T) {
		assignment := uuid.NewString()
		out := az.run(`
ARM="$KL_URL/subscriptions/$KL_SUB/providers/Microsoft.Authorization"
echo "reader=$(az rest --method get --url "$ARM/roleDefinitions?api-version=2022-04-01&\$filter=roleName%20eq%20'Reader'" --query 'value[0].name' -o tsv)"
echo "acrpull=$(az rest --method get --url "$ARM/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d?api-version=2022-04-01" --query properties.roleName -o tsv)"
echo "assigned=$(az rest --method put --url "$ARM/roleAssignments/$NAME?api-version=2022-04-01" \
  --body "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$KL_SUB/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7\",\"principalId\":\"$PRINCIPAL\",\"principalType\":\"ServicePrincipal\"}}" \
  --query properties.principalId -o tsv)"
echo "listed=$(az rest --method get --url "$ARM/roleAssignments?api-version=2022-04-01&\$filter=principalId%20eq%20'$PRINCIPAL'" --query 'value[0].name' -o tsv)"
`, "NAME="+assignment, "PRINCIPAL="+siteIdentity)
		if out["reader"] != authz.RoleReader || out["acrpull"] != "AcrPull" || out["assigned"] != siteIdentity || out["listed"] != assignment {
			t.Fatalf("az rest: %v", out)
		}
	})

	t.Run("Microsoft Graph through az ad: sp create-for-rbac, apps, federated credentials, groups, role assignment by app ID", func(t *testing.T) {
		// az ad calls Graph at the cloud's Graph endpoint (keyless's /v1.0)
		// with a token for it; `az role assignment create` itself crashes in
		// Debian's az 2.45 before sending anything, so the assignment by app
		// ID resolves the app's object ID with az ad and PUTs with az rest.
		out := az.run(`
echo "appId=$(az ad sp create-for-rbac -n ci-deployer --query appId -o tsv)"
APP=$(az ad sp list --display-name ci-deployer --query '[0].appId' -o tsv)
echo "listed=$APP"
echo "shown=$(az ad sp show --id "$APP" --query displayName -o tsv)"
echo "spType=$(az ad sp show --id "$APP" --query servicePrincipalType -o tsv)"
APPOBJ=$(az ad app show --id "$APP" --query id -o tsv)
az ad app federated-credential create --id "$APPOBJ" --parameters '{"name":"github-main","issuer":"https://token.actions.githubusercontent.com","subject":"repo:acme/web:ref:refs/heads/main","audiences":["api://AzureADTokenExchange"]}' -o none
echo "fic=$(az ad app federated-credential list --id "$APPOBJ" --query '[0].subject' -o tsv)"
GROUP=$(az ad group create --display-name ops --mail-nickname ops --query id -o tsv)
SPOBJ=$(az ad sp show --id "$APP" --query id -o tsv)
az ad group member add --group "$GROUP" --member-id "$SPOBJ"
echo "member=$(az ad group member check --group "$GROUP" --member-id "$SPOBJ" --query value -o tsv)"
echo "members=$(az ad group member list --group "$GROUP" --query '[0].id' -o tsv)"
echo "spobj=$SPOBJ"
ARM="$KL_URL/subscriptions/$KL_SUB/providers/Microsoft.Authorization"
echo "assigned=$(az rest --method put --url "$ARM/roleAssignments/$NAME?api-version=2022-04-01" \
  --body "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$KL_SUB/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7\",\"principalId\":\"$SPOBJ\",\"principalType\":\"ServicePrincipal\"}}" \
  --query properties.principalId -o tsv)"
`, "NAME="+uuid.NewString())
		if out["appId"] == "" || out["listed"] != out["appId"] || out["shown"] != "ci-deployer" || out["spType"] != "Application" ||
			out["fic"] != "repo:acme/web:ref:refs/heads/main" || out["member"] != "true" || out["members"] != out["spobj"] || out["assigned"] != out["spobj"] {
			t.Fatalf("az ad: %v", out)
		}
	})

	t.Run("az account get-access-token", func(t *testing.T) {
		out := az.run(`echo "token=$(az account get-access-token --query accessToken -o tsv)"`)
		c := jwtClaims(t, out["token"])
		if c["iss"] != sts.IssuerV1(env.URL, env.Creds.TenantID) || c["aud"] != "https://management.azure.com/" || c["appid"] != env.Creds.ClientID {
			t.Fatalf("claims: iss %v aud %v appid %v", c["iss"], c["aud"], c["appid"])
		}
	})

	t.Run("az deployment group what-if and create with identities and role assignments", func(t *testing.T) {
		tpl := filepath.Join(az.dir, "identity-and-reader.json")
		if err := os.WriteFile(tpl, []byte(identityAndReaderTemplate), 0o644); err != nil {
			t.Fatal(err)
		}
		out := az.run(`
echo "whatif=$(az deployment group what-if -g rg-az -f identity-and-reader.json -p name=id-deployed --no-pretty-print --query "length(changes[?changeType=='Create'])" -o tsv)"
echo "principal=$(az deployment group create -g rg-az -n dep1 -f identity-and-reader.json -p name=id-deployed --query properties.outputs.principalId.value -o tsv)"
echo "state=$(az deployment group show -g rg-az -n dep1 --query properties.provisioningState -o tsv)"
`)
		if out["whatif"] != "2" || out["state"] != "Succeeded" {
			t.Fatalf("az deployment: %v", out)
		}
		got := drain(t, assignmentsClient(t, env, env.AdminCredential(t)).NewListForScopePager(sub, &armauthorization.RoleAssignmentsClientListForScopeOptions{
			Filter: encodeFilter("principalId eq '" + out["principal"] + "'")}),
			func(r armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
				return r.Value
			})
		if len(got) != 1 || !strings.HasSuffix(*got[0].Properties.RoleDefinitionID, authz.RoleReader) {
			t.Fatalf("the deployed identity holds %d assignments", len(got))
		}
	})

	// keyless run starts the child as the site: the App Service variables
	// of both protocol versions, and nothing of the operator's.
	runAsSite := func(t *testing.T, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		childEnv := append(append([]string{}, az.vars...), "AZURE_CONFIG_DIR="+filepath.Join(t.TempDir(), "az"))
		code, err := launcher.Run(ctx, launcher.Options{
			Client:     &workloadapi.Client{BaseURL: env.URL, HTTP: env.HTTPClient},
			Credential: env.AdminCredential(t), Audience: "https://management.azure.com/", ResourceID: site,
		}, launcher.Process{Args: args, Env: childEnv, Dir: az.dir, Stdout: &stdout, Stderr: &stderr})
		if err != nil || code != 0 {
			t.Fatalf("keyless run: code %d, err %v\n--- stdout\n%s\n--- stderr\n%s", code, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	t.Run("az login --identity under keyless run", func(t *testing.T) {
		cloud := azcloud.Commands(env.Creds, "")
		script := strings.Join(cloud[:3], "\n") + `
echo "user=$(az login --identity --query '[0].user.assignedIdentityInfo' -o tsv)"
echo "groups=$(az group list --query "[?name=='rg-az'].name" -o tsv)"
echo "oid=$(az account get-access-token --query accessToken -o tsv | cut -d. -f2)"
`
		out := keyValues(runAsSite(t, "sh", "-ec", script))
		if out["user"] != "MSI" || out["groups"] != "rg-az" {
			t.Fatalf("az under keyless run: %v", out)
		}
		payload, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(out["oid"], "="))
		var c map[string]any
		_ = json.Unmarshal(payload, &c)
		if c["oid"] != siteIdentity {
			t.Fatalf("az's token is for %v, want the site's identity %s", c["oid"], siteIdentity)
		}
	})

	t.Run("Python ManagedIdentityCredential under keyless run", func(t *testing.T) {
		out := runAsSite(t, debianPython, "-c", `
import json, time
from azure.identity import ManagedIdentityCredential
cred = ManagedIdentityCredential()
first = cred.get_token("https://vault.azure.net/.default")
again = cred.get_token("https://vault.azure.net/.default")  # from MSAL's cache: refresh_in is an integer
print("token=" + first.token)
print("cached=%s" % (first.token == again.token))
print("life=%d" % (first.expires_on - time.time()))
`)
		kv := keyValues(out)
		c := jwtClaims(t, kv["token"])
		if c["oid"] != siteIdentity || c["aud"] != "https://vault.azure.net" || kv["cached"] != "True" {
			t.Fatalf("python: oid %v aud %v cached %s", c["oid"], c["aud"], kv["cached"])
		}
		if life, _ := time.ParseDuration(kv["life"] + "s"); life < 50*time.Minute {
			t.Errorf("python saw a token living %s", life)
		}
	})

	t.Run("Python ClientSecretCredential with azure-mgmt-msi and azure-mgmt-authorization", func(t *testing.T) {
		script := `
import json, os, uuid
from azure.identity import ClientSecretCredential
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.authorization import AuthorizationManagementClient
e = os.environ
cred = ClientSecretCredential(e["KL_TENANT"], e["KL_CLIENT"], e["KL_SECRET"], authority=e["KL_URL"], instance_discovery=False)
arm = dict(base_url=e["KL_URL"], credential_scopes=["https://management.azure.com//.default"])
msi = ManagedServiceIdentityClient(cred, e["KL_SUB"], api_version="2022-01-31-preview", **arm)
ident = msi.user_assigned_identities.create_or_update("rg-az", "id-py", {"location": "westus"})
msi.federated_identity_credentials.create_or_update("rg-az", "id-py", "k8s", {
    "issuer": "https://oidc.example/cluster", "subject": "system:serviceaccount:default:web", "audiences": ["api://AzureADTokenExchange"]})
print("identities=" + ",".join(sorted(i.name for i in msi.user_assigned_identities.list_by_resource_group("rg-az"))))
print("fic=" + [f.subject for f in msi.federated_identity_credentials.list("rg-az", "id-py")][0])
auth = AuthorizationManagementClient(cred, e["KL_SUB"], **arm)
scope = "/subscriptions/" + e["KL_SUB"] + "/resourceGroups/rg-az"
reader = list(auth.role_definitions.list(scope, filter="roleName eq 'Reader'"))[0]
ra = auth.role_assignments.create(scope, str(uuid.uuid4()), {
    "role_definition_id": reader.id, "principal_id": ident.principal_id, "principal_type": "ServicePrincipal"})
print("assigned=" + ra.principal_id)
print("listed=%d" % len([a for a in auth.role_assignments.list_for_scope(scope) if a.principal_id == ident.principal_id]))
`
		out := az.run(debianPython + " -c '" + strings.ReplaceAll(script, "'", `'\''`) + "'")
		if out["identities"] != "id-az,id-deployed,id-py" || out["fic"] != "system:serviceaccount:default:web" || out["listed"] != "1" {
			t.Fatalf("python: %v", out)
		}
		if _, err := uuid.Parse(out["assigned"]); err != nil {
			t.Fatalf("assigned %q", out["assigned"])
		}
	})
}
