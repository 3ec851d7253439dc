package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/server"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/testenv"
)

// TestRestartFromIndexSnapshots: a replica restarts from the index
// snapshots it wrote at shutdown and replays what changed in the store
// while it was down (a principal and its role deleted, another created
// and granted), so that it answers exactly as a replica that read the
// whole store would; a damaged snapshot is ignored for a full load. On
// SQLite the changes are made through the store directly; on PostgreSQL
// through a second replica that stays up.
func TestRestartFromIndexSnapshots(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		direct := func(env *testenv.Env) policy.ClientOptions {
			return policy.ClientOptions{Cloud: env.Cloud(), Transport: env.HTTPClient}
		}
		testRestartFromSnapshots(t, testenv.Options{DataDir: dir}, nil, direct, func(t *testing.T, first *testenv.Env) (store.Store, func()) {
			st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, bootstrap.SQLiteFile))
			if err != nil {
				t.Fatal(err)
			}
			return st, func() { st.Close() }
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		master := keyring.EncodeKey(keyring.Generate())
		other := testenv.Start(t, testenv.Options{StoreDSN: dsn, MasterKey: master})
		opts := testenv.Options{DataDir: filepath.Join(t.TempDir(), "data"), StoreDSN: dsn, MasterKey: master, PublicURL: other.Server.BaseURL()}
		via := func(env *testenv.Env) policy.ClientOptions { return viaReplica(other, env) }
		testRestartFromSnapshots(t, opts, &other.Creds, via, func(t *testing.T, _ *testenv.Env) (store.Store, func()) {
			return other.Server.Installation().Store, func() {}
		})
	})
}

type snapshotPrincipal struct{ objectID, appID, secret string }

// testRestartFromSnapshots runs the scenario on replicas started with
// opts; creds are the administrator's when another replica bootstrapped
// the installation, via are the client options that reach a replica, and
// whileDown gives the store to change while the
// replica is down.
func testRestartFromSnapshots(t *testing.T, opts testenv.Options, creds *bootstrap.Credentials, via func(*testenv.Env) policy.ClientOptions, whileDown func(*testing.T, *testenv.Env) (store.Store, func())) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func() *testenv.Env {
		env := testenv.Start(t, opts)
		if creds != nil {
			env.Creds = *creds
		}
		return env
	}
	first := start()
	// A start that read the whole store writes snapshots at once, so that
	// a crash soon after still restarts fast.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(opts.DataDir, server.AuthzSnapshotFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot written after a start that read the whole store")
		}
	}
	inst := first.Server.Installation()
	adminOpts := via(first)
	groups, err := armresources.NewResourceGroupsClient(inst.SubscriptionID, secretCredential(t, inst.TenantID, first.Creds.ClientID, first.Creds.ClientSecret, adminOpts),
		&arm.ClientOptions{ClientOptions: adminOpts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(ctx, "rg-snap", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + inst.SubscriptionID + "/resourceGroups/rg-snap"
	newReader := func(st store.Store, name string) snapshotPrincipal {
		created, err := directory.CreateServicePrincipal(ctx, st, inst.Keyring, directory.NewServicePrincipal{DisplayName: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Update(ctx, func(tx store.Tx) error {
			return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: uuid.NewString(), Scope: scope,
				RoleDefinitionID: readerRoleID, PrincipalID: created.Principal.ObjectID, PrincipalType: "ServicePrincipal"})
		}); err != nil {
			t.Fatal(err)
		}
		return snapshotPrincipal{created.Principal.ObjectID, created.Principal.AppID, created.Secret}
	}
	kept := newReader(inst.Store, "kept")
	doomed := newReader(inst.Store, "doomed")
	if err := first.Server.WaitFor(ctx, mustRevision(t, inst.Store)); err != nil {
		t.Fatal(err)
	}
	first.Stop(t) // writes the snapshots at shutdown
	for _, name := range []string{server.DirectorySnapshotFile, server.AuthzSnapshotFile} {
		fi, err := os.Stat(filepath.Join(opts.DataDir, name))
		if err != nil {
			t.Fatalf("no snapshot after shutdown: %v", err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}

	st, done := whileDown(t, first)
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		as, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{PrincipalID: doomed.objectID})
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil {
				return err
			}
		}
		return directory.DeletePrincipal(ctx, tx, doomed.objectID)
	}); err != nil {
		t.Fatal(err)
	}
	late := newReader(st, "late")
	done()

	check := func(t *testing.T, env *testenv.Env) {
		t.Helper()
		readGroup := func(p snapshotPrincipal) error {
			opts := via(env)
			c, err := armresources.NewResourceGroupsClient(inst.SubscriptionID, secretCredential(t, inst.TenantID, p.appID, p.secret, opts),
				&arm.ClientOptions{ClientOptions: opts})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Get(ctx, "rg-snap", nil)
			return err
		}
		if err := readGroup(kept); err != nil {
			t.Errorf("a principal and role from the snapshot: %v", err)
		}
		if err := readGroup(late); err != nil {
			t.Errorf("a principal and role created while the replica was down: %v", err)
		}
		if err := readGroup(doomed); err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
			t.Errorf("a principal deleted while the replica was down still signs in: %v", err)
		}
		if env.Server.Engine().Allowed(doomed.objectID, "Microsoft.Resources/subscriptions/resourceGroups/read", scope) {
			t.Error("a role assignment deleted while the replica was down still grants")
		}
	}

	second := start()
	if !second.Server.IndexesFromSnapshot() {
		t.Fatal("the restart read the whole store instead of its snapshots")
	}
	check(t, second)
	second.Stop(t)

	// A damaged snapshot is not used: the indexes come from the store.
	path := filepath.Join(opts.DataDir, server.AuthzSnapshotFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	third := start()
	if third.Server.IndexesFromSnapshot() {
		t.Fatal("a damaged snapshot was loaded")
	}
	check(t, third)
}

