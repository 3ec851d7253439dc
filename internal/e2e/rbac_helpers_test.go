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

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/testenv"
)

// rbacPrincipal is a service principal made for a test, with its own
// ClientSecretCredential.
type rbacPrincipal struct {
	ObjectID, AppID string
	Cred            azcore.TokenCredential
}

func newRBACPrincipal(t testing.TB, env *testenv.Env, name string) rbacPrincipal {
	t.Helper()
	ctx := context.Background()
	inst := env.Server.Installation()
	created, err := directory.CreateServicePrincipal(ctx, inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(ctx, created.Revision); err != nil {
		t.Fatal(err)
	}
	return rbacPrincipal{ObjectID: created.Principal.ObjectID, AppID: created.Principal.AppID,
		Cred: env.SecretCredential(t, created.Principal.AppID, created.Secret)}
}

func roleDefID(sub, guid string) string {
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

func assignmentsClient(t testing.TB, env *testenv.Env, cred azcore.TokenCredential) *armauthorization.RoleAssignmentsClient {
	t.Helper()
	c, err := armauthorization.NewRoleAssignmentsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func definitionsClient(t testing.TB, env *testenv.Env, cred azcore.TokenCredential) *armauthorization.RoleDefinitionsClient {
	t.Helper()
	c, err := armauthorization.NewRoleDefinitionsClient(cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// grant makes an assignment as the admin through the SDK and returns its
// name.
func grant(t testing.TB, env *testenv.Env, scope, roleGUID, principalID string) string {
	t.Helper()
	name := uuid.NewString()
	_, err := assignmentsClient(t, env, env.AdminCredential(t)).Create(context.Background(), scope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			PrincipalID:      to.Ptr(principalID),
			RoleDefinitionID: to.Ptr(roleDefID(env.Creds.SubscriptionID, roleGUID)),
			PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		},
	}, nil)
	if err != nil {
		t.Fatalf("grant %s at %s: %v", roleGUID, scope, err)
	}
	return name
}

// encodeFilter pre-encodes a $filter: armauthorization appends it to the
// query unencoded, which is not a valid request line (reference §1.9).
func encodeFilter(f string) *string { return to.Ptr(url.QueryEscape(f)) }

// respErr returns the status and ARM error code of an SDK error.
func respErr(t testing.TB, err error) (int, string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("expected an ARM error response, got %v", err)
	}
	return re.StatusCode, re.ErrorCode
}

func wantARMError(t testing.TB, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %d %s, got success", status, code)
	}
	gotStatus, gotCode := respErr(t, err)
	if gotStatus != status || code != "" && gotCode != code {
		t.Fatalf("expected %d %s, got %d %s: %v", status, code, gotStatus, gotCode, err)
	}
}

// rawARM calls a route that has no SDK client through azcore's ARM
// pipeline (bearer token, retries) and returns the status and body.
func rawARM(t testing.TB, env *testenv.Env, cred azcore.TokenCredential, method, path string, query url.Values, body any) (int, []byte) {
	t.Helper()
	client, err := azarm.NewClient("keyless-e2e", "v0.1.0", cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(context.Background(), method, runtime.JoinPaths(client.Endpoint(), path))
	if err != nil {
		t.Fatal(err)
	}
	req.Raw().URL.RawQuery = query.Encode()
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// anonymous sends a request with no Authorization header.
func anonymous(t testing.TB, env *testenv.Env, method, path string, query url.Values, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, env.URL+path+"?"+query.Encode(), rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := env.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func apiVersion(v string) url.Values { return url.Values{"api-version": {v}} }

func decodeJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func errorCodeOf(b []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

func names(as []*armauthorization.RoleAssignment) []string {
	var out []string
	for _, a := range as {
		out = append(out, strings.ToLower(*a.Name))
	}
	return out
}

// drain reads every page of a pager.
func drain[R any, V any](t testing.TB, p *runtime.Pager[R], values func(R) []V) []V {
	t.Helper()
	var out []V
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, values(page)...)
	}
	return out
}
