package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/subscription/armsubscription"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// eachStore runs fn against a server on SQLite and one on PostgreSQL: the
// hardening answers must not depend on the backend.
func eachStore(t *testing.T, fn func(t *testing.T, env *testenv.Env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testenv.Start(t, testenv.Options{})) })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Start(t, testenv.Options{StoreDSN: pgtest.DSN(t)})) })
}

// armErrorOf returns the status and ARM error code of an SDK call's error,
// failing the test if the call succeeded or the body is not ARM-shaped.
func armErrorOf(t *testing.T, err error) (int, string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an ARM error response, got %v", err)
	}
	if re.ErrorCode == "" {
		t.Fatalf("error response without an ARM error code: %v", err)
	}
	return re.StatusCode, re.ErrorCode
}

// TestNULInInputIsRefusedAtTheEdgeOnBothStores: every request kind that
// used to answer 500 on PostgreSQL (and store the NUL on SQLite) is a 400
// naming the member, through the SDK clients, on both stores.
func TestNULInInputIsRefusedAtTheEdgeOnBothStores(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cred := env.AdminCredential(t)
		sub := env.Creds.SubscriptionID
		groups, _ := armresources.NewResourceGroupsClient(sub, cred, env.ARMOptions())
		generic, _ := armresources.NewClient(sub, cred, env.ARMOptions())
		ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, cred, env.ARMOptions())
		fics, _ := armmsi.NewFederatedIdentityCredentialsClient(sub, cred, env.ARMOptions())
		defs, _ := armauthorization.NewRoleDefinitionsClient(cred, env.ARMOptions())
		assigns, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, env.ARMOptions())
		aliases, _ := armsubscription.NewAliasClient(cred, env.ARMOptions())

		if _, err := groups.CreateOrUpdate(ctx, "rg1", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
			t.Fatal(err)
		}
		uami, err := ids.CreateOrUpdate(ctx, "rg1", "id1", armmsi.Identity{Location: to.Ptr("westus")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rgScope := "/subscriptions/" + sub + "/resourceGroups/rg1"

		tests := []struct {
			name   string
			call   func() error
			target string // the member the message must name ("" for path segments)
		}{
			{"group tag", func() error {
				_, err := groups.CreateOrUpdate(ctx, "rg2", armresources.ResourceGroup{Location: to.Ptr("westus"), Tags: map[string]*string{"k": to.Ptr("a\x00b")}}, nil)
				return err
			}, "tags.k"},
			{"group location", func() error {
				_, err := groups.CreateOrUpdate(ctx, "rg2", armresources.ResourceGroup{Location: to.Ptr("west\x00us")}, nil)
				return err
			}, "location"},
			{"federated credential subject", func() error {
				_, err := fics.CreateOrUpdate(ctx, "rg1", "id1", "fic1", armmsi.FederatedIdentityCredential{Properties: &armmsi.FederatedIdentityCredentialProperties{
					Issuer: to.Ptr("https://issuer.example"), Subject: to.Ptr("repo:a\x00b"), Audiences: []*string{to.Ptr("api://AzureADTokenExchange")}}}, nil)
				return err
			}, "properties.subject"},
			{"custom role name", func() error {
				_, err := defs.CreateOrUpdate(ctx, rgScope, uuid.NewString(), armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
					RoleName: to.Ptr("role\x00"), AssignableScopes: []*string{to.Ptr(rgScope)},
					Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("*/read")}}}}}, nil)
				return err
			}, "properties.roleName"},
			{"role assignment description", func() error {
				_, err := assigns.Create(ctx, rgScope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
					PrincipalID: uami.Properties.PrincipalID, RoleDefinitionID: to.Ptr(roleDefID(sub, readerRoleID)), Description: to.Ptr("why\x00")}}, nil)
				return err
			}, "properties.description"},
			{"subscription alias display name", func() error {
				poller, err := aliases.BeginCreate(ctx, "alias-nul", armsubscription.PutAliasRequest{Properties: &armsubscription.PutAliasRequestProperties{DisplayName: to.Ptr("Team\x00A")}}, nil)
				if err != nil {
					return err
				}
				_, err = poller.PollUntilDone(ctx, nil)
				return err
			}, "properties.displayName"},
			{"generic resource property", func() error {
				_, err := generic.BeginCreateOrUpdate(ctx, "rg1", "Microsoft.Web", "", "sites", "web1", "2022-03-01",
					armresources.GenericResource{Location: to.Ptr("westus"), Properties: map[string]any{"list": []any{"ok", "a\x00"}}}, nil)
				return err
			}, "properties.list[1]"},
			{"provider namespace", func() error {
				_, err := generic.BeginCreateOrUpdate(ctx, "rg1", "Foo\x00Bar", "", "things", "x", "2022-03-01", armresources.GenericResource{Location: to.Ptr("westus")}, nil)
				return err
			}, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				status, code := armErrorOf(t, err)
				if status != http.StatusBadRequest || (code != "InvalidRequestContent" && code != "InvalidRequestUri") {
					t.Fatalf("got %d %s, want 400 InvalidRequestContent or InvalidRequestUri: %v", status, code, err)
				}
				if tc.target != "" && !strings.Contains(err.Error(), "'"+tc.target+"'") {
					t.Fatalf("the error does not name the member %q: %v", tc.target, err)
				}
			})
		}

		// Directory objects and launch grants have no SDK client: the
		// keyless CLI calls them through azcore's ARM pipeline.
		for _, tc := range []struct{ name, path, version string }{
			{"service principal display name", "/providers/Keyless.Directory/servicePrincipals", "2025-01-01"},
			{"directory group display name", "/providers/Keyless.Directory/groups", "2025-01-01"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := rawARM(t, env, cred, http.MethodPost, tc.path, apiVersion(tc.version), map[string]string{"displayName": "x\x00y"})
				if status != http.StatusBadRequest || errorCodeOf(body) != "InvalidRequestContent" || !bytes.Contains(body, []byte("'displayName'")) {
					t.Fatalf("got %d %s", status, body)
				}
			})
		}
		t.Run("launch grant resource ID", func(t *testing.T) {
			status, body := rawARM(t, env, cred, http.MethodPost, workloadapi.PathGrants, nil,
				map[string]string{"resourceId": rgScope + "/providers/Microsoft.Web/sites/a\x00b"})
			if status != http.StatusBadRequest || errorCodeOf(body) != "InvalidRequestContent" {
				t.Fatalf("got %d %s", status, body)
			}
		})

		// Nothing of the refused requests was written.
		if _, err := groups.Get(ctx, "rg2", nil); !isStatus(err, http.StatusNotFound) {
			t.Fatalf("rg2 exists after its refused creation: %v", err)
		}
	})
}

