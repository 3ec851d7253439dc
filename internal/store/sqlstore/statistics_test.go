package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
)

// TestPostgresRefreshStatistics: after many writes to a table its
// statistics are gathered (the planner's row estimate follows), and a
// second refresh with nothing changed analyzes nothing.
func TestPostgresRefreshStatistics(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := openPostgresAt(t, dsn)
	ctx := t.Context()
	if _, err := s.Update(ctx, func(tx store.Tx) error {
		for i := range 500 {
			oid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: oid, AppID: "10000000" + oid[8:], DisplayName: "p", Kind: store.PrincipalServicePrincipal, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL publishes a backend's table counters shortly after its
	// transaction ends, not at commit: wait for them rather than race.
	var analyzed []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err := s.RefreshStatistics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if analyzed = append(analyzed, got...); slices.Contains(analyzed, "principals") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("principals never analyzed; analyzed %v", analyzed)
		}
		time.Sleep(200 * time.Millisecond)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tuples float64
	var last sql.NullTime
	if err := db.QueryRowContext(ctx, `SELECT c.reltuples, s.last_analyze FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE s.schemaname = current_schema() AND s.relname = 'principals'`).Scan(&tuples, &last); err != nil {
		t.Fatal(err)
	}
	if tuples != 500 || !last.Valid {
		t.Errorf("principals: reltuples %v, last_analyze %v; want 500 and a time", tuples, last)
	}
	// Counters settle as above; once they have, nothing is stale.
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err := s.RefreshStatistics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(got, "principals") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("principals analyzed again and again: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSQLiteRefreshStatisticsIsANoOp: SQLite plans without statistics, so
// nothing is analyzed (which would change the plans TestListPlansSeek pins).
func TestSQLiteRefreshStatisticsIsANoOp(t *testing.T) {
	s := openSQLite(t)
	got, err := s.RefreshStatistics(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("RefreshStatistics = %v, %v", got, err)
	}
}
