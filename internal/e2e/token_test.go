package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is SHA-1 by definition
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/token"
)

const armScope = "https://management.azure.com//.default"

// verifier builds a go-oidc verifier from nothing but the issuer URL: the
// discovery document and JWKS are fetched from the server.
func verifier(t *testing.T, env *testenv.Env, audience string) *oidc.IDTokenVerifier {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), env.HTTPClient)
	provider, err := oidc.NewProvider(ctx, env.URL+"/"+env.Creds.TenantID+"/")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return provider.Verifier(&oidc.Config{ClientID: audience})
}

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) (azcore.AccessToken, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
}

func claimsOf(t *testing.T, raw string) token.Claims {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c token.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientSecretCredentialTokenVerifiesThroughDiscovery(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	cred := env.AdminCredential(t)
	tests := []struct {
		name, scope, wantAud string
	}{
		{"ARM audience with the SDK's double slash", armScope, "https://management.azure.com/"},
		{"ARM default cloud audience", "https://management.core.windows.net//.default", "https://management.core.windows.net/"},
		{"audience without trailing slash", "https://management.azure.com/.default", "https://management.azure.com"},
		{"custom API audience", "api://orders/.default", "api://orders"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := getToken(t, cred, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Until(at.ExpiresOn); d < 55*time.Minute || d > 61*time.Minute {
				t.Errorf("ExpiresOn in %s, want about 1h", d)
			}
			idt, err := verifier(t, env, tc.wantAud).Verify(context.Background(), at.Token)
			if err != nil {
				t.Fatalf("verify through discovery: %v", err)
			}
			c := claimsOf(t, at.Token)
			if c.Audience != tc.wantAud || idt.Subject != c.ObjectID {
				t.Errorf("aud %q sub %q oid %q", c.Audience, idt.Subject, c.ObjectID)
			}
			if c.AppID != env.Creds.ClientID || c.TenantID != env.Creds.TenantID || c.Version != "1.0" ||
				c.IDType != "app" || c.AppIDACR != "1" || c.UTI == "" || c.ObjectID == "" {
				t.Errorf("claims %+v", c)
			}
		})
	}
}

// rawTokenError posts a token request through the official credential and
// returns the HTTP status and the Entra error code the server answered.
func authFailure(t *testing.T, err error) (int, string) {
	t.Helper()
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) {
		t.Fatalf("error %v is not an AuthenticationFailedError", err)
	}
	if afe.RawResponse == nil {
		t.Fatalf("no raw response in %v", err)
	}
	return afe.RawResponse.StatusCode, afe.Error()
}

