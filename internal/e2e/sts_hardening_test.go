package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/server"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/sts"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/token"
)

// entraError is the token service's error body, as MSAL parses it.
type entraError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	CorrelationID    string `json:"correlation_id"`
}

// tokenRequest sends one raw request to the token service: what no SDK
// sends (a GET, duplicated parameters, Basic beside form credentials), or
// what it sends, byte for byte, to compare.
func tokenRequest(t *testing.T, env *testenv.Env, method, path, query string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	u := env.URL + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	client := *env.HTTPClient
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// entraErrorOf decodes an OAuth error answer, failing the test when the
// answer is not one: JSON with error, an AADSTS description and its code.
func entraErrorOf(t *testing.T, status int, hdr http.Header, body []byte) entraError {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); mt != "application/json" {
		t.Fatalf("status %d with Content-Type %q, want Entra's JSON error: %q", status, hdr.Get("Content-Type"), body)
	}
	var e entraError
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || len(e.ErrorCodes) != 1 ||
		!strings.HasPrefix(e.ErrorDescription, "AADSTS"+strconv.Itoa(e.ErrorCodes[0])+": ") || e.CorrelationID == "" {
		t.Fatalf("status %d: not an Entra error body: %q", status, body)
	}
	return e
}

func formHeader() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
}

func TestTokenServiceAnswersEveryRequestWithAnOAuthError(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		tid := env.Creds.TenantID
		good := url.Values{"grant_type": {"client_credentials"}, "client_id": {env.Creds.ClientID},
			"client_secret": {env.Creds.ClientSecret}, "scope": {armScope}}.Encode()
		tests := []struct {
			name, method, path string
			header             http.Header
			body               string
			status             int
			code               int
			allow              string
		}{
			{"GET on the v2 token endpoint", http.MethodGet, "/" + tid + "/oauth2/v2.0/token", nil, "", 405, 900561, "POST"},
			{"GET on the v1 token endpoint", http.MethodGet, "/" + tid + "/oauth2/token", nil, "", 405, 900561, "POST"},
			{"PUT on the token endpoint, which ARM used to answer", http.MethodPut, "/" + tid + "/oauth2/v2.0/token", formHeader(), good, 405, 900561, "POST"},
			{"DELETE on the v1 token endpoint", http.MethodDelete, "/" + tid + "/oauth2/token", nil, "", 405, 900561, "POST"},
			{"POST on the key set", http.MethodPost, "/" + tid + "/discovery/v2.0/keys", nil, "", 405, 900561, "GET, HEAD"},
			{"an endpoint keyless does not have", http.MethodPost, "/" + tid + "/oauth2/v2.0/devicecode", formHeader(), good, 404, 90023, ""},
			{"a JSON body", http.MethodPost, "/" + tid + "/oauth2/v2.0/token", http.Header{"Content-Type": {"application/json"}},
				`{"grant_type":"client_credentials","client_id":"` + env.Creds.ClientID + `"}`, 400, 90004, ""},
			{"a form in a text/plain body", http.MethodPost, "/" + tid + "/oauth2/v2.0/token", http.Header{"Content-Type": {"text/plain"}}, good, 400, 90004, ""},
			{"no Content-Type", http.MethodPost, "/" + tid + "/oauth2/token", nil, good, 400, 90004, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, hdr, body := tokenRequest(t, env, tc.method, tc.path, "", tc.header, tc.body)
				e := entraErrorOf(t, status, hdr, body)
				if status != tc.status || e.Error != "invalid_request" || e.ErrorCodes[0] != tc.code {
					t.Fatalf("status %d %s %v, want %d invalid_request AADSTS%d: %s", status, e.Error, e.ErrorCodes, tc.status, tc.code, e.ErrorDescription)
				}
				if got := hdr.Get("Allow"); got != tc.allow {
					t.Fatalf("Allow %q, want %q", got, tc.allow)
				}
			})
		}
		t.Run("azidentity still gets its token", func(t *testing.T) {
			if _, err := getToken(t, env.AdminCredential(t), armScope); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func basicAuth(clientID, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+secret))
}

