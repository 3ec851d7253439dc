package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := New(2, 3)
	for i := 0; i < 3; i++ {
		if ok, _ := b.Allow(t0); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := b.Allow(t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok=%v wait=%s, want refusal and 500ms", ok, wait)
	}
	if ok, _ := b.Allow(t0.Add(500 * time.Millisecond)); !ok {
		t.Fatal("refused after refilling one token")
	}
	if RetryAfterSeconds(10*time.Millisecond) != 1 || RetryAfterSeconds(1500*time.Millisecond) != 2 {
		t.Fatal("RetryAfterSeconds must round up to at least 1")
	}
	if ok, _ := New(0, 0).Allow(t0); !ok {
		t.Fatal("a zero rate must not limit")
	}
}

func TestKeyedForgetsIdleKeys(t *testing.T) {
	k := NewKeyed(1, 1)
	t0 := time.Unix(1000, 0)
	k.Allow("a", t0)
	if ok, _ := k.Allow("a", t0); ok {
		t.Fatal("second request of key a allowed")
	}
	if ok, _ := k.Allow("b", t0); !ok {
		t.Fatal("keys must not share a bucket")
	}
	k.Allow("c", t0.Add(2*time.Minute)) // sweeps
	k.mu.Lock()
	n := len(k.buckets)
	k.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
}
