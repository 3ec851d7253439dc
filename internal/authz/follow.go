package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// PollInterval is how often the follower catches up when no notification
// arrives; it bounds staleness if a notification is lost (a PostgreSQL
// NOTIFY dropped across a reconnect, say).
const PollInterval = 500 * time.Millisecond

// changePage is how many changes the follower asks for at once.
const changePage = 1000

// ErrAlreadyFollowing is returned by Follow when the engine already has a
// follower: two would race on the applied revision.
var ErrAlreadyFollowing = errors.New("authz: engine is already following a store")

// Follow keeps the engine current with the store until ctx ends, and
// returns ctx.Err() then. It first loads everything (retrying, and reporting
// each failure to onErr, until it succeeds), then applies the change feed
// after every notification, on every PollInterval tick, and whenever
// WaitFor asks for a revision it has not reached. Run it in its own
// goroutine and wait for readiness with WaitFor:
//
//	go engine.Follow(ctx, st, logErr)
//	rev, _ := st.Revision(ctx)
//	err := engine.WaitFor(startCtx, rev)
func (e *Engine) Follow(ctx context.Context, s store.Store, onErr func(error)) error {
	if !e.following.CompareAndSwap(false, true) {
		return ErrAlreadyFollowing
	}
	defer e.following.Store(false)
	if onErr == nil {
		onErr = func(error) {}
	}
	// Subscribe before loading, so that no write after the load's revision
	// goes unnoticed.
	notify := s.Notify(ctx)
	tick := time.NewTicker(e.poll)
	defer tick.Stop()
	loaded := false
	for {
		if !loaded {
			if err := e.LoadFrom(ctx, s); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				onErr(fmt.Errorf("authz: initial load: %w", err))
			} else {
				loaded = true
			}
		}
		if loaded {
			if err := e.CatchUp(ctx, s); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				onErr(fmt.Errorf("authz: change feed: %w", err))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-notify:
			if !ok {
				notify = nil // store closing: the ticker still drives retries
			}
		case <-tick.C:
		case <-e.kick:
		}
	}
}

// LoadFrom replaces the engine's contents with the store's and marks the
// engine as having applied the revision current before the read. The
// snapshot may be newer than that revision; replaying changes from it is
// harmless because applying a change re-reads current state.
func (e *Engine) LoadFrom(ctx context.Context, s store.Store) error {
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	return e.loadStore(ctx, s, rev, 0, func(ctx context.Context, tx store.Tx, idx *index) error {
		return e.streamAssignments(ctx, tx, idx)
	})
}

