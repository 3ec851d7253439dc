package portal

import (
	"strings"
)

// names resolves principal IDs to display names and types for one page,
// from what the principal may read.
type names struct {
	q    *request
	byID map[string]principalInfo
}

func newNames(q *request) *names { return &names{q: q, byID: map[string]principalInfo{}} }

func (n *names) of(id string) principalInfo {
	key := strings.ToLower(id)
	if p, ok := n.byID[key]; ok {
		return p
	}
	p := principalInfo{ObjectID: id}
	if n.q.arm.can(actPrincipalsRead, "/") {
		if ps, err := list[principalInfo](n.q.arm, withQuery("/providers/Keyless.Directory/principals", "assignee", id), vKeyless); err == nil && len(ps) > 0 {
			p = ps[0]
		}
	}
	n.byID[key] = p
	return p
}

// member is a principal that can be given a role.
type member struct {
	ObjectID, DisplayName, Type, Kind string
}

// members lists managed identities, service principals and groups the
// principal may see, for the Add role assignment and Check access pickers.
func (q *request) members(sub string) []member {
	var out []member
	seen := map[string]bool{}
	add := func(m member) {
		if m.ObjectID != "" && !seen[strings.ToLower(m.ObjectID)] {
			seen[strings.ToLower(m.ObjectID)] = true
			out = append(out, m)
		}
	}
	if ids, err := q.arm.identities(sub); err == nil {
		for _, id := range ids {
			add(member{id.Properties.PrincipalID, id.Name, "ServicePrincipal", "User-assigned identity"})
		}
	}
	if rs, err := q.arm.resourcesIn(scopeRef{Subscription: sub}); err == nil {
		for _, r := range rs {
			if r.systemAssigned() {
				add(member{r.Identity.PrincipalID, r.Name, "ServicePrincipal", "System-assigned identity"})
			}
		}
	}
	if q.arm.can(actSPRead, "/") {
		var sps []struct {
			Properties struct {
				ObjectID    string `json:"objectId"`
				DisplayName string `json:"displayName"`
			} `json:"properties"`
		}
		if got, err := list[struct {
			Properties struct {
				ObjectID    string `json:"objectId"`
				DisplayName string `json:"displayName"`
			} `json:"properties"`
		}](q.arm, "/providers/Keyless.Directory/servicePrincipals", vKeyless); err == nil {
			sps = got
		}
		for _, sp := range sps {
			add(member{sp.Properties.ObjectID, sp.Properties.DisplayName, "ServicePrincipal", "Service principal"})
		}
	}
	if q.arm.can(actGroupRead, "/") {
		if gs, err := list[struct {
			Properties struct {
				ObjectID    string `json:"objectId"`
				DisplayName string `json:"displayName"`
			} `json:"properties"`
		}](q.arm, "/providers/Keyless.Directory/groups", vKeyless); err == nil {
			for _, g := range gs {
				add(member{g.Properties.ObjectID, g.Properties.DisplayName, "Group", "Group"})
			}
		}
	}
	sortBy(out, func(m member) string { return m.DisplayName })
	return out
}

// assignmentRow is one line of a role assignment list.
type assignmentRow struct {
	ID, RoleName, Scope  string
	Principal            principalInfo
	Inherited, CanDelete bool
}

func (q *request) assignmentRows(as []roleAssignment, scope string, n *names) []assignmentRow {
	roles := map[string]string{}
	if defs, err := list[roleDefinition](q.arm, roleDefinitionsPath(scope), vAuthorization); err == nil {
		for _, d := range defs {
			roles[strings.ToLower(d.Name)] = d.Properties.RoleName
		}
	}
	var rows []assignmentRow
	for _, a := range as {
		role := roles[strings.ToLower(lastSegment(a.Properties.RoleDefinitionID))]
		if role == "" {
			role = lastSegment(a.Properties.RoleDefinitionID)
		}
		p := n.of(a.Properties.PrincipalID)
		if p.PrincipalType == "" {
			p.PrincipalType = a.Properties.PrincipalType
		}
		rows = append(rows, assignmentRow{
			ID: a.ID, RoleName: role, Scope: a.Properties.Scope, Principal: p,
			Inherited: !strings.EqualFold(strings.TrimRight(a.Properties.Scope, "/"), strings.TrimRight(scope, "/")),
			CanDelete: q.arm.can(actAssignDelete, a.Properties.Scope),
		})
	}
	sortBy(rows, func(r assignmentRow) string { return r.RoleName + " " + r.Principal.DisplayName })
	return rows
}

func (p *Portal) iamBlade(q *request, v scopeView, pg page) error {
	ref := v.Ref
	tab := q.r.URL.Query().Get("tab")
	data := map[string]any{"View": v}
	v.Can["assign"] = q.arm.can(actAssignWrite, ref.ID)
	switch tab {
	case "add":
		defs, err := list[roleDefinition](q.arm, roleDefinitionsPath(ref.ID), vAuthorization)
		if err != nil {
			return err
		}
		sortBy(defs, func(d roleDefinition) string { return d.Properties.RoleName })
		data["Roles"], data["Members"] = defs, q.members(ref.Subscription)
	case "check":
		data["Members"] = q.members(ref.Subscription)
		if who := q.r.URL.Query().Get("principal"); who != "" {
			as, err := list[roleAssignment](q.arm, withQuery(roleAssignmentsPath(ref.ID), "$filter", "atScope() and assignedTo('"+who+"')"), vAuthorization)
			if err != nil {
				return err
			}
			n := newNames(q)
			data["Checked"], data["CheckedPrincipal"] = q.assignmentRows(as, ref.ID, n), n.of(who)
		}
	case "roles":
		defs, err := list[roleDefinition](q.arm, roleDefinitionsPath(ref.ID), vAuthorization)
		if err != nil {
			return err
		}
		sortBy(defs, func(d roleDefinition) string { return d.Properties.Type + " " + d.Properties.RoleName })
		data["Roles"] = defs
	default:
		tab = "assignments"
		as, err := list[roleAssignment](q.arm, withQuery(roleAssignmentsPath(ref.ID), "$filter", "atScope()"), vAuthorization)
		if err != nil {
			return err
		}
		data["Assignments"] = q.assignmentRows(as, ref.ID, newNames(q))
	}
	data["Tab"], data["View"] = tab, v
	pg.Data = data
	return q.show("iam", pg)
}
