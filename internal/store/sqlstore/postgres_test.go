package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema setup

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/store/storetest"
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// postgresDSN returns a DSN whose search_path is a fresh schema, dropped at
// cleanup. Without a reachable PostgreSQL the test is skipped, or fails
// when CI=true: CI must exercise this backend.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("KEYLESS_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	admin, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(tb.Context(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL unreachable (KEYLESS_TEST_POSTGRES): %v", err)
		}
		tb.Skipf("PostgreSQL unreachable, skipping; set KEYLESS_TEST_POSTGRES to a reachable database: %v", err)
	}
	schema := "keyless_test_" + randomHex(tb)
	if _, err := admin.ExecContext(tb.Context(), `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		// tb.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return withSearchPath(tb, dsn, schema)
}

// withSearchPath sets search_path in a URL or keyword/value DSN.
func withSearchPath(tb testing.TB, dsn, schema string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("KEYLESS_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// openPostgresAt opens a store on dsn, closed at cleanup.
func openPostgresAt(tb testing.TB, dsn string) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.OpenPostgres(tb.Context(), dsn)
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// openPostgres opens a store in a fresh schema.
func openPostgres(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	return openPostgresAt(tb, postgresDSN(tb))
}

func TestPostgresConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

func TestPostgresReplicasFollowEachOther(t *testing.T) {
	dsn := postgresDSN(t)
	a, b := openPostgresAt(t, dsn), openPostgresAt(t, dsn)
	ctx := t.Context()
	for _, tc := range []struct {
		name            string
		writer, watcher store.Store
	}{
		{"a to b", a, b},
		{"b to a", b, a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, err := tc.watcher.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wake := tc.watcher.Notify(ctx)
			rev, err := tc.writer.Update(ctx, func(tx store.Tx) error { return tx.PutMeta(ctx, tc.name, []byte("x")) })
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-wake:
			case <-time.After(10 * time.Second):
				t.Fatal("the other replica was not notified")
			}
			cs, err := tc.watcher.Changes(ctx, seen, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].Revision != rev || cs[0].Key != tc.name {
				t.Fatalf("other replica's changes since %d = %+v, want the put of %q at %d", seen, cs, tc.name, rev)
			}
		})
	}
}

func TestPostgresReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := t.Context()
	dsn := postgresDSN(t)
	s, err := sqlstore.OpenPostgres(ctx, dsn)
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
		s, err := sqlstore.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		wantReopened(t, s, rev)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPostgresReplicasStartingTogetherMigrateOnce(t *testing.T) {
	dsn := postgresDSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			s, err := sqlstore.OpenPostgres(t.Context(), dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
}

func TestPostgresRefusesAMissingSchema(t *testing.T) {
	dsn := withSearchPath(t, postgresDSN(t), "keyless_absent_"+randomHex(t))
	s, err := sqlstore.OpenPostgres(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("OpenPostgres accepted a search_path naming no existing schema")
	}
	if !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("error %q does not mention search_path", err)
	}
}
