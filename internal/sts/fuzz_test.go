package sts

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzTokenEndpoint sends the token endpoints whatever a hostile client
// might (any method, tenant segment, content type, Authorization and
// correlation headers, query and body) and requires every answer to be a
// token response or an Entra OAuth error body with a 4xx status: never a
// 5xx, a redirect, or text/plain, which MSAL and azidentity cannot parse.
func FuzzTokenEndpoint(f *testing.F) {
	good := secretBody(testAppID, testSecret)
	assertion := url.Values{"grant_type": {"client_credentials"}, "client_id": {testAppID}, "scope": {testARMScope},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {"eyJhbGciOiJSUzI1NiIsIng1dCI6ImFiYyJ9.eyJpc3MiOiJ4In0.c2ln"}}.Encode()
	seeds := []struct {
		method, tenant string
		v2             bool
		contentType    string
		authorization  string
		correlation    string
		query, body    string
	}{
		{"POST", testTenant, true, "application/x-www-form-urlencoded", "", "", "", good},
		{"POST", testTenant, false, "application/x-www-form-urlencoded; charset=utf-8", "", "", "", "grant_type=client_credentials&client_id=" + testAppID + "&client_secret=" + url.QueryEscape(testSecret) + "&resource=https%3A%2F%2Fmanagement.azure.com%2F"},
		{"POST", testTenant, true, "application/x-www-form-urlencoded", basic(testAppID, testSecret), "", "", "grant_type=client_credentials&scope=" + url.QueryEscape(testARMScope)},
		{"POST", testTenant, true, "application/x-www-form-urlencoded", "", "0c4d3f1e-8a2b-4c6d-9e0f-1a2b3c4d5e6f", "", assertion},
		{"POST", testTenant, true, "application/x-www-form-urlencoded", "", "", "", "grant_type=client_credentials&client_id=" + testUAAppID + "&scope=api%3A%2F%2Fx%2F.default&client_assertion_type=" + url.QueryEscape(ClientAssertionType) + "&client_assertion=a.b.c"},
		{"GET", testTenant, true, "", "", "", "", ""},
		{"PUT", "common", false, "application/json", "Bearer x", "", "", `{"grant_type":"client_credentials"}`},
		{"POST", "", true, "multipart/form-data; boundary=x", "", "", "", "--x--"},
		{"POST", "..", true, "application/x-www-form-urlencoded", "", "", "grant_type=client_credentials", good},
		{"POST", testTenant, true, "application/x-www-form-urlencoded", "Basic !", "not-a-uuid", "a=%zz;b", good + "&client_id=x"},
	}
	form := func(v url.Values) string { return v.Encode() }
	certAssertion := func(aud string, exp time.Duration) string {
		return form(url.Values{"grant_type": {"client_credentials"}, "client_id": {testCertAppID}, "scope": {testARMScope},
			"client_assertion_type": {ClientAssertionType}, "client_assertion": {clientAssertion(f, aud, exp)}})
	}
	const ct = "application/x-www-form-urlencoded"
	seeds = append(seeds, []struct {
		method, tenant             string
		v2                         bool
		contentType, authorization string
		correlation, query, body   string
	}{
		{"POST", testTenant, true, ct, "", "", "", certAssertion(testBaseURL+"/"+testTenant+"/oauth2/v2.0/token", 23*time.Hour)},
		{"POST", testTenant, false, ct, "", "", "", certAssertion(testBaseURL+"/"+testTenant+"/", 23*time.Hour)},
		{"POST", testTenant, true, ct, "", "", "", certAssertion("https://elsewhere.example/token", 23*time.Hour)},
		{"POST", testTenant, true, ct, "", "", "", certAssertion(testBaseURL+"/"+testTenant+"/oauth2/v2.0/token", 48*time.Hour)},
		{"POST", testTenant, true, ct, "", "", "", secretBody(testAppID, "kls~wrong")},
		{"POST", testTenant, true, ct, "", "", "", good + "&client_id=" + testUAAppID},
		{"POST", testTenant, true, ct, "", "", "client_secret=x", good},
		{"POST", testTenant, true, ct, basic(testAppID, testSecret), "", "", good},
		{"POST", testTenant, false, ct, "", "", "", form(url.Values{"grant_type": {"client_credentials"}, "client_id": {testAppID}, "client_secret": {testSecret}, "resource": {"not a uri"}})},
		{"POST", testTenant, true, ct, "", "", "", form(url.Values{"grant_type": {"client_credentials"}, "client_id": {testAppID}, "client_secret": {testSecret}, "scope": {"openid https://a/.default api://b/.default"}})},
	}...)
	for _, s := range seeds {
		f.Add(s.method, s.tenant, s.v2, s.contentType, s.authorization, s.correlation, s.query, s.body)
	}
	// Failures are throttled on the harness's clock, which moves 100 ms per
	// request: both the refusals and the 429 that replaces them are fuzzed.
	h := newHarness(f, func(c *Config) { c.ClientAuthFailureRate, c.ClientAuthFailureBurst = 5, 5 })
	f.Fuzz(func(t *testing.T, method, tenant string, v2 bool, contentType, authorization, correlation, query, body string) {
		h.advance(100 * time.Millisecond)
		path := "/" + tenant + "/oauth2/token"
		if v2 {
			path = "/" + tenant + "/oauth2/v2.0/token"
		}
		header := http.Header{}
		for name, v := range map[string]string{"Content-Type": contentType, "Authorization": authorization, "Client-Request-Id": correlation} {
			if v != "" {
				// A newline in a fuzzed value stands for a repeated header.
				header[name] = strings.Split(v, "\n")
			}
		}
		w := h.do(request{method: method, path: path, query: query, header: header, body: body})
		if _, err := checkAnswer(w.Code, w.Header(), w.Body.Bytes()); err != nil {
			t.Fatalf("%s %q (Content-Type %q, Authorization %q, query %q, body %q): %v", method, path, contentType, authorization, query, body, err)
		}
	})
}
