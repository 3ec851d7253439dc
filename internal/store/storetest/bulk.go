package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// The streaming reads the indexes load from at start.
var bulkBehaviours = []behaviour{
	{"EachAssignmentGrant and EachPrincipal stream every row, and an error from fn stops the read", func(t *testing.T, s store.Store) {
		const n = 1200 // past any page a backend might read in
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for i := range n {
				oid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
				if err := tx.CreatePrincipal(ctx, principal(oid, fmt.Sprintf("10000000-0000-4000-8000-%012d", i))); err != nil {
					return err
				}
				a := roleAssignment(fmt.Sprintf("20000000-0000-4000-8000-%012d", i), fmt.Sprintf("/subscriptions/%s/resourceGroups/RG%d", subID, i%7), readerRole, oid)
				if err := tx.CreateRoleAssignment(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			want, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{})
			wantErr(t, "ListRoleAssignments", err, nil)
			var wantGrants, got []store.AssignmentGrant
			for _, a := range want {
				wantGrants = append(wantGrants, store.AssignmentGrant{Name: a.Name, Scope: a.Scope, RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID})
			}
			wantErr(t, "EachAssignmentGrant", tx.EachAssignmentGrant(ctx, func(g store.AssignmentGrant) error {
				got = append(got, g)
				return nil
			}), nil)
			byName := func(a, b store.AssignmentGrant) int { return strings.Compare(a.Name, b.Name) }
			slices.SortFunc(got, byName)
			slices.SortFunc(wantGrants, byName)
			wantEqual(t, "grants", got, wantGrants)

			wantPrincipals, err := tx.ListPrincipals(ctx, store.PrincipalFilter{})
			wantErr(t, "ListPrincipals", err, nil)
			var principals []store.Principal
			wantErr(t, "EachPrincipal", tx.EachPrincipal(ctx, func(p store.Principal) error {
				principals = append(principals, p)
				return nil
			}), nil)
			slices.SortFunc(principals, func(a, b store.Principal) int { return strings.Compare(a.ObjectID, b.ObjectID) })
			wantEqual(t, "principals", principals, wantPrincipals)

			stop := errors.New("enough")
			calls := 0
			err = tx.EachAssignmentGrant(ctx, func(store.AssignmentGrant) error {
				if calls++; calls == 3 {
					return stop
				}
				return nil
			})
			wantErr(t, "EachAssignmentGrant stopped", err, stop)
			wantEqual(t, "calls after the stop", calls, 3)
			calls = 0
			err = tx.EachPrincipal(ctx, func(store.Principal) error { calls++; return stop })
			wantErr(t, "EachPrincipal stopped", err, stop)
			wantEqual(t, "calls after the stop", calls, 1)
			// The transaction is still usable after a stopped read.
			_, err = tx.GetRoleAssignment(ctx, want[0].Name)
			wantErr(t, "GetRoleAssignment after a stopped read", err, nil)
			return nil
		})
	}}, {"EachAttachment streams every identity attachment with its holder's type, and follows replacements and deletes", func(t *testing.T, s store.Store) {
		u1, u2 := resource(identityType, "uami-one"), resource(identityType, "uami-two")
		vm, app, bare := resource("Microsoft.Compute/virtualMachines", "vm1"), resource("Microsoft.Web/sites", "app1"), resource("Microsoft.Web/sites", "bare")
		vm.UserAssignedIdentities = []string{u1.ID, u2.ID}
		app.UserAssignedIdentities = []string{upper(u1.ID)}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, r := range []store.Resource{u1, u2, vm, app, bare} {
				if _, err := tx.PutResource(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		read := func() []store.Attachment {
			var got []store.Attachment
			view(t, s, func(ctx context.Context, tx store.Tx) error {
				wantErr(t, "EachAttachment", tx.EachAttachment(ctx, func(a store.Attachment) error {
					got = append(got, a)
					return nil
				}), nil)
				return nil
			})
			slices.SortFunc(got, func(a, b store.Attachment) int {
				return strings.Compare(strings.ToLower(a.ResourceID+" "+a.IdentityID), strings.ToLower(b.ResourceID+" "+b.IdentityID))
			})
			return got
		}
		wantEqual(t, "attachments", read(), []store.Attachment{
			{ResourceID: vm.ID, ResourceType: "Microsoft.Compute/virtualMachines", IdentityID: u1.ID},
			{ResourceID: vm.ID, ResourceType: "Microsoft.Compute/virtualMachines", IdentityID: u2.ID},
			{ResourceID: app.ID, ResourceType: "Microsoft.Web/sites", IdentityID: upper(u1.ID)},
		})
		vm.UserAssignedIdentities = []string{u2.ID}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.PutResource(ctx, vm); err != nil {
				return err
			}
			return tx.DeleteResource(ctx, app.ID)
		})
		wantEqual(t, "attachments after a detach and a delete", read(), []store.Attachment{
			{ResourceID: vm.ID, ResourceType: "Microsoft.Compute/virtualMachines", IdentityID: u2.ID},
		})
		stop := errors.New("enough")
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "EachAttachment stopped", tx.EachAttachment(ctx, func(store.Attachment) error { return stop }), stop)
			return nil
		})
	}},
}
