// Package authz owns the RBAC decision: given a principal, an action and a
// scope, is it allowed, and why. It holds role definitions, role assignments
// and group memberships in memory, indexed so that a check costs a few map
// lookups per ancestor of the scope whatever the number of assignments in
// the system, and it keeps that index current from the store's change feed.
//
// It decides as ARM does (reference §11.4): case-insensitive wildcard
// action patterns, notActions that subtract only within their own permission
// block, a union over every applicable assignment (direct or through any
// group, transitively), inheritance down the scope tree, and control-plane
// actions kept apart from data actions.
//
// It must never speak HTTP or write to the store: front doors call it, and
// it only reads the store to follow changes. It never decides who may
// change an assignment beyond what CanGrant answers; the caller combines that
// with Allowed(..., roleAssignments/write, ...).
package authz

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/keyless-io/keyless/internal/store"
)

// Engine is the in-memory RBAC index. The zero value is not usable; call New.
//
// Reads (Allowed, AllowedData, Explain, Permissions, CanGrant) take a read
// lock and never allocate on the Allowed path; writes take the write lock
// for the few map updates they need. Load builds a complete new index
// without holding the lock and swaps it in, so a bulk load at startup or a
// full resync never stalls authorization checks.
type Engine struct {
	mu  sync.RWMutex
	idx *index

	// Change-feed following (follow.go).
	following atomic.Bool
	applied   atomic.Int64
	revMu     sync.Mutex
	advanced  chan struct{} // closed and replaced whenever applied moves
	kick      chan struct{} // asks the follower to catch up now
	poll      time.Duration // PollInterval; tests lengthen it
}

// New returns an engine that knows the built-in roles and holds no
// assignments.
func New() *Engine {
	return &Engine{
		idx:      newIndex(0),
		advanced: make(chan struct{}),
		kick:     make(chan struct{}, 1),
		poll:     PollInterval,
	}
}

// index is everything a decision reads. It is replaced wholesale by Load and
// mutated in place, under Engine.mu, by incremental updates.
type index struct {
	roles map[string]*roleSlot // role key -> slot
	// principals holds, per canonical principal ID, its own assignments and
	// the transitive closure of the groups it belongs to.
	principals  map[string]*principalState
	assignments map[string]*assignment // canonical assignment name
	members     map[string][]string    // group -> direct members
	parents     map[string][]string    // member -> groups it is directly in
}

// roleSlot is the indirection between assignments and their role, so that
// redefining a custom role changes every assignment of it at once, and an
// assignment may arrive before its role (it grants nothing until then).
type roleSlot struct {
	id   string
	role *compiledRole // nil: unknown or deleted
	refs int           // assignments pointing here
}

type compiledRole struct {
	def    store.RoleDefinition
	blocks []compiledBlock
}

// compiledBlock is one permission block. Exclusions apply only to the
// inclusions of the same block (§11.4 rule 2), which is why blocks are kept
// apart instead of being merged per role.
type compiledBlock struct {
	actions, notActions         patternSet
	dataActions, notDataActions patternSet
}

func (b *compiledBlock) lists(data bool) (include, exclude patternSet) {
	if data {
		return b.dataActions, b.notDataActions
	}
	return b.actions, b.notActions
}

func compileRole(def store.RoleDefinition) *compiledRole {
	def = cloneRole(def)
	r := &compiledRole{def: def, blocks: make([]compiledBlock, len(def.Permissions))}
	for i, p := range def.Permissions {
		r.blocks[i] = compiledBlock{
			actions:        compilePatterns(p.Actions),
			notActions:     compilePatterns(p.NotActions),
			dataActions:    compilePatterns(p.DataActions),
			notDataActions: compilePatterns(p.NotDataActions),
		}
	}
	return r
}

func (r *compiledRole) allows(action string, data bool) bool {
	for i := range r.blocks {
		include, exclude := r.blocks[i].lists(data)
		if include.matchAny(action) >= 0 && exclude.matchAny(action) < 0 {
			return true
		}
	}
	return false
}

type assignment struct {
	name        string // as stored
	principalID string // canonical; shared with the principal's map key
	scope       string // canonical, interned
	rawScope    string // as written, interned; for Explain
	role        *roleSlot
}

