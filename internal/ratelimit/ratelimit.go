// Package ratelimit holds the token buckets that protect the managed-identity
// endpoints (per host on the agent, per launch in `keyless run`, per grant
// and per agent on the server) and the token service's failed client
// authentications (per source address). Real IMDS throttles the same way
// (reference §12.3) and the clients retry 429 with the Retry-After they are
// given.
//
// It knows nothing about HTTP; callers turn a refusal into 429 + Retry-After.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket: Rate tokens per second up to Burst. A Bucket
// with Rate <= 0 allows everything.
type Bucket struct {
	rate  float64
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// New returns a full bucket. rate <= 0 disables limiting; burst < 1 is
// raised to 1 (or to rate, when that is larger).
func New(rate float64, burst int) *Bucket {
	b := float64(burst)
	if b < 1 {
		b = math.Max(1, rate)
	}
	return &Bucket{rate: rate, burst: b, tokens: b}
}

// Allow takes one token at now. When none is left it reports how long until
// one will be, so the caller can send Retry-After.
func (b *Bucket) Allow(now time.Time) (bool, time.Duration) {
	if b == nil || b.rate <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.last) {
		// Callers read the clock before taking the lock, so concurrent
		// calls can arrive slightly out of order; time never runs back.
		now = b.last
	}
	if !b.last.IsZero() {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return false, wait
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least 1, for the
// Retry-After header (clients parse it as an integer).
func RetryAfterSeconds(wait time.Duration) int {
	s := int(math.Ceil(wait.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// Keyed holds one bucket per key (grant, agent, source address),
// forgetting keys idle for longer than a full refill so that memory stays
// bounded by the active set. A forgotten bucket was full again, so
// forgetting it changes no answer.
type Keyed struct {
	rate  float64
	burst int
	// maxKeys bounds the buckets held when the keys are chosen by whoever
	// is limited (source addresses): past it, new keys share overflow.
	maxKeys  int
	overflow *Bucket

	mu      sync.Mutex
	buckets map[string]*Bucket
	swept   time.Time
}

// NewKeyed returns per-key buckets with the given rate and burst, for keys
// the server itself vouches for (grants, agents): their number is bounded
// by what exists.
func NewKeyed(rate float64, burst int) *Keyed {
	return &Keyed{rate: rate, burst: burst, buckets: map[string]*Bucket{}}
}

// NewBoundedKeyed is NewKeyed for keys an attacker can mint, such as source
// addresses: it holds at most maxKeys buckets. When that many keys are
// active, a new key draws from one overflow bucket shared by every key not
// held, so an attacker with many addresses can neither grow memory without
// bound nor escape the limit by cycling through addresses.
func NewBoundedKeyed(rate float64, burst, maxKeys int) *Keyed {
	k := NewKeyed(rate, burst)
	k.maxKeys = maxKeys
	k.overflow = New(rate, burst)
	return k
}

// Allow takes one token from key's bucket.
func (k *Keyed) Allow(key string, now time.Time) (bool, time.Duration) {
	if k == nil || k.rate <= 0 {
		return true, 0
	}
	k.mu.Lock()
	if now.Sub(k.swept) > time.Minute {
		k.sweep(now)
	}
	b := k.buckets[key]
	if b == nil && k.full() && now.Sub(k.swept) >= time.Second {
		// Sweep early, but at most once a second: a sweep walks every
		// bucket, and a flood of new keys must not make each request do so.
		k.sweep(now)
	}
	switch {
	case b != nil:
	case k.full():
		b = k.overflow
	default:
		b = New(k.rate, k.burst)
		k.buckets[key] = b
	}
	// Taken under k.mu so that a sweep never sees a new bucket before its
	// first use (it would look idle since forever).
	defer k.mu.Unlock()
	return b.Allow(now)
}

// Len is the number of buckets held (not counting the overflow bucket).
func (k *Keyed) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

func (k *Keyed) full() bool { return k.maxKeys > 0 && len(k.buckets) >= k.maxKeys }

// Forget drops key's bucket (a revoked grant).
func (k *Keyed) Forget(key string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	delete(k.buckets, key)
	k.mu.Unlock()
}

func (k *Keyed) sweep(now time.Time) {
	k.swept = now
	refill := time.Duration(float64(k.burst)/k.rate*float64(time.Second)) + time.Second
	for key, b := range k.buckets {
		b.mu.Lock()
		idle := now.Sub(b.last) > refill
		b.mu.Unlock()
		if idle {
			delete(k.buckets, key)
		}
	}
}
