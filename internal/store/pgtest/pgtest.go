// Package pgtest gives tests a private PostgreSQL schema on the server
// named by KEYLESS_TEST_POSTGRES (default: the local test database). Without
// a reachable server a test is skipped — or fails when CI=true, because CI
// must exercise the PostgreSQL backend.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema setup
)

// DefaultDSN is the database these machines provide.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns a DSN whose search_path is a fresh schema, dropped at
// cleanup. Without a reachable PostgreSQL the test is skipped, or fails
// when CI=true: CI must exercise this backend.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("KEYLESS_TEST_POSTGRES")
	if dsn == "" {
		dsn = DefaultDSN
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
	schema := "keyless_test_" + RandomHex(tb)
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
	return WithSearchPath(tb, dsn, schema)
}

// WithSearchPath points dsn at schema.
// withSearchPath sets search_path in a URL or keyword/value DSN.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
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

// RandomHex is a short random name part.
func RandomHex(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
