package arm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/arm"
)

type armErrorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Target  *string           `json:"target"`
		Details []json.RawMessage `json:"details"`
	} `json:"error"`
}

func decodeError(t *testing.T, body string) armErrorBody {
	t.Helper()
	var e armErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if e.Error.Details == nil {
		t.Errorf("error body without details array: %s", body)
	}
	return e
}

func TestRawErrorPaths(t *testing.T) {
	e := newEnv(t, func(c *arm.Config) { c.MaxBodyBytes = 1024 })
	e.group("rg1")
	sub := "/subscriptions/" + subscriptionID
	rg := sub + "/resourcegroups/rg1"
	vm := sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
		message                         string // substring
		target                          string
	}{
		{"no Authorization header", "GET", rg + "?api-version=2025-04-01", "", "", 401, "AuthenticationFailed", "missing", ""},
		{"unknown token", "GET", rg + "?api-version=2025-04-01", "nope", "", 401, "InvalidAuthenticationToken", "invalid", ""},
		{"expired token", "GET", rg + "?api-version=2025-04-01", "expired", "", 401, "ExpiredAuthenticationToken", "expiry", ""},
		{"missing api-version", "GET", rg, adminToken, "", 400, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.", "api-version"},
		{"unsupported api-version", "GET", rg + "?api-version=2099-01-01", adminToken, "", 400, "InvalidApiVersionParameter",
			"The api-version '2099-01-01' is invalid. The supported versions are '2025-04-01,", "api-version"},
		{"identity api-version on groups", "GET", rg + "?api-version=2024-11-30", adminToken, "", 400, "InvalidApiVersionParameter", "2024-11-30", "api-version"},
		{"malformed generic api-version", "GET", vm + "?api-version=latest", adminToken, "", 400, "InvalidApiVersionParameter", "YYYY-MM-DD", "api-version"},
		{"impossible date", "GET", vm + "?api-version=2024-13-45", adminToken, "", 400, "InvalidApiVersionParameter", "2024-13-45", "api-version"},
		{"syntax error", "PUT", vm + "?api-version=2024-07-01", adminToken, "{\n  \"location\": \"westus\",\n}", 400, "InvalidRequestContent", "line 3, column 2", ""},
		{"wrong member type", "PUT", rg + "?api-version=2025-04-01", adminToken, `{"location": 5}`, 400, "InvalidRequestContent", "'location' is a JSON number but must be a string", "location"},
		{"wrong tag value type", "PUT", vm + "?api-version=2024-07-01", adminToken, `{"location":"westus","tags":{"env":5}}`, 400, "InvalidRequestContent", "'tags.env' is a JSON number", "tags.env"},
		{"wrong identity map value", "PUT", vm + "?api-version=2024-07-01", adminToken, `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"x":true}}}`, 400, "InvalidRequestContent", "must be an object ({}) or null", "identity.userAssignedIdentities"},
		{"empty body", "PUT", rg + "?api-version=2025-04-01", adminToken, "", 400, "InvalidRequestContent", "empty", ""},
		{"array body", "PUT", rg + "?api-version=2025-04-01", adminToken, `[{"location":"westus"}]`, 400, "InvalidRequestContent", "JSON object", ""},
		{"trailing garbage", "PUT", rg + "?api-version=2025-04-01", adminToken, `{"location":"westus"} x`, 400, "InvalidRequestContent", "line 1", ""},
		{"oversize body", "PUT", rg + "?api-version=2025-04-01", adminToken, `{"location":"westus","tags":{"a":"` + strings.Repeat("x", 2000) + `"}}`, 413, "RequestEntityTooLarge", "1024 bytes", ""},
		{"invalid generic name", "PUT", sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1.?api-version=2024-07-01", adminToken, `{}`, 400, "InvalidResourceName", "vm1.", "name"},
		{"resource in a missing group", "PUT", sub + "/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-07-01", adminToken, `{}`, 404, "ResourceGroupNotFound", "'nope'", ""},
		{"unknown path", "GET", "/foo/bar?api-version=2025-04-01", adminToken, "", 404, "NotFound", "/foo/bar", ""},
		{"unsupported method", "POST", rg + "?api-version=2025-04-01", adminToken, "", 405, "MethodNotAllowed", "POST", ""},
		{"dot segment", "GET", "/subscriptions/" + subscriptionID + "/resourcegroups/%2e%2e?api-version=2025-04-01", adminToken, "", 400, "InvalidRequestUri", "..", ""},
		{"bad skip token", "GET", sub + "/resourcegroups?api-version=2025-04-01&$skiptoken=***", adminToken, "", 400, "InvalidSkipToken", "***", "$skiptoken"},
		{"bad $top", "GET", sub + "/resourcegroups?api-version=2025-04-01&$top=0", adminToken, "", 400, "InvalidParameter", "$top", "$top"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, tc.token, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			got := decodeError(t, body)
			if got.Error.Code != tc.code || !strings.Contains(got.Error.Message, tc.message) {
				t.Errorf("got %s %q, want %s containing %q", got.Error.Code, got.Error.Message, tc.code, tc.message)
			}
			if tc.target != "" && (got.Error.Target == nil || *got.Error.Target != tc.target) {
				t.Errorf("target = %v, want %q", got.Error.Target, tc.target)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == 401 {
				want := `Bearer authorization_uri="` + e.srv.URL + `/` + tenantID + `", error="invalid_token", error_description="`
				if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, want) {
					t.Errorf("WWW-Authenticate = %q, want prefix %q", h, want)
				}
			}
		})
	}

	// Nothing was written by the failed writes.
	for _, path := range []string{vm, sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1."} {
		if resp, _ := e.do("GET", path+"?api-version=2024-07-01", adminToken, ""); resp.StatusCode == 200 {
			t.Errorf("%s exists after failed writes: %d", path, resp.StatusCode)
		}
	}
	if resp, body := e.do("GET", rg+"?api-version=2025-04-01", adminToken, ""); resp.StatusCode != 200 || strings.Contains(body, `"tags"`) {
		t.Errorf("rg1 changed by failed writes: %d %s", resp.StatusCode, body)
	}
}

