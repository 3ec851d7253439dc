package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/verify"
)

// TestVerifyPackageAgainstKeyless runs a user's service built on the
// public verify package against a real server: discovery and JWKS from
// keyless, checkAccess asked with the service's own identity (a custom
// "Access Checker" role), a client allowed by Key Vault Secrets User at a
// vault and one that is not, and a token for another service refused.
func TestVerifyPackageAgainstKeyless(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub := env.Creds.SubscriptionID
	ensureGroup(t, env, "rg-svc")
	vaultID, _ := createVault(t, env, "rg-svc", "kv-svc", nil)

	// The service: a custom role with checkAccess only, at the subscription.
	defs := definitionsClient(t, env, env.AdminCredential(t))
	checkerID := uuid.NewString()
	if _, err := defs.CreateOrUpdate(ctx, "/subscriptions/"+sub, checkerID, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Access Checker"), AssignableScopes: []*string{to.Ptr("/subscriptions/" + sub)},
		Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("Keyless.Authorization/checkAccess/action")}}},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	service := newRBACPrincipal(t, env, "orders-service")
	grant(t, env, "/subscriptions/"+sub, checkerID, service.ObjectID)

	const audience = "https://orders.example"
	v, err := verify.New(ctx, verify.Config{Issuer: env.URL + "/" + env.Creds.TenantID + "/", Audiences: []string{audience},
		TenantID: env.Creds.TenantID, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	guard := &verify.Guard{Verifier: v, Authorizer: &verify.AccessClient{
		BaseURL: env.URL, Credential: service.Cred, HTTPClient: env.HTTPClient, Audience: audience, TTL: -1,
	}}
	srv := httptest.NewServer(guard.Require("Microsoft.KeyVault/vaults/secrets/getSecret/action",
		func(*http.Request) string { return vaultID },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	defer srv.Close()

	allowed := newRBACPrincipal(t, env, "client-allowed")
	grant(t, env, vaultID, roleKeyVaultSecretsUser, allowed.ObjectID)
	other := newRBACPrincipal(t, env, "client-other")
	call := func(p rbacPrincipal, scope string) int {
		t.Helper()
		tok, err := p.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(allowed, audience+"/.default"); got != http.StatusNoContent {
		t.Fatalf("allowed client: %d", got)
	}
	if got := call(other, audience+"/.default"); got != http.StatusForbidden {
		t.Fatalf("client without a role: %d", got)
	}
	if got := call(allowed, "https://management.azure.com/.default"); got != http.StatusUnauthorized {
		t.Fatalf("a token for another audience: %d", got)
	}
}
