package authz

import "github.com/keyless-io/keyless/internal/store"

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

// Assignments returns every role assignment the engine holds (name,
// principal, role definition GUID and scope as stored), copied under the
// engine's read lock into one slice of the exact size: reports that weigh
// every assignment (access review, inventory) read them here rather than
// scan the store, which at a million assignments costs seconds.
func (e *Engine) Assignments() []store.RoleAssignment {
	e.mu.RLock()
	defer e.mu.RUnlock()
	idx := e.idx
	out := make([]store.RoleAssignment, 0, len(idx.assignments)+len(idx.oddAssignments))
	// Scopes are kept as trees of segments; each is rendered once however
	// many assignments share it.
	raws := make(map[*scopeEntry]string)
	add := func(a *assignment) {
		raw, ok := raws[a.scope]
		if !ok {
			raw = a.scope.raw()
			raws[a.scope] = raw
		}
		out = append(out, store.RoleAssignment{Name: idx.nameOf(a), PrincipalID: a.principal.id, RoleDefinitionID: a.role.id, Scope: raw,
			PrincipalType: "ServicePrincipal"})
	}
	for _, a := range idx.assignments {
		add(a)
	}
	for _, a := range idx.oddAssignments {
		add(a)
	}
	return out
}
