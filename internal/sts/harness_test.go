package sts

import (
	"context"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/token"
)

// Fixed identifiers, so that the fuzz corpus can name a real client.
const (
	testBaseURL = "https://keyless.test"
	testTenant  = "8a0f3c1e-5b7d-4e2a-9c6f-1d3b5a7e9f20"
	testAppID   = "3f6c2b8e-1a4d-4c7e-b9f2-6e8a0d3c5b71"
	testSecret  = "kls~harness-secret-4d9a1f7c2e6b8a03"
	testUAAppID = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
	// testCertAppID authenticates with the certificate in
	// testdata/client-assertion.pem (a key made for these tests only).
	testCertAppID = "7a9b8c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	testARMScope  = "https://management.azure.com//.default"
	testRemote    = "192.0.2.7:50123"
)

// testEpoch is where the harness clock starts: fixed, so that client
// assertions in the fuzz corpus stay within their time range.
var testEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a token service over a real SQLite store in a temporary
// directory, holding a service principal with a secret (testAppID,
// testSecret), one with a certificate (testCertAppID) and a user-assigned
// identity (testUAAppID), on a clock the test moves.
type harness struct {
	svc     *Service
	handler http.Handler

	mu  sync.Mutex
	now time.Time
}

func newHarness(tb testing.TB, tune func(*Config)) *harness {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "keyless.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	kr, err := keyring.New(keyring.Generate())
	if err != nil {
		tb.Fatal(err)
	}
	if err := token.EnsureKey(ctx, st, kr); err != nil {
		tb.Fatal(err)
	}
	created := testEpoch
	cert, _ := clientCertificate(tb)
	sp := store.Principal{ObjectID: "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", AppID: testAppID, DisplayName: "harness", Kind: store.PrincipalServicePrincipal, CreatedAt: created}
	ua := store.Principal{ObjectID: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", AppID: testUAAppID, DisplayName: "harness-ua", Kind: store.PrincipalUserAssigned,
		ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua", CreatedAt: created}
	certSP := store.Principal{ObjectID: "2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6", AppID: testCertAppID, DisplayName: "harness-cert", Kind: store.PrincipalServicePrincipal, CreatedAt: created}
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		for _, p := range []store.Principal{sp, ua, certSP} {
			if err := tx.CreatePrincipal(ctx, p); err != nil {
				return err
			}
		}
		if err := tx.CreateCredential(ctx, directory.CertificateCredential(certSP.ObjectID, cert, created)); err != nil {
			return err
		}
		return tx.CreateCredential(ctx, directory.SecretCredential(kr, sp.ObjectID, testSecret, created, created.Add(10*365*24*time.Hour)))
	}); err != nil {
		tb.Fatal(err)
	}
	dir, err := directory.Load(ctx, st, kr)
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := token.NewKeySet(ctx, st, kr, 25*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	h := &harness{now: created}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{
		BaseURL: testBaseURL, TenantID: testTenant, Directory: dir, Keys: keys,
		Issuer: &token.Issuer{Keys: keys, Issuer: IssuerV1(testBaseURL, testTenant), TenantID: testTenant, Lifetime: time.Hour, Now: h.clock},
		Logger: discard, Audit: discard, Now: h.clock,
	}
	if tune != nil {
		tune(&cfg)
	}
	h.svc = New(cfg)
	h.handler = h.svc.Handler()
	return h
}

// clientCertificate is the certificate and key of testCertAppID.
func clientCertificate(tb testing.TB) (*x509.Certificate, *rsa.PrivateKey) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "client-assertion.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	var (
		cert *x509.Certificate
		key  *rsa.PrivateKey
	)
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(block.Bytes)
		case "PRIVATE KEY":
			var k any
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			key, _ = k.(*rsa.PrivateKey)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if cert == nil || key == nil {
		tb.Fatal("testdata/client-assertion.pem must hold a certificate and its RSA key")
	}
	return cert, key
}

