package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/snapshot"
	"github.com/keyless-io/keyless/internal/store"
)

// Index snapshots (package snapshot) are kept in the data directory, one
// per index. They are a cache: a replica that finds usable ones loads
// its directory and RBAC engine from them and replays the change feed
// from their revision, and one that does not (first start, snapshots
// disabled, damaged, of another tenant, newer than the store, or older
// than the change feed's retention) reads everything from the store and
// writes them afterwards.
const (
	DirectorySnapshotFile = "index-directory.snapshot"
	AuthzSnapshotFile     = "index-authz.snapshot"
)

// snapshotRefresh is how many revisions may pass before a new snapshot is
// written sooner than the interval: replaying the feed re-reads each
// changed key, so a long tail would slow the next start.
const snapshotRefresh = 20000

// snapshots is what the server remembers of the snapshots it wrote.
type snapshots struct {
	mu      sync.Mutex // one writer at a time
	rev     int64      // revision of the newest snapshot on disk (or loaded)
	written time.Time
}

func (s *Server) snapshotPath(name string) string { return filepath.Join(s.inst.DataDir, name) }

// loadSnapshots loads both indexes from their snapshots and returns the
// revision the change feed must be replayed from; ok is false when a full
// load is needed, and why says why.
func (s *Server) loadSnapshots(ctx context.Context) (since int64, ok bool) {
	if s.cfg.DisableIndexSnapshots {
		return 0, false
	}
	log := s.cfg.Logger
	fail := func(why string, err error) (int64, bool) {
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			log.Info("no index snapshot; loading the indexes from the store")
		} else {
			log.Warn("index snapshot not used; loading the indexes from the store", "why", why, "err", err)
		}
		return 0, false
	}
	st := s.inst.Store
	storeRev, err := st.Revision(ctx)
	if err != nil {
		return fail("store revision", err)
	}
	rd, err := snapshot.Open(s.snapshotPath(DirectorySnapshotFile))
	if err != nil {
		return fail("directory snapshot", err)
	}
	ra, err := snapshot.Open(s.snapshotPath(AuthzSnapshotFile))
	if err != nil {
		rd.Close()
		return fail("authz snapshot", err)
	}
	closeBoth := func() { rd.Close(); ra.Close() }
	for _, h := range []snapshot.Header{rd.Header, ra.Header} {
		switch {
		case h.Tenant != s.inst.TenantID:
			closeBoth()
			return fail("the snapshot is of tenant "+h.Tenant, nil)
		case h.Revision > storeRev:
			// The store was replaced or restored from an older backup.
			closeBoth()
			return fail("the snapshot is newer than the store", nil)
		}
	}
	since = min(rd.Header.Revision, ra.Header.Revision)
	for _, h := range []snapshot.Header{rd.Header, ra.Header} {
		anchor, err := historyAnchor(ctx, st, h.Revision)
		if err != nil {
			closeBoth()
			return fail("the change feed no longer reaches back to the snapshot", err)
		}
		if anchor != h.Anchor {
			closeBoth()
			return fail("the store's history differs from the snapshot's (restored from a backup?)", nil)
		}
	}
	// A snapshot far behind the store (a bulk import since, say) is not
	// worth its replay: the feed is replayed change by change, each one
	// re-reading what it names, where the full load streams the tables.
	// At 1M identities a snapshot loads about four times faster than the
	// store (measured); taking a replayed change to cost as much as
	// loading ten records (an estimate: replaying the 6M changes of a
	// bulk seed had not finished after 3.5 minutes), reading the store is
	// the faster way to ready past roughly a twelfth of what the
	// snapshots hold (some 40 bytes a record).
	limit := s.cfg.MaxSnapshotReplay
	if limit <= 0 {
		limit = max(10_000, int((rd.Size+ra.Size)/512))
	}
	if n, err := changesAfter(ctx, st, since, limit+1); err != nil {
		closeBoth()
		return fail("the change feed after the snapshot", err)
	} else if n > limit {
		closeBoth()
		return fail(fmt.Sprintf("the store changed in more than %d ways since the snapshot; reading it is faster than replaying them", limit), nil)
	}
	var g errgroup.Group
	g.Go(func() error { return s.dir.LoadSnapshot(ctx, rd) })
	g.Go(func() error { return s.engine.LoadSnapshot(ctx, st, ra) })
	if err := g.Wait(); err != nil {
		closeBoth() // a no-op on a reader already closed
		return fail("reading the snapshot", err)
	}
	s.snaps.rev, s.snaps.written = since, rd.Header.Written
	if ra.Header.Written.Before(s.snaps.written) {
		s.snaps.written = ra.Header.Written
	}
	log.Info("indexes loaded from their snapshots", "revision", since, "storeRevision", storeRev,
		"written", s.snaps.written.Format(time.RFC3339))
	return since, true
}

// changesAfter counts the change-feed entries after revision since, up to
// at most limit.
func changesAfter(ctx context.Context, st store.Store, since int64, limit int) (int, error) {
	changes, err := st.Changes(ctx, since, limit)
	return len(changes), err
}

