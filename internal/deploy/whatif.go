package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
	"github.com/keyless-io/keyless/internal/deploy/template"
)

// WhatIfResult is ARM's WhatIfOperationResult, plus keyless's access
// summary.
type WhatIfResult struct {
	Status     string           `json:"status"`
	Properties WhatIfProperties `json:"properties"`
	Error      *Error           `json:"error,omitempty"`
}

// WhatIfProperties hold the changes.
type WhatIfProperties struct {
	Changes []WhatIfChange `json:"changes"`
	// AccessChanges is keyless's addition: which principal gains or loses
	// which role at which scope, and which resource gains or loses which
	// identity.
	AccessChanges []AccessChange `json:"accessChanges"`
}

// WhatIfChange is one resource's predicted change.
type WhatIfChange struct {
	ResourceID        string           `json:"resourceId"`
	ChangeType        string           `json:"changeType"`
	UnsupportedReason string           `json:"unsupportedReason,omitempty"`
	Before            any              `json:"before,omitempty"`
	After             any              `json:"after,omitempty"`
	Delta             []PropertyChange `json:"delta,omitempty"`
}

// PropertyChange is one property's predicted change.
type PropertyChange struct {
	Path               string           `json:"path"`
	PropertyChangeType string           `json:"propertyChangeType"`
	Before             any              `json:"before,omitempty"`
	After              any              `json:"after,omitempty"`
	Children           []PropertyChange `json:"children,omitempty"`
}

// AccessChange is one entry of the access summary.
type AccessChange struct {
	// ChangeType is Grant or Revoke (a role assignment), Attach or Detach
	// (an identity on a resource).
	ChangeType string `json:"changeType"`
	// PrincipalID is the principal's object ID; for an identity this
	// deployment creates it is not known yet, and Identity names it.
	PrincipalID      string `json:"principalId,omitempty"`
	Identity         string `json:"identity,omitempty"`
	RoleDefinitionID string `json:"roleDefinitionId,omitempty"`
	RoleName         string `json:"roleName,omitempty"`
	Scope            string `json:"scope,omitempty"`
	ResourceID       string `json:"resourceId,omitempty"`
}

// unknownPrefix marks a value what-if cannot know before deploying: the
// object ID of a principal the deployment creates. It names the identity,
// so a role assignment's principal reads as the identity it is.
const unknownPrefix = "[known after deployment: principal of "

func unknownPrincipal(identityID string) string { return unknownPrefix + identityID + "]" }

func identityOfUnknown(v string) (string, bool) {
	if s, ok := strings.CutPrefix(v, unknownPrefix); ok {
		return strings.TrimSuffix(s, "]"), true
	}
	return "", false
}

// WhatIf predicts what deploying the request would change, reading the
// current state through the front door as the caller. Unlike Azure's, it
// resolves reference() over resources the same template creates (from
// their predicted state), so role assignments show their real names and
// the identities they grant to.
func (e *Engine) WhatIf(ctx context.Context, caller Caller, req Request) (*WhatIfResult, error) {
	p, err := e.prepare(ctx, caller, req, true)
	if err != nil {
		return nil, err
	}
	out := &WhatIfResult{Status: "Succeeded"}
	changes, err := e.whatIfPlan(ctx, p)
	if err != nil {
		var de *Error
		if errors.As(err, &de) {
			return nil, de
		}
		return nil, templateError(err)
	}
	sort.SliceStable(changes, func(i, j int) bool {
		return strings.ToLower(changes[i].ResourceID) < strings.ToLower(changes[j].ResourceID)
	})
	out.Properties.Changes = changes
	out.Properties.AccessChanges = e.accessChanges(ctx, p.resolver, changes)
	return out, nil
}

