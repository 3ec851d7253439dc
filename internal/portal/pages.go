package portal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/governanceapi"
	"github.com/keyless-io/keyless/internal/review"
)

// RBAC actions the pages ask about before offering a control.
const (
	actSubRead        = "Microsoft.Resources/subscriptions/read"
	actGroupWrite     = "Microsoft.Resources/subscriptions/resourceGroups/write"
	actGroupDelete    = "Microsoft.Resources/subscriptions/resourceGroups/delete"
	actIdentityRead   = "Microsoft.ManagedIdentity/userAssignedIdentities/read"
	actIdentityWrite  = "Microsoft.ManagedIdentity/userAssignedIdentities/write"
	actIdentityDelete = "Microsoft.ManagedIdentity/userAssignedIdentities/delete"
	actIdentityAssign = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
	actFICWrite       = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"
	actFICDelete      = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete"
	actAssignWrite    = "Microsoft.Authorization/roleAssignments/write"
	actAssignDelete   = "Microsoft.Authorization/roleAssignments/delete"
	actAssignRead     = "Microsoft.Authorization/roleAssignments/read"
	actSPRead         = "Keyless.Directory/servicePrincipals/read"
	actSPDelete       = "Keyless.Directory/servicePrincipals/delete"
	actGroupRead      = "Keyless.Directory/groups/read"
	actPrincipalsRead = "Keyless.Directory/principals/read"
	actReviewRead     = governanceapi.ActionReviewRead
	actUsageRead      = "Keyless.Insights/usage/read"
	actEventsRead     = "Microsoft.Insights/eventtypes/values/read"
)

func (c *client) subscriptions() ([]subscription, error) {
	subs, err := list[subscription](c, "/subscriptions", vSubscriptions)
	sortBy(subs, func(s subscription) string { return s.DisplayName })
	return subs, err
}

func (c *client) groups(sub string) ([]resourceGroup, error) {
	gs, err := list[resourceGroup](c, resourceGroupsPath(sub), vResources)
	sortBy(gs, func(g resourceGroup) string { return g.Name })
	return gs, err
}

