package arm_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/arm"
)

func TestUserAssignedIdentities(t *testing.T) {
	e := newEnv(t)
	e.group("RG1")
	client := identitiesClient(t, e)

	var raw *http.Response
	ctx := runtime.WithCaptureResponse(e.ctx, &raw)
	created, err := client.CreateOrUpdate(ctx, "rg1", "Id-One", armmsi.Identity{Location: ptr("westus"), Tags: map[string]*string{"env": ptr("dev")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusCreated {
		t.Errorf("create status %d", raw.StatusCode)
	}
	// Azure returns the lower-case "resourcegroups" segment (reference §8.1).
	wantID := "/subscriptions/" + subscriptionID + "/resourcegroups/RG1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id-One"
	p := created.Properties
	if *created.ID != wantID || *created.Name != "Id-One" || *created.Type != "Microsoft.ManagedIdentity/userAssignedIdentities" ||
		*p.TenantID != tenantID || *p.PrincipalID == "" || *p.ClientID == "" || *p.IsolationScope != armmsi.IsolationScopeNone ||
		*created.SystemData.CreatedBy != admin.ObjectID || created.SystemData.CreatedAt == nil {
		t.Errorf("created = %+v %+v %+v", created.Identity, p, created.SystemData)
	}

	// Replace: 200, clientId and principalId never change.
	replaced, err := client.CreateOrUpdate(ctx, "rg1", "id-one", armmsi.Identity{Location: ptr("westus"),
		Properties: &armmsi.UserAssignedIdentityProperties{IsolationScope: ptr(armmsi.IsolationScopeRegional)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusOK || *replaced.Properties.ClientID != *p.ClientID || *replaced.Properties.PrincipalID != *p.PrincipalID ||
		len(replaced.Tags) != 0 || *replaced.Properties.IsolationScope != armmsi.IsolationScopeRegional || *replaced.Name != "Id-One" {
		t.Errorf("replace: %d %+v %+v", raw.StatusCode, replaced.Identity, replaced.Properties)
	}

	updated, err := client.Update(e.ctx, "rg1", "ID-ONE", armmsi.IdentityUpdate{Tags: map[string]*string{"k": ptr("v")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *updated.Tags["k"] != "v" || *updated.Properties.IsolationScope != armmsi.IsolationScopeRegional || *updated.Properties.ClientID != *p.ClientID {
		t.Errorf("update = %+v", updated.Identity)
	}

	got, err := client.Get(e.ctx, "rg1", "id-one", nil)
	if err != nil || *got.ID != wantID {
		t.Fatalf("Get = %v %v", got.ID, err)
	}

	// The generic client sees the identity through the same route family.
	generic := resourcesClient(t, e, adminCred)
	byID, err := generic.GetByID(e.ctx, wantID, "2024-11-30", nil)
	if err != nil || *byID.ID != wantID {
		t.Fatalf("GetByID = %v %v", byID.ID, err)
	}
	exists, err := generic.CheckExistenceByID(e.ctx, strings.Replace(wantID, "resourcegroups", "resourceGroups", 1), "2024-11-30", nil)
	if err != nil || !exists.Success {
		t.Errorf("CheckExistenceByID = %v %v", exists.Success, err)
	}
	_, err = generic.GetByID(e.ctx, wantID, "2021-04-01", nil)
	if re := responseError(t, err); re.StatusCode != 400 || re.ErrorCode != "InvalidApiVersionParameter" || !strings.Contains(re.Error(), "2024-11-30") {
		t.Errorf("GetByID with a Microsoft.Resources version: %d %s", re.StatusCode, re.ErrorCode)
	}

	for i, want := range []int{http.StatusOK, http.StatusNoContent} {
		if _, err := client.Delete(ctx, "rg1", "id-one", nil); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
		if raw.StatusCode != want {
			t.Errorf("delete %d: status %d, want %d", i, raw.StatusCode, want)
		}
	}
	_, err = client.Get(e.ctx, "rg1", "id-one", nil)
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "ResourceNotFound" {
		t.Errorf("get after delete: %d %s", re.StatusCode, re.ErrorCode)
	}
}

func TestUserAssignedIdentityErrors(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	client := identitiesClient(t, e)
	e.identity("rg1", "exists")
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"name too short", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", "ab", armmsi.Identity{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"name starting with a hyphen", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", "-abc", armmsi.Identity{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"name with a period", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", "a.bc", armmsi.Identity{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"name too long", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", strings.Repeat("a", 129), armmsi.Identity{Location: ptr("westus")}, nil)
			return err
		}, 400, "InvalidResourceName"},
		{"no location", func() error { _, err := client.CreateOrUpdate(e.ctx, "rg1", "abc", armmsi.Identity{}, nil); return err }, 400, "LocationRequired"},
		{"location change", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", "exists", armmsi.Identity{Location: ptr("eastus")}, nil)
			return err
		}, 409, "InvalidResourceLocation"},
		{"bad isolation scope", func() error {
			_, err := client.Update(e.ctx, "rg1", "exists", armmsi.IdentityUpdate{Properties: &armmsi.UserAssignedIdentityProperties{IsolationScope: ptr(armmsi.IsolationScope("Global"))}}, nil)
			return err
		}, 400, "InvalidParameter"},
		{"missing group", func() error {
			_, err := client.CreateOrUpdate(e.ctx, "nope", "abc", armmsi.Identity{Location: ptr("westus")}, nil)
			return err
		}, 404, "ResourceGroupNotFound"},
		{"update missing", func() error {
			_, err := client.Update(e.ctx, "rg1", "missing", armmsi.IdentityUpdate{}, nil)
			return err
		}, 404, "ResourceNotFound"},
		{"a child of a missing identity", func() error {
			_, err := putByID(t, resourcesClient(t, e, adminCred), resourceID("rg1", "Microsoft.ManagedIdentity/userAssignedIdentities/x1/nested/y"), armresources.GenericResource{})
			return err
		}, 404, "ParentResourceNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re := responseError(t, tc.call())
			if re.StatusCode != tc.status || re.ErrorCode != tc.code {
				t.Errorf("got %d %s (%v), want %d %s", re.StatusCode, re.ErrorCode, re, tc.status, tc.code)
			}
		})
	}
}

func TestUserAssignedIdentityListsPage(t *testing.T) {
	e := newEnv(t, func(c *arm.Config) { c.PageSize = 5 })
	e.group("rg1")
	e.group("rg2")
	for i := range 12 {
		e.identity("rg1", fmt.Sprintf("id-%02d", i))
	}
	e.identity("rg2", "other")
	client := identitiesClient(t, e)
	count := func(next func() (int, bool, error)) (items, pages int) {
		for {
			n, more, err := next()
			if err != nil {
				t.Fatal(err)
			}
			items += n
			pages++
			if !more {
				return
			}
		}
	}
	byGroup := client.NewListByResourceGroupPager("rg1", nil)
	items, pages := count(func() (int, bool, error) {
		p, err := byGroup.NextPage(e.ctx)
		return len(p.Value), byGroup.More(), err
	})
	if items != 12 || pages != 3 {
		t.Errorf("by group: %d items in %d pages", items, pages)
	}
	bySub := client.NewListBySubscriptionPager(nil)
	items, pages = count(func() (int, bool, error) {
		p, err := bySub.NextPage(e.ctx)
		return len(p.Value), bySub.More(), err
	})
	if items != 13 || pages != 3 {
		t.Errorf("by subscription: %d items in %d pages", items, pages)
	}

	ops, err := armmsi.NewOperationsClient(adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	op, err := ops.NewListPager(nil).NextPage(e.ctx)
	if err != nil || len(op.Value) == 0 {
		t.Fatalf("operations: %v %v", len(op.Value), err)
	}
	found := false
	for _, o := range op.Value {
		found = found || *o.Name == "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
	}
	if !found {
		t.Error("operations do not list the assign action")
	}
}

func ficClient(t *testing.T, e *env) *armmsi.FederatedIdentityCredentialsClient {
	t.Helper()
	c, err := armmsi.NewFederatedIdentityCredentialsClient(subscriptionID, adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fic(issuer, subject string, audiences ...string) armmsi.FederatedIdentityCredential {
	props := &armmsi.FederatedIdentityCredentialProperties{Issuer: ptr(issuer), Subject: ptr(subject)}
	for _, a := range audiences {
		props.Audiences = append(props.Audiences, ptr(a))
	}
	return armmsi.FederatedIdentityCredential{Properties: props}
}

const exchange = "api://AzureADTokenExchange"

func TestFederatedIdentityCredentials(t *testing.T) {
	e := newEnv(t, func(c *arm.Config) { c.FederatedCredentialLimit = 4 })
	e.group("rg1")
	uami := e.identity("rg1", "id1")
	client := ficClient(t, e)

	var raw *http.Response
	ctx := runtime.WithCaptureResponse(e.ctx, &raw)
	created, err := client.CreateOrUpdate(ctx, "rg1", "id1", "fic1", fic("https://kubernetes.example/issuer", "system:serviceaccount:ns:sa", exchange), nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != http.StatusCreated || *created.ID != *uami.ID+"/federatedIdentityCredentials/fic1" ||
		*created.Type != "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials" ||
		*created.Properties.Issuer != "https://kubernetes.example/issuer" || len(created.Properties.Audiences) != 1 {
		t.Errorf("created: %d %+v", raw.StatusCode, created.FederatedIdentityCredential)
	}
	updated, err := client.CreateOrUpdate(ctx, "rg1", "id1", "fic1", fic("https://kubernetes.example/issuer", "system:serviceaccount:ns:other", exchange), nil)
	if err != nil || raw.StatusCode != http.StatusOK || *updated.Properties.Subject != "system:serviceaccount:ns:other" {
		t.Fatalf("update: %d %v", raw.StatusCode, err)
	}
	got, err := client.Get(e.ctx, "rg1", "id1", "FIC1", nil)
	if err != nil || *got.Name != "fic1" {
		t.Fatalf("Get = %v %v", got.Name, err)
	}

	tests := []struct {
		name     string
		identity string
		fic      string
		body     armmsi.FederatedIdentityCredential
		status   int
		contains string
	}{
		{"name too short", "id1", "ab", fic("https://i", "s", exchange), 400, "Federated Identity Credential name 'ab' is invalid."},
		{"two audiences", "id1", "fic2", fic("https://i", "s", exchange, "other"), 400, "Federated identity credentials must have exactly one audience."},
		{"no audience", "id1", "fic2", fic("https://i", "s"), 400, "empty properties"},
		{"no subject", "id1", "fic2", fic("https://i", "", exchange), 400, "empty properties"},
		{"issuer not https", "id1", "fic2", fic("http://i", "s", exchange), 400, "https URL"},
		{"issuer with whitespace", "id1", "fic2", fic(" https://i", "s", exchange), 400, "https URL"},
		{"subject too long", "id1", "fic2", fic("https://i", strings.Repeat("s", 601), exchange), 400, "600"},
		{"duplicate issuer and subject", "id1", "fic2", fic("https://kubernetes.example/issuer", "system:serviceaccount:ns:other", exchange), 400,
			"Issuer and subject combination already exists for this Managed Identity."},
		{"missing parent", "nope", "fic2", fic("https://i", "s", exchange), 404, "The parent user-assigned identity doesn't exist."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.CreateOrUpdate(e.ctx, "rg1", tc.identity, tc.fic, tc.body, nil)
			re := responseError(t, err)
			if re.StatusCode != tc.status || !strings.Contains(re.Error(), tc.contains) {
				t.Errorf("got %d: %v", re.StatusCode, re)
			}
		})
	}

	// The limit (4 here) counts existing credentials; replacing one is fine.
	for i := 2; i <= 4; i++ {
		if _, err := client.CreateOrUpdate(e.ctx, "rg1", "id1", fmt.Sprintf("fic%d", i), fic("https://i", fmt.Sprintf("s%d", i), exchange), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = client.CreateOrUpdate(e.ctx, "rg1", "id1", "fic5", fic("https://i", "s5", exchange), nil)
	if re := responseError(t, err); re.StatusCode != 400 || !strings.Contains(re.Error(), "maximum of 4") {
		t.Errorf("over the limit: %d %v", re.StatusCode, re)
	}
	if _, err := client.CreateOrUpdate(e.ctx, "rg1", "id1", "fic4", fic("https://i", "s4b", exchange), nil); err != nil {
		t.Errorf("replace at the limit: %v", err)
	}

	// List pages with $top and $skiptoken.
	pager := client.NewListPager("rg1", "id1", &armmsi.FederatedIdentityCredentialsClientListOptions{Top: ptr[int32](3)})
	var names []string
	pages := 0
	for pager.More() {
		p, err := pager.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range p.Value {
			names = append(names, *f.Name)
		}
	}
	if strings.Join(names, ",") != "fic1,fic2,fic3,fic4" || pages != 2 {
		t.Errorf("list: %v in %d pages", names, pages)
	}

	for i, want := range []int{http.StatusOK, http.StatusNoContent} {
		if _, err := client.Delete(ctx, "rg1", "id1", "fic1", nil); err != nil {
			t.Fatal(err)
		}
		if raw.StatusCode != want {
			t.Errorf("delete %d: %d, want %d", i, raw.StatusCode, want)
		}
	}
	_, err = client.Get(e.ctx, "rg1", "id1", "fic1", nil)
	if re := responseError(t, err); re.StatusCode != 404 {
		t.Errorf("get after delete: %d", re.StatusCode)
	}

	// Deleting the identity deletes its credentials with it.
	if _, err := identitiesClient(t, e).Delete(e.ctx, "rg1", "id1", nil); err != nil {
		t.Fatal(err)
	}
	e.identity("rg1", "id1")
	p, err := client.NewListPager("rg1", "id1", nil).NextPage(e.ctx)
	if err != nil || len(p.Value) != 0 {
		t.Errorf("credentials of a recreated identity: %d %v", len(p.Value), err)
	}
}

func TestIdentityDeleteDetachesFromResourcesOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	a, b := e.identity("rg1", "id-a"), e.identity("rg1", "id-b")
	client := resourcesClient(t, e, adminCred)
	var vms []string
	for i := range 3 {
		id := resourceID("rg1", fmt.Sprintf("Microsoft.Compute/virtualMachines/vm%d", i))
		vms = append(vms, id)
		if _, err := putByID(t, client, id, armresources.GenericResource{Location: ptr("westus"), Identity: &armresources.Identity{
			Type:                   ptr(armresources.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*a.ID: {}, *b.ID: {}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := identitiesClient(t, e).Delete(e.ctx, "rg1", "id-a", nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range vms {
		r, err := client.GetByID(e.ctx, id, computeVersion, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Identity.UserAssignedIdentities) != 1 || r.Identity.UserAssignedIdentities[*b.ID] == nil {
			t.Errorf("%s identities = %v", id, r.Identity.UserAssignedIdentities)
		}
	}
}
