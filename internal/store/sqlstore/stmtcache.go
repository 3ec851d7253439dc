package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the cache: queries built from filters have a
// handful of shapes each, so a few hundred cover them all, and a query
// shape beyond the bound simply runs unprepared.
const maxCachedStatements = 512

// stmtCache prepares each distinct statement once per pool. database/sql
// then keeps it prepared on every connection that ran it, and a
// transaction's StmtContext reuses that, so SQLite compiles a statement
// once instead of on every call (parsing and planning were 14% of the CPU of
// an ARM write). PostgreSQL's driver (pgx) already caches prepared
// statements per connection, so it does not use this.
type stmtCache struct {
	db      *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool
	closed  bool
	wg      sync.WaitGroup
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement for query, or nil when it is not
// prepared yet (the caller then runs the query directly). A miss is
// prepared in the background: preparing needs a connection of the pool,
// and SQLite's writer pool has exactly one, held by the transaction asking.
func (c *stmtCache) get(_ context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st := c.m[query]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.pending[query] || len(c.m)+len(c.pending) >= maxCachedStatements {
		return nil
	}
	c.pending[query] = true
	c.wg.Add(1)
	go c.prepare(query)
	return nil
}

func (c *stmtCache) prepare(query string) {
	defer c.wg.Done()
	st, err := c.db.PrepareContext(context.Background(), query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil || c.closed {
		if st != nil {
			_ = st.Close()
		}
		return
	}
	c.m[query] = st
}

// close closes every statement. Call it before closing the pool; a
// background prepare still waiting for a connection gives up when the
// pool closes.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = map[string]*sql.Stmt{}
	c.mu.Unlock()
}

// wait returns once no prepare is in flight (after the pool closed).
func (c *stmtCache) wait() {
	if c != nil {
		c.wg.Wait()
	}
}
