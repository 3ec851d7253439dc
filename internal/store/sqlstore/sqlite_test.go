package sqlstore_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/store/storetest"
)

// openSQLite opens a store in a fresh temporary file, closed at cleanup.
func openSQLite(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "keyless.db"))
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

func TestSQLiteRefusesFilesItDoesNotOwn(t *testing.T) {
	tests := []struct {
		name    string
		create  func(t *testing.T, path string)
		wantErr string
	}{
		{"text file", writeFile([]byte("tenant: contoso\nthis is not a database at all\n")), "not a SQLite database"},
		{"file shorter than the SQLite header", writeFile([]byte("SQLite")), "not a SQLite database"},
		{"SQLite database of another application", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, stmt := range []string{
				`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`,
				`INSERT INTO users (name) VALUES ('alice')`,
			} {
				if _, err := db.Exec(stmt); err != nil {
					t.Fatal(err)
				}
			}
		}, "another application"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keyless.db")
			tc.create(t, path)
			// An old mtime makes any write visible even within the
			// file system's timestamp granularity.
			old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			before := snapshotDir(t, dir)

			s, err := sqlstore.OpenSQLite(t.Context(), path)
			if err == nil {
				s.Close()
				t.Fatal("OpenSQLite accepted the file")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not say %q", err, tc.wantErr)
			}
			if after := snapshotDir(t, dir); !slices.EqualFunc(before, after, fileState.equal) {
				t.Fatalf("directory changed:\n before %v\n after  %v", before, after)
			}
		})
	}
}

func TestSQLiteStartsInAnEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyless.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite on an empty file: %v", err)
	}
	s.Close()
}

func TestSQLiteReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyless.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("first open: %v", err)
	}
	rev, err := s.Update(ctx, func(tx store.Tx) error { return tx.PutMeta(ctx, "tenant", []byte("t-1")) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		s, err := sqlstore.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		wantReopened(t, s, rev)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var migrations int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	if err := db.QueryRow(`SELECT count(*) FROM keyless_schema_version WHERE version_id > 0`).Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if migrations != len(files) {
		t.Errorf("%d migrations recorded, want %d (one per file, each once)", migrations, len(files))
	}
}

// wantReopened checks that a reopened store kept its data and revision.
func wantReopened(t *testing.T, s store.Store, rev int64) {
	t.Helper()
	ctx := t.Context()
	got, err := s.Revision(ctx)
	if err != nil || got != rev {
		t.Fatalf("Revision = %d, %v; want %d", got, err, rev)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		v, err := tx.GetMeta(ctx, "tenant")
		if err == nil && string(v) != "t-1" {
			t.Errorf("tenant = %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(content []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// fileState is what a test compares to prove a file was left alone.
type fileState struct {
	name    string
	content []byte
	modTime time.Time
}

func (a fileState) equal(b fileState) bool {
	return a.name == b.name && bytes.Equal(a.content, b.content) && a.modTime.Equal(b.modTime)
}

func (a fileState) String() string {
	return a.name + "@" + a.modTime.String()
}

// snapshotDir reads every file of dir, so that new side files (-wal, -shm,
// -journal) count as changes too.
func snapshotDir(t *testing.T, dir string) []fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []fileState
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		content, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fileState{e.Name(), content, info.ModTime()})
	}
	return out
}
