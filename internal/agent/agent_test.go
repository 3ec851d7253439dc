package agent_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/agent"
	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/localmi"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workload/workloadtest"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

type fixture struct {
	env    *testenv.Env
	ws     workloadtest.Store
	vm     workloadtest.Resource
	u1, u2 workloadtest.Identity
	client *workloadapi.Client
	bearer string
}

func newFixture(t testing.TB) *fixture {
	env := testenv.Start(t, testenv.Options{})
	inst := env.Server.Installation()
	ws := workloadtest.Store{St: inst.Store, WaitFor: env.Server.WaitFor, SubscriptionID: inst.SubscriptionID}
	u1 := ws.UAMI(t, "rg1", "id1")
	u2 := ws.UAMI(t, "rg1", "id2")
	vm := ws.Compute(t, "rg1", "Microsoft.Compute/virtualMachines", "vm1", true, u1, u2)
	bearer, err := workloadapi.Bearer(context.Background(), env.AdminCredential(t), bootstrap.ResourceManagerAudience)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, ws: ws, vm: vm, u1: u1, u2: u2, bearer: bearer,
		client: &workloadapi.Client{BaseURL: env.URL, HTTP: env.HTTPClient}}
}

func (f *fixture) joinToken(t testing.TB, resourceID string) string {
	t.Helper()
	jt, err := f.client.CreateJoinToken(context.Background(), f.bearer, workloadapi.CreateJoinTokenRequest{ResourceID: resourceID})
	if err != nil {
		t.Fatal(err)
	}
	return jt.Token
}

// startAgent enrolls and runs an agent for resourceID on loopback ports.
func (f *fixture) startAgent(t testing.TB, resourceID string, tune func(*agent.Config)) *agent.Agent {
	t.Helper()
	cfg := agent.Config{
		ServerURL: f.env.URL, CAFile: filepath.Join(f.env.DataDir, bootstrap.CAFile),
		JoinToken: f.joinToken(t, resourceID), DataDir: t.TempDir(),
		Listen: "127.0.0.1:0", IMDSListen: "127.0.0.1:0",
	}
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := agent.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	// Wait until the invalidation stream is up, so tests see its effects.
	waitFor(t, a.Cache().Connected)
	return a
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freshScope() (audience, scope string) {
	audience = "api://keyless-agent-test-" + uuid.NewString()
	return audience, audience + "/.default"
}

func decodeClaims(t testing.TB, raw string) token.Claims {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c token.Claims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkIdentity(t *testing.T, c token.Claims, audience string, want workloadtest.Identity) {
	t.Helper()
	if c.ObjectID != want.ObjectID || c.AppID != want.ClientID || c.Audience != audience {
		t.Fatalf("oid/appid/aud = %s/%s/%s, want %s/%s/%s", c.ObjectID, c.AppID, c.Audience, want.ObjectID, want.ClientID, audience)
	}
	if c.MIResourceID != token.LowerResourceGroups(want.ResourceID) {
		t.Fatalf("xms_mirid = %s, want %s", c.MIResourceID, token.LowerResourceGroups(want.ResourceID))
	}
}

// clearMIEnv makes sure no managed-identity source but the one a test sets
// is visible to azidentity.
func clearMIEnv(t *testing.T) {
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_ID"} {
		t.Setenv(k, "")
	}
}

func selectors(f *fixture) []struct {
	name string
	id   azidentity.ManagedIDKind
	want workloadtest.Identity
} {
	return []struct {
		name string
		id   azidentity.ManagedIDKind
		want workloadtest.Identity
	}{
		{"system-assigned", nil, *f.vm.System},
		{"user-assigned by client ID", azidentity.ClientID(f.u1.ClientID), f.u1},
		{"user-assigned by resource ID", azidentity.ResourceID(f.u2.ResourceID), f.u2},
		{"user-assigned by object ID", azidentity.ObjectID(f.u2.ObjectID), f.u2},
	}
}

// TestAzidentityArc runs azidentity's ManagedIdentityCredential against the
// agent's Arc endpoint: the 401 challenge, the key file in
// /var/opt/azcmagent/tokens, and the selector echo.
func TestAzidentityArc(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the Arc key directory /var/opt/azcmagent/tokens needs root")
	}
	f := newFixture(t)
	a := f.startAgent(t, f.vm.ID, nil)
	clearMIEnv(t)
	t.Setenv("IDENTITY_ENDPOINT", "http://"+a.ArcAddr()+localmi.TokenPath)
	t.Setenv("IMDS_ENDPOINT", "http://"+a.ArcAddr())
	for _, tc := range selectors(f) {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: tc.id})
			if err != nil {
				t.Fatal(err)
			}
			aud, scope := freshScope()
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				t.Fatal(err)
			}
			checkIdentity(t, decodeClaims(t, tok.Token), aud, tc.want)
		})
	}
}