func mustRevision(t *testing.T, st store.Store) int64 {
	t.Helper()
	rev, err := st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestIndexSnapshotOfAnotherHistoryIsNotUsed: a store restored from a
// backup and then written past the snapshot's revision has a history the
// snapshot was not taken of. Loading it would keep role assignments the
// restored store never had (and replay would never remove them), so the
// replica must notice and read the store instead.
func TestIndexSnapshotOfAnotherHistoryIsNotUsed(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	backup := t.TempDir()
	db := filepath.Join(dir, bootstrap.SQLiteFile)
	copyDB := func(from, to string) {
		t.Helper()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(to + suffix)
			raw, err := os.ReadFile(from + suffix)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to+suffix, raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}

	first := testenv.Start(t, testenv.Options{DataDir: dir})
	sub := first.Creds.SubscriptionID
	first.Stop(t)
	copyDB(db, filepath.Join(backup, "keyless.db"))

	second := testenv.Start(t, testenv.Options{DataDir: dir})
	scope := "/subscriptions/" + sub
	principal := uuid.NewString()
	grantReader(t, second, principal, scope)
	if err := second.Server.WaitFor(ctx, mustRevision(t, second.Server.Installation().Store)); err != nil {
		t.Fatal(err)
	}
	snapRev := mustRevision(t, second.Server.Installation().Store)
	second.Stop(t) // the snapshot now holds the assignment

	copyDB(filepath.Join(backup, "keyless.db"), db)
	st, err := sqlstore.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for mustRevision(t, st) < snapRev+1 {
		if _, err := st.Update(ctx, func(tx store.Tx) error {
			return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: uuid.NewString(), Scope: scope,
				RoleDefinitionID: readerRoleID, PrincipalID: uuid.NewString(), PrincipalType: "ServicePrincipal"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	third := testenv.Start(t, testenv.Options{DataDir: dir})
	if third.Server.IndexesFromSnapshot() {
		t.Error("a snapshot of another history was loaded")
	}
	if third.Server.Engine().Allowed(principal, "Microsoft.Resources/subscriptions/resourceGroups/read", scope) {
		t.Error("an assignment the restored store does not hold still grants")
	}
}

// TestIndexSnapshotFarBehindIsNotReplayed: a store that changed more since
// the snapshot than replaying is worth (a bulk import, say) is read in
// full instead, and what changed is there either way.
func TestIndexSnapshotFarBehindIsNotReplayed(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		limit        int
		fromSnapshot bool
	}{
		{"within the limit", 0, true},
		{"past the limit", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			first := testenv.Start(t, testenv.Options{DataDir: dir})
			scope := "/subscriptions/" + first.Creds.SubscriptionID
			first.Stop(t) // writes the snapshots

			st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, bootstrap.SQLiteFile))
			if err != nil {
				t.Fatal(err)
			}
			var principals []string
			for range 5 {
				p := uuid.NewString()
				principals = append(principals, p)
				if _, err := st.Update(ctx, func(tx store.Tx) error {
					return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: uuid.NewString(), Scope: scope,
						RoleDefinitionID: readerRoleID, PrincipalID: p, PrincipalType: "ServicePrincipal"})
				}); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()

			second := testenv.Start(t, testenv.Options{DataDir: dir, MaxSnapshotReplay: tc.limit})
			if got := second.Server.IndexesFromSnapshot(); got != tc.fromSnapshot {
				t.Errorf("indexes from the snapshot: %v, want %v", got, tc.fromSnapshot)
			}
			for _, p := range principals {
				if !second.Server.Engine().Allowed(p, "Microsoft.Resources/subscriptions/resourceGroups/read", scope) {
					t.Errorf("an assignment made while the replica was down does not grant (%s)", p)
				}
			}
		})
	}
}
