// Package sqlstore owns the two SQL backends of store.Store: embedded SQLite
// (OpenSQLite) and PostgreSQL (OpenPostgres). Both run the same Go code and,
// where the dialects allow, the same SQL; the differences (placeholders,
// column types, locking, change notification) live in a dialect value.
//
// It owns the schema and its migrations, the global revision and the change
// feed. It must never interpret resource bodies, enforce authorization or
// hold a plaintext secret.
//
// Write transactions never lose an update and their revisions become
// visible in commit order, which is what lets a reader follow the change
// feed from the last revision it applied (asking for revision > last)
// without missing one. The backends get there differently:
//
//   - SQLite has a single write connection that begins with BEGIN
//     IMMEDIATE: writers run one at a time and bump the revision row.
//   - PostgreSQL runs Update at SERIALIZABLE and takes no lock while fn
//     runs, so writers on every replica run side by side. The database
//     aborts (40001) a transaction that could not have run in some serial
//     order with the others, and Update runs fn again; a read-modify-write
//     (UpdatePrincipal, PutResource) or a check-then-write (a role
//     assignment for a principal that exists, a cascade that lists what it
//     deletes) therefore behaves as if writers were serial. Only the tail
//     is serial: a writing transaction takes the commit lock (LOCK TABLE
//     revision IN EXCLUSIVE MODE), writes its change rows under the
//     revision after revision_seq, records it there and commits, and the
//     lock goes with the commit. So a revision is taken only after every
//     lower one has committed or failed. A COMMIT that fails after that
//     leaves a gap in the numbering, never a reordering. After a few
//     failed attempts Update takes the commit lock first, so that a hot
//     conflict still completes.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

const (
	// defaultChangesLimit is used when Changes is called with limit <= 0.
	defaultChangesLimit = 1000
	// maxUpdateAttempts bounds how often Update runs fn when PostgreSQL
	// reports a serialization failure, a deadlock or a commit that gave
	// way to a pessimistic attempt. Those from pessimisticAttempt on run
	// one at a time, so the later ones are there for the rare attempt that
	// still loses (to the deadlock detector, while queued).
	maxUpdateAttempts = 8
	// pessimisticAttempt is the first attempt that takes the commit lock
	// at its start: a transaction that lost this many races on hot rows
	// waits its turn instead of racing again.
	pessimisticAttempt = 4
)

