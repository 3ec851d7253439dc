package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Key Vault secrets (migration 00007). A secret is a vault_secrets row
// (current version, deletion state) with its vault_secret_versions rows;
// purging the row removes the versions by cascade.

func vaultSecretKey(vaultID, name string) string { return lower(vaultID) + "/secrets/" + lower(name) }

const vaultVersionCols = `v.version, v.sealed_value, v.content_type, v.enabled, v.not_before, v.expires, v.tags, v.created_at, v.updated_at`
const vaultStateCols = `s.vault_id, s.name, s.current_version, s.deleted_at, s.scheduled_purge`

type vaultRow struct {
	secret store.VaultSecret
	state  store.VaultSecretState
}

func scanVaultRow(row scanner) (vaultRow, error) {
	var r vaultRow
	var enabled int64
	err := row.Scan(&r.state.VaultID, &r.state.Name, &r.state.CurrentVersion, timeCol{&r.state.DeletedAt}, timeCol{&r.state.ScheduledPurge},
		&r.secret.Version, &r.secret.SealedValue, &r.secret.ContentType, &enabled, timeCol{&r.secret.NotBefore}, timeCol{&r.secret.Expires},
		jsonCol{&r.secret.Tags}, timeCol{&r.secret.CreatedAt}, timeCol{&r.secret.UpdatedAt})
	r.secret.VaultID, r.secret.Name, r.secret.Enabled = r.state.VaultID, r.state.Name, enabled != 0
	return r, err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (t *tx) AddVaultSecretVersion(ctx context.Context, s store.VaultSecret) error {
	if err := t.writable("add vault secret version"); err != nil {
		return err
	}
	vl, nl := lower(s.VaultID), lower(s.Name)
	var deletedAt timeColValue
	err := t.queryRow(ctx, `SELECT deleted_at FROM vault_secrets WHERE vault_lower = ? AND name_lower = ?`, vl, nl).Scan(timeCol{&deletedAt.t})
	switch {
	case errors.Is(mapErr(err), store.ErrNotFound):
		if _, err := t.exec(ctx, `INSERT INTO vault_secrets (vault_lower, name_lower, vault_id, name, current_version) VALUES (?, ?, ?, ?, ?)`,
			vl, nl, s.VaultID, s.Name, s.Version); err != nil {
			return fmt.Errorf("add vault secret %q: %w", s.Name, mapErr(err))
		}
	case err != nil:
		return fmt.Errorf("add vault secret %q: %w", s.Name, mapErr(err))
	case !deletedAt.t.IsZero():
		return fmt.Errorf("add vault secret %q: it is deleted and not yet purged: %w", s.Name, store.ErrAlreadyExists)
	}
	tags, err := jsonText(nonNilTags(s.Tags))
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, `INSERT INTO vault_secret_versions (vault_lower, name_lower, version, sealed_value, content_type, enabled, not_before, expires, tags, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		vl, nl, s.Version, s.SealedValue, s.ContentType, boolInt(s.Enabled), t.d.ts(s.NotBefore), t.d.ts(s.Expires), tags, t.d.ts(s.CreatedAt), t.d.ts(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("add vault secret %q: %w", s.Name, mapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("add vault secret %q version %q: %w", s.Name, s.Version, store.ErrAlreadyExists)
	}
	if _, err := t.exec(ctx, `UPDATE vault_secrets SET current_version = ? WHERE vault_lower = ? AND name_lower = ?`, s.Version, vl, nl); err != nil {
		return fmt.Errorf("add vault secret %q: %w", s.Name, mapErr(err))
	}
	t.record(store.KindVaultSecret, vaultSecretKey(s.VaultID, s.Name), store.OpPut)
	return nil
}

type timeColValue struct{ t time.Time }

func nonNilTags(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (t *tx) getVaultRow(ctx context.Context, vaultID, name, version string) (vaultRow, error) {
	q := `SELECT ` + vaultStateCols + `, ` + vaultVersionCols + ` FROM vault_secrets s JOIN vault_secret_versions v
		ON v.vault_lower = s.vault_lower AND v.name_lower = s.name_lower WHERE s.vault_lower = ? AND s.name_lower = ? AND `
	args := []any{lower(vaultID), lower(name)}
	if version == "" {
		q += `v.version = s.current_version`
	} else {
		q += `v.version = ?`
		args = append(args, version)
	}
	return get(ctx, t, scanVaultRow, q, args...)
}

func (t *tx) GetVaultSecret(ctx context.Context, vaultID, name, version string) (store.VaultSecret, store.VaultSecretState, error) {
	r, err := t.getVaultRow(ctx, vaultID, name, version)
	if err != nil {
		return store.VaultSecret{}, store.VaultSecretState{}, fmt.Errorf("get vault secret %q: %w", name, err)
	}
	return r.secret, r.state, nil
}

func (t *tx) UpdateVaultSecret(ctx context.Context, vaultID, name, version string, fn func(store.VaultSecret) (store.VaultSecret, error)) error {
	if err := t.writable("update vault secret"); err != nil {
		return err
	}
	r, err := t.getVaultRow(ctx, vaultID, name, version)
	if err == nil && !r.state.DeletedAt.IsZero() {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update vault secret %q: %w", name, err)
	}
	s, err := fn(r.secret)
	if err != nil {
		return err
	}
	tags, err := jsonText(nonNilTags(s.Tags))
	if err != nil {
		return err
	}
	err = t.change(ctx, store.KindVaultSecret, vaultSecretKey(vaultID, name), store.OpPut, `UPDATE vault_secret_versions SET
		content_type = ?, enabled = ?, not_before = ?, expires = ?, tags = ?, updated_at = ?
		WHERE vault_lower = ? AND name_lower = ? AND version = ?`,
		s.ContentType, boolInt(s.Enabled), t.d.ts(s.NotBefore), t.d.ts(s.Expires), tags, t.d.ts(s.UpdatedAt),
		lower(vaultID), lower(name), r.secret.Version)
	if err != nil {
		return fmt.Errorf("update vault secret %q: %w", name, err)
	}
	return nil
}

func (t *tx) ListVaultSecrets(ctx context.Context, f store.VaultSecretFilter) ([]store.VaultSecret, []store.VaultSecretState, error) {
	q := `SELECT ` + vaultStateCols + `, ` + vaultVersionCols + ` FROM vault_secrets s JOIN vault_secret_versions v
		ON v.vault_lower = s.vault_lower AND v.name_lower = s.name_lower AND v.version = s.current_version
		WHERE s.vault_lower = ? AND s.name_lower > ? AND s.deleted_at IS `
	if f.Deleted {
		q += `NOT NULL`
	} else {
		q += `NULL`
	}
	q += ` ORDER BY s.name_lower`
	args := []any{lower(f.VaultID), lower(f.After)}
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := list(ctx, t, scanVaultRow, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list vault secrets: %w", err)
	}
	secrets, states := make([]store.VaultSecret, len(rows)), make([]store.VaultSecretState, len(rows))
	for i, r := range rows {
		secrets[i], states[i] = r.secret, r.state
	}
	return secrets, states, nil
}

func (t *tx) ListVaultSecretVersions(ctx context.Context, vaultID, name, after string, limit int) ([]store.VaultSecret, error) {
	q := `SELECT ` + vaultStateCols + `, ` + vaultVersionCols + ` FROM vault_secrets s JOIN vault_secret_versions v
		ON v.vault_lower = s.vault_lower AND v.name_lower = s.name_lower
		WHERE s.vault_lower = ? AND s.name_lower = ? AND s.deleted_at IS NULL AND v.version > ? ORDER BY v.version`
	args := []any{lower(vaultID), lower(name), after}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := list(ctx, t, scanVaultRow, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list vault secret versions: %w", err)
	}
	out := make([]store.VaultSecret, len(rows))
	for i, r := range rows {
		out[i] = r.secret
	}
	return out, nil
}

func (t *tx) DeleteVaultSecret(ctx context.Context, vaultID, name string, deletedAt, scheduledPurge time.Time) error {
	if err := t.writable("delete vault secret"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindVaultSecret, vaultSecretKey(vaultID, name), store.OpPut,
		`UPDATE vault_secrets SET deleted_at = ?, scheduled_purge = ? WHERE vault_lower = ? AND name_lower = ? AND deleted_at IS NULL`,
		t.d.ts(deletedAt), t.d.ts(scheduledPurge), lower(vaultID), lower(name))
	if err != nil {
		return fmt.Errorf("delete vault secret %q: %w", name, err)
	}
	return nil
}

func (t *tx) RecoverVaultSecret(ctx context.Context, vaultID, name string) error {
	if err := t.writable("recover vault secret"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindVaultSecret, vaultSecretKey(vaultID, name), store.OpPut,
		`UPDATE vault_secrets SET deleted_at = NULL, scheduled_purge = NULL WHERE vault_lower = ? AND name_lower = ? AND deleted_at IS NOT NULL`,
		lower(vaultID), lower(name))
	if err != nil {
		return fmt.Errorf("recover vault secret %q: %w", name, err)
	}
	return nil
}

func (t *tx) PurgeVaultSecret(ctx context.Context, vaultID, name string) error {
	if err := t.writable("purge vault secret"); err != nil {
		return err
	}
	// Versions first: the cascade is declared, but PostgreSQL and SQLite
	// then agree without relying on it.
	if _, err := t.exec(ctx, `DELETE FROM vault_secret_versions WHERE vault_lower = ? AND name_lower = ?`, lower(vaultID), lower(name)); err != nil {
		return fmt.Errorf("purge vault secret %q: %w", name, mapErr(err))
	}
	err := t.change(ctx, store.KindVaultSecret, vaultSecretKey(vaultID, name), store.OpDelete,
		`DELETE FROM vault_secrets WHERE vault_lower = ? AND name_lower = ?`, lower(vaultID), lower(name))
	if err != nil {
		return fmt.Errorf("purge vault secret %q: %w", name, err)
	}
	return nil
}

func (t *tx) PurgeExpiredVaultSecrets(ctx context.Context, now time.Time) ([]store.VaultSecretState, error) {
	if err := t.writable("purge expired vault secrets"); err != nil {
		return nil, err
	}
	due, err := list(ctx, t, func(row scanner) (store.VaultSecretState, error) {
		var s store.VaultSecretState
		err := row.Scan(&s.VaultID, &s.Name, &s.CurrentVersion, timeCol{&s.DeletedAt}, timeCol{&s.ScheduledPurge})
		return s, err
	}, `SELECT vault_id, name, current_version, deleted_at, scheduled_purge FROM vault_secrets
		WHERE scheduled_purge IS NOT NULL AND scheduled_purge < ? ORDER BY vault_lower, name_lower`, t.d.ts(now))
	if err != nil {
		return nil, fmt.Errorf("purge expired vault secrets: %w", err)
	}
	for _, d := range due {
		if err := t.PurgeVaultSecret(ctx, d.VaultID, d.Name); err != nil {
			return nil, err
		}
	}
	return due, nil
}
