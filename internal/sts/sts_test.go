package sts

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	v2Token = "/" + testTenant + "/oauth2/v2.0/token"
	v1Token = "/" + testTenant + "/oauth2/token"
)

func TestEveryAnswerIsAnOAuthBody(t *testing.T) {
	h := newHarness(t, nil)
	good := secretBody(testAppID, testSecret)
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantCode   int // AADSTS; 0 for a token
		wantAllow  string
	}{
		{"GET on the v2 token endpoint", request{method: "GET", path: v2Token}, 405, 900561, "POST"},
		{"GET on the v1 token endpoint", request{method: "GET", path: v1Token}, 405, 900561, "POST"},
		{"PUT with a valid form", request{method: "PUT", path: v2Token, header: form(), body: good}, 405, 900561, "POST"},
		{"DELETE", request{method: "DELETE", path: v1Token}, 405, 900561, "POST"},
		{"HEAD", request{method: "HEAD", path: v2Token}, 405, 900561, "POST"},
		{"OPTIONS", request{method: "OPTIONS", path: v2Token}, 405, 900561, "POST"},
		{"POST on the key set", request{method: "POST", path: "/" + testTenant + "/discovery/v2.0/keys"}, 405, 900561, "GET, HEAD"},
		{"an endpoint keyless does not have", request{path: "/" + testTenant + "/oauth2/v2.0/devicecode", header: form(), body: good}, 404, 90023, ""},
		{"a trailing slash", request{path: v2Token + "/", header: form(), body: good}, 404, 90023, ""},
		{"an empty tenant segment, never a redirect", request{path: "//oauth2/v2.0/token", header: form(), body: good}, 400, 90002, ""},
		{"a dot-dot tenant segment, never a redirect", request{path: "/../oauth2/v2.0/token", header: form(), body: good}, 400, 90002, ""},
		{"form in a text/plain body", request{header: http.Header{"Content-Type": {"text/plain"}}, body: good}, 400, 90004, ""},
		{"JSON body", request{header: http.Header{"Content-Type": {"application/json"}}, body: `{"grant_type":"client_credentials"}`}, 400, 90004, ""},
		{"multipart body", request{header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, body: "--x--"}, 400, 90004, ""},
		{"no Content-Type", request{body: good}, 400, 90004, ""},
		{"two Content-Type headers", request{header: http.Header{"Content-Type": {"application/x-www-form-urlencoded", "text/plain"}}, body: good}, 400, 90004, ""},
		{"unparseable Content-Type", request{header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; ;"}}, body: good}, 400, 90004, ""},
		{"body over 64 KiB", request{header: form(), body: good + "&x=" + strings.Repeat("a", 64<<10)}, 400, 90004, ""},
		{"body not form-encoded", request{header: form(), body: good + "&x=%zz"}, 400, 90004, ""},
		{"form with a charset", request{header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, body: good}, 200, 0, ""},
		{"the request azidentity sends", request{header: form(), body: good}, 200, 0, ""},
		{"a client assertion, as ClientCertificateCredential sends it", request{header: form(), body: url.Values{
			"grant_type": {"client_credentials"}, "client_id": {testCertAppID}, "scope": {testARMScope}, "client_assertion_type": {ClientAssertionType},
			"client_assertion": {clientAssertion(t, testBaseURL+v2Token, time.Hour)}}.Encode()}, 200, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := h.do(tc.req)
			a, err := checkAnswer(w.Code, w.Header(), w.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.wantStatus || tc.wantCode != 0 && a.ErrorCodes[0] != tc.wantCode {
				t.Fatalf("status %d codes %v (%s), want %d AADSTS%d", w.Code, a.ErrorCodes, a.ErrorDescription, tc.wantStatus, tc.wantCode)
			}
			if got := w.Header().Get("Allow"); got != tc.wantAllow {
				t.Fatalf("Allow %q, want %q", got, tc.wantAllow)
			}
		})
	}
}

func basic(clientID, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+secret))
}

