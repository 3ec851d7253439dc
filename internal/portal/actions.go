package portal

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/governanceapi"
	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/review"
)

// actions are the portal's changes, each a form post that becomes one or
// more ARM requests as the session's principal. Destructive ones first
// show a confirmation page and run only with confirm=yes.
func (p *Portal) actions() map[string]handler {
	return map[string]handler{
		"create-group":                p.createGroup,
		"create-identity":             p.createIdentity,
		"delete":                      p.deleteScope,
		"system-identity":             p.systemIdentity,
		"attach-identity":             p.attachIdentity,
		"detach-identity":             p.detachIdentity,
		"add-role-assignment":         p.addRoleAssignment,
		"remove-role-assignment":      p.removeRoleAssignment,
		"add-federated-credential":    p.addFederatedCredential,
		"delete-federated-credential": p.deleteFederatedCredential,
		"apply-finding":               p.applyFinding,
	}
}

func (q *request) form(name string) string { return strings.TrimSpace(q.r.PostFormValue(name)) }

// confirmation is a page asking before a change that cannot be undone.
type confirmation struct {
	Action  string
	Message string
	Detail  string
	Button  string
	Fields  map[string]string
	Cancel  string
	// Progress is the text shown while the change runs.
	Progress string
}

// confirmed reports whether the form was confirmed; if not, it shows the
// question with the form's own fields.
func (q *request) confirmed(c confirmation, title string) bool {
	if q.form("confirm") == "yes" {
		return true
	}
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	for k, vs := range q.r.PostForm {
		if _, preset := c.Fields[k]; !preset && k != "csrf" && k != "confirm" && len(vs) > 0 {
			c.Fields[k] = vs[0]
		}
	}
	if c.Cancel == "" {
		c.Cancel = c.Fields["return"]
	}
	if !strings.HasPrefix(c.Cancel, Path) {
		c.Cancel = Path
	}
	_ = q.show("confirm", page{Title: title, Data: c})
	return false
}

