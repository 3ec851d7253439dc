package launcher_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/launcher"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workload/workloadtest"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// The test binary doubles as the child program: with KEYLESS_TEST_CHILD
// set it runs azidentity's ManagedIdentityCredential, unchanged, and
// prints the token's claims.
func TestMain(m *testing.M) {
	if os.Getenv("KEYLESS_TEST_CHILD") == "azidentity" {
		os.Exit(azidentityChild())
	}
	os.Exit(m.Run())
}

func azidentityChild() int {
	if os.Getenv("IDENTITY_ENDPOINT") == "" || os.Getenv("IDENTITY_HEADER") == "" {
		// Without these the credential would try IMDS on the host network.
		fmt.Fprintln(os.Stderr, "child: IDENTITY_ENDPOINT/IDENTITY_HEADER not set")
		return 3
	}
	opts := &azidentity.ManagedIdentityCredentialOptions{}
	switch v := os.Getenv("MI_VALUE"); os.Getenv("MI_SELECTOR") {
	case "client_id":
		opts.ID = azidentity.ClientID(v)
	case "object_id":
		opts.ID = azidentity.ObjectID(v)
	case "resource_id":
		opts.ID = azidentity.ResourceID(v)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 4
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{os.Getenv("MI_SCOPE")}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 5
	}
	claims, err := decodeClaims(tok.Token)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 6
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"claims": claims, "expiresOn": tok.ExpiresOn.Unix()})
	return 0
}

func decodeClaims(raw string) (token.Claims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return token.Claims{}, fmt.Errorf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return token.Claims{}, err
	}
	var c token.Claims
	return c, json.Unmarshal(b, &c)
}

type fixture struct {
	env *testenv.Env
	ws  workloadtest.Store
	app workloadtest.Resource
	u1  workloadtest.Identity
	u2  workloadtest.Identity
}

func newFixture(t testing.TB) *fixture {
	env := testenv.Start(t, testenv.Options{})
	ws := workloadtest.Store{St: env.Server.Installation().Store, WaitFor: env.Server.WaitFor, SubscriptionID: env.Server.Installation().SubscriptionID}
	u1 := ws.UAMI(t, "rg1", "id1")
	u2 := ws.UAMI(t, "rg1", "id2")
	app := ws.Compute(t, "rg1", "Microsoft.Web/sites", "app1", true, u1, u2)
	return &fixture{env: env, ws: ws, app: app, u1: u1, u2: u2}
}

func (f *fixture) options(t testing.TB, resourceID string) launcher.Options {
	return launcher.Options{
		Client:     &workloadapi.Client{BaseURL: f.env.URL, HTTP: f.env.HTTPClient},
		Credential: f.env.AdminCredential(t),
		Audience:   "https://management.azure.com/",
		ResourceID: resourceID,
	}
}

func freshScope() (audience, scope string) {
	audience = "api://keyless-test-" + uuid.NewString()
	return audience, audience + "/.default"
}

// TestAzidentityThroughRun runs azidentity's ManagedIdentityCredential,
// unchanged, as the child of keyless run (App Service source).
func TestAzidentityThroughRun(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, selector, value string
		want                  workloadtest.Identity
	}{
		{"system-assigned", "", "", *f.app.System},
		{"user-assigned by client ID", "client_id", f.u1.ClientID, f.u1},
		{"user-assigned by resource ID", "resource_id", f.u2.ResourceID, f.u2},
		{"user-assigned by object ID", "object_id", f.u2.ObjectID, f.u2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			audience, scope := freshScope()
			var stdout, stderr bytes.Buffer
			code, err := launcher.Run(context.Background(), f.options(t, f.app.ID), launcher.Process{
				Args:   []string{os.Args[0], "-test.run=^$"},
				Env:    append(os.Environ(), "KEYLESS_TEST_CHILD=azidentity", "MI_SELECTOR="+tc.selector, "MI_VALUE="+tc.value, "MI_SCOPE="+scope),
				Stdout: &stdout, Stderr: &stderr,
			})
			if err != nil || code != 0 {
				t.Fatalf("run: code %d, err %v, stderr:\n%s", code, err, stderr.String())
			}
			var out struct {
				Claims    token.Claims
				ExpiresOn int64
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("child output %q: %v", stdout.String(), err)
			}
			checkClaims(t, out.Claims, audience, tc.want, f.app.ID)
			if life := time.Until(time.Unix(out.ExpiresOn, 0)); life < 50*time.Minute {
				t.Errorf("azidentity saw a token expiring in %s; want the server's hour", life)
			}
		})
	}
}

