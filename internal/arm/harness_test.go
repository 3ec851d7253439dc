package arm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

const (
	tenantID       = "7f3c1a52-0b6e-4d7a-9c1e-2a4b5c6d7e8f"
	subscriptionID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	adminToken     = "admin-token"
	userToken      = "user-token"
)

var (
	admin = arm.Caller{ObjectID: "aaaaaaaa-0000-0000-0000-000000000001", AppID: "bbbbbbbb-0000-0000-0000-000000000001", TenantID: tenantID, DisplayName: "admin"}
	alice = arm.Caller{ObjectID: "aaaaaaaa-0000-0000-0000-000000000002", AppID: "bbbbbbbb-0000-0000-0000-000000000002", TenantID: tenantID, DisplayName: "alice"}
)

// tokenAuthenticator maps fixed opaque bearer tokens to callers, with the
// ARM 401 codes for everything else.
type tokenAuthenticator map[string]arm.Caller

func (a tokenAuthenticator) Authenticate(r *http.Request) (arm.Caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeAuthenticationFailed, Message: "Authentication failed. The 'Authorization' header is missing."}
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeAuthenticationFailed, Message: "Authentication failed. The 'Authorization' header is not in the form 'Bearer <token>'."}
	}
	if tok == "expired" {
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeExpiredAuthenticationToken, Message: "The access token expiry UTC time is earlier than current UTC time."}
	}
	c, ok := a[tok]
	if !ok {
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeInvalidAuthenticationToken, Message: "The access token is invalid."}
	}
	return c, nil
}

// grantAuthorizer is an RBAC double: a principal may perform an action at a
// scope when a grant for it names the action (or "*") at that scope or an
// ancestor (segment boundary, case-insensitive).
type grantAuthorizer struct {
	mu     sync.Mutex
	grants []grant
	asked  []string
}

type grant struct{ principal, action, scope string }

func (g *grantAuthorizer) allow(principal, action, scope string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grants = append(g.grants, grant{principal, action, scope})
}

func (g *grantAuthorizer) Allowed(principal, action, scope string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, action+" "+scope)
	for _, gr := range g.grants {
		if gr.principal != principal || gr.action != "*" && !strings.EqualFold(gr.action, action) {
			continue
		}
		s, p := strings.ToLower(scope), strings.ToLower(strings.TrimSuffix(gr.scope, "/"))
		if p == "" || s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// env is a Server behind a real TLS listener, with SDK client options
// pointing at it.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  store.Store
	server *arm.Server
	srv    *httptest.Server
	authz  *grantAuthorizer
	opts   *azarm.ClientOptions
}

type envOption func(*arm.Config)

func newEnv(t *testing.T, options ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateSubscription(ctx, store.Subscription{ID: subscriptionID, DisplayName: "Default", State: "Enabled", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	authz := &grantAuthorizer{}
	authz.allow(admin.ObjectID, "*", "/")
	e := &env{t: t, ctx: ctx, store: st, authz: authz}

	var handler http.Handler
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	cfg := arm.Config{
		Store:                    st,
		Authenticator:            tokenAuthenticator{adminToken: admin, userToken: alice},
		Authorizer:               authz,
		TenantID:                 tenantID,
		BaseURL:                  e.srv.URL,
		FederatedCredentialLimit: 20,
	}
	for _, o := range options {
		o(&cfg)
	}
	e.server = arm.New(cfg)
	handler = e.server
	e.opts = &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: e.srv.URL + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: e.srv.URL, Audience: "https://management.azure.com"},
			},
		},
		Transport: e.srv.Client(),
		// Fail fast: a retried 5xx would hide the first error behind delays.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
	return e
}

// staticCredential returns a fixed opaque token, which tokenAuthenticator
// maps to a caller.
type staticCredential string

func (c staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

var (
	adminCred = staticCredential(adminToken)
	aliceCred = staticCredential(userToken)
)

// do sends a raw request, for what no SDK client can express (bad JSON,
// missing api-version, oversize bodies).
func (e *env) do(method, path, token, body string) (*http.Response, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func ptr[T any](v T) *T { return &v }

// responseError extracts the azcore error of a failed SDK call.
func responseError(t *testing.T, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not an *azcore.ResponseError", err, err)
	}
	return re
}
