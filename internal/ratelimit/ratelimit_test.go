package ratelimit

import (
	"fmt"
	"sync"
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

func TestBucketTimeNeverRunsBack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := New(1, 2)
	b.Allow(t0)
	// A call that read the clock a little earlier must not take back the
	// tokens the bucket had.
	if ok, _ := b.Allow(t0.Add(-time.Hour)); !ok {
		t.Fatal("an out-of-order call drained the bucket")
	}
}

func TestBoundedKeyed(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name string
		run  func(t *testing.T, k *Keyed)
	}{
		{"holds no more than maxKeys buckets", func(t *testing.T, k *Keyed) {
			for i := range 100 {
				k.Allow(fmt.Sprint("addr", i), t0)
			}
			if n := k.Len(); n != 3 {
				t.Fatalf("%d buckets, want 3", n)
			}
		}},
		{"keys past the bound share one overflow bucket", func(t *testing.T, k *Keyed) {
			for i := range 3 {
				k.Allow(fmt.Sprint("held", i), t0)
			}
			// The overflow bucket has a burst of 2, whatever the key.
			for i, want := range []bool{true, true, false, false} {
				if ok, _ := k.Allow(fmt.Sprint("new", i), t0); ok != want {
					t.Fatalf("new key %d: allowed=%v, want %v", i, ok, want)
				}
			}
		}},
		{"held keys keep their own bucket when the table is full", func(t *testing.T, k *Keyed) {
			for i := range 3 {
				k.Allow(fmt.Sprint("held", i), t0)
			}
			for i := range 5 {
				k.Allow(fmt.Sprint("new", i), t0)
			}
			if ok, _ := k.Allow("held0", t0); !ok {
				t.Fatal("a held key was refused because of other keys")
			}
		}},
		{"idle keys make room for new ones", func(t *testing.T, k *Keyed) {
			for i := range 3 {
				k.Allow(fmt.Sprint("old", i), t0)
			}
			// Refilling a burst of 2 at 1/s takes 2s; after that an old
			// bucket is full again and forgetting it loses nothing.
			later := t0.Add(5 * time.Second)
			for i := range 3 {
				if ok, _ := k.Allow(fmt.Sprint("new", i), later); !ok {
					t.Fatalf("new key %d refused although the old keys are idle", i)
				}
			}
			k.mu.Lock()
			_, old := k.buckets["old0"]
			_, fresh := k.buckets["new2"]
			k.mu.Unlock()
			if old || !fresh {
				t.Fatalf("old0 held=%v new2 held=%v: want the idle key gone and the new one held", old, fresh)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, NewBoundedKeyed(1, 2, 3))
		})
	}
}

// TestBoundedKeyedConcurrent is for the race detector: many addresses at
// once, sweeps included, never more buckets than the bound.
func TestBoundedKeyedConcurrent(t *testing.T) {
	k := NewBoundedKeyed(1, 1, 64)
	t0 := time.Unix(1000, 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k.Allow(fmt.Sprint(g, "/", i), t0.Add(time.Duration(i)*10*time.Millisecond))
			}
		}()
	}
	wg.Wait()
	if n := k.Len(); n > 64 {
		t.Fatalf("%d buckets, bound 64", n)
	}
}