func checkClaims(t *testing.T, c token.Claims, audience string, want workloadtest.Identity, computeID string) {
	t.Helper()
	if c.ObjectID != want.ObjectID || c.Subject != want.ObjectID {
		t.Errorf("oid/sub = %s/%s, want %s", c.ObjectID, c.Subject, want.ObjectID)
	}
	if c.AppID != want.ClientID {
		t.Errorf("appid = %s, want %s", c.AppID, want.ClientID)
	}
	if c.Audience != audience {
		t.Errorf("aud = %s, want %s", c.Audience, audience)
	}
	if c.AppIDACR != "2" || c.IDType != "app" || c.Version != "1.0" {
		t.Errorf("appidacr/idtyp/ver = %q/%q/%q", c.AppIDACR, c.IDType, c.Version)
	}
	if wantMirid := token.LowerResourceGroups(want.ResourceID); c.MIResourceID != wantMirid {
		t.Errorf("xms_mirid = %s, want %s", c.MIResourceID, wantMirid)
	}
	userAssigned := !strings.EqualFold(want.ResourceID, computeID)
	if userAssigned && c.AzResourceID != token.LowerResourceGroups(computeID) {
		t.Errorf("xms_az_rid = %q, want %s", c.AzResourceID, token.LowerResourceGroups(computeID))
	}
	if !userAssigned && c.AzResourceID != "" {
		t.Errorf("xms_az_rid = %q for system-assigned, want none", c.AzResourceID)
	}
}

// TestNodeIdentityThroughRun runs @azure/identity's ManagedIdentityCredential
// under keyless run.
func TestNodeIdentityThroughRun(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("node is installed but npm is not")
	}
	dir := t.TempDir()
	for _, name := range []string{"package.json", "mi.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "node", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	f := newFixture(t)
	cases := []struct {
		name, selector, value string
		want                  workloadtest.Identity
	}{
		{"system-assigned", "", "", *f.app.System},
		{"user-assigned by client ID", "client_id", f.u1.ClientID, f.u1},
		{"user-assigned by resource ID", "resource_id", f.u2.ResourceID, f.u2},
		{"user-assigned by object ID", "object_id", f.u1.ObjectID, f.u1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			audience, scope := freshScope()
			var stdout, stderr bytes.Buffer
			code, err := launcher.Run(context.Background(), f.options(t, f.app.ID), launcher.Process{
				Args: []string{node, "mi.mjs"}, Dir: dir,
				Env:    append(os.Environ(), "MI_SELECTOR="+tc.selector, "MI_VALUE="+tc.value, "MI_SCOPE="+scope),
				Stdout: &stdout, Stderr: &stderr,
			})
			if err != nil || code != 0 {
				t.Fatalf("run: code %d, err %v, stderr:\n%s", code, err, stderr.String())
			}
			var out struct {
				Claims             token.Claims
				ExpiresOnTimestamp int64
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("child output %q: %v", stdout.String(), err)
			}
			checkClaims(t, out.Claims, audience, tc.want, f.app.ID)
			// JS computes the expiry only from expires_on (reference §2.9).
			if life := time.Until(time.UnixMilli(out.ExpiresOnTimestamp)); life < 50*time.Minute {
				t.Errorf("@azure/identity saw a token expiring in %s; expires_on was not understood", life)
			}
		})
	}
}

// get calls the launch's local endpoint as a client would.
func get(t testing.TB, l *launcher.Launch, query string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.Endpoint()+"?"+query, nil)
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