type principalState struct {
	id string
	// byScope holds the principal's own assignments by canonical scope.
	byScope map[string][]*assignment
	// depthMask has bit d set when some key of byScope may have depth d, so
	// a check skips the lookups at ancestor depths where the principal holds
	// nothing (most principals hold assignments at one or two depths). A
	// stale set bit only costs a lookup; a missing one would deny wrongly,
	// so bits are cleared only when the mask is recomputed exactly.
	depthMask uint64
	count     int
	// groups is the transitive closure of the groups containing this
	// principal, itself excluded, sorted. Stored as IDs rather than pointers
	// because group states are created and dropped independently.
	groups []string
}

func newIndex(sizeHint int) *index {
	idx := &index{
		roles:       make(map[string]*roleSlot, len(builtinRoles)),
		principals:  make(map[string]*principalState, sizeHint/8),
		assignments: make(map[string]*assignment, sizeHint),
		members:     make(map[string][]string),
		parents:     make(map[string][]string),
	}
	for _, r := range builtinRoles {
		idx.putRole(r)
	}
	return idx
}

// Load replaces everything the engine knows with these roles, assignments
// and direct group memberships (group ID -> member IDs; members may be
// groups). Built-in roles are always present; an entry of roles with a
// built-in ID overrides it. Load is meant for startup and resync: it builds
// the new index without blocking readers.
func (e *Engine) Load(roles []store.RoleDefinition, assignments []store.RoleAssignment, groupMembers map[string][]string) {
	idx := newIndex(len(assignments))
	for _, r := range roles {
		idx.putRole(r)
	}
	for i := range assignments {
		idx.putAssignment(&assignments[i])
	}
	for g, ms := range groupMembers {
		idx.setEdges(lowerKey(g), ms)
	}
	for p := range idx.parents {
		idx.recomputeClosure(p)
	}
	e.mu.Lock()
	e.idx = idx
	e.mu.Unlock()
}

// PutRole adds or replaces a role definition.
func (e *Engine) PutRole(def store.RoleDefinition) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.putRole(def)
}

// DeleteRole removes a custom role; its assignments stay indexed but grant
// nothing. Deleting a built-in restores the shipped definition: built-ins
// cannot be deleted in Azure, and losing Owner to a store quirk would lock
// every administrator out.
func (e *Engine) DeleteRole(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.deleteRole(id)
}

// PutAssignment adds an assignment, replacing one with the same name.
func (e *Engine) PutAssignment(a store.RoleAssignment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.putAssignment(&a)
}

// DeleteAssignment removes the assignment with this name, if present.
func (e *Engine) DeleteAssignment(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.deleteAssignment(name)
}

// SetGroupMembers replaces the direct members of a group. Members may be
// groups; cycles are harmless.
func (e *Engine) SetGroupMembers(groupID string, members []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.setGroupMembers(lowerKey(groupID), members)
}

// RemovePrincipal forgets a deleted principal: its memberships in both
// directions and any assignment it still holds. The store deletes
// memberships with the principal without necessarily recording a group
// change, so the follower calls this on a principal's deletion.
func (e *Engine) RemovePrincipal(principalID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.removePrincipal(lowerKey(principalID))
}

// Stats counts what the engine holds.
type Stats struct {
	Roles, Principals, Assignments, Groups int
}

// Stats reports the size of the index.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := 0
	for _, s := range e.idx.roles {
		if s.role != nil {
			n++
		}
	}
	return Stats{Roles: n, Principals: len(e.idx.principals), Assignments: len(e.idx.assignments), Groups: len(e.idx.members)}
}

// Allowed reports whether the principal may perform the control-plane
// action (e.g. "Microsoft.ManagedIdentity/userAssignedIdentities/write") at
// the scope. It does not allocate and its cost depends on the depth of the
// scope and the number of groups of the principal, not on the number of
// assignments.
func (e *Engine) Allowed(principalID, action, scope string) bool {
	return e.allowed(principalID, action, scope, false)
}

// AllowedData is Allowed for a data action (e.g.
// "Microsoft.KeyVault/vaults/secrets/getSecret/action"). Control-plane
// patterns never grant data actions, so Owner alone reads no secret.
func (e *Engine) AllowedData(principalID, dataAction, scope string) bool {
	return e.allowed(principalID, dataAction, scope, true)
}