func (p *Portal) createGroup(q *request) error {
	sub, name, location := q.form("subscription"), q.form("name"), q.form("location")
	if location == "" {
		location = "westeurope"
	}
	back := portalURL("/subscriptions/" + sub)
	if sub == "" || name == "" || strings.ContainsAny(name, "/?#") {
		return q.done(flash{"error", "Give the resource group a name (letters, digits, '-', '_', '.', '(' and ')')."}, back)
	}
	id := "/subscriptions/" + sub + "/resourceGroups/" + name
	if _, err := q.arm.do(http.MethodPut, "/subscriptions/"+sub+"/resourcegroups/"+name, vResources, map[string]any{"location": location}, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Created resource group " + name + "."}, portalURL(id))
}

func (p *Portal) createIdentity(q *request) error {
	group, name, location := q.form("group"), q.form("name"), q.form("location")
	ref, ok := parseScope(group)
	back := Path + "identities"
	if !ok || ref.Level() != "group" || name == "" || strings.ContainsAny(name, "/?#") {
		return q.done(flash{"error", "Choose a resource group and give the identity a name."}, back)
	}
	if location == "" {
		location = "westeurope"
	}
	id := ref.GroupID() + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
	if _, err := q.arm.do(http.MethodPut, id, vIdentity, map[string]any{"location": location}, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Created user-assigned identity " + name + "."}, portalURL(id))
}

// deleteScope deletes a resource group, a user-assigned identity or any
// resource.
func (p *Portal) deleteScope(q *request) error {
	ref, ok := parseScope(q.form("id"))
	if !ok || ref.Level() == "subscription" {
		return q.done(flash{"error", "Only resource groups and resources can be deleted here."}, Path)
	}
	parent, version, what := portalURL(ref.GroupID()), vGeneric, "resource "+ref.Name
	detail := "A system-assigned identity it has is deleted with it, with that identity's role assignments; user-assigned identities are only detached."
	switch {
	case ref.Level() == "group":
		parent, version, what = portalURL(ref.SubscriptionID()), vResources, "resource group "+ref.Name
		detail = "Every resource in it is deleted too, with their system-assigned identities and those identities' role assignments."
	case ref.IsIdentity():
		version, what = vIdentity, "user-assigned identity "+ref.Name
		detail = "It is detached from every resource that holds it, and its role assignments and federated credentials are deleted too."
	}
	if !q.confirmed(confirmation{Action: "delete", Message: "Delete " + what + "?", Detail: detail, Button: "Delete",
		Progress: "Deleting " + what + "…", Fields: map[string]string{"return": parent}}, "Delete "+ref.Name) {
		return nil
	}
	path := ref.ID
	if ref.Level() == "group" {
		path = "/subscriptions/" + ref.Subscription + "/resourcegroups/" + ref.Group
	}
	if _, err := q.arm.do(http.MethodDelete, path, version, nil, nil); err != nil {
		return q.failed(err, portalURL(ref.ID))
	}
	return q.done(flash{"ok", "Deleted " + what + "."}, parent)
}

func (q *request) resourceAndBack(tab string) (scopeRef, resource, string, error) {
	ref, ok := parseScope(q.form("id"))
	if !ok || ref.Level() != "resource" {
		return ref, resource{}, Path, fmt.Errorf("portal: not a resource: %q", q.form("id"))
	}
	back := portalURL(ref.ID) + "?blade=identity&tab=" + tab
	var r resource
	err := q.arm.get(ref.ID, vGeneric, &r)
	return ref, r, back, err
}

func userIDs(r resource) []string {
	var out []string
	if r.Identity != nil {
		for id := range r.Identity.UserAssignedIdentities {
			out = append(out, id)
		}
	}
	return out
}

func (p *Portal) systemIdentity(q *request) error {
	ref, r, back, err := q.resourceAndBack("system")
	if err != nil {
		return q.failed(err, back)
	}
	on := q.form("status") == "on"
	if on == r.systemAssigned() {
		return q.done(flash{"ok", "Nothing to save: the system-assigned identity is already " + map[bool]string{true: "on", false: "off"}[on] + "."}, back)
	}
	if !on {
		n := 0
		if as, err := list[roleAssignment](q.arm, withQuery(roleAssignmentsPath(ref.SubscriptionID()), "$filter", "principalId eq '"+r.Identity.PrincipalID+"'"), vAuthorization); err == nil {
			n = len(as)
		}
		if !q.confirmed(confirmation{Action: "system-identity", Button: "Yes, turn it off",
			Message: "Disable the system-assigned managed identity of " + ref.Name + "?",
			Detail: fmt.Sprintf("Its principal (object ID %s) is deleted, and its role assignments are deleted too (%d now). "+
				"Anything using this identity to get tokens stops working.", r.Identity.PrincipalID, n),
			Progress: "Turning off the system-assigned identity…", Fields: map[string]string{"return": back}}, "Turn off system-assigned identity") {
			return nil
		}
	}
	patch := map[string]any{"identity": map[string]any{"type": resources.IdentityType(on, len(userIDs(r)) > 0)}}
	if _, err := q.arm.do(http.MethodPatch, ref.ID, vGeneric, patch, nil); err != nil {
		return q.failed(err, back)
	}
	if on {
		return q.done(flash{"ok", "The system-assigned identity of " + ref.Name + " is on."}, back)
	}
	return q.done(flash{"ok", "The system-assigned identity of " + ref.Name + " is off; its principal and role assignments were deleted."}, back)
}

func (p *Portal) attachIdentity(q *request) error {
	ref, r, back, err := q.resourceAndBack("user")
	if err != nil {
		return q.failed(err, back)
	}
	uid := q.form("identity")
	if _, ok := parseScope(uid); !ok {
		return q.done(flash{"error", "Choose a user-assigned identity to add."}, back)
	}
	patch := map[string]any{"identity": map[string]any{
		"type":                   resources.IdentityType(r.systemAssigned(), true),
		"userAssignedIdentities": map[string]any{uid: map[string]any{}},
	}}
	if _, err := q.arm.do(http.MethodPatch, ref.ID, vGeneric, patch, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Added user-assigned identity " + lastSegment(uid) + " to " + ref.Name + "."}, back)
}

func (p *Portal) detachIdentity(q *request) error {
	ref, r, back, err := q.resourceAndBack("user")
	if err != nil {
		return q.failed(err, back)
	}
	uid := q.form("identity")
	var rest []string
	found := false
	for _, id := range userIDs(r) {
		if strings.EqualFold(id, uid) {
			found, uid = true, id
		} else {
			rest = append(rest, id)
		}
	}
	if !found {
		return q.done(flash{"error", "That identity is not attached to " + ref.Name + "."}, back)
	}
	if !q.confirmed(confirmation{Action: "detach-identity", Button: "Remove",
		Message: "Remove user-assigned identity " + lastSegment(uid) + " from " + ref.Name + "?",
		Detail:  "The identity itself and its role assignments stay; " + ref.Name + " can no longer get tokens for it.",
		Fields:  map[string]string{"return": back}}, "Remove user-assigned identity") {
		return nil
	}
	ident := map[string]any{"type": resources.IdentityType(r.systemAssigned(), len(rest) > 0)}
	if len(rest) > 0 {
		// A null value detaches one identity and keeps the rest.
		ident["userAssignedIdentities"] = map[string]any{uid: nil}
	}
	if _, err := q.arm.do(http.MethodPatch, ref.ID, vGeneric, map[string]any{"identity": ident}, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Removed user-assigned identity " + lastSegment(uid) + " from " + ref.Name + "."}, back)
}

func (p *Portal) addRoleAssignment(q *request) error {
	scope, role := q.form("scope"), q.form("role")
	back := portalURL(scope) + "?blade=iam"
	if _, ok := parseScope(scope); !ok {
		return q.done(flash{"error", "Not a scope: " + scope}, Path)
	}
	members := q.r.PostForm["member"]
	if role == "" || len(members) == 0 {
		return q.done(flash{"error", "Choose a role and at least one member."}, back+"&tab=add")
	}
	var added []string
	for _, m := range members {
		pid, ptype, _ := strings.Cut(m, "|")
		if ptype == "" {
			ptype = "ServicePrincipal"
		}
		body := map[string]any{"properties": map[string]any{"roleDefinitionId": role, "principalId": pid, "principalType": ptype}}
		if _, err := q.arm.do(http.MethodPut, roleAssignmentsPath(scope)+"/"+uuid.NewString(), vAuthorization, body, nil); err != nil {
			return q.failed(err, back+"&tab=add")
		}
		added = append(added, pid)
	}
	return q.done(flash{"ok", fmt.Sprintf("Added %d role assignment(s).", len(added))}, back)
}

func (p *Portal) removeRoleAssignment(q *request) error {
	id := q.form("assignment")
	back := q.form("return")
	if !strings.HasPrefix(back, Path) {
		back = Path
	}
	if !strings.Contains(strings.ToLower(id), "/providers/microsoft.authorization/roleassignments/") {
		return q.done(flash{"error", "Not a role assignment."}, back)
	}
	if !q.confirmed(confirmation{Action: "remove-role-assignment", Button: "Remove",
		Message: "Remove this role assignment?", Detail: q.form("label"),
		Fields: map[string]string{"return": back}}, "Remove role assignment") {
		return nil
	}
	if _, err := q.arm.do(http.MethodDelete, id, vAuthorization, nil, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Removed the role assignment."}, back)
}

func (p *Portal) addFederatedCredential(q *request) error {
	ref, ok := parseScope(q.form("id"))
	back := portalURL(ref.ID) + "?blade=federated"
	if !ok || !ref.IsIdentity() {
		return q.done(flash{"error", "Not a user-assigned identity."}, Path)
	}
	name, issuer, subject, audience := q.form("name"), q.form("issuer"), q.form("subject"), q.form("audience")
	if audience == "" {
		audience = "api://AzureADTokenExchange"
	}
	if name == "" || strings.ContainsAny(name, "/?#") {
		return q.done(flash{"error", "Give the federated credential a name."}, back)
	}
	body := map[string]any{"properties": map[string]any{"issuer": issuer, "subject": subject, "audiences": []string{audience}}}
	if _, err := q.arm.do(http.MethodPut, ref.ID+"/federatedIdentityCredentials/"+name, vIdentity, body, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Added federated credential " + name + "."}, back)
}

func (p *Portal) deleteFederatedCredential(q *request) error {
	ref, ok := parseScope(q.form("id"))
	name := q.form("name")
	back := portalURL(ref.ID) + "?blade=federated"
	if !ok || !ref.IsIdentity() || name == "" {
		return q.done(flash{"error", "Not a federated credential."}, Path)
	}
	if !q.confirmed(confirmation{Action: "delete-federated-credential", Button: "Delete",
		Message: "Delete federated credential " + name + "?", Detail: "Workloads that sign in with it can no longer get tokens for " + ref.Name + ".",
		Fields: map[string]string{"return": back}}, "Delete federated credential") {
		return nil
	}
	if _, err := q.arm.do(http.MethodDelete, ref.ID+"/federatedIdentityCredentials/"+name, vIdentity, nil, nil); err != nil {
		return q.failed(err, back)
	}
	return q.done(flash{"ok", "Deleted federated credential " + name + "."}, back)
}

func (p *Portal) applyFinding(q *request) error {
	scope, id := q.form("scope"), q.form("finding")
	back := Path + "review?scope=" + scope
	ref, ok := parseScope(scope)
	if !ok {
		return q.done(flash{"error", "Not a scope."}, Path+"review")
	}
	var res governanceapi.ReviewResult
	if err := q.arm.get(ref.ID+governanceapi.ReviewPath, vKeyless, &res); err != nil {
		return q.failed(err, back)
	}
	var f *review.Finding
	for i := range res.Findings {
		if res.Findings[i].ID == id {
			f = &res.Findings[i]
		}
	}
	if f == nil {
		return q.done(flash{"error", "That finding is no longer open."}, back)
	}
	reqs, err := fixRequests(q.arm, *f)
	if err != nil {
		return q.done(flash{"error", err.Error()}, back)
	}
	if !q.confirmed(confirmation{Action: "apply-finding", Button: "Apply",
		Message: "Apply the fix of " + f.Rule + " for " + f.DisplayName + "?", Detail: f.Recommendation + " (" + f.Fix + ")",
		Progress: "Applying…", Fields: map[string]string{"return": back}}, "Apply fix") {
		return nil
	}
	for _, r := range reqs {
		body := r.Body
		if r.Prepare != nil {
			if body, err = r.Prepare(); err != nil {
				return q.failed(err, back)
			}
		}
		if _, err := q.arm.do(r.Method, r.Path, r.APIVersion, body, nil); err != nil {
			return q.failed(err, back)
		}
	}
	return q.done(flash{"ok", "Applied: " + f.Recommendation}, back)
}
