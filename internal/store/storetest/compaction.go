package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

var compactionBehaviours = []behaviour{
	{"compaction/removes old revisions and makes readers behind it reload", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		put := func(key string) int64 {
			return update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutMeta(ctx, key, []byte("v")) })
		}
		first, second := put("a"), put("b")
		// Entries are timestamped at commit; everything so far is older
		// than this cut.
		time.Sleep(5 * time.Millisecond)
		cut := time.Now()
		time.Sleep(5 * time.Millisecond)
		third := put("c")

		compacted, err := s.CompactChanges(ctx, cut)
		if err != nil {
			t.Fatal(err)
		}
		if compacted != second {
			t.Fatalf("compacted through %d, want %d", compacted, second)
		}
		if _, err := s.Changes(ctx, first-1, 0); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("reader behind the compaction: err = %v, want ErrCompacted", err)
		}
		if _, err := s.Changes(ctx, first, 0); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("reader inside the compacted range: err = %v, want ErrCompacted", err)
		}
		got, err := s.Changes(ctx, second, 0)
		if err != nil || len(got) != 1 || got[0].Revision != third {
			t.Fatalf("reader at the compaction point: %v %+v", err, got)
		}
		if rev, _ := s.Revision(ctx); rev != third {
			t.Fatalf("compaction moved the revision to %d", rev)
		}
		// Nothing new to compact: the point stays.
		again, err := s.CompactChanges(ctx, cut)
		if err != nil || again != second {
			t.Fatalf("second compaction: %d %v", again, err)
		}
	}},
	{"compaction/of a fresh store is a no-op", func(t *testing.T, s store.Store) {
		got, err := s.CompactChanges(t.Context(), time.Now().Add(time.Hour))
		if err != nil || got != 0 {
			t.Fatalf("%d %v", got, err)
		}
		if _, err := s.Changes(t.Context(), 0, 0); err != nil {
			t.Fatal(err)
		}
	}},
}
