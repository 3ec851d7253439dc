package usage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2025, 3, 4, 23, 59, 0, 0, time.UTC)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// event is one recorded call at a time.
type event struct {
	at        time.Time
	principal string
	audience  string // a token when set
	action    string // else a request
	scope     string
	denied    bool
}

func TestRecorderAggregates(t *testing.T) {
	day := func(t time.Time) time.Time { return t.Truncate(24 * time.Hour) }
	tests := []struct {
		name        string
		events      []event
		wantTokens  []store.TokenUsage
		wantActions []store.ActionUsage
	}{
		{
			name: "tokens of one audience on one day count up, first and last kept",
			events: []event{
				{at: t0, principal: "p1", audience: "aud"},
				{at: t0.Add(-time.Hour), principal: "p1", audience: "aud"},
				{at: t0.Add(30 * time.Second), principal: "p1", audience: "aud"},
			},
			wantTokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: day(t0), Count: 3, First: t0.Add(-time.Hour), Last: t0.Add(30 * time.Second)}},
		},
		{
			name: "a token after UTC midnight counts on the next day",
			events: []event{
				{at: t0, principal: "p1", audience: "aud"},
				{at: t0.Add(2 * time.Minute), principal: "p1", audience: "aud"},
			},
			wantTokens: []store.TokenUsage{
				{PrincipalID: "p1", Audience: "aud", Day: day(t0), Count: 1, First: t0, Last: t0},
				{PrincipalID: "p1", Audience: "aud", Day: day(t0).Add(24 * time.Hour), Count: 1, First: t0.Add(2 * time.Minute), Last: t0.Add(2 * time.Minute)},
			},
		},
		{
			name: "audiences and principals are counted apart",
			events: []event{
				{at: t0, principal: "p1", audience: "a"},
				{at: t0, principal: "p1", audience: "b"},
				{at: t0, principal: "p2", audience: "a"},
			},
			wantTokens: []store.TokenUsage{
				{PrincipalID: "p1", Audience: "a", Day: day(t0), Count: 1, First: t0, Last: t0},
				{PrincipalID: "p1", Audience: "b", Day: day(t0), Count: 1, First: t0, Last: t0},
				{PrincipalID: "p2", Audience: "a", Day: day(t0), Count: 1, First: t0, Last: t0},
			},
		},
		{
			name: "requests count per action, scope and outcome; case folds in the store",
			events: []event{
				{at: t0, principal: "p1", action: "Microsoft.Web/sites/read", scope: "/subscriptions/S/resourceGroups/RG"},
				{at: t0.Add(time.Second), principal: "p1", action: "microsoft.web/sites/read", scope: "/subscriptions/s/resourcegroups/rg"},
				{at: t0.Add(2 * time.Second), principal: "p1", action: "Microsoft.Web/sites/write", scope: "/subscriptions/S/resourceGroups/RG", denied: true},
			},
			wantActions: []store.ActionUsage{
				{PrincipalID: "p1", Action: "Microsoft.Web/sites/read", Scope: "/subscriptions/S/resourceGroups/RG", Count: 2, First: t0, Last: t0.Add(time.Second)},
				{PrincipalID: "p1", Action: "Microsoft.Web/sites/write", Scope: "/subscriptions/S/resourceGroups/RG", Denied: true, Count: 1, First: t0.Add(2 * time.Second), Last: t0.Add(2 * time.Second)},
			},
		},
		{
			name: "keys no store can hold are dropped at flush, the rest kept",
			events: []event{
				{at: t0, principal: "p1", audience: "a\x00"},
				{at: t0, principal: "p1", audience: "ok"},
				{at: t0, principal: "p1", action: "x/read", scope: "/\xff"},
			},
			wantTokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "ok", Day: day(t0), Count: 1, First: t0, Last: t0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{}
			r := NewRecorder(Options{Now: c.now})
			for _, e := range tc.events {
				c.set(e.at)
				if e.audience != "" {
					r.TokenIssued(e.principal, e.audience)
				} else {
					r.ActionPerformed(e.principal, e.action, e.scope, e.denied)
				}
			}
			s := openStore(t)
			f := &Flusher{Recorder: r, Store: s, Replica: "r1"}
			if err := f.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := list(t, s)
			if !(len(got.Tokens) == 0 && len(tc.wantTokens) == 0) && !reflect.DeepEqual(got.Tokens, tc.wantTokens) {
				t.Errorf("tokens:\n got  %+v\n want %+v", got.Tokens, tc.wantTokens)
			}
			if !(len(got.Actions) == 0 && len(tc.wantActions) == 0) && !reflect.DeepEqual(got.Actions, tc.wantActions) {
				t.Errorf("actions:\n got  %+v\n want %+v", got.Actions, tc.wantActions)
			}
		})
	}
}

func list(t *testing.T, s store.Store) store.Usage {
	t.Helper()
	var u store.Usage
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		u, err = tx.ListUsage(t.Context(), store.UsageFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFlushDrainsSoNothingCountsTwice(t *testing.T) {
	c := &clock{t: t0}
	r := NewRecorder(Options{Now: c.now})
	s := openStore(t)
	f := &Flusher{Recorder: r, Store: s, Replica: "r1"}
	r.TokenIssued("p1", "aud")
	if err := f.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// An empty interval writes nothing; the next token adds one.
	if err := f.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.TokenIssued("p1", "aud")
	if err := f.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := list(t, s).Tokens; len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("tokens after three flushes: %+v, want one row counting 2", got)
	}
}

// flakyStore fails Updates as told: before running fn, or after it
// committed (the answer lost on the way back).
type flakyStore struct {
	store.Store
	failBefore, failAfter int
}

var errFlaky = errors.New("store unavailable")

func (s *flakyStore) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	if s.failBefore > 0 {
		s.failBefore--
		return 0, errFlaky
	}
	rev, err := s.Store.Update(ctx, fn)
	if err == nil && s.failAfter > 0 {
		s.failAfter--
		return 0, errFlaky
	}
	return rev, err
}