func TestParametersAndCredentialsAreGivenOnce(t *testing.T) {
	h := newHarness(t, nil)
	grant := "grant_type=client_credentials&scope=" + url.QueryEscape(testARMScope)
	creds := "&client_id=" + testAppID + "&client_secret=" + url.QueryEscape(testSecret)
	tests := []struct {
		name       string
		query      string
		header     http.Header
		body       string
		wantStatus int
		wantCode   int
	}{
		{"client_id twice in the body", "", form(), grant + creds + "&client_id=" + testUAAppID, 400, 9002313},
		{"client_id twice, the same value", "", form(), grant + creds + "&client_id=" + testAppID, 400, 9002313},
		{"client_secret twice", "", form(), grant + creds + "&client_secret=other", 400, 9002313},
		{"scope twice", "", form(), grant + creds + "&scope=api%3A%2F%2Fother%2F.default", 400, 9002313},
		{"grant_type in the body and the query", "grant_type=client_credentials", form(), grant + creds, 400, 9002313},
		{"client_id in the body and the query", "client_id=" + testUAAppID, form(), grant + creds, 400, 9002313},
		{"a query parameter the body does not have", "slice=testslice", form(), grant + creds, 200, 0},
		{"Basic and a different client_id in the body", "", withHeader(form(), "Authorization", basic(testAppID, testSecret)), grant + "&client_id=" + testUAAppID, 400, 9002313},
		{"Basic and client_secret in the body", "", withHeader(form(), "Authorization", basic(testAppID, testSecret)), grant + "&client_secret=" + url.QueryEscape(testSecret), 400, 9002313},
		{"Basic and a client_assertion", "", withHeader(form(), "Authorization", basic(testAppID, "")), grant + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", 400, 9002313},
		{"two Authorization headers", "", withHeader(withHeader(form(), "Authorization", basic(testAppID, testSecret)), "Authorization", basic(testAppID, testSecret)), grant, 400, 9002313},
		{"Basic that does not decode", "", withHeader(form(), "Authorization", "Basic !!!"), grant + creds, 400, 9002313},
		{"Basic alone", "", withHeader(form(), "Authorization", basic(testAppID, testSecret)), grant, 200, 0},
		{"Basic and the same client_id in the body, other case", "", withHeader(form(), "Authorization", basic(testAppID, testSecret)), grant + "&client_id=" + strings.ToUpper(testAppID), 200, 0},
		{"the form alone", "", form(), grant + creds, 200, 0},
		{"a bearer Authorization header authenticates no client", "", withHeader(form(), "Authorization", "Bearer x"), grant + creds, 200, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := h.do(request{query: tc.query, header: tc.header, body: tc.body})
			a, err := checkAnswer(w.Code, w.Header(), w.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.wantStatus || tc.wantCode != 0 && (a.Error != "invalid_request" || a.ErrorCodes[0] != tc.wantCode) {
				t.Fatalf("status %d %s %v (%s), want %d invalid_request AADSTS%d", w.Code, a.Error, a.ErrorCodes, a.ErrorDescription, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

func TestFailedClientAuthenticationsAreThrottledPerAddress(t *testing.T) {
	const burst = 3
	failures := []struct {
		name   string
		body   string
		header http.Header
		status int // the answer before the address is throttled
	}{
		{"wrong secret", secretBody(testAppID, "kls~wrong"), form(), 401},
		{"wrong secret over HTTP Basic", "grant_type=client_credentials&scope=" + url.QueryEscape(testARMScope),
			withHeader(form(), "Authorization", basic(testAppID, "kls~wrong")), 401},
		{"unknown client", secretBody("5e0c2b1a-0000-4000-8000-000000000000", "kls~x"), form(), 400},
		{"malformed client assertion", url.Values{"grant_type": {"client_credentials"}, "client_id": {testAppID}, "scope": {testARMScope},
			"client_assertion_type": {ClientAssertionType}, "client_assertion": {"not.a.jwt"}}.Encode(), form(), 401},
		{"assertion for a user-assigned identity without a federated credential", url.Values{"grant_type": {"client_credentials"}, "client_id": {testUAAppID}, "scope": {testARMScope},
			"client_assertion_type": {ClientAssertionType}, "client_assertion": {"a.b.c"}}.Encode(), form(), 400},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ClientAuthFailureRate, c.ClientAuthFailureBurst = 1, burst })
			fail := func(remote string) (int, oauthAnswer, http.Header) {
				t.Helper()
				w := h.do(request{header: f.header.Clone(), body: f.body, remote: remote})
				a, err := checkAnswer(w.Code, w.Header(), w.Body.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				return w.Code, a, w.Header()
			}
			succeed := func(remote string) {
				t.Helper()
				w := h.do(request{header: form(), body: secretBody(testAppID, testSecret), remote: remote})
				if w.Code != 200 {
					t.Fatalf("a correct client from %s got %d: %s", remote, w.Code, w.Body)
				}
			}
			for i := range burst {
				if status, a, _ := fail(testRemote); status != f.status {
					t.Fatalf("failure %d of the burst: %d %v, want %d", i+1, status, a.ErrorCodes, f.status)
				}
			}
			status, a, hdr := fail(testRemote)
			if status != 429 || a.Error != "temporarily_unavailable" || a.ErrorCodes[0] != 50196 || hdr.Get("Retry-After") != "1" {
				t.Fatalf("past the burst: %d %s %v Retry-After %q, want 429 temporarily_unavailable AADSTS50196 Retry-After 1",
					status, a.Error, a.ErrorCodes, hdr.Get("Retry-After"))
			}
			// The throttled address still gets correct clients through, and
			// they take nothing from it.
			for range 2 * burst {
				succeed(testRemote)
			}
			if status, _, _ := fail("198.51.100.9:4000"); status != f.status {
				t.Fatalf("another address was throttled too: %d", status)
			}
			h.advance(time.Second)
			if status, _, _ := fail(testRemote); status != f.status {
				t.Fatalf("a second later, with one failure refilled: %d, want %d", status, f.status)
			}
			if status, _, _ := fail(testRemote); status != 429 {
				t.Fatalf("the refilled failure was spent, yet %d, want 429", status)
			}
		})
	}
}

func TestOnlyFailedAuthenticationsAreCharged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ClientAuthFailureRate, c.ClientAuthFailureBurst = 1, 1 })
	for i := range 20 {
		// Protocol errors do not test a credential: not charged.
		w := h.do(request{header: form(), body: "grant_type=client_credentials&client_id=" + testAppID})
		if w.Code != 400 {
			t.Fatalf("protocol error %d: %d", i, w.Code)
		}
		if w := h.do(request{header: form(), body: secretBody(testAppID, testSecret)}); w.Code != 200 {
			t.Fatalf("success %d: %d", i, w.Code)
		}
	}
	if w := h.do(request{header: form(), body: secretBody(testAppID, "kls~wrong")}); w.Code != 401 {
		t.Fatalf("the first failure: %d, want 401", w.Code)
	}
	// X-Forwarded-For is written by the client: it does not move the
	// failure to another address.
	hdr := withHeader(form(), "X-Forwarded-For", "203.0.113.77")
	if w := h.do(request{header: hdr, body: secretBody(testAppID, "kls~wrong")}); w.Code != 429 {
		t.Fatalf("the second failure, with X-Forwarded-For: %d, want 429", w.Code)
	}
}

func TestNegativeFailureRateDisablesTheLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ClientAuthFailureRate = -1 })
	for i := range DefaultClientAuthFailureBurst + 10 {
		if w := h.do(request{header: form(), body: secretBody(testAppID, "kls~wrong")}); w.Code != 401 {
			t.Fatalf("failure %d: %d, want 401", i, w.Code)
		}
	}
}