// historyAnchor fingerprints the store's history at revision rev: a
// digest of the changes recorded under it, which a store restored from an
// older backup and written past rev since would not repeat (their keys
// hold fresh GUIDs). It fails with store.ErrCompacted once the feed no
// longer holds them, and then a snapshot at rev is not used either: the
// replay from it would be incomplete anyway.
func historyAnchor(ctx context.Context, st store.Store, rev int64) ([32]byte, error) {
	if rev <= 0 {
		return [32]byte{}, nil
	}
	// Changes never splits a revision, so one change asked for brings
	// the whole of rev's.
	changes, err := st.Changes(ctx, rev-1, 1)
	if err != nil {
		return [32]byte{}, err
	}
	var lines []string
	for _, c := range changes {
		if c.Revision == rev {
			lines = append(lines, fmt.Sprintf("%s\x00%s\x00%s", c.Kind, c.Key, c.Op))
		}
	}
	slices.Sort(lines)
	return sha256.Sum256([]byte(strings.Join(lines, "\n"))), nil
}

// writeSnapshots writes both snapshots at the revision the change feed has
// applied, unless the newest ones on disk are already at it.
func (s *Server) writeSnapshots(ctx context.Context) error {
	if s.cfg.DisableIndexSnapshots {
		return nil
	}
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	rev := s.follower.Revision()
	if rev == s.snaps.rev && !s.snaps.written.IsZero() {
		return nil
	}
	for _, name := range []string{DirectorySnapshotFile, AuthzSnapshotFile} {
		if err := snapshot.RemoveStale(s.snapshotPath(name)); err != nil {
			s.cfg.Logger.Warn("removing an unfinished index snapshot failed", "err", err)
		}
	}
	began := time.Now()
	anchor, err := historyAnchor(ctx, s.inst.Store, rev)
	if err != nil {
		return err
	}
	h := snapshot.Header{Tenant: s.inst.TenantID, Revision: rev, Anchor: anchor, Written: began.UTC()}
	for _, x := range []struct {
		name, kind string
		write      func(context.Context, *snapshot.Writer) error
	}{
		{DirectorySnapshotFile, directory.SnapshotKind, s.dir.WriteSnapshot},
		{AuthzSnapshotFile, authz.SnapshotKind, s.engine.WriteSnapshot},
	} {
		h.Kind = x.kind
		w, err := snapshot.Create(s.snapshotPath(x.name), h)
		if err != nil {
			return err
		}
		if err := x.write(ctx, w); err != nil {
			w.Abort()
			return err
		}
		if err := w.Commit(); err != nil {
			return err
		}
	}
	s.snaps.rev, s.snaps.written = rev, began
	var size int64
	for _, name := range []string{DirectorySnapshotFile, AuthzSnapshotFile} {
		if fi, err := os.Stat(s.snapshotPath(name)); err == nil {
			size += fi.Size()
		}
	}
	s.cfg.Logger.Info("wrote the index snapshots", "revision", rev, "bytes", size,
		"seconds", time.Since(began).Round(time.Millisecond).Seconds())
	return nil
}

// keepSnapshots writes the snapshots at once when the indexes were read
// from the store (so that the next start is fast even after a crash), and
// then whenever snapshotRefresh revisions have passed or the interval has
// and anything changed.
func (s *Server) keepSnapshots(ctx context.Context, fromStore bool) {
	if s.cfg.DisableIndexSnapshots {
		return
	}
	write := func() {
		if err := s.writeSnapshots(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("writing the index snapshots failed; will retry", "err", err)
		}
	}
	if fromStore {
		write()
		// The first write after reading the store comes while the load's
		// garbage is still being returned, and its own working memory
		// (scope and role numbering, buffers) would otherwise stay
		// resident for minutes: at 1M identities 2.1 GiB instead of
		// settling at 1.7-1.9. Later writes are rare and left to the
		// scavenger.
		debug.FreeOSMemory()
	}
	every(ctx, time.Minute, func() {
		s.snaps.mu.Lock()
		behind, age := s.follower.Revision()-s.snaps.rev, time.Since(s.snaps.written)
		s.snaps.mu.Unlock()
		if behind >= snapshotRefresh || behind > 0 && age >= s.cfg.SnapshotInterval {
			write()
		}
	})
}

// replaySinceSnapshot brings every index from the snapshots' revision to
// the store's current one before the replica calls itself ready.
func (s *Server) replaySinceSnapshot(ctx context.Context, since int64) error {
	began := time.Now()
	if err := s.follower.CatchUp(ctx); err != nil {
		return fmt.Errorf("replaying the change feed after the index snapshots: %w", err)
	}
	s.cfg.Logger.Info("replayed the change feed after the index snapshots", "from", since, "to", s.follower.Revision(),
		"seconds", time.Since(began).Round(time.Millisecond).Seconds())
	return nil
}

// snapshotAtShutdown writes the snapshots once the feed has stopped, so
// that a planned restart replays nothing.
func (s *Server) snapshotAtShutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.writeSnapshots(ctx); err != nil {
		s.cfg.Logger.Warn("writing the index snapshots at shutdown failed; the next start replays the change feed or reads the store", "err", err)
	}
}
