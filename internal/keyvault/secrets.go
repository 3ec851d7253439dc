package keyvault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
)

// Errors the front door maps to Key Vault's error codes.
var (
	ErrVaultNotFound = errors.New("keyvault: no such vault")
	ErrNotFound      = errors.New("keyvault: no such secret")
	// ErrDeletedNotFound: no deleted secret of that name.
	ErrDeletedNotFound = errors.New("keyvault: no such deleted secret")
	// ErrBeingDeleted: the name belongs to a deleted, not yet purged secret.
	ErrBeingDeleted = errors.New("keyvault: secret is deleted but not purged")
	// ErrExists: restore onto a name in use.
	ErrExists = errors.New("keyvault: secret already exists")
	// ErrDisabled: reading the value of a disabled (or not yet valid, or
	// expired) version.
	ErrDisabled = errors.New("keyvault: secret version is disabled")
	// ErrPurgeProtected: purge refused while purge protection is on.
	ErrPurgeProtected = errors.New("keyvault: purge protection is enabled")
	// ErrNoSoftDelete: deleted-secret operations on a vault without soft delete.
	ErrNoSoftDelete = errors.New("keyvault: soft delete is not enabled")
	ErrBadBackup    = errors.New("keyvault: malformed backup")
)

// Secret is a secret version as the data plane reports it.
type Secret struct {
	VaultID     string
	Name        string
	Version     string
	Value       string
	ContentType string
	Enabled     bool
	NotBefore   time.Time
	Expires     time.Time
	Tags        map[string]string
	Created     time.Time
	Updated     time.Time
	// DeletedAt and ScheduledPurge are set for a deleted secret.
	DeletedAt      time.Time
	ScheduledPurge time.Time
}

// Attributes are what a set or an update may give; nil leaves a member
// as it is (an update) or at its default (a set).
type Attributes struct {
	Enabled     *bool
	NotBefore   *time.Time
	Expires     *time.Time
	ContentType *string
	Tags        map[string]string
}

// Service runs secret operations. It is safe for concurrent use.
type Service struct {
	Store   store.Store
	Keyring *keyring.Keyring
	Now     func() time.Time

	mu     sync.Mutex
	vaults map[string]Vault // lower-case name -> vault, until ForgetVault
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Vault finds a vault by name (names are unique per installation). Found
// vaults are cached until ForgetVault: the server calls it from the change
// feed for every resource change, before a write's response returns, so a
// deleted or changed vault is seen at once on this replica.
func (s *Service) Vault(ctx context.Context, name string) (Vault, error) {
	key := strings.ToLower(name)
	s.mu.Lock()
	v, ok := s.vaults[key]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	err := s.Store.View(ctx, func(tx store.Tx) error {
		vaults, err := tx.ListResources(ctx, store.ResourceFilter{Type: VaultType})
		if err != nil {
			return err
		}
		for _, r := range vaults {
			if strings.EqualFold(r.Name, name) {
				v = VaultOf(r)
				return nil
			}
		}
		return ErrVaultNotFound
	})
	if err != nil {
		return Vault{}, err
	}
	s.mu.Lock()
	if s.vaults == nil {
		s.vaults = map[string]Vault{}
	}
	s.vaults[key] = v
	s.mu.Unlock()
	return v, nil
}

// ForgetVault drops a cached vault by resource ID ("" drops every one).
func (s *Service) ForgetVault(resourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.vaults {
		if resourceID == "" || strings.EqualFold(v.ID, resourceID) {
			delete(s.vaults, k)
		}
	}
}

// SecretScope is the RBAC scope of a secret: assignments at the vault or
// above apply to it, and so do assignments at the secret itself.
func SecretScope(v Vault, name string) string { return v.ID + "/secrets/" + name }

// sealAAD binds a sealed value to its secret version, so that a value
// cannot be moved to another secret or version in the database.
func sealAAD(vaultID, name, version string) []byte {
	return []byte(strings.ToLower(vaultID) + "/secrets/" + strings.ToLower(name) + "/" + version)
}

func newVersion() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func fromStore(v store.VaultSecret, st store.VaultSecretState) Secret {
	return Secret{
		VaultID: v.VaultID, Name: st.Name, Version: v.Version, ContentType: v.ContentType, Enabled: v.Enabled,
		NotBefore: v.NotBefore, Expires: v.Expires, Tags: v.Tags, Created: v.CreatedAt, Updated: v.UpdatedAt,
		DeletedAt: st.DeletedAt, ScheduledPurge: st.ScheduledPurge,
	}
}

func notFound(err error, sentinel error) error {
	if errors.Is(err, store.ErrNotFound) {
		return sentinel
	}
	return err
}

// Set stores a new version of a secret and makes it current.
func (s *Service) Set(ctx context.Context, v Vault, name, value string, a Attributes) (Secret, error) {
	now := s.now()
	sv := store.VaultSecret{VaultID: v.ID, Name: name, Version: newVersion(), Enabled: true, Tags: a.Tags, CreatedAt: now, UpdatedAt: now}
	applyAttributes(&sv, a)
	sv.SealedValue = s.Keyring.Seal([]byte(value), sealAAD(v.ID, name, sv.Version))
	var out Secret
	_, err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.AddVaultSecretVersion(ctx, sv); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return ErrBeingDeleted
			}
			return err
		}
		_, st, err := tx.GetVaultSecret(ctx, v.ID, name, sv.Version)
		out = fromStore(sv, st)
		return err
	})
	out.Value = value
	return out, err
}