// TestAzidentityIMDS runs azidentity's ManagedIdentityCredential with the
// IMDS source; a Transport sends every connection (169.254.169.254:80
// included) to the agent's loopback IMDS listener.
func TestAzidentityIMDS(t *testing.T) {
	f := newFixture(t)
	a := f.startAgent(t, f.vm.ID, nil)
	clearMIEnv(t)
	imds := a.IMDSAddr()
	var dials atomic.Int64
	transport := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, imds)
	}}}
	for _, tc := range selectors(f) {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
				ID: tc.id, ClientOptions: policy.ClientOptions{Transport: transport},
			})
			if err != nil {
				t.Fatal(err)
			}
			aud, scope := freshScope()
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				t.Fatal(err)
			}
			checkIdentity(t, decodeClaims(t, tok.Token), aud, tc.want)
		})
	}
	if dials.Load() == 0 {
		t.Fatal("the credential never dialled the agent")
	}
}

func imdsGet(t testing.TB, addr, query string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+localmi.TokenPath+"?"+query, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func query(audience, apiVersion string, selector ...string) string {
	q := url.Values{"api-version": {apiVersion}, "resource": {audience}}
	for i := 0; i+1 < len(selector); i += 2 {
		q.Set(selector[i], selector[i+1])
	}
	return q.Encode()
}

var metadata = map[string]string{"Metadata": "true"}

func TestIMDSProofRules(t *testing.T) {
	f := newFixture(t)
	a := f.startAgent(t, f.vm.ID, nil)
	aud, _ := freshScope()
	cases := []struct {
		name   string
		query  string
		header map[string]string
		want   int
		code   string
	}{
		{"Metadata: true gets a token", query(aud, "2018-02-01"), metadata, 200, ""},
		{"no Metadata header is 400 bad_request_102", query(aud, "2018-02-01"), nil, 400, "bad_request_102"},
		{"Metadata: True (not lower case) is 400", query(aud, "2018-02-01"), map[string]string{"Metadata": "True"}, 400, "bad_request_102"},
		{"the probe (no query, no header) gets an answer", "", nil, 400, "bad_request_102"},
		{"X-Forwarded-For is 400", query(aud, "2018-02-01"), map[string]string{"Metadata": "true", "X-Forwarded-For": "10.1.1.1"}, 400, "invalid_request"},
		{"no api-version is 400", "resource=" + url.QueryEscape(aud), metadata, 400, "invalid_request"},
		{"an identity not attached is 400", query(aud, "2018-02-01", "client_id", uuid.NewString()), metadata, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := imdsGet(t, a.IMDSAddr(), tc.query, tc.header)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.code != "" && !strings.Contains(string(body), `"error":"`+tc.code+`"`) {
				t.Fatalf("body %s, want error %s", body, tc.code)
			}
		})
	}
	t.Run("numbers are strings", func(t *testing.T) {
		_, body := imdsGet(t, a.IMDSAddr(), query(aud, "2018-02-01"), metadata)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		for _, k := range []string{"expires_in", "expires_on", "ext_expires_in", "not_before"} {
			if _, ok := m[k].(string); !ok {
				t.Errorf("%s = %#v, want a numeric string", k, m[k])
			}
		}
	})
}

func TestArcChallengeRules(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the Arc key directory needs root")
	}
	f := newFixture(t)
	a := f.startAgent(t, f.vm.ID, nil)
	aud, _ := freshScope()
	q := query(aud, "2020-06-01", "msi_res_id", f.u1.ResourceID)

	resp, body := imdsGet(t, a.ArcAddr(), q, metadata)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("first request: %d %s, want 401", resp.StatusCode, body)
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	path, ok := strings.CutPrefix(challenge, "Basic realm=")
	if !ok || strings.ContainsAny(path, `"' `) || filepath.Dir(path) != localmi.DefaultArcTokenDir || !strings.HasSuffix(path, ".key") {
		t.Fatalf("WWW-Authenticate = %q", challenge)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() > 4096 {
		t.Fatalf("key file mode %v size %d", fi.Mode().Perm(), fi.Size())
	}
	if di, err := os.Stat(localmi.DefaultArcTokenDir); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Fatalf("token directory mode: %v %v", di.Mode().Perm(), err)
	}
	secret, _ := os.ReadFile(path)
	if strings.ContainsAny(string(secret), "\r\n") {
		t.Fatalf("key file has a line break: %q", secret)
	}
	auth := func(s string) map[string]string {
		return map[string]string{"Metadata": "true", "Authorization": "Basic " + s}
	}

	if resp, _ := imdsGet(t, a.ArcAddr(), q, auth(string(secret)+"x")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong answer: %d, want 401", resp.StatusCode)
	}
	if resp, _ := imdsGet(t, a.ArcAddr(), q, map[string]string{"Authorization": "Basic " + string(secret)}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("answer without Metadata: %d, want 400", resp.StatusCode)
	}
	resp, body = imdsGet(t, a.ArcAddr(), q, auth(string(secret)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("right answer: %d %s", resp.StatusCode, body)
	}
	// refresh_in is a number (MSAL adds it to an integer); the rest are
	// strings.
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m["msi_res_id"] != f.u1.ResourceID || m["client_id"] != f.u1.ClientID {
		t.Fatalf("echo: msi_res_id %q client_id %q", m["msi_res_id"], m["client_id"])
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file still there after use: %v", err)
	}
	if resp, _ := imdsGet(t, a.ArcAddr(), q, auth(string(secret))); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused answer: %d, want 401", resp.StatusCode)
	}
	if resp, _ := imdsGet(t, a.ArcAddr(), q, map[string]string{"Metadata": "true", "X-Forwarded-For": "1.2.3.4"}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("X-Forwarded-For: %d, want 400", resp.StatusCode)
	}
}

func TestArcGroupKeyFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	dir := filepath.Join(t.TempDir(), "tokens")
	keys, err := localmi.NewArcKeys(dir, 4242)
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	path, err := keys.Challenge()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || fileGID(fi) != 4242 {
		t.Fatalf("mode %v gid %d, want 0640 and 4242", fi.Mode().Perm(), fileGID(fi))
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	a := f.startAgent(t, f.vm.ID, func(c *agent.Config) { c.Rate, c.Burst = 1, 2 })
	aud, _ := freshScope()
	var last *http.Response
	for i := 0; i < 3; i++ {
		last, _ = imdsGet(t, a.IMDSAddr(), query(aud, "2018-02-01"), metadata)
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", last.StatusCode)
	}
	if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
	}
}

// TestAgentRevocation: detaching, deleting and revoking the agent each make
// the next token request fail, cached or not.
func TestAgentRevocation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		sel    []string
		revoke func(t *testing.T, a *agent.Agent, vm workloadtest.Resource)
		want   int
	}{
		{"detaching a user-assigned identity", []string{"client_id", f.u1.ClientID},
			func(t *testing.T, a *agent.Agent, vm workloadtest.Resource) { f.ws.Detach(t, vm.ID, f.u1.ResourceID) }, 400},
		{"disabling system-assigned", nil,
			func(t *testing.T, a *agent.Agent, vm workloadtest.Resource) { f.ws.DisableSystem(t, vm.ID) }, 400},
		{"deleting the resource", []string{"object_id", f.u2.ObjectID},
			func(t *testing.T, a *agent.Agent, vm workloadtest.Resource) { f.ws.Delete(t, vm.ID) }, 400},
		{"revoking the agent", nil,
			func(t *testing.T, a *agent.Agent, vm workloadtest.Resource) {
				ag, err := f.client.RevokeAgent(context.Background(), f.bearer, a.ID())
				if err != nil || ag.State != "Revoked" {
					t.Fatalf("revoke: %+v %v", ag, err)
				}
			}, 401},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case gets its own VM: system-assigned only when the
			// selector does not name a user-assigned identity.
			vm := f.ws.Compute(t, "rg1", "Microsoft.Compute/virtualMachines", fmt.Sprintf("vm-revoke-%d", i), tc.sel == nil, f.u1, f.u2)
			a := f.startAgent(t, vm.ID, nil)
			cached, _ := freshScope()
			if resp, body := imdsGet(t, a.IMDSAddr(), query(cached, "2018-02-01", tc.sel...), metadata); resp.StatusCode != 200 {
				t.Fatalf("before: %d %s", resp.StatusCode, body)
			}
			tc.revoke(t, a, vm)
			fresh, _ := freshScope()
			if resp, body := imdsGet(t, a.IMDSAddr(), query(fresh, "2018-02-01", tc.sel...), metadata); resp.StatusCode != tc.want {
				t.Fatalf("after: %d %s, want %d", resp.StatusCode, body, tc.want)
			}
			waitFor(t, func() bool {
				resp, _ := imdsGet(t, a.IMDSAddr(), query(cached, "2018-02-01", tc.sel...), metadata)
				return resp.StatusCode == tc.want
			})
		})
	}
}

