// Package bootstrap owns the data directory and the first start of an
// installation: it creates, exactly once, the tenant, its root management
// group, the default subscription, the CA, the first signing key and the
// administrator, and on every later start checks that the directory, the
// store and the master key belong together before anything is modified
// (then adds what a newer version brings, such as the root group of an
// installation made before management groups).
package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/pki"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/token"
)

// Files in the data directory.
const (
	MarkerFile      = "keyless-data.json"
	MasterKeyFile   = "master.key"
	CAFile          = "ca.pem"
	CredentialsFile = "admin-credentials.json"
	SQLiteFile      = "keyless.db"
)

// ResourceManagerAudience is the audience written to the credentials file:
// with it the SDK asks for "https://management.azure.com//.default".
const ResourceManagerAudience = "https://management.azure.com/"

// OwnerRoleID is the built-in Owner role definition GUID.
const OwnerRoleID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

// RootGroupDisplayName is the display name of the tenant root management
// group, whose name is the tenant ID, as in Azure.
const RootGroupDisplayName = "Tenant Root Group"

// meta keys
const (
	metaInstallation = "installation"
	metaCACert       = "ca.cert"
	metaCAKey        = "ca.key.sealed"
)

// Options are the inputs of Open.
type Options struct {
	DataDir string
	// StoreDSN is empty for SQLite in the data directory, or a
	// postgres:// URL.
	StoreDSN string
	// MasterKey overrides master.key (base64), e.g. from
	// KEYLESS_MASTER_KEY; replicas sharing PostgreSQL need the same one.
	MasterKey string
	// BaseURL is the public https URL of the server, without a slash.
	BaseURL string
	// BuiltinRoles are installed (and refreshed) at every start.
	BuiltinRoles []store.RoleDefinition
	Logger       *slog.Logger
}

// Installation is an opened data directory and store.
type Installation struct {
	DataDir        string
	Store          store.Store
	Keyring        *keyring.Keyring
	CA             *pki.CA
	TenantID       string
	SubscriptionID string
	AdminObjectID  string
	AdminAppID     string
	// CredentialsPath is empty when this replica has no credentials file
	// (another replica bootstrapped the shared store).
	CredentialsPath string
	FirstStart      bool
}

type installationRecord struct {
	TenantID       string    `json:"tenantId"`
	SubscriptionID string    `json:"subscriptionId"`
	AdminObjectID  string    `json:"adminObjectId"`
	AdminAppID     string    `json:"adminAppId"`
	KeyCheck       string    `json:"keyCheck"`
	CreatedAt      time.Time `json:"createdAt"`
}

type marker struct {
	Format   int    `json:"format"`
	TenantID string `json:"tenantId,omitempty"`
}

// Credentials is the admin-credentials.json document.
type Credentials struct {
	TenantID                string `json:"tenantId"`
	SubscriptionID          string `json:"subscriptionId"`
	ClientID                string `json:"clientId"`
	ClientSecret            string `json:"clientSecret"`
	AuthorityHost           string `json:"authorityHost"`
	ResourceManagerEndpoint string `json:"resourceManagerEndpoint"`
	ResourceManagerAudience string `json:"resourceManagerAudience"`
	CACertificateFile       string `json:"caCertificateFile"`
}

// ErrForeignDirectory means the data directory holds something that is not
// a keyless data directory; nothing in it was touched.
var ErrForeignDirectory = errors.New("not a keyless data directory")

// Open checks or initialises the data directory, opens the store and runs
// first-start bootstrap if the store is new.
func Open(ctx context.Context, opts Options) (*Installation, error) {
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	fresh, err := checkDataDir(dir)
	if err != nil {
		return nil, err
	}
	warnIfShared(dir, opts.Logger)
	master, err := masterKey(dir, opts.MasterKey, fresh)
	if err != nil {
		return nil, err
	}
	kr, err := keyring.New(master)
	if err != nil {
		return nil, err
	}
	var st store.Store
	if opts.StoreDSN == "" {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, SQLiteFile))
	} else {
		st, err = sqlstore.OpenPostgres(ctx, opts.StoreDSN)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	inst := &Installation{DataDir: dir, Store: st, Keyring: kr}
	if err := inst.bootstrap(ctx, opts); err != nil {
		st.Close()
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, MarkerFile), mustJSON(marker{Format: 1, TenantID: inst.TenantID}), 0o600); err != nil {
		st.Close()
		return nil, err
	}
	return inst, nil
}

