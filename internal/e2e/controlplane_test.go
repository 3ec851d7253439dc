package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

// TestIdentityLifecycleWithTheSDK is issue #4's acceptance scenario: with
// only the admin credentials file and the unchanged SDK, create a group,
// two user-assigned identities and a web-app-like resource with
// system-assigned plus both, read the principal IDs back, remove one
// identity, delete the group, and find nothing left behind.
func TestIdentityLifecycleWithTheSDK(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cred, opts, sub := env.AdminCredential(t), env.ARMOptions(), env.Creds.SubscriptionID

	groups, err := armresources.NewResourceGroupsClient(sub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(ctx, "rg-app", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	uamis, err := armmsi.NewUserAssignedIdentitiesClient(sub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var uamiPrincipals []string
	for _, name := range []string{"id-a", "id-b"} {
		r, err := uamis.CreateOrUpdate(ctx, "rg-app", name, armmsi.Identity{Location: to.Ptr("westus")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *r.ID)
		uamiPrincipals = append(uamiPrincipals, *r.Properties.PrincipalID)
	}
	res, err := armresources.NewClient(sub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	siteID := "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.Web/sites/web1"
	poller, err := res.BeginCreateOrUpdateByID(ctx, siteID, "2023-12-01", armresources.GenericResource{
		Location: to.Ptr("westus"),
		Identity: &armresources.Identity{
			Type: to.Ptr(armresources.ResourceIdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{
				ids[0]: {}, ids[1]: {},
			},
		},
		Properties: map[string]any{"serverFarmId": "plan1"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	site, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if site.Identity == nil || site.Identity.PrincipalID == nil || len(site.Identity.UserAssignedIdentities) != 2 {
		t.Fatalf("identity block %+v", site.Identity)
	}
	sysPrincipal := *site.Identity.PrincipalID
	for id, v := range site.Identity.UserAssignedIdentities {
		if v.PrincipalID == nil || v.ClientID == nil {
			t.Fatalf("UAMI %s without principal/client ID", id)
		}
	}
	sa, err := armmsi.NewSystemAssignedIdentitiesClient(cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sa.GetByScope(ctx, siteID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.PrincipalID != sysPrincipal {
		t.Fatalf("identities/default principal %s, resource says %s", *got.Properties.PrincipalID, sysPrincipal)
	}

	// Remove one user-assigned identity with a nil map value (PATCH).
	up, err := res.BeginUpdateByID(ctx, siteID, "2023-12-01", armresources.GenericResource{
		Identity: &armresources.Identity{
			Type:                   to.Ptr(armresources.ResourceIdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{ids[1]: nil},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	site2, err := up.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(site2.Identity.UserAssignedIdentities) != 1 || *site2.Identity.PrincipalID != sysPrincipal {
		t.Fatalf("after removing one UAMI: %+v", site2.Identity)
	}

	del, err := groups.BeginDelete(ctx, "rg-app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st := env.Server.Installation().Store
	_ = st.View(ctx, func(tx store.Tx) error {
		for _, oid := range append([]string{sysPrincipal}, uamiPrincipals...) {
			if _, err := tx.GetPrincipal(ctx, oid); err == nil {
				t.Errorf("principal %s outlived its group", oid)
			}
			if ras, _ := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{PrincipalID: oid}); len(ras) > 0 {
				t.Errorf("assignments of %s outlived it", oid)
			}
		}
		if rs, _ := tx.ListResources(ctx, store.ResourceFilter{SubscriptionID: sub, ResourceGroup: "rg-app"}); len(rs) > 0 {
			t.Errorf("%d resources outlived their group", len(rs))
		}
		return nil
	})
}
