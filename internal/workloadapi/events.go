package workloadapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/workload"
)

// Hub fans the change feed out to the event streams of launches and
// agents. Each subscription watches its resource, the resource's
// system-assigned principal and its attached user-assigned identities (and
// their principals); any change to one of them tells the client to drop its
// cached tokens. A change to the grant or agent itself makes the stream
// re-check it and end with "revoked" when it is gone.
//
// apply runs on the feed follower's goroutine, so it only flags and
// signals; the streaming goroutines do the store reads.
type Hub struct {
	st  store.Store
	log *slog.Logger

	mu   sync.Mutex
	subs map[*subscription]struct{}

	done      chan struct{}
	closeOnce sync.Once
}

type subscription struct {
	key string // grant or agent ID

	mu    sync.Mutex
	watch map[string]bool // "r:"+lower resource ID, "p:"+lower object ID

	signal     chan struct{}
	invalidate atomic.Bool
	recheck    atomic.Bool
}

func newHub(st store.Store, log *slog.Logger) *Hub {
	return &Hub{st: st, log: log, subs: map[*subscription]struct{}{}, done: make(chan struct{})}
}

func (h *Hub) subscribe(key, resourceID string) *subscription {
	s := &subscription{key: key, signal: make(chan struct{}, 1), watch: map[string]bool{"r:" + strings.ToLower(resourceID): true}}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *Hub) close() { h.closeOnce.Do(func() { close(h.done) }) }

// invalidateAll flags every subscription to drop its cached tokens.
func (h *Hub) invalidateAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.invalidate.Store(true)
		select {
		case s.signal <- struct{}{}:
		default:
		}
	}
}

func (h *Hub) apply(changes []store.Change) {
	h.mu.Lock()
	subs := make([]*subscription, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		inv, re := false, false
		s.mu.Lock()
		for _, c := range changes {
			switch c.Kind {
			case store.KindResource:
				inv = inv || s.watch["r:"+strings.ToLower(c.Key)]
			case store.KindPrincipal:
				inv = inv || s.watch["p:"+strings.ToLower(c.Key)]
			case store.KindAgent, store.KindLaunchGrant:
				re = re || c.Key == s.key
			}
		}
		s.mu.Unlock()
		if inv {
			s.invalidate.Store(true)
		}
		if re {
			s.recheck.Store(true)
		}
		if inv || re {
			select {
			case s.signal <- struct{}{}:
			default:
			}
		}
	}
}

// watchSet lists the keys whose change affects the identities of
// resourceID.
func (h *Hub) watchSet(ctx context.Context, resourceID string) (map[string]bool, error) {
	m := map[string]bool{"r:" + strings.ToLower(resourceID): true}
	err := h.st.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(ctx, resourceID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.PrincipalID != "" {
			m["p:"+strings.ToLower(r.PrincipalID)] = true
		}
		for _, id := range r.UserAssignedIdentities {
			m["r:"+strings.ToLower(id)] = true
			u, err := tx.GetResource(ctx, id)
			if err == nil && u.PrincipalID != "" {
				m["p:"+strings.ToLower(u.PrincipalID)] = true
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	return m, err
}

// subscriber is what a stream follows.
type subscriber struct {
	resourceID string
	key        string
	proof      workload.Proof
}

// stream serves text/event-stream until the client leaves, the proof stops
// being valid, or the server shuts down. The server's read and write
// timeouts are lifted for this one response; heartbeats let both sides
// notice a dead connection.
func (a *API) stream(w http.ResponseWriter, r *http.Request, sub subscriber) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	s := a.hub.subscribe(sub.key, sub.resourceID)
	defer a.hub.unsubscribe(s)
	refresh := func() error {
		m, err := a.hub.watchSet(ctx, sub.resourceID)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.watch = m
		s.mu.Unlock()
		return nil
	}
	if err := refresh(); err != nil {
		a.writeOAuthError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(ev Event) error {
		b, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send(Event{Type: EventReady, ResourceID: sub.resourceID}) != nil {
		return
	}
	tick := time.NewTicker(a.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.hub.done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-s.signal:
			if s.recheck.Swap(false) {
				err := a.cfg.Store.View(ctx, func(tx store.Tx) error {
					_, err := sub.proof.Resource(ctx, tx, a.cfg.Now())
					return err
				})
				if workload.CodeOf(err) == workload.CodeUnauthenticated {
					_ = send(Event{Type: EventRevoked, ResourceID: sub.resourceID, Reason: err.Error()})
					return
				}
			}
			if s.invalidate.Swap(false) {
				if err := refresh(); err != nil {
					a.cfg.Logger.Warn("event stream: reading the resource's identities failed", "err", err)
				}
				if send(Event{Type: EventInvalidate, ResourceID: sub.resourceID}) != nil {
					return
				}
			}
		}
	}
}