func TestFlushRetriesFailedBatchesExactlyOnce(t *testing.T) {
	tests := []struct {
		name                  string
		failBefore, failAfter int
	}{
		{"store down: the batch is kept and sent with the next", 1, 0},
		{"commit went through but its answer was lost: the retry adds nothing", 0, 1},
		{"down twice, then the answer lost", 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: t0}
			r := NewRecorder(Options{Now: c.now})
			real := openStore(t)
			s := &flakyStore{Store: real, failBefore: tc.failBefore, failAfter: tc.failAfter}
			f := &Flusher{Recorder: r, Store: s, Replica: "r1"}
			total := 0
			for i := 0; i < 5; i++ {
				r.TokenIssued("p1", "aud")
				total++
				_ = f.Flush(t.Context())
			}
			if err := f.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := list(t, real).Tokens; len(got) != 1 || got[0].Count != int64(total) {
				t.Fatalf("tokens: %+v, want one row counting %d", got, total)
			}
		})
	}
}

func TestKeyBoundDropsNewKeysOnly(t *testing.T) {
	r := NewRecorder(Options{MaxKeys: shardCount}) // one key per shard
	for i := 0; i < 10*shardCount; i++ {
		r.TokenIssued(fmt.Sprintf("p%d", i), "aud")
	}
	if r.Dropped() == 0 {
		t.Fatal("no event dropped past the key bound")
	}
	d := r.drain()
	keys := 0
	for _, m := range d.tokens {
		keys += len(m)
	}
	if keys > shardCount {
		t.Fatalf("%d keys held, bound %d", keys, shardCount)
	}
}

func TestReadMergesPerPrincipal(t *testing.T) {
	s := openStore(t)
	c := &clock{t: t0}
	for _, replica := range []string{"r1", "r2"} {
		r := NewRecorder(Options{Now: c.now})
		r.TokenIssued("p1", "a")
		c.set(c.now().Add(24 * time.Hour))
		r.TokenIssued("p1", "a")
		r.TokenIssued("p1", "b")
		r.ActionPerformed("p1", "x/read", "/s", false)
		if err := (&Flusher{Recorder: r, Store: s, Replica: replica}).Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(t.Context(), s, []string{"p1", "p2"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	p := got["p1"]
	if len(got) != 1 || len(p.Tokens) != 2 || p.Tokens[0].Audience != "a" || p.Tokens[0].Count != 4 || len(p.Tokens[0].Days) != 3 {
		t.Fatalf("usage of p1: %+v", got)
	}
	if len(p.Actions) != 1 || p.Actions[0].Count != 2 {
		t.Fatalf("actions of p1: %+v", p.Actions)
	}
	if want := t0.Add(48 * time.Hour); !p.LastTokenIssued().Equal(want) || !p.LastActivity().Equal(want) {
		t.Fatalf("last token %v, last activity %v, want %v", p.LastTokenIssued(), p.LastActivity(), want)
	}
}

// BenchmarkTokenIssued is the cost recording adds to a token grant: the
// same few principals and audiences over and over, as a busy server sees,
// from every core at once.
func BenchmarkTokenIssued(b *testing.B) {
	r := NewRecorder(Options{})
	principals := make([]string, 1000)
	for i := range principals {
		principals[i] = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	}
	audiences := []string{"https://management.azure.com/", "https://vault.azure.net", "api://my-service"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.TokenIssued(principals[i%len(principals)], audiences[i%len(audiences)])
			i++
		}
	})
}

// BenchmarkFlush10000 drains and merges 10,000 distinct token keys (a
// busy interval) into SQLite.
func BenchmarkFlush10000(b *testing.B) {
	s, err := sqlstore.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "k.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := NewRecorder(Options{})
	f := &Flusher{Recorder: r, Store: s, Replica: "r1"}
	principals := make([]string, 10000)
	for i := range principals {
		principals[i] = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, p := range principals {
			r.TokenIssued(p, "aud")
		}
		if err := f.Flush(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentRecordingAndFlushesLoseNothing records from several
// goroutines while flushes run (for the race detector too).
func TestConcurrentRecordingAndFlushesLoseNothing(t *testing.T) {
	r := NewRecorder(Options{})
	s := openStore(t)
	f := &Flusher{Recorder: r, Store: s, Replica: "r1"}
	const workers, each = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r.TokenIssued(fmt.Sprintf("p%d", i%7), "aud")
				r.ActionPerformed("p0", "x/read", fmt.Sprintf("/s/%d", w), false)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for flushing := true; flushing; {
		select {
		case <-done:
			flushing = false
		default:
		}
		if err := f.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var tokens, actions int64
	u := list(t, s)
	for _, x := range u.Tokens {
		tokens += x.Count
	}
	for _, x := range u.Actions {
		actions += x.Count
	}
	if tokens != workers*each || actions != workers*each {
		t.Fatalf("flushed %d tokens and %d requests, want %d each", tokens, actions, workers*each)
	}
}
