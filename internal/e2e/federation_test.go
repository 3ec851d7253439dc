package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

// testIssuer is an external OIDC issuer (think Kubernetes service-account
// tokens) served over HTTPS on loopback.
type testIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

func newTestIssuer(t *testing.T) *testIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, kid: "k1"}
	mux := http.NewServeMux()
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"id_token"}, "subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	return is
}

func (is *testIssuer) sign(t *testing.T, iss, sub, aud string, exp time.Time) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: is.key, KeyID: is.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iss, Subject: sub, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(time.Now()), NotBefore: jwt.NewNumericDate(time.Now().Add(-time.Minute)), Expiry: jwt.NewNumericDate(exp)}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// createUAMIWithFIC stores a user-assigned identity with one federated
// credential directly (the ARM route is tested elsewhere).
func createUAMIWithFIC(t *testing.T, env *testenv.Env, issuer, subject string) store.Principal {
	t.Helper()
	st := env.Server.Installation().Store
	sub := env.Creds.SubscriptionID
	id := "/subscriptions/" + sub + "/resourceGroups/rg-fed/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fed-" + uuid.NewString()[:8]
	p := store.Principal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "fed", Kind: store.PrincipalUserAssigned, ResourceID: id}
	ctx := context.Background()
	rev, err := st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutResourceGroup(ctx, store.ResourceGroup{SubscriptionID: sub, Name: "rg-fed", Location: "westus"}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		if _, err := tx.PutResource(ctx, store.Resource{ID: id, SubscriptionID: sub, ResourceGroup: "rg-fed",
			Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Name: id[strings.LastIndex(id, "/")+1:],
			Location: "westus", Body: []byte(`{}`), PrincipalID: p.ObjectID}); err != nil {
			return err
		}
		_, err := tx.PutFederatedCredential(ctx, store.FederatedCredential{IdentityID: id, Name: "fic1", Issuer: issuer,
			Subject: subject, Audiences: []string{"api://AzureADTokenExchange"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
	return p
}

func workloadCredential(t *testing.T, env *testenv.Env, clientID, assertion string) *azidentity.WorkloadIdentityCredential {
	t.Helper()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(assertion), 0o600); err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientID: clientID, TenantID: env.Creds.TenantID, TokenFilePath: file,
		ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestWorkloadIdentityFederation(t *testing.T) {
	issuer := newTestIssuer(t)
	env := testenv.Start(t, testenv.Options{FederationHTTPClient: issuer.srv.Client()})
	const subject = "system:serviceaccount:payments:api"
	p := createUAMIWithFIC(t, env, issuer.srv.URL, subject)
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name      string
		assertion string
		wantErr   string
	}{
		{"matching token", issuer.sign(t, issuer.srv.URL, subject, "api://AzureADTokenExchange", exp), ""},
		{"wrong subject", issuer.sign(t, issuer.srv.URL, "system:serviceaccount:other:api", "api://AzureADTokenExchange", exp), "AADSTS700213"},
		{"wrong audience", issuer.sign(t, issuer.srv.URL, subject, "api://other", exp), "AADSTS700212"},
		{"wrong issuer", issuer.sign(t, "https://issuer.invalid", subject, "api://AzureADTokenExchange", exp), "AADSTS700211"},
		{"expired token", issuer.sign(t, issuer.srv.URL, subject, "api://AzureADTokenExchange", time.Now().Add(-time.Hour)), "AADSTS700024"},
		{"forged signature", func() string {
			forger := newTestIssuer(t)
			return forger.sign(t, issuer.srv.URL, subject, "api://AzureADTokenExchange", exp)
		}(), "AADSTS700027"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := getToken(t, workloadCredential(t, env, p.AppID, tc.assertion), "api://fed-"+uuid.NewString()+"/.default")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := claimsOf(t, at.Token)
			if c.ObjectID != p.ObjectID || c.AppID != p.AppID || !strings.Contains(c.MIResourceID, "/resourcegroups/rg-fed/") {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// A token issued by one keyless installation is the external token for an
// identity in another.
func TestKeylessToKeylessFederation(t *testing.T) {
	home := testenv.Start(t, testenv.Options{})
	remote := testenv.Start(t, testenv.Options{FederationHTTPClient: home.HTTPClient})
	homeToken, err := getToken(t, home.AdminCredential(t), "api://AzureADTokenExchange/.default")
	if err != nil {
		t.Fatal(err)
	}
	hc := claimsOf(t, homeToken.Token)
	p := createUAMIWithFIC(t, remote, hc.Issuer, hc.ObjectID)
	at, err := getToken(t, workloadCredential(t, remote, p.AppID, homeToken.Token), armScope)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, remote, "https://management.azure.com/").Verify(context.Background(), at.Token); err != nil {
		t.Fatal(err)
	}
	if claimsOf(t, at.Token).ObjectID != p.ObjectID {
		t.Fatal("token for the wrong identity")
	}
}