// TestResourceIDSegmentsFollowARMRules: a provider namespace is letters,
// digits and periods; a type segment much the same; both answered 400
// before authorization, on both stores.
func TestResourceIDSegmentsFollowARMRules(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cred := env.AdminCredential(t)
		sub := env.Creds.SubscriptionID
		groups, _ := armresources.NewResourceGroupsClient(sub, cred, env.ARMOptions())
		generic, _ := armresources.NewClient(sub, cred, env.ARMOptions())
		if _, err := groups.CreateOrUpdate(ctx, "rg1", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, namespace, typ, resource string
			code                           string
		}{
			{"space in namespace", "Foo Bar", "things", "x", "InvalidResourceNamespace"},
			{"space in type", "Foo.Bar", "th ings", "x", "InvalidResourceType"},
			{"punctuation in namespace", "Foo;Bar", "things", "x", "InvalidResourceNamespace"},
			{"name with a colon", "Foo.Bar", "things", "a:b", "InvalidResourceName"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := generic.BeginCreateOrUpdate(ctx, "rg1", tc.namespace, "", tc.typ, tc.resource, "2022-03-01", armresources.GenericResource{Location: to.Ptr("westus")}, nil)
				status, code := armErrorOf(t, err)
				if status != http.StatusBadRequest || code != tc.code {
					t.Fatalf("got %d %s, want 400 %s", status, code, tc.code)
				}
			})
		}
		// A real namespace that starts with digits is fine.
		if _, err := generic.BeginCreateOrUpdate(ctx, "rg1", "84codes.CloudAMQP", "", "instances", "mq1", "2022-03-01", armresources.GenericResource{Location: to.Ptr("westus")}, nil); err != nil {
			t.Fatalf("84codes.CloudAMQP/instances: %v", err)
		}
	})
}

