package localmi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// Token is a managed-identity token obtained from the server.
type Token struct {
	AccessToken string
	ClientID    string
	ObjectID    string
	// MSIResID is the user-assigned identity's resource ID ("" for
	// system-assigned).
	MSIResID  string
	Resource  string
	NotBefore time.Time
	ExpiresOn time.Time
	// RefreshAt is when a newer token should be fetched.
	RefreshAt time.Time
}

// Fetcher gets a fresh token from the server.
type Fetcher interface {
	Fetch(ctx context.Context, resource string, sel workload.Selector) (Token, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, resource string, sel workload.Selector) (Token, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, resource string, sel workload.Selector) (Token, error) {
	return f(ctx, resource, sel)
}

// TokenFrom converts the server's response, received at now.
func TokenFrom(t workloadapi.TokenResponse, now time.Time) (Token, error) {
	exp, err1 := unixString(t.ExpiresOn)
	nbf, err2 := unixString(t.NotBefore)
	if err := errors.Join(err1, err2); err != nil || t.AccessToken == "" {
		return Token{}, errors.New("localmi: the server's token response is malformed")
	}
	tok := Token{
		AccessToken: t.AccessToken, ClientID: t.ClientID, ObjectID: t.ObjectID, MSIResID: t.MSIResID,
		Resource: t.Resource, NotBefore: nbf, ExpiresOn: exp, RefreshAt: now.Add(exp.Sub(now) / 2),
	}
	if secs, err := atoi(t.RefreshIn); err == nil && secs > 0 {
		tok.RefreshAt = now.Add(time.Duration(secs) * time.Second)
	}
	return tok, nil
}

// minRemaining mirrors MSAL's rule: a token with less than five minutes
// left is never served from a cache (reference §2.8).
const minRemaining = 5 * time.Minute

// maxEntries bounds the cache; local callers choose the resource strings.
const maxEntries = 10000

// fetchTimeout bounds one fetch shared by every waiter.
const fetchTimeout = 30 * time.Second

// Cache holds tokens per (selector, resource). Concurrent requests for one
// key share one fetch.
type Cache struct {
	fetch Fetcher
	now   func() time.Time
	// pollInterval is how old an entry may be while no invalidation stream
	// is connected; the cache then asks the server again (polling) so a
	// detached identity stops working within it.
	pollInterval time.Duration

	mu       sync.Mutex
	entries  map[cacheKey]*entry
	gen      uint64
	degraded bool
}

type cacheKey struct{ selector, resource string }

type entry struct {
	tok       Token
	fetchedAt time.Time
	// inflight is closed when a fetch for this key finishes.
	inflight chan struct{}
	err      error
	// refreshing marks a background refresh of a valid token.
	refreshing bool
}

// NewCache returns a cache that starts degraded (polling) until the
// invalidation stream reports ready.
func NewCache(f Fetcher, pollInterval time.Duration) *Cache {
	if pollInterval <= 0 {
		pollInterval = 30 * time.Second
	}
	return &Cache{fetch: f, now: time.Now, pollInterval: pollInterval, entries: map[cacheKey]*entry{}, degraded: true}
}

// Invalidate drops every cached token (an identity of the resource changed).
func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.gen++
	c.entries = map[cacheKey]*entry{}
	c.mu.Unlock()
}

// SetConnected says whether the invalidation stream is connected. Going
// either way drops the cache: while disconnected the cache polls, and on
// (re)connection anything cached meanwhile may be stale.
func (c *Cache) SetConnected(connected bool) {
	c.mu.Lock()
	c.degraded = !connected
	c.gen++
	c.entries = map[cacheKey]*entry{}
	c.mu.Unlock()
}

// Connected reports whether the invalidation stream is connected.
func (c *Cache) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.degraded
}

// Len is the number of cached keys (tests, metrics).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Get returns a cached token or fetches one.
func (c *Cache) Get(ctx context.Context, resource string, sel workload.Selector) (Token, error) {
	k := cacheKey{sel.Key(), resource}
	now := c.now()
	c.mu.Lock()
	e := c.entries[k]
	switch {
	case e != nil && e.inflight != nil:
		ch := e.inflight
		c.mu.Unlock()
		select {
		case <-ch:
			// fill wrote tok and err before closing ch.
			return e.tok, e.err
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
	case e != nil && c.usable(e, now):
		tok := e.tok
		if !now.Before(tok.RefreshAt) && !e.refreshing {
			// Stale-while-revalidate: answer now, refresh behind.
			e.refreshing = true
			go c.refresh(k, resource, sel, e)
		}
		c.mu.Unlock()
		return tok, nil
	}
	ne := &entry{inflight: make(chan struct{})}
	c.entries[k] = ne
	gen := c.gen
	c.trim(now)
	c.mu.Unlock()
	return c.fill(k, resource, sel, ne, gen)
}

// usable: not expiring soon, and in polling mode not older than the poll
// interval; past RefreshAt a token is still served while a refresh runs.
func (c *Cache) usable(e *entry, now time.Time) bool {
	if e.err != nil || e.tok.ExpiresOn.Sub(now) < minRemaining {
		return false
	}
	if c.degraded && now.Sub(e.fetchedAt) >= c.pollInterval {
		return false
	}
	return true
}

func (c *Cache) fill(k cacheKey, resource string, sel workload.Selector, e *entry, gen uint64) (Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	tok, err := c.fetch.Fetch(ctx, resource, sel)
	c.mu.Lock()
	e.tok, e.err, e.fetchedAt = tok, err, c.now()
	ch := e.inflight
	e.inflight = nil
	if err != nil || c.gen != gen {
		// Errors are not cached; a result that raced an invalidation
		// answers this request only.
		if c.entries[k] == e {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
	close(ch)
	return tok, err
}

func (c *Cache) refresh(k cacheKey, resource string, sel workload.Selector, old *entry) {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	tok, err := c.fetch.Fetch(ctx, resource, sel)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.entries[k] != old {
		return
	}
	if err != nil {
		if Definitive(err) {
			// The server refused: the identity is gone or the caller
			// revoked. Stop serving the old token.
			delete(c.entries, k)
			return
		}
		old.refreshing = false // transient: keep the old token, retry later
		return
	}
	c.entries[k] = &entry{tok: tok, fetchedAt: c.now()}
}

// trim keeps the cache bounded: expired entries go first, then everything.
func (c *Cache) trim(now time.Time) {
	if len(c.entries) <= maxEntries {
		return
	}
	for k, e := range c.entries {
		if e.inflight == nil && !c.usable(e, now) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) > maxEntries {
		for k, e := range c.entries {
			if e.inflight == nil {
				delete(c.entries, k)
			}
		}
	}
}

// Definitive reports whether err is the server's considered refusal (4xx
// other than 429), as opposed to a transient failure.
func Definitive(err error) bool {
	var ae *workloadapi.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests
}
