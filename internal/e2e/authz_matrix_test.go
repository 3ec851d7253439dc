package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/directoryapi"
	"github.com/keyless-io/keyless/internal/mgmtapi"
	"github.com/keyless-io/keyless/internal/rbacapi"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

// publicRoutes are the only routes any authenticated caller may use
// without a grant, each for a stated reason. A route that declares no
// action and is not listed here fails the matrix.
var publicRoutes = map[string]string{
	"OperationResults_Get":                "the Location of a group delete: an unguessable token that says only 'done', pollable after the deleter's access went with the group",
	"Providers_GetAtTenantScope":          "provider metadata (types, api-versions), the same for everyone",
	"Operations_List":                     "the Microsoft.ManagedIdentity operation list, static metadata",
	"Portal_CreateSignInLink":             "a one-time portal sign-in link for the caller itself: the browser session acts as the caller, with the caller's own roles and nothing more",
	"ManagementGroupOperationResults_Get": "the Azure-AsyncOperation of a finished management group delete: it always says Succeeded and reads nothing, pollable after the deleter's access went with the group",
}

// sampleQueries are query parameters a route's sample needs beyond its
// api-version (the Activity Log answers 400 without a time range).
var sampleQueries = map[string]url.Values{
	"ActivityLogs_List": {"$filter": {"eventTimestamp ge '2000-01-01T00:00:00Z'"}},
}

// sampleSubscription is the subscription the front door's samples name;
// the matrix substitutes the server's own.
const sampleSubscription = "/subscriptions/00000000-0000-0000-0000-000000000001"

// frontDoorRoutes is the route table of the server under test: the real
// one when the server exposes its front door, else one built the way the
// wiring builds it (internal/server/controlplane.go).
func frontDoorRoutes(t *testing.T, env *testenv.Env) []arm.RouteInfo {
	if s, ok := any(env.Server).(interface{ ARM() *arm.Server }); ok {
		return s.ARM().Routes()
	}
	t.Log("the server does not expose its front door; building the route table as the wiring does")
	inst := env.Server.Installation()
	front := arm.New(arm.Config{Store: inst.Store, TenantID: inst.TenantID})
	directoryapi.Register(front, directoryapi.Config{Store: inst.Store, Keyring: inst.Keyring, TenantID: inst.TenantID})
	mgmtapi.Register(front, mgmtapi.Config{Store: inst.Store, TenantID: inst.TenantID})
	rbacapi.Register(front, rbacapi.Config{Store: inst.Store, Engine: authz.New(), TenantID: inst.TenantID})
	return front.Routes()
}

type matrixCaller struct {
	name string
	p    rbacPrincipal
}

