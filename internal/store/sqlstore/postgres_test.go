package sqlstore_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/store/storetest"
)

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
	return openPostgresAt(tb, pgtest.DSN(tb))
}

func TestPostgresConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

func TestPostgresReplicasFollowEachOther(t *testing.T) {
	dsn := pgtest.DSN(t)
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
	dsn := pgtest.DSN(t)
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
	dsn := pgtest.DSN(t)
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
	dsn := pgtest.WithSearchPath(t, pgtest.DSN(t), "keyless_absent_"+pgtest.RandomHex(t))
	s, err := sqlstore.OpenPostgres(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("OpenPostgres accepted a search_path naming no existing schema")
	}
	if !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("error %q does not mention search_path", err)
	}
}
