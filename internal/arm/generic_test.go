package arm_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/arm"
)

const computeVersion = "2024-07-01"

func resourcesClient(t *testing.T, e *env, cred staticCredential) *armresources.Client {
	t.Helper()
	c, err := armresources.NewClient(subscriptionID, cred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func identitiesClient(t *testing.T, e *env) *armmsi.UserAssignedIdentitiesClient {
	t.Helper()
	c, err := armmsi.NewUserAssignedIdentitiesClient(subscriptionID, adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) group(name string) {
	e.t.Helper()
	if _, err := groupsClient(e.t, e).CreateOrUpdate(e.ctx, name, armresources.ResourceGroup{Location: ptr("westus")}, nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) identity(group, name string) armmsi.Identity {
	e.t.Helper()
	r, err := identitiesClient(e.t, e).CreateOrUpdate(e.ctx, group, name, armmsi.Identity{Location: ptr("westus")}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Identity
}

func resourceID(group, path string) string {
	return "/subscriptions/" + subscriptionID + "/resourceGroups/" + group + "/providers/" + path
}

func putByID(t *testing.T, c *armresources.Client, id string, r armresources.GenericResource) (armresources.GenericResource, error) {
	t.Helper()
	poller, err := c.BeginCreateOrUpdateByID(t.Context(), id, computeVersion, r, nil)
	if err != nil {
		return armresources.GenericResource{}, err
	}
	res, err := poller.PollUntilDone(t.Context(), &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	return res.GenericResource, err
}

func patchByID(t *testing.T, c *armresources.Client, id string, r armresources.GenericResource) (armresources.GenericResource, error) {
	t.Helper()
	poller, err := c.BeginUpdateByID(t.Context(), id, computeVersion, r, nil)
	if err != nil {
		return armresources.GenericResource{}, err
	}
	res, err := poller.PollUntilDone(t.Context(), &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	return res.GenericResource, err
}

func TestGenericResourceRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	client := resourcesClient(t, e, adminCred)
	id := resourceID("rg1", "Microsoft.Compute/virtualMachines/VM1")
	in := armresources.GenericResource{
		Location:         ptr("West US"),
		Tags:             map[string]*string{"env": ptr("dev")},
		Kind:             ptr("Linux"),
		ManagedBy:        ptr("/subscriptions/" + subscriptionID + "/resourceGroups/rg1/providers/Microsoft.Foo/managers/m1"),
		SKU:              &armresources.SKU{Name: ptr("Standard_B1s"), Tier: ptr("Standard"), Capacity: ptr[int32](2)},
		Plan:             &armresources.Plan{Name: ptr("plan1"), Publisher: ptr("pub"), Product: ptr("prod")},
		ExtendedLocation: &armresources.ExtendedLocation{Name: ptr("edge1"), Type: ptr(armresources.ExtendedLocationTypeEdgeZone)},
		Properties:       map[string]any{"hardwareProfile": map[string]any{"vmSize": "Standard_B1s"}, "count": 3.5, "list": []any{"a", 1.0}},
	}

	var raw *http.Response
	poller, err := client.BeginCreateOrUpdateByID(runtime.WithCaptureResponse(e.ctx, &raw), id, computeVersion, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusCreated {
		t.Errorf("create status %d, want 201", raw.StatusCode)
	}
	start := time.Now()
	res, err := poller.PollUntilDone(e.ctx, nil) // default 30 s frequency: must not be needed
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("PollUntilDone waited; the PUT should complete synchronously")
	}
	out := res.GenericResource
	if *out.ID != id || *out.Name != "VM1" || *out.Type != "Microsoft.Compute/virtualMachines" || *out.Location != "westus" {
		t.Errorf("identity fields: %s %s %s %s", *out.ID, *out.Name, *out.Type, *out.Location)
	}
	if *out.Kind != "Linux" || *out.ManagedBy != *in.ManagedBy || !reflect.DeepEqual(out.SKU, in.SKU) || !reflect.DeepEqual(out.Plan, in.Plan) ||
		!reflect.DeepEqual(out.ExtendedLocation, in.ExtendedLocation) || *out.Tags["env"] != "dev" {
		t.Errorf("members not kept: %+v", out)
	}
	props := out.Properties.(map[string]any)
	if props["provisioningState"] != "Succeeded" || props["count"] != 3.5 || !reflect.DeepEqual(props["hardwareProfile"], in.Properties.(map[string]any)["hardwareProfile"]) {
		t.Errorf("properties = %v", props)
	}

	// By parts (resourcegroups segment) and by an upper-cased ID.
	byParts, err := client.Get(e.ctx, "RG1", "Microsoft.Compute", "", "virtualMachines", "vm1", computeVersion, nil)
	if err != nil || *byParts.ID != id {
		t.Fatalf("Get by parts = %v, %v", byParts.ID, err)
	}
	upper, err := client.GetByID(e.ctx, strings.ToUpper(id), computeVersion, nil)
	if err != nil || *upper.ID != id || *upper.Name != "VM1" {
		t.Fatalf("GetByID(upper) = %v, %v", upper.ID, err)
	}

	// Replace: 200, members not in the new document are gone.
	byParts2, err := client.BeginCreateOrUpdate(runtime.WithCaptureResponse(e.ctx, &raw), "rg1", "Microsoft.Compute", "", "virtualMachines", "vm1", computeVersion,
		armresources.GenericResource{Location: ptr("westus"), Properties: map[string]any{"b": 1.0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusOK {
		t.Errorf("replace status %d, want 200", raw.StatusCode)
	}
	replaced, err := byParts2.PollUntilDone(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Kind != nil || replaced.SKU != nil || len(replaced.Tags) != 0 || replaced.Properties.(map[string]any)["hardwareProfile"] != nil {
		t.Errorf("replace kept old members: %+v", replaced.GenericResource)
	}

	// PATCH merges properties (RFC 7396) and replaces tags.
	patched, err := patchByID(t, client, id, armresources.GenericResource{
		Tags:       map[string]*string{"team": ptr("x")},
		Properties: map[string]any{"c": map[string]any{"d": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	props = patched.Properties.(map[string]any)
	if props["b"] != 1.0 || !reflect.DeepEqual(props["c"], map[string]any{"d": true}) || len(patched.Tags) != 1 || *patched.Tags["team"] != "x" {
		t.Errorf("patched = %+v %v", patched, props)
	}

	exists, err := client.CheckExistenceByID(e.ctx, id, computeVersion, nil)
	if err != nil || !exists.Success {
		t.Errorf("CheckExistenceByID = %v %v", exists.Success, err)
	}
	missing, err := client.CheckExistence(e.ctx, "rg1", "Microsoft.Compute", "", "virtualMachines", "nope", computeVersion, nil)
	if err != nil || missing.Success {
		t.Errorf("CheckExistence(missing) = %v %v", missing.Success, err)
	}

	for i, want := range []int{http.StatusOK, http.StatusNoContent} {
		del, err := client.BeginDeleteByID(runtime.WithCaptureResponse(e.ctx, &raw), id, computeVersion, nil)
		if err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
		if raw.StatusCode != want {
			t.Errorf("delete %d status %d, want %d", i, raw.StatusCode, want)
		}
		if _, err := del.PollUntilDone(e.ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = client.GetByID(e.ctx, id, computeVersion, nil)
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "ResourceNotFound" {
		t.Errorf("get after delete: %d %s", re.StatusCode, re.ErrorCode)
	}
}

func TestGenericChildResources(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	client := resourcesClient(t, e, adminCred)
	site := resourceID("rg1", "Microsoft.Web/sites/app1")

	// The parent must exist.
	poller, err := client.BeginCreateOrUpdate(e.ctx, "rg1", "Microsoft.Web", "sites/app1", "slots", "staging", computeVersion, armresources.GenericResource{Location: ptr("westus")}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(e.ctx, nil)
	}
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "ParentResourceNotFound" {
		t.Fatalf("child without parent: %d %s", re.StatusCode, re.ErrorCode)
	}

	if _, err := putByID(t, client, site, armresources.GenericResource{Location: ptr("westus")}); err != nil {
		t.Fatal(err)
	}
	poller, err = client.BeginCreateOrUpdate(e.ctx, "rg1", "Microsoft.Web", "sites/app1", "slots", "staging", computeVersion, armresources.GenericResource{Location: ptr("westus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slot, err := poller.PollUntilDone(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *slot.ID != "/subscriptions/"+subscriptionID+"/resourceGroups/rg1/providers/Microsoft.Web/sites/app1/slots/staging" ||
		*slot.Type != "Microsoft.Web/sites/slots" || *slot.Name != "staging" {
		t.Errorf("slot = %s %s %s", *slot.ID, *slot.Type, *slot.Name)
	}
	// Deleting the parent deletes the child.
	del, err := client.BeginDeleteByID(e.ctx, site, computeVersion, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	exists, err := client.CheckExistenceByID(e.ctx, *slot.ID, computeVersion, nil)
	if err != nil || exists.Success {
		t.Errorf("child after parent delete: %v %v", exists.Success, err)
	}
}

func TestGenericResourceLists(t *testing.T) {
	e := newEnv(t, func(c *arm.Config) { c.PageSize = 3 })
	e.group("rg1")
	e.group("rg2")
	client := resourcesClient(t, e, adminCred)
	for i := range 7 {
		if _, err := putByID(t, client, resourceID("rg1", fmt.Sprintf("Microsoft.Compute/virtualMachines/vm%d", i)), armresources.GenericResource{Location: ptr("westus")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if _, err := putByID(t, client, resourceID("rg2", fmt.Sprintf("Microsoft.Web/sites/site%d", i)), armresources.GenericResource{Location: ptr("eastus"), Tags: map[string]*string{"tier": ptr("web")}}); err != nil {
			t.Fatal(err)
		}
	}
	e.identity("rg2", "id-one")

	count := func(pager interface {
		More() bool
	}, next func() ([]*armresources.GenericResourceExpanded, error)) (int, int) {
		items, pages := 0, 0
		for pager.More() {
			v, err := next()
			if err != nil {
				t.Fatal(err)
			}
			pages++
			items += len(v)
		}
		return items, pages
	}
	rgPager := func(opts *armresources.ClientListByResourceGroupOptions, group string) (int, int) {
		p := client.NewListByResourceGroupPager(group, opts)
		return count(p, func() ([]*armresources.GenericResourceExpanded, error) {
			r, err := p.NextPage(e.ctx)
			return r.Value, err
		})
	}
	subPager := func(opts *armresources.ClientListOptions) (int, int) {
		p := client.NewListPager(opts)
		return count(p, func() ([]*armresources.GenericResourceExpanded, error) {
			r, err := p.NextPage(e.ctx)
			return r.Value, err
		})
	}
	tests := []struct {
		name              string
		list              func() (int, int)
		wantItems, wantPg int
	}{
		{"group, all", func() (int, int) { return rgPager(nil, "RG1") }, 7, 3},
		{"group, $top", func() (int, int) {
			return rgPager(&armresources.ClientListByResourceGroupOptions{Top: ptr[int32](5)}, "rg1")
		}, 7, 2},
		{"subscription, all", func() (int, int) { return subPager(nil) }, 10, 4},
		{"subscription, by type", func() (int, int) {
			return subPager(&armresources.ClientListOptions{Filter: ptr("resourceType eq 'microsoft.web/sites'")})
		}, 2, 1},
		{"subscription, identities are resources too", func() (int, int) {
			return subPager(&armresources.ClientListOptions{Filter: ptr("resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities'")})
		}, 1, 1},
		{"subscription, by resource group, as az resource list -g asks", func() (int, int) {
			return subPager(&armresources.ClientListOptions{Filter: ptr("resourceGroup eq 'RG1'")})
		}, 7, 3},
		{"subscription, by tag", func() (int, int) {
			return subPager(&armresources.ClientListOptions{Filter: ptr("tagName eq 'tier' and tagValue eq 'web'")})
		}, 2, 1},
		{"subscription, by location and name", func() (int, int) {
			return subPager(&armresources.ClientListOptions{Filter: ptr("location eq 'West US' and name eq 'VM3'")})
		}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, pages := tc.list()
			if items != tc.wantItems || pages != tc.wantPg {
				t.Errorf("got %d items in %d pages, want %d in %d", items, pages, tc.wantItems, tc.wantPg)
			}
		})
	}

	// Alice may read one VM: the lists show her only that one.
	e.authz.allow(alice.ObjectID, "Microsoft.Compute/virtualMachines/read", resourceID("rg1", "Microsoft.Compute/virtualMachines/vm3"))
	aliceClient := resourcesClient(t, e, aliceCred)
	page, err := aliceClient.NewListPager(nil).NextPage(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Value) != 1 || *page.Value[0].Name != "vm3" {
		t.Errorf("alice sees %d resources", len(page.Value))
	}
	_, err = aliceClient.NewListByResourceGroupPager("missing", nil).NextPage(e.ctx)
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "ResourceGroupNotFound" {
		t.Errorf("list of a missing group: %d %s", re.StatusCode, re.ErrorCode)
	}
}

func TestIdentityBlock(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	client := resourcesClient(t, e, adminCred)
	a, b := e.identity("rg1", "id-a"), e.identity("rg1", "id-b")
	vm := resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")

	res, err := putByID(t, client, vm, armresources.GenericResource{Location: ptr("westus"), Identity: &armresources.Identity{
		Type: ptr(armresources.ResourceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{
			*a.ID: {}, strings.Replace(*b.ID, "resourcegroups", "resourceGroups", 1): {},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Identity
	if *id.Type != armresources.ResourceIdentityTypeSystemAssignedUserAssigned || *id.TenantID != tenantID || *id.PrincipalID == "" || len(id.UserAssignedIdentities) != 2 {
		t.Fatalf("identity = %+v", id)
	}
	if v := id.UserAssignedIdentities[*a.ID]; v == nil || *v.PrincipalID != *a.Properties.PrincipalID || *v.ClientID != *a.Properties.ClientID {
		t.Errorf("identity a = %+v", v)
	}
	systemPrincipal := *id.PrincipalID

	// SystemAssignedIdentitiesClient reads the system-assigned identity.
	sys, err := armmsi.NewSystemAssignedIdentitiesClient(adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sys.GetByScope(e.ctx, strings.TrimPrefix(vm, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.ID != vm+"/providers/Microsoft.ManagedIdentity/identities/default" || *got.Name != "default" ||
		*got.Properties.PrincipalID != systemPrincipal || *got.Properties.ClientID == "" || *got.Properties.TenantID != tenantID {
		t.Errorf("identities/default = %+v %+v", got.SystemAssignedIdentity, got.Properties)
	}

	// PATCH with a nil map value removes that identity only.
	res, err = patchByID(t, client, vm, armresources.GenericResource{Identity: &armresources.Identity{
		Type:                   ptr(armresources.ResourceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*b.ID: nil},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Identity.UserAssignedIdentities) != 1 || res.Identity.UserAssignedIdentities[*a.ID] == nil || *res.Identity.PrincipalID != systemPrincipal {
		t.Errorf("after removing b: %+v", res.Identity)
	}

	// Turning SystemAssigned off removes the principal; identities/default 404s.
	res, err = patchByID(t, client, vm, armresources.GenericResource{Identity: &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeUserAssigned)}})
	if err != nil {
		t.Fatal(err)
	}
	if *res.Identity.Type != armresources.ResourceIdentityTypeUserAssigned || res.Identity.PrincipalID != nil {
		t.Errorf("after SystemAssigned off: %+v", res.Identity)
	}
	_, err = sys.GetByScope(e.ctx, vm, nil)
	if re := responseError(t, err); re.StatusCode != 404 {
		t.Errorf("identities/default without system identity: %d", re.StatusCode)
	}
	_, err = sys.GetByScope(e.ctx, "subscriptions/"+subscriptionID+"/resourceGroups/rg1", nil)
	if re := responseError(t, err); re.StatusCode != 404 {
		t.Errorf("identities/default of a group: %d", re.StatusCode)
	}

	// Type None removes everything and the block disappears.
	res, err = putByID(t, client, vm, armresources.GenericResource{Location: ptr("westus"), Identity: &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeNone)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity != nil {
		t.Errorf("identity after None = %+v", res.Identity)
	}
}

func TestIdentityBlockErrors(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	client := resourcesClient(t, e, adminCred)
	a := e.identity("rg1", "id-a")
	vm := resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
	missing := strings.Replace(*a.ID, "id-a", "id-missing", 1)
	tests := []struct {
		name     string
		identity *armresources.Identity
		code     string
		contains string
	}{
		{"missing identity", &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{missing: {}}}, "FailedIdentityOperation", missing},
		{"not an identity ID", &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{vm: {}}}, "InvalidIdentity", vm},
		{"unknown type", &armresources.Identity{Type: ptr(armresources.ResourceIdentityType("Managed"))}, "InvalidIdentity", "Managed"},
		{"UserAssigned without identities", &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeUserAssigned)}, "InvalidIdentity", "at least one"},
		{"identities with SystemAssigned only", &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeSystemAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*a.ID: {}}}, "InvalidIdentity", "UserAssigned"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := putByID(t, client, vm, armresources.GenericResource{Location: ptr("westus"), Identity: tc.identity})
			re := responseError(t, err)
			if re.StatusCode != 400 || re.ErrorCode != tc.code || !strings.Contains(re.Error(), tc.contains) {
				t.Errorf("got %d %s: %v", re.StatusCode, re.ErrorCode, re)
			}
			if exists, _ := client.CheckExistenceByID(e.ctx, vm, computeVersion, nil); exists.Success {
				t.Error("the resource was written")
			}
		})
	}

	// Spelling variants of the type are accepted.
	for _, typ := range []string{"systemassigned,userassigned", "SystemAssigned,  UserAssigned", "SYSTEMASSIGNED"} {
		body := `{"location":"westus","identity":{"type":"` + typ + `","userAssignedIdentities":{"` + *a.ID + `":{}}}}`
		if typ == "SYSTEMASSIGNED" {
			body = `{"location":"westus","identity":{"type":"` + typ + `"}}`
		}
		resp, text := e.do(http.MethodPut, vm+"?api-version="+computeVersion, adminToken, body)
		if resp.StatusCode/100 != 2 {
			t.Errorf("type %q: %d %s", typ, resp.StatusCode, text)
		}
	}
}

func TestLinkedAuthorization(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	a := e.identity("rg1", "id-a")
	vm := resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
	e.authz.allow(alice.ObjectID, "Microsoft.Compute/virtualMachines/write", vm)
	e.authz.allow(alice.ObjectID, "Microsoft.Compute/virtualMachines/read", vm)
	client := resourcesClient(t, e, aliceCred)
	attach := armresources.GenericResource{Location: ptr("westus"), Identity: &armresources.Identity{
		Type: ptr(armresources.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*a.ID: {}},
	}}

	_, err := putByID(t, client, vm, attach)
	re := responseError(t, err)
	want := "The client '" + alice.AppID + "' with object id '" + alice.ObjectID +
		"' has permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope '" + vm +
		"'; however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '" +
		*a.ID + "' or the linked scope(s) are invalid."
	if re.StatusCode != 403 || re.ErrorCode != "LinkedAuthorizationFailed" || !strings.Contains(re.Error(), want) {
		t.Fatalf("got %d %s: %v\nwant %s", re.StatusCode, re.ErrorCode, re, want)
	}
	if exists, _ := client.CheckExistenceByID(e.ctx, vm, computeVersion, nil); exists.Success {
		t.Error("the resource was written")
	}

	// Without write on the resource it is plain AuthorizationFailed.
	_, err = putByID(t, client, resourceID("rg1", "Microsoft.Compute/virtualMachines/other"), attach)
	if re := responseError(t, err); re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" ||
		!strings.Contains(re.Error(), "'Microsoft.Compute/virtualMachines/write' over scope '"+resourceID("rg1", "Microsoft.Compute/virtualMachines/other")+"'") {
		t.Errorf("got %d %s: %v", re.StatusCode, re.ErrorCode, re)
	}

	// Managed Identity Operator on the identity lets the attach through;
	// detaching needs only write on the resource.
	e.authz.allow(alice.ObjectID, "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", *a.ID)
	if _, err := putByID(t, client, vm, attach); err != nil {
		t.Fatal(err)
	}
	e.authz.grants = e.authz.grants[:len(e.authz.grants)-1]
	if _, err := putByID(t, client, vm, attach); err != nil {
		t.Errorf("rewriting an already attached identity needs no assign permission: %v", err)
	}
	if _, err := patchByID(t, client, vm, armresources.GenericResource{Identity: &armresources.Identity{Type: ptr(armresources.ResourceIdentityTypeNone)}}); err != nil {
		t.Errorf("detach: %v", err)
	}
}

func TestIdentityBlockWire(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	a := e.identity("rg1", "id-a")
	vm := resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
	resp, text := e.do(http.MethodPut, vm+"?api-version="+computeVersion, adminToken,
		`{"location":"westus","identity":{"type":"UserAssigned","userAssignedIdentities":{"`+*a.ID+`":{},"`+strings.Replace(*a.ID, "id-a", "id-gone", 1)+`":null}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s", resp.StatusCode, text)
	}
	var doc struct {
		Identity map[string]json.RawMessage `json:"identity"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Identity["principalId"]; ok {
		t.Errorf("principalId present without SystemAssigned: %s", text)
	}
	var uai map[string]map[string]string
	_ = json.Unmarshal(doc.Identity["userAssignedIdentities"], &uai)
	if len(uai) != 1 || uai[*a.ID]["clientId"] != *a.Properties.ClientID {
		t.Errorf("userAssignedIdentities = %v (a null entry in a PUT is not an attachment)", uai)
	}
}
