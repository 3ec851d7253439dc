package e2e

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
)

// TestPostgresStatisticsRefreshedAtStart: a replica started on a store
// written in bulk while no replica ran (a seed, a restore) analyzes it at
// once rather than after a minute of planning lists as if every table
// were tiny.
func TestPostgresStatisticsRefreshedAtStart(t *testing.T) {
	dsn := pgtest.DSN(t)
	master := keyring.EncodeKey(keyring.Generate())
	first := testenv.Start(t, testenv.Options{StoreDSN: dsn, MasterKey: master})
	st := first.Server.Installation().Store
	ctx := t.Context()
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		for i := range 500 {
			oid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: oid, AppID: "10000000" + oid[8:], DisplayName: "p",
				Kind: store.PrincipalServicePrincipal, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first.Stop(t)

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stat := func(column string) (v sql.NullFloat64) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT `+column+` FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'principals'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// PostgreSQL publishes a backend's counters shortly after its
	// transaction ends: wait until the table shows as changed.
	for deadline := time.Now().Add(30 * time.Second); stat("n_mod_since_analyze").Float64 < 500; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writes never showed in pg_stat_user_tables")
		}
	}

	testenv.Start(t, testenv.Options{StoreDSN: dsn, MasterKey: master, PublicURL: first.Server.BaseURL()})
	// The periodic refresh comes a minute after start; this waits for
	// less than that.
	for deadline := time.Now().Add(30 * time.Second); !stat("extract(epoch FROM last_analyze)").Valid; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("principals not analyzed at start")
		}
	}
}
