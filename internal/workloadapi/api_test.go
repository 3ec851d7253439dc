package workloadapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workload/workloadtest"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

type fixture struct {
	env    *testenv.Env
	ws     workloadtest.Store
	app    workloadtest.Resource
	u1     workloadtest.Identity
	client *workloadapi.Client
}

func newFixture(t *testing.T) *fixture {
	env := testenv.Start(t, testenv.Options{})
	inst := env.Server.Installation()
	ws := workloadtest.Store{St: inst.Store, WaitFor: env.Server.WaitFor, SubscriptionID: inst.SubscriptionID}
	u1 := ws.UAMI(t, "rg1", "id1")
	app := ws.Compute(t, "rg1", "Microsoft.Web/sites", "app1", true, u1)
	return &fixture{env: env, ws: ws, app: app, u1: u1, client: &workloadapi.Client{BaseURL: env.URL, HTTP: env.HTTPClient}}
}

func TestOperatorEndpointsAuth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := f.env.Server.Installation()
	other, err := directory.CreateServicePrincipal(ctx, inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: "not-an-owner"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.env.Server.WaitFor(ctx, other.Revision); err != nil {
		t.Fatal(err)
	}
	token := func(t *testing.T, clientID, secret, scope string) string {
		tok, err := f.env.SecretCredential(t, clientID, secret).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	admin := token(t, f.env.Creds.ClientID, f.env.Creds.ClientSecret, "https://management.azure.com//.default")
	cases := []struct {
		name       string
		bearer     string
		resourceID string
		status     int
		code       string
	}{
		{"no bearer token", "", f.app.ID, 401, "AuthenticationFailed"},
		{"a garbage token", "not-a-jwt", f.app.ID, 401, "InvalidAuthenticationToken"},
		{"a token for another audience", token(t, f.env.Creds.ClientID, f.env.Creds.ClientSecret, "api://other/.default"), f.app.ID, 401, "InvalidAuthenticationTokenAudience"},
		{"a principal without write on the resource", token(t, other.Principal.AppID, other.Secret, "https://management.core.windows.net//.default"), f.app.ID, 403, "AuthorizationFailed"},
		{"not a resource ID", admin, "/subscriptions/x/resourceGroups/rg1", 400, "InvalidResourceId"},
		{"a resource that does not exist", admin, f.app.ID + "-missing", 404, "ResourceNotFound"},
		{"the owner", admin, f.app.ID, 201, ""},
	}
	for _, tc := range cases {
		for _, path := range []string{workloadapi.PathGrants, workloadapi.PathJoinTokens} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				body, _ := json.Marshal(map[string]any{"resourceId": tc.resourceID})
				req, _ := http.NewRequest(http.MethodPost, f.env.URL+path, bytes.NewReader(body))
				if tc.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+tc.bearer)
				}
				resp, err := f.env.HTTPClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
				}
				if tc.code != "" && !strings.Contains(string(raw), `"code":"`+tc.code+`"`) {
					t.Fatalf("body %s, want code %s", raw, tc.code)
				}
				if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				if tc.status == 201 && path == workloadapi.PathJoinTokens {
					// CONTRACT.md: {"token": …, "expiresOn": …}
					var m map[string]any
					_ = json.Unmarshal(raw, &m)
					if _, ok := m["token"].(string); !ok {
						t.Fatalf("no token in %s", raw)
					}
					if s, _ := m["expiresOn"].(string); s == "" {
						t.Fatalf("no expiresOn in %s", raw)
					} else if _, err := time.Parse(time.RFC3339, s); err != nil {
						t.Fatalf("expiresOn %q: %v", s, err)
					}
				}
			})
		}
	}
}

