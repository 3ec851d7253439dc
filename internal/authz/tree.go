package authz

import (
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// Management groups put a second tree above subscriptions, beside the path
// tree of scopes: an assignment at "/providers/Microsoft.Management/
// managementGroups/{g}" applies to g's descendant groups, to the
// subscriptions under any of them and to everything below those, although
// none of these scopes has g's scope as a path prefix. The tenant root
// group is above every group and every subscription (a subscription the
// engine has not heard of sits directly under it, as a new one does), but
// not above "/" or tenant-level scopes outside subscriptions and groups.
//
// A check walks the path ancestors of its scope as before and, when any
// assignment at all sits at a management group, also the groups above the
// scope's subscription or group. Those chains are precomputed per group and
// shared by the subscriptions under it, so the walk is one map lookup and a
// few probes of the principal's sorted grants, and allocates nothing.

const (
	// groupCollection is the canonical collection of management groups.
	groupCollection = "/providers/microsoft.management/managementgroups"
	groupPrefix     = groupCollection + "/"
	// groupScopeDepth is the depth of every management group scope.
	groupScopeDepth = 4
	// maxGroupChain bounds a walk up the tree. Azure allows six levels
	// below the root; the bound only guards against a transient cycle seen
	// between two change-feed batches (each re-reads current state, so one
	// batch can see a group's new parent before the parent's own move).
	maxGroupChain = 64
)

// ManagementGroupScope is the scope, and resource ID, of a management group.
func ManagementGroupScope(name string) string {
	return "/providers/Microsoft.Management/managementGroups/" + name
}

// ManagementGroupOf returns the group name when scope is exactly a
// management group's scope (any casing, extra slashes allowed).
func ManagementGroupOf(scope string) (string, bool) {
	s := NormalizeScope(scope)
	name, ok := strings.CutPrefix(s, groupPrefix)
	if !ok || name == "" || strings.IndexByte(name, '/') >= 0 {
		return "", false
	}
	// The canonical form is lower-case; give the name in the caller's
	// casing, as the last segment of what it wrote.
	raw := strings.TrimRight(scope, "/")
	return raw[strings.LastIndexByte(raw, '/')+1:], true
}

// isGroupScope reports whether a canonical scope is a management group.
func isGroupScope(canonical string) bool {
	name, ok := strings.CutPrefix(canonical, groupPrefix)
	return ok && name != "" && strings.IndexByte(name, '/') < 0
}

// groupBit is the bit of a principal's depth mask that says it may hold an
// assignment at a management group; depthBit never returns it.
const groupBit uint64 = 1 << 63

// scopeMask is the depth-mask contribution of an assignment at e.
func scopeMask(e *scopeEntry) uint64 {
	m := depthBit(int(e.depth))
	if e.isGroupScope() {
		m |= groupBit
	}
	return m
}

// treeScope is one management group in a precomputed chain.
type treeScope struct {
	canonical string // lower-case scope
	raw       string // scope with the name as first written
	hash      uint64
}

// groupTree is the management group hierarchy and where each subscription
// sits in it, as the engine last read it.
type groupTree struct {
	root    string            // lower-case name of the tenant root group, "" if unknown
	parents map[string]string // group -> parent ("" for the root), lower-case names
	names   map[string]string // lower-case name -> name as written
	// subs holds the subscriptions not directly under the root group:
	// lower-case subscription ID -> lower-case group name.
	subs map[string]string

	// Derived by rebuild.
	chains    map[string][]treeScope // group -> the group, its parent, ..., the root
	subChains map[string][]treeScope // subscription -> the chain of its group
	rootChain []treeScope            // the root group alone
}

func newGroupTree() *groupTree {
	t := &groupTree{parents: map[string]string{}, names: map[string]string{}, subs: map[string]string{}}
	t.rebuild()
	return t
}

// buildTree makes a tree from what the store lists.
func buildTree(groups []store.ManagementGroup, subs []store.Subscription) *groupTree {
	t := &groupTree{
		parents: make(map[string]string, len(groups)),
		names:   make(map[string]string, len(groups)),
		subs:    map[string]string{},
	}
	for _, g := range groups {
		t.putGroup(g)
	}
	for _, s := range subs {
		t.putSubscription(s)
	}
	t.rebuild()
	return t
}

func (t *groupTree) putGroup(g store.ManagementGroup) {
	key := lowerKey(g.Name)
	parent := lowerKey(g.ParentName)
	t.parents[key], t.names[key] = parent, g.Name
	if parent == "" {
		t.root = key
	} else if t.root == key {
		t.root = ""
	}
}

func (t *groupTree) deleteGroup(name string) {
	key := lowerKey(name)
	delete(t.parents, key)
	delete(t.names, key)
	if t.root == key {
		t.root = ""
	}
}

func (t *groupTree) putSubscription(s store.Subscription) {
	key, group := lowerKey(s.ID), lowerKey(s.ManagementGroupName)
	if group == "" || group == t.root {
		delete(t.subs, key)
		return
	}
	t.subs[key] = group
}

func (t *groupTree) deleteSubscription(id string) { delete(t.subs, lowerKey(id)) }

// rebuild recomputes every chain. Trees are small (Azure caps them at
// 10,000 groups) and change rarely, so recomputing all is simpler than
// tracking which subtrees a move touched, and the chains stay shared.
func (t *groupTree) rebuild() {
	t.chains = make(map[string][]treeScope, len(t.parents))
	for g := range t.parents {
		t.chains[g] = t.chain(g)
	}
	t.rootChain = nil
	if t.root != "" {
		t.rootChain = t.chains[t.root]
	}
	t.subChains = make(map[string][]treeScope, len(t.subs))
	for s, g := range t.subs {
		if c, ok := t.chains[g]; ok {
			t.subChains[s] = c
		}
		// A subscription under a group the engine has not read yet is
		// under the root until the group arrives.
	}
}

// chain walks up from g. A group whose parent is unknown is treated as
// being under the root, where the store puts every group it accepts.
func (t *groupTree) chain(g string) []treeScope {
	var out []treeScope
	seen := map[string]bool{}
	for cur := g; cur != "" && !seen[cur] && len(out) < maxGroupChain; {
		seen[cur] = true
		canonical := groupPrefix + cur
		out = append(out, treeScope{canonical: canonical, raw: ManagementGroupScope(t.names[cur]), hash: scopeHash(canonical)})
		next, ok := t.parents[cur]
		if !ok || (next == "" && cur != t.root) {
			next = t.root
		}
		cur = next
	}
	return out
}

// above returns the management groups whose assignments apply at the
// canonical scope s beyond its path ancestors, nearest first: every group
// above its subscription, or the strict ancestors of its group.
func (t *groupTree) above(s []byte, path *scopePath) []treeScope {
	if path.n < 3 {
		return nil
	}
	if string(s[:path.ends[1]]) == "/subscriptions" {
		if len(t.subChains) > 0 {
			if c, ok := t.subChains[string(s[path.ends[1]+1:path.ends[2]])]; ok {
				return c
			}
		}
		return t.rootChain
	}
	if path.n > groupScopeDepth && string(s[:path.ends[groupScopeDepth-1]]) == groupCollection {
		if c, ok := t.chains[string(s[path.ends[groupScopeDepth-1]+1:path.ends[groupScopeDepth]])]; ok {
			return c[1:]
		}
		// A group the engine does not know (one being created) sits
		// under the root, where a new group goes by default.
		return t.rootChain
	}
	return nil
}

// Covers reports whether an assignment at ancestor applies at scope: the
// same scope, a path ancestor of it, or a management group above it in the
// tree the engine follows (the group of its subscription, or of the group,
// and their ancestors).
func (e *Engine) Covers(ancestor, scope string) bool {
	a := NormalizeScope(ancestor)
	var path scopePath
	s := path.parse(nil, scope)
	if scopeCovers(a, string(s)) {
		return true
	}
	if !isGroupScope(a) {
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, g := range e.idx.tree.above(s, &path) {
		if g.canonical == a {
			return true
		}
	}
	return false
}

// ManagementGroupsAbove lists the management group scopes whose
// assignments apply at scope besides its path ancestors, root group first,
// with the group names as first written. It is empty for scopes outside
// subscriptions and management groups.
func (e *Engine) ManagementGroupsAbove(scope string) []string {
	var path scopePath
	s := path.parse(nil, scope)
	e.mu.RLock()
	defer e.mu.RUnlock()
	groups := e.idx.tree.above(s, &path)
	out := make([]string, 0, len(groups))
	for i := len(groups) - 1; i >= 0; i-- {
		out = append(out, groups[i].raw)
	}
	return out
}

// Assignable is the package's Assignable with management groups: a role
// whose assignable scopes name a group may be assigned at the group, its
// descendants, the subscriptions under them and below.
func (e *Engine) Assignable(role store.RoleDefinition, scope string) bool {
	for _, as := range role.AssignableScopes {
		if e.Covers(as, scope) {
			return true
		}
	}
	return false
}