func TestTokenEndpointRefusesParametersGivenTwice(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		path := "/" + env.Creds.TenantID + "/oauth2/v2.0/token"
		grant := "grant_type=client_credentials&scope=" + url.QueryEscape(armScope)
		creds := "&client_id=" + env.Creds.ClientID + "&client_secret=" + url.QueryEscape(env.Creds.ClientSecret)
		other := uuid.NewString()
		withBasic := func(id, secret string) http.Header {
			h := formHeader()
			h.Set("Authorization", basicAuth(id, secret))
			return h
		}
		tests := []struct {
			name, query string
			header      http.Header
			body        string
			wantToken   bool
		}{
			{"client_id twice, the admin's first", "", formHeader(), grant + creds + "&client_id=" + other, false},
			{"client_secret twice", "", formHeader(), grant + creds + "&client_secret=kls~other", false},
			{"scope twice", "", formHeader(), grant + creds + "&scope=" + url.QueryEscape("api://other/.default"), false},
			{"grant_type in the body and the query", "grant_type=client_credentials", formHeader(), grant + creds, false},
			{"client_id in the body and the query", "client_id=" + other, formHeader(), grant + creds, false},
			{"Basic names the admin, the body another client", "", withBasic(env.Creds.ClientID, env.Creds.ClientSecret), grant + "&client_id=" + other, false},
			{"client_secret in Basic and in the body", "", withBasic(env.Creds.ClientID, env.Creds.ClientSecret), grant + "&client_secret=" + url.QueryEscape(env.Creds.ClientSecret), false},
			{"Basic alone gets a token", "", withBasic(env.Creds.ClientID, env.Creds.ClientSecret), grant, true},
			{"Basic and the same client_id in the body get a token", "", withBasic(env.Creds.ClientID, env.Creds.ClientSecret), grant + "&client_id=" + env.Creds.ClientID, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, hdr, body := tokenRequest(t, env, http.MethodPost, path, tc.query, tc.header, tc.body)
				if tc.wantToken {
					var tok struct {
						AccessToken string `json:"access_token"`
					}
					if status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
						t.Fatalf("status %d, want a token: %s", status, body)
					}
					if c := claimsOf(t, tok.AccessToken); c.AppID != env.Creds.ClientID {
						t.Fatalf("token for %s, want the admin %s", c.AppID, env.Creds.ClientID)
					}
					return
				}
				e := entraErrorOf(t, status, hdr, body)
				if status != http.StatusBadRequest || e.Error != "invalid_request" {
					t.Fatalf("status %d %s, want 400 invalid_request: %s", status, e.Error, e.ErrorDescription)
				}
			})
		}
	})
}

// staticToken is a credential that hands the SDK one fixed token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestARMRefusesTokensLongerLivedThanTheServerIssues(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		inst := env.Server.Installation()
		// A second issuer over the installation's own signing keys: what
		// holding a published key, without the server's limits, signs.
		keys, err := token.NewKeySet(context.Background(), inst.Store, inst.Keyring, server.MaxTokenLifetime)
		if err != nil {
			t.Fatal(err)
		}
		forger := &token.Issuer{Keys: keys, Issuer: sts.IssuerV1(env.Server.BaseURL(), inst.TenantID), TenantID: inst.TenantID,
			Lifetime: time.Hour, MaxLifetime: 200 * 365 * 24 * time.Hour}
		admin := claimsOf(t, mustToken(t, env))
		tests := []struct {
			name     string
			lifetime time.Duration
			wantCode string // "" for accepted
		}{
			{"the lifetime the server issues (1h)", time.Hour, ""},
			{"25 hours", 25 * time.Hour, "InvalidAuthenticationToken"},
			{"a hundred years", 100 * 365 * 24 * time.Hour, "InvalidAuthenticationToken"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				raw, _, err := forger.Mint(token.Subject{Audience: bootstrap.ResourceManagerAudience, ObjectID: admin.ObjectID,
					AppID: admin.AppID, ACR: token.ACRSecret, Lifetime: tc.lifetime})
				if err != nil {
					t.Fatal(err)
				}
				groups, err := armresources.NewResourceGroupsClient(env.Creds.SubscriptionID, staticToken(raw), env.ARMOptions())
				if err != nil {
					t.Fatal(err)
				}
				_, err = groups.NewListPager(nil).NextPage(context.Background())
				if tc.wantCode == "" {
					if err != nil {
						t.Fatalf("a token as the server issues it was refused: %v", err)
					}
					return
				}
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != tc.wantCode {
					t.Fatalf("err = %v, want 401 %s", err, tc.wantCode)
				}
			})
		}
	})
}

