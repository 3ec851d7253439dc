package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyless-io/keyless/internal/store"
)

// Meta, signing keys and the directory: principals, their credentials and
// group memberships. Directory object IDs are GUIDs keyless generates and
// are matched exactly.

func (t *tx) GetMeta(ctx context.Context, key string) ([]byte, error) {
	var value []byte
	if err := t.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&value); err != nil {
		return nil, fmt.Errorf("get meta %q: %w", key, mapErr(err))
	}
	return value, nil
}

func (t *tx) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := t.writable("put meta"); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	t.record(store.KindMeta, key, store.OpPut)
	return nil
}

const signingKeyCols = `kid, sealed_private_key, certificate_der, created_at, activated_at, retired_at`

func scanSigningKey(row scanner) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.KID, &k.SealedPrivateKey, &k.CertificateDER,
		timeCol{&k.CreatedAt}, timeCol{&k.ActivatedAt}, timeCol{&k.RetiredAt})
	return k, err
}

func (t *tx) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	if err := t.writable("create signing key"); err != nil {
		return err
	}
	err := t.insert(ctx, store.KindSigningKey, k.KID, `INSERT INTO signing_keys (`+signingKeyCols+`)
		VALUES (?, ?, ?, ?, ?, ?)`,
		k.KID, k.SealedPrivateKey, k.CertificateDER, t.d.ts(k.CreatedAt), t.d.ts(k.ActivatedAt), t.d.ts(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("create signing key %q: %w", k.KID, err)
	}
	return nil
}

