// Package authz owns the RBAC decision: given a principal, an action and a
// scope, is it allowed, and why. It holds role definitions, role assignments
// and group memberships in memory, indexed so that a check costs one map
// lookup plus a few probes of small sorted arrays per ancestor of the scope,
// whatever the number of assignments in the system, and it keeps that index
// current from the store's change feed.
//
// It decides as ARM does (reference §11.4): case-insensitive wildcard
// action patterns, notActions that subtract only within their own permission
// block, a union over every applicable assignment (direct or through any
// group, transitively), inheritance down the scope tree and down the
// management group tree into subscriptions (tree.go), and control-plane
// actions kept apart from data actions.
//
// It must never speak HTTP or write to the store: front doors call it, and
// it only reads the store to follow changes. It never decides who may
// change an assignment beyond what CanGrant answers; the caller combines that
// with Allowed(..., roleAssignments/write, ...).
package authz

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/keyless-io/keyless/internal/guid"
	"github.com/keyless-io/keyless/internal/store"
)

// Engine is the in-memory RBAC index. The zero value is not usable; call New.
//
// Reads (Allowed, AllowedData, Explain, Permissions, CanGrant) take a read
// lock and never allocate on the Allowed path; writes take the write lock
// for the few updates they need. A read-write lock rather than
// copy-on-write snapshots because a million assignments make copying any
// shared map on each write too slow, and checks hold the lock for well
// under a microsecond. Load builds a complete new index without holding the
// lock and swaps it in, so a bulk load at startup or a full resync never
// stalls authorization checks.
type Engine struct {
	mu  sync.RWMutex
	idx *index

	// Change-feed following (follow.go).
	following atomic.Bool
	loaded    atomic.Bool // the follower's first load is in
	applied   atomic.Int64
	loading   atomic.Int64 // assignments read by the load in progress
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
	assignments map[guid.GUID]*assignment // by name, a GUID
	// oddAssignments are those named otherwise, by lower-case name, and
	// oddNames the names as stored of every assignment whose name is not a
	// lower-case GUID.
	oddAssignments map[string]*assignment
	oddNames       map[*assignment]string
	// scopes are the interned scopes by hash (chained through next); root
	// is "/", which is never released.
	scopes  map[uint64]*scopeEntry
	root    *scopeEntry
	members map[string][]string // group -> direct members
	parents map[string][]string // member -> groups it is directly in
	// tree is the management group hierarchy (tree.go), and groupGrants
	// counts the assignments at management group scopes: while it is zero
	// a check never looks at the tree.
	tree        *groupTree
	groupGrants int
	// slab holds the assignments themselves, and scopeSlab the scope
	// entries but the root.
	slab      slab[assignment]
	scopeSlab slab[scopeEntry]
	// While a load builds the index (building, until finish), principals
	// are allocated from a slab of their own (states), a million of them
	// a thousand objects. Its slots are never released: a principal
	// dropped later leaves its slot behind, which bounds what churn can
	// pin to what the load allocated.
	building bool
	states   slab[principalState]
}

// slab allocates values a thousand at a time and reuses the slots of
// released ones: at millions of assignments and scopes the collector's
// work follows the number of objects, and the 5M assignments were a third
// of the heap's objects at 1M identities, the 2M scopes a third of what was
// left. Used under the index's write lock (or by the one goroutine
// building an index), like the rest of the index. Nothing keeps a pointer
// to an assignment or a scope entry beyond the index's own maps, grants,
// assignments and child entries, which are cleared before the slot is
// released, so a reused slot is never seen under its old identity by a
// check. (A snapshot being written may meet a reused slot between two of
// its read locks; what it then writes was changed after the snapshot's
// revision, which the change feed replays.)
type slab[T any] struct {
	chunk []T
	free  []*T
}

const slabSize = 1024

func (s *slab[T]) alloc() *T {
	if n := len(s.free); n > 0 {
		v := s.free[n-1]
		s.free = s.free[:n-1]
		return v
	}
	if len(s.chunk) == cap(s.chunk) {
		s.chunk = make([]T, 0, slabSize)
	}
	s.chunk = s.chunk[:len(s.chunk)+1]
	return &s.chunk[len(s.chunk)-1]
}