func TestOversizeBodyWithoutContentLength(t *testing.T) {
	e := newEnv(t, func(c *arm.Config) { c.MaxBodyBytes = 100 })
	body := strings.NewReader(`{"location":"westus","tags":{"a":"` + strings.Repeat("x", 500) + `"}}`)
	req, _ := http.NewRequestWithContext(e.ctx, "PUT", e.srv.URL+"/subscriptions/"+subscriptionID+"/resourcegroups/rg1?api-version=2025-04-01", struct{ *strings.Reader }{body})
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.ContentLength = -1
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/subscriptions/"+subscriptionID+"/resourcegroups/rg1?api-version=2025-04-01", adminToken, ""); resp.StatusCode != 404 {
		t.Errorf("group written: %d", resp.StatusCode)
	}
}

func TestPathCasingAndCleaning(t *testing.T) {
	e := newEnv(t)
	e.group("Rg1")
	paths := []string{
		"/subscriptions/" + subscriptionID + "/resourcegroups/rg1",
		"/subscriptions/" + subscriptionID + "/resourceGroups/RG1",
		"/SUBSCRIPTIONS/" + strings.ToUpper(subscriptionID) + "/RESOURCEGROUPS/rG1",
		"//subscriptions//" + subscriptionID + "///resourceGroups/rg1/",
	}
	for _, p := range paths {
		resp, body := e.do("GET", p+"?api-version=2025-04-01", adminToken, "")
		if resp.StatusCode != 200 || !strings.Contains(body, `"name":"Rg1"`) {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}

func TestRequestIDs(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequestWithContext(e.ctx, "GET", e.srv.URL+"/subscriptions/"+subscriptionID+"?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("x-ms-correlation-request-id", "corr-123")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("x-ms-correlation-request-id") != "corr-123" || resp.Header.Get("x-ms-request-id") == "" {
		t.Errorf("headers %v", resp.Header)
	}
	req.Header.Set("x-ms-correlation-request-id", "bad value\twith tab")
	resp, err = e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("x-ms-correlation-request-id"); got == "" || strings.Contains(got, "bad") {
		t.Errorf("implausible correlation ID echoed: %q", got)
	}
}

func TestRequestRecords(t *testing.T) {
	var records []arm.RequestRecord
	e := newEnv(t, func(c *arm.Config) {
		c.OnRequest = func(_ context.Context, r arm.RequestRecord) { records = append(records, r) }
	})
	e.do("GET", "/subscriptions/"+subscriptionID+"/resourcegroups/rg1?api-version=2025-04-01", userToken, "")
	if len(records) != 1 {
		t.Fatalf("%d records", len(records))
	}
	r := records[0]
	if r.Status != 403 || r.ErrorCode != "AuthorizationFailed" || r.Route != "ResourceGroups_Get" || r.Caller.ObjectID != alice.ObjectID ||
		r.Action != "Microsoft.Resources/subscriptions/resourceGroups/read" || r.Scope != "/subscriptions/"+subscriptionID+"/resourceGroups/rg1" {
		t.Errorf("record = %+v", r)
	}
}
