// Package activity owns the activity log's write path: a replica's
// control-plane events held in memory and written to the store in batches.
//
// Recording an event never touches the store: the request that caused it
// only appends to a bounded buffer. A flush every interval (a second by
// default), and one more when the server stops, writes the buffer in one
// transaction that bumps no revision. So a crash loses at most the events
// of one interval, and a store that refuses writes for long loses the
// oldest events beyond the buffer's bound (logged), never the request.
//
// It never records a request body, an error message or a secret: callers
// hand it identifiers, the action, the scope and the outcome.
package activity

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/wiretext"
)

// DefaultFlushInterval is how often a replica writes its events when the
// server is not told otherwise: what a crash can lose.
const DefaultFlushInterval = time.Second

// DefaultRetention is how long events are kept when the server is not told
// otherwise, as Azure keeps its activity log for 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// DefaultMaxBuffered bounds the events a replica holds while the store
// refuses its flushes.
const DefaultMaxBuffered = 100_000

// maxTextBytes bounds each text field of an event: paths are the
// caller's to choose, and the log must not become a place to store them.
const maxTextBytes = 2048

// Log buffers events and writes them to the store.
type Log struct {
	Store store.Store
	// Interval between flushes; 0 means DefaultFlushInterval.
	Interval time.Duration
	// MaxBuffered bounds the buffer; 0 means DefaultMaxBuffered.
	MaxBuffered int
	Logger      *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	pending []store.ActivityEvent
	dropped int
	// flushMu serialises flushes, so that a flush asked for by a read and
	// the periodic one never write the same events concurrently.
	flushMu sync.Mutex
}

// Record buffers one event. It never blocks on the store. Text that no
// store can keep (a NUL, invalid UTF-8) is replaced and long text cut, so
// that one odd request can never make a whole batch fail.
func (l *Log) Record(e store.ActivityEvent) {
	clean(&e)
	max := l.MaxBuffered
	if max <= 0 {
		max = DefaultMaxBuffered
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) >= max {
		// The oldest go first: the newest say most about now.
		drop := len(l.pending) - max + 1
		l.pending = append(l.pending[:0], l.pending[drop:]...)
		l.dropped += drop
	}
	l.pending = append(l.pending, e)
}

// Buffered says how many events wait for a flush.
func (l *Log) Buffered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// Run flushes every interval until ctx ends. It does not flush at the end:
// the server calls Flush once more after it stops serving, so that nothing
// recorded during the drain is lost.
func (l *Log) Run(ctx context.Context) {
	interval := l.Interval
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
			l.logger().Warn("activity log flush failed; the events are kept and sent again", "err", err, "buffered", l.Buffered())
		}
	}
}

// Flush writes every buffered event in one transaction. Events that
// failed to be written stay buffered, ahead of newer ones, and are sent
// again by the next flush; the store skips those a lost answer hid the
// commit of.
func (l *Log) Flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if dropped > 0 {
		l.logger().Warn("activity log buffer full: oldest events dropped", "dropped", dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	now := l.now()
	for i := range batch {
		batch[i].SubmittedAt = now
	}
	_, err := l.Store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendActivity(ctx, batch)
		return err
	})
	if err != nil {
		l.mu.Lock()
		l.pending = append(batch, l.pending...)
		l.mu.Unlock()
		return err
	}
	return nil
}

// Compact deletes events older than retention; the server's maintenance
// job calls it.
func (l *Log) Compact(ctx context.Context, retention time.Duration) (int, error) {
	if retention <= 0 {
		retention = DefaultRetention
	}
	var n int
	_, err := l.Store.Update(ctx, func(tx store.Tx) (err error) {
		n, err = tx.CompactActivity(ctx, l.now().Add(-retention))
		return err
	})
	return n, err
}

func (l *Log) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Log) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// clean makes every text field of e storable on every backend.
func clean(e *store.ActivityEvent) {
	for _, s := range []*string{
		&e.ID, &e.SubscriptionID, &e.ResourceGroup, &e.ResourceID, &e.ResourceProvider, &e.ResourceType,
		&e.Action, &e.Scope, &e.Method, &e.Status, &e.ErrorCode, &e.CorrelationID, &e.RequestID,
		&e.ClientRequestID, &e.ClientAddress, &e.CallerObjectID, &e.CallerAppID, &e.CallerTenantID,
	} {
		*s = storable(*s)
	}
}

func storable(s string) string {
	if len(s) > maxTextBytes {
		s = s[:maxTextBytes]
	}
	if wiretext.Check(s) == nil {
		return s
	}
	b := []rune{}
	for _, r := range []rune(s) {
		if r == 0 {
			r = '\uFFFD'
		}
		b = append(b, r)
	}
	return string(b)
}