func TestDefaultFailureLimit(t *testing.T) {
	h := newHarness(t, nil)
	for i := range DefaultClientAuthFailureBurst {
		if w := h.do(request{header: form(), body: secretBody(testAppID, "kls~wrong")}); w.Code != 401 {
			t.Fatalf("failure %d of the default burst: %d, want 401", i, w.Code)
		}
	}
	w := h.do(request{header: form(), body: secretBody(testAppID, "kls~wrong")})
	if w.Code != 429 {
		t.Fatalf("past the default burst: %d, want 429", w.Code)
	}
	if n, _ := strconv.Atoi(w.Header().Get("Retry-After")); n != 1 {
		t.Fatalf("Retry-After %q at %v/s, want 1", w.Header().Get("Retry-After"), DefaultClientAuthFailureRate)
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct {
		name, remote, want string
	}{
		{"IPv4 by address", "192.0.2.7:50123", "192.0.2.7"},
		{"IPv4-mapped IPv6 is the IPv4 address", "[::ffff:192.0.2.7]:443", "192.0.2.7"},
		{"IPv6 by /64", "[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"another host in the same /64", "[2001:db8:1:2::99]:443", "2001:db8:1:2::/64"},
		{"IPv6 zone dropped", "[fe80::1%eth0]:443", "fe80::/64"},
		{"an address without a port", "192.0.2.7", "192.0.2.7"},
		{"not an IP", "@", "@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sourceKey(tc.remote); got != tc.want {
				t.Fatalf("sourceKey(%q) = %q, want %q", tc.remote, got, tc.want)
			}
		})
	}
}
