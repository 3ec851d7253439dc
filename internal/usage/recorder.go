// Package usage owns what keyless knows about each principal's use of its
// identity: the tokens issued to it, per audience and UTC day (first and
// last time, count), and the control-plane requests it made, per action,
// scope and outcome (allowed or denied by RBAC). Access reviews ("is this
// identity still used?", "which of its permissions does it use?") read it.
//
// A Recorder aggregates in memory and is called on the token hot path: it
// must never touch the store, block on I/O, or allocate for a key already
// seen in the current interval. A Flusher writes the aggregates to the
// store in batches, every interval and at shutdown; a replica that crashes
// loses at most the aggregates of one interval. Each replica flushes rows
// of its own (keyed by its replica ID), and Read merges them.
package usage

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// shardCount is the number of independently locked maps. Recording takes
// one shard's lock for a few map operations; with this many, two token
// grants on different cores rarely contend even for one principal's
// neighbours.
const shardCount = 64

// DefaultMaxKeys bounds the distinct keys held between flushes, so that
// an unbounded variety of audiences or scopes cannot grow memory without
// limit: past it, new keys are dropped (and counted) until the next flush.
const DefaultMaxKeys = 1 << 20

// Recorder aggregates usage in memory. It is safe for concurrent use; the
// zero value is not usable: call NewRecorder.
type Recorder struct {
	now     func() time.Time
	seed    maphash.Seed
	maxKeys int // per shard
	dropped atomic.Int64
	shards  [shardCount]shard
}

type shard struct {
	mu      sync.Mutex
	tokens  map[tokenKey]aggregate
	actions map[actionKey]aggregate
	// Keeps neighbouring shards' locks on separate cache lines.
	_ [64]byte
}

// tokenKey is one principal's tokens for one audience on one UTC day
// (days since the Unix epoch).
type tokenKey struct {
	principal, audience string
	day                 int32
}

// actionKey is one principal's requests for one action at one scope with
// one outcome, as the front door wrote them (case is folded at flush).
type actionKey struct {
	principal, action, scope string
	denied                   bool
}

// aggregate counts events between two times (Unix nanoseconds).
type aggregate struct {
	count       int64
	first, last int64
}

func (a aggregate) add(ns int64) aggregate {
	if a.count == 0 || ns < a.first {
		a.first = ns
	}
	if ns > a.last {
		a.last = ns
	}
	a.count++
	return a
}

// Options tune a Recorder.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxKeys bounds the keys held between flushes; 0 means DefaultMaxKeys.
	MaxKeys int
}

// NewRecorder returns an empty recorder.
func NewRecorder(opts Options) *Recorder {
	r := &Recorder{now: opts.Now, seed: maphash.MakeSeed(), maxKeys: opts.MaxKeys}
	if r.now == nil {
		r.now = time.Now
	}
	if r.maxKeys <= 0 {
		r.maxKeys = DefaultMaxKeys
	}
	r.maxKeys = max(1, r.maxKeys/shardCount)
	for i := range r.shards {
		r.shards[i].tokens = map[tokenKey]aggregate{}
		r.shards[i].actions = map[actionKey]aggregate{}
	}
	return r
}

func (r *Recorder) shard(principal string) *shard {
	return &r.shards[maphash.String(r.seed, principal)%shardCount]
}

const nanosPerDay = int64(24 * time.Hour)

// dayOf is the UTC day (since the epoch) of a Unix-nanosecond time.
func dayOf(ns int64) int32 {
	d := ns / nanosPerDay
	if ns < 0 && ns%nanosPerDay != 0 {
		d--
	}
	return int32(d)
}

// TokenIssued records one token minted for principalID with audience, now.
// It is called once per token grant, on every path that mints one.
func (r *Recorder) TokenIssued(principalID, audience string) {
	ns := r.now().UnixNano()
	k := tokenKey{principalID, audience, dayOf(ns)}
	sh := r.shard(principalID)
	sh.mu.Lock()
	a, ok := sh.tokens[k]
	if !ok && len(sh.tokens) >= r.maxKeys {
		sh.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	sh.tokens[k] = a.add(ns)
	sh.mu.Unlock()
}

// ActionPerformed records one control-plane request by principalID for
// action at scope, now; denied says RBAC refused it.
func (r *Recorder) ActionPerformed(principalID, action, scope string, denied bool) {
	ns := r.now().UnixNano()
	k := actionKey{principalID, action, scope, denied}
	sh := r.shard(principalID)
	sh.mu.Lock()
	a, ok := sh.actions[k]
	if !ok && len(sh.actions) >= r.maxKeys {
		sh.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	sh.actions[k] = a.add(ns)
	sh.mu.Unlock()
}

// Dropped is how many events were not recorded because the key bound was
// reached, since the recorder was made.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// drained is what one drain took out of the recorder.
type drained struct {
	tokens  []map[tokenKey]aggregate
	actions []map[actionKey]aggregate
}

// drain swaps every shard's maps for empty ones and returns the full ones.
// Each shard's lock is held only for the swap.
func (r *Recorder) drain() drained {
	var d drained
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		// Each new map starts at the size of the one it replaces, so that
		// the next interval's recording does not grow it.
		if t := sh.tokens; len(t) > 0 {
			sh.tokens = make(map[tokenKey]aggregate, len(t))
			d.tokens = append(d.tokens, t)
		}
		if a := sh.actions; len(a) > 0 {
			sh.actions = make(map[actionKey]aggregate, len(a))
			d.actions = append(d.actions, a)
		}
		sh.mu.Unlock()
	}
	return d
}
