package sqlstore

import (
	"context"
	"sync"
)

// hub fans "the revision may have advanced" out to Notify subscribers. Each
// subscriber has a one-slot buffer: a pending wake-up absorbs later ones, so
// a slow reader is coalesced and a writer never blocks.
type hub struct {
	mu     sync.Mutex
	subs   map[chan struct{}]func() bool // channel -> stop its ctx watch
	closed bool
}

func (h *hub) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch
	}
	if h.subs == nil {
		h.subs = make(map[chan struct{}]func() bool)
	}
	h.subs[ch] = context.AfterFunc(ctx, func() { h.unsubscribe(ch) })
	return ch
}

func (h *hub) unsubscribe(ch chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) broadcast() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch, stop := range h.subs {
		stop()
		close(ch)
	}
	h.subs = nil
}
