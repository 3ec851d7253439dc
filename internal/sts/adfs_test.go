package sts

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/token"
)

// TestADFSAuthority walks the ADFS authority as MSAL Python does for az
// 2.45: discovery at /adfs/.well-known/openid-configuration (no instance
// discovery), then client credentials at the token endpoint it names.
func TestADFSAuthority(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(request{method: "GET", path: "/adfs/.well-known/openid-configuration"})
	if w.Code != 200 {
		t.Fatalf("discovery: %d %s", w.Code, w.Body)
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	wantDoc := map[string]string{
		"token_endpoint":         testBaseURL + "/adfs/oauth2/token",
		"authorization_endpoint": testBaseURL + "/adfs/oauth2/authorize",
		"jwks_uri":               testBaseURL + "/adfs/discovery/keys",
		"issuer":                 IssuerV1(testBaseURL, testTenant),
	}
	for k, v := range wantDoc {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
	keys := h.do(request{method: "GET", path: "/adfs/discovery/keys"})
	tenantKeys := h.do(request{method: "GET", path: "/" + testTenant + "/discovery/keys"})
	if keys.Code != 200 || keys.Body.String() != tenantKeys.Body.String() {
		t.Fatalf("ADFS keys (%d) are not the tenant's", keys.Code)
	}

	cases := []struct {
		name string
		body string
	}{
		// MSAL sends the v2 scope (with the OIDC scopes) even to ADFS.
		{"a client secret with a scope, as MSAL sends it", url.Values{"grant_type": {"client_credentials"}, "client_id": {testAppID},
			"client_secret": {testSecret}, "scope": {testARMScope + " offline_access openid profile"}}.Encode()},
		{"a client secret with a resource, as ADAL sends it", url.Values{"grant_type": {"client_credentials"}, "client_id": {testAppID},
			"client_secret": {testSecret}, "resource": {"https://management.azure.com/"}}.Encode()},
		{"a client assertion for the ADFS token endpoint", url.Values{"grant_type": {"client_credentials"}, "client_id": {testCertAppID},
			"scope": {testARMScope}, "client_assertion_type": {ClientAssertionType},
			"client_assertion": {clientAssertion(t, testBaseURL+"/adfs/oauth2/token", time.Hour)}}.Encode()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := h.do(request{path: "/adfs/oauth2/token", header: form(), body: tc.body})
			if w.Code != 200 {
				t.Fatalf("token: %d %s", w.Code, w.Body)
			}
			var resp struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   any    `json:"expires_in"`
				Resource    string `json:"resource"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if _, ok := resp.ExpiresIn.(float64); !ok || resp.Resource != "https://management.azure.com/" {
				t.Errorf("expires_in %#v, resource %q", resp.ExpiresIn, resp.Resource)
			}
			parts := strings.Split(resp.AccessToken, ".")
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var c token.Claims
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			// The tenant's own tokens, which the ARM front door verifies.
			if c.Issuer != IssuerV1(testBaseURL, testTenant) || c.TenantID != testTenant || c.Audience != "https://management.azure.com/" {
				t.Errorf("iss %q tid %q aud %q", c.Issuer, c.TenantID, c.Audience)
			}
		})
	}

	refusals := []struct {
		name       string
		req        request
		wantStatus int
		wantCode   int
	}{
		{"GET on the token endpoint", request{method: "GET", path: "/adfs/oauth2/token"}, 405, 900561},
		{"the v2 token endpoint is not part of ADFS", request{path: "/adfs/oauth2/v2.0/token", header: form(), body: secretBody(testAppID, testSecret)}, 404, 90023},
		{"a wrong secret", request{path: "/adfs/oauth2/token", header: form(), body: secretBody(testAppID, "wrong")}, 401, 7000215},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			w := h.do(tc.req)
			a, err := checkAnswer(w.Code, w.Header(), w.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.wantStatus || a.ErrorCodes[0] != tc.wantCode {
				t.Fatalf("status %d codes %v, want %d AADSTS%d", w.Code, a.ErrorCodes, tc.wantStatus, tc.wantCode)
			}
		})
	}
}
