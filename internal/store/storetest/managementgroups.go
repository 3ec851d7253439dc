package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// tenantID names the tenant root group, as in Azure.
const tenantID = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"

func managementGroup(name, parent string) store.ManagementGroup {
	return store.ManagementGroup{
		Name:        name,
		DisplayName: "Group " + name,
		ParentName:  parent,
		CreatedAt:   t0,
		UpdatedAt:   t0,
		UpdatedBy:   "creator",
	}
}

// putGroups writes gs in one Update, in order.
func putGroups(t *testing.T, s store.Store, gs ...store.ManagementGroup) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, g := range gs {
			if _, err := tx.PutManagementGroup(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
}

// groupTree is root -> Contoso -> Contoso-Prod, and root -> Sandbox.
func groupTree(t *testing.T, s store.Store) {
	t.Helper()
	putGroups(t, s,
		managementGroup(tenantID, ""),
		managementGroup("Contoso", tenantID),
		managementGroup("Contoso-Prod", "Contoso"),
		managementGroup("Sandbox", strings.ToLower(tenantID)),
	)
}

// parentOf reads a group's ParentName.
func parentOf(t *testing.T, s store.Store, name string) string {
	t.Helper()
	var parent string
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		g, err := tx.GetManagementGroup(ctx, name)
		wantErr(t, "GetManagementGroup "+name, err, nil)
		parent = g.ParentName
		return nil
	})
	return parent
}

