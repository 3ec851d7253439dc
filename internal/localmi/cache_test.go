package localmi

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

type countingFetcher struct {
	n    atomic.Int64
	err  atomic.Pointer[error]
	gate chan struct{}
}

func (f *countingFetcher) Fetch(ctx context.Context, resource string, sel workload.Selector) (Token, error) {
	f.n.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if e := f.err.Load(); e != nil {
		return Token{}, *e
	}
	now := time.Now()
	return Token{AccessToken: "t", Resource: resource, ExpiresOn: now.Add(time.Hour), RefreshAt: now.Add(30 * time.Minute)}, nil
}

func TestCacheSharesOneFetch(t *testing.T) {
	f := &countingFetcher{gate: make(chan struct{})}
	c := NewCache(f, time.Minute)
	c.SetConnected(true)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "aud", workload.Selector{}); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f.gate)
	wg.Wait()
	if f.n.Load() != 1 {
		t.Fatalf("%d fetches for one key, want 1", f.n.Load())
	}
	if _, err := c.Get(context.Background(), "aud", workload.Selector{}); err != nil || f.n.Load() != 1 {
		t.Fatalf("cached get fetched again (%d) or failed: %v", f.n.Load(), err)
	}
	if _, _ = c.Get(context.Background(), "aud", workload.Selector{Kind: workload.SelectClientID, Value: "x"}); f.n.Load() != 2 {
		t.Fatal("another selector must be another key")
	}
}

func TestCacheInvalidateAndErrors(t *testing.T) {
	f := &countingFetcher{}
	c := NewCache(f, time.Minute)
	c.SetConnected(true)
	ctx := context.Background()
	_, _ = c.Get(ctx, "aud", workload.Selector{})
	c.Invalidate()
	_, _ = c.Get(ctx, "aud", workload.Selector{})
	if f.n.Load() != 2 {
		t.Fatalf("%d fetches, want 2 (invalidation drops the token)", f.n.Load())
	}
	var refused error = &workloadapi.APIError{Status: 400, Code: "invalid_request"}
	f.err.Store(&refused)
	c.Invalidate()
	if _, err := c.Get(ctx, "aud", workload.Selector{}); err != refused {
		t.Fatalf("err = %v", err)
	}
	if !Definitive(refused) || Definitive(&workloadapi.APIError{Status: 429}) || Definitive(context.DeadlineExceeded) {
		t.Fatal("Definitive misclassifies")
	}
	f.err.Store(nil)
	if _, err := c.Get(ctx, "aud", workload.Selector{}); err != nil {
		t.Fatalf("errors must not be cached: %v", err)
	}
}

func TestCachePollsWhileDisconnected(t *testing.T) {
	f := &countingFetcher{}
	c := NewCache(f, time.Minute)
	now := time.Now()
	c.now = func() time.Time { return now }
	ctx := context.Background()
	_, _ = c.Get(ctx, "aud", workload.Selector{})
	_, _ = c.Get(ctx, "aud", workload.Selector{})
	if f.n.Load() != 1 {
		t.Fatalf("%d fetches within the poll interval, want 1", f.n.Load())
	}
	now = now.Add(61 * time.Second)
	_, _ = c.Get(ctx, "aud", workload.Selector{})
	if f.n.Load() != 2 {
		t.Fatalf("%d fetches after the poll interval, want 2", f.n.Load())
	}
}