func TestEnrollmentAndRenewal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.startAgent(t, f.vm.ID, nil)

	t.Run("identity files are private", func(t *testing.T) {
		for _, path := range []string{a.IdentityFile(), filepath.Join(filepath.Dir(a.IdentityFile()), "agent.json")} {
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v %v, want mode 0600", path, fi.Mode().Perm(), err)
			}
		}
	})
	t.Run("a join token works once", func(t *testing.T) {
		jt := f.joinToken(t, f.vm.ID)
		_, csr := newCSR(t)
		if _, err := f.client.Enroll(ctx, workloadapi.EnrollRequest{JoinToken: jt, CSR: csr}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.Enroll(ctx, workloadapi.EnrollRequest{JoinToken: jt, CSR: csr}); !isStatus(err, 401) {
			t.Fatalf("second use: %v", err)
		}
	})
	t.Run("renewal supersedes the old certificate", func(t *testing.T) {
		old := clientWithAgentCert(t, f, a)
		aud, _ := freshScope()
		if _, err := old.AgentToken(ctx, aud, workload.Selector{}); err != nil {
			t.Fatalf("with the current certificate: %v", err)
		}
		if err := a.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := old.AgentToken(ctx, aud, workload.Selector{}); !isStatus(err, 401) {
			t.Fatalf("with the superseded certificate: %v", err)
		}
		fresh, _ := freshScope()
		if resp, body := imdsGet(t, a.IMDSAddr(), query(fresh, "2018-02-01"), metadata); resp.StatusCode != 200 {
			t.Fatalf("through the agent after renewal: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("agents are listed", func(t *testing.T) {
		agents, err := f.client.ListAgents(ctx, f.bearer)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ag := range agents {
			found = found || ag.ID == a.ID() && ag.State == "Active" && strings.EqualFold(ag.ResourceID, f.vm.ID)
		}
		if !found {
			t.Fatalf("agent %s not listed as active: %+v", a.ID(), agents)
		}
	})
	t.Run("token requests need a certificate", func(t *testing.T) {
		aud, _ := freshScope()
		if _, err := f.client.AgentToken(ctx, aud, workload.Selector{}); !isStatus(err, 401) {
			t.Fatalf("without a certificate: %v", err)
		}
	})
}

func isStatus(err error, status int) bool {
	var ae *workloadapi.APIError
	return errors.As(err, &ae) && ae.Status == status
}

// BenchmarkAgentCachedToken: cached tokens through the agent's IMDS
// endpoint, parallel clients.
func BenchmarkAgentCachedToken(b *testing.B) {
	f := newFixture(b)
	a := f.startAgent(b, f.vm.ID, func(c *agent.Config) { c.Rate = -1 })
	aud, _ := freshScope()
	target := "http://" + a.IMDSAddr() + localmi.TokenPath + "?" + query(aud, "2018-02-01")
	benchParallel(b, target, false)
}

// BenchmarkAgentUncachedToken: every request a new audience, so each one
// is minted by the server (agent -> server over mutual TLS -> one store
// read and one RS256 signature).
func BenchmarkAgentUncachedToken(b *testing.B) {
	f := newFixture(b)
	a := f.startAgent(b, f.vm.ID, func(c *agent.Config) { c.Rate = -1 })
	target := "http://" + a.IMDSAddr() + localmi.TokenPath + "?api-version=2018-02-01&resource="
	benchParallel(b, target, true)
}

func benchParallel(b *testing.B, target string, fresh bool) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := target
			if fresh {
				u += url.QueryEscape(fmt.Sprintf("api://bench-%d", n.Add(1)))
			}
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Metadata", "true")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func TestRestartReusesIdentityAndNewJoinTokenReenrolls(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	token := f.joinToken(t, f.vm.ID)
	cfg := func(jt string) agent.Config {
		return agent.Config{ServerURL: f.env.URL, CAFile: filepath.Join(f.env.DataDir, bootstrap.CAFile),
			JoinToken: jt, DataDir: dir, Listen: "127.0.0.1:0"}
	}
	ctx := context.Background()
	first, err := agent.New(ctx, cfg(token))
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	// The same (now used) token: the stored identity is reused.
	again, err := agent.New(ctx, cfg(token))
	if err != nil || again.ID() != first.ID() {
		t.Fatalf("restart: %v, agent %s want %s", err, again.ID(), first.ID())
	}
	again.Close()
	// No token at all: reused too.
	noToken, err := agent.New(ctx, cfg(""))
	if err != nil || noToken.ID() != first.ID() {
		t.Fatalf("restart without a token: %v", err)
	}
	noToken.Close()
	// A new token enrolls a new agent.
	fresh, err := agent.New(ctx, cfg(f.joinToken(t, f.vm.ID)))
	if err != nil || fresh.ID() == first.ID() {
		t.Fatalf("new token: %v, agent %s", err, fresh.ID())
	}
	fresh.Close()
}
