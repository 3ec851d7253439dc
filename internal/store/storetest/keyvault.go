package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

const testVault = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/KV1"

func vaultSecret(name, version string, created time.Time) store.VaultSecret {
	return store.VaultSecret{
		VaultID: testVault, Name: name, Version: version, SealedValue: []byte("sealed-" + version),
		ContentType: "text/plain", Enabled: true, Tags: map[string]string{"env": "test"},
		CreatedAt: created, UpdatedAt: created,
	}
}

func addSecret(t *testing.T, s store.Store, secrets ...store.VaultSecret) int64 {
	return update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, v := range secrets {
			if err := tx.AddVaultSecretVersion(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
}

var vaultSecretBehaviours = []behaviour{
	{"vault secrets/versions: the newest is current, every version readable, names case-insensitive with the first casing kept", func(t *testing.T, s store.Store) {
		before, _ := s.Revision(t.Context())
		rev := addSecret(t, s, vaultSecret("Db-Password", "v1", t0))
		if rev != before+1 {
			t.Fatalf("revision %d -> %d", before, rev)
		}
		changes, _ := s.Changes(t.Context(), before, 0)
		if len(changes) != 1 || changes[0].Kind != store.KindVaultSecret {
			t.Fatalf("changes %+v", changes)
		}
		v2 := vaultSecret("db-password", "v2", t0.Add(time.Second))
		v2.NotBefore, v2.Expires, v2.Enabled = t0, t0.Add(time.Hour), false
		addSecret(t, s, v2)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			cur, st, err := tx.GetVaultSecret(ctx, testVault, "DB-PASSWORD", "")
			if err != nil || cur.Version != "v2" || st.CurrentVersion != "v2" || st.Name != "Db-Password" || cur.Enabled || !cur.Expires.Equal(t0.Add(time.Hour)) || !cur.NotBefore.Equal(t0) {
				t.Errorf("current %+v %+v %v", cur, st, err)
			}
			old, _, err := tx.GetVaultSecret(ctx, testVault, "db-password", "v1")
			if err != nil || !bytes.Equal(old.SealedValue, []byte("sealed-v1")) || old.Tags["env"] != "test" || !old.Expires.IsZero() {
				t.Errorf("v1 %+v %v", old, err)
			}
			if _, _, err := tx.GetVaultSecret(ctx, testVault, "db-password", "v3"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("missing version: %v", err)
			}
			if _, _, err := tx.GetVaultSecret(ctx, testVault+"x", "db-password", ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("other vault: %v", err)
			}
			vs, err := tx.ListVaultSecretVersions(ctx, testVault, "db-password", "", 0)
			if err != nil || len(vs) != 2 || vs[0].Version != "v1" {
				t.Errorf("versions %+v %v", vs, err)
			}
			vs, _ = tx.ListVaultSecretVersions(ctx, testVault, "db-password", "v1", 1)
			if len(vs) != 1 || vs[0].Version != "v2" {
				t.Errorf("versions after v1 %+v", vs)
			}
			return nil
		})
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.AddVaultSecretVersion(t.Context(), vaultSecret("db-password", "v2", t0))
		})
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("a version written twice: %v", err)
		}
	}},
	{"vault secrets/attributes update in place; value and version stay", func(t *testing.T, s store.Store) {
		addSecret(t, s, vaultSecret("a", "v1", t0), vaultSecret("a", "v2", t0))
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateVaultSecret(ctx, testVault, "A", "v1", func(v store.VaultSecret) (store.VaultSecret, error) {
				v.Enabled, v.ContentType, v.Tags, v.UpdatedAt = false, "application/json", map[string]string{"k": "v"}, t0.Add(time.Minute)
				v.SealedValue = []byte("ignored")
				return v, nil
			})
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			v, _, _ := tx.GetVaultSecret(ctx, testVault, "a", "v1")
			if v.Enabled || v.ContentType != "application/json" || v.Tags["k"] != "v" || string(v.SealedValue) != "sealed-v1" || !v.UpdatedAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("updated %+v", v)
			}
			if cur, _, _ := tx.GetVaultSecret(ctx, testVault, "a", ""); !cur.Enabled {
				t.Errorf("other version changed: %+v", cur)
			}
			return nil
		})
	}},
	{"vault secrets/list pages by name, live and deleted apart; delete, recover, purge and expiry", func(t *testing.T, s store.Store) {
		for _, n := range []string{"c", "a", "B", "d"} {
			addSecret(t, s, vaultSecret(n, "v1", t0))
		}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.DeleteVaultSecret(ctx, testVault, "c", t0, t0.Add(time.Hour)); err != nil {
				return err
			}
			return tx.DeleteVaultSecret(ctx, testVault, "d", t0, time.Now().Add(-time.Minute))
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			live, _, err := tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: testVault, Limit: 1})
			if err != nil || len(live) != 1 || live[0].Name != "a" {
				t.Errorf("first page %+v %v", live, err)
			}
			live, _, _ = tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: testVault, After: "a"})
			if len(live) != 1 || live[0].Name != "B" {
				t.Errorf("second page %+v", live)
			}
			del, st, _ := tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: testVault, Deleted: true})
			if len(del) != 2 || del[0].Name != "c" || !st[0].DeletedAt.Equal(t0) || !st[0].ScheduledPurge.Equal(t0.Add(time.Hour)) {
				t.Errorf("deleted %+v %+v", del, st)
			}
			if _, err := tx.ListVaultSecretVersions(ctx, testVault, "c", "", 0); err != nil {
				t.Error(err)
			}
			return nil
		})
		_, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.AddVaultSecretVersion(t.Context(), vaultSecret("c", "v2", t0)) })
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("setting a deleted secret: %v", err)
		}
		_, err = s.Update(t.Context(), func(tx store.Tx) error {
			return tx.UpdateVaultSecret(t.Context(), testVault, "c", "", func(v store.VaultSecret) (store.VaultSecret, error) { return v, nil })
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("updating a deleted secret: %v", err)
		}
		var purged []store.VaultSecretState
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.RecoverVaultSecret(ctx, testVault, "c"); err != nil {
				return err
			}
			if err := tx.PurgeVaultSecret(ctx, testVault, "a"); err != nil {
				return err
			}
			var err error
			purged, err = tx.PurgeExpiredVaultSecrets(ctx, time.Now())
			return err
		})
		if len(purged) != 1 || purged[0].Name != "d" || purged[0].VaultID != testVault {
			t.Errorf("purged %+v expired, want d", purged)
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			live, _, _ := tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: testVault})
			if len(live) != 2 || live[0].Name != "B" || live[1].Name != "c" {
				t.Errorf("live after recover and purge %+v", live)
			}
			if del, _, _ := tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: testVault, Deleted: true}); len(del) != 0 {
				t.Errorf("deleted after purge %+v", del)
			}
			if _, _, err := tx.GetVaultSecret(ctx, testVault, "a", "v1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("purged secret's version: %v", err)
			}
			return nil
		})
		if _, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.RecoverVaultSecret(t.Context(), testVault, "c") }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("recovering a live secret: %v", err)
		}
		// A purged name starts afresh.
		addSecret(t, s, vaultSecret("a", "v9", t0))
	}},
}
