package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/cli"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/launcher"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/usageapi"
	"github.com/keyless-io/keyless/internal/workload/workloadtest"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// TestUsageIsRecordedOnEveryTokenPathAndReadable gets tokens the three
// ways a workload can (a service principal's secret, a managed identity
// through `keyless run`'s endpoint with azidentity's
// ManagedIdentityCredential, a federated exchange with
// WorkloadIdentityCredential), makes requests allowed and denied, and
// reads the usage back through the API and the CLI, on both stores.
func TestUsageIsRecordedOnEveryTokenPathAndReadable(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			issuer := newTestIssuer(t)
			opts := testenv.Options{FederationHTTPClient: issuer.srv.Client()}
			if backend == "postgres" {
				opts.StoreDSN = pgtest.DSN(t)
			}
			testUsage(t, testenv.Start(t, opts), issuer)
		})
	}
}

func testUsage(t *testing.T, env *testenv.Env, issuer *testIssuer) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub := env.Creds.SubscriptionID
	admin := env.AdminCredential(t)
	rgScope := "/subscriptions/" + sub + "/resourceGroups/rg-usage"
	groups, _ := armresources.NewResourceGroupsClient(sub, admin, env.ARMOptions())
	for _, g := range []string{"rg-usage", "rg-other"} {
		if _, err := groups.CreateOrUpdate(ctx, g, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, admin, env.ARMOptions())
	made := map[string]armmsi.Identity{}
	for _, n := range []string{"id-used", "id-idle"} {
		resp, err := ids.CreateOrUpdate(ctx, "rg-usage", n, armmsi.Identity{Location: to.Ptr("westus")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		made[n] = resp.Identity
	}
	used := made["id-used"]
	usedID := workloadtest.Identity{ResourceID: *used.ID, ObjectID: *used.Properties.PrincipalID, ClientID: *used.Properties.ClientID}
	ws := workloadtest.Store{St: env.Server.Installation().Store, WaitFor: env.Server.WaitFor, SubscriptionID: sub}
	app := ws.Compute(t, "rg-usage", "Microsoft.Web/sites", "app1", false, usedID)

	// 1. A service principal with Reader on rg-usage: a token by secret, a
	// read it may make, a write it may not.
	sp := newRBACPrincipal(t, env, "usage-reader")
	grant(t, env, rgScope, readerRoleID, sp.ObjectID)
	spGroups, _ := armresources.NewResourceGroupsClient(sub, sp.Cred, env.ARMOptions())
	if _, err := spGroups.Get(ctx, "rg-usage", nil); err != nil {
		t.Fatal(err)
	}
	spIDs, _ := armmsi.NewUserAssignedIdentitiesClient(sub, sp.Cred, env.ARMOptions())
	_, err := spIDs.CreateOrUpdate(ctx, "rg-usage", "id-denied", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	wantARMError(t, err, 403, "AuthorizationFailed")
	_, err = spGroups.CreateOrUpdate(ctx, "rg-other", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil)
	wantARMError(t, err, 403, "AuthorizationFailed")

	// 2. The user-assigned identity through keyless run's endpoint.
	l, err := launcher.Start(ctx, launcher.Options{
		Client: &workloadapi.Client{BaseURL: env.URL, HTTP: env.HTTPClient}, Credential: admin, ResourceID: app.ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("IDENTITY_ENDPOINT", l.Endpoint())
	t.Setenv("IDENTITY_HEADER", l.Secret())
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(usedID.ClientID)})
	if err != nil {
		t.Fatal(err)
	}
	const appAudience = "api://usage-e2e"
	if _, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{appAudience + "/.default"}}); err != nil {
		t.Fatal(err)
	}

	// 3. A federated exchange for another identity.
	const subject = "system:serviceaccount:usage:api"
	fed := createUAMIWithFIC(t, env, issuer.srv.URL, subject)
	assertion := issuer.sign(t, issuer.srv.URL, subject, "api://AzureADTokenExchange", time.Now().Add(time.Hour))
	if _, err := getToken(t, workloadCredential(t, env, fed.AppID, assertion), appAudience+"/.default"); err != nil {
		t.Fatal(err)
	}

	if err := env.Server.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}

	// Through the API, as the admin, at the resource group.
	byID := readUsage(t, env, admin, rgScope, nil)
	wantTokens(t, byID, usedID.ObjectID, appAudience, 1)
	if got := byID[*made["id-idle"].Properties.PrincipalID]; got.Properties.LastTokenIssued != nil || len(got.Properties.Tokens) != 0 {
		t.Errorf("the idle identity: %+v, want no token", got.Properties)
	}
	wantTokens(t, byID, sp.ObjectID, "https://management.azure.com", 1)
	spUsage := byID[sp.ObjectID].Properties
	wantAction(t, spUsage, "Microsoft.Resources/subscriptions/resourceGroups/read", rgScope, usageapi.OutcomeAllowed)
	wantAction(t, spUsage, "Microsoft.ManagedIdentity/userAssignedIdentities/write", rgScope+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-denied", usageapi.OutcomeDenied)
	wantAction(t, spUsage, "Microsoft.Resources/subscriptions/resourceGroups/write", "/subscriptions/"+sub+"/resourceGroups/rg-other", usageapi.OutcomeDenied)
	if _, ok := byID[fed.ObjectID]; ok {
		t.Errorf("the identity in rg-fed is listed at rg-usage")
	}
	// At the federated identity's own ID.
	wantTokens(t, readUsage(t, env, admin, fed.ResourceID, nil), fed.ObjectID, appAudience, 1)

	// As the Reader of rg-usage: its own denied write in rg-other, a scope
	// it may not read, is left out.
	mine := readUsage(t, env, sp.Cred, rgScope, url.Values{"principalId": {sp.ObjectID}})
	if len(mine) != 1 {
		t.Fatalf("principalId filter: %d principals", len(mine))
	}
	for _, a := range mine[sp.ObjectID].Properties.Actions {
		if strings.Contains(a.Scope, "rg-other") {
			t.Errorf("a reader of rg-usage sees a request at %s", a.Scope)
		}
	}
	// And not at the subscription.
	status, _ := rawARM(t, env, sp.Cred, "GET", "/subscriptions/"+sub+usageapi.Path, apiVersion(usageapi.APIVersion), nil)
	if status != 403 {
		t.Errorf("usage at the subscription as a reader of one group: %d, want 403", status)
	}

	// Through the CLI.
	creds := filepath.Join(env.DataDir, "admin-credentials.json")
	var shown map[string]any
	decodeJSONText(t, keyless(t, creds, "identity", "show", "-g", "rg-usage", "-n", "id-used", "-o", "json"), &shown)
	if last, _ := shown["lastTokenIssued"].(map[string]any); last[appAudience] == nil || shown["lastActivity"] == nil {
		t.Errorf("identity show: lastTokenIssued %v, lastActivity %v", shown["lastTokenIssued"], shown["lastActivity"])
	}
	decodeJSONText(t, keyless(t, creds, "identity", "show", "-g", "rg-usage", "-n", "id-idle", "-o", "json"), &shown)
	if last, _ := shown["lastTokenIssued"].(map[string]any); len(last) != 0 || shown["lastActivity"] != nil {
		t.Errorf("identity show of the idle identity: lastTokenIssued %v, lastActivity %v", shown["lastTokenIssued"], shown["lastActivity"])
	}
	var detail map[string]any
	decodeJSONText(t, keyless(t, creds, "identity", "usage", "-g", "rg-usage", "-n", "id-used", "-o", "json"), &detail)
	if toks, _ := detail["tokens"].([]any); len(toks) != 1 || detail["principalId"] != usedID.ObjectID {
		t.Errorf("identity usage: %v", detail)
	}
	table := keyless(t, creds, "usage", "--scope", rgScope, "-o", "table")
	for _, want := range []string{"LastTokenIssued", "usage-reader", "id-idle", "never"} {
		if !strings.Contains(table, want) {
			t.Errorf("usage -o table lacks %q:\n%s", want, table)
		}
	}
	decodeJSONText(t, keyless(t, creds, "sp", "show", "--id", sp.ObjectID, "-o", "json"), &shown)
	if last, _ := shown["lastTokenIssued"].(map[string]any); last["https://management.azure.com"] == nil {
		t.Errorf("sp show: lastTokenIssued %v", shown["lastTokenIssued"])
	}
}

// readUsage reads the usage list at scope and keys it by principal.
func readUsage(t *testing.T, env *testenv.Env, cred azcore.TokenCredential, scope string, q url.Values) map[string]usageapi.PrincipalUsage {
	t.Helper()
	return readUsageWith(t, env.ARMOptions(), cred, scope, q)
}

// readUsageWith reads through the given client options (another replica).
func readUsageWith(t *testing.T, opts *arm.ClientOptions, cred azcore.TokenCredential, scope string, q url.Values) map[string]usageapi.PrincipalUsage {
	t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("api-version", usageapi.APIVersion)
	client, err := arm.NewClient("keyless-e2e", "v0.1.0", cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(context.Background(), "GET", runtime.JoinPaths(client.Endpoint(), strings.TrimSuffix(scope, "/")+usageapi.Path))
	if err != nil {
		t.Fatal(err)
	}
	req.Raw().URL.RawQuery = q.Encode()
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("usage at %s: %d %s", scope, resp.StatusCode, body)
	}
	var list usageapi.List
	decodeJSON(t, body, &list)
	out := map[string]usageapi.PrincipalUsage{}
	for _, u := range list.Value {
		out[u.Properties.PrincipalID] = u
	}
	return out
}

func wantTokens(t *testing.T, byID map[string]usageapi.PrincipalUsage, principalID, audience string, atLeast int64) {
	t.Helper()
	u, ok := byID[principalID]
	if !ok {
		t.Fatalf("principal %s not listed", principalID)
	}
	for _, tok := range u.Properties.Tokens {
		if tok.Audience == audience {
			if tok.Count < atLeast || len(tok.Days) == 0 || u.Properties.LastTokenIssued == nil {
				t.Errorf("tokens of %s for %s: %+v", principalID, audience, tok)
			}
			return
		}
	}
	t.Errorf("no token of %s for %s: %+v", principalID, audience, u.Properties.Tokens)
}

func wantAction(t *testing.T, p usageapi.Properties, action, scope, outcome string) {
	t.Helper()
	for _, a := range p.Actions {
		if strings.EqualFold(a.Action, action) && strings.EqualFold(a.Scope, scope) && a.Outcome == outcome && a.Count > 0 {
			return
		}
	}
	t.Errorf("no %s %s at %s among %+v", outcome, action, scope, p.Actions)
}

// keyless runs the CLI as cmd/keyless does and returns its stdout.
func keyless(t *testing.T, creds string, args ...string) string {
	t.Helper()
	root := &cobra.Command{Use: "keyless", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root)
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append(args, "--credentials", creds))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("keyless %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

func decodeJSONText(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
}

// TestUsageMergesAcrossReplicas: tokens issued through two replicas
// sharing PostgreSQL are flushed by each into rows of its own and read
// back as one count through either.
func TestUsageMergesAcrossReplicas(t *testing.T) {
	a, b := twoReplicas(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst := a.Server.Installation()
	created, err := directory.CreateServicePrincipal(ctx, inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: "two-replicas"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Server.WaitFor(ctx, created.Revision); err != nil {
		t.Fatal(err)
	}
	if err := b.Server.WaitFor(ctx, created.Revision); err != nil {
		t.Fatal(err)
	}
	const audience = "api://two-replicas"
	// A credential caches its token, so each token comes from a fresh
	// one: 2 through replica a, 3 through replica b.
	for i := range 5 {
		opts := a.ClientOptions()
		if i >= 2 {
			opts = viaReplica(a, b)
		}
		cred := secretCredential(t, a.Creds.TenantID, created.Principal.AppID, created.Secret, opts)
		if _, err := getToken(t, cred, audience+"/.default"); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*testenv.Env{a, b} {
		if err := r.Server.FlushUsage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Each replica wrote rows of its own; either reads them merged.
	for name, opts := range map[string]policy.ClientOptions{"a": a.ClientOptions(), "b": viaReplica(a, b)} {
		admin := secretCredential(t, a.Creds.TenantID, a.Creds.ClientID, a.Creds.ClientSecret, opts)
		byID := readUsageWith(t, &arm.ClientOptions{ClientOptions: opts}, admin, "/", url.Values{"principalId": {created.Principal.ObjectID}})
		u := byID[created.Principal.ObjectID]
		if len(u.Properties.Tokens) != 1 || u.Properties.Tokens[0].Count != 5 || len(u.Properties.Tokens[0].Days) == 0 {
			t.Fatalf("tokens through two replicas, read via %s: %+v, want one audience counting 5", name, u.Properties.Tokens)
		}
	}
}