func (e *Engine) allowed(principalID, action, scope string, data bool) bool {
	// Canonical forms go into stack buffers; map lookups keyed by
	// string(bytes) do not allocate.
	var pbuf [64]byte
	var sbuf [maxScopeOnStack]byte
	p := appendLower(pbuf[:0], principalID)
	s := appendScope(sbuf[:0], scope)

	e.mu.RLock()
	defer e.mu.RUnlock()
	idx := e.idx
	ps := idx.principals[string(p)]
	if ps == nil {
		return false
	}
	if ps.allows(s, action, data) {
		return true
	}
	for _, g := range ps.groups {
		if gs := idx.principals[g]; gs != nil && gs.allows(s, action, data) {
			return true
		}
	}
	return false
}

// allows walks the ancestors of the canonical scope s, root first, and
// checks the principal's own assignments at each.
func (ps *principalState) allows(s []byte, action string, data bool) bool {
	if ps.count == 0 {
		return false
	}
	for end, depth := 1, 0; ; depth++ {
		if ps.depthMask&depthBit(depth) != 0 {
			for _, a := range ps.byScope[string(s[:end])] {
				if r := a.role.role; r != nil && r.allows(action, data) {
					return true
				}
			}
		}
		if end == len(s) {
			return false
		}
		end = nextAncestorEnd(s, end)
	}
}

// eachApplicable calls fn for every assignment that applies to the
// principal at the canonical scope: its own and its groups', at the scope
// and above. Not for the hot path.
func (idx *index) eachApplicable(principalID, scope string, fn func(*assignment)) {
	ps := idx.principals[principalID]
	if ps == nil {
		return
	}
	states := []*principalState{ps}
	for _, g := range ps.groups {
		if gs := idx.principals[g]; gs != nil {
			states = append(states, gs)
		}
	}
	s := []byte(scope)
	for _, st := range states {
		for end := 1; ; end = nextAncestorEnd(s, end) {
			for _, a := range st.byScope[string(s[:end])] {
				fn(a)
			}
			if end == len(s) {
				break
			}
		}
	}
}

func (idx *index) slot(key string) *roleSlot {
	s := idx.roles[key]
	if s == nil {
		s = &roleSlot{id: key}
		idx.roles[key] = s
	}
	return s
}

func (idx *index) putRole(def store.RoleDefinition) {
	idx.slot(roleKey(def.ID)).role = compileRole(def)
}

func (idx *index) deleteRole(id string) {
	key := roleKey(id)
	s := idx.roles[key]
	if s == nil {
		return
	}
	if def, ok := BuiltinRole(key); ok {
		s.role = compileRole(def)
		return
	}
	s.role = nil
	if s.refs == 0 {
		delete(idx.roles, key)
	}
}

// intern shares the bytes of scopes that many assignments repeat (a
// million assignments typically sit on tens of thousands of scopes).
func intern(s string) string { return unique.Make(s).Value() }

func (idx *index) putAssignment(a *store.RoleAssignment) {
	name := lowerKey(a.Name)
	if old := idx.assignments[name]; old != nil {
		idx.removeAssignment(name, old)
	}
	pid := lowerKey(a.PrincipalID)
	ps := idx.principals[pid]
	if ps == nil {
		ps = &principalState{id: pid}
		idx.principals[pid] = ps
	}
	if ps.byScope == nil {
		ps.byScope = make(map[string][]*assignment, 1)
	}
	scope := intern(NormalizeScope(a.Scope))
	raw := scope
	if a.Scope != scope {
		raw = intern(a.Scope)
	}
	role := idx.slot(roleKey(a.RoleDefinitionID))
	role.refs++
	asg := &assignment{name: a.Name, principalID: ps.id, scope: scope, rawScope: raw, role: role}
	ps.byScope[scope] = append(ps.byScope[scope], asg)
	ps.depthMask |= depthBit(scopeDepth(scope))
	ps.count++
	idx.assignments[name] = asg
}

func (idx *index) deleteAssignment(name string) {
	key := lowerKey(name)
	if a := idx.assignments[key]; a != nil {
		idx.removeAssignment(key, a)
	}
}

