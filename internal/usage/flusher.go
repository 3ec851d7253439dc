package usage

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/wiretext"
)

// DefaultFlushInterval is how often a replica writes its aggregates when
// the server is not told otherwise: what a crash can lose.
const DefaultFlushInterval = 5 * time.Second

// DefaultRetention is how long usage is kept when the server is not told
// otherwise: the window of "unused for 90 days" reviews.
const DefaultRetention = 90 * 24 * time.Hour

// maxQueuedRows bounds what a replica keeps while the store refuses its
// flushes: past it the oldest batches are dropped, and logged.
const maxQueuedRows = 1 << 20

// Flusher writes a Recorder's aggregates to the store as batches of this
// replica's rows.
//
// Batches are merged in order, each in one store transaction that writes
// no revision. A batch that failed is kept and sent again, first, at the
// next flush, under the same sequence number: if its commit went through
// and only the answer was lost, the store recognises the number and adds
// nothing, so a retried flush never counts twice.
type Flusher struct {
	Recorder *Recorder
	Store    store.Store
	// Replica is this server process's ID; its rows are its own.
	Replica string
	// Interval between flushes; 0 means DefaultFlushInterval.
	Interval time.Duration
	Logger   *slog.Logger

	mu      sync.Mutex
	queue   []store.UsageBatch
	lastSeq int64
}

// Run flushes every interval until ctx ends. It does not flush at the
// end: the server calls Flush once more after it stops serving, so that
// nothing recorded during the drain is lost.
func (f *Flusher) Run(ctx context.Context) {
	interval := f.Interval
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
		if err := f.Flush(ctx); err != nil && ctx.Err() == nil {
			f.logger().Warn("usage flush failed; the batch is kept and retried at the next flush", "err", err)
		}
	}
}

func (f *Flusher) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

// Flush drains the recorder and merges everything not yet merged. It
// returns the first store error; what failed stays queued.
func (f *Flusher) Flush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.batch(); ok {
		f.queue = append(f.queue, b)
		f.bound()
	}
	for len(f.queue) > 0 {
		b := f.queue[0]
		_, err := f.Store.Update(ctx, func(tx store.Tx) error {
			_, err := tx.MergeUsage(ctx, b)
			return err
		})
		if err != nil {
			return fmt.Errorf("usage: flush batch %d of replica %s (%d token rows, %d action rows): %w", b.Seq, b.Replica, len(b.Tokens), len(b.Actions), err)
		}
		f.queue[0] = store.UsageBatch{}
		f.queue = f.queue[1:]
	}
	return nil
}

// batch turns what the recorder holds into the next batch. Keys holding
// text no store keeps (a NUL, invalid UTF-8) are dropped here rather than
// failing every flush after them; the front doors refuse such input
// before it is recorded, so this is a backstop.
func (f *Flusher) batch() (store.UsageBatch, bool) {
	d := f.Recorder.drain()
	b := store.UsageBatch{Replica: f.Replica}
	for _, m := range d.tokens {
		for k, a := range m {
			if !storable(k.principal, k.audience) {
				continue
			}
			b.Tokens = append(b.Tokens, store.TokenUsage{
				PrincipalID: k.principal, Audience: k.audience,
				Day:   time.Unix(0, int64(k.day)*nanosPerDay).UTC(),
				Count: a.count, First: time.Unix(0, a.first).UTC(), Last: time.Unix(0, a.last).UTC(),
			})
		}
	}
	for _, m := range d.actions {
		for k, a := range m {
			if !storable(k.principal, k.action, k.scope) {
				continue
			}
			b.Actions = append(b.Actions, store.ActionUsage{
				PrincipalID: k.principal, Action: k.action, Scope: k.scope, Denied: k.denied,
				Count: a.count, First: time.Unix(0, a.first).UTC(), Last: time.Unix(0, a.last).UTC(),
			})
		}
	}
	if len(b.Tokens)+len(b.Actions) == 0 {
		return b, false
	}
	// The store keeps the casing of an action and scope first merged:
	// the earliest request's.
	slices.SortFunc(b.Actions, func(x, y store.ActionUsage) int { return x.First.Compare(y.First) })
	// Sequence numbers must grow across restarts of a replica that keeps
	// its ID: the wall clock does, and the counter covers a clock that
	// stands still or steps back.
	f.lastSeq = max(f.lastSeq+1, time.Now().UnixNano())
	b.Seq = f.lastSeq
	return b, true
}

// bound drops the oldest queued batches while the queue holds too much.
func (f *Flusher) bound() {
	rows := 0
	for _, b := range f.queue {
		rows += len(b.Tokens) + len(b.Actions)
	}
	for len(f.queue) > 1 && rows > maxQueuedRows {
		old := f.queue[0]
		rows -= len(old.Tokens) + len(old.Actions)
		f.queue = f.queue[1:]
		f.logger().Error("usage: the store refused flushes for too long; dropped the oldest unflushed batch",
			"seq", old.Seq, "tokenRows", len(old.Tokens), "actionRows", len(old.Actions))
	}
}

func storable(texts ...string) bool {
	for _, s := range texts {
		if wiretext.Check(s) != nil {
			return false
		}
	}
	return true
}