// Store is a store.Store over database/sql. It is safe for concurrent use.
type Store struct {
	d *dialect
	// writer runs Update. For SQLite it is a pool of exactly one connection
	// (SQLite has one writer; queuing in Go beats spinning on SQLITE_BUSY).
	// For PostgreSQL it is the same pool as reader.
	writer *sql.DB
	// reader runs View, Revision and Changes.
	reader *sql.DB
	// writerStmts and readerStmts cache prepared statements per pool
	// (SQLite only; nil caches are no-ops).
	writerStmts, readerStmts *stmtCache

	hub hub

	// listener follows other replicas' commits (PostgreSQL only).
	listener *listener

	// contention follows how many retries recent optimistic updates
	// needed (PostgreSQL).
	contention contention

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Update runs fn in one read-write transaction; see the package comment.
// The transaction is rolled back if fn returns an error or panics (the panic
// continues after the rollback).
//
// On PostgreSQL a serialization failure or deadlock reported by the
// database makes Update run fn again, up to a few times, so fn must be safe
// to re-run: it must not have effects outside the Tx it is given.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	// Under contention an optimistic first attempt mostly buys a retry;
	// start pessimistic as often as recent updates needed one, so that
	// writers that keep colliding (neighbouring keys in one index page)
	// degrade to taking turns rather than to racing and retrying.
	first := 1
	if s.d.lockCommitsFirst != "" && rand.Float64() < s.contention.pessimism() {
		first = pessimisticAttempt
	}
	for attempt := first; ; attempt++ {
		rev, err := s.updateOnce(ctx, fn, attempt >= pessimisticAttempt)
		if err == nil || attempt == maxUpdateAttempts || !s.d.retryable(err) {
			if first == 1 {
				s.contention.observe(attempt - 1)
			}
			return rev, err
		}
		// Jitter so that the transactions that collided do not collide again.
		backoff := time.Duration(attempt) * (time.Millisecond + rand.N(5*time.Millisecond))
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("store: update: %w (after %w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
	}
}

// updateOnce runs fn once. pessimistic takes the commit lock before
// anything else (PostgreSQL), so that a transaction that keeps colliding
// runs alone: nothing can commit between its snapshot and its own commit.
func (s *Store) updateOnce(ctx context.Context, fn func(store.Tx) error, pessimistic bool) (int64, error) {
	sqlTx, err := s.writer.BeginTx(ctx, s.d.updateTxOptions)
	if err != nil {
		return 0, fmt.Errorf("store: begin update: %w", err)
	}
	// Deferred so that it also runs while a panic in fn unwinds; after a
	// commit it is a no-op.
	defer func() { _ = sqlTx.Rollback() }()

	var current int64
	if s.d.lockRevision != "" {
		if err := sqlTx.QueryRowContext(ctx, s.d.lockRevision).Scan(&current); err != nil {
			return 0, fmt.Errorf("store: lock revision: %w", mapErr(err))
		}
	}
	locked := false
	if pessimistic && s.d.lockCommitsFirst != "" {
		if _, err := sqlTx.ExecContext(ctx, s.d.lockCommitsFirst); err != nil {
			return 0, fmt.Errorf("store: lock commits: %w", mapErr(err))
		}
		locked = true
	}
	t := newTx(s.d, sqlTx, false, s.writerStmts)
	if err := fn(t); err != nil {
		return 0, err
	}
	if len(t.pending) == 0 {
		if t.unversioned {
			// Only usage aggregates were written: they commit without a
			// revision, as no index follows them.
			if err := sqlTx.Commit(); err != nil {
				return 0, fmt.Errorf("store: commit: %w", mapErr(err))
			}
		} else {
			// Nothing was written; rolling back ends the transaction so
			// that a write that forgot to record itself could not persist.
			_ = sqlTx.Rollback()
		}
		if s.d.lockRevision != "" {
			return current, nil
		}
		return s.Revision(ctx)
	}
	if !locked && s.d.lockCommits != "" {
		if _, err := sqlTx.ExecContext(ctx, s.d.lockCommits); err != nil {
			return 0, fmt.Errorf("store: lock commits: %w", mapErr(err))
		}
	}
	rev, err := t.commitChanges(ctx, current)
	if err != nil {
		return 0, err
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit revision %d: %w", rev, mapErr(err))
	}
	s.hub.broadcast()
	return rev, nil
}

// View runs fn in a read-only transaction with a consistent snapshot. Write
// methods of its Tx return store.ErrReadOnly.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.view(ctx, func(t *tx) error { return fn(t) })
}

func (s *Store) view(ctx context.Context, fn func(*tx) error) error {
	sqlTx, err := s.reader.BeginTx(ctx, s.d.viewTxOptions)
	if err != nil {
		return fmt.Errorf("store: begin view: %w", err)
	}
	defer func() { _ = sqlTx.Rollback() }()
	return fn(newTx(s.d, sqlTx, true, s.readerStmts))
}

// CompactChanges deletes change-feed entries recorded before olderThan.
// Every entry of a revision carries the same time, so whole revisions go.
// It writes no revision of its own: compaction changes no entity.
func (s *Store) CompactChanges(ctx context.Context, olderThan time.Time) (int64, error) {
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: begin compaction: %w", err)
	}
	defer func() { _ = sqlTx.Rollback() }()
	t := newTx(s.d, sqlTx, false, s.writerStmts)
	var compacted int64
	if err := t.queryRow(ctx, `SELECT value FROM compaction`).Scan(&compacted); err != nil {
		return 0, fmt.Errorf("store: read compaction: %w", mapErr(err))
	}
	var target sql.NullInt64
	if err := t.queryRow(ctx, `SELECT MAX(revision) FROM changes WHERE at < ?`, s.d.ts(olderThan.UTC())).Scan(&target); err != nil {
		return 0, fmt.Errorf("store: find compaction point: %w", mapErr(err))
	}
	if !target.Valid || target.Int64 <= compacted {
		return compacted, nil
	}
	if _, err := t.exec(ctx, `DELETE FROM changes WHERE revision <= ?`, target.Int64); err != nil {
		return 0, fmt.Errorf("store: compact changes: %w", err)
	}
	if _, err := t.exec(ctx, `UPDATE compaction SET value = ?`, target.Int64); err != nil {
		return 0, fmt.Errorf("store: record compaction: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit compaction: %w", mapErr(err))
	}
	return target.Int64, nil
}

