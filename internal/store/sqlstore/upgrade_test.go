package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/keyless-io/keyless/internal/store"
)

// TestUpgradeFromEveryEarlierVersion builds a SQLite store at each earlier
// schema version, writes data the way that version could, then opens it
// with the current code: the data must survive and the newest features
// must work on it.
func TestUpgradeFromEveryEarlierVersion(t *testing.T) {
	files, err := fs.ReadDir(migrationsFS, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	for v := int64(1); v < int64(len(files)); v++ {
		t.Run(filepath.Base(files[v-1].Name()), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "k.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			sub, _ := fs.Sub(migrationsFS, "migrations/sqlite")
			p, err := goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, v); err != nil {
				t.Fatal(err)
			}
			// Data as version 1 stores it.
			if _, err := db.Exec(`UPDATE revision SET value = 7`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO meta (key, value) VALUES ('tenant', x'7431')`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO changes (revision, seq, kind, key, op, at) VALUES (7, 1, 'meta', 'tenant', 'put', ?)`,
				time.Now().Add(-time.Hour).UTC().Format(sqliteTimeLayout)); err != nil {
				t.Fatal(err)
			}
			db.Close()

			s, err := OpenSQLite(ctx, path)
			if err != nil {
				t.Fatalf("open after upgrade: %v", err)
			}
			defer s.Close()
			var tenant []byte
			if err := s.View(ctx, func(tx store.Tx) error {
				tenant, err = tx.GetMeta(ctx, "tenant")
				return err
			}); err != nil || string(tenant) != "t1" {
				t.Fatalf("data lost in the upgrade: %q %v", tenant, err)
			}
			if rev, _ := s.Revision(ctx); rev != 7 {
				t.Fatalf("revision %d after upgrade", rev)
			}
			if got, err := s.CompactChanges(ctx, time.Now()); err != nil || got != 7 {
				t.Fatalf("compaction on an upgraded store: %d %v", got, err)
			}
		})
	}
}