// loadStore builds a new index from the store, with the assignments read by
// assignments, and installs it as reflecting revision rev.
func (e *Engine) loadStore(ctx context.Context, s store.Store, rev int64, sizeHint int, assignments func(context.Context, store.Tx, *index) error) error {
	var (
		idx     *index
		members = map[string][]string{}
		tree    *groupTree
	)
	e.loading.Store(0)
	err := s.View(ctx, func(tx store.Tx) error {
		roles, err := tx.ListRoleDefinitions(ctx)
		if err != nil {
			return err
		}
		idx = newIndex(sizeHint)
		idx.building = true
		for _, r := range roles {
			idx.putRole(r)
		}
		if err := assignments(ctx, tx, idx); err != nil {
			return err
		}
		mgroups, err := tx.ListManagementGroups(ctx)
		if err != nil {
			return err
		}
		subscriptions, err := tx.ListSubscriptions(ctx)
		if err != nil {
			return err
		}
		tree = buildTree(mgroups, subscriptions)
		groups, err := tx.ListPrincipals(ctx, store.PrincipalFilter{Kind: store.PrincipalGroup})
		if err != nil {
			return err
		}
		for _, g := range groups {
			ms, err := tx.ListGroupMembers(ctx, g.ObjectID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if len(ms) > 0 {
				members[g.ObjectID] = ms
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	idx.finish(members)
	e.swap(idx, tree)
	e.setApplied(rev, true)
	return nil
}

// Loading is how many role assignments the load in progress (or the last
// one) has read: start-up progress for the logs.
func (e *Engine) Loading() int64 { return e.loading.Load() }

// CatchUp applies every change committed after the applied revision.
// Whole revisions are applied at a time: a page boundary never leaves part
// of one revision for later while marking it applied.
func (e *Engine) CatchUp(ctx context.Context, s store.Store) error {
	limit := changePage
	for {
		since := e.applied.Load()
		changes, err := s.Changes(ctx, since, limit)
		if errors.Is(err, store.ErrCompacted) {
			// What was missed is gone: only a full load is correct.
			if err := e.LoadFrom(ctx, s); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		last := changes[len(changes)-1].Revision
		if len(changes) >= limit {
			cut := len(changes)
			for cut > 0 && changes[cut-1].Revision == last {
				cut--
			}
			if cut == 0 {
				// One revision fills the page: ask for more at once.
				limit *= 2
				continue
			}
			changes, last = changes[:cut], changes[cut-1].Revision
		}
		if err := e.ApplyChanges(ctx, s, changes); err != nil {
			return err
		}
		e.setApplied(last, false)
		limit = changePage
	}
}

// ApplyChanges brings the engine up to date with these changes by re-reading
// the keys they name in one read transaction, so applying a change twice,
// or out of order, converges on the store's state. It does not move the
// applied revision; it is the engine's hook for a shared change-feed
// follower (wrapped in a feed.Index with LoadFrom as its reload).
//
// Keys: a role definition change is keyed by the role ID, a role assignment
// change by the assignment name, a group membership change by the group ID
// or "groupID/memberID" (either way the group's members are re-read), a
// principal deletion by the object ID, a management group change by the
// group name and a subscription change by its ID (the group it sits under
// is re-read), so that a move in the tree counts from the moment its write
// returns.
func (e *Engine) ApplyChanges(ctx context.Context, s store.Store, changes []store.Change) error {
	roleKeys := map[string]bool{}
	assignmentKeys := map[string]bool{}
	groupKeys := map[string]bool{}
	principalKeys := map[string]bool{}
	mgroupKeys := map[string]bool{}
	subscriptionKeys := map[string]bool{}
	for _, c := range changes {
		switch c.Kind {
		case store.KindRoleDefinition:
			roleKeys[c.Key] = true
		case store.KindRoleAssignment:
			assignmentKeys[c.Key] = true
		case store.KindGroupMember:
			g, _, _ := strings.Cut(c.Key, "/")
			groupKeys[g] = true
		case store.KindPrincipal:
			if c.Op == store.OpDelete {
				principalKeys[c.Key] = true
			}
		case store.KindManagementGroup:
			mgroupKeys[c.Key] = true
		case store.KindSubscription:
			subscriptionKeys[c.Key] = true
		}
	}
	if len(roleKeys)+len(assignmentKeys)+len(groupKeys)+len(principalKeys)+len(mgroupKeys)+len(subscriptionKeys) == 0 {
		return nil
	}

	type rolesRead struct {
		def   store.RoleDefinition
		found bool
	}
	type assignmentRead struct {
		a     store.RoleAssignment
		found bool
	}
	type mgroupRead struct {
		g     store.ManagementGroup
		found bool
	}
	type subscriptionRead struct {
		s     store.Subscription
		found bool
	}
	roles := map[string]rolesRead{}
	assignments := map[string]assignmentRead{}
	groups := map[string][]string{}
	gone := map[string]bool{}
	mgroups := map[string]mgroupRead{}
	subscriptions := map[string]subscriptionRead{}
	err := s.View(ctx, func(tx store.Tx) error {
		for k := range mgroupKeys {
			g, err := tx.GetManagementGroup(ctx, k)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			mgroups[k] = mgroupRead{g, err == nil}
		}
		for k := range subscriptionKeys {
			sub, err := tx.GetSubscription(ctx, k)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			subscriptions[k] = subscriptionRead{sub, err == nil}
		}
		for k := range roleKeys {
			d, err := tx.GetRoleDefinition(ctx, k)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			roles[k] = rolesRead{d, err == nil}
		}
		for k := range principalKeys {
			_, err := tx.GetPrincipal(ctx, k)
			if errors.Is(err, store.ErrNotFound) {
				gone[k] = true
			} else if err != nil {
				return err
			}
		}
		for k := range groupKeys {
			ms, err := tx.ListGroupMembers(ctx, k)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			groups[k] = ms
		}
		for k := range assignmentKeys {
			a, err := tx.GetRoleAssignment(ctx, k)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			assignments[k] = assignmentRead{a, err == nil}
		}
		return nil
	})
	if err != nil {
		return err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	idx := e.idx
	if len(mgroups)+len(subscriptions) > 0 {
		// Groups first: a subscription's placement is relative to the
		// root, which a group change may have just named.
		for k, r := range mgroups {
			if r.found {
				idx.tree.putGroup(r.g)
			} else {
				idx.tree.deleteGroup(k)
			}
		}
		for k, r := range subscriptions {
			if r.found {
				idx.tree.putSubscription(r.s)
			} else {
				idx.tree.deleteSubscription(k)
			}
		}
		idx.tree.rebuild()
	}
	for k, r := range roles {
		if r.found {
			idx.putRole(r.def)
		} else {
			idx.deleteRole(k)
		}
	}
	for p := range gone {
		idx.removePrincipal(lowerKey(p))
	}
	for g, ms := range groups {
		idx.setGroupMembers(lowerKey(g), ms)
	}
	for k, r := range assignments {
		if r.found {
			idx.putAssignment(&r.a)
		} else {
			idx.deleteAssignment(k)
		}
	}
	return nil
}

// Revision is the newest store revision the engine has applied; 0 before
// the first load.
func (e *Engine) Revision() int64 { return e.applied.Load() }

func (e *Engine) setApplied(rev int64, reset bool) {
	e.revMu.Lock()
	defer e.revMu.Unlock()
	if !reset && rev <= e.applied.Load() {
		return
	}
	e.applied.Store(rev)
	e.loaded.Store(true)
	close(e.advanced)
	e.advanced = make(chan struct{})
}

// WaitFor returns once the engine has applied revision rev, so that a
// handler can make its own write visible to authorization before it
// answers (read-your-writes). It asks the follower to catch up at once
// rather than at its next tick. Until the follower's first load has
// completed it waits whatever rev is, so WaitFor(ctx, 0) is "wait until
// ready". Without a running Follow it waits until ctx ends.
func (e *Engine) WaitFor(ctx context.Context, rev int64) error {
	for {
		e.revMu.Lock()
		ch := e.advanced
		e.revMu.Unlock()
		if e.loaded.Load() && e.applied.Load() >= rev {
			return nil
		}
		select {
		case e.kick <- struct{}{}:
		default: // a catch-up is already requested
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// loadBatch is how many assignments the reader hands the builder at once.
const loadBatch = 4096

// streamAssignments reads every assignment into idx. It is streamed, as a
// slice of every store record first would double the memory the start
// needs at millions of assignments, and pipelined: one goroutine decodes
// rows (the database driver's work) while another builds the index, so
// the two halves of the load use two cores instead of taking turns on one.
func (e *Engine) streamAssignments(ctx context.Context, tx store.Tx, idx *index) error {
	batches := make(chan []store.AssignmentGrant, 4)
	spare := make(chan []store.AssignmentGrant, 6)
	built := make(chan struct{})
	go func() {
		defer close(built)
		var a store.RoleAssignment
		for b := range batches {
			for i := range b {
				g := &b[i]
				a.Name, a.Scope, a.RoleDefinitionID, a.PrincipalID = g.Name, g.Scope, g.RoleDefinitionID, g.PrincipalID
				idx.appendAssignment(&a)
			}
			e.loading.Add(int64(len(b)))
			clear(b) // let the decoded strings the index did not keep go
			select {
			case spare <- b[:0]:
			default:
			}
		}
	}()
	cur := make([]store.AssignmentGrant, 0, loadBatch)
	err := tx.EachAssignmentGrant(ctx, func(g store.AssignmentGrant) error {
		cur = append(cur, g)
		if len(cur) < loadBatch {
			return nil
		}
		select {
		case batches <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case cur = <-spare:
		default:
			cur = make([]store.AssignmentGrant, 0, loadBatch)
		}
		return nil
	})
	if err == nil && len(cur) > 0 {
		batches <- cur
	}
	close(batches)
	<-built
	return err
}