func (e *Engine) whatIfPlan(ctx context.Context, p *prepared) ([]WhatIfChange, error) {
	res := p.resolver
	var changes []WhatIfChange
	for _, r := range topological(p.plan.Resources) {
		before, err := res.get(r.ID, r.APIVersion)
		var fe *frontDoorError
		switch {
		case err == nil:
		case errors.As(err, &fe) && fe.status == http.StatusNotFound:
			before = nil
		case errors.As(err, &fe):
			changes = append(changes, WhatIfChange{ResourceID: r.ID, ChangeType: "Unsupported",
				UnsupportedReason: fmt.Sprintf("The current state could not be read: %s", fe.message)})
			continue
		default:
			return nil, err
		}
		if r.Existing {
			if before == nil {
				return nil, &Error{Status: http.StatusBadRequest, Code: "InvalidTemplateDeployment",
					Message: fmt.Sprintf("The resource '%s' is declared existing but does not exist.", r.ID)}
			}
			res.predict(r.ID, before)
			continue
		}
		if r.Nested != nil {
			nested, err := e.whatIfNested(ctx, p, r)
			if err != nil {
				return nil, err
			}
			changes = append(changes, nested...)
			continue
		}
		body, err := r.Body()
		if err != nil {
			return nil, templateError(err)
		}
		after := envelope(r, body)
		res.predict(r.ID, predicted(r, after, before))
		afterPlain := expr.ToPlain(after)
		if before == nil {
			changes = append(changes, WhatIfChange{ResourceID: r.ID, ChangeType: "Create", After: afterPlain})
			continue
		}
		beforePlain := expr.ToPlain(before)
		delta := diff("", comparable(beforePlain, afterPlain), afterPlain)
		ct := "NoChange"
		if len(delta) > 0 {
			ct = "Modify"
		}
		changes = append(changes, WhatIfChange{ResourceID: r.ID, ChangeType: ct, Before: beforePlain, After: afterPlain, Delta: delta})
	}
	if p.req.Scope.Level() == expr.ResourceGroupLevel {
		named := map[string]bool{}
		for _, r := range p.plan.Resources {
			named[strings.ToLower(r.ID)] = true
		}
		for _, r := range p.plan.Skipped {
			named[strings.ToLower(r.ID)] = true
		}
		ids, err := (&run{engine: e, caller: p.resolver.caller, req: p.req, prep: p}).listGroupResources(ctx)
		var fe *frontDoorError
		if errors.As(err, &fe) && fe.status == http.StatusNotFound {
			// The group does not exist yet (the outer template creates
			// it): it holds nothing to ignore or delete.
			ids, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if named[strings.ToLower(id)] || coveredByNamedParent(id, named) {
				continue
			}
			before, _ := res.get(id, resourcesAPIVersion)
			if p.mode == "Complete" {
				changes = append(changes, WhatIfChange{ResourceID: id, ChangeType: "Delete", Before: expr.ToPlain(before)})
			} else {
				changes = append(changes, WhatIfChange{ResourceID: id, ChangeType: "Ignore", Before: expr.ToPlain(before)})
			}
		}
	}
	return changes, nil
}

// whatIfNested predicts a nested deployment's resources at its own scope.
func (e *Engine) whatIfNested(ctx context.Context, p *prepared, r *template.Resource) ([]WhatIfChange, error) {
	// Predictions flow both ways: the nested template may reference what
	// the outer one creates (its resource group, say), and the outer one
	// what the nested creates.
	p.resolver.mu.Lock()
	if p.resolver.predicted == nil {
		p.resolver.predicted = map[string]any{}
	}
	shared := p.resolver.predicted
	p.resolver.mu.Unlock()
	np, err := e.prepareNested(ctx, p.resolver.caller, p.req, r, true, shared)
	if err != nil {
		return nil, err
	}
	return e.whatIfPlan(ctx, np)
}

// envelope is the resource document the deployment would PUT.
func envelope(r *template.Resource, body *expr.Object) *expr.Object {
	o := expr.NewObject(body.Len() + 4)
	o.Set("id", r.ID)
	o.Set("name", lastName(r.ID))
	o.Set("type", r.Type)
	o.Set("apiVersion", r.APIVersion)
	for _, k := range body.Keys() {
		v, _ := body.Get(k)
		o.Set(k, v)
	}
	return o
}

// predicted is what reference() sees of a resource after the deployment:
// the body with what keyless would compute (provisioningState, identity
// principals; unknown ones named after their identity).
func predicted(r *template.Resource, after *expr.Object, before any) *expr.Object {
	o := after.Clone()
	props, _ := o.Get("properties")
	po, ok := props.(*expr.Object)
	if ok {
		po = po.Clone()
	} else {
		po = expr.NewObject(2)
	}
	po.Set("provisioningState", "Succeeded")
	bo, _ := before.(*expr.Object)
	if strings.EqualFold(r.Type, "Microsoft.ManagedIdentity/userAssignedIdentities") {
		for _, k := range []string{"principalId", "clientId", "tenantId"} {
			if v, ok := lookupPath(bo, "properties", k); ok {
				po.Set(k, v)
			} else {
				po.Set(k, unknownPrincipal(r.ID))
			}
		}
	}
	o.Set("properties", po)
	if id, ok := o.Get("identity"); ok {
		if io, ok := id.(*expr.Object); ok {
			io = io.Clone()
			if t, _ := io.Get("type"); strings.Contains(strings.ToLower(fmt.Sprint(t)), "systemassigned") {
				if v, ok := lookupPath(bo, "identity", "principalId"); ok {
					io.Set("principalId", v)
				} else {
					io.Set("principalId", unknownPrincipal(r.ID))
				}
			}
			o.Set("identity", io)
		}
	}
	return o
}

