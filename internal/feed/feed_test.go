package feed_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/feed"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// recorder is an index that remembers every change it was given.
type recorder struct {
	mu      sync.Mutex
	keys    map[string]int
	reloads int
}

func (r *recorder) Reload(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reloads++
	return nil
}

func (r *recorder) Apply(_ context.Context, changes []store.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range changes {
		r.keys[c.Key]++
	}
	return nil
}

// A revision larger than a page (deleting a group that holds thousands of
// role assignments) must reach the indexes whole: a missed change would
// leave a replica granting access that was revoked.
func TestWaitForAppliesRevisionsLargerThanAPage(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	since, _ := st.Revision(ctx)
	f := feed.New(st, since, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := &recorder{keys: map[string]int{}}
	f.Add(rec)

	tests := []struct {
		name string
		n    int
	}{
		{"one change", 1},
		{"exactly a page", 1000},
		{"more than a page in one revision", 2500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			rev, err := st.Update(ctx, func(tx store.Tx) error {
				for range tc.n {
					a := store.RoleAssignment{Name: uuid.NewString(), Scope: "/", RoleDefinitionID: "r", PrincipalID: uuid.NewString(), PrincipalType: "User"}
					names = append(names, a.Name)
					if err := tx.CreateRoleAssignment(ctx, a); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.WaitFor(ctx, rev); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, n := range names {
				if rec.keys[n] == 0 {
					t.Fatalf("change %s never reached the index", n)
				}
			}
			if f.Revision() != rev {
				t.Fatalf("follower at %d, want %d", f.Revision(), rev)
			}
		})
	}
}

// A replica that fell behind a compaction cannot replay what it missed: it
// must reload every index, then follow on.
func TestFollowerBehindACompactionReloads(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(key string) int64 {
		rev, err := st.Update(ctx, func(tx store.Tx) error { return tx.PutMeta(ctx, key, []byte("v")) })
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	f := feed.New(st, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := &recorder{keys: map[string]int{}}
	f.Add(rec)
	put("a")
	missed := put("b")
	time.Sleep(5 * time.Millisecond)
	if _, err := st.CompactChanges(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	after := put("c")
	if err := f.WaitFor(ctx, after); err != nil {
		t.Fatal(err)
	}
	// The reload read the store at revision `after`: it covers "c".
	next := put("d")
	if err := f.WaitFor(ctx, next); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.reloads != 1 || missed >= after {
		t.Fatalf("%d reloads, want 1", rec.reloads)
	}
	if rec.keys["d"] != 1 || f.Revision() != next {
		t.Fatalf("did not follow on after the reload: keys %v, at %d", rec.keys, f.Revision())
	}
}
