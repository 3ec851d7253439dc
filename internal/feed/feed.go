// Package feed follows the store's change feed and hands each batch of
// changes to the in-memory indexes of this replica (directory, signing
// keys, RBAC engine, token caches).
//
// It gives two guarantees the rest of the server relies on: a replica
// applies every committed revision in order (polling covers a lost
// notification), and WaitFor lets a handler make its own write visible to
// this replica's indexes before it answers (read-your-writes).
package feed

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Applier is an in-memory index kept current from the change feed. Apply
// must be idempotent: after a restart of the follower a change can be seen
// twice, and applying it must re-read current state rather than assume.
type Applier interface {
	Apply(ctx context.Context, changes []store.Change) error
}

// Reloader is an index that can rebuild itself from the store. Every index
// given to a follower must be one: when the feed was compacted past the
// revision the follower had applied (a replica that was cut off for long),
// the missed changes are gone and only a full reload is correct.
type Reloader interface {
	Reload(ctx context.Context) error
}

// Index is an Applier and Reloader made of two functions.
type Index struct {
	OnChanges func(ctx context.Context, changes []store.Change) error
	OnReload  func(ctx context.Context) error
}

// Apply calls OnChanges.
func (i Index) Apply(ctx context.Context, changes []store.Change) error {
	return i.OnChanges(ctx, changes)
}

// Reload calls OnReload.
func (i Index) Reload(ctx context.Context) error { return i.OnReload(ctx) }

// index is what a follower needs of each index it feeds.
type index interface {
	Applier
	Reloader
}

// PollInterval bounds how stale a replica can be if a notification is lost.
const PollInterval = 500 * time.Millisecond

const batchSize = 1000

// Follower applies changes after a starting revision.
type Follower struct {
	st  store.Store
	log *slog.Logger

	mu       sync.Mutex // serialises catch-up
	appliers []index
	rev      int64
	advanced chan struct{} // closed and replaced whenever rev moves
}

// New starts following after revision since; the indexes given to Add must
// reflect at least that revision.
func New(st store.Store, since int64, log *slog.Logger) *Follower {
	return &Follower{st: st, log: log, rev: since, advanced: make(chan struct{})}
}

// Add registers an index. Call before Run.
func (f *Follower) Add(a index) { f.appliers = append(f.appliers, a) }

// Revision is the newest revision applied.
func (f *Follower) Revision() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rev
}

// Run follows until ctx ends.
func (f *Follower) Run(ctx context.Context) {
	notify := f.st.Notify(ctx)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-notify:
			if !ok {
				return
			}
		case <-tick.C:
		}
		if err := f.CatchUp(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("change feed catch-up failed; will retry", "err", err)
		}
	}
}

// CatchUp applies every change committed so far.
func (f *Follower) CatchUp(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		changes, err := f.st.Changes(ctx, f.rev, batchSize)
		if errors.Is(err, store.ErrCompacted) {
			if err := f.reload(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		// The store never splits a revision across pages (store.Store
		// contract), so every page ends on a whole revision, however many
		// changes one revision holds.
		last := changes[len(changes)-1].Revision
		for _, a := range f.appliers {
			if err := a.Apply(ctx, changes); err != nil {
				return err
			}
		}
		f.rev = last
		close(f.advanced)
		f.advanced = make(chan struct{})
	}
}

// reload rebuilds every index from the store and resumes after the revision
// read before the rebuild: the indexes then reflect at least that revision,
// and replaying changes after it is harmless.
func (f *Follower) reload(ctx context.Context) error {
	rev, err := f.st.Revision(ctx)
	if err != nil {
		return err
	}
	f.log.Warn("change feed compacted past this replica's position; reloading every index", "from", f.rev, "to", rev)
	for _, a := range f.appliers {
		if err := a.Reload(ctx); err != nil {
			return err
		}
	}
	f.rev = rev
	close(f.advanced)
	f.advanced = make(chan struct{})
	return nil
}

// WaitFor returns once revision rev has been applied to every index.
func (f *Follower) WaitFor(ctx context.Context, rev int64) error {
	if f.Revision() >= rev {
		return nil
	}
	if err := f.CatchUp(ctx); err != nil {
		return err
	}
	for {
		f.mu.Lock()
		done, ch := f.rev >= rev, f.advanced
		f.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-time.After(PollInterval):
			if err := f.CatchUp(ctx); err != nil {
				return err
			}
		}
	}
}