func applyAttributes(sv *store.VaultSecret, a Attributes) {
	if a.Enabled != nil {
		sv.Enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		sv.NotBefore = a.NotBefore.UTC()
	}
	if a.Expires != nil {
		sv.Expires = a.Expires.UTC()
	}
	if a.ContentType != nil {
		sv.ContentType = *a.ContentType
	}
	if a.Tags != nil {
		sv.Tags = a.Tags
	}
}

// Get returns a version (the current one for version "") with its value.
// A disabled version, or one outside its nbf..exp window, has no value to
// give, as in Key Vault.
func (s *Service) Get(ctx context.Context, v Vault, name, version string) (Secret, error) {
	var sv store.VaultSecret
	var st store.VaultSecretState
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		sv, st, err = tx.GetVaultSecret(ctx, v.ID, name, version)
		return err
	})
	if err == nil && !st.DeletedAt.IsZero() {
		err = store.ErrNotFound
	}
	if err != nil {
		return Secret{}, notFound(err, ErrNotFound)
	}
	out := fromStore(sv, st)
	now := s.now()
	if !sv.Enabled || (!sv.NotBefore.IsZero() && now.Before(sv.NotBefore)) || (!sv.Expires.IsZero() && now.After(sv.Expires)) {
		return out, ErrDisabled
	}
	pt, err := s.Keyring.Open(sv.SealedValue, sealAAD(v.ID, st.Name, sv.Version))
	if err != nil {
		return Secret{}, fmt.Errorf("keyvault: unseal %s/%s: %w", name, sv.Version, err)
	}
	out.Value = string(pt)
	return out, nil
}

// Update changes a version's attributes (never its value).
func (s *Service) Update(ctx context.Context, v Vault, name, version string, a Attributes) (Secret, error) {
	var out Secret
	_, err := s.Store.Update(ctx, func(tx store.Tx) error {
		err := tx.UpdateVaultSecret(ctx, v.ID, name, version, func(sv store.VaultSecret) (store.VaultSecret, error) {
			applyAttributes(&sv, a)
			sv.UpdatedAt = s.now()
			return sv, nil
		})
		if err != nil {
			return err
		}
		sv, st, err := tx.GetVaultSecret(ctx, v.ID, name, version)
		out = fromStore(sv, st)
		return err
	})
	return out, notFound(err, ErrNotFound)
}

// List returns the current version of each live secret (deleted ones with
// deleted), in name order after after, at most limit.
func (s *Service) List(ctx context.Context, v Vault, deleted bool, after string, limit int) ([]Secret, error) {
	var out []Secret
	err := s.Store.View(ctx, func(tx store.Tx) error {
		svs, sts, err := tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: v.ID, Deleted: deleted, After: after, Limit: limit})
		for i := range svs {
			out = append(out, fromStore(svs[i], sts[i]))
		}
		return err
	})
	return out, err
}