func mustToken(t *testing.T, env *testenv.Env) string {
	t.Helper()
	at, err := getToken(t, env.AdminCredential(t), armScope)
	if err != nil {
		t.Fatal(err)
	}
	return at.Token
}

// startTuned starts a server as testenv.Start does, with settings testenv
// does not expose (the failure rate limit).
func startTuned(t *testing.T, storeDSN string, tune func(*server.Config)) *testenv.Env {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := server.Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", StoreDSN: storeDSN, ShutdownTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	tune(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	})
	base := testenv.Env{URL: srv.ListenURL(), DataDir: dataDir, Server: srv}
	if base.Creds, err = bootstrap.ReadCredentials(filepath.Join(dataDir, bootstrap.CredentialsFile)); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dataDir, bootstrap.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	base.CAPool = x509.NewCertPool()
	base.CAPool.AppendCertsFromPEM(pem)
	base.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: base.CAPool, MinVersion: tls.VersionTLS12},
	}}
	return &base
}

func TestFailedClientSecretsAreThrottledPerAddress(t *testing.T) {
	const burst = 3
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := ""
			if backend == "postgres" {
				dsn = pgtest.DSN(t)
			}
			// One failure refilled every 1000 s: nothing refills while the
			// test runs, whatever the machine's speed.
			env := startTuned(t, dsn, func(c *server.Config) { c.ClientAuthFailureRate, c.ClientAuthFailureBurst = 0.001, burst })
			// A guessing client: azcore would retry a 429 whose Retry-After
			// is within a minute; this one is told to wait 1000 s and so
			// is not retried, but say so rather than depend on it.
			opts := env.ClientOptions()
			opts.Retry.MaxRetries = -1
			guess := func(clientID, secret string) (int, string, http.Header) {
				t.Helper()
				cred, err := azidentity.NewClientSecretCredential(env.Creds.TenantID, clientID, secret,
					&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
				if err != nil {
					t.Fatal(err)
				}
				_, err = getToken(t, cred, armScope)
				if err == nil {
					t.Fatal("a wrong secret got a token")
				}
				status, msg := authFailure(t, err)
				var afe *azidentity.AuthenticationFailedError
				errors.As(err, &afe)
				return status, msg, afe.RawResponse.Header
			}
			for i := range burst {
				if status, msg, _ := guess(env.Creds.ClientID, "kls~wrong-"+strconv.Itoa(i)); status != 401 || !strings.Contains(msg, "AADSTS7000215") {
					t.Fatalf("failure %d of the burst: %d %s, want 401 AADSTS7000215", i+1, status, msg)
				}
			}
			for _, tc := range []struct{ name, clientID, secret string }{
				{"another wrong secret", env.Creds.ClientID, "kls~wrong-again"},
				{"an unknown client", uuid.NewString(), "kls~x"},
			} {
				status, msg, hdr := guess(tc.clientID, tc.secret)
				retry, _ := strconv.Atoi(hdr.Get("Retry-After"))
				if status != 429 || !strings.Contains(msg, "AADSTS50196") || !strings.Contains(msg, "temporarily_unavailable") || retry < 1 {
					t.Fatalf("%s past the burst: %d Retry-After %q %s, want 429 temporarily_unavailable AADSTS50196 with Retry-After", tc.name, status, hdr.Get("Retry-After"), msg)
				}
			}
			// The address is throttled, yet the administrator, from the same
			// address, authenticates every time (a fresh credential each
			// time, so that no token comes from a cache).
			for i := range 2 * burst {
				if _, err := getToken(t, env.AdminCredential(t), armScope); err != nil {
					t.Fatalf("correct client %d from the throttled address: %v", i+1, err)
				}
			}
		})
	}
}