// checkDataDir refuses a directory that holds anything but a keyless data
// directory, and creates a missing one. It reports whether the directory is
// new (missing or empty).
func checkDataDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return false, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return true, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if err != nil {
		names := make([]string, 0, 3)
		for _, e := range entries[:min(3, len(entries))] {
			names = append(names, e.Name())
		}
		return false, fmt.Errorf("%s is %w (it holds %s but no %s); refusing to touch it — give an empty or new directory with --data-dir",
			dir, ErrForeignDirectory, strings.Join(names, ", "), MarkerFile)
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil || m.Format != 1 {
		return false, fmt.Errorf("%s: %s is corrupt or of an unknown format; refusing to touch the directory", dir, MarkerFile)
	}
	return false, nil
}

func masterKey(dir, given string, fresh bool) ([]byte, error) {
	if given != "" {
		return keyring.ParseKey(given)
	}
	path := filepath.Join(dir, MasterKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return keyring.ParseKey(string(b))
	case errors.Is(err, fs.ErrNotExist) && fresh:
		k := keyring.Generate()
		return k, writeFileAtomic(path, []byte(keyring.EncodeKey(k)+"\n"), 0o600)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s is missing: give the master key with --master-key or KEYLESS_MASTER_KEY", path)
	}
	return nil, err
}