func tokenQuery(audience string, selector ...string) string {
	q := url.Values{"api-version": {"2019-08-01"}, "resource": {audience}}
	for i := 0; i+1 < len(selector); i += 2 {
		q.Set(selector[i], selector[i+1])
	}
	return q.Encode()
}

func start(t *testing.T, f *fixture, resourceID string, tune func(*launcher.Options)) *launcher.Launch {
	t.Helper()
	opts := f.options(t, resourceID)
	if tune != nil {
		tune(&opts)
	}
	l, err := launcher.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLocalEndpointProofRules(t *testing.T) {
	f := newFixture(t)
	l := start(t, f, f.app.ID, nil)
	aud, _ := freshScope()
	ok := map[string]string{"X-IDENTITY-HEADER": l.Secret()}
	cases := []struct {
		name   string
		query  string
		header map[string]string
		want   int
	}{
		{"the right header gets a token", tokenQuery(aud), ok, http.StatusOK},
		{"no X-IDENTITY-HEADER is 401", tokenQuery(aud), nil, http.StatusUnauthorized},
		{"a wrong X-IDENTITY-HEADER is 401", tokenQuery(aud), map[string]string{"X-IDENTITY-HEADER": l.Secret() + "x"}, http.StatusUnauthorized},
		{"X-Forwarded-For is 400", tokenQuery(aud), map[string]string{"X-IDENTITY-HEADER": l.Secret(), "X-Forwarded-For": "10.0.0.1"}, http.StatusBadRequest},
		{"a missing api-version is 400", "resource=" + url.QueryEscape(aud), ok, http.StatusBadRequest},
		{"the 2017 api-version with X-IDENTITY-HEADER is 401", strings.Replace(tokenQuery(aud), "2019-08-01", "2017-09-01", 1), ok, http.StatusUnauthorized},
		{"the 2017 api-version with the secret header gets a token", strings.Replace(tokenQuery(aud), "2019-08-01", "2017-09-01", 1), map[string]string{"secret": l.Secret()}, http.StatusOK},
		{"another api-version is 400", strings.Replace(tokenQuery(aud), "2019-08-01", "2018-02-01", 1), ok, http.StatusBadRequest},
		{"a missing resource is 400", "api-version=2019-08-01", ok, http.StatusBadRequest},
		{"two selectors are 400", tokenQuery(aud, "client_id", f.u1.ClientID, "mi_res_id", f.u1.ResourceID), ok, http.StatusBadRequest},
		{"principal_id selects by object ID", tokenQuery(aud, "principal_id", f.u1.ObjectID), ok, http.StatusOK},
		{"an identity not attached is 400", tokenQuery(aud, "client_id", uuid.NewString()), ok, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, l, tc.query, tc.header)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
		})
	}
	t.Run("response fields follow reference 3.3", func(t *testing.T) {
		resp, body := get(t, l, tokenQuery(aud, "mi_res_id", f.u2.ResourceID), ok)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"access_token", "expires_on", "expires_in", "not_before", "resource", "token_type", "client_id"} {
			if _, ok := m[k].(string); !ok {
				t.Errorf("%s = %#v, want a string", k, m[k])
			}
		}
		// MSAL Python adds refresh_in to an integer.
		if _, ok := m["refresh_in"].(float64); !ok {
			t.Errorf("refresh_in = %#v, want a number", m["refresh_in"])
		}
		if _, err := strconv.ParseInt(m["expires_on"].(string), 10, 64); err != nil {
			t.Errorf("expires_on %q is not numeric", m["expires_on"])
		}
		if m["client_id"] != f.u2.ClientID || m["resource"] != aud || m["token_type"] != "Bearer" {
			t.Errorf("client_id/resource/token_type = %v/%v/%v", m["client_id"], m["resource"], m["token_type"])
		}
	})
}

func TestLocalEndpointRateLimit(t *testing.T) {
	f := newFixture(t)
	l := start(t, f, f.app.ID, func(o *launcher.Options) { o.Rate, o.Burst = 1, 2 })
	aud, _ := freshScope()
	hdr := map[string]string{"X-IDENTITY-HEADER": l.Secret()}
	var last *http.Response
	for i := 0; i < 3; i++ {
		last, _ = get(t, l, tokenQuery(aud), hdr)
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request in a burst of 2: status %d, want 429", last.StatusCode)
	}
	if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After = %q", last.Header.Get("Retry-After"))
	}
}

