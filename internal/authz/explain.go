package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// Decision is an authorization decision with its reasons, for
// `keyless role check`, audit records and the text of a 403.
type Decision struct {
	Allowed     bool
	PrincipalID string
	Action      string
	// DataAction is true when Action was checked as a data action.
	DataAction bool
	Scope      string
	// Grants are the assignments that allow the action, nearest the root
	// first. Empty when the action is denied.
	Grants []Grant
	// Others are the assignments that apply at the scope but do not allow
	// the action; ExcludedBy says when one matched but a notAction (or
	// notDataAction) of the same block took it away.
	Others []Grant
}

// Grant describes one role assignment taking part in a decision.
type Grant struct {
	AssignmentName string
	// PrincipalID is the assignee: the principal asked about or one of the
	// groups it belongs to (directly or not).
	PrincipalID      string
	RoleDefinitionID string
	RoleName         string
	// Scope is the assignment's scope as it was written.
	Scope string
	// MatchedBy is the action pattern that covered the action, if any.
	MatchedBy string
	// ExcludedBy is the exclusion pattern that removed it, if any.
	ExcludedBy string
}

// String is a one-line account of the decision.
func (d Decision) String() string {
	kind := "action"
	if d.DataAction {
		kind = "data action"
	}
	if d.Allowed {
		g := d.Grants[0]
		return fmt.Sprintf("%s %q allowed at %s by role assignment %s (%s at %s%s)",
			kind, d.Action, d.Scope, g.AssignmentName, g.RoleName, g.Scope, via(d.PrincipalID, g))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q denied at %s: no role assignment of principal %s grants it", kind, d.Action, d.Scope, d.PrincipalID)
	for _, g := range d.Others {
		if g.ExcludedBy != "" {
			fmt.Fprintf(&b, "; %s at %s%s matches %q but excludes it with %q",
				g.RoleName, g.Scope, via(d.PrincipalID, g), g.MatchedBy, g.ExcludedBy)
		}
	}
	return b.String()
}

func via(principalID string, g Grant) string {
	if strings.EqualFold(principalID, g.PrincipalID) {
		return ""
	}
	return ", through group " + g.PrincipalID
}

// Explain decides like Allowed and says which assignments allowed the
// action, or that none did and which came closest.
func (e *Engine) Explain(principalID, action, scope string) Decision {
	return e.explain(principalID, action, scope, false)
}

// ExplainData is Explain for a data action.
func (e *Engine) ExplainData(principalID, dataAction, scope string) Decision {
	return e.explain(principalID, dataAction, scope, true)
}

func (e *Engine) explain(principalID, action, scope string, data bool) Decision {
	d := Decision{PrincipalID: principalID, Action: action, DataAction: data, Scope: scope}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, a := range e.idx.applicable(lowerKey(principalID), NormalizeScope(scope)) {
		g := Grant{
			AssignmentName:   e.idx.nameOf(a),
			PrincipalID:      a.principal.id,
			RoleDefinitionID: a.role.id,
			Scope:            a.scope.raw(),
		}
		r := a.role.role
		if r == nil {
			g.RoleName = "(unknown role " + a.role.id + ")"
			d.Others = append(d.Others, g)
			continue
		}
		g.RoleName = r.def.RoleName
		allowed := false
		for i := range r.blocks {
			include, exclude := r.blocks[i].lists(data)
			in := include.matchAny(action)
			if in < 0 {
				continue
			}
			if ex := exclude.matchAny(action); ex >= 0 {
				if g.MatchedBy == "" {
					g.MatchedBy, g.ExcludedBy = include[in].raw, exclude[ex].raw
				}
				continue
			}
			g.MatchedBy, g.ExcludedBy, allowed = include[in].raw, "", true
			break
		}
		if allowed {
			d.Grants = append(d.Grants, g)
		} else {
			d.Others = append(d.Others, g)
		}
	}
	d.Allowed = len(d.Grants) > 0
	return d
}

// applicable lists the assignments that apply to the principal at the
// canonical scope, its groups' included, ordered from the root down (the
// root, the management groups from the tenant root group down, then the
// scope's path) and then by name, so that output is stable.
func (idx *index) applicable(principalID, scope string) []*assignment {
	type ranked struct {
		a    *assignment
		rank int
	}
	var found []ranked
	idx.eachApplicable(principalID, scope, func(a *assignment, rank int) { found = append(found, ranked{a, rank}) })
	slices.SortFunc(found, func(x, y ranked) int {
		if c := x.rank - y.rank; c != 0 {
			return c
		}
		return strings.Compare(idx.nameOf(x.a), idx.nameOf(y.a))
	})
	out := make([]*assignment, len(found))
	for i, r := range found {
		out[i] = r.a
	}
	return out
}

// Permissions returns the principal's permissions that apply at the scope:
// one element per permission block of each applicable assignment's role,
// not merged, as GET .../providers/Microsoft.Authorization/permissions
// reports them (§11.3). The slices are the caller's to keep.
func (e *Engine) Permissions(principalID, scope string) []store.Permission {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := []store.Permission{}
	for _, a := range e.idx.applicable(lowerKey(principalID), NormalizeScope(scope)) {
		if r := a.role.role; r != nil {
			out = append(out, clonePermissions(r.def.Permissions)...)
		}
	}
	return out
}
