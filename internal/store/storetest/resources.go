package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

func upper(s string) string { return strings.ToUpper(s) }

var resourceBehaviours = []behaviour{
	{"subscriptions/create, get in any case, list and update", func(t *testing.T, s store.Store) {
		sub := store.Subscription{ID: "AbC-123", DisplayName: "Default", State: "Enabled", CreatedAt: t0}
		other := store.Subscription{ID: "def-456", DisplayName: "Other", State: "Enabled", CreatedAt: t0}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create", tx.CreateSubscription(ctx, sub), nil)
			wantErr(t, "create other", tx.CreateSubscription(ctx, other), nil)
			dup := sub
			dup.ID = "abc-123"
			wantErr(t, "create in other case", tx.CreateSubscription(ctx, dup), store.ErrAlreadyExists)
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "update missing", tx.UpdateSubscription(ctx, "nope", func(s store.Subscription) (store.Subscription, error) { return s, nil }), store.ErrNotFound)
			return tx.UpdateSubscription(ctx, "ABC-123", func(s store.Subscription) (store.Subscription, error) {
				s.State = "Disabled"
				return s, nil
			})
		})
		sub.State = "Disabled"
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetSubscription(ctx, "abc-123")
			wantErr(t, "GetSubscription", err, nil)
			wantEqual(t, "subscription", got, sub)
			all, err := tx.ListSubscriptions(ctx)
			wantErr(t, "ListSubscriptions", err, nil)
			wantEqual(t, "subscriptions", all, []store.Subscription{sub, other})
			_, err = tx.GetSubscription(ctx, "nope")
			wantErr(t, "get missing", err, store.ErrNotFound)
			return nil
		})
	}},
	{"resource groups/put replaces but keeps first casing and creation time", func(t *testing.T, s store.Store) {
		g := store.ResourceGroup{SubscriptionID: subID, Name: "Rg-One", Location: "westeurope",
			Tags: map[string]string{"env": "dev"}, CreatedAt: t0, UpdatedAt: t0}
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutResourceGroup(ctx, g)
			return err
		})
		wantEqual(t, "created", created, true)
		later := t0.Add(time.Hour)
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutResourceGroup(ctx, store.ResourceGroup{SubscriptionID: upper(subID), Name: "RG-ONE",
				Location: "northeurope", ManagedBy: "someone", CreatedAt: later, UpdatedAt: later})
			return err
		})
		wantEqual(t, "created on replace", created, false)
		want := store.ResourceGroup{SubscriptionID: subID, Name: "Rg-One", Location: "northeurope", ManagedBy: "someone",
			CreatedAt: t0, UpdatedAt: later}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetResourceGroup(ctx, subID, "rg-one")
			wantErr(t, "GetResourceGroup", err, nil)
			wantEqual(t, "group", got, want)
			return nil
		})
	}},
	{"resource groups/list by subscription and delete in any case", func(t *testing.T, s store.Store) {
		groups := []store.ResourceGroup{
			{SubscriptionID: subID, Name: "b-group", Location: "westeurope", Tags: map[string]string{}},
			{SubscriptionID: subID, Name: "A-group", Location: "westeurope"},
			{SubscriptionID: "other-sub", Name: "c-group", Location: "westeurope"},
		}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, g := range groups {
				if _, err := tx.PutResourceGroup(ctx, g); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListResourceGroups(ctx, upper(subID))
			wantErr(t, "ListResourceGroups", err, nil)
			wantEqual(t, "groups", got, []store.ResourceGroup{groups[1], groups[0]})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteResourceGroup(ctx, subID, "a-GROUP"), nil)
			wantErr(t, "delete again", tx.DeleteResourceGroup(ctx, subID, "a-group"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetResourceGroup(ctx, subID, "A-group")
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
	{"resources/put, get in any case with body verbatim, replace and delete", func(t *testing.T, s store.Store) {
		r := resource("Microsoft.Web/sites", "My-App")
		r.PrincipalID = "sys-principal"
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutResource(ctx, r)
			return err
		})
		wantEqual(t, "created", created, true)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetResource(ctx, upper(r.ID))
			wantErr(t, "GetResource", err, nil)
			wantEqual(t, "resource", got, r)
			return nil
		})

		later := t0.Add(time.Hour)
		replacement := r
		replacement.ID = strings.ToLower(r.ID)
		replacement.Location = "northeurope"
		replacement.Body = []byte(`{}`)
		replacement.PrincipalID = ""
		replacement.CreatedAt, replacement.UpdatedAt = later, later
		replacement.CreatedBy, replacement.UpdatedBy = "intruder", "updater"
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutResource(ctx, replacement)
			return err
		})
		wantEqual(t, "created on replace", created, false)
		want := replacement
		want.ID, want.CreatedAt, want.CreatedBy = r.ID, r.CreatedAt, r.CreatedBy
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetResource(ctx, r.ID)
			wantErr(t, "GetResource", err, nil)
			wantEqual(t, "replaced resource", got, want)
			return nil
		})

		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteResource(ctx, upper(r.ID)), nil)
			wantErr(t, "delete again", tx.DeleteResource(ctx, r.ID), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetResource(ctx, r.ID)
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
	{"resources/attachment index follows put and delete", func(t *testing.T, s store.Store) {
		u1, u2 := identity("Id-One"), identity("Id-Two")
		vm := resource("Microsoft.Compute/virtualMachines", "vm")
		vm.UserAssignedIdentities = []string{upper(u1.ID), u2.ID, u1.ID} // the duplicate differs only in case
		app := resource("Microsoft.Web/sites", "app")
		app.UserAssignedIdentities = []string{u1.ID}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, r := range []store.Resource{u1, u2, vm, app} {
				if _, err := tx.PutResource(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		attached := func(identityID string) []string {
			t.Helper()
			var ids []string
			view(t, s, func(ctx context.Context, tx store.Tx) error {
				rs, err := tx.ListResources(ctx, store.ResourceFilter{AttachedIdentity: identityID})
				wantErr(t, "ListResources", err, nil)
				for _, r := range rs {
					ids = append(ids, r.Name)
				}
				return nil
			})
			return ids
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetResource(ctx, vm.ID)
			wantErr(t, "GetResource", err, nil)
			wantEqual(t, "identities as first written, without duplicates", got.UserAssignedIdentities, []string{upper(u1.ID), u2.ID})
			return nil
		})
		wantEqual(t, "holders of u1 in ID order", attached(strings.ToLower(u1.ID)), []string{"vm", "app"})
		wantEqual(t, "holders of u2", attached(u2.ID), []string{"vm"})

		vm.UserAssignedIdentities = []string{u2.ID}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutResource(ctx, vm)
			return err
		})
		wantEqual(t, "holders of u1 after replace", attached(u1.ID), []string{"app"})

		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteResource(ctx, app.ID) })
		wantEqual(t, "holders of u1 after delete", attached(u1.ID), []string(nil))
		wantEqual(t, "holders of u2 after delete", attached(u2.ID), []string{"vm"})

		vm.UserAssignedIdentities = nil
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutResource(ctx, vm)
			return err
		})
		wantEqual(t, "holders of u2 after detaching all", attached(u2.ID), []string(nil))
	}},
	{"resources/list filters by subscription, group, type and parent", func(t *testing.T, s store.Store) {
		site := resource("Microsoft.Web/sites", "app")
		slot := resource("Microsoft.Web/sites/slots", "staging")
		slot.ID = site.ID + "/slots/staging"
		site2 := resource("Microsoft.Web/sites", "app2") // shares a prefix with site
		vm := resource("Microsoft.Compute/virtualMachines", "vm")
		elsewhere := resource("Microsoft.Web/sites", "far")
		elsewhere.ID = "/subscriptions/other/resourceGroups/rg2/providers/Microsoft.Web/sites/far"
		elsewhere.SubscriptionID, elsewhere.ResourceGroup = "other", "rg2"
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, r := range []store.Resource{site, slot, site2, vm, elsewhere} {
				if _, err := tx.PutResource(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		tests := []struct {
			name   string
			filter store.ResourceFilter
			want   []string
		}{
			{"all in lower-case ID order", store.ResourceFilter{}, []string{"vm", "app", "staging", "app2", "far"}},
			{"subscription", store.ResourceFilter{SubscriptionID: upper(subID)}, []string{"vm", "app", "staging", "app2"}},
			{"resource group", store.ResourceFilter{SubscriptionID: subID, ResourceGroup: "RG-ONE"}, []string{"vm", "app", "staging", "app2"}},
			{"group in other subscription", store.ResourceFilter{SubscriptionID: "other", ResourceGroup: "Rg-One"}, nil},
			{"type", store.ResourceFilter{Type: "microsoft.web/SITES"}, []string{"app", "app2", "far"}},
			{"parent at a segment boundary", store.ResourceFilter{ParentID: upper(site.ID)}, []string{"staging"}},
			{"parent with trailing slash", store.ResourceFilter{ParentID: site.ID + "/"}, []string{"staging"}},
			{"combined", store.ResourceFilter{SubscriptionID: subID, Type: "Microsoft.Web/sites"}, []string{"app", "app2"}},
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, tc := range tests {
				rs, err := tx.ListResources(ctx, tc.filter)
				wantErr(t, tc.name, err, nil)
				var names []string
				for _, r := range rs {
					names = append(names, r.Name)
				}
				wantEqual(t, tc.name, names, tc.want)
			}
			return nil
		})
	}},
	{"resources/pages by lower-case ID with After and Limit", func(t *testing.T, s store.Store) {
		names := []string{"e", "B", "a", "D", "c"}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, n := range names {
				r := resource("Microsoft.Web/sites", n)
				r.UserAssignedIdentities = []string{identity("x").ID, identity("y").ID}
				if _, err := tx.PutResource(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		var (
			got   []string
			after string
		)
		for page := 0; ; page++ {
			if page > len(names) {
				t.Fatalf("paging does not end: %v", got)
			}
			var rs []store.Resource
			view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
				rs, err = tx.ListResources(ctx, store.ResourceFilter{Type: "Microsoft.Web/sites", After: after, Limit: 2})
				return err
			})
			if len(rs) > 2 {
				t.Fatalf("page of %d, limit 2", len(rs))
			}
			if len(rs) == 0 {
				break
			}
			for _, r := range rs {
				got = append(got, r.Name)
				wantEqual(t, "identities of "+r.Name, len(r.UserAssignedIdentities), 2)
			}
			after = upper(rs[len(rs)-1].ID) // After is case-insensitive too
		}
		wantEqual(t, "pages", got, []string{"a", "B", "c", "D", "e"})
	}},
	{"federated credentials/list with no identity lists every identity's, by identity then name", func(t *testing.T, s store.Store) {
		a, b := identity("Id-A"), identity("id-b")
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, r := range []store.Resource{b, a} {
				if _, err := tx.PutResource(ctx, r); err != nil {
					return err
				}
			}
			for _, c := range []store.FederatedCredential{
				{IdentityID: b.ID, Name: "z", Issuer: "https://i", Subject: "s", Audiences: []string{"x"}, CreatedAt: t0, UpdatedAt: t0},
				{IdentityID: a.ID, Name: "y", Issuer: "https://i", Subject: "s", Audiences: []string{"x"}, CreatedAt: t0, UpdatedAt: t0},
				{IdentityID: a.ID, Name: "X", Issuer: "https://i", Subject: "s", Audiences: []string{"x"}, CreatedAt: t0, UpdatedAt: t0},
			} {
				if _, err := tx.PutFederatedCredential(ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			all, err := tx.ListFederatedCredentials(ctx, "")
			wantErr(t, "list all", err, nil)
			var got []string
			for _, c := range all {
				got = append(got, c.IdentityID[len(c.IdentityID)-4:]+"/"+c.Name)
			}
			wantEqual(t, "every credential", got, []string{"Id-A/X", "Id-A/y", "id-b/z"})
			return nil
		})
	}},
	{"federated credentials/put, get in any case, list and delete with the identity", func(t *testing.T, s store.Store) {
		u := identity("Id-One")
		fic := store.FederatedCredential{IdentityID: u.ID, Name: "GitHub-Main", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:o/r:ref:refs/heads/main", Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: t0, UpdatedAt: t0}
		second := store.FederatedCredential{IdentityID: u.ID, Name: "a-k8s", Issuer: "https://k8s", Subject: "system:serviceaccount:ns:sa",
			Audiences: []string{"a", "b"}, CreatedAt: t0, UpdatedAt: t0}
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			_, err = tx.PutFederatedCredential(ctx, fic)
			wantErr(t, "identity missing", err, store.ErrNotFound)
			if _, err := tx.PutResource(ctx, u); err != nil {
				return err
			}
			if created, err = tx.PutFederatedCredential(ctx, fic); err != nil {
				return err
			}
			_, err = tx.PutFederatedCredential(ctx, second)
			return err
		})
		wantEqual(t, "created", created, true)
		later := t0.Add(time.Minute)
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			c := fic
			c.IdentityID, c.Name, c.Subject, c.CreatedAt, c.UpdatedAt = upper(u.ID), "github-main", "repo:o/r:environment:prod", later, later
			created, err = tx.PutFederatedCredential(ctx, c)
			return err
		})
		wantEqual(t, "created on replace", created, false)
		fic.Subject, fic.UpdatedAt = "repo:o/r:environment:prod", later
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetFederatedCredential(ctx, upper(u.ID), "GITHUB-MAIN")
			wantErr(t, "GetFederatedCredential", err, nil)
			wantEqual(t, "credential", got, fic)
			all, err := tx.ListFederatedCredentials(ctx, u.ID)
			wantErr(t, "ListFederatedCredentials", err, nil)
			wantEqual(t, "credentials", all, []store.FederatedCredential{second, fic})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteFederatedCredential(ctx, u.ID, "A-K8S"), nil)
			wantErr(t, "delete again", tx.DeleteFederatedCredential(ctx, u.ID, "a-k8s"), store.ErrNotFound)
			return nil
		})
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteResource(ctx, u.ID) })
		wantEqual(t, "changes of deleting the identity", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindFederatedCredential, strings.ToLower(u.ID + "/federatedIdentityCredentials/GitHub-Main"), store.OpDelete},
			{rev, store.KindResource, strings.ToLower(u.ID), store.OpDelete},
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutResource(ctx, u)
			return err
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			all, err := tx.ListFederatedCredentials(ctx, u.ID)
			wantErr(t, "ListFederatedCredentials", err, nil)
			wantEqual(t, "credentials of a recreated identity", all, nil)
			return nil
		})
	}},
}