func TestTokenEndpointErrors(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	st := env.Server.Installation().Store
	kr := env.Server.Installation().Keyring

	expiredSecret := "kls~expired-" + uuid.NewString()
	expiredApp := store.Principal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "expired", Kind: store.PrincipalServicePrincipal}
	rev, err := st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.CreatePrincipal(context.Background(), expiredApp); err != nil {
			return err
		}
		past := time.Now().Add(-time.Hour)
		return tx.CreateCredential(context.Background(), store.Credential{
			ID: uuid.NewString(), PrincipalID: expiredApp.ObjectID, Kind: store.CredentialSecret,
			SecretHash: kr.HashSecret(expiredSecret), NotBefore: past.Add(-time.Hour), NotAfter: past, CreatedAt: past,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(context.Background(), rev); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		tenant     string
		clientID   string
		secret     string
		scope      string
		wantStatus int
		wantCode   string
	}{
		{"wrong secret", env.Creds.TenantID, env.Creds.ClientID, "kls~wrong", armScope, 401, "AADSTS7000215"},
		{"unknown client", env.Creds.TenantID, uuid.NewString(), "x", armScope, 400, "AADSTS700016"},
		{"unknown tenant", uuid.NewString(), env.Creds.ClientID, env.Creds.ClientSecret, armScope, 400, "AADSTS90002"},
		{"expired secret", env.Creds.TenantID, expiredApp.AppID, expiredSecret, armScope, 401, "AADSTS7000222"},
		{"scope without /.default", env.Creds.TenantID, env.Creds.ClientID, env.Creds.ClientSecret, "https://management.azure.com/user_impersonation", 400, "AADSTS1002012"},
		{"resource that is not a URI", env.Creds.TenantID, env.Creds.ClientID, env.Creds.ClientSecret, "not-a-uri/.default", 400, "AADSTS500011"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewClientSecretCredential(tc.tenant, tc.clientID, tc.secret, &azidentity.ClientSecretCredentialOptions{
				ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = getToken(t, cred, tc.scope)
			if err == nil {
				t.Fatal("got a token")
			}
			status, msg := authFailure(t, err)
			if status != tc.wantStatus || !strings.Contains(msg, tc.wantCode) {
				t.Fatalf("status %d, message %s; want %d %s", status, msg, tc.wantStatus, tc.wantCode)
			}
			if strings.Contains(msg, env.Creds.ClientSecret) {
				t.Fatal("error echoes the secret")
			}
		})
	}
}

// newCertificate makes a self-signed RSA certificate for a client.
func newCertificate(t *testing.T, notAfter time.Time) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func createCertPrincipal(t *testing.T, env *testenv.Env, cert *x509.Certificate) store.Principal {
	t.Helper()
	inst := env.Server.Installation()
	created, err := directory.CreateServicePrincipal(context.Background(), inst.Store, inst.Keyring,
		directory.NewServicePrincipal{DisplayName: "cert-app", Certificates: []*x509.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(context.Background(), created.Revision); err != nil {
		t.Fatal(err)
	}
	return created.Principal
}

func TestClientCertificateCredential(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	cert, key := newCertificate(t, time.Now().Add(24*time.Hour))
	p := createCertPrincipal(t, env, cert)
	other, otherKey := newCertificate(t, time.Now().Add(24*time.Hour))

	t.Run("azidentity PS256 with x5t#S256 in standard base64", func(t *testing.T) {
		cred, err := azidentity.NewClientCertificateCredential(env.Creds.TenantID, p.AppID, []*x509.Certificate{cert}, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		at, err := getToken(t, cred, armScope)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifier(t, env, "https://management.azure.com/").Verify(context.Background(), at.Token); err != nil {
			t.Fatal(err)
		}
		if c := claimsOf(t, at.Token); c.AppIDACR != "2" || c.ObjectID != p.ObjectID {
			t.Fatalf("claims %+v", c)
		}
	})

	endpoint := env.URL + "/" + env.Creds.TenantID + "/oauth2/v2.0/token"
	good := func(h map[jose.HeaderKey]any) assertionCase {
		return assertionCase{alg: jose.RS256, key: key, headers: h, iss: p.AppID, aud: endpoint, exp: time.Now().Add(10 * time.Minute)}
	}
	s1 := sha1.Sum(cert.Raw) //nolint:gosec
	tests := []struct {
		name    string
		c       assertionCase
		wantErr string
	}{
		{"RS256 with x5t base64url", good(map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}), ""},
		{"RS256 with x5t standard base64", good(map[jose.HeaderKey]any{"x5t": base64.StdEncoding.EncodeToString(s1[:])}), ""},
		{"PS256 with x5t#S256 base64url (msal-node)", func() assertionCase {
			c := good(map[jose.HeaderKey]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sha256Sum(cert.Raw))})
			c.alg = jose.PS256
			return c
		}(), ""},
		{"unregistered certificate", assertionCase{alg: jose.RS256, key: otherKey, iss: p.AppID, aud: endpoint, exp: time.Now().Add(10 * time.Minute),
			headers: map[jose.HeaderKey]any{"x5t#S256": base64.StdEncoding.EncodeToString(sha256Sum(other.Raw))}}, "AADSTS700027"},
		{"signed by another key", func() assertionCase {
			c := good(map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])})
			c.key = otherKey
			return c
		}(), "AADSTS700027"},
		{"wrong audience", func() assertionCase {
			c := good(map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])})
			c.aud = "https://elsewhere.example/token"
			return c
		}(), "AADSTS700212"},
		{"expired assertion", func() assertionCase {
			c := good(map[jose.HeaderKey]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])})
			c.exp = time.Now().Add(-time.Hour)
			return c
		}(), "AADSTS700024"},
		{"no thumbprint header", good(nil), "AADSTS700027"},
		{"malformed assertion", assertionCase{raw: "not.a.jwt"}, "AADSTS50027"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewClientAssertionCredential(env.Creds.TenantID, p.AppID,
				func(context.Context) (string, error) { return tc.c.sign(t), nil },
				&azidentity.ClientAssertionCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			at, err := getToken(t, cred, "api://cert-test-"+uuid.NewString()+"/.default")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if claimsOf(t, at.Token).ObjectID != p.ObjectID {
					t.Fatal("token for the wrong principal")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %s", err, tc.wantErr)
			}
		})
	}
}