// Versions lists a live secret's versions after after, at most limit.
func (s *Service) Versions(ctx context.Context, v Vault, name, after string, limit int) ([]Secret, error) {
	var out []Secret
	err := s.Store.View(ctx, func(tx store.Tx) error {
		_, st, err := tx.GetVaultSecret(ctx, v.ID, name, "")
		if err == nil && !st.DeletedAt.IsZero() {
			err = store.ErrNotFound
		}
		if err != nil {
			return notFound(err, ErrNotFound)
		}
		svs, err := tx.ListVaultSecretVersions(ctx, v.ID, name, after, limit)
		for _, sv := range svs {
			out = append(out, fromStore(sv, st))
		}
		return err
	})
	return out, err
}

// Delete deletes a secret: soft (recoverable until its purge date) when the
// vault has soft delete, for good otherwise.
func (s *Service) Delete(ctx context.Context, v Vault, name string) (Secret, error) {
	now := s.now()
	var out Secret
	_, err := s.Store.Update(ctx, func(tx store.Tx) error {
		sv, st, err := tx.GetVaultSecret(ctx, v.ID, name, "")
		if err == nil && !st.DeletedAt.IsZero() {
			err = store.ErrNotFound
		}
		if err != nil {
			return notFound(err, ErrNotFound)
		}
		out = fromStore(sv, st)
		if !v.SoftDelete {
			return purge(ctx, tx, v.ID, name)
		}
		out.DeletedAt, out.ScheduledPurge = now, now.AddDate(0, 0, v.RetentionDays)
		return tx.DeleteVaultSecret(ctx, v.ID, name, out.DeletedAt, out.ScheduledPurge)
	})
	return out, err
}

// GetDeleted returns a deleted secret's current version (no value).
func (s *Service) GetDeleted(ctx context.Context, v Vault, name string) (Secret, error) {
	if !v.SoftDelete {
		return Secret{}, ErrNoSoftDelete
	}
	var out Secret
	err := s.Store.View(ctx, func(tx store.Tx) error {
		sv, st, err := tx.GetVaultSecret(ctx, v.ID, name, "")
		if err == nil && st.DeletedAt.IsZero() {
			err = store.ErrNotFound
		}
		if err != nil {
			return notFound(err, ErrDeletedNotFound)
		}
		out = fromStore(sv, st)
		return nil
	})
	return out, err
}

// Recover makes a deleted secret live again, every version with it.
func (s *Service) Recover(ctx context.Context, v Vault, name string) (Secret, error) {
	if !v.SoftDelete {
		return Secret{}, ErrNoSoftDelete
	}
	var out Secret
	_, err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.RecoverVaultSecret(ctx, v.ID, name); err != nil {
			return notFound(err, ErrDeletedNotFound)
		}
		sv, st, err := tx.GetVaultSecret(ctx, v.ID, name, "")
		out = fromStore(sv, st)
		return err
	})
	return out, err
}

// Purge removes a deleted secret for good, unless purge protection holds it
// until its purge date.
func (s *Service) Purge(ctx context.Context, v Vault, name string) error {
	if !v.SoftDelete {
		return ErrNoSoftDelete
	}
	if v.PurgeProtection {
		return ErrPurgeProtected
	}
	_, err := s.Store.Update(ctx, func(tx store.Tx) error {
		_, st, err := tx.GetVaultSecret(ctx, v.ID, name, "")
		if err == nil && st.DeletedAt.IsZero() {
			err = store.ErrNotFound
		}
		if err != nil {
			return notFound(err, ErrDeletedNotFound)
		}
		return purge(ctx, tx, v.ID, name)
	})
	return err
}

// purge removes a secret for good with the role assignments at its scope
// (no assignment outlives its scope).
func purge(ctx context.Context, tx store.Tx, vaultID, name string) error {
	if err := tx.PurgeVaultSecret(ctx, vaultID, name); err != nil {
		return err
	}
	return DeleteSecretAssignments(ctx, tx, vaultID, name)
}