func (idx *index) removeAssignment(key string, a *assignment) {
	delete(idx.assignments, key)
	if a.role.refs--; a.role.refs == 0 && a.role.role == nil {
		delete(idx.roles, a.role.id)
	}
	ps := idx.principals[a.principalID]
	if ps == nil {
		return
	}
	list := ps.byScope[a.scope]
	if i := slices.Index(list, a); i >= 0 {
		// Copy rather than shrink in place: a reader never sees the slice
		// change under it (writers hold the lock, but keep it simple to
		// reason about).
		list = slices.Delete(slices.Clone(list), i, i+1)
		ps.count--
	}
	if len(list) == 0 {
		delete(ps.byScope, a.scope)
		// Recomputing is linear in the principal's scopes; skip it for
		// principals with very many and keep the (conservative) mask.
		if len(ps.byScope) <= 32 {
			ps.depthMask = 0
			for s := range ps.byScope {
				ps.depthMask |= depthBit(scopeDepth(s))
			}
		}
	} else {
		ps.byScope[a.scope] = list
	}
	idx.dropIfEmpty(ps)
}

func (idx *index) dropIfEmpty(ps *principalState) {
	if ps.count == 0 && len(ps.groups) == 0 {
		delete(idx.principals, ps.id)
	}
}

// setEdges replaces the direct members of group without recomputing any
// closure, and returns the members whose edge to group was added or removed.
func (idx *index) setEdges(group string, members []string) (changed []string) {
	next := make([]string, 0, len(members))
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		m = lowerKey(m)
		if m != "" && !seen[m] {
			seen[m] = true
			next = append(next, m)
		}
	}
	for _, m := range idx.members[group] {
		if !seen[m] {
			changed = append(changed, m)
			idx.parents[m] = slices.DeleteFunc(idx.parents[m], func(g string) bool { return g == group })
			if len(idx.parents[m]) == 0 {
				delete(idx.parents, m)
			}
		}
		delete(seen, m) // what stays in seen is new
	}
	for _, m := range next {
		if seen[m] {
			changed = append(changed, m)
			idx.parents[m] = append(idx.parents[m], group)
		}
	}
	if len(next) == 0 {
		delete(idx.members, group)
	} else {
		idx.members[group] = next
	}
	return changed
}

func (idx *index) setGroupMembers(group string, members []string) {
	old := idx.members[group]
	changed := idx.setEdges(group, members)
	if len(changed) == 0 {
		return
	}
	// Only a principal at or below a member whose edge to group changed can
	// see its closure change. Walking down from those members in the new
	// graph finds them all, unless the walk comes back through group itself
	// (a cycle); then the old members' subtrees are affected as well.
	affected := make(map[string]bool)
	for _, m := range changed {
		idx.descendants(m, affected)
	}
	if affected[group] {
		for _, m := range old {
			idx.descendants(m, affected)
		}
	}
	for p := range affected {
		idx.recomputeClosure(p)
	}
}

// descendants adds m and everything below it (members, their members, ...)
// to into.
func (idx *index) descendants(m string, into map[string]bool) {
	queue := []string{m}
	for len(queue) > 0 {
		p := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if into[p] {
			continue
		}
		into[p] = true
		queue = append(queue, idx.members[p]...)
	}
}

// recomputeClosure sets the groups of p to everything reachable upwards
// through parents. A visited set makes cycles terminate.
func (idx *index) recomputeClosure(p string) {
	var groups []string
	seen := map[string]bool{p: true}
	queue := append([]string(nil), idx.parents[p]...)
	for len(queue) > 0 {
		g := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[g] {
			continue
		}
		seen[g] = true
		groups = append(groups, g)
		queue = append(queue, idx.parents[g]...)
	}
	slices.Sort(groups)
	ps := idx.principals[p]
	if ps == nil {
		if len(groups) == 0 {
			return
		}
		ps = &principalState{id: p}
		idx.principals[p] = ps
	}
	ps.groups = groups
	idx.dropIfEmpty(ps)
}

func (idx *index) removePrincipal(p string) {
	idx.setGroupMembers(p, nil)
	for _, g := range slices.Clone(idx.parents[p]) {
		rest := slices.DeleteFunc(slices.Clone(idx.members[g]), func(m string) bool { return m == p })
		idx.setGroupMembers(g, rest)
	}
	if ps := idx.principals[p]; ps != nil {
		for _, list := range ps.byScope {
			for _, a := range slices.Clone(list) {
				idx.removeAssignment(lowerKey(a.name), a)
			}
		}
	}
}