// clientAssertion signs a client assertion for testCertAppID, as
// azidentity's ClientCertificateCredential does (RS256, x5t), with exp
// at the given offset from testEpoch.
func clientAssertion(tb testing.TB, aud string, exp time.Duration) string {
	tb.Helper()
	cert, key := clientCertificate(tb)
	x5t := sha1.Sum(cert.Raw) //nolint:gosec // x5t is a SHA-1 thumbprint by definition
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", base64.RawURLEncoding.EncodeToString(x5t[:]))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: testCertAppID, Subject: testCertAppID, Audience: jwt.Audience{aud}, ID: "fuzz",
		NotBefore: jwt.NewNumericDate(testEpoch.Add(-time.Minute)), Expiry: jwt.NewNumericDate(testEpoch.Add(exp)),
	}).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// request is one request to the token service, as a client would send it.
type request struct {
	method string
	path   string // default: the v2 token endpoint of testTenant
	query  string
	header http.Header
	body   string
	remote string // default: testRemote
}

func (h *harness) do(req request) *httptest.ResponseRecorder {
	if req.method == "" {
		req.method = http.MethodPost
	}
	if req.path == "" {
		req.path = "/" + testTenant + "/oauth2/v2.0/token"
	}
	if req.remote == "" {
		req.remote = testRemote
	}
	r := &http.Request{
		Method: req.method, URL: &url.URL{Path: req.path, RawQuery: req.query},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: req.header, Body: io.NopCloser(strings.NewReader(req.body)),
		Host: "keyless.test", RemoteAddr: req.remote,
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

// form is the Content-Type of every well-formed token request.
func form() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
}

func withHeader(h http.Header, name, value string) http.Header {
	h.Add(name, value)
	return h
}

// secretBody is a client_credentials request with a client secret.
func secretBody(clientID, secret string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {testARMScope}}.Encode()
}

// oauthAnswer is what every answer of the token service decodes to: an
// Entra error body or a token response.
type oauthAnswer struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`

	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	AccessToken string `json:"access_token"`
}

// oauthErrors are the error codes the token service answers with.
var oauthErrors = map[string]bool{
	"invalid_request": true, "invalid_client": true, "unauthorized_client": true, "unsupported_grant_type": true,
	"invalid_scope": true, "invalid_resource": true, "temporarily_unavailable": true,
}

// checkAnswer reports how an answer departs from the token service's wire
// format: a token response (200), or an Entra OAuth error body with a 4xx
// status and the headers that status needs. MSAL and azidentity parse
// nothing else.
func checkAnswer(status int, header http.Header, body []byte) (oauthAnswer, error) {
	var a oauthAnswer
	if status >= 500 {
		return a, fmt.Errorf("status %d: a client's request must never yield a server error", status)
	}
	if mt, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mt != "application/json" {
		return a, fmt.Errorf("status %d with Content-Type %q, want application/json", status, header.Get("Content-Type"))
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("status %d: body is not a JSON object: %v: %q", status, err, body)
	}
	if status == http.StatusOK {
		if a.TokenType != "Bearer" || a.AccessToken == "" || a.ExpiresIn <= 0 || a.Error != "" {
			return a, fmt.Errorf("200 without a token response: %q", body)
		}
		return a, nil
	}
	if status < 400 {
		return a, fmt.Errorf("status %d: the token service answers with a token or an error, never %d", status, status)
	}
	switch {
	case !oauthErrors[a.Error]:
		return a, fmt.Errorf("status %d: error %q is not an OAuth error code: %q", status, a.Error, body)
	case len(a.ErrorCodes) != 1 || !strings.HasPrefix(a.ErrorDescription, "AADSTS"+strconv.Itoa(a.ErrorCodes[0])+": "):
		return a, fmt.Errorf("status %d: error_description does not start with its AADSTS code %v: %q", status, a.ErrorCodes, a.ErrorDescription)
	case a.TraceID == "" || a.CorrelationID == "" || a.Timestamp == "" || a.ErrorURI == "":
		return a, fmt.Errorf("status %d: trace_id, correlation_id, timestamp and error_uri are required: %q", status, body)
	case status == http.StatusMethodNotAllowed && header.Get("Allow") == "":
		return a, fmt.Errorf("405 without Allow")
	case status == http.StatusUnauthorized && header.Get("WWW-Authenticate") == "":
		return a, fmt.Errorf("401 without WWW-Authenticate")
	case status == http.StatusTooManyRequests:
		if n, err := strconv.Atoi(header.Get("Retry-After")); err != nil || n < 1 {
			return a, fmt.Errorf("429 with Retry-After %q, want whole seconds, at least 1", header.Get("Retry-After"))
		}
	}
	return a, nil
}
