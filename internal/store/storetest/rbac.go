package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

const (
	readerRole      = "ACDD72A7-3385-48EF-BD42-F606FBA81AE7"
	contributorRole = "b24988ac-6180-42a0-ab88-20f7382dd24c"
)

var rbacBehaviours = []behaviour{
	{"role definitions/put, get in any case, list, replace and delete", func(t *testing.T, s store.Store) {
		reader := store.RoleDefinition{
			ID: readerRole, RoleName: "Reader", Description: "View all resources", RoleType: "BuiltInRole",
			Permissions: []store.Permission{
				{Actions: []string{"*/read"}},
				{DataActions: []string{"Microsoft.Storage/*/read"}, NotDataActions: []string{"Microsoft.Storage/x/read"}, NotActions: []string{}},
			},
			AssignableScopes: []string{"/"}, Scope: "/", CreatedAt: t0, UpdatedAt: t0, CreatedBy: "system", UpdatedBy: "system",
		}
		custom := store.RoleDefinition{ID: contributorRole, RoleName: "Custom", RoleType: "CustomRole",
			AssignableScopes: []string{"/subscriptions/" + subID}, Scope: "/subscriptions/" + subID}
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			if created, err = tx.PutRoleDefinition(ctx, reader); err != nil {
				return err
			}
			_, err = tx.PutRoleDefinition(ctx, custom)
			return err
		})
		wantEqual(t, "created", created, true)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRoleDefinition(ctx, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
			wantErr(t, "GetRoleDefinition", err, nil)
			wantEqual(t, "role", got, reader)
			all, err := tx.ListRoleDefinitions(ctx)
			wantErr(t, "ListRoleDefinitions", err, nil)
			wantEqual(t, "roles", all, []store.RoleDefinition{reader, custom})
			return nil
		})

		later := t0.Add(time.Hour)
		replacement := custom
		replacement.ID = "B24988AC-6180-42A0-AB88-20F7382DD24C"
		replacement.Description = "changed"
		replacement.Permissions = []store.Permission{{Actions: []string{"*"}}}
		replacement.CreatedAt, replacement.UpdatedAt, replacement.CreatedBy, replacement.UpdatedBy = later, later, "intruder", "editor"
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutRoleDefinition(ctx, replacement)
			return err
		})
		wantEqual(t, "created on replace", created, false)
		want := replacement
		want.ID, want.CreatedAt, want.CreatedBy = custom.ID, custom.CreatedAt, custom.CreatedBy
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRoleDefinition(ctx, contributorRole)
			wantErr(t, "GetRoleDefinition", err, nil)
			wantEqual(t, "replaced role", got, want)
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteRoleDefinition(ctx, upper(contributorRole)), nil)
			wantErr(t, "delete again", tx.DeleteRoleDefinition(ctx, contributorRole), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetRoleDefinition(ctx, contributorRole)
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
	{"role assignments/create, get in any case, refuse duplicates and delete", func(t *testing.T, s store.Store) {
		a := roleAssignment("Assignment-1", rgID, readerRole, "p1")
		a.Description, a.Condition, a.ConditionVersion = "why", "@Resource[x] == 'y'", "2.0"
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create", tx.CreateRoleAssignment(ctx, a), nil)
			wantErr(t, "same name in other case", tx.CreateRoleAssignment(ctx, roleAssignment("ASSIGNMENT-1", "/", contributorRole, "p2")), store.ErrAlreadyExists)
			wantErr(t, "same grant in other case", tx.CreateRoleAssignment(ctx, roleAssignment("assignment-2", upper(rgID), upper(readerRole), "p1")), store.ErrAlreadyExists)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRoleAssignment(ctx, "assignment-1")
			wantErr(t, "GetRoleAssignment", err, nil)
			wantEqual(t, "assignment", got, a)
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteRoleAssignment(ctx, "ASSIGNMENT-1"), nil)
			wantErr(t, "delete again", tx.DeleteRoleAssignment(ctx, "assignment-1"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetRoleAssignment(ctx, "assignment-1")
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
	{"role assignments/list filters, scope prefix at segment boundaries", func(t *testing.T, s store.Store) {
		assignments := []store.RoleAssignment{
			roleAssignment("a-root", "/", readerRole, "p1"),
			roleAssignment("b-sub", "/subscriptions/a", readerRole, "p2"),
			roleAssignment("c-rg", "/subscriptions/A/resourceGroups/RG", contributorRole, "p1"),
			roleAssignment("d-sibling", "/subscriptions/ab", readerRole, "p1"),
			roleAssignment("e-sibling-rg", "/subscriptions/ab/resourceGroups/rg", contributorRole, "p2"),
		}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, a := range assignments {
				if err := tx.CreateRoleAssignment(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
		tests := []struct {
			name   string
			filter store.RoleAssignmentFilter
			want   []string
		}{
			{"all", store.RoleAssignmentFilter{}, []string{"a-root", "b-sub", "c-rg", "d-sibling", "e-sibling-rg"}},
			{"root prefix matches everything", store.RoleAssignmentFilter{ScopePrefix: "/"}, []string{"a-root", "b-sub", "c-rg", "d-sibling", "e-sibling-rg"}},
			{"prefix stops at the segment boundary", store.RoleAssignmentFilter{ScopePrefix: "/SUBSCRIPTIONS/a"}, []string{"b-sub", "c-rg"}},
			{"prefix with trailing slash", store.RoleAssignmentFilter{ScopePrefix: "/subscriptions/a/"}, []string{"b-sub", "c-rg"}},
			{"prefix of a leaf scope", store.RoleAssignmentFilter{ScopePrefix: "/subscriptions/a/resourcegroups/rg"}, []string{"c-rg"}},
			{"exact scope", store.RoleAssignmentFilter{Scope: "/subscriptions/AB"}, []string{"d-sibling"}},
			{"principal", store.RoleAssignmentFilter{PrincipalID: "p2"}, []string{"b-sub", "e-sibling-rg"}},
			{"role in other case", store.RoleAssignmentFilter{RoleDefinitionID: upper(contributorRole)}, []string{"c-rg", "e-sibling-rg"}},
			{"combined", store.RoleAssignmentFilter{PrincipalID: "p1", ScopePrefix: "/subscriptions/ab"}, []string{"d-sibling"}},
			{"no match", store.RoleAssignmentFilter{PrincipalID: "p3"}, nil},
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, tc := range tests {
				as, err := tx.ListRoleAssignments(ctx, tc.filter)
				wantErr(t, tc.name, err, nil)
				var names []string
				for _, a := range as {
					names = append(names, a.Name)
				}
				wantEqual(t, tc.name, names, tc.want)
			}
			return nil
		})
	}},
}