type assertionCase struct {
	raw     string
	alg     jose.SignatureAlgorithm
	key     crypto.Signer
	headers map[jose.HeaderKey]any
	iss     string
	aud     string
	exp     time.Time
}

func (c assertionCase) sign(t *testing.T) string {
	if c.raw != "" {
		return c.raw
	}
	opts := &jose.SignerOptions{ExtraHeaders: c.headers}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: c.key}, opts.WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: c.iss, Subject: c.iss, Audience: jwt.Audience{c.aud}, ID: uuid.NewString(),
		NotBefore: jwt.NewNumericDate(time.Now().Add(-time.Minute)), Expiry: jwt.NewNumericDate(c.exp),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTokensVerifyAcrossKeyRotation(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	inst := env.Server.Installation()
	before, err := getToken(t, env.AdminCredential(t), armScope)
	if err != nil {
		t.Fatal(err)
	}
	oldKID := kidOf(t, before.Token)
	newKID, rev, err := token.Rotate(context.Background(), inst.Store, inst.Keyring)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	// A fresh credential: the first one caches its token.
	after, err := getToken(t, env.AdminCredential(t), armScope)
	if err != nil {
		t.Fatal(err)
	}
	if got := kidOf(t, after.Token); got != newKID || got == oldKID {
		t.Fatalf("new token signed by %s, want %s (old %s)", got, newKID, oldKID)
	}
	v := verifier(t, env, "https://management.azure.com/")
	for name, tok := range map[string]string{"before rotation": before.Token, "after rotation": after.Token} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func kidOf(t *testing.T, raw string) string {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func TestOpenIDConfigurationMatchesAuthority(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, path := range []string{"/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			resp, err := env.HTTPClient.Get(env.URL + "/" + env.Creds.TenantID + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var doc map[string]any
			if err := jsonDecode(resp, &doc); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"} {
				s, _ := doc[f].(string)
				if !strings.HasPrefix(s, env.URL+"/"+env.Creds.TenantID+"/") && s != env.URL+"/"+env.Creds.TenantID+"/" {
					t.Errorf("%s = %q does not share the authority %s", f, s, env.URL)
				}
			}
		})
	}
}

func TestDeletedPrincipalGetsNoNewToken(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	inst := env.Server.Installation()
	created, err := directory.CreateServicePrincipal(context.Background(), inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: "short-lived"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(context.Background(), created.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, env.SecretCredential(t, created.Principal.AppID, created.Secret), armScope); err != nil {
		t.Fatal(err)
	}
	rev, err := inst.Store.Update(context.Background(), func(tx store.Tx) error {
		return directory.DeletePrincipal(context.Background(), tx, created.Principal.ObjectID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	_, err = getToken(t, env.SecretCredential(t, created.Principal.AppID, created.Secret), armScope)
	if err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("deleted principal: err = %v", err)
	}
}

func TestMetricsCountTokens(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	if _, err := getToken(t, env.AdminCredential(t), armScope); err != nil {
		t.Fatal(err)
	}
	_, _ = getToken(t, env.SecretCredential(t, env.Creds.ClientID, "kls~wrong"), armScope)
	resp, err := env.HTTPClient.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`keyless_tokens_total{grant="secret",outcome="issued"} 1`,
		`keyless_tokens_total{grant="client_credentials",outcome="invalid_client"} 1`,
		`keyless_http_requests_total{code="200",door="sts"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), env.Creds.ClientSecret) {
		t.Fatal("metrics leak the secret")
	}
}