func lookupPath(o *expr.Object, path ...string) (any, bool) {
	var cur any = o
	for _, p := range path {
		co, ok := cur.(*expr.Object)
		if !ok || co == nil {
			return nil, false
		}
		if cur, ok = co.Get(p); !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// comparable trims the current state to what the request body governs:
// server-computed members (provisioningState, principal IDs, systemData,
// the audit fields of role assignments) are not changes the template
// makes, and would be noise. A generic resource's properties are kept as
// given, so a member the template drops is a real Delete there; the
// resource types keyless itself implements compute members of their own,
// which a template cannot remove.
func comparable(before, after any) any {
	bm, ok := before.(map[string]any)
	am, ok2 := after.(map[string]any)
	if !ok || !ok2 {
		return before
	}
	typ, _ := lookupFold(am, "type")
	computed := serviceTypes[strings.ToLower(fmt.Sprint(typ))]
	out := map[string]any{}
	for k, bv := range bm {
		av, inAfter := lookupFold(am, k)
		if isEmptyJSON(bv) && !inAfter {
			continue
		}
		switch strings.ToLower(k) {
		case "systemdata", "etag", "managedby":
			continue
		case "properties":
			if !inAfter {
				continue
			}
			out[k] = trimComputed(bv, av, computed)
			continue
		case "identity":
			if inAfter {
				out[k] = trimComputed(bv, av, true)
				continue
			}
		}
		out[k] = bv
	}
	return out
}

// serviceTypes are the types whose properties keyless computes beyond what
// the request gives.
var serviceTypes = map[string]bool{
	"microsoft.authorization/roleassignments":          true,
	"microsoft.authorization/roledefinitions":          true,
	"microsoft.managedidentity/userassignedidentities": true,
	"microsoft.resources/resourcegroups":               true,
	"microsoft.resources/deployments":                  true,
	"microsoft.subscription/aliases":                   true,
	"microsoft.management/managementgroups":            true,
}

func isEmptyJSON(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func trimComputed(before, after any, serviceComputed bool) any {
	bm, ok := before.(map[string]any)
	am, ok2 := after.(map[string]any)
	if !ok || !ok2 {
		return before
	}
	out := map[string]any{}
	for k, v := range bm {
		_, set := lookupFold(am, k)
		if !set {
			switch {
			case serviceComputed, isEmptyJSON(v):
				continue
			}
			switch strings.ToLower(k) {
			case "provisioningstate", "principalid", "clientid", "tenantid":
				continue
			}
		}
		if uai, ok := v.(map[string]any); ok && strings.EqualFold(k, "userAssignedIdentities") {
			trimmed := map[string]any{}
			for id := range uai {
				trimmed[id] = map[string]any{}
			}
			out[k] = trimmed
			continue
		}
		out[k] = v
	}
	return out
}

func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// diff lists the property changes from before to after (both plain JSON
// values), as ARM's what-if delta.
func diff(path string, before, after any) []PropertyChange {
	bm, bok := before.(map[string]any)
	am, aok := after.(map[string]any)
	if bok && aok {
		var out []PropertyChange
		keys := map[string]string{}
		for k := range bm {
			keys[strings.ToLower(k)] = k
		}
		for k := range am {
			keys[strings.ToLower(k)] = k
		}
		sorted := make([]string, 0, len(keys))
		for _, k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if path == "" && (strings.EqualFold(k, "apiVersion") || strings.EqualFold(k, "id") || strings.EqualFold(k, "name") || strings.EqualFold(k, "type")) {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			bv, inB := lookupFold(bm, k)
			av, inA := lookupFold(am, k)
			switch {
			case !inB:
				out = append(out, PropertyChange{Path: p, PropertyChangeType: "Create", After: av})
			case !inA:
				out = append(out, PropertyChange{Path: p, PropertyChangeType: "Delete", Before: bv})
			default:
				out = append(out, diff(p, bv, av)...)
			}
		}
		return out
	}
	if equalJSON(before, after) {
		return nil
	}
	if _, ok := after.([]any); ok {
		return []PropertyChange{{Path: path, PropertyChangeType: "Array", Before: before, After: after}}
	}
	return []PropertyChange{{Path: path, PropertyChangeType: "Modify", Before: before, After: after}}
}

func equalJSON(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var av, bv any
	_ = json.Unmarshal(ab, &av)
	_ = json.Unmarshal(bb, &bv)
	return reflect.DeepEqual(av, bv)
}

// topological orders resources so that each comes after what it depends
// on (the plan is acyclic: the template layer refuses cycles).
func topological(rs []*template.Resource) []*template.Resource {
	out := make([]*template.Resource, 0, len(rs))
	state := map[*template.Resource]int{}
	var visit func(r *template.Resource)
	visit = func(r *template.Resource) {
		if state[r] != 0 {
			return
		}
		state[r] = 1
		for _, d := range r.DependsOn {
			visit(d)
		}
		state[r] = 2
		out = append(out, r)
	}
	for _, r := range rs {
		visit(r)
	}
	return out
}

// accessChanges summarises what the changes do to access: role
// assignments granted or revoked, identities attached or detached.
func (e *Engine) accessChanges(ctx context.Context, res *resolver, changes []WhatIfChange) []AccessChange {
	out := []AccessChange{}
	roleNames := map[string]string{}
	roleName := func(id string) string {
		if id == "" {
			return ""
		}
		if n, ok := roleNames[strings.ToLower(id)]; ok {
			return n
		}
		name := ""
		if v, err := res.get(id, "2022-04-01"); err == nil {
			if o, ok := v.(*expr.Object); ok {
				if n, ok := lookupPath(o, "properties", "roleName"); ok {
					name = fmt.Sprint(n)
				}
			}
		}
		roleNames[strings.ToLower(id)] = name
		return name
	}
	assignment := func(changeType string, doc any, id string) {
		m, _ := doc.(map[string]any)
		props, _ := lookupFold(m, "properties")
		pm, _ := props.(map[string]any)
		principal, _ := lookupFold(pm, "principalId")
		roleID, _ := lookupFold(pm, "roleDefinitionId")
		ac := AccessChange{ChangeType: changeType, RoleDefinitionID: fmt.Sprint(orEmpty(roleID)), Scope: assignmentScope(id)}
		ps := fmt.Sprint(orEmpty(principal))
		if identity, ok := identityOfUnknown(ps); ok {
			ac.Identity = identity
		} else {
			ac.PrincipalID = ps
		}
		ac.RoleName = roleName(ac.RoleDefinitionID)
		out = append(out, ac)
	}
	for _, c := range changes {
		isAssignment := strings.EqualFold(typeOf(c.ResourceID), "Microsoft.Authorization/roleAssignments")
		switch {
		case isAssignment && c.ChangeType == "Create":
			assignment("Grant", c.After, c.ResourceID)
		case isAssignment && c.ChangeType == "Delete":
			assignment("Revoke", c.Before, c.ResourceID)
		case isAssignment && c.ChangeType == "Modify":
			assignment("Revoke", c.Before, c.ResourceID)
			assignment("Grant", c.After, c.ResourceID)
		case !isAssignment:
			before, after := identities(c.Before), identities(c.After)
			if c.ChangeType == "Ignore" || c.ChangeType == "NoChange" || c.ChangeType == "Unsupported" {
				continue
			}
			if c.ChangeType == "Delete" {
				after = nil
			}
			for id := range after {
				if !before[id] {
					out = append(out, AccessChange{ChangeType: "Attach", ResourceID: c.ResourceID, Identity: displayIdentity(id)})
				}
			}
			for id := range before {
				if !after[id] {
					out = append(out, AccessChange{ChangeType: "Detach", ResourceID: c.ResourceID, Identity: displayIdentity(id)})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ResourceID != out[j].ResourceID {
			return out[i].ResourceID < out[j].ResourceID
		}
		return out[i].Scope < out[j].Scope
	})
	return out
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func displayIdentity(id string) string {
	if id == "systemassigned" {
		return "SystemAssigned"
	}
	return id
}

// identities lists the identities a resource document holds: the key
// "systemassigned" and the lower-case IDs of user-assigned ones.
func identities(doc any) map[string]bool {
	m, _ := doc.(map[string]any)
	idv, _ := lookupFold(m, "identity")
	im, _ := idv.(map[string]any)
	if im == nil {
		return nil
	}
	out := map[string]bool{}
	t, _ := lookupFold(im, "type")
	if strings.Contains(strings.ToLower(fmt.Sprint(t)), "systemassigned") {
		out["systemassigned"] = true
	}
	if ua, ok := lookupFold(im, "userAssignedIdentities"); ok {
		if um, ok := ua.(map[string]any); ok {
			for id := range um {
				out[strings.ToLower(id)] = true
			}
		}
	}
	return out
}

func assignmentScope(id string) string {
	i := strings.Index(strings.ToLower(id), "/providers/microsoft.authorization/roleassignments/")
	if i < 0 {
		return ""
	}
	if i == 0 {
		return "/"
	}
	return id[:i]
}