func (inst *Installation) bootstrap(ctx context.Context, opts Options) error {
	var rec installationRecord
	err := inst.Store.View(ctx, func(tx store.Tx) error {
		b, err := tx.GetMeta(ctx, metaInstallation)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return inst.firstStart(ctx, opts)
	case err != nil:
		return fmt.Errorf("read installation record: %w", err)
	}
	if rec.KeyCheck != inst.Keyring.CheckID() {
		return errors.New("the master key does not match this store: give the key the installation was created with (--master-key, KEYLESS_MASTER_KEY or master.key)")
	}
	inst.TenantID, inst.SubscriptionID = rec.TenantID, rec.SubscriptionID
	inst.AdminObjectID, inst.AdminAppID = rec.AdminObjectID, rec.AdminAppID
	if err := inst.loadCA(ctx); err != nil {
		return err
	}
	if err := ensureRootGroup(ctx, inst.Store, inst.TenantID); err != nil {
		return err
	}
	if err := installBuiltinRoles(ctx, inst.Store, opts.BuiltinRoles); err != nil {
		return err
	}
	if err := ensureAdminDirectoryRole(ctx, inst.Store, inst.AdminObjectID); err != nil {
		return err
	}
	if err := token.EnsureKey(ctx, inst.Store, inst.Keyring); err != nil {
		return err
	}
	if err := writeFileIfChanged(filepath.Join(inst.DataDir, CAFile), inst.CA.CertPEM(), 0o600); err != nil {
		return err
	}
	return inst.refreshCredentialsFile(opts)
}

func (inst *Installation) firstStart(ctx context.Context, opts Options) error {
	inst.FirstStart = true
	ca, err := pki.NewCA("keyless CA")
	if err != nil {
		return err
	}
	caKey, err := ca.KeyDER()
	if err != nil {
		return err
	}
	inst.CA = ca
	now := time.Now().UTC()
	rec := installationRecord{
		TenantID:       uuid.NewString(),
		SubscriptionID: uuid.NewString(),
		KeyCheck:       inst.Keyring.CheckID(),
		CreatedAt:      now,
	}
	sk, err := token.NewSigningKey(inst.Keyring, now)
	if err != nil {
		return err
	}
	admin := store.Principal{
		ObjectID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "keyless-admin",
		Kind: store.PrincipalServicePrincipal, CreatedAt: now,
	}
	secret := keyring.NewSecret(directory.SecretPrefix)
	rec.AdminObjectID, rec.AdminAppID = admin.ObjectID, admin.AppID
	_, err = inst.Store.Update(ctx, func(tx store.Tx) error {
		// A concurrent first start of another replica on the same
		// PostgreSQL store loses here, on the unique meta key.
		if _, err := tx.GetMeta(ctx, metaInstallation); err == nil {
			return store.ErrAlreadyExists
		}
		if err := tx.PutMeta(ctx, metaInstallation, mustJSON(rec)); err != nil {
			return err
		}
		if err := tx.PutMeta(ctx, metaCACert, ca.Cert.Raw); err != nil {
			return err
		}
		if err := tx.PutMeta(ctx, metaCAKey, inst.Keyring.Seal(caKey, []byte(metaCAKey))); err != nil {
			return err
		}
		if _, err := tx.PutManagementGroup(ctx, rootGroup(rec.TenantID, now)); err != nil {
			return err
		}
		if err := tx.CreateSubscription(ctx, store.Subscription{ID: rec.SubscriptionID, DisplayName: "Default", State: "Enabled", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, sk); err != nil {
			return err
		}
		if err := putBuiltinRoles(ctx, tx, opts.BuiltinRoles); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(ctx, admin); err != nil {
			return err
		}
		// The admin secret does not expire; rotate it by hand.
		if err := tx.CreateCredential(ctx, directory.SecretCredential(inst.Keyring, admin.ObjectID, secret, now, time.Time{})); err != nil {
			return err
		}
		if err := tx.CreateRoleAssignment(ctx, store.RoleAssignment{
			Name: uuid.NewString(), Scope: "/", RoleDefinitionID: OwnerRoleID,
			PrincipalID: admin.ObjectID, PrincipalType: "ServicePrincipal",
			Description: "keyless administrator (created at first start)",
			CreatedAt:   now, UpdatedAt: now, CreatedBy: admin.ObjectID, UpdatedBy: admin.ObjectID,
		}); err != nil {
			return err
		}
		return grantAdminDirectoryRole(ctx, tx, admin.ObjectID, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return inst.bootstrap(ctx, opts)
	}
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	inst.TenantID, inst.SubscriptionID = rec.TenantID, rec.SubscriptionID
	inst.AdminObjectID, inst.AdminAppID = rec.AdminObjectID, rec.AdminAppID
	caPath := filepath.Join(inst.DataDir, CAFile)
	if err := writeFileAtomic(caPath, ca.CertPEM(), 0o600); err != nil {
		return err
	}
	inst.CredentialsPath = filepath.Join(inst.DataDir, CredentialsFile)
	return writeFileAtomic(inst.CredentialsPath, mustJSONIndent(inst.credentials(secret, opts.BaseURL)), 0o600)
}

func (inst *Installation) credentials(secret, baseURL string) Credentials {
	return Credentials{
		TenantID:                inst.TenantID,
		SubscriptionID:          inst.SubscriptionID,
		ClientID:                inst.AdminAppID,
		ClientSecret:            secret,
		AuthorityHost:           baseURL + "/",
		ResourceManagerEndpoint: baseURL,
		ResourceManagerAudience: ResourceManagerAudience,
		CACertificateFile:       filepath.Join(inst.DataDir, CAFile),
	}
}

// refreshCredentialsFile keeps the identifiers and the secret of an
// existing credentials file and only updates the endpoints if the server
// now listens elsewhere.
func (inst *Installation) refreshCredentialsFile(opts Options) error {
	path := filepath.Join(inst.DataDir, CredentialsFile)
	c, err := ReadCredentials(path)
	if errors.Is(err, fs.ErrNotExist) {
		opts.Logger.Warn("this data directory has no administrator credentials file (the store was bootstrapped by another replica); copy it from there", "path", path)
		return nil
	}
	if err != nil {
		return err
	}
	inst.CredentialsPath = path
	want := inst.credentials(c.ClientSecret, opts.BaseURL)
	if c.TenantID != inst.TenantID || c.ClientID != inst.AdminAppID {
		return fmt.Errorf("%s belongs to another installation (tenant %s); refusing to overwrite it", path, c.TenantID)
	}
	if c == want {
		return nil
	}
	return writeFileAtomic(path, mustJSONIndent(want), 0o600)
}

// ReadCredentials reads a credentials file.
func ReadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (inst *Installation) loadCA(ctx context.Context) error {
	var certDER, sealed []byte
	err := inst.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if certDER, err = tx.GetMeta(ctx, metaCACert); err != nil {
			return err
		}
		sealed, err = tx.GetMeta(ctx, metaCAKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	keyDER, err := inst.Keyring.Open(sealed, []byte(metaCAKey))
	if err != nil {
		return fmt.Errorf("open CA key: %w", err)
	}
	inst.CA, err = pki.LoadCA(certDER, keyDER)
	return err
}

// grantAdminDirectoryRole makes the administrator a Global Administrator
// of the directory, as the account that creates an Entra tenant is (writes
// through Microsoft Graph need a directory role), unless the directory
// already has one: an operator who handed the role to someone else and
// revoked the administrator's is not overruled.
func grantAdminDirectoryRole(ctx context.Context, tx store.Tx, adminObjectID string, now time.Time) error {
	held, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{RoleDefinitionID: directory.GlobalAdministratorRoleID})
	if err != nil || len(held) > 0 {
		return err
	}
	err = tx.CreateDirectoryRoleAssignment(ctx, store.DirectoryRoleAssignment{
		ID: uuid.NewString(), RoleDefinitionID: directory.GlobalAdministratorRoleID,
		PrincipalID: adminObjectID, DirectoryScopeID: "/", CreatedAt: now,
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the administrator was deleted; nobody to grant it to
	}
	return err
}

// ensureAdminDirectoryRole grants the administrator of an installation
// made before keyless served Microsoft Graph its directory role. It
// changes nothing while the directory has a Global Administrator, so
// later starts, and replicas starting together, write nothing.
func ensureAdminDirectoryRole(ctx context.Context, st store.Store, adminObjectID string) error {
	var held bool
	err := st.View(ctx, func(tx store.Tx) error {
		as, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{RoleDefinitionID: directory.GlobalAdministratorRoleID})
		held = len(as) > 0
		return err
	})
	if err != nil || held {
		return err
	}
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		return grantAdminDirectoryRole(ctx, tx, adminObjectID, time.Now().UTC())
	}); err != nil {
		return fmt.Errorf("grant the administrator its directory role: %w", err)
	}
	return nil
}

func rootGroup(tenantID string, now time.Time) store.ManagementGroup {
	return store.ManagementGroup{Name: tenantID, DisplayName: RootGroupDisplayName, CreatedAt: now, UpdatedAt: now}
}

// ensureRootGroup creates the tenant root management group of an
// installation made before keyless had management groups, under which its
// subscriptions then sit. It changes nothing when the group exists, so
// replicas starting together on one store agree.
func ensureRootGroup(ctx context.Context, st store.Store, tenantID string) error {
	var exists bool
	err := st.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetManagementGroup(ctx, tenantID)
		exists = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil || exists {
		return err
	}
	_, err = st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetManagementGroup(ctx, tenantID); err == nil || !errors.Is(err, store.ErrNotFound) {
			return err // created meanwhile by another replica, or a failure
		}
		_, err := tx.PutManagementGroup(ctx, rootGroup(tenantID, time.Now().UTC()))
		return err
	})
	if err != nil {
		return fmt.Errorf("create the tenant root management group: %w", err)
	}
	return nil
}