// TestRevocation: each way of taking an identity away makes the next token
// request fail, whether or not a token for it is cached locally.
func TestRevocation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		query  func(aud string) string
		revoke func(t *testing.T, l *launcher.Launch)
		want   int
	}{
		{"detaching a user-assigned identity", func(aud string) string { return tokenQuery(aud, "client_id", f.u1.ClientID) },
			func(t *testing.T, l *launcher.Launch) { f.ws.Detach(t, f.app.ID, f.u1.ResourceID) }, http.StatusBadRequest},
		{"disabling system-assigned", func(aud string) string { return tokenQuery(aud, "object_id", f.app.System.ObjectID) },
			func(t *testing.T, l *launcher.Launch) { f.ws.DisableSystem(t, f.app.ID) }, http.StatusBadRequest},
		{"deleting the resource", func(aud string) string { return tokenQuery(aud, "mi_res_id", f.u2.ResourceID) },
			func(t *testing.T, l *launcher.Launch) { f.ws.Delete(t, f.app.ID) }, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := start(t, f, f.app.ID, nil)
			hdr := map[string]string{"X-IDENTITY-HEADER": l.Secret()}
			cached, _ := freshScope()
			if resp, body := get(t, l, tc.query(cached), hdr); resp.StatusCode != http.StatusOK {
				t.Fatalf("before: %d %s", resp.StatusCode, body)
			}
			tc.revoke(t, l)
			fresh, _ := freshScope()
			if resp, body := get(t, l, tc.query(fresh), hdr); resp.StatusCode != tc.want {
				t.Fatalf("new audience after revocation: %d %s, want %d", resp.StatusCode, body, tc.want)
			}
			// The cached token goes too, once the event reaches the launcher.
			eventually(t, func() bool {
				resp, _ := get(t, l, tc.query(cached), hdr)
				return resp.StatusCode == tc.want
			})
		})
	}
	t.Run("revoking the launch grant", func(t *testing.T) {
		other := f.ws.Compute(t, "rg1", "Microsoft.Web/sites", "app2", true)
		client := &workloadapi.Client{BaseURL: f.env.URL, HTTP: f.env.HTTPClient}
		ctx := context.Background()
		bearer, err := workloadapi.Bearer(ctx, f.env.AdminCredential(t), "https://management.azure.com/")
		if err != nil {
			t.Fatal(err)
		}
		g, err := client.CreateGrant(ctx, bearer, workloadapi.CreateGrantRequest{ResourceID: other.ID})
		if err != nil {
			t.Fatal(err)
		}
		aud, _ := freshScope()
		if _, err := client.GrantToken(ctx, g.GrantID, g.Secret, aud, workload.Selector{}); err != nil {
			t.Fatalf("before: %v", err)
		}
		if _, err := client.GrantToken(ctx, g.GrantID, g.Secret+"x", aud, workload.Selector{}); !isStatus(err, http.StatusUnauthorized) {
			t.Fatalf("wrong secret: %v", err)
		}
		if err := client.RevokeGrant(ctx, g.GrantID, g.Secret); err != nil {
			t.Fatal(err)
		}
		if _, err := client.GrantToken(ctx, g.GrantID, g.Secret, aud, workload.Selector{}); !isStatus(err, http.StatusUnauthorized) {
			t.Fatalf("after revocation: %v", err)
		}
	})
	t.Run("a launch's grant revoked by its launcher", func(t *testing.T) {
		other := f.ws.Compute(t, "rg1", "Microsoft.Web/sites", "app3", true)
		l := start(t, f, other.ID, nil)
		hdr := map[string]string{"X-IDENTITY-HEADER": l.Secret()}
		aud, _ := freshScope()
		if resp, body := get(t, l, tokenQuery(aud), hdr); resp.StatusCode != http.StatusOK {
			t.Fatalf("before: %d %s", resp.StatusCode, body)
		}
		client := &workloadapi.Client{BaseURL: f.env.URL, HTTP: f.env.HTTPClient}
		// Only the launcher knows the secret; revoking with a wrong one fails.
		if err := client.RevokeGrant(context.Background(), l.GrantID(), "klg_wrong"); !isStatus(err, http.StatusUnauthorized) {
			t.Fatalf("revoke with a wrong secret: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func isStatus(err error, status int) bool {
	var ae *workloadapi.APIError
	return errors.As(err, &ae) && ae.Status == status
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunPassesThroughStdioAndExitCode(t *testing.T) {
	f := newFixture(t)
	var stdout bytes.Buffer
	code, err := launcher.Run(context.Background(), f.options(t, f.app.ID), launcher.Process{
		Args: []string{"sh", "-c", `read line; echo "got $line"; [ -n "$IDENTITY_ENDPOINT" ] && [ -n "$IDENTITY_HEADER" ] && [ -z "$IMDS_ENDPOINT$IDENTITY_SERVER_THUMBPRINT" ] || exit 99; ` +
			`[ "$MSI_ENDPOINT" = "$IDENTITY_ENDPOINT" ] && [ "$MSI_SECRET" = "$IDENTITY_HEADER" ] && [ "$APPSETTING_WEBSITE_SITE_NAME" = app1 ] && [ "$WEBSITE_SITE_NAME" = app1 ] && [ "$WEBSITE_RESOURCE_GROUP" = rg1 ] || exit 97; ` +
			`[ -z "$AZURE_CLIENT_SECRET$AZURE_CLIENT_ID$AZURE_TENANT_ID$KEYLESS_CREDENTIALS" ] || exit 98; exit 7`},
		Env: append(os.Environ(), "MSI_ENDPOINT=http://x", "MSI_SECRET=s", "IMDS_ENDPOINT=http://y", "IDENTITY_SERVER_THUMBPRINT=ab",
			"AZURE_CLIENT_SECRET=operator-secret", "AZURE_CLIENT_ID=op", "AZURE_TENANT_ID=t", "KEYLESS_CREDENTIALS=/tmp/admin.json"),
		Stdin: strings.NewReader("hello\n"), Stdout: &stdout, Stderr: os.Stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if code != 7 || stdout.String() != "got hello\n" {
		t.Fatalf("code %d, stdout %q; want 7 and \"got hello\\n\"", code, stdout.String())
	}
}

func TestRunForwardsSignals(t *testing.T) {
	f := newFixture(t)
	pr, pw := io.Pipe()
	var code atomic.Int64
	done := make(chan error, 1)
	go func() {
		c, err := launcher.Run(context.Background(), f.options(t, f.app.ID), launcher.Process{
			Args:   []string{"sh", "-c", `trap 'exit 42' USR1; echo ready; while :; do sleep 0.05; done`},
			Stdout: pw, Stderr: os.Stderr,
		})
		code.Store(int64(c))
		pw.Close()
		done <- err
	}()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child did not start: %q %v", buf, err)
	}
	go io.Copy(io.Discard, pr)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || code.Load() != 42 {
			t.Fatalf("code %d, err %v; want 42 from the child's USR1 trap", code.Load(), err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not exit after SIGUSR1")
	}
}

// BenchmarkLauncherCachedToken measures a cached token through the local
// App Service endpoint: one loopback HTTP round trip, no signing.
func BenchmarkLauncherCachedToken(b *testing.B) {
	f := newFixture(b)
	opts := f.options(b, f.app.ID)
	opts.Rate = -1
	l, err := launcher.Start(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	aud, _ := freshScope()
	target := l.Endpoint() + "?" + tokenQuery(aud)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	warm, _ := http.NewRequest(http.MethodGet, target, nil)
	warm.Header.Set("X-IDENTITY-HEADER", l.Secret())
	if resp, err := client.Do(warm); err != nil || resp.StatusCode != 200 {
		b.Fatalf("warm-up: %v", err)
	}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("X-IDENTITY-HEADER", l.Secret())
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
