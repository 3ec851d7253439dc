package sqlstore_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
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

// TestPostgresConcurrentWritersOnTwoReplicas runs writers on two stores at
// once, some of them incrementing one shared counter, while a follower polls
// the change feed as an index does (revision > the last it applied). Every
// Update must commit, no increment may be lost, and the feed must hold
// exactly the revisions Update returned, in order, all of which the
// follower saw: a revision that became visible after a higher one would be
// skipped by it.
func TestPostgresConcurrentWritersOnTwoReplicas(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	replicas := []store.Store{openPostgresAt(t, dsn), openPostgresAt(t, dsn)}

	stop := make(chan struct{})
	followed := make(chan []int64, 1)
	go func() {
		var seen []int64
		var last int64
		poll := func() bool {
			cs, err := replicas[1].Changes(ctx, last, 7)
			if err != nil {
				t.Errorf("follower: %v", err)
				return false
			}
			for _, c := range cs {
				if c.Revision != last {
					seen = append(seen, c.Revision)
					last = c.Revision
				}
			}
			return len(cs) > 0
		}
		for {
			select {
			case <-stop:
				for poll() {
				}
				followed <- seen
				return
			default:
				if !poll() {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}()

	const writersPerReplica, updatesPerWriter, incrementEvery = 8, 40, 4
	var (
		mu         sync.Mutex
		returned   = map[int64]bool{}
		increments int
		wg         sync.WaitGroup
	)
	for r, s := range replicas {
		for w := range writersPerReplica {
			wg.Go(func() {
				for i := range updatesPerWriter {
					increment := i%incrementEvery == 0
					rev, err := s.Update(ctx, func(tx store.Tx) error {
						if err := tx.PutMeta(ctx, fmt.Sprintf("w%d-%d-%d", r, w, i), []byte("x")); err != nil {
							return err
						}
						if !increment {
							return nil
						}
						v, err := tx.GetMeta(ctx, "counter")
						if err != nil && !errors.Is(err, store.ErrNotFound) {
							return err
						}
						n, _ := strconv.Atoi(string(v))
						return tx.PutMeta(ctx, "counter", []byte(strconv.Itoa(n+1)))
					})
					if err != nil {
						t.Errorf("replica %d writer %d update %d: %v", r, w, i, err)
						continue
					}
					mu.Lock()
					returned[rev] = true
					if increment {
						increments++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	seen := <-followed

	var counter []byte
	if err := replicas[0].View(ctx, func(tx store.Tx) (err error) {
		counter, err = tx.GetMeta(ctx, "counter")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := string(counter); got != strconv.Itoa(increments) {
		t.Errorf("counter = %s after %d committed increments", got, increments)
	}
	all, err := replicas[0].Changes(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var feed []int64
	for _, c := range all {
		if n := len(feed); n > 0 && c.Revision < feed[n-1] {
			t.Fatalf("change feed goes back from %d to %d", feed[n-1], c.Revision)
		}
		if n := len(feed); n == 0 || c.Revision != feed[n-1] {
			feed = append(feed, c.Revision)
		}
	}
	want := slices.Sorted(maps.Keys(returned))
	if !slices.Equal(feed, want) {
		t.Errorf("the feed holds %d revisions, Update returned %d distinct ones", len(feed), len(want))
	}
	if !slices.Equal(seen, feed) {
		t.Errorf("the follower saw %d revisions, the feed holds %d", len(seen), len(feed))
	}
	if head, err := replicas[1].Revision(ctx); err != nil || len(feed) == 0 || head != feed[len(feed)-1] {
		t.Errorf("Revision() = %d, %v; the feed ends at %v", head, err, feed[len(feed)-1:])
	}
	if n := len(feed); n != writersPerReplica*updatesPerWriter*2 {
		t.Errorf("%d revisions for %d updates", n, writersPerReplica*updatesPerWriter*2)
	}
	t.Logf("%d updates, %d increments, revisions %d..%d", len(feed), increments, feed[0], feed[len(feed)-1])
}
