package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keyless-io/keyless/verify"
)

const (
	tenant   = "11111111-2222-3333-4444-555555555555"
	audience = "https://api.example"
)

// issuer is a stand-in for keyless's token service: discovery, a JWKS it
// can rotate, and RS256 tokens.
type issuer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey // kid -> key, all published
	jwks atomic.Int32               // JWKS fetches
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{keys: map[string]*rsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/"+tenant+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.iss(), "jwks_uri": is.srv.URL + "/" + tenant + "/discovery/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/"+tenant+"/discovery/keys", func(w http.ResponseWriter, r *http.Request) {
		is.jwks.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		var set jose.JSONWebKeySet
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) iss() string { return is.srv.URL + "/" + tenant + "/" }

// rotate publishes a new key (and, with retire, withdraws the others).
func (is *issuer) rotate(t *testing.T, kid string, retire bool) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if retire {
		is.keys = map[string]*rsa.PrivateKey{}
	}
	is.keys[kid] = k
}

type claims struct {
	jwt.Claims
	OID   string `json:"oid"`
	AppID string `json:"appid"`
	TID   string `json:"tid"`
	AzRID string `json:"xms_az_rid,omitempty"`
}

func (is *issuer) mint(t *testing.T, kid string, edit func(*claims)) string {
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := claims{Claims: jwt.Claims{Issuer: is.iss(), Subject: "oid-1", Audience: jwt.Audience{audience + "/"},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))},
		OID: "oid-1", AppID: "app-1", TID: tenant}
	if edit != nil {
		edit(&c)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newVerifier(t *testing.T, is *issuer) *verify.Verifier {
	v, err := verify.New(t.Context(), verify.Config{Issuer: is.iss(), Audiences: []string{audience}, TenantID: tenant, HTTPClient: is.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyChecksSignatureIssuerAudienceTenantAndLifetime(t *testing.T) {
	is := newIssuer(t)
	is.rotate(t, "k1", false)
	v := newVerifier(t, is)
	other := newIssuer(t)
	other.rotate(t, "k1", false)
	for _, tc := range []struct {
		name  string
		token func() string
		want  error
	}{
		{"a valid token, audience with a trailing slash", func() string { return is.mint(t, "k1", nil) }, nil},
		{"another audience", func() string {
			return is.mint(t, "k1", func(c *claims) { c.Audience = jwt.Audience{"https://other.example"} })
		}, verify.ErrAudience},
		{"expired", func() string {
			return is.mint(t, "k1", func(c *claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Hour)) })
		}, verify.ErrExpired},
		{"not yet valid", func() string {
			return is.mint(t, "k1", func(c *claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) })
		}, verify.ErrInvalid},
		{"another issuer's claim", func() string {
			return is.mint(t, "k1", func(c *claims) { c.Issuer = "https://evil.example/" + tenant + "/" })
		}, verify.ErrInvalid},
		{"another tenant", func() string { return is.mint(t, "k1", func(c *claims) { c.TID = "other" }) }, verify.ErrInvalid},
		{"signed by a key the issuer does not publish", func() string {
			// other's key under the same kid and claims of is.
			return other.mint(t, "k1", func(c *claims) { c.Issuer = is.iss() })
		}, verify.ErrInvalid},
		{"no token", func() string { return "" }, verify.ErrNoToken},
		{"garbage", func() string { return "a.b.c" }, verify.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(t.Context(), tc.token())
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && (c.ObjectID != "oid-1" || c.AppID != "app-1" || c.TenantID != tenant || c.Audience != audience+"/") {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// TestVerifyFollowsKeyRotation: a token signed by a key published after
// the verifier cached the key set is accepted (one refetch), and once the
// old key is withdrawn and forgotten, its tokens are refused.
func TestVerifyFollowsKeyRotation(t *testing.T) {
	is := newIssuer(t)
	is.rotate(t, "k1", false)
	v := newVerifier(t, is)
	old := is.mint(t, "k1", nil)
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	fetches := is.jwks.Load()
	for range 3 {
		if _, err := v.Verify(t.Context(), old); err != nil {
			t.Fatal(err)
		}
	}
	if is.jwks.Load() != fetches {
		t.Fatalf("the key set was fetched again for a known key")
	}
	is.rotate(t, "k2", true)
	if _, err := v.Verify(t.Context(), is.mint(t, "k2", nil)); err != nil {
		t.Fatalf("a token of the rotated key: %v", err)
	}
	if is.jwks.Load() != fetches+1 {
		t.Fatalf("%d fetches after rotation, want one more than %d", is.jwks.Load(), fetches)
	}
	// A fresh verifier knows only the published keys.
	if _, err := newVerifier(t, is).Verify(t.Context(), old); !errors.Is(err, verify.ErrInvalid) {
		t.Fatalf("a withdrawn key's token: %v", err)
	}
}

// fakeAuthorizer allows what is in allowed ("oid action scope").
type fakeAuthorizer struct {
	allowed map[string]bool
	calls   atomic.Int32
}

func (f *fakeAuthorizer) CheckAccess(_ context.Context, c *verify.Claims, action, scope string) (verify.Decision, error) {
	f.calls.Add(1)
	return verify.Decision{Allowed: f.allowed[c.ObjectID+" "+action+" "+scope], Reason: "no assignment allows it"}, nil
}

func TestGuardAsNetHTTPMiddleware(t *testing.T) {
	is := newIssuer(t)
	is.rotate(t, "k1", false)
	authz := &fakeAuthorizer{allowed: map[string]bool{"oid-1 Example.Data/items/read /items": true}}
	g := &verify.Guard{Verifier: newVerifier(t, is), Authorizer: authz, Challenge: `Bearer resource="` + audience + `"`}
	mux := http.NewServeMux()
	scope := func(r *http.Request) string { return "/items" }
	mux.Handle("GET /items", g.Require("Example.Data/items/read", scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		_, _ = w.Write([]byte("hello " + c.ObjectID))
	})))
	mux.Handle("DELETE /items", g.Require("Example.Data/items/delete", scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	good := is.mint(t, "k1", nil)
	for _, tc := range []struct {
		name, method, token string
		status              int
		body                string
	}{
		{"allowed", "GET", good, 200, "hello oid-1"},
		{"no token: 401 with the challenge", "GET", "", 401, "Unauthorized"},
		{"another audience: 401", "GET", is.mint(t, "k1", func(c *claims) { c.Audience = jwt.Audience{"x"} }), 401, "another audience"},
		{"not allowed: 403 naming the data action", "DELETE", good, 403, "Example.Data/items/delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+"/items", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.body) {
				t.Fatalf("%d %s, want %d containing %q", resp.StatusCode, b.String(), tc.status, tc.body)
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") != g.Challenge {
				t.Fatalf("challenge %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

type staticCred struct{}

func (staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "service-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestAccessClientAsksCheckAccessAndCachesDecisions runs AccessClient
// against a stand-in for keyless's checkAccess endpoint.
func TestAccessClientAsksCheckAccessAndCachesDecisions(t *testing.T) {
	var calls atomic.Int32
	allowed := atomic.Bool{}
	allowed.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if r.Header.Get("Authorization") != "Bearer service-token" || r.URL.Query().Get("api-version") != verify.CheckAccessAPIVersion ||
			r.URL.Path != "/subscriptions/s1/resourceGroups/rg/providers/Keyless.Authorization/checkAccess" ||
			body["token"] != "client-token" || body["dataAction"] != "Example.Data/items/read" || body["audience"] != audience {
			http.Error(w, "unexpected request "+r.URL.String(), 400)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"allowed": allowed.Load(), "tokenValid": body["token"] == "client-token", "reason": "by assignment a1"})
	}))
	defer srv.Close()
	ac := &verify.AccessClient{BaseURL: srv.URL, Credential: staticCred{}, Audience: audience, HTTPClient: srv.Client(), TTL: 200 * time.Millisecond}
	c := &verify.Claims{Token: "client-token", ObjectID: "oid-1", Expiry: time.Now().Add(time.Hour)}
	for range 5 {
		d, err := ac.CheckAccess(t.Context(), c, "Example.Data/items/read", "/subscriptions/s1/resourceGroups/rg")
		if err != nil || !d.Allowed || d.Reason != "by assignment a1" {
			t.Fatalf("%+v %v", d, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls to checkAccess for one decision within its TTL", calls.Load())
	}
	allowed.Store(false)
	time.Sleep(250 * time.Millisecond)
	if d, _ := ac.CheckAccess(t.Context(), c, "Example.Data/items/read", "/subscriptions/s1/resourceGroups/rg"); d.Allowed {
		t.Fatal("a revoked permission still allowed after the TTL")
	}
	if _, err := ac.CheckAccess(t.Context(), &verify.Claims{Token: "bad"}, "Example.Data/items/read", "/subscriptions/s1/resourceGroups/rg"); err == nil {
		t.Fatal("a request keyless refused gave no error")
	}
}