// installBuiltinRoles refreshes the built-in roles in the store when they
// differ from the ones this binary ships.
func installBuiltinRoles(ctx context.Context, st store.Store, roles []store.RoleDefinition) error {
	var stale bool
	if err := st.View(ctx, func(tx store.Tx) error {
		for _, want := range roles {
			got, err := tx.GetRoleDefinition(ctx, want.ID)
			if err != nil || !sameRole(got, want) {
				stale = true
				return nil
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if !stale {
		return nil
	}
	_, err := st.Update(ctx, func(tx store.Tx) error { return putBuiltinRoles(ctx, tx, roles) })
	return err
}

func putBuiltinRoles(ctx context.Context, tx store.Tx, roles []store.RoleDefinition) error {
	for _, r := range roles {
		if _, err := tx.PutRoleDefinition(ctx, r); err != nil {
			return fmt.Errorf("built-in role %s: %w", r.RoleName, err)
		}
	}
	return nil
}

func sameRole(a, b store.RoleDefinition) bool {
	if a.RoleName != b.RoleName || a.Description != b.Description || a.RoleType != b.RoleType ||
		!slices.Equal(a.AssignableScopes, b.AssignableScopes) || len(a.Permissions) != len(b.Permissions) {
		return false
	}
	for i := range a.Permissions {
		p, q := a.Permissions[i], b.Permissions[i]
		if !slices.Equal(p.Actions, q.Actions) || !slices.Equal(p.NotActions, q.NotActions) ||
			!slices.Equal(p.DataActions, q.DataActions) || !slices.Equal(p.NotDataActions, q.NotDataActions) ||
			p.Condition != q.Condition || p.ConditionVersion != q.ConditionVersion {
			return false
		}
	}
	return true
}

func writeFileIfChanged(path string, data []byte, mode os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		// An older version wrote some files more openly; tighten them.
		if st, err := os.Stat(path); err == nil && st.Mode().Perm() != mode {
			return os.Chmod(path, mode)
		}
		return nil
	}
	return writeFileAtomic(path, data, mode)
}

// warnIfShared warns when other local users can list or read the data
// directory. Every file keyless writes in it is 0600 whatever the umask,
// but a directory made by a package manager (0755) still shows its file
// names, and any file an operator puts there is theirs to protect. The
// directory is the operator's, so it is not changed behind their back.
func warnIfShared(dir string, log *slog.Logger) {
	st, err := os.Stat(dir)
	if err != nil || log == nil || st.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("the data directory is accessible to other local users; run chmod 700 on it",
		"dir", dir, "mode", fmt.Sprintf("%04o", st.Mode().Perm()))
}

// writeFileAtomic writes through a temporary file and a rename so that a
// crash never leaves a half-written credentials or key file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mustJSONIndent(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}
