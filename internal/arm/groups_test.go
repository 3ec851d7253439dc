package arm_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
)

func groupsClient(t *testing.T, e *env) *armresources.ResourceGroupsClient {
	t.Helper()
	c, err := armresources.NewResourceGroupsClient(subscriptionID, adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResourceGroupsCRUD(t *testing.T) {
	e := newEnv(t)
	client := groupsClient(t, e)

	var raw *http.Response
	ctx := runtime.WithCaptureResponse(e.ctx, &raw)
	created, err := client.CreateOrUpdate(ctx, "RG-One", armresources.ResourceGroup{
		Location: ptr("West US"), Tags: map[string]*string{"owner": ptr("team-a")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusCreated {
		t.Errorf("create status = %d, want 201", raw.StatusCode)
	}
	wantID := "/subscriptions/" + subscriptionID + "/resourceGroups/RG-One"
	if *created.ID != wantID || *created.Name != "RG-One" || *created.Location != "westus" ||
		*created.Properties.ProvisioningState != "Succeeded" || *created.Tags["owner"] != "team-a" {
		t.Errorf("created = %+v", created.ResourceGroup)
	}
	for _, h := range []string{"x-ms-request-id", "x-ms-correlation-request-id"} {
		if raw.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if ct := raw.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	// Replace under another casing: 200, the first casing stays.
	replaced, err := client.CreateOrUpdate(ctx, "rg-one", armresources.ResourceGroup{Location: ptr("westus"), ManagedBy: ptr("/subscriptions/x/managers/y")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusOK || *replaced.Name != "RG-One" || len(replaced.Tags) != 0 || *replaced.ManagedBy != "/subscriptions/x/managers/y" {
		t.Errorf("replace: status %d, %+v", raw.StatusCode, replaced.ResourceGroup)
	}

	got, err := client.Get(e.ctx, "RG-ONE", nil)
	if err != nil || *got.Name != "RG-One" {
		t.Fatalf("Get = %v, %v", got.Name, err)
	}

	updated, err := client.Update(e.ctx, "rg-one", armresources.ResourceGroupPatchable{Tags: map[string]*string{"env": ptr("prod")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(updated.Tags) != 1 || *updated.Tags["env"] != "prod" || *updated.ManagedBy != "/subscriptions/x/managers/y" {
		t.Errorf("updated = %+v", updated.ResourceGroup)
	}

	exists, err := client.CheckExistence(e.ctx, "rg-one", nil)
	if err != nil || !exists.Success {
		t.Errorf("CheckExistence(existing) = %v, %v", exists.Success, err)
	}
	exists, err = client.CheckExistence(e.ctx, "nope", nil)
	if err != nil || exists.Success {
		t.Errorf("CheckExistence(missing) = %v, %v", exists.Success, err)
	}

	start := time.Now()
	poller, err := client.BeginDelete(e.ctx, "rg-one", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(e.ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("delete took %s; the poller should finish at its first poll", d)
	}
	exists, err = client.CheckExistence(e.ctx, "rg-one", nil)
	if err != nil || exists.Success {
		t.Errorf("after delete CheckExistence = %v, %v", exists.Success, err)
	}
	_, err = client.BeginDelete(e.ctx, "rg-one", nil)
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "ResourceGroupNotFound" {
		t.Errorf("second delete: %d %s", re.StatusCode, re.ErrorCode)
	}
}

func TestResourceGroupDeleteAnswers202WithLocation(t *testing.T) {
	e := newEnv(t)
	if _, err := groupsClient(t, e).CreateOrUpdate(e.ctx, "rg1", armresources.ResourceGroup{Location: ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.do(http.MethodDelete, "/subscriptions/"+subscriptionID+"/resourcegroups/rg1?api-version=2025-04-01", adminToken, "")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, e.srv.URL+"/subscriptions/"+subscriptionID+"/operationresults/") {
		t.Fatalf("delete: %d Location %q", resp.StatusCode, loc)
	}
	// Even a caller with no role may poll: the deleter's own access may have
	// been scoped to the group that is gone.
	resp, _ = e.do(http.MethodGet, strings.TrimPrefix(loc, e.srv.URL), userToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("poll: %d", resp.StatusCode)
	}
	resp, _ = e.do(http.MethodGet, "/subscriptions/"+subscriptionID+"/operationresults/garbage?api-version=2025-04-01", adminToken, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown operation: %d", resp.StatusCode)
	}
}

func TestResourceGroupErrors(t *testing.T) {
	e := newEnv(t)
	client := groupsClient(t, e)
	if _, err := client.CreateOrUpdate(e.ctx, "rg1", armresources.ResourceGroup{Location: ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"get missing", func() error { _, err := client.Get(e.ctx, "missing", nil); return err }, 404, "ResourceGroupNotFound"},
		{"name too long", func() error {
			_, err := client.CreateOrUpdate(e.ctx, strings.Repeat("a", 91), armresources.ResourceGroup{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"name ending in a period", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg.", armresources.ResourceGroup{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"name with a forbidden character", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg*1", armresources.ResourceGroup{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"no location", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg2", armresources.ResourceGroup{}, nil)
			return err
		}, 400, "LocationRequired"},
		{"location change", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", armresources.ResourceGroup{Location: ptr("eastus")}, nil)
			return err
		}, 409, "InvalidResourceGroupLocation"},
		{"update missing", func() error {
			_, err := client.Update(e.ctx, "missing", armresources.ResourceGroupPatchable{}, nil)
			return err
		}, 404, "ResourceGroupNotFound"},
		{"unknown subscription", func() error {
			other, err := armresources.NewResourceGroupsClient("00000000-0000-0000-0000-00000000dead", adminCred, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = other.CreateOrUpdate(e.ctx, "rg1", armresources.ResourceGroup{Location: ptr("westus")}, nil)
			return err
		}, 404, "SubscriptionNotFound"},
		{"bad filter", func() error {
			_, err := client.NewListPager(&armresources.ResourceGroupsClientListOptions{Filter: ptr("name eq 'x'")}).NextPage(e.ctx)
			return err
		}, 400, "InvalidFilterInQueryString"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re := responseError(t, tc.call())
			if re.StatusCode != tc.status || re.ErrorCode != tc.code {
				t.Errorf("got %d %s, want %d %s", re.StatusCode, re.ErrorCode, tc.status, tc.code)
			}
		})
	}
}

func TestResourceGroupListPagingAndFilter(t *testing.T) {
	e := newEnv(t, func(c *arm.Config) { c.PageSize = 4 })
	client := groupsClient(t, e)
	const n = 11
	for i := range n {
		tags := map[string]*string{"env": ptr([]string{"dev", "prod"}[i%2])}
		if _, err := client.CreateOrUpdate(e.ctx, fmt.Sprintf("rg-%02d", i), armresources.ResourceGroup{Location: ptr("westus"), Tags: tags}, nil); err != nil {
			t.Fatal(err)
		}
	}
	list := func(opts *armresources.ResourceGroupsClientListOptions) (names []string, pages int) {
		t.Helper()
		pager := client.NewListPager(opts)
		for pager.More() {
			p, err := pager.NextPage(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, g := range p.Value {
				names = append(names, *g.Name)
			}
		}
		return names, pages
	}
	tests := []struct {
		name      string
		opts      *armresources.ResourceGroupsClientListOptions
		wantCount int
		wantPages int
	}{
		{"all, default page size", nil, n, 3},
		{"$top is the page size", &armresources.ResourceGroupsClientListOptions{Top: ptr[int32](2)}, n, 6},
		{"tag name and value", &armresources.ResourceGroupsClientListOptions{Filter: ptr("tagName eq 'env' and tagValue eq 'prod'")}, 5, 2},
		{"tag name only, other casing", &armresources.ResourceGroupsClientListOptions{Filter: ptr("tagname eq 'ENV'")}, n, 3},
		{"no match", &armresources.ResourceGroupsClientListOptions{Filter: ptr("tagName eq 'env' and tagValue eq 'PROD'")}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names, pages := list(tc.opts)
			if len(names) != tc.wantCount || pages != tc.wantPages {
				t.Errorf("got %d groups in %d pages (%v), want %d in %d", len(names), pages, names, tc.wantCount, tc.wantPages)
			}
			seen := map[string]bool{}
			for _, n := range names {
				if seen[n] {
					t.Errorf("%s listed twice", n)
				}
				seen[n] = true
			}
		})
	}
}

func TestResourceGroupListShowsOnlyReadableGroups(t *testing.T) {
	e := newEnv(t)
	client := groupsClient(t, e)
	for _, g := range []string{"rg-a", "rg-b", "rg-c"} {
		if _, err := client.CreateOrUpdate(e.ctx, g, armresources.ResourceGroup{Location: ptr("westus")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.authz.allow(alice.ObjectID, "Microsoft.Resources/subscriptions/resourceGroups/read", "/subscriptions/"+subscriptionID+"/resourceGroups/RG-B")
	aliceClient, err := armresources.NewResourceGroupsClient(subscriptionID, aliceCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := aliceClient.NewListPager(nil).NextPage(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Value) != 1 || *p.Value[0].Name != "rg-b" {
		t.Errorf("alice sees %d groups", len(p.Value))
	}
	if _, err := aliceClient.Get(e.ctx, "rg-b", nil); err != nil {
		t.Errorf("alice reads rg-b: %v", err)
	}
	_, err = aliceClient.Get(e.ctx, "rg-a", nil)
	re := responseError(t, err)
	want := "The client '" + alice.AppID + "' with object id '" + alice.ObjectID +
		"' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/" +
		subscriptionID + "/resourceGroups/rg-a' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" || !strings.Contains(re.Error(), want) {
		t.Errorf("got %d %s: %v\nwant message %s", re.StatusCode, re.ErrorCode, re, want)
	}
}

// TestResourceGroupDeleteCascades deletes a group through the SDK poller and
// checks, in the store, that everything that existed because of it is gone.
func TestResourceGroupDeleteCascades(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	e.group("rg2")
	uami := e.identity("rg1", "id-in")
	client := resourcesClient(t, e, adminCred)
	vm, err := putByID(t, client, resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1"), armresources.GenericResource{Location: ptr("westus"),
		Identity: &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*uami.ID: {}}}})
	if err != nil {
		t.Fatal(err)
	}
	outside, err := putByID(t, client, resourceID("rg2", "Microsoft.Web/sites/app1"), armresources.GenericResource{Location: ptr("westus"),
		Identity: &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*uami.ID: {}}}})
	if err != nil {
		t.Fatal(err)
	}
	assignments := map[string]struct{ principal, scope string }{
		"ra-vm":   {*vm.Identity.PrincipalID, "/subscriptions/" + subscriptionID},
		"ra-uami": {*uami.Properties.PrincipalID, "/subscriptions/" + subscriptionID + "/resourceGroups/rg2"},
		"ra-rg":   {admin.ObjectID, "/subscriptions/" + subscriptionID + "/resourceGroups/RG1"},
		"ra-keep": {admin.ObjectID, "/subscriptions/" + subscriptionID + "/resourceGroups/rg2"},
	}
	if _, err := e.store.Update(e.ctx, func(tx store.Tx) error {
		if err := tx.CreatePrincipal(e.ctx, store.Principal{ObjectID: admin.ObjectID, AppID: admin.AppID, Kind: store.PrincipalServicePrincipal}); err != nil {
			return err
		}
		for name, a := range assignments {
			if err := tx.CreateRoleAssignment(e.ctx, store.RoleAssignment{Name: name, Scope: a.scope, RoleDefinitionID: "b24988ac-6180-42a0-ab88-20f7382dd24c", PrincipalID: a.principal}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	poller, err := groupsClient(t, e).BeginDelete(e.ctx, "rg1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.View(e.ctx, func(tx store.Tx) error {
		for name := range assignments {
			_, err := tx.GetRoleAssignment(e.ctx, name)
			if kept := err == nil; kept != (name == "ra-keep") {
				t.Errorf("assignment %s kept = %v", name, kept)
			}
		}
		for _, p := range []string{*vm.Identity.PrincipalID, *uami.Properties.PrincipalID} {
			if _, err := tx.GetPrincipal(e.ctx, p); err == nil {
				t.Errorf("principal %s survived", p)
			}
		}
		r, err := tx.GetResource(e.ctx, *outside.ID)
		if err != nil || len(r.UserAssignedIdentities) != 0 {
			t.Errorf("resource outside the group: %v identities %v", err, r.UserAssignedIdentities)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