// DeleteSecretAssignments deletes the role assignments at a secret's scope.
func DeleteSecretAssignments(ctx context.Context, tx store.Tx, vaultID, name string) error {
	as, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{ScopePrefix: vaultID + "/secrets/" + name})
	if err != nil {
		return err
	}
	for _, a := range as {
		if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// backupAAD binds backup blobs to their purpose; a backup restores into
// any vault of the same installation (the master key), as Azure restores
// within a subscription's geography.
var backupAAD = []byte("keyless keyvault secret backup v1")

type backupVersion struct {
	Version     string            `json:"version"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   time.Time         `json:"nbf,omitzero"`
	Expires     time.Time         `json:"exp,omitzero"`
	Tags        map[string]string `json:"tags,omitempty"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
}

type backupDoc struct {
	Name     string          `json:"name"`
	Current  string          `json:"current"`
	Versions []backupVersion `json:"versions"`
}

// Backup returns every version of a live secret as one blob sealed under
// the master key.
func (s *Service) Backup(ctx context.Context, v Vault, name string) ([]byte, error) {
	var doc backupDoc
	err := s.Store.View(ctx, func(tx store.Tx) error {
		_, st, err := tx.GetVaultSecret(ctx, v.ID, name, "")
		if err == nil && !st.DeletedAt.IsZero() {
			err = store.ErrNotFound
		}
		if err != nil {
			return notFound(err, ErrNotFound)
		}
		doc.Name, doc.Current = st.Name, st.CurrentVersion
		svs, err := tx.ListVaultSecretVersions(ctx, v.ID, name, "", 0)
		if err != nil {
			return err
		}
		for _, sv := range svs {
			pt, err := s.Keyring.Open(sv.SealedValue, sealAAD(v.ID, st.Name, sv.Version))
			if err != nil {
				return fmt.Errorf("keyvault: unseal %s/%s: %w", name, sv.Version, err)
			}
			doc.Versions = append(doc.Versions, backupVersion{Version: sv.Version, Value: string(pt), ContentType: sv.ContentType,
				Enabled: sv.Enabled, NotBefore: sv.NotBefore, Expires: sv.Expires, Tags: sv.Tags, Created: sv.CreatedAt, Updated: sv.UpdatedAt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	plain, _ := json.Marshal(doc)
	return s.Keyring.Seal(plain, backupAAD), nil
}

// PurgeExpired purges the deleted secrets past their purge date, in every
// vault, with the assignments at their scopes, and says how many.
func PurgeExpired(ctx context.Context, tx store.Tx, now time.Time) (int, error) {
	due, err := tx.PurgeExpiredVaultSecrets(ctx, now)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		if err := DeleteSecretAssignments(ctx, tx, d.VaultID, d.Name); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// Restore recreates a backed-up secret with every version, in a vault
// where the name is free (neither live nor deleted).
func (s *Service) Restore(ctx context.Context, v Vault, blob []byte) (Secret, error) {
	plain, err := s.Keyring.Open(blob, backupAAD)
	if err != nil {
		return Secret{}, ErrBadBackup
	}
	var doc backupDoc
	if err := json.Unmarshal(plain, &doc); err != nil || doc.Name == "" || len(doc.Versions) == 0 {
		return Secret{}, ErrBadBackup
	}
	var out Secret
	_, err = s.Store.Update(ctx, func(tx store.Tx) error {
		if _, _, err := tx.GetVaultSecret(ctx, v.ID, doc.Name, ""); err == nil {
			return ErrExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// The current version goes last, so that it ends current.
		ordered := make([]backupVersion, 0, len(doc.Versions))
		var current *backupVersion
		for i := range doc.Versions {
			if doc.Versions[i].Version == doc.Current {
				current = &doc.Versions[i]
				continue
			}
			ordered = append(ordered, doc.Versions[i])
		}
		if current != nil {
			ordered = append(ordered, *current)
		}
		for _, bv := range ordered {
			sv := store.VaultSecret{VaultID: v.ID, Name: doc.Name, Version: bv.Version, ContentType: bv.ContentType, Enabled: bv.Enabled,
				NotBefore: bv.NotBefore, Expires: bv.Expires, Tags: bv.Tags, CreatedAt: bv.Created, UpdatedAt: bv.Updated,
				SealedValue: s.Keyring.Seal([]byte(bv.Value), sealAAD(v.ID, doc.Name, bv.Version))}
			if err := tx.AddVaultSecretVersion(ctx, sv); err != nil {
				return err
			}
		}
		sv, st, err := tx.GetVaultSecret(ctx, v.ID, doc.Name, "")
		out = fromStore(sv, st)
		return err
	})
	return out, err
}
