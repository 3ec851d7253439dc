package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
)

// upgradeBackends are the dialects whose migrations are tested from every
// earlier version. fresh gives an empty database and opens the current
// store on it.
var upgradeBackends = []struct {
	name  string
	d     *dialect
	goose goose.Dialect
	fresh func(t *testing.T) (db *sql.DB, open func(context.Context) (*Store, error))
}{
	{"sqlite", sqliteDialect, goose.DialectSQLite3, func(t *testing.T) (*sql.DB, func(context.Context) (*Store, error)) {
		path := filepath.Join(t.TempDir(), "k.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		return db, func(ctx context.Context) (*Store, error) { return OpenSQLite(ctx, path) }
	}},
	{"postgres", postgresDialect, goose.DialectPostgres, func(t *testing.T) (*sql.DB, func(context.Context) (*Store, error)) {
		dsn := pgtest.DSN(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		return db, func(ctx context.Context) (*Store, error) { return OpenPostgres(ctx, dsn) }
	}},
}

// TestUpgradeFromEveryEarlierVersion builds a store at each earlier schema
// version, on each backend, writes data the way that version could, then
// opens it with the current code: the data must survive and the newest
// features must work on it.
func TestUpgradeFromEveryEarlierVersion(t *testing.T) {
	for _, b := range upgradeBackends {
		files, err := fs.ReadDir(migrationsFS, "migrations/"+b.name)
		if err != nil {
			t.Fatal(err)
		}
		// Versions are read from the file names: numbers may have gaps
		// while migrations are written in parallel.
		for _, f := range files[:len(files)-1] {
			v, err := goose.NumericComponent(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			t.Run(b.name+"/"+filepath.Base(f.Name()), func(t *testing.T) {
				ctx := context.Background()
				db, open := b.fresh(t)
				sub, _ := fs.Sub(migrationsFS, "migrations/"+b.name)
				p, err := goose.NewProvider(b.goose, db, sub, goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.UpTo(ctx, v); err != nil {
					t.Fatal(err)
				}
				// Data as version 1 stores it.
				for _, stmt := range []struct {
					query string
					args  []any
				}{
					{`UPDATE revision SET value = 7`, nil},
					{`INSERT INTO meta (key, value) VALUES ('tenant', ?)`, []any{[]byte("t1")}},
					{`INSERT INTO changes (revision, seq, kind, key, op, at) VALUES (7, 1, 'meta', 'tenant', 'put', ?)`,
						[]any{b.d.ts(time.Now().Add(-time.Hour))}},
					{`INSERT INTO subscriptions (id_lower, id, display_name, state, created_at) VALUES ('abc-sub', 'AbC-Sub', 'Default', 'Enabled', ?)`,
						[]any{b.d.ts(t0)}},
					{`INSERT INTO principals (object_id, app_id, display_name, kind, resource_id, resource_id_lower, created_at)
						VALUES ('sp-1', 'app-1', 'old-sp', 'ServicePrincipal', '', '', ?)`, []any{b.d.ts(t0)}},
					{`INSERT INTO credentials (principal_id, id, kind, secret_hash, hint, not_before, created_at)
						VALUES ('sp-1', 'c-1', 'secret', ?, 'kls~abc', ?, ?)`, []any{[]byte("hash"), b.d.ts(t0), b.d.ts(t0)}},
				} {
					if _, err := db.ExecContext(ctx, b.d.rebind(stmt.query), stmt.args...); err != nil {
						t.Fatalf("%s: %v", stmt.query, err)
					}
				}
				db.Close()

				s, err := open(ctx)
				if err != nil {
					t.Fatalf("open after upgrade: %v", err)
				}
				defer s.Close()
				wantUpgradedData(t, s)
				if got, err := s.CompactChanges(ctx, time.Now()); err != nil || got != 7 {
					t.Fatalf("compaction on an upgraded store: %d %v", got, err)
				}
				wantNewestFeatures(t, s)
			})
		}
	}
}

// t0 is a fixture time at the microsecond precision every backend keeps.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

// wantUpgradedData checks that the data written before the upgrade reads
// back, new columns at their zero values.
func wantUpgradedData(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	err := s.View(ctx, func(tx store.Tx) error {
		tenant, err := tx.GetMeta(ctx, "tenant")
		if err != nil || string(tenant) != "t1" {
			t.Fatalf("meta lost in the upgrade: %q %v", tenant, err)
		}
		sub, err := tx.GetSubscription(ctx, "abc-sub")
		want := store.Subscription{ID: "AbC-Sub", DisplayName: "Default", State: "Enabled", CreatedAt: t0}
		if err != nil || sub != want {
			t.Fatalf("subscription after the upgrade: %+v %v, want %+v (under the tenant root)", sub, err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rev, _ := s.Revision(ctx); rev != 7 {
		t.Fatalf("revision %d after upgrade", rev)
	}
}

// wantNewestFeatures moves the old subscription under a new management
// group and records a deployment with operations at it.
func wantNewestFeatures(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	const scope = "/subscriptions/AbC-Sub"
	rev, err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutManagementGroup(ctx, store.ManagementGroup{Name: "tenant-root", CreatedAt: t0}); err != nil {
			return err
		}
		if _, err := tx.PutManagementGroup(ctx, store.ManagementGroup{Name: "Prod", ParentName: "tenant-root", CreatedAt: t0}); err != nil {
			return err
		}
		err := tx.UpdateSubscription(ctx, "abc-sub", func(s store.Subscription) (store.Subscription, error) {
			s.ManagementGroupName = "Prod"
			return s, nil
		})
		if err != nil {
			return err
		}
		d := store.Deployment{Scope: scope, Name: "main", State: store.DeploymentSucceeded, Document: []byte(`{}`), Template: []byte(`{}`)}
		if _, err := tx.PutDeployment(ctx, d); err != nil {
			return err
		}
		return tx.PutDeploymentOperations(ctx, scope, "main", []store.DeploymentOperation{{OperationID: "1", Document: []byte(`{}`)}})
	})
	if err != nil || rev != 8 {
		t.Fatalf("write of the newest entities on an upgraded store: revision %d, %v", rev, err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		subs, err := tx.ListSubscriptions(ctx)
		if err != nil || len(subs) != 1 || subs[0].ManagementGroupName != "Prod" {
			t.Fatalf("subscriptions after the move: %+v %v", subs, err)
		}
		ops, err := tx.ListDeploymentOperations(ctx, scope, "main")
		if err != nil || len(ops) != 1 {
			t.Fatalf("deployment operations: %+v %v", ops, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteManagementGroup(ctx, "prod") })
	if !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("delete of the group holding the upgraded subscription: %v, want ErrNotEmpty", err)
	}
	wantUsageFlush(t, s)
	wantActivityLog(t, s)
	wantGraphObjects(t, s)
}

// wantGraphObjects (00006): a credential written before the upgrade reads
// back without a display name; applications, group owners and directory
// role assignments can be written for a principal that predates them.
func wantGraphObjects(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	_, err := s.Update(ctx, func(tx store.Tx) error {
		creds, err := tx.ListCredentials(ctx, "sp-1")
		if err != nil || len(creds) != 1 || creds[0].DisplayName != "" || creds[0].Hint != "kls~abc" {
			t.Fatalf("credential after the upgrade: %+v %v", creds, err)
		}
		if err := tx.CreateApplication(ctx, store.Application{ObjectID: "app-obj", AppID: "app-1", DisplayName: "old-sp", CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: "g-1", DisplayName: "g", Kind: store.PrincipalGroup, CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.AddGroupOwner(ctx, "g-1", "sp-1"); err != nil {
			return err
		}
		return tx.CreateDirectoryRoleAssignment(ctx, store.DirectoryRoleAssignment{ID: "ra-1", RoleDefinitionID: "r", PrincipalID: "sp-1", DirectoryScopeID: "/", CreatedAt: t0})
	})
	if err != nil {
		t.Fatalf("Graph objects on an upgraded store: %v", err)
	}
}

// wantActivityLog appends to the activity log (00005) on the upgraded
// store, lists it and compacts it: no revision.
func wantActivityLog(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	e := store.ActivityEvent{ID: "e1", Time: t0, SubscriptionID: "AbC-Sub", ResourceID: "/subscriptions/AbC-Sub",
		Action: "Microsoft.Resources/subscriptions/resourceGroups/write", Status: "Succeeded", HTTPStatus: 201}
	rev, err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendActivity(ctx, []store.ActivityEvent{e})
		return err
	})
	if err != nil || rev != 8 {
		t.Fatalf("activity append on an upgraded store: revision %d, %v", rev, err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		got, err := tx.ListActivity(ctx, store.ActivityFilter{SubscriptionID: "abc-sub"})
		if err != nil || len(got) != 1 || got[0].ID != "e1" {
			t.Fatalf("activity after the append: %+v %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, func(tx store.Tx) error {
		n, err := tx.CompactActivity(ctx, t0.Add(time.Second))
		if err == nil && n != 1 {
			t.Fatalf("compacted %d events, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wantUsageFlush flushes usage (00004) on the upgraded store: no revision,
// and the rows read back merged.
func wantUsageFlush(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	day := t0.Truncate(24 * time.Hour)
	b := store.UsageBatch{Replica: "r1", Seq: 1,
		Tokens:  []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: day, Count: 2, First: t0, Last: t0}},
		Actions: []store.ActionUsage{{PrincipalID: "p1", Action: "a/read", Scope: "/subscriptions/AbC-Sub", Count: 1, First: t0, Last: t0}},
	}
	rev, err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.MergeUsage(ctx, b)
		return err
	})
	if err != nil || rev != 8 {
		t.Fatalf("usage flush on an upgraded store: revision %d, %v", rev, err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		u, err := tx.ListUsage(ctx, store.UsageFilter{PrincipalIDs: []string{"p1"}})
		if err != nil || len(u.Tokens) != 1 || u.Tokens[0].Count != 2 || len(u.Actions) != 1 {
			t.Fatalf("usage after the flush: %+v %v", u, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrationsGoDownAndBackUp runs every Down migration, newest first,
// then every Up again, on each backend: a release can be rolled back.
func TestMigrationsGoDownAndBackUp(t *testing.T) {
	for _, b := range upgradeBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := b.fresh(t)
			defer db.Close()
			sub, _ := fs.Sub(migrationsFS, "migrations/"+b.name)
			p, err := goose.NewProvider(b.goose, db, sub, goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up: %v", err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatalf("down: %v", err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
		})
	}
}
