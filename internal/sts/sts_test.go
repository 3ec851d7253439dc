package sts

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
