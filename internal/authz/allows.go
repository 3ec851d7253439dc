package authz

import (
	"runtime"
	"sync"

	"github.com/keyless-io/keyless/internal/store"
)

// RoleAllows reports whether a role definition's permissions grant action
// (a control-plane action, not a data action): some permission block lists
// it in actions and does not exclude it in notActions, with ARM's wildcard
// rules. It compiles the patterns on each call; it is for reports that
// weigh roles against each other (access review), not for the decision
// path, which the engine serves from compiled roles.
func RoleAllows(role store.RoleDefinition, action string) bool {
	for _, perm := range role.Permissions {
		if anyMatch(perm.Actions, action) && !anyMatch(perm.NotActions, action) {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, action string) bool {
	for _, raw := range patterns {
		p := compilePattern(raw)
		if p.match(action) {
			return true
		}
	}
	return false
}

// RoleMatcher is a role's permissions compiled once, as the engine
// compiles them, for reports that weigh many actions against the same
// roles.
type RoleMatcher struct{ role *compiledRole }

// NewRoleMatcher compiles role.
func NewRoleMatcher(role store.RoleDefinition) *RoleMatcher {
	return &RoleMatcher{role: compileRole(role)}
}

// Allows reports whether the role grants the control-plane action, with
// the engine's rules (conditions included).
func (m *RoleMatcher) Allows(action string) bool { return m.role.allows(action, false) }

// GrantsByPrincipal is what Assignments holds, grouped by principal ID,
// as grants (name, scope, role, principal: what a review and an inventory
// read, a third of a full assignment's size). Each principal's grants come
// in the engine's order (by scope hash): the same for the same
// assignments, but not sorted; a report sorts what it shows. It is built from the per-principal grant
// arrays the engine keeps anyway, so there is no global copy to regroup,
// in parallel chunks: at a million assignments the cost is rendering
// the names and scopes, one core per chunk.
func (e *Engine) GrantsByPrincipal() map[string][]store.AssignmentGrant {
	e.mu.RLock()
	defer e.mu.RUnlock()
	idx := e.idx
	held := make([]*principalState, 0, len(idx.principals))
	for _, ps := range idx.principals {
		if len(ps.grants) > 0 {
			held = append(held, ps)
		}
	}
	lists := make([][]store.AssignmentGrant, len(held))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(held)/2000))
	chunk := (len(held) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(held))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				ps := held[i]
				as := make([]store.AssignmentGrant, len(ps.grants))
				for j, g := range ps.grants {
					a := g.a
					as[j] = store.AssignmentGrant{Name: idx.nameOf(a), PrincipalID: ps.id, RoleDefinitionID: a.role.id, Scope: a.scope.raw()}
				}
				lists[i] = as
			}
		}()
	}
	wg.Wait()
	out := make(map[string][]store.AssignmentGrant, len(held))
	for i, ps := range held {
		out[ps.id] = lists[i]
	}
	return out
}