func (s *slab[T]) release(v *T) {
	var zero T
	*v = zero // drop its pointers for the collector
	s.free = append(s.free, v)
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
		p = effective(p) // condition.go
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

// assignment is one role assignment, 48 bytes: at millions of them its
// name, a GUID, is kept in 16 bytes rather than as a 36-character string,
// and its principal by pointer rather than by ID.
type assignment struct {
	guid      guid.GUID // the name when nameKind is not nameOther
	nameKind  uint8
	principal *principalState
	scope     *scopeEntry
	role      *roleSlot
}

// An assignment's name is a GUID written in lower case (as ARM names them),
// a GUID written otherwise (kept in index.oddNames, keyed by its GUID), or
// not a GUID (kept in index.oddNames, keyed in index.oddAssignments by its
// lower-case form).
const (
	nameGUID uint8 = iota
	nameGUIDCased
	nameOther
)

// scopeEntry is one scope that assignments sit on, shared by all of them,
// interned as a node of the scope tree: its parent's entry and its last
// segment as first written. Installations hold millions of distinct
// resource scopes under a few thousand groups and types, so a scope costs
// its own short segment rather than two full copies of its path (canonical
// and as written). Entries are reference-counted (assignments at the scope
// plus child entries) so that churn does not leak them, and found by hash
// (index.scopes): the hash of a canonical scope, built segment by segment,
// is what a check probes with anyway.
type scopeEntry struct {
	parent *scopeEntry // nil for the root
	seg    string      // the last segment as first written; "" for the root
	next   *scopeEntry // the next entry in the same hash bucket
	hash   uint64      // scopeHash of the canonical scope
	depth  int32
	refs   int32
}

// is reports whether the entry is the canonical scope s (a string or the
// bytes of one), comparing segment by segment from the end.
func scopeIs[T string | []byte](e *scopeEntry, s T) bool {
	end := len(s)
	for ; e.parent != nil; e = e.parent {
		n := len(e.seg)
		if end < n+1 || s[end-n-1] != '/' {
			return false
		}
		for i := 0; i < n; i++ {
			if lowerASCII(e.seg[i]) != s[end-n+i] {
				return false
			}
		}
		end -= n + 1
	}
	// Every segment matched: what is left must be nothing, or the root
	// itself when the entry is the root.
	return end == 0 || end == 1 && len(s) == 1
}

// raw renders the scope from its segments as first written.
func (e *scopeEntry) raw() string {
	if e.parent == nil {
		return "/"
	}
	n := 0
	for x := e; x.parent != nil; x = x.parent {
		n += len(x.seg) + 1
	}
	b := make([]byte, n)
	for x := e; x.parent != nil; x = x.parent {
		n -= len(x.seg)
		copy(b[n:], x.seg)
		n--
		b[n] = '/'
	}
	// b is not used again: hand it over rather than copy it (one
	// allocation per rendered scope, which a report renders a million of).
	return unsafe.String(&b[0], len(b))
}

// isGroupScope reports whether the entry is a management group's scope,
// "/providers/microsoft.management/managementgroups/{name}".
func (e *scopeEntry) isGroupScope() bool {
	if e.depth != groupScopeDepth {
		return false
	}
	types := e.parent
	return strings.EqualFold(types.seg, "managementgroups") &&
		strings.EqualFold(types.parent.seg, "microsoft.management") &&
		strings.EqualFold(types.parent.parent.seg, "providers")
}

type principalState struct {
	id string
	// grants are the principal's own assignments sorted by the hash of
	// their canonical scope: one compact array per principal, probed with
	// the precomputed hash of each ancestor of the scope being checked.
	// It is smaller than a map per principal and costs fewer cache misses,
	// which is what a check at a million assignments is made of.
	grants []grant
	// depthMask has bit d set when some grant may sit at depth d, so a
	// check skips the ancestor depths where the principal holds nothing
	// (most hold assignments at one or two depths). A stale set bit only
	// costs a probe; a missing one would deny wrongly, so bits are cleared
	// only when the mask is recomputed exactly.
	depthMask uint64
	// groups is the transitive closure of the groups containing this
	// principal, itself excluded. A group's state is kept for as long as
	// the group has members, and only a group with members can be in a
	// closure, so these pointers never go stale.
	groups []*principalState
}

type grant struct {
	scopeHash uint64
	a         *assignment
}

// search returns the index of the first grant with this scope hash, or
// len(grants). Hand-written: sort.Search would take a closure.
func (ps *principalState) search(h uint64) int {
	lo, hi := 0, len(ps.grants)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ps.grants[m].scopeHash < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func newIndex(sizeHint int) *index {
	idx := &index{
		roles:          make(map[string]*roleSlot, len(builtinRoles)),
		principals:     make(map[string]*principalState, sizeHint/5),
		assignments:    make(map[guid.GUID]*assignment, sizeHint),
		oddAssignments: make(map[string]*assignment),
		oddNames:       make(map[*assignment]string),
		scopes:         make(map[uint64]*scopeEntry),
		root:           &scopeEntry{hash: scopeHashRoot, refs: 1},
		members:        make(map[string][]string),
		parents:        make(map[string][]string),
		tree:           newGroupTree(),
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
// the new index without blocking readers. The management group tree is kept
// (SetManagementGroups replaces it).
func (e *Engine) Load(roles []store.RoleDefinition, assignments []store.RoleAssignment, groupMembers map[string][]string) {
	e.load(roles, assignments, groupMembers, nil)
}

// load is Load with a new management group tree, or the current one when
// tree is nil, swapped in together so that no check sees one without the
// other.
func (e *Engine) load(roles []store.RoleDefinition, assignments []store.RoleAssignment, groupMembers map[string][]string, tree *groupTree) {
	idx := newIndex(len(assignments))
	idx.building = true
	for _, r := range roles {
		idx.putRole(r)
	}
	for i := range assignments {
		idx.appendAssignment(&assignments[i])
	}
	idx.finish(groupMembers)
	e.swap(idx, tree)
}

// finish completes a bulk load: it sorts and packs each principal's
// grants (compact) and adds the group memberships.
func (idx *index) finish(groupMembers map[string][]string) {
	idx.compact()
	idx.building, idx.states = false, slab[principalState]{}
	for g, ms := range groupMembers {
		idx.setEdges(lowerKey(g), ms)
	}
	for p := range idx.parents {
		idx.recomputeClosure(p)
	}
}

// compact sorts each principal's grants, which a bulk load appended in
// arrival order, and moves them into shared blocks: at 1M principals
// that is 1M objects fewer for the collector to visit, and no append
// slack. A principal's grants keep a capacity of their own length, so a
// later append moves them out of the block rather than into a
// neighbour's.
func (idx *index) compact() {
	var grants []grant
	for _, ps := range idx.principals {
		slices.SortFunc(ps.grants, func(a, b grant) int { return cmp.Compare(a.scopeHash, b.scopeHash) })
		n := len(ps.grants)
		switch {
		case n > grantBlock/8:
			ps.grants = slices.Clone(ps.grants)
		case n > 0:
			if cap(grants)-len(grants) < n {
				grants = make([]grant, 0, grantBlock)
			}
			off := len(grants)
			grants = append(grants, ps.grants...)
			ps.grants = grants[off : off+n : off+n]
		}
	}
}

// grantBlock is how many grants compact puts in one block (1 MiB).
const grantBlock = 1 << 16

// swap installs a loaded index with its management group tree, or the
// current tree when tree is nil, together so that no check sees one
// without the other.
func (e *Engine) swap(idx *index, tree *groupTree) {
	e.mu.Lock()
	if tree == nil {
		tree = e.idx.tree
	}
	idx.tree = tree
	e.idx = idx
	e.mu.Unlock()
}

// SetManagementGroups replaces the management group tree: every group
// (exactly one without a parent, the tenant root group) and where each
// subscription sits (ManagementGroupName; "" is directly under the root).
// Assignments at a group apply to its descendant groups, the subscriptions
// under them and everything below those.
func (e *Engine) SetManagementGroups(groups []store.ManagementGroup, subscriptions []store.Subscription) {
	tree := buildTree(groups, subscriptions)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idx.tree = tree
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
	return Stats{Roles: n, Principals: len(e.idx.principals), Assignments: len(e.idx.assignments) + len(e.idx.oddAssignments), Groups: len(e.idx.members)}
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
	// Canonical forms go into stack buffers; the principal lookup keyed by
	// string(bytes) does not allocate.
	var pbuf [64]byte
	var sbuf [maxScopeOnStack]byte
	var path scopePath
	p := appendLower(pbuf[:0], principalID)
	s := path.parse(sbuf[:0], scope)

	e.mu.RLock()
	defer e.mu.RUnlock()
	ps := e.idx.principals[string(p)]
	if ps == nil {
		return false
	}
	// The management groups above the scope, only while some assignment
	// sits at a group at all; a separate call rather than one more
	// argument of allows, whose arguments then no longer fit in registers.
	var groups []treeScope
	if e.idx.groupGrants > 0 {
		groups = e.idx.tree.above(s, &path)
	}
	if ps.allows(s, &path, action, data) || len(groups) > 0 && ps.allowsInGroups(groups, action, data) {
		return true
	}
	for _, gs := range ps.groups {
		if gs.allows(s, &path, action, data) || len(groups) > 0 && gs.allowsInGroups(groups, action, data) {
			return true
		}
	}
	return false
}

// allowsInGroups checks the principal's own assignments at the management
// groups above the scope, if it holds any at a group.
func (ps *principalState) allowsInGroups(groups []treeScope, action string, data bool) bool {
	if ps.depthMask&groupBit == 0 {
		return false
	}
	for i := range groups {
		if ps.allowsAtGroup(&groups[i], action, data) {
			return true
		}
	}
	return false
}

// allows walks the ancestors of the scope, root first, and checks the
// principal's own assignments at each depth where it has any.
func (ps *principalState) allows(s []byte, path *scopePath, action string, data bool) bool {
	if len(ps.grants) == 0 {
		return false
	}
	for depth := 0; depth < path.n; depth++ {
		if ps.depthMask&depthBit(depth) != 0 &&
			ps.allowsAt(s[:path.ends[depth]], path.hashes[depth], action, data) {
			return true
		}
	}
	if path.overflow {
		end, h := int(path.ends[path.n-1]), path.hashes[path.n-1]
		for depth := path.n; end < len(s); depth++ {
			next := nextAncestorEnd(s, end)
			h = mixSegment(h, s[segmentStart(s, end):next])
			end = next
			if ps.depthMask&depthBit(depth) != 0 && ps.allowsAt(s[:end], h, action, data) {
				return true
			}
		}
	}
	return false
}

func (ps *principalState) allowsAt(scope []byte, h uint64, action string, data bool) bool {
	for i := ps.search(h); i < len(ps.grants) && ps.grants[i].scopeHash == h; i++ {
		a := ps.grants[i].a
		if !scopeIs(a.scope, scope) {
			continue // hash collision
		}
		if r := a.role.role; r != nil && r.allows(action, data) {
			return true
		}
	}
	return false
}

// allowsAtGroup is allowsAt for a management group above the scope.
func (ps *principalState) allowsAtGroup(g *treeScope, action string, data bool) bool {
	for i := ps.search(g.hash); i < len(ps.grants) && ps.grants[i].scopeHash == g.hash; i++ {
		a := ps.grants[i].a
		if !scopeIs(a.scope, g.canonical) {
			continue // hash collision
		}
		if r := a.role.role; r != nil && r.allows(action, data) {
			return true
		}
	}
	return false
}

// eachApplicable calls fn for every assignment that applies to the
// principal at the scope: its own and its groups', at the scope and above,
// management groups included, with the rank of the assignment's scope among
// the ancestors (0 for the root, management groups after it, root group
// first). Not for the hot path.
func (idx *index) eachApplicable(principalID, scope string, fn func(a *assignment, rank int)) {
	ps := idx.principals[principalID]
	if ps == nil {
		return
	}
	var path scopePath
	s := path.parse(nil, scope)
	type ancestor struct {
		scope string
		hash  uint64
	}
	var ancestors []ancestor
	for end, depth, h := 1, 0, scopeHashRoot; ; depth++ {
		if depth < path.n {
			h = path.hashes[depth]
		} else {
			h = scopeHash(string(s[:end])) // past maxIndexedDepth
		}
		ancestors = append(ancestors, ancestor{string(s[:end]), h})
		if depth == 0 {
			groups := idx.tree.above(s, &path)
			for i := len(groups) - 1; i >= 0; i-- {
				ancestors = append(ancestors, ancestor{groups[i].canonical, groups[i].hash})
			}
		}
		if end == len(s) {
			break
		}
		end = nextAncestorEnd(s, end)
	}
	for _, st := range append([]*principalState{ps}, ps.groups...) {
		for rank, anc := range ancestors {
			for i := st.search(anc.hash); i < len(st.grants) && st.grants[i].scopeHash == anc.hash; i++ {
				if a := st.grants[i].a; scopeIs(a.scope, anc.scope) {
					fn(a, rank)
				}
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

// internScope returns the entry of the scope, creating it and any missing
// ancestor, and counts one more reference. It allocates nothing for a scope
// already known, which is most of them during a bulk load.
func (idx *index) internScope(raw string) *scopeEntry {
	var buf [maxScopeOnStack]byte
	e := idx.root
	for rest := raw; ; {
		for len(rest) > 0 && rest[0] == '/' {
			rest = rest[1:] // empty segments are not segments
		}
		if rest == "" {
			break
		}
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		seg := rest[:end]
		rest = rest[end:]
		e = idx.child(e, mixSegment(e.hash, appendLower(buf[:0], seg)), seg, false)
	}
	e.refs++
	return e
}

// child finds or makes the entry below parent for one more segment whose
// canonical scope hashes to h. seg is kept as it is when owned (a string
// of its own), and copied otherwise: then it is a slice of the caller's
// whole scope string, which the index must not keep alive.
func (idx *index) child(parent *scopeEntry, h uint64, seg string, owned bool) *scopeEntry {
	for c := idx.scopes[h]; c != nil; c = c.next {
		if c.parent == parent && strings.EqualFold(c.seg, seg) {
			return c
		}
	}
	if !owned {
		seg = strings.Clone(seg)
	}
	c := idx.scopeSlab.alloc()
	*c = scopeEntry{parent: parent, seg: seg, hash: h, depth: parent.depth + 1, next: idx.scopes[h]}
	idx.scopes[h] = c
	parent.refs++
	return c
}

// releaseScope drops one reference, and then every entry, up the tree,
// that nothing refers to any more.
func (idx *index) releaseScope(e *scopeEntry) {
	for e.parent != nil {
		if e.refs--; e.refs > 0 {
			return
		}
		if head := idx.scopes[e.hash]; head == e {
			if e.next == nil {
				delete(idx.scopes, e.hash)
			} else {
				idx.scopes[e.hash] = e.next
			}
		} else {
			for c := head; c != nil; c = c.next {
				if c.next == e {
					c.next = e.next
					break
				}
			}
		}
		parent := e.parent
		idx.scopeSlab.release(e)
		e = parent
	}
}

// state returns the principal's state, creating it.
func (idx *index) state(id string) *principalState {
	ps := idx.principals[id]
	if ps == nil {
		if idx.building {
			ps = idx.states.alloc()
			*ps = principalState{id: id}
		} else {
			ps = &principalState{id: id}
		}
		idx.principals[id] = ps
	}
	return ps
}

// lookup finds the assignment with this name, in any casing.
func (idx *index) lookup(name string) *assignment {
	if g, ok := guid.Parse(name); ok {
		return idx.assignments[g]
	}
	return idx.oddAssignments[lowerKey(name)]
}

// nameOf is the assignment's name as stored.
func (idx *index) nameOf(a *assignment) string {
	if a.nameKind == nameGUID {
		return a.guid.String()
	}
	return idx.oddNames[a]
}

// newAssignment indexes everything about a but its place in the
// principal's grants.
func (idx *index) newAssignment(a *store.RoleAssignment) (*principalState, *assignment) {
	g, kind := parseName(a.Name)
	if old := idx.lookupParsed(g, kind, a.Name); old != nil {
		idx.removeAssignment(old)
	}
	ps := idx.state(lowerKey(a.PrincipalID))
	scope := idx.internScope(a.Scope)
	role := idx.slot(roleKey(a.RoleDefinitionID))
	return ps, idx.addAssignment(ps, scope, role, g, kind, a.Name)
}

// parseName is how an assignment's name is kept: its GUID and kind (name
// is needed besides only when the kind is not nameGUID).
func parseName(name string) (guid.GUID, uint8) {
	g, ok := guid.Parse(name)
	switch {
	case !ok:
		return g, nameOther
	case g.String() != name:
		return g, nameGUIDCased
	}
	return g, nameGUID
}

// lookupParsed is lookup for a name parseName has read.
func (idx *index) lookupParsed(g guid.GUID, kind uint8, name string) *assignment {
	if kind == nameOther {
		return idx.oddAssignments[lowerKey(name)]
	}
	return idx.assignments[g]
}

// addAssignment indexes a new assignment of role to ps at scope, whose
// reference the caller has taken, under a name no other assignment has.
func (idx *index) addAssignment(ps *principalState, scope *scopeEntry, role *roleSlot, g guid.GUID, kind uint8, name string) *assignment {
	role.refs++
	asg := idx.slab.alloc()
	*asg = assignment{guid: g, nameKind: kind, principal: ps, scope: scope, role: role}
	switch kind {
	case nameGUID:
		idx.assignments[g] = asg
	case nameGUIDCased:
		idx.oddNames[asg] = name
		idx.assignments[g] = asg
	default:
		asg.guid = guid.GUID{}
		idx.oddNames[asg] = name
		idx.oddAssignments[lowerKey(name)] = asg
	}
	mask := scopeMask(scope)
	if mask&groupBit != 0 {
		idx.groupGrants++
	}
	ps.depthMask |= mask
	return asg
}

// appendAssignment is the bulk-load form: grants are sorted once at the end.
func (idx *index) appendAssignment(a *store.RoleAssignment) {
	ps, asg := idx.newAssignment(a)
	ps.grants = append(ps.grants, grant{asg.scope.hash, asg})
}

func (idx *index) putAssignment(a *store.RoleAssignment) {
	ps, asg := idx.newAssignment(a)
	h := asg.scope.hash
	ps.grants = slices.Insert(ps.grants, ps.search(h), grant{h, asg})
}

func (idx *index) deleteAssignment(name string) {
	if a := idx.lookup(name); a != nil {
		idx.removeAssignment(a)
	}
}

func (idx *index) removeAssignment(a *assignment) {
	ps := a.principal
	h := a.scope.hash // before forgetAssignment releases the scope
	idx.forgetAssignment(a)
	for i := ps.search(h); i < len(ps.grants) && ps.grants[i].scopeHash == h; i++ {
		if ps.grants[i].a == a {
			ps.grants = slices.Delete(ps.grants, i, i+1)
			break
		}
	}
	// Recomputing the mask is linear in the principal's grants; skip it for
	// principals with very many and keep the (conservative) mask.
	if len(ps.grants) <= 64 {
		ps.depthMask = 0
		for _, g := range ps.grants {
			ps.depthMask |= scopeMask(g.a.scope)
		}
	}
	idx.dropIfEmpty(ps)
	idx.slab.release(a)
}

// forgetAssignment drops an assignment from everything but its
// principal's grants.
func (idx *index) forgetAssignment(a *assignment) {
	switch a.nameKind {
	case nameOther:
		delete(idx.oddAssignments, lowerKey(idx.oddNames[a]))
		delete(idx.oddNames, a)
	case nameGUIDCased:
		delete(idx.oddNames, a)
		fallthrough
	default:
		delete(idx.assignments, a.guid)
	}
	if scopeMask(a.scope)&groupBit != 0 {
		idx.groupGrants--
	}
	if a.role.refs--; a.role.refs == 0 && a.role.role == nil {
		delete(idx.roles, a.role.id)
	}
	idx.releaseScope(a.scope)
}

// dropIfEmpty forgets a principal that holds nothing, belongs to no group
// and, being a group, has no members (see principalState.groups).
func (idx *index) dropIfEmpty(ps *principalState) {
	if len(ps.grants) == 0 && len(ps.groups) == 0 && len(idx.members[ps.id]) == 0 {
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
	if gs := idx.principals[group]; gs != nil {
		idx.dropIfEmpty(gs)
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
	var groups []*principalState
	seen := map[string]bool{p: true}
	queue := append([]string(nil), idx.parents[p]...)
	for len(queue) > 0 {
		g := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[g] {
			continue
		}
		seen[g] = true
		groups = append(groups, idx.state(g))
		queue = append(queue, idx.parents[g]...)
	}
	slices.SortFunc(groups, func(a, b *principalState) int { return strings.Compare(a.id, b.id) })
	if len(groups) == 0 {
		if ps := idx.principals[p]; ps != nil {
			ps.groups = nil
			idx.dropIfEmpty(ps)
		}
		return
	}
	idx.state(p).groups = groups
}

func (idx *index) removePrincipal(p string) {
	idx.setGroupMembers(p, nil)
	for _, g := range slices.Clone(idx.parents[p]) {
		rest := slices.DeleteFunc(slices.Clone(idx.members[g]), func(m string) bool { return m == p })
		idx.setGroupMembers(g, rest)
	}
	if ps := idx.principals[p]; ps != nil {
		for _, g := range slices.Clone(ps.grants) {
			idx.removeAssignment(g.a)
		}
	}
}
