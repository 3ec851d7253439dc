package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

var metaAndKeyBehaviours = []behaviour{
	{"meta/get missing is ErrNotFound", func(t *testing.T, s store.Store) {
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetMeta(ctx, "tenant")
			wantErr(t, "GetMeta", err, store.ErrNotFound)
			return nil
		})
	}},
	{"meta/put then put again replaces the value", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutMeta(ctx, "ca", []byte{0, 1, 2, 0xff})
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutMeta(ctx, "ca", []byte{9, 0})
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetMeta(ctx, "ca")
			wantErr(t, "GetMeta", err, nil)
			wantEqual(t, "value", got, []byte{9, 0})
			return nil
		})
	}},
	{"signing keys/create, list, update and delete", func(t *testing.T, s store.Store) {
		k1 := store.SigningKey{KID: "kid-b", SealedPrivateKey: []byte("sealed-b"), CertificateDER: []byte("der-b"), CreatedAt: t0}
		k2 := store.SigningKey{KID: "kid-a", SealedPrivateKey: []byte("sealed-a"), CertificateDER: []byte("der-a"), CreatedAt: t0, ActivatedAt: t0}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create k1", tx.CreateSigningKey(ctx, k1), nil)
			wantErr(t, "create k2", tx.CreateSigningKey(ctx, k2), nil)
			wantErr(t, "create k1 again", tx.CreateSigningKey(ctx, k1), store.ErrAlreadyExists)
			return nil
		})
		activated := t0.Add(time.Hour)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateSigningKey(ctx, "kid-b", func(k store.SigningKey) (store.SigningKey, error) {
				wantEqual(t, "old key", k, k1)
				k.ActivatedAt = activated
				return k, nil
			})
		})
		k1.ActivatedAt = activated
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			keys, err := tx.ListSigningKeys(ctx)
			wantErr(t, "ListSigningKeys", err, nil)
			wantEqual(t, "keys", keys, []store.SigningKey{k2, k1})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "update missing", tx.UpdateSigningKey(ctx, "nope", func(k store.SigningKey) (store.SigningKey, error) {
				t.Fatal("fn called for a missing key")
				return k, nil
			}), store.ErrNotFound)
			wantErr(t, "delete", tx.DeleteSigningKey(ctx, "kid-a"), nil)
			wantErr(t, "delete again", tx.DeleteSigningKey(ctx, "kid-a"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			keys, err := tx.ListSigningKeys(ctx)
			wantErr(t, "ListSigningKeys", err, nil)
			wantEqual(t, "keys", keys, []store.SigningKey{k1})
			return nil
		})
	}},
	{"times round-trip in UTC to the microsecond and zero stays zero", func(t *testing.T, s store.Store) {
		cet := time.FixedZone("CET", 3600)
		precise := time.Date(2031, 12, 31, 23, 59, 59, 987654321, cet)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAgent(ctx, store.Agent{ID: "agent", CertNotAfter: precise})
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			a, err := tx.GetAgent(ctx, "agent")
			wantErr(t, "GetAgent", err, nil)
			wantEqual(t, "CertNotAfter", a.CertNotAfter, precise.UTC().Truncate(time.Microsecond))
			if a.CertNotAfter.Location() != time.UTC {
				t.Fatalf("CertNotAfter location = %v, want UTC", a.CertNotAfter.Location())
			}
			if !a.CreatedAt.IsZero() || !a.LastSeenAt.IsZero() || !a.RevokedAt.IsZero() {
				t.Fatalf("zero times came back as %v, %v, %v", a.CreatedAt, a.LastSeenAt, a.RevokedAt)
			}
			return nil
		})
	}},
}

