package arm_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/keyless-io/keyless/internal/store"
)

func TestSubscriptions(t *testing.T) {
	e := newEnv(t)
	second := "11111111-2222-3333-4444-555555555555"
	if _, err := e.store.Update(e.ctx, func(tx store.Tx) error {
		return tx.CreateSubscription(e.ctx, store.Subscription{ID: second, DisplayName: "Second", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	client, err := armsubscriptions.NewClient(adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.Get(e.ctx, subscriptionID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.ID != "/subscriptions/"+subscriptionID || *got.SubscriptionID != subscriptionID || *got.DisplayName != "Default" ||
		*got.State != armsubscriptions.SubscriptionStateEnabled || *got.TenantID != tenantID || got.SubscriptionPolicies == nil {
		t.Errorf("Get = %+v", got.Subscription)
	}
	_, err = client.Get(e.ctx, "00000000-0000-0000-0000-00000000dead", nil)
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "SubscriptionNotFound" {
		t.Errorf("missing subscription: %d %s", re.StatusCode, re.ErrorCode)
	}

	var all []string
	pager := client.NewListPager(nil)
	for pager.More() {
		p, err := pager.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Value {
			all = append(all, *s.SubscriptionID)
		}
	}
	if len(all) != 2 {
		t.Errorf("admin lists %v", all)
	}

	// Alice sees only the subscription she can read, and is refused the other.
	e.authz.allow(alice.ObjectID, "Microsoft.Resources/subscriptions/read", "/subscriptions/"+second)
	aliceClient, err := armsubscriptions.NewClient(aliceCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := aliceClient.NewListPager(nil).NextPage(e.ctx)
	if err != nil || len(p.Value) != 1 || *p.Value[0].SubscriptionID != second {
		t.Errorf("alice lists %d (%v)", len(p.Value), err)
	}
	_, err = aliceClient.Get(e.ctx, subscriptionID, nil)
	if re := responseError(t, err); re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" {
		t.Errorf("alice reads the default subscription: %d %s", re.StatusCode, re.ErrorCode)
	}
}

func TestProviders(t *testing.T) {
	e := newEnv(t)
	e.group("rg1")
	if _, err := putByID(t, resourcesClient(t, e, adminCred), resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1"), armresources.GenericResource{Location: ptr("westus")}); err != nil {
		t.Fatal(err)
	}
	client, err := armresources.NewProvidersClient(subscriptionID, adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	msi, err := client.Get(e.ctx, "microsoft.managedidentity", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *msi.Namespace != "Microsoft.ManagedIdentity" || *msi.RegistrationState != "Registered" || len(msi.ResourceTypes) == 0 {
		t.Errorf("Microsoft.ManagedIdentity = %+v", msi.Provider)
	}
	compute, err := client.Register(e.ctx, "Microsoft.Compute", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The catalogue's virtualMachines, once, though a VM is also stored.
	vms := 0
	for _, rt := range compute.ResourceTypes {
		if strings.EqualFold(*rt.ResourceType, "virtualMachines") {
			vms++
		}
	}
	if *compute.RegistrationState != "Registered" || vms != 1 {
		t.Errorf("Microsoft.Compute = %+v (virtualMachines listed %d times)", compute.Provider, vms)
	}
	names := map[string]bool{}
	pager := client.NewListPager(nil)
	for pager.More() {
		p, err := pager.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range p.Value {
			names[*pr.Namespace] = true
		}
	}
	for _, ns := range []string{"Microsoft.Resources", "Microsoft.ManagedIdentity", "Microsoft.Compute"} {
		if !names[ns] {
			t.Errorf("providers list lacks %s: %v", ns, names)
		}
	}
	tenant, err := client.GetAtTenantScope(e.ctx, "Microsoft.ManagedIdentity", nil)
	if err != nil || *tenant.ID != "/providers/Microsoft.ManagedIdentity" {
		t.Errorf("tenant scope = %v %v", tenant.ID, err)
	}

	// The RP registration policy's own request (api-version 2019-05-01).
	resp, body := e.do(http.MethodPost, "/subscriptions/"+subscriptionID+"/providers/Microsoft.Web/register?api-version=2019-05-01", adminToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("register with 2019-05-01: %d %s", resp.StatusCode, body)
	}
}