func (c *client) identities(sub string) ([]uami, error) {
	ids, err := list[uami](c, "/subscriptions/"+sub+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", vIdentity)
	sortBy(ids, func(u uami) string { return u.Name })
	return ids, err
}

func (c *client) resourcesIn(scope scopeRef) ([]resource, error) {
	path := "/subscriptions/" + scope.Subscription + "/resources"
	if scope.Group != "" {
		path = scope.GroupID() + "/resources"
	}
	rs, err := list[resource](c, path, vResources)
	sortBy(rs, func(r resource) string { return r.Name })
	return rs, err
}

// groupRow is a resource group with its subscription, for tables.
type groupRow struct {
	resourceGroup
	Subscription subscription
}

func (p *Portal) home(q *request) error {
	subs, err := q.arm.subscriptions()
	if err != nil {
		return err
	}
	counts := struct{ Subscriptions, Groups, Identities, Assignments, Findings int }{Subscriptions: len(subs)}
	for _, s := range subs {
		sub := "/subscriptions/" + s.SubscriptionID
		if gs, err := q.arm.groups(s.SubscriptionID); err == nil {
			counts.Groups += len(gs)
		}
		if ids, err := q.arm.identities(s.SubscriptionID); err == nil {
			counts.Identities += len(ids)
		}
		if rs, err := q.arm.resourcesIn(scopeRef{Subscription: s.SubscriptionID}); err == nil {
			for _, r := range rs {
				if r.systemAssigned() {
					counts.Identities++
				}
			}
		}
		if as, err := list[roleAssignment](q.arm, roleAssignmentsPath(sub), vAuthorization); err == nil {
			counts.Assignments += len(as)
		}
		if q.arm.can(actReviewRead, sub) {
			var res governanceapi.ReviewResult
			if err := q.arm.get(sub+governanceapi.ReviewPath, vKeyless, &res); err == nil {
				counts.Findings += len(res.Findings)
			}
		}
	}
	return q.show("home", page{Title: "Home", Nav: "home", Data: map[string]any{"Counts": counts, "Subscriptions": subs}})
}

func (p *Portal) groupsPage(q *request) error {
	subs, err := q.arm.subscriptions()
	if err != nil {
		return err
	}
	var rows []groupRow
	var writable []subscription
	for _, s := range subs {
		gs, err := q.arm.groups(s.SubscriptionID)
		if err != nil {
			return err
		}
		for _, g := range gs {
			rows = append(rows, groupRow{g, s})
		}
		if q.arm.can(actGroupWrite, "/subscriptions/"+s.SubscriptionID) {
			writable = append(writable, s)
		}
	}
	return q.show("groups", page{Title: "Resource groups", Nav: "groups", Crumbs: []crumb{{"Home", Path}},
		Data: map[string]any{"Groups": rows, "Writable": writable}})
}

type identityRow struct {
	uami
	Group string
}

func (p *Portal) identitiesPage(q *request) error {
	subs, err := q.arm.subscriptions()
	if err != nil {
		return err
	}
	var rows []identityRow
	var groups []groupRow
	for _, s := range subs {
		ids, err := q.arm.identities(s.SubscriptionID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			ref, _ := parseScope(id.ID)
			rows = append(rows, identityRow{id, ref.Group})
		}
		gs, _ := q.arm.groups(s.SubscriptionID)
		for _, g := range gs {
			if q.arm.can(actIdentityWrite, g.ID) {
				groups = append(groups, groupRow{g, s})
			}
		}
	}
	return q.show("identities", page{Title: "Managed identities", Nav: "identities", Crumbs: []crumb{{"Home", Path}},
		Data: map[string]any{"Identities": rows, "Groups": groups}})
}

// crumbsFor is the breadcrumb trail above a scope.
func (q *request) crumbsFor(ref scopeRef) []crumb {
	out := []crumb{{"Home", Path}}
	if ref.Level() != "subscription" {
		out = append(out, crumb{"Subscription " + ref.Subscription, portalURL(ref.SubscriptionID())})
	}
	if ref.Level() == "resource" {
		out = append(out, crumb{ref.Group, portalURL(ref.GroupID())})
	}
	return out
}

// blade is one entry of a scope page's menu.
type blade struct{ Key, Label string }

func bladesFor(ref scopeRef) []blade {
	switch {
	case ref.Level() == "subscription":
		return []blade{{"overview", "Overview"}, {"iam", "Access control (IAM)"}}
	case ref.Level() == "group":
		return []blade{{"overview", "Overview"}, {"deployments", "Deployments"}, {"iam", "Access control (IAM)"}}
	case ref.IsIdentity():
		return []blade{{"overview", "Overview"}, {"federated", "Federated credentials"}, {"roles", "Azure role assignments"}, {"iam", "Access control (IAM)"}}
	}
	return []blade{{"overview", "Overview"}, {"identity", "Identity"}, {"iam", "Access control (IAM)"}}
}

// scopeView is what every scope page carries.
type scopeView struct {
	Ref    scopeRef
	Blade  string
	Blades []blade
	// Can says which controls to offer.
	Can map[string]bool
}

func (p *Portal) resourcePage(q *request) error {
	ref, ok := parseScope("/" + q.r.PathValue("id"))
	if !ok {
		p.renderStatus(q.w, q.r, http.StatusNotFound, "Not found", "This is not the address of a subscription, resource group or resource.")
		return nil
	}
	bladeKey := q.r.URL.Query().Get("blade")
	if bladeKey == "" {
		bladeKey = "overview"
	}
	v := scopeView{Ref: ref, Blade: bladeKey, Blades: bladesFor(ref), Can: map[string]bool{}}
	title := ref.Name
	switch ref.Level() {
	case "subscription":
		var s subscription
		if err := q.arm.get(ref.ID, vSubscriptions, &s); err != nil {
			return err
		}
		title = s.DisplayName
	}
	pg := page{Title: title, Nav: navOf(ref), Crumbs: q.crumbsFor(ref)}
	switch bladeKey {
	case "iam":
		return p.iamBlade(q, v, pg)
	case "identity":
		return p.identityBlade(q, v, pg)
	case "federated":
		return p.federatedBlade(q, v, pg)
	case "roles":
		return p.principalRolesBlade(q, v, pg)
	case "deployments":
		return p.deploymentsBlade(q, v, pg)
	}
	return p.overviewBlade(q, v, pg)
}

func navOf(ref scopeRef) string {
	if ref.IsIdentity() {
		return "identities"
	}
	return "groups"
}

func (p *Portal) overviewBlade(q *request, v scopeView, pg page) error {
	ref := v.Ref
	data := map[string]any{"View": v}
	switch ref.Level() {
	case "subscription":
		gs, err := q.arm.groups(ref.Subscription)
		if err != nil {
			return err
		}
		data["Groups"] = gs
		v.Can["createGroup"] = q.arm.can(actGroupWrite, ref.ID)
	case "group":
		var g resourceGroup
		if err := q.arm.get(ref.ID, vResources, &g); err != nil {
			return err
		}
		rs, err := q.arm.resourcesIn(ref)
		if err != nil {
			return err
		}
		data["Group"], data["Resources"] = g, rs
		v.Can["createIdentity"] = q.arm.can(actIdentityWrite, ref.ID+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x")
		v.Can["delete"] = q.arm.can(actGroupDelete, ref.ID)
	default:
		if ref.IsIdentity() {
			return p.identityOverview(q, v, pg)
		}
		var r resource
		if err := q.arm.get(ref.ID, vGeneric, &r); err != nil {
			return err
		}
		data["Resource"] = r
		data["Properties"] = prettyJSON(r.Properties)
		v.Can["delete"] = q.arm.can(ref.ResourceType+"/delete", ref.ID)
	}
	data["View"] = v
	pg.Data = data
	return q.show("overview", pg)
}

func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// assignable is a user-assigned identity the principal may attach.
type assignable struct{ ID, Name, Group string }

func (p *Portal) identityBlade(q *request, v scopeView, pg page) error {
	ref := v.Ref
	var r resource
	if err := q.arm.get(ref.ID, vGeneric, &r); err != nil {
		return err
	}
	tab := q.r.URL.Query().Get("tab")
	if tab != "user" {
		tab = "system"
	}
	write := q.arm.can(ref.ResourceType+"/write", ref.ID)
	v.Can["write"] = write
	var attached []assignable
	if r.Identity != nil {
		for id := range r.Identity.UserAssignedIdentities {
			s, _ := parseScope(id)
			attached = append(attached, assignable{ID: id, Name: s.Name, Group: s.Group})
		}
	}
	sortBy(attached, func(a assignable) string { return a.Name })
	var choices []assignable
	if tab == "user" && write && q.r.URL.Query().Get("add") != "" {
		// The picker lists only identities the principal may assign
		// (linked authorization); the server checks again on Save.
		ids, err := q.arm.identities(ref.Subscription)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if q.arm.can(actIdentityAssign, id.ID) && !containsFold(attached, id.ID) {
				s, _ := parseScope(id.ID)
				choices = append(choices, assignable{ID: id.ID, Name: id.Name, Group: s.Group})
			}
		}
		v.Can["pick"] = true
	}
	principalID := ""
	if r.systemAssigned() {
		principalID = r.Identity.PrincipalID
	}
	pg.Data = map[string]any{"View": v, "Resource": r, "Tab": tab, "On": r.systemAssigned(), "PrincipalID": principalID,
		"Attached": attached, "Choices": choices}
	return q.show("identity", pg)
}

func containsFold(xs []assignable, id string) bool {
	for _, x := range xs {
		if strings.EqualFold(x.ID, id) {
			return true
		}
	}
	return false
}

// identityOverview is a user-assigned identity's page.
func (p *Portal) identityOverview(q *request, v scopeView, pg page) error {
	ref := v.Ref
	var id uami
	if err := q.arm.get(ref.ID, vIdentity, &id); err != nil {
		return err
	}
	// Resources it is attached to: those of the subscription whose
	// identity block names it.
	var holders []resource
	if rs, err := q.arm.resourcesIn(scopeRef{Subscription: ref.Subscription}); err == nil {
		for _, r := range rs {
			if r.Identity == nil {
				continue
			}
			for uid := range r.Identity.UserAssignedIdentities {
				if strings.EqualFold(uid, id.ID) {
					holders = append(holders, r)
				}
			}
		}
	}
	var lastUse any
	if q.arm.can(actUsageRead, ref.ID) {
		var u struct {
			Value []struct {
				Properties struct {
					LastTokenIssued *string `json:"lastTokenIssued"`
					LastActivity    *string `json:"lastActivity"`
					Tokens          []struct {
						Audience   string `json:"audience"`
						Count      int64  `json:"count"`
						LastIssued string `json:"lastIssued"`
					} `json:"tokens"`
				} `json:"properties"`
			} `json:"value"`
		}
		if err := q.arm.get(withQuery(ref.ID+"/providers/Keyless.Insights/usage", "principalId", id.Properties.PrincipalID), vKeyless, &u); err == nil && len(u.Value) > 0 {
			lastUse = u.Value[0].Properties
		}
	}
	v.Can["delete"] = q.arm.can(actIdentityDelete, ref.ID)
	pg.Data = map[string]any{"View": v, "Identity": id, "Holders": holders, "LastUse": lastUse}
	return q.show("uami", pg)
}

func (p *Portal) federatedBlade(q *request, v scopeView, pg page) error {
	fics, err := list[federatedCredential](q.arm, v.Ref.ID+"/federatedIdentityCredentials", vIdentity)
	if err != nil {
		return err
	}
	v.Can["write"] = q.arm.can(actFICWrite, v.Ref.ID+"/federatedIdentityCredentials/x")
	v.Can["delete"] = q.arm.can(actFICDelete, v.Ref.ID+"/federatedIdentityCredentials/x")
	pg.Data = map[string]any{"View": v, "Credentials": fics}
	return q.show("federated", pg)
}

// principalRolesBlade lists the role assignments a managed identity holds
// (the Identity blade's "Azure role assignments" button, and a
// user-assigned identity's own list).
func (p *Portal) principalRolesBlade(q *request, v scopeView, pg page) error {
	principalID := q.r.URL.Query().Get("principal")
	if v.Ref.IsIdentity() {
		var id uami
		if err := q.arm.get(v.Ref.ID, vIdentity, &id); err != nil {
			return err
		}
		principalID = id.Properties.PrincipalID
	}
	if principalID == "" {
		var r resource
		if err := q.arm.get(v.Ref.ID, vGeneric, &r); err != nil {
			return err
		}
		if r.systemAssigned() {
			principalID = r.Identity.PrincipalID
		}
	}
	var rows []assignmentRow
	if principalID != "" {
		sub := v.Ref.SubscriptionID()
		as, err := list[roleAssignment](q.arm, withQuery(roleAssignmentsPath(sub), "$filter", "assignedTo('"+principalID+"')"), vAuthorization)
		if err != nil {
			return err
		}
		rows = q.assignmentRows(as, sub, newNames(q))
	}
	pg.Data = map[string]any{"View": v, "PrincipalID": principalID, "Assignments": rows}
	pg.Title = v.Ref.Name + ": Azure role assignments"
	return q.show("principalroles", pg)
}

// reviewFinding is a finding with what the portal can do about it.
type reviewFinding struct {
	review.Finding
	// Applicable: the fix translates into ARM requests the principal may make.
	Applicable bool
	// Why explains a fix that is not offered.
	Why string
}

func (q *request) scopeChoices() []scopeRef {
	var out []scopeRef
	subs, _ := q.arm.subscriptions()
	for _, s := range subs {
		ref, _ := parseScope("/subscriptions/" + s.SubscriptionID)
		out = append(out, ref)
		gs, _ := q.arm.groups(s.SubscriptionID)
		for _, g := range gs {
			ref, _ := parseScope(g.ID)
			out = append(out, ref)
		}
	}
	return out
}

// chosenScope is the ?scope= of governance pages, by default the first
// subscription.
func (q *request) chosenScope(choices []scopeRef) (scopeRef, bool) {
	if s := q.r.URL.Query().Get("scope"); s != "" {
		return parseScope(s)
	}
	if len(choices) == 0 {
		return scopeRef{}, false
	}
	return choices[0], true
}

func (p *Portal) reviewPage(q *request) error {
	choices := q.scopeChoices()
	ref, ok := q.chosenScope(choices)
	pg := page{Title: "Access review", Nav: "review", Crumbs: []crumb{{"Home", Path}}}
	if !ok {
		pg.Data = map[string]any{"Choices": choices}
		return q.show("review", pg)
	}
	var res governanceapi.ReviewResult
	if err := q.arm.get(ref.ID+governanceapi.ReviewPath, vKeyless, &res); err != nil {
		return err
	}
	var findings []reviewFinding
	for _, f := range res.Findings {
		rf := reviewFinding{Finding: f}
		reqs, err := fixRequests(q.arm, f)
		switch {
		case f.Fix == "":
			rf.Why = "This needs a person's judgement; there is no fix to apply."
		case err != nil:
			rf.Why = err.Error()
		default:
			rf.Applicable = true
			for _, r := range reqs {
				if !q.arm.can(r.Action, r.Scope) {
					rf.Applicable, rf.Why = false, "You may not make this change ("+r.Action+" at "+r.Scope+")."
					break
				}
			}
		}
		findings = append(findings, rf)
	}
	pg.Data = map[string]any{"Choices": choices, "Scope": ref, "Findings": findings}
	return q.show("review", pg)
}