var directoryBehaviours = []behaviour{
	{"principals/create and get by object ID and by app ID", func(t *testing.T, s store.Store) {
		p := principal("obj-1", "app-1")
		p.ResourceID = identity("Id-One").ID
		p.Kind = store.PrincipalUserAssigned
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreatePrincipal(ctx, p) })
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetPrincipal(ctx, "obj-1")
			wantErr(t, "GetPrincipal", err, nil)
			wantEqual(t, "by object ID", got, p)
			got, err = tx.GetPrincipalByAppID(ctx, "app-1")
			wantErr(t, "GetPrincipalByAppID", err, nil)
			wantEqual(t, "by app ID", got, p)
			_, err = tx.GetPrincipal(ctx, "obj-2")
			wantErr(t, "GetPrincipal missing", err, store.ErrNotFound)
			_, err = tx.GetPrincipalByAppID(ctx, "app-2")
			wantErr(t, "GetPrincipalByAppID missing", err, store.ErrNotFound)
			return nil
		})
	}},
	{"principals/duplicate object ID or app ID is ErrAlreadyExists", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreatePrincipal(ctx, principal("obj-1", "app-1"))
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "same object ID", tx.CreatePrincipal(ctx, principal("obj-1", "app-2")), store.ErrAlreadyExists)
			wantErr(t, "same app ID", tx.CreatePrincipal(ctx, principal("obj-2", "app-1")), store.ErrAlreadyExists)
			return nil
		})
	}},
	{"principals/several without an app ID (groups) coexist", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, id := range []string{"group-1", "group-2"} {
				g := principal(id, "")
				g.Kind = store.PrincipalGroup
				wantErr(t, "create "+id, tx.CreatePrincipal(ctx, g), nil)
			}
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetPrincipal(ctx, "group-2")
			wantErr(t, "GetPrincipal", err, nil)
			wantEqual(t, "app ID", got.AppID, "")
			return nil
		})
	}},
	{"principals/list filters by kind and resource ID case-insensitively", func(t *testing.T, s store.Store) {
		sp := principal("obj-1", "app-1")
		mi := principal("obj-2", "app-2")
		mi.Kind = store.PrincipalSystemAssigned
		mi.ResourceID = resource("Microsoft.Web/sites", "App").ID
		other := principal("obj-3", "app-3")
		other.Kind = store.PrincipalSystemAssigned
		other.ResourceID = resource("Microsoft.Web/sites", "App2").ID
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, p := range []store.Principal{other, mi, sp} {
				wantErr(t, "create", tx.CreatePrincipal(ctx, p), nil)
			}
			return nil
		})
		tests := []struct {
			name   string
			filter store.PrincipalFilter
			want   []store.Principal
		}{
			{"all", store.PrincipalFilter{}, []store.Principal{sp, mi, other}},
			{"kind", store.PrincipalFilter{Kind: store.PrincipalSystemAssigned}, []store.Principal{mi, other}},
			{"resource in other case", store.PrincipalFilter{ResourceID: upper(mi.ResourceID)}, []store.Principal{mi}},
			{"no match", store.PrincipalFilter{Kind: store.PrincipalGroup}, nil},
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, tc := range tests {
				got, err := tx.ListPrincipals(ctx, tc.filter)
				wantErr(t, tc.name, err, nil)
				wantEqual(t, tc.name, got, tc.want)
			}
			return nil
		})
	}},
	{"principals/update replaces fields and refuses a taken app ID", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create 1", tx.CreatePrincipal(ctx, principal("obj-1", "app-1")), nil)
			return tx.CreatePrincipal(ctx, principal("obj-2", "app-2"))
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdatePrincipal(ctx, "obj-1", func(p store.Principal) (store.Principal, error) {
				p.DisplayName = "renamed"
				return p, nil
			})
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			err := tx.UpdatePrincipal(ctx, "obj-1", func(p store.Principal) (store.Principal, error) {
				p.AppID = "app-2"
				return p, nil
			})
			wantErr(t, "take app-2", err, store.ErrAlreadyExists)
			err = tx.UpdatePrincipal(ctx, "obj-9", func(p store.Principal) (store.Principal, error) { return p, nil })
			wantErr(t, "update missing", err, store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			p, err := tx.GetPrincipal(ctx, "obj-1")
			wantErr(t, "GetPrincipal", err, nil)
			wantEqual(t, "display name", p.DisplayName, "renamed")
			wantEqual(t, "app ID", p.AppID, "app-1")
			return nil
		})
	}},
	{"principals/delete removes credentials and memberships with a change each", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, p := range []store.Principal{principal("sp", "app-sp"), principal("grp", ""), principal("other", "app-other")} {
				wantErr(t, "create", tx.CreatePrincipal(ctx, p), nil)
			}
			wantErr(t, "credential", tx.CreateCredential(ctx, store.Credential{ID: "c1", PrincipalID: "sp", Kind: store.CredentialSecret, SecretHash: []byte("h")}), nil)
			wantErr(t, "sp in grp", tx.AddGroupMember(ctx, "grp", "sp"), nil)
			wantErr(t, "other in grp", tx.AddGroupMember(ctx, "grp", "other"), nil)
			return nil
		})
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete missing", tx.DeletePrincipal(ctx, "nobody"), store.ErrNotFound)
			wantErr(t, "delete sp", tx.DeletePrincipal(ctx, "sp"), nil)
			return tx.DeletePrincipal(ctx, "grp")
		})
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindCredential, "sp/c1", store.OpDelete},
			{rev, store.KindGroupMember, "grp/sp", store.OpDelete},
			{rev, store.KindPrincipal, "sp", store.OpDelete},
			{rev, store.KindGroupMember, "grp/other", store.OpDelete},
			{rev, store.KindPrincipal, "grp", store.OpDelete},
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetPrincipal(ctx, "sp")
			wantErr(t, "GetPrincipal sp", err, store.ErrNotFound)
			groups, err := tx.ListGroupsOf(ctx, "other")
			wantErr(t, "ListGroupsOf", err, nil)
			wantEqual(t, "groups of other", groups, nil)
			return nil
		})
	}},
	{"credentials/create, list and delete", func(t *testing.T, s store.Store) {
		secret := store.Credential{ID: "c2", PrincipalID: "sp", Kind: store.CredentialSecret, SecretHash: []byte("hash"), Hint: "abc", DisplayName: "ci", CreatedAt: t0, NotAfter: t0.AddDate(1, 0, 0)}
		cert := store.Credential{ID: "c1", PrincipalID: "sp", Kind: store.CredentialCertificate, CertificateDER: []byte("der"),
			ThumbprintSHA1: []byte("sha1"), ThumbprintSHA256: []byte("sha256"), NotBefore: t0, NotAfter: t0.AddDate(0, 6, 0), CreatedAt: t0}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "no principal", tx.CreateCredential(ctx, secret), store.ErrNotFound)
			wantErr(t, "principal", tx.CreatePrincipal(ctx, principal("sp", "app")), nil)
			wantErr(t, "secret", tx.CreateCredential(ctx, secret), nil)
			wantErr(t, "cert", tx.CreateCredential(ctx, cert), nil)
			wantErr(t, "secret again", tx.CreateCredential(ctx, secret), store.ErrAlreadyExists)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListCredentials(ctx, "sp")
			wantErr(t, "ListCredentials", err, nil)
			wantEqual(t, "credentials", got, []store.Credential{cert, secret})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteCredential(ctx, "sp", "c1"), nil)
			wantErr(t, "delete again", tx.DeleteCredential(ctx, "sp", "c1"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListCredentials(ctx, "sp")
			wantErr(t, "ListCredentials", err, nil)
			wantEqual(t, "credentials", got, []store.Credential{secret})
			return nil
		})
	}},
	{"groups/add, list both ways and remove members", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, p := range []store.Principal{principal("g1", ""), principal("g2", ""), principal("m", "app-m")} {
				wantErr(t, "create", tx.CreatePrincipal(ctx, p), nil)
			}
			wantErr(t, "missing member", tx.AddGroupMember(ctx, "g1", "ghost"), store.ErrNotFound)
			wantErr(t, "missing group", tx.AddGroupMember(ctx, "ghost", "m"), store.ErrNotFound)
			wantErr(t, "m in g1", tx.AddGroupMember(ctx, "g1", "m"), nil)
			wantErr(t, "m in g2", tx.AddGroupMember(ctx, "g2", "m"), nil)
			wantErr(t, "g2 in g1", tx.AddGroupMember(ctx, "g1", "g2"), nil)
			wantErr(t, "m in g1 again", tx.AddGroupMember(ctx, "g1", "m"), store.ErrAlreadyExists)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			members, err := tx.ListGroupMembers(ctx, "g1")
			wantErr(t, "ListGroupMembers", err, nil)
			wantEqual(t, "members of g1", members, []string{"g2", "m"})
			groups, err := tx.ListGroupsOf(ctx, "m")
			wantErr(t, "ListGroupsOf", err, nil)
			wantEqual(t, "groups of m", groups, []string{"g1", "g2"})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "remove", tx.RemoveGroupMember(ctx, "g1", "m"), nil)
			wantErr(t, "remove again", tx.RemoveGroupMember(ctx, "g1", "m"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			groups, err := tx.ListGroupsOf(ctx, "m")
			wantErr(t, "ListGroupsOf", err, nil)
			wantEqual(t, "groups of m", groups, []string{"g2"})
			return nil
		})
	}},
}
