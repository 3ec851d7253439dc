package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// graphBehaviours pin the directory objects Microsoft Graph serves beyond
// principals: applications with the credentials they carry, group owners
// and directory role assignments.
var graphBehaviours = []behaviour{
	{"applications/create, get by both IDs, list, update with credentials and delete", func(t *testing.T, s store.Store) {
		app := store.Application{ObjectID: "app-obj-b", AppID: "app-id", DisplayName: "billing", Document: []byte(`{"signInAudience":"AzureADMyOrg"}`),
			CreatedAt: t0, UpdatedAt: t0}
		other := store.Application{ObjectID: "app-obj-a", AppID: "app-id-2", DisplayName: "other", CreatedAt: t0, UpdatedAt: t0}
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create", tx.CreateApplication(ctx, app), nil)
			wantErr(t, "create other", tx.CreateApplication(ctx, other), nil)
			wantErr(t, "same object ID", tx.CreateApplication(ctx, store.Application{ObjectID: "app-obj-b", AppID: "fresh"}), store.ErrAlreadyExists)
			wantErr(t, "same app ID", tx.CreateApplication(ctx, store.Application{ObjectID: "fresh", AppID: "app-id"}), store.ErrAlreadyExists)
			return nil
		})
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindApplication, "app-obj-b", store.OpPut},
			{rev, store.KindApplication, "app-obj-a", store.OpPut},
		})
		secret := store.Credential{ID: "k1", PrincipalID: "app-obj-b", Kind: store.CredentialSecret, SecretHash: []byte{0, 1, 0xff},
			Hint: "kls~abc", DisplayName: "ci", NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0), CreatedAt: t0}
		cert := store.Credential{ID: "k2", PrincipalID: "app-obj-b", Kind: store.CredentialCertificate, CertificateDER: []byte("der"),
			ThumbprintSHA1: []byte("sha1"), ThumbprintSHA256: []byte("sha256"), NotBefore: t0, CreatedAt: t0}
		fic := store.ApplicationFederatedCredential{ID: "f1", Name: "github", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:o/r:ref:refs/heads/main", Description: "main branch", Audiences: []string{"api://AzureADTokenExchange"}}
		before = revision(t, s)
		rev = update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateApplication(ctx, "app-obj-b", func(a store.Application) (store.Application, error) {
				wantEqual(t, "old application", a, app)
				a.DisplayName = "billing-api"
				a.Credentials = []store.Credential{secret, cert}
				a.FederatedCredentials = []store.ApplicationFederatedCredential{fic}
				a.UpdatedAt = t0.Add(time.Second)
				return a, nil
			})
		})
		wantEqual(t, "update changes", stripTimes(changes(t, s, before)), []change{{rev, store.KindApplication, "app-obj-b", store.OpPut}})
		app.DisplayName, app.Credentials, app.FederatedCredentials = "billing-api", []store.Credential{secret, cert}, []store.ApplicationFederatedCredential{fic}
		app.UpdatedAt = t0.Add(time.Second)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetApplication(ctx, "app-obj-b")
			wantErr(t, "GetApplication", err, nil)
			wantEqual(t, "application", got, app)
			got, err = tx.GetApplicationByAppID(ctx, "app-id")
			wantErr(t, "GetApplicationByAppID", err, nil)
			wantEqual(t, "application by app ID", got, app)
			_, err = tx.GetApplication(ctx, "nope")
			wantErr(t, "get missing", err, store.ErrNotFound)
			_, err = tx.GetApplicationByAppID(ctx, "nope")
			wantErr(t, "get missing by app ID", err, store.ErrNotFound)
			all, err := tx.ListApplications(ctx)
			wantErr(t, "ListApplications", err, nil)
			wantEqual(t, "applications", all, []store.Application{other, app})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			err := tx.UpdateApplication(ctx, "app-obj-b", func(a store.Application) (store.Application, error) {
				a.AppID = "changed"
				return a, nil
			})
			if err == nil {
				t.Error("UpdateApplication changed the app ID")
			}
			wantErr(t, "update missing", tx.UpdateApplication(ctx, "nope", func(a store.Application) (store.Application, error) {
				t.Fatal("fn called for a missing application")
				return a, nil
			}), store.ErrNotFound)
			wantErr(t, "delete", tx.DeleteApplication(ctx, "app-obj-b"), nil)
			wantErr(t, "delete again", tx.DeleteApplication(ctx, "app-obj-b"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			all, err := tx.ListApplications(ctx)
			wantErr(t, "ListApplications", err, nil)
			wantEqual(t, "applications after delete", all, []store.Application{other})
			return nil
		})
	}},
	{"applications/an application and its service principal share the app ID", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "application", tx.CreateApplication(ctx, store.Application{ObjectID: "app-obj", AppID: "shared", DisplayName: "a"}), nil)
			wantErr(t, "service principal", tx.CreatePrincipal(ctx, principal("sp-obj", "shared")), nil)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			p, err := tx.GetPrincipalByAppID(ctx, "shared")
			wantErr(t, "GetPrincipalByAppID", err, nil)
			wantEqual(t, "principal", p.ObjectID, "sp-obj")
			a, err := tx.GetApplicationByAppID(ctx, "shared")
			wantErr(t, "GetApplicationByAppID", err, nil)
			wantEqual(t, "application", a.ObjectID, "app-obj")
			return nil
		})
	}},
	{"group owners/add, list and remove; deleting the owner removes the ownership", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, p := range []store.Principal{principal("g", ""), principal("o1", "app-o1"), principal("o2", "app-o2")} {
				wantErr(t, "create", tx.CreatePrincipal(ctx, p), nil)
			}
			wantErr(t, "missing owner", tx.AddGroupOwner(ctx, "g", "ghost"), store.ErrNotFound)
			wantErr(t, "missing group", tx.AddGroupOwner(ctx, "ghost", "o1"), store.ErrNotFound)
			wantErr(t, "o2", tx.AddGroupOwner(ctx, "g", "o2"), nil)
			wantErr(t, "o1", tx.AddGroupOwner(ctx, "g", "o1"), nil)
			wantErr(t, "o1 again", tx.AddGroupOwner(ctx, "g", "o1"), store.ErrAlreadyExists)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			owners, err := tx.ListGroupOwners(ctx, "g")
			wantErr(t, "ListGroupOwners", err, nil)
			wantEqual(t, "owners", owners, []string{"o1", "o2"})
			members, err := tx.ListGroupMembers(ctx, "g")
			wantErr(t, "ListGroupMembers", err, nil)
			wantEqual(t, "owners are not members", members, nil)
			return nil
		})
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "remove o2", tx.RemoveGroupOwner(ctx, "g", "o2"), nil)
			wantErr(t, "remove o2 again", tx.RemoveGroupOwner(ctx, "g", "o2"), store.ErrNotFound)
			return tx.DeletePrincipal(ctx, "o1")
		})
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindGroupOwner, "g/o2", store.OpDelete},
			{rev, store.KindGroupOwner, "g/o1", store.OpDelete},
			{rev, store.KindPrincipal, "o1", store.OpDelete},
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			owners, err := tx.ListGroupOwners(ctx, "g")
			wantErr(t, "ListGroupOwners", err, nil)
			wantEqual(t, "owners after", owners, nil)
			return nil
		})
	}},
	{"directory role assignments/create, filter, refuse duplicates and go with the principal", func(t *testing.T, s store.Store) {
		a1 := store.DirectoryRoleAssignment{ID: "ra-2", RoleDefinitionID: "role-ga", PrincipalID: "sp", DirectoryScopeID: "/", CreatedAt: t0}
		a2 := store.DirectoryRoleAssignment{ID: "ra-1", RoleDefinitionID: "role-aa", PrincipalID: "sp", DirectoryScopeID: "/", CreatedAt: t0}
		a3 := store.DirectoryRoleAssignment{ID: "ra-3", RoleDefinitionID: "role-aa", PrincipalID: "other", DirectoryScopeID: "/", CreatedAt: t0}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "no principal", tx.CreateDirectoryRoleAssignment(ctx, a1), store.ErrNotFound)
			wantErr(t, "sp", tx.CreatePrincipal(ctx, principal("sp", "app-sp")), nil)
			wantErr(t, "other", tx.CreatePrincipal(ctx, principal("other", "app-other")), nil)
			for _, a := range []store.DirectoryRoleAssignment{a1, a2, a3} {
				wantErr(t, "create "+a.ID, tx.CreateDirectoryRoleAssignment(ctx, a), nil)
			}
			wantErr(t, "same ID", tx.CreateDirectoryRoleAssignment(ctx, store.DirectoryRoleAssignment{ID: "ra-1", RoleDefinitionID: "x", PrincipalID: "sp", DirectoryScopeID: "/"}), store.ErrAlreadyExists)
			wantErr(t, "same role twice", tx.CreateDirectoryRoleAssignment(ctx, store.DirectoryRoleAssignment{ID: "ra-9", RoleDefinitionID: "role-ga", PrincipalID: "sp", DirectoryScopeID: "/"}), store.ErrAlreadyExists)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetDirectoryRoleAssignment(ctx, "ra-2")
			wantErr(t, "Get", err, nil)
			wantEqual(t, "assignment", got, a1)
			_, err = tx.GetDirectoryRoleAssignment(ctx, "nope")
			wantErr(t, "get missing", err, store.ErrNotFound)
			all, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{})
			wantErr(t, "List", err, nil)
			wantEqual(t, "all", all, []store.DirectoryRoleAssignment{a2, a1, a3})
			bySP, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{PrincipalID: "sp"})
			wantErr(t, "List by principal", err, nil)
			wantEqual(t, "by principal", bySP, []store.DirectoryRoleAssignment{a2, a1})
			byRole, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{RoleDefinitionID: "role-aa"})
			wantErr(t, "List by role", err, nil)
			wantEqual(t, "by role", byRole, []store.DirectoryRoleAssignment{a2, a3})
			return nil
		})
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete ra-3", tx.DeleteDirectoryRoleAssignment(ctx, "ra-3"), nil)
			wantErr(t, "delete ra-3 again", tx.DeleteDirectoryRoleAssignment(ctx, "ra-3"), store.ErrNotFound)
			return tx.DeletePrincipal(ctx, "sp")
		})
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindDirectoryRoleAssignment, "ra-3", store.OpDelete},
			{rev, store.KindDirectoryRoleAssignment, "ra-1", store.OpDelete},
			{rev, store.KindDirectoryRoleAssignment, "ra-2", store.OpDelete},
			{rev, store.KindPrincipal, "sp", store.OpDelete},
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			all, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{})
			wantErr(t, "List", err, nil)
			wantEqual(t, "after", all, nil)
			return nil
		})
	}},
}
