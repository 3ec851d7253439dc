package bootstrap_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
)

func open(t *testing.T, dir string, mutate ...func(*bootstrap.Options)) (*bootstrap.Installation, error) {
	t.Helper()
	opts := bootstrap.Options{
		DataDir: dir, BaseURL: "https://127.0.0.1:8443", BuiltinRoles: authz.BuiltinRoles(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mutate {
		m(&opts)
	}
	inst, err := bootstrap.Open(context.Background(), opts)
	if err == nil {
		t.Cleanup(func() { inst.Store.Close() })
	}
	return inst, err
}

func TestFirstStartCreatesFilesWithModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	inst, err := open(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !inst.FirstStart {
		t.Fatal("first start not reported")
	}
	tests := []struct {
		name string
		mode fs.FileMode
	}{
		{".", 0o700 | fs.ModeDir},
		{bootstrap.MasterKeyFile, 0o600},
		{bootstrap.CredentialsFile, 0o600},
		{bootstrap.CAFile, 0o600},
		{bootstrap.MarkerFile, 0o600},
		{bootstrap.SQLiteFile, 0o600},
		{bootstrap.SQLiteFile + "-wal", 0o600},
		{bootstrap.SQLiteFile + "-shm", 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Fatalf("mode %v, want %v", fi.Mode(), tc.mode)
			}
		})
	}
	c, err := bootstrap.ReadCredentials(filepath.Join(dir, bootstrap.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := bootstrap.Credentials{
		TenantID: inst.TenantID, SubscriptionID: inst.SubscriptionID, ClientID: inst.AdminAppID,
		ClientSecret: c.ClientSecret, AuthorityHost: "https://127.0.0.1:8443/", ResourceManagerEndpoint: "https://127.0.0.1:8443",
		ResourceManagerAudience: "https://management.azure.com/", CACertificateFile: filepath.Join(dir, bootstrap.CAFile),
	}
	if c != want || !strings.HasPrefix(c.ClientSecret, "kls~") || len(c.ClientSecret) < 40 {
		t.Fatalf("credentials %+v", c)
	}
	// The secret is not in the store in the clear.
	db, _ := os.ReadFile(filepath.Join(dir, bootstrap.SQLiteFile))
	if strings.Contains(string(db), c.ClientSecret) {
		t.Fatal("the store holds the admin secret in plaintext")
	}
	var owner []store.RoleAssignment
	_ = inst.Store.View(context.Background(), func(tx store.Tx) error {
		owner, err = tx.ListRoleAssignments(context.Background(), store.RoleAssignmentFilter{PrincipalID: inst.AdminObjectID})
		return err
	})
	if len(owner) != 1 || owner[0].Scope != "/" || owner[0].RoleDefinitionID != bootstrap.OwnerRoleID {
		t.Fatalf("admin assignments %+v", owner)
	}
}

func TestRestartKeepsIdentifiersAndSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := open(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	credsBefore, _ := os.ReadFile(filepath.Join(dir, bootstrap.CredentialsFile))
	caBefore, _ := os.ReadFile(filepath.Join(dir, bootstrap.CAFile))
	first.Store.Close()

	second, err := open(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	credsAfter, _ := os.ReadFile(filepath.Join(dir, bootstrap.CredentialsFile))
	caAfter, _ := os.ReadFile(filepath.Join(dir, bootstrap.CAFile))
	if second.FirstStart || string(credsBefore) != string(credsAfter) || string(caBefore) != string(caAfter) {
		t.Fatal("restart changed the installation")
	}
	if second.TenantID != first.TenantID || second.SubscriptionID != first.SubscriptionID || second.AdminAppID != first.AdminAppID {
		t.Fatal("restart changed identifiers")
	}
}

// snapshot records every file's bytes and mtime so a test can prove a
// refused directory was not touched.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		b, _ := os.ReadFile(p)
		out[p] = fi.Mode().String() + fi.ModTime().String() + string(b)
		return nil
	})
	return out
}

func TestRefusesForeignOrCorruptDirectories(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr string
	}{
		{"directory of another program", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		}, "not a keyless data directory"},
		{"corrupt marker", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, bootstrap.MarkerFile), []byte("{garbage"), 0o600)
		}, "corrupt"},
		{"store file that is not SQLite", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, bootstrap.MarkerFile), []byte(`{"format":1}`), 0o600)
			os.WriteFile(filepath.Join(dir, bootstrap.MasterKeyFile), []byte(keyring.EncodeKey(keyring.Generate())), 0o600)
			os.WriteFile(filepath.Join(dir, bootstrap.SQLiteFile), []byte(strings.Repeat("not a database ", 100)), 0o600)
		}, "store"},
		{"missing master key", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, bootstrap.MarkerFile), []byte(`{"format":1}`), 0o600)
		}, "master key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			before := snapshot(t, dir)
			time.Sleep(10 * time.Millisecond)
			_, err := open(t, dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			after := snapshot(t, dir)
			if len(before) != len(after) {
				t.Fatalf("files changed: %d -> %d", len(before), len(after))
			}
			for p, v := range before {
				if after[p] != v {
					t.Fatalf("%s was modified", p)
				}
			}
		})
	}
}

func TestWrongMasterKeyIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	inst, err := open(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	inst.Store.Close()
	_, err = open(t, dir, func(o *bootstrap.Options) { o.MasterKey = keyring.EncodeKey(keyring.Generate()) })
	if err == nil || !strings.Contains(err.Error(), "master key does not match") {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, bootstrap.ErrForeignDirectory) {
		t.Fatal("wrong error kind")
	}
}

// Under umask 0 (the worst an operator's environment can do), in a data
// directory that exists already as packages create it (0755), every file
// keyless writes is still 0600, the files of an older version are tightened,
// and the shared directory is warned about.
func TestDataDirectoryFilesArePrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	withLog := func(o *bootstrap.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }
	inst, err := open(t, dir, withLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "accessible to other local users") {
		t.Errorf("no warning about the 0755 data directory; log:\n%s", logs.String())
	}
	checkPrivate := func() {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < 7 {
			t.Fatalf("only %d files in the data directory", len(entries))
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
			}
		}
	}
	checkPrivate()
	inst.Store.Close()

	// Files left open by an older version are tightened at the next start.
	for _, name := range []string{bootstrap.SQLiteFile, bootstrap.CAFile} {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inst, err = open(t, dir, withLog)
	if err != nil {
		t.Fatal(err)
	}
	checkPrivate()
	inst.Store.Close()
}

// rootGroupOf reads the tenant root management group, failing the test if
// the tree does not have exactly that one group without a parent.
func rootGroupOf(t *testing.T, inst *bootstrap.Installation) store.ManagementGroup {
	t.Helper()
	var groups []store.ManagementGroup
	if err := inst.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		groups, err = tx.ListManagementGroups(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Name != inst.TenantID || groups[0].ParentName != "" ||
		groups[0].DisplayName != bootstrap.RootGroupDisplayName {
		t.Fatalf("management groups %+v, want only the tenant root group %q", groups, inst.TenantID)
	}
	return groups[0]
}

func TestStartsCreateTheTenantRootGroupOnce(t *testing.T) {
	t.Run("first start", func(t *testing.T) {
		inst, err := open(t, filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		rootGroupOf(t, inst)
	})
	t.Run("installation made before management groups", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		first, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		// What an older version left: no group at all.
		if _, err := first.Store.Update(context.Background(), func(tx store.Tx) error {
			return tx.DeleteManagementGroup(context.Background(), first.TenantID)
		}); err != nil {
			t.Fatal(err)
		}
		first.Store.Close()

		second, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		created := rootGroupOf(t, second)
		rev, err := second.Store.Revision(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		second.Store.Close()

		third, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		if again := rootGroupOf(t, third); again != created {
			t.Fatalf("a later start changed the root group: %+v, was %+v", again, created)
		}
		if now, _ := third.Store.Revision(context.Background()); now != rev {
			t.Fatalf("a later start wrote to the store (revision %d, was %d)", now, rev)
		}
	})
}

func globalAdministrators(t *testing.T, inst *bootstrap.Installation) []store.DirectoryRoleAssignment {
	t.Helper()
	var got []store.DirectoryRoleAssignment
	if err := inst.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		got, err = tx.ListDirectoryRoleAssignments(context.Background(), store.DirectoryRoleAssignmentFilter{RoleDefinitionID: directory.GlobalAdministratorRoleID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestTheAdministratorIsAGlobalAdministratorOnce(t *testing.T) {
	t.Run("first start", func(t *testing.T) {
		inst, err := open(t, filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		got := globalAdministrators(t, inst)
		if len(got) != 1 || got[0].PrincipalID != inst.AdminObjectID || got[0].DirectoryScopeID != "/" {
			t.Fatalf("Global Administrators after the first start: %+v, want the administrator %s", got, inst.AdminObjectID)
		}
	})
	t.Run("installation made before Microsoft Graph", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		first, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		// What an older version left: no directory role at all.
		if _, err := first.Store.Update(context.Background(), func(tx store.Tx) error {
			return tx.DeleteDirectoryRoleAssignment(context.Background(), globalAdministrators(t, first)[0].ID)
		}); err != nil {
			t.Fatal(err)
		}
		first.Store.Close()

		second, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		granted := globalAdministrators(t, second)
		if len(granted) != 1 || granted[0].PrincipalID != second.AdminObjectID {
			t.Fatalf("Global Administrators after the upgrade: %+v", granted)
		}
		rev, _ := second.Store.Revision(context.Background())
		second.Store.Close()

		third, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		if again := globalAdministrators(t, third); len(again) != 1 || again[0] != granted[0] {
			t.Fatalf("a later start changed the grant: %+v, was %+v", again, granted)
		}
		if now, _ := third.Store.Revision(context.Background()); now != rev {
			t.Fatalf("a later start wrote to the store (revision %d, was %d)", now, rev)
		}
	})
}