// rawRequest sends one request as written (no path cleaning, no
// content-type defaults) with the admin's ARM token unless anonymous.
func rawRequest(t *testing.T, env *testenv.Env, method, rawPath, contentType string, body []byte, anonymous bool) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	// Opaque keeps the path byte for byte: no client-side cleaning.
	req.URL.Opaque = rawPath
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !anonymous {
		tok, err := env.AdminCredential(t).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com//.default"}})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
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

// TestHTTPEdges: dot segments are 400, doubled slashes are served in place,
// no request is ever answered with a redirect, bodies must be JSON, and the
// query is bounded, each with ARM's error.
func TestHTTPEdges(t *testing.T) {
	eachStore(t, testHTTPEdges)
}

func testHTTPEdges(t *testing.T, env *testenv.Env) {
	sub := "/subscriptions/" + env.Creds.SubscriptionID
	const v = "?api-version=2021-04-01"
	if status, _, b := rawRequest(t, env, http.MethodPut, sub+"/resourceGroups/rg1"+v, "application/json", []byte(`{"location":"westus"}`), false); status != http.StatusCreated {
		t.Fatalf("create rg1: %d %s", status, b)
	}
	manyParams := "?api-version=2021-04-01" + strings.Repeat("&x=1", 10000)
	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		anonymous                       bool
		status                          int
		code                            string
	}{
		{"dot-dot segment", http.MethodPut, sub + "/resourceGroups/.." + v, "application/json", []byte(`{"location":"westus"}`), false, 400, "InvalidRequestUri"},
		{"dot segment", http.MethodGet, sub + "/./resourceGroups/rg1" + v, "", nil, false, 400, "InvalidRequestUri"},
		{"escaped dot-dot", http.MethodGet, sub + "/resourceGroups/%2e%2e" + v, "", nil, false, 400, "InvalidRequestUri"},
		{"doubled slash served in place", http.MethodGet, sub + "/resourceGroups//rg1" + v, "", nil, false, 200, ""},
		{"doubled slash without a token is 401, not a redirect", http.MethodDelete, sub + "/resourceGroups//rg1" + v, "", nil, true, 401, "AuthenticationFailed"},
		{"doubled slash inside a resource ID, as az sends it", http.MethodGet, sub + "/resourceGroups/rg1/providers/Microsoft.Web//sites/web1" + v, "", nil, false, 404, "ResourceNotFound"},
		{"text/plain body", http.MethodPut, sub + "/resourceGroups/rg2" + v, "text/plain", []byte(`{"location":"westus"}`), false, 415, "UnsupportedMediaType"},
		{"body without a content type", http.MethodPut, sub + "/resourceGroups/rg2" + v, "", []byte(`{"location":"westus"}`), false, 415, "UnsupportedMediaType"},
		{"charset utf-8 is JSON", http.MethodPut, sub + "/resourceGroups/rg3" + v, "application/json; charset=utf-8", []byte(`{"location":"westus"}`), false, 201, ""},
		{"10,000 query parameters", http.MethodGet, sub + "/resourceGroups" + manyParams, "", nil, false, 414, "RequestUriTooLong"},
		{"100 query parameters", http.MethodGet, sub + "/resourceGroups" + v + strings.Repeat("&a=1", 100), "", nil, false, 400, "InvalidRequestUri"},
		{"a skip token keyless did not issue", http.MethodGet, sub + "/resourceGroups" + v + "&$skiptoken=" + url.QueryEscape("enp6eg"), "", nil, false, 400, "InvalidSkipToken"},
		{"NUL in a resource type", http.MethodPut, sub + "/resourceGroups/rg1/providers/Microsoft.Web/si%00tes/x" + v, "application/json", []byte(`{"location":"westus"}`), false, 400, "InvalidRequestUri"},
		{"NUL in a path segment", http.MethodGet, sub + "/resourceGroups/a%00b" + v, "", nil, false, 400, "InvalidRequestUri"},
		{"NUL in a query value", http.MethodGet, sub + "/resourceGroups" + v + "&$filter=a%00", "", nil, false, 400, "InvalidQueryParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := rawRequest(t, env, tc.method, tc.path, tc.contentType, tc.body, tc.anonymous)
			if status >= 300 && status < 400 || hdr.Get("Location") != "" && status != http.StatusCreated && status != http.StatusAccepted {
				t.Fatalf("answered with a redirect: %d Location %q", status, hdr.Get("Location"))
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code != "" {
				if got := errorCodeOf(body); got != tc.code {
					t.Fatalf("code %q, want %q: %s", got, tc.code, body)
				}
			}
			if status >= 400 && !json.Valid(body) {
				t.Fatalf("error body is not JSON: %q", body)
			}
		})
	}
}

// TestDotSegmentsOnTokenPathsGetOAuthErrors: the edge refuses dot segments
// before routing, and on the token service's paths it answers in OAuth's
// shape, which MSAL reads.
func TestDotSegmentsOnTokenPathsGetOAuthErrors(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	status, _, body := rawRequest(t, env, http.MethodPost, "/"+env.Creds.TenantID+"/../oauth2/v2.0/token", "application/x-www-form-urlencoded", []byte("grant_type=client_credentials"), true)
	var e struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	if status != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Error != "invalid_request" || len(e.ErrorCodes) != 1 {
		t.Fatalf("%d %s", status, body)
	}
}