var managementGroupBehaviours = []behaviour{
	{"management groups/create and get in any case keep the first casing", func(t *testing.T, s store.Store) {
		root, child := managementGroup(tenantID, ""), managementGroup("Contoso-Prod", strings.ToLower(tenantID))
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			if created, err = tx.PutManagementGroup(ctx, root); err != nil {
				return err
			}
			_, err = tx.PutManagementGroup(ctx, child)
			return err
		})
		wantEqual(t, "created", created, true)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetManagementGroup(ctx, strings.ToLower(tenantID))
			wantErr(t, "GetManagementGroup root", err, nil)
			wantEqual(t, "root", got, root)
			got, err = tx.GetManagementGroup(ctx, "CONTOSO-PROD")
			wantErr(t, "GetManagementGroup child", err, nil)
			wantEqual(t, "child, its parent as written", got, child)
			_, err = tx.GetManagementGroup(ctx, "nope")
			wantErr(t, "get missing", err, store.ErrNotFound)
			return nil
		})
	}},
	{"management groups/put replaces but keeps first casing and creation time", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		later := t0.Add(time.Hour)
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutManagementGroup(ctx, store.ManagementGroup{Name: "CONTOSO-PROD", DisplayName: "Production",
				ParentName: "Sandbox", CreatedAt: later, UpdatedAt: later, UpdatedBy: "mover"})
			return err
		})
		wantEqual(t, "created on replace", created, false)
		want := store.ManagementGroup{Name: "Contoso-Prod", DisplayName: "Production", ParentName: "Sandbox",
			CreatedAt: t0, UpdatedAt: later, UpdatedBy: "mover"}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetManagementGroup(ctx, "contoso-prod")
			wantErr(t, "GetManagementGroup", err, nil)
			wantEqual(t, "replaced group", got, want)
			return nil
		})
	}},
	{"management groups/list orders by lower-case name", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		var names []string
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			gs, err := tx.ListManagementGroups(ctx)
			wantErr(t, "ListManagementGroups", err, nil)
			for _, g := range gs {
				names = append(names, g.Name)
			}
			return nil
		})
		wantEqual(t, "groups", names, []string{tenantID, "Contoso", "Contoso-Prod", "Sandbox"})
	}},
	{"management groups/a parent must exist, and only the tenant root has none", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		tests := []struct {
			name  string
			group store.ManagementGroup
			want  error
		}{
			{"new group under a missing parent", managementGroup("New", "ghost"), store.ErrNotFound},
			{"existing group moved under a missing parent", managementGroup("Sandbox", "ghost"), store.ErrNotFound},
			{"a second group without a parent", managementGroup("New", ""), store.ErrAlreadyExists},
			{"a group made parentless", managementGroup("Contoso", ""), store.ErrAlreadyExists},
			{"the root replaced in other case, still without a parent", managementGroup(strings.ToLower(tenantID), ""), nil},
			{"new group under a parent in other case", managementGroup("New", "SANDBOX"), nil},
			{"a group moved to another branch", managementGroup("Contoso-Prod", "Sandbox"), nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := revision(t, s)
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					_, err := tx.PutManagementGroup(t.Context(), tc.group)
					return err
				})
				wantErr(t, "PutManagementGroup", err, tc.want)
				if tc.want != nil {
					wantNothingWritten(t, s, before)
					return
				}
				wantEqual(t, "parent", strings.ToLower(parentOf(t, s, tc.group.Name)), strings.ToLower(tc.group.ParentName))
			})
		}
	}},
	{"management groups/a group cannot become its own ancestor", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		tests := []struct {
			name  string
			group store.ManagementGroup
		}{
			{"an existing group under itself", managementGroup("Contoso", "CONTOSO")},
			{"a new group under itself", managementGroup("New", "new")},
			{"a group under its child", managementGroup("Contoso", "Contoso-Prod")},
			{"the root under a grandchild", managementGroup(tenantID, "contoso-prod")},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := revision(t, s)
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					_, err := tx.PutManagementGroup(t.Context(), tc.group)
					return err
				})
				wantErr(t, "PutManagementGroup", err, store.ErrCycle)
				wantNothingWritten(t, s, before)
			})
		}
		wantEqual(t, "Contoso stays under the root", parentOf(t, s, "Contoso"), tenantID)
		wantEqual(t, "the root stays the root", parentOf(t, s, tenantID), "")
	}},
	{"management groups/delete is refused while child groups or subscriptions remain", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		sub := store.Subscription{ID: subID, DisplayName: "Prod", State: "Enabled", ManagementGroupName: "contoso-prod", CreatedAt: t0}
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateSubscription(ctx, sub) })
		before := revision(t, s)
		for _, name := range []string{"Contoso", "CONTOSO-PROD"} {
			_, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteManagementGroup(t.Context(), name) })
			wantErr(t, "delete "+name, err, store.ErrNotEmpty)
		}
		wantNothingWritten(t, s, before)

		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateSubscription(ctx, subID, func(s store.Subscription) (store.Subscription, error) {
				s.ManagementGroupName = ""
				return s, nil
			})
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete the emptied leaf", tx.DeleteManagementGroup(ctx, "contoso-PROD"), nil)
			wantErr(t, "delete its emptied parent", tx.DeleteManagementGroup(ctx, "Contoso"), nil)
			wantErr(t, "delete again", tx.DeleteManagementGroup(ctx, "contoso"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetManagementGroup(ctx, "Contoso")
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
	{"management groups/a refused delete does not spoil the rest of the transaction", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete non-empty", tx.DeleteManagementGroup(ctx, "Contoso"), store.ErrNotEmpty)
			_, err := tx.PutManagementGroup(ctx, managementGroup("Contoso-Prod", "Contoso-Prod"))
			wantErr(t, "cycle", err, store.ErrCycle)
			_, err = tx.PutManagementGroup(ctx, managementGroup("x", "ghost"))
			wantErr(t, "missing parent", err, store.ErrNotFound)
			_, err = tx.PutManagementGroup(ctx, managementGroup("y", ""))
			wantErr(t, "second root", err, store.ErrAlreadyExists)
			_, err = tx.PutManagementGroup(ctx, managementGroup("After", "Contoso"))
			return err
		})
		wantEqual(t, "group written after the refusals", parentOf(t, s, "after"), "Contoso")
	}},
	{"management groups/subscriptions are created and moved only under existing groups", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		sub := store.Subscription{ID: subID, DisplayName: "Prod", State: "Enabled", ManagementGroupName: "CONTOSO-prod", CreatedAt: t0}
		direct := store.Subscription{ID: "def-456", DisplayName: "Under the root", State: "Enabled", CreatedAt: t0}
		before := revision(t, s)
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			orphan := sub
			orphan.ManagementGroupName = "ghost"
			return tx.CreateSubscription(t.Context(), orphan)
		})
		wantErr(t, "create under a missing group", err, store.ErrNotFound)
		wantNothingWritten(t, s, before)

		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.CreateSubscription(ctx, sub); err != nil {
				return err
			}
			return tx.CreateSubscription(ctx, direct)
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetSubscription(ctx, subID)
			wantErr(t, "GetSubscription", err, nil)
			wantEqual(t, "subscription with its group as written", got, sub)
			all, err := tx.ListSubscriptions(ctx)
			wantErr(t, "ListSubscriptions", err, nil)
			wantEqual(t, "subscriptions", all, []store.Subscription{sub, direct})
			return nil
		})

		moveTo := func(group string) error {
			_, err := s.Update(t.Context(), func(tx store.Tx) error {
				return tx.UpdateSubscription(t.Context(), upper(subID), func(s store.Subscription) (store.Subscription, error) {
					s.ManagementGroupName = group
					return s, nil
				})
			})
			return err
		}
		before = revision(t, s)
		wantErr(t, "move to a missing group", moveTo("ghost"), store.ErrNotFound)
		wantNothingWritten(t, s, before)
		for _, group := range []string{"Sandbox", ""} {
			wantErr(t, "move to "+group, moveTo(group), nil)
			view(t, s, func(ctx context.Context, tx store.Tx) error {
				got, err := tx.GetSubscription(ctx, subID)
				wantErr(t, "GetSubscription", err, nil)
				wantEqual(t, "group after the move", got.ManagementGroupName, group)
				return nil
			})
		}
	}},
	{"management groups/a NUL in a text field is refused with ErrInvalidText and nothing is written", func(t *testing.T, s store.Store) {
		groupTree(t, s)
		put := func(g store.ManagementGroup) func(ctx context.Context, tx store.Tx) error {
			return func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutManagementGroup(ctx, g)
				return err
			}
		}
		withDisplayName := managementGroup("New", "Contoso")
		withDisplayName.DisplayName = "Prod\x00"
		withUpdater := managementGroup("New", "Contoso")
		withUpdater.UpdatedBy = "who\xff"
		cases := []struct {
			name  string
			write func(ctx context.Context, tx store.Tx) error
		}{
			{"name", put(managementGroup("Ne\x00w", "Contoso"))},
			{"parent name", put(managementGroup("New", "Contoso\x00"))},
			{"display name", put(withDisplayName)},
			{"updated by, invalid UTF-8", put(withUpdater)},
			{"delete", func(ctx context.Context, tx store.Tx) error { return tx.DeleteManagementGroup(ctx, "Sandbox\x00") }},
			{"subscription's group", func(ctx context.Context, tx store.Tx) error {
				return tx.CreateSubscription(ctx, store.Subscription{ID: subID, State: "Enabled", ManagementGroupName: "Sand\x00box"})
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := revision(t, s)
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					if err := tx.PutMeta(t.Context(), "text-probe", []byte("x")); err != nil {
						return err
					}
					return tc.write(t.Context(), tx)
				})
				wantErr(t, "write", err, store.ErrInvalidText)
				wantNothingWritten(t, s, before)
			})
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetManagementGroup(ctx, "Sandbox\x00")
			wantErr(t, "get", err, store.ErrInvalidText)
			return nil
		})
	}},
	{"management groups/one revision per writing update with the right change-feed keys", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.PutManagementGroup(ctx, managementGroup(tenantID, "")); err != nil {
				return err
			}
			if _, err := tx.PutManagementGroup(ctx, managementGroup("Contoso", tenantID)); err != nil {
				return err
			}
			if err := tx.CreateSubscription(ctx, store.Subscription{ID: upper(subID), State: "Enabled", ManagementGroupName: "Contoso"}); err != nil {
				return err
			}
			renamed := managementGroup("CONTOSO", tenantID)
			renamed.DisplayName = "Contoso Ltd"
			_, err := tx.PutManagementGroup(ctx, renamed)
			return err
		})
		wantEqual(t, "committed revision", rev, before+1)
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindManagementGroup, strings.ToLower(tenantID), store.OpPut},
			{rev, store.KindManagementGroup, "contoso", store.OpPut},
			{rev, store.KindSubscription, subID, store.OpPut},
		})

		before = revision(t, s)
		rev = update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateSubscription(ctx, subID, func(s store.Subscription) (store.Subscription, error) {
				s.ManagementGroupName = ""
				return s, nil
			})
		})
		wantEqual(t, "a move records the subscription only", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindSubscription, subID, store.OpPut},
		})

		before = revision(t, s)
		rev = update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteManagementGroup(ctx, "contoso") })
		wantEqual(t, "a delete", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindManagementGroup, "contoso", store.OpDelete},
		})
	}},
	{"management groups/an error after writes leaves nothing", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			ctx := t.Context()
			if _, err := tx.PutManagementGroup(ctx, managementGroup(tenantID, "")); err != nil {
				return err
			}
			if _, err := tx.PutManagementGroup(ctx, managementGroup("Contoso", tenantID)); err != nil {
				return err
			}
			if err := tx.CreateSubscription(ctx, store.Subscription{ID: subID, State: "Enabled", ManagementGroupName: "Contoso"}); err != nil {
				return err
			}
			_, err := tx.PutManagementGroup(ctx, managementGroup(tenantID, "Contoso"))
			return err
		})
		wantErr(t, "Update", err, store.ErrCycle)
		wantNothingWritten(t, s, before)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			gs, err := tx.ListManagementGroups(ctx)
			wantErr(t, "ListManagementGroups", err, nil)
			wantEqual(t, "groups", gs, []store.ManagementGroup(nil))
			_, err = tx.GetSubscription(ctx, subID)
			wantErr(t, "GetSubscription", err, store.ErrNotFound)
			return nil
		})
	}},
}
