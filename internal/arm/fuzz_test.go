package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// FuzzFrontDoor sends arbitrary requests (method, path, query, content
// type, authorization, body) through the ARM front door over a real SQLite
// store and asserts the two promises every answer keeps: never a 5xx for
// anything a client sends, and every error in ARM's shape
// ({"error":{"code","message"}}) so that the SDKs can read it.
func FuzzFrontDoor(f *testing.F) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(f.TempDir(), "keyless.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateSubscription(ctx, store.Subscription{ID: subscriptionID, DisplayName: "Default", State: "Enabled", CreatedAt: time.Now()})
	}); err != nil {
		f.Fatal(err)
	}
	authz := &grantAuthorizer{}
	authz.allow(admin.ObjectID, "*", "/")
	server := arm.New(arm.Config{
		Store: st, Authenticator: tokenAuthenticator{adminToken: admin, userToken: alice}, Authorizer: authz,
		TenantID: tenantID, BaseURL: "https://keyless.example", FederatedCredentialLimit: 20,
	})

	sub := "/subscriptions/" + subscriptionID
	seeds := []struct {
		method      uint8
		path, query string
		contentType string
		auth        uint8
		body        string
	}{
		{1, sub + "/resourceGroups/rg1", "api-version=2021-04-01", "application/json", 0, `{"location":"westus","tags":{"k":"v"}}`},
		{1, sub + "/resourceGroups/rg1", "api-version=2021-04-01", "application/json", 0, `{"location":"westus","tags":{"k":"a\u0000b"}}`},
		{1, sub + "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", "api-version=2023-01-31", "application/json", 0, `{"location":"westus"}`},
		{1, sub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/web1", "api-version=2022-03-01", "application/json", 0, `{"location":"westus","identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"/subscriptions/x/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1":{}}}}`},
		{0, sub + "/resourceGroups", "api-version=2021-04-01&$top=1&$skiptoken=abc", "", 0, ""},
		{2, sub + "/resourceGroups/rg1/providers/Foo%20Bar/things/x", "api-version=2021-04-01", "text/plain", 1, `{}`},
		{3, sub + "/resourceGroups/rg1", "api-version=2021-04-01", "application/merge-patch+json", 0, `{"tags":null}`},
		{4, "/providers/Microsoft.Authorization/roleAssignments/x", "api-version=2022-04-01&$filter=atScope()", "", 2, ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.contentType, s.auth, []byte(s.body))
	}
	methods := []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions, "PROPFIND"}
	tokens := []string{adminToken, userToken, "", "expired", "garbage"}

	f.Fuzz(func(t *testing.T, method uint8, path, query, contentType string, auth uint8, body []byte) {
		// What the HTTP server itself would refuse never reaches a handler.
		u, err := url.ParseRequestURI("/" + path + "?" + query)
		if err != nil {
			return
		}
		req := &http.Request{
			Method: methods[int(method)%len(methods)], URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "keyless.example", Body: http.NoBody, RemoteAddr: "127.0.0.1:1",
		}
		req = req.WithContext(ctx)
		if len(body) > 0 {
			req.Body, req.ContentLength = httpBody(body), int64(len(body))
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if tok := tokens[int(auth)%len(tokens)]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		server.ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", req.Method, u, rec.Code, rec.Body)
		}
		if rec.Code >= 300 && rec.Code < 400 {
			t.Fatalf("%s %s: redirect %d", req.Method, u, rec.Code)
		}
		if req.Method == http.MethodHead || rec.Body.Len() == 0 {
			if rec.Code >= 400 && req.Method != http.MethodHead {
				t.Fatalf("%s %s: %d with an empty body", req.Method, u, rec.Code)
			}
			return
		}
		if rec.Code >= 400 {
			var e struct {
				Error *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s: %d body is not an ARM error: %s", req.Method, u, rec.Code, rec.Body)
			}
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: %d body is not JSON: %s", req.Method, u, rec.Code, rec.Body)
		}
	})
}

type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }

func httpBody(b []byte) bodyReader { return bodyReader{bytes.NewReader(b)} }