// TestAuthorizationMatrix sends every route's sample request as: nobody
// (no token), a principal with no role, Reader, Contributor and Owner at
// the route's scope, and Owner at a sibling scope. It proves that every
// route is authorized by the action it declares at the scope it declares:
//   - without a token: 401;
//   - no role: never a 2xx on a non-list route, an empty list otherwise;
//   - Reader: 403 on every route whose action is not a read;
//   - Contributor: passes reads, 403 on Microsoft.Authorization writes and
//     deletes;
//   - Owner at the scope: passes authorization (anything but 401/403) and
//     reaches a route (no router 404/405);
//   - Owner at a sibling scope: 403, or a list holding only what lies in
//     its own scope.
func TestAuthorizationMatrix(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sub := env.Creds.SubscriptionID
	subScope := "/subscriptions/" + sub
	admin := env.AdminCredential(t)
	opts := env.ARMOptions()

	// The objects the samples name, and siblings.
	groups, err := armresources.NewResourceGroupsClient(sub, admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"rg1", "rg2"} {
		if _, err := groups.CreateOrUpdate(ctx, g, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	uamis, err := armmsi.NewUserAssignedIdentitiesClient(sub, admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uamis.CreateOrUpdate(ctx, "rg1", "id1", armmsi.Identity{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	fics, err := armmsi.NewFederatedIdentityCredentialsClient(sub, admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fics.CreateOrUpdate(ctx, "rg1", "id1", "fic1", armmsi.FederatedIdentityCredential{Properties: &armmsi.FederatedIdentityCredentialProperties{
		Issuer: to.Ptr("https://issuer.example"), Subject: to.Ptr("system:serviceaccount:ns:sa"), Audiences: []*string{to.Ptr("api://AzureADTokenExchange")},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := armresources.NewClient(sub, admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := res.BeginCreateOrUpdateByID(ctx, subScope+"/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1", "2024-07-01",
		armresources.GenericResource{Location: to.Ptr("westus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The management group the samples name, with the subscription under
	// it: a subscription's move needs rights on the group and on the
	// subscription, which Owner at the group then holds.
	mgs, err := armmanagementgroups.NewClient(admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	mgPoller, err := mgs.BeginCreateOrUpdate(ctx, "mg1", armmanagementgroups.CreateManagementGroupRequest{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgPoller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	mgSubs, err := armmanagementgroups.NewManagementGroupSubscriptionsClient(admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgSubs.Create(ctx, "mg1", sub, nil); err != nil {
		t.Fatal(err)
	}
	// A second subscription, for a sibling of the subscription and root
	// scopes (subscriptions are made at installation time, not over ARM).
	otherSub := uuid.NewString()
	rev, err := env.Server.Installation().Store.Update(ctx, func(tx store.Tx) error {
		return tx.CreateSubscription(ctx, store.Subscription{ID: otherSub, DisplayName: "Other", State: "Enabled", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}

	routes := frontDoorRoutes(t, env)
	// localize puts the server's subscription where a sample names the
	// front door's, at the start of a path or inside it (a subscription
	// under a management group).
	localize := func(s string) string {
		if i := strings.Index(strings.ToLower(s), sampleSubscription); i >= 0 {
			return s[:i] + subScope + s[i+len(sampleSubscription):]
		}
		return s
	}

	noRole := newRBACPrincipal(t, env, "matrix-no-role")
	siblingSubOwner := newRBACPrincipal(t, env, "matrix-owner-other-subscription")
	grant(t, env, "/subscriptions/"+otherSub, authz.RoleOwner, siblingSubOwner.ObjectID)
	siblingGroupOwner := newRBACPrincipal(t, env, "matrix-owner-rg2")
	grant(t, env, subScope+"/resourceGroups/rg2", authz.RoleOwner, siblingGroupOwner.ObjectID)
	sibling := func(scope string) (rbacPrincipal, string) {
		if k := len(strings.Split(strings.Trim(scope, "/"), "/")); scope == "/" || k <= 2 {
			return siblingSubOwner, "/subscriptions/" + otherSub
		}
		return siblingGroupOwner, subScope + "/resourceGroups/rg2"
	}
	type roleSet struct{ reader, contributor, owner rbacPrincipal }
	atScope := map[string]roleSet{}
	rolesAt := func(t *testing.T, scope string) roleSet {
		key := strings.ToLower(scope)
		if rs, ok := atScope[key]; ok {
			return rs
		}
		rs := roleSet{
			reader:      newRBACPrincipal(t, env, "matrix-reader"),
			contributor: newRBACPrincipal(t, env, "matrix-contributor"),
			owner:       newRBACPrincipal(t, env, "matrix-owner"),
		}
		grant(t, env, scope, authz.RoleReader, rs.reader.ObjectID)
		grant(t, env, scope, authz.RoleContributor, rs.contributor.ObjectID)
		grant(t, env, scope, authz.RoleOwner, rs.owner.ObjectID)
		atScope[key] = rs
		return rs
	}

	// Deletes run last, deepest scope first, and a route deleting its own
	// scope (a group, a resource) after the others at that depth: each one
	// removes the assignments the rest of the matrix stands on.
	slices.SortStableFunc(routes, func(a, b arm.RouteInfo) int {
		ad, bd := slices.Contains(a.Methods, http.MethodDelete), slices.Contains(b.Methods, http.MethodDelete)
		switch {
		case ad != bd:
			if ad {
				return 1
			}
			return -1
		case !ad:
			return 0
		}
		if da, db := strings.Count(a.SampleScope, "/"), strings.Count(b.SampleScope, "/"); da != db {
			return db - da
		}
		selfA, selfB := strings.EqualFold(a.SamplePath, a.SampleScope), strings.EqualFold(b.SamplePath, b.SampleScope)
		switch {
		case selfA && !selfB:
			return 1
		case selfB && !selfA:
			return -1
		}
		return 0
	})

	covered := 0
	for _, r := range routes {
		for _, method := range r.Methods {
			t.Run(r.Name+"/"+method, func(t *testing.T) {
				if r.Access == arm.AccessAuthenticated {
					if _, ok := publicRoutes[r.Name]; !ok {
						t.Fatalf("route %s (%s) declares no action: every route must be authorized by an RBAC action, or be listed in publicRoutes with a reason", r.Name, r.Pattern)
					}
				} else if r.SampleAction == "" || r.SampleScope == "" {
					t.Fatalf("route %s has no action or scope for its sample %s (action %q, scope %q)", r.Name, r.SamplePath, r.Action, r.Scope)
				}
				path, scope := localize(r.SamplePath), localize(r.SampleScope)
				query := url.Values{"api-version": {r.SampleAPIVersion}}
				for k, v := range sampleQueries[r.Name] {
					query[k] = v
				}
				var body any
				if method == http.MethodPut || method == http.MethodPatch || method == http.MethodPost {
					body = map[string]any{}
				}
				send := func(who rbacPrincipal) (int, []byte) {
					return rawARM(t, env, who.Cred, method, path, query, body)
				}

				var raw []byte
				if body != nil {
					raw = []byte("{}")
				}
				status, got := anonymous(t, env, method, path, query, raw)
				if status != http.StatusUnauthorized {
					t.Errorf("without a token: %d %s, want 401", status, clip(got))
				}
				if r.Access == arm.AccessAuthenticated {
					return
				}
				covered++
				list := r.Access == arm.AccessFilter
				action := strings.ToLower(r.SampleAction)
				if err := actionFitsMethod(method, action); err != "" {
					t.Errorf("route %s: %s", r.Name, err)
				}
				write := method != http.MethodGet && method != http.MethodHead && !strings.HasSuffix(action, "/read")
				authorizationWrite := write && strings.HasPrefix(action, "microsoft.authorization/")

				status, got = send(noRole)
				switch {
				case list && status == http.StatusOK:
					if n := len(listItems(t, got)); n != 0 {
						t.Errorf("no role: the list shows %d items: %s", n, clip(got))
					}
				case status != http.StatusForbidden:
					t.Errorf("no role: %d %s, want 403", status, clip(got))
				}

				rs := rolesAt(t, scope)
				if write {
					if status, got = send(rs.reader); status != http.StatusForbidden {
						t.Errorf("Reader at %s on a %s route: %d %s, want 403", scope, r.SampleAction, status, clip(got))
					}
				}
				if !write || authorizationWrite {
					status, got = send(rs.contributor)
					if authorizationWrite && status != http.StatusForbidden {
						t.Errorf("Contributor at %s on %s: %d %s, want 403", scope, r.SampleAction, status, clip(got))
					}
					if !authorizationWrite && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
						t.Errorf("Contributor at %s refused a read: %d %s", scope, status, clip(got))
					}
				}

				other, otherScope := sibling(scope)
				status, got = send(other)
				switch {
				case list && status == http.StatusOK:
					for _, id := range listItems(t, got) {
						if id == "" || !authz.IsAncestorOrSelf(otherScope, id) {
							t.Errorf("Owner at sibling %s sees an item outside its scope: %q in %s", otherScope, id, clip(got))
						}
					}
				case status != http.StatusForbidden:
					t.Errorf("Owner at sibling %s: %d %s, want 403", otherScope, status, clip(got))
				}

				status, got = send(rs.owner)
				if status == http.StatusUnauthorized || status == http.StatusForbidden {
					t.Errorf("Owner at %s: %d %s, want it authorized", scope, status, clip(got))
				}
				if code := errorCodeOf(got); status == http.StatusMethodNotAllowed || status == http.StatusNotFound && code == "NotFound" && strings.Contains(string(got), "No operation is registered") {
					t.Errorf("Owner at %s: the server does not serve %s %s: %d %s", scope, method, path, status, clip(got))
				}
			})
		}
	}
	if covered == 0 {
		t.Fatal("no route was exercised")
	}
}

// listItems returns the id of each item of a list response ("" for items
// without one, such as permissions).
func listItems(t *testing.T, body []byte) []string {
	t.Helper()
	var l struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("not a list: %s", body)
	}
	out := make([]string, 0, len(l.Value))
	for _, raw := range l.Value {
		var item struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &item)
		out = append(out, item.ID)
	}
	return out
}

// clip shortens a response body for a test message.
func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// actionFitsMethod checks ARM's naming of actions (reference §11.4 rule 7):
// GET and HEAD read, PUT and PATCH write, DELETE deletes, and a POST is an
// operation ("…/action"), a query ("…/read") or a create ("…/write"). A
// route declaring a read action for a write would let Readers write.
func actionFitsMethod(method, action string) string {
	var want []string
	switch method {
	case http.MethodGet, http.MethodHead:
		want = []string{"/read"}
	case http.MethodPut, http.MethodPatch:
		want = []string{"/write"}
	case http.MethodDelete:
		want = []string{"/delete"}
	case http.MethodPost:
		want = []string{"/action", "/read", "/write"}
	}
	for _, w := range want {
		if strings.HasSuffix(action, w) {
			return ""
		}
	}
	return fmt.Sprintf("%s declares action %q; a %s route's action ends in %s", method, action, method, strings.Join(want, " or "))
}