func (t *tx) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	keys, err := list(ctx, t, scanSigningKey, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY kid`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return keys, nil
}

func (t *tx) UpdateSigningKey(ctx context.Context, kid string, fn func(store.SigningKey) (store.SigningKey, error)) error {
	if err := t.writable("update signing key"); err != nil {
		return err
	}
	old, err := get(ctx, t, scanSigningKey, `SELECT `+signingKeyCols+` FROM signing_keys WHERE kid = ?`, kid)
	if err != nil {
		return fmt.Errorf("update signing key %q: %w", kid, err)
	}
	k, err := fn(old)
	if err != nil {
		return err
	}
	if k.KID != old.KID {
		return fmt.Errorf("update signing key %q: the key ID cannot change (got %q)", kid, k.KID)
	}
	err = t.change(ctx, store.KindSigningKey, kid, store.OpPut, `UPDATE signing_keys SET
		sealed_private_key = ?, certificate_der = ?, created_at = ?, activated_at = ?, retired_at = ?
		WHERE kid = ?`,
		k.SealedPrivateKey, k.CertificateDER, t.d.ts(k.CreatedAt), t.d.ts(k.ActivatedAt), t.d.ts(k.RetiredAt), kid)
	if err != nil {
		return fmt.Errorf("update signing key %q: %w", kid, err)
	}
	return nil
}

func (t *tx) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := t.writable("delete signing key"); err != nil {
		return err
	}
	if err := t.change(ctx, store.KindSigningKey, kid, store.OpDelete, `DELETE FROM signing_keys WHERE kid = ?`, kid); err != nil {
		return fmt.Errorf("delete signing key %q: %w", kid, err)
	}
	return nil
}

const principalCols = `object_id, app_id, display_name, kind, resource_id, created_at`

func scanPrincipal(row scanner) (store.Principal, error) {
	var p store.Principal
	err := row.Scan(&p.ObjectID, nullString{&p.AppID}, &p.DisplayName, &p.Kind, &p.ResourceID, timeCol{&p.CreatedAt})
	return p, err
}

// CreatePrincipal fails with ErrAlreadyExists when the object ID or the
// (non-empty) application ID is taken.
func (t *tx) CreatePrincipal(ctx context.Context, p store.Principal) error {
	if err := t.writable("create principal"); err != nil {
		return err
	}
	err := t.insert(ctx, store.KindPrincipal, p.ObjectID, `INSERT INTO principals
		(object_id, app_id, display_name, kind, resource_id, resource_id_lower, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.ObjectID, nullIfEmpty(p.AppID), p.DisplayName, string(p.Kind), p.ResourceID, lower(p.ResourceID), t.d.ts(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("create principal %q (app %q): %w", p.ObjectID, p.AppID, err)
	}
	return nil
}

func (t *tx) GetPrincipal(ctx context.Context, objectID string) (store.Principal, error) {
	p, err := get(ctx, t, scanPrincipal, `SELECT `+principalCols+` FROM principals WHERE object_id = ?`, objectID)
	if err != nil {
		return store.Principal{}, fmt.Errorf("get principal %q: %w", objectID, err)
	}
	return p, nil
}

func (t *tx) GetPrincipalByAppID(ctx context.Context, appID string) (store.Principal, error) {
	p, err := get(ctx, t, scanPrincipal, `SELECT `+principalCols+` FROM principals WHERE app_id = ?`, appID)
	if err != nil {
		return store.Principal{}, fmt.Errorf("get principal by app ID %q: %w", appID, err)
	}
	return p, nil
}

func (t *tx) ListPrincipals(ctx context.Context, f store.PrincipalFilter) ([]store.Principal, error) {
	var w where
	if f.Kind != "" {
		w.add(`kind = ?`, string(f.Kind))
	}
	if f.ResourceID != "" {
		w.add(`resource_id_lower = ?`, lower(f.ResourceID))
	}
	ps, err := list(ctx, t, scanPrincipal, `SELECT `+principalCols+` FROM principals`+w.sql()+` ORDER BY object_id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list principals: %w", err)
	}
	return ps, nil
}

func (t *tx) EachPrincipal(ctx context.Context, fn func(store.Principal) error) error {
	if err := each(ctx, t, scanPrincipal, fn, `SELECT `+principalCols+` FROM principals`); err != nil {
		return fmt.Errorf("read principals: %w", err)
	}
	return nil
}

func (t *tx) UpdatePrincipal(ctx context.Context, objectID string, fn func(store.Principal) (store.Principal, error)) error {
	if err := t.writable("update principal"); err != nil {
		return err
	}
	old, err := t.GetPrincipal(ctx, objectID)
	if err != nil {
		return fmt.Errorf("update principal: %w", err)
	}
	p, err := fn(old)
	if err != nil {
		return err
	}
	if p.ObjectID != old.ObjectID {
		return fmt.Errorf("update principal %q: the object ID cannot change (got %q)", objectID, p.ObjectID)
	}
	if p.AppID != old.AppID && p.AppID != "" {
		// Checked first: a unique violation would abort a PostgreSQL
		// transaction.
		taken, err := t.exists(ctx, `SELECT 1 FROM principals WHERE app_id = ?`, p.AppID)
		if err != nil {
			return fmt.Errorf("update principal %q: %w", objectID, err)
		}
		if taken {
			return fmt.Errorf("update principal %q: app ID %q: %w", objectID, p.AppID, store.ErrAlreadyExists)
		}
	}
	err = t.change(ctx, store.KindPrincipal, objectID, store.OpPut, `UPDATE principals SET
		app_id = ?, display_name = ?, kind = ?, resource_id = ?, resource_id_lower = ?, created_at = ?
		WHERE object_id = ?`,
		nullIfEmpty(p.AppID), p.DisplayName, string(p.Kind), p.ResourceID, lower(p.ResourceID), t.d.ts(p.CreatedAt), objectID)
	if err != nil {
		return fmt.Errorf("update principal %q: %w", objectID, err)
	}
	return nil
}

// DeletePrincipal removes the principal, its credentials, its group
// memberships and ownerships (as member or owner and as group) and its
// directory role assignments, recording a change for each.
func (t *tx) DeletePrincipal(ctx context.Context, objectID string) error {
	if err := t.writable("delete principal"); err != nil {
		return err
	}
	found, err := t.exists(ctx, `SELECT 1 FROM principals WHERE object_id = ?`, objectID)
	if err != nil {
		return fmt.Errorf("delete principal %q: %w", objectID, err)
	}
	if !found {
		return fmt.Errorf("delete principal %q: %w", objectID, store.ErrNotFound)
	}
	creds, err := t.ListCredentials(ctx, objectID)
	if err != nil {
		return fmt.Errorf("delete principal %q: %w", objectID, err)
	}
	for _, c := range creds {
		if err := t.DeleteCredential(ctx, c.PrincipalID, c.ID); err != nil {
			return fmt.Errorf("delete principal %q: %w", objectID, err)
		}
	}
	members, err := list(ctx, t, scanMembership, `SELECT group_id, member_id FROM group_members
		WHERE group_id = ? OR member_id = ? ORDER BY group_id, member_id`, objectID, objectID)
	if err != nil {
		return fmt.Errorf("delete principal %q: %w", objectID, err)
	}
	for _, m := range members {
		if err := t.RemoveGroupMember(ctx, m.groupID, m.memberID); err != nil {
			return fmt.Errorf("delete principal %q: %w", objectID, err)
		}
	}
	if err := t.deleteGraphLinks(ctx, objectID); err != nil {
		return fmt.Errorf("delete principal %q: %w", objectID, err)
	}
	err = t.change(ctx, store.KindPrincipal, objectID, store.OpDelete, `DELETE FROM principals WHERE object_id = ?`, objectID)
	if err != nil {
		return fmt.Errorf("delete principal %q: %w", objectID, err)
	}
	return nil
}

const credentialCols = `principal_id, id, kind, secret_hash, hint, certificate_der,
	thumbprint_sha1, thumbprint_sha256, not_before, not_after, created_at, display_name`

func scanCredential(row scanner) (store.Credential, error) {
	var c store.Credential
	err := row.Scan(&c.PrincipalID, &c.ID, &c.Kind, &c.SecretHash, &c.Hint, &c.CertificateDER,
		&c.ThumbprintSHA1, &c.ThumbprintSHA256, timeCol{&c.NotBefore}, timeCol{&c.NotAfter}, timeCol{&c.CreatedAt}, &c.DisplayName)
	return c, err
}

// credentialKey is the change-feed key of a credential.
func credentialKey(principalID, credentialID string) string {
	return principalID + "/" + credentialID
}

// CreateCredential fails with ErrNotFound when the principal does not exist.
func (t *tx) CreateCredential(ctx context.Context, c store.Credential) error {
	if err := t.writable("create credential"); err != nil {
		return err
	}
	// Checked first: a foreign-key violation would abort a PostgreSQL
	// transaction.
	found, err := t.exists(ctx, `SELECT 1 FROM principals WHERE object_id = ?`, c.PrincipalID)
	if err != nil {
		return fmt.Errorf("create credential %q: %w", c.ID, err)
	}
	if !found {
		return fmt.Errorf("create credential %q: principal %q: %w", c.ID, c.PrincipalID, store.ErrNotFound)
	}
	err = t.insert(ctx, store.KindCredential, credentialKey(c.PrincipalID, c.ID), `INSERT INTO credentials (`+credentialCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.PrincipalID, c.ID, string(c.Kind), c.SecretHash, c.Hint, c.CertificateDER,
		c.ThumbprintSHA1, c.ThumbprintSHA256, t.d.ts(c.NotBefore), t.d.ts(c.NotAfter), t.d.ts(c.CreatedAt), c.DisplayName)
	if err != nil {
		return fmt.Errorf("create credential %q of principal %q: %w", c.ID, c.PrincipalID, err)
	}
	return nil
}

func (t *tx) ListCredentials(ctx context.Context, principalID string) ([]store.Credential, error) {
	cs, err := list(ctx, t, scanCredential, `SELECT `+credentialCols+` FROM credentials WHERE principal_id = ? ORDER BY id`, principalID)
	if err != nil {
		return nil, fmt.Errorf("list credentials of principal %q: %w", principalID, err)
	}
	return cs, nil
}

func (t *tx) DeleteCredential(ctx context.Context, principalID, credentialID string) error {
	if err := t.writable("delete credential"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindCredential, credentialKey(principalID, credentialID), store.OpDelete,
		`DELETE FROM credentials WHERE principal_id = ? AND id = ?`, principalID, credentialID)
	if err != nil {
		return fmt.Errorf("delete credential %q of principal %q: %w", credentialID, principalID, err)
	}
	return nil
}

type membership struct{ groupID, memberID string }

func scanMembership(row scanner) (membership, error) {
	var m membership
	err := row.Scan(&m.groupID, &m.memberID)
	return m, err
}

// memberKey is the change-feed key of a group membership.
func memberKey(groupID, memberID string) string { return groupID + "/" + memberID }

// AddGroupMember fails with ErrNotFound when either principal does not
// exist and with ErrAlreadyExists when the membership does.
func (t *tx) AddGroupMember(ctx context.Context, groupID, memberID string) error {
	if err := t.writable("add group member"); err != nil {
		return err
	}
	for _, id := range []string{groupID, memberID} {
		found, err := t.exists(ctx, `SELECT 1 FROM principals WHERE object_id = ?`, id)
		if err != nil {
			return fmt.Errorf("add member %q to group %q: %w", memberID, groupID, err)
		}
		if !found {
			return fmt.Errorf("add member %q to group %q: principal %q: %w", memberID, groupID, id, store.ErrNotFound)
		}
	}
	err := t.insert(ctx, store.KindGroupMember, memberKey(groupID, memberID),
		`INSERT INTO group_members (group_id, member_id) VALUES (?, ?)`, groupID, memberID)
	if err != nil {
		return fmt.Errorf("add member %q to group %q: %w", memberID, groupID, err)
	}
	return nil
}

func (t *tx) RemoveGroupMember(ctx context.Context, groupID, memberID string) error {
	if err := t.writable("remove group member"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindGroupMember, memberKey(groupID, memberID), store.OpDelete,
		`DELETE FROM group_members WHERE group_id = ? AND member_id = ?`, groupID, memberID)
	if err != nil {
		return fmt.Errorf("remove member %q from group %q: %w", memberID, groupID, err)
	}
	return nil
}

func (t *tx) ListGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	ids, err := list(ctx, t, scanString, `SELECT member_id FROM group_members WHERE group_id = ? ORDER BY member_id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("list members of group %q: %w", groupID, err)
	}
	return ids, nil
}

func (t *tx) ListGroupsOf(ctx context.Context, principalID string) ([]string, error) {
	ids, err := list(ctx, t, scanString, `SELECT group_id FROM group_members WHERE member_id = ? ORDER BY group_id`, principalID)
	if err != nil {
		return nil, fmt.Errorf("list groups of %q: %w", principalID, err)
	}
	return ids, nil
}

func scanString(row scanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}