func TestGrantEventStream(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := f.client.CreateGrant(ctx, f.adminToken(t), workloadapi.CreateGrantRequest{ResourceID: f.app.ID})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan workloadapi.Event, 16)
	done := make(chan error, 1)
	go func() {
		done <- f.client.GrantEvents(ctx, g.GrantID, g.Secret, 0, func(ev workloadapi.Event) { events <- ev })
	}()
	next := func(want string) {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Type != want {
				t.Fatalf("event %+v, want %s", ev, want)
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", want)
		}
	}
	next(workloadapi.EventReady)
	// A change to an unrelated resource says nothing.
	f.ws.Compute(t, "rg1", "Microsoft.Web/sites", "unrelated", true)
	// Detaching the identity invalidates.
	f.ws.Detach(t, f.app.ID, f.u1.ResourceID)
	next(workloadapi.EventInvalidate)
	// Revoking the grant ends the stream with "revoked".
	if err := f.client.RevokeGrant(ctx, g.GrantID, g.Secret); err != nil {
		t.Fatal(err)
	}
	next(workloadapi.EventRevoked)
	if err := <-done; err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stream end: %v", err)
	}
}

func TestGrantTokenMintsForTheGrantsResourceOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := f.ws.UAMI(t, "rg1", "other")
	g, err := f.client.CreateGrant(ctx, f.adminToken(t), workloadapi.CreateGrantRequest{ResourceID: f.app.ID, TTLSeconds: 600})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(g.ExpiresOn); d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("expiresOn in %s, want 10m", d)
	}
	tok, err := f.client.GrantToken(ctx, g.GrantID, g.Secret, "https://vault.azure.net", workload.Selector{Kind: workload.SelectClientID, Value: f.u1.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ObjectID != f.u1.ObjectID || tok.MSIResID == "" || tok.Resource != "https://vault.azure.net" || tok.TokenType != "Bearer" {
		t.Fatalf("token response %+v", tok)
	}
	_, err = f.client.GrantToken(ctx, g.GrantID, g.Secret, "https://vault.azure.net", workload.Selector{Kind: workload.SelectClientID, Value: other.ClientID})
	var ae *workloadapi.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_request" {
		t.Fatalf("identity of another resource: %v", err)
	}
}

func (f *fixture) adminToken(t *testing.T) string {
	t.Helper()
	tok, err := f.env.AdminCredential(t).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// TestGrantNeedsWriteOnTheResource: RBAC decides, through the same engine
// as ARM: Contributor on the group may create grants and join tokens for
// its resources, Reader may not, and agent listing shows only readable
// resources.
func TestGrantNeedsWriteOnTheResource(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := f.env.Server.Installation()
	newSP := func(name, roleID string) string {
		sp, err := directory.CreateServicePrincipal(ctx, inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: name})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := inst.Store.Update(ctx, func(tx store.Tx) error {
			return tx.CreateRoleAssignment(ctx, store.RoleAssignment{
				Name: uuid.NewString(), Scope: "/subscriptions/" + inst.SubscriptionID + "/resourceGroups/rg1",
				RoleDefinitionID: roleID, PrincipalID: sp.Principal.ObjectID, PrincipalType: "ServicePrincipal",
				CreatedAt: time.Now(), UpdatedAt: time.Now(),
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.env.Server.WaitFor(ctx, rev); err != nil {
			t.Fatal(err)
		}
		tok, err := f.env.SecretCredential(t, sp.Principal.AppID, sp.Secret).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	contributor := newSP("contributor", authz.RoleContributor)
	reader := newSP("reader", authz.RoleReader)
	if _, err := f.client.CreateGrant(ctx, contributor, workloadapi.CreateGrantRequest{ResourceID: f.app.ID}); err != nil {
		t.Fatalf("Contributor: %v", err)
	}
	var ae *workloadapi.APIError
	if _, err := f.client.CreateJoinToken(ctx, reader, workloadapi.CreateJoinTokenRequest{ResourceID: f.app.ID}); !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("Reader: %v, want 403", err)
	}
	if agents, err := f.client.ListAgents(ctx, reader); err != nil || len(agents) != 0 {
		t.Fatalf("Reader lists %v, %v", agents, err)
	}
}