// Revision is the newest committed revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.reader.QueryRowContext(ctx, s.d.revision).Scan(&rev); err != nil {
		return 0, fmt.Errorf("store: read revision: %w", mapErr(err))
	}
	return rev, nil
}

// Changes lists changes with revision > since, oldest first. It never splits
// a revision across pages: when limit cuts into one, the rest of that
// revision is returned too, so a reader that resumes from the last revision
// it received misses nothing. A page may therefore exceed limit.
func (s *Store) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = defaultChangesLimit
	}
	// One read transaction so that the completion query sees the same
	// snapshot as the page.
	var out []store.Change
	err := s.view(ctx, func(t *tx) error {
		// Same snapshot as the page: a compaction either committed before
		// it (and is seen here) or after it (and removed nothing it read).
		var compacted int64
		if err := t.queryRow(ctx, `SELECT value FROM compaction`).Scan(&compacted); err != nil {
			return mapErr(err)
		}
		if since < compacted {
			return store.ErrCompacted
		}
		page, lastSeq, err := t.queryChanges(ctx, `WHERE revision > ? ORDER BY revision, seq LIMIT ?`, since, limit)
		if err != nil {
			return err
		}
		out = page
		if len(page) < limit {
			return nil
		}
		rest, _, err := t.queryChanges(ctx, `WHERE revision = ? AND seq > ? ORDER BY seq`, page[len(page)-1].Revision, lastSeq)
		out = append(out, rest...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list changes since %d: %w", since, err)
	}
	return out, nil
}

// Notify returns a channel that receives a value, coalesced and without ever
// blocking a writer, whenever the revision may have advanced. It is closed
// when ctx ends or the store closes.
func (s *Store) Notify(ctx context.Context) <-chan struct{} {
	return s.hub.subscribe(ctx)
}

// Ping reports whether the database answers and, on PostgreSQL, whether the
// change-feed listener is connected (a replica without it serves stale
// indexes until it reconnects).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.name, err)
	}
	if s.listener != nil {
		if err := s.listener.healthy(); err != nil {
			return fmt.Errorf("store: ping %s: %w", s.d.name, err)
		}
	}
	return nil
}

// Backend names the implementation: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// Close stops the change-feed listener, closes every Notify channel and the
// database pools. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.listener != nil {
			s.listener.stop()
		}
		s.hub.close()
		s.writerStmts.close()
		s.readerStmts.close()
		err := s.reader.Close()
		if s.writer != s.reader {
			err = errors.Join(err, s.writer.Close())
		}
		s.writerStmts.wait()
		s.readerStmts.wait()
		if err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.d.name, err)
		}
	})
	return s.closeErr
}

// contention is an exponentially weighted average of the retries per
// optimistic update, over roughly the last sixteen, kept without a lock
// (a lost sample only shifts the average slightly).
type contention struct{ bits atomic.Uint64 }

func (c *contention) rate() float64 { return math.Float64frombits(c.bits.Load()) }

// pessimism is the share of updates to start pessimistic: the share of
// recent optimistic ones that needed a retry, but never all, so that some
// keep measuring and the store returns to racing when the conflicts end.
func (c *contention) pessimism() float64 { return min(c.rate(), 0.9) }

func (c *contention) observe(retries int) {
	const weight = 1.0 / 16
	r := c.rate()
	c.bits.Store(math.Float64bits(r + weight*(min(float64(retries), 1)-r)))
}
