package rbacapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
)

// principalTypes are the values ARM accepts for principalType.
var principalTypes = []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}

func (h *handlers) assignmentNameParam(c *arm.Call) (string, error) {
	name := c.Params["roleAssignmentName"]
	if !isGUID(name) {
		return "", arm.Errorf(http.StatusBadRequest, "InvalidRoleAssignmentId", "roleAssignmentName",
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	return name, nil
}

func roleAssignmentNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "RoleAssignmentNotFound", "", "The role assignment '%s' is not found.", name)
}

// getPrincipal finds a directory object by object ID. Object IDs are
// stored as generated (lower case); callers may write them in any case.
func getPrincipal(ctx context.Context, tx store.Tx, objectID string) (store.Principal, error) {
	p, err := tx.GetPrincipal(ctx, objectID)
	if errors.Is(err, store.ErrNotFound) && strings.ToLower(objectID) != objectID {
		p, err = tx.GetPrincipal(ctx, strings.ToLower(objectID))
	}
	return p, err
}

// roleAssignmentRequest is RoleAssignmentCreateParameters on the wire.
type roleAssignmentRequest struct {
	Properties *struct {
		RoleDefinitionID *string `json:"roleDefinitionId"`
		PrincipalID      *string `json:"principalId"`
		PrincipalType    *string `json:"principalType"`
		Description      *string `json:"description"`
		Condition        *string `json:"condition"`
		ConditionVersion *string `json:"conditionVersion"`
		// Scope is read-only; a client echoing a GET body sends it.
		Scope *string `json:"scope"`
	} `json:"properties"`
}

func invalidAssignment(target, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRoleAssignmentRequest", target, format, args...)
}

// decodeRoleAssignment checks what can be checked without the store.
func decodeRoleAssignment(c *arm.Call, r *http.Request, name string) (store.RoleAssignment, string, error) {
	var req roleAssignmentRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return store.RoleAssignment{}, "", err
	}
	p := req.Properties
	if p == nil {
		return store.RoleAssignment{}, "", invalidAssignment("properties", "The request must have 'properties' with roleDefinitionId and principalId.")
	}
	a := store.RoleAssignment{Name: name, Scope: c.Scope}
	if p.RoleDefinitionID == nil || *p.RoleDefinitionID == "" {
		return a, "", invalidAssignment("properties.roleDefinitionId", "The role assignment must have a roleDefinitionId.")
	}
	roleID, ok := parseRoleDefinitionRef(*p.RoleDefinitionID)
	if !ok {
		return a, "", arm.Errorf(http.StatusBadRequest, "InvalidRoleDefinitionId", "properties.roleDefinitionId",
			"The role definition ID '%s' is not valid: use '/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid}', '/providers/Microsoft.Authorization/roleDefinitions/{guid}' or the GUID.", *p.RoleDefinitionID)
	}
	a.RoleDefinitionID = roleID
	if p.PrincipalID == nil || strings.TrimSpace(*p.PrincipalID) == "" {
		return a, "", invalidAssignment("properties.principalId", "The role assignment must have a principalId.")
	}
	a.PrincipalID = strings.TrimSpace(*p.PrincipalID)
	wantType := ""
	if p.PrincipalType != nil && *p.PrincipalType != "" {
		i := slices.IndexFunc(principalTypes, func(t string) bool { return strings.EqualFold(t, *p.PrincipalType) })
		if i < 0 {
			return a, "", arm.Errorf(http.StatusBadRequest, "InvalidPrincipalType", "properties.principalType",
				"The principalType '%s' is not valid; use one of %s.", *p.PrincipalType, strings.Join(principalTypes, ", "))
		}
		wantType = principalTypes[i]
	}
	if p.Condition != nil && *p.Condition != "" {
		// Storing a condition the engine ignores would grant more than the
		// caller asked for.
		return a, "", arm.Errorf(http.StatusBadRequest, "RoleAssignmentConditionNotSupported", "properties.condition",
			"Conditions on role assignments (ABAC) are not supported by keyless yet; remove the condition.")
	}
	if p.Description != nil {
		a.Description = *p.Description
	}
	if len(a.Description) > maxDescriptionLength {
		return a, "", invalidAssignment("properties.description", "The description is longer than %d characters.", maxDescriptionLength)
	}
	if p.Scope != nil && *p.Scope != "" && !sameScope(*p.Scope, c.Scope) {
		return a, "", invalidAssignment("properties.scope", "properties.scope '%s' does not match the scope of the request URL '%s'.", *p.Scope, c.Scope)
	}
	return a, wantType, nil
}

// putRoleAssignment creates an assignment (201), or answers 200 for a PUT
// that repeats an existing one (its description may change). Everything
// else about an assignment is immutable (reference §11.2, CONTRACT.md).
func (h *handlers) putRoleAssignment(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.assignmentNameParam(c)
	if err != nil {
		return err
	}
	a, wantType, err := decodeRoleAssignment(c, r, name)
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := h.now()
	var (
		saved  store.RoleAssignment
		status int
	)
	_, err = h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		a := a
		if err := checkScopeExists(ctx, tx, a.Scope); err != nil {
			return err
		}
		// The directory decides, whatever principalType says (stricter than
		// Azure, which skips the lookup when the type is given; CONTRACT.md).
		p, err := getPrincipal(ctx, tx, a.PrincipalID)
		if errors.Is(err, store.ErrNotFound) {
			return arm.Errorf(http.StatusBadRequest, "PrincipalNotFound", "properties.principalId",
				"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. (keyless has no replication delay: a principal can be assigned roles as soon as it is created.)",
				a.PrincipalID, h.cfg.TenantID)
		}
		if err != nil {
			return err
		}
		a.PrincipalID, a.PrincipalType = p.ObjectID, principalTypeOf(p.Kind)
		if wantType != "" && wantType != a.PrincipalType {
			return arm.Errorf(http.StatusBadRequest, "UnmatchedPrincipalType", "properties.principalType",
				"The PrincipalId '%s' has type '%s', which is different from specified PrincipalType '%s'.", p.ObjectID, a.PrincipalType, wantType)
		}
		role, err := tx.GetRoleDefinition(ctx, a.RoleDefinitionID)
		if errors.Is(err, store.ErrNotFound) {
			return arm.Errorf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "properties.roleDefinitionId",
				"The specified role definition with ID '%s' does not exist.", a.RoleDefinitionID)
		}
		if err != nil {
			return err
		}
		a.RoleDefinitionID = role.ID
		if !h.cfg.Engine.Assignable(role, a.Scope) {
			return arm.Errorf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "properties.roleDefinitionId",
				"The specified role definition with ID '%s' ('%s') does not exist at scope '%s': it is assignable only at or below %s.",
				role.ID, role.RoleName, a.Scope, strings.Join(role.AssignableScopes, ", "))
		}
		// The front door has checked roleAssignments/write at the scope; the
		// escalation guard checks that the caller holds what it hands out.
		if !h.cfg.Engine.CanGrant(c.Caller.ObjectID, role, a.Scope) {
			return cannotGrant(c.Caller, "grant", role, a.Scope)
		}

		old, err := tx.GetRoleAssignment(ctx, a.Name)
		switch {
		case err == nil:
			if !strings.EqualFold(old.PrincipalID, a.PrincipalID) || !strings.EqualFold(old.RoleDefinitionID, a.RoleDefinitionID) || !sameScope(old.Scope, a.Scope) {
				return arm.Errorf(http.StatusConflict, "RoleAssignmentUpdateNotPermitted", "",
					"Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			status = http.StatusOK
			if old.Description == a.Description {
				saved = old
				return nil
			}
			// The description is the one mutable member: replace the row in
			// this transaction, keeping its creation data.
			if err := tx.DeleteRoleAssignment(ctx, old.Name); err != nil {
				return err
			}
			a.Name, a.Scope, a.CreatedAt, a.CreatedBy = old.Name, old.Scope, old.CreatedAt, old.CreatedBy
			a.UpdatedAt, a.UpdatedBy = now, c.Caller.ObjectID
			if err := tx.CreateRoleAssignment(ctx, a); err != nil {
				return err
			}
			saved = a
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		dups, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{PrincipalID: a.PrincipalID, RoleDefinitionID: a.RoleDefinitionID, Scope: a.Scope})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return arm.Errorf(http.StatusConflict, "RoleAssignmentExists", "",
				"The role assignment already exists. The ID of the existing role assignment is %s.", strings.ReplaceAll(strings.ToLower(dups[0].Name), "-", ""))
		}
		a.CreatedAt, a.UpdatedAt, a.CreatedBy, a.UpdatedBy = now, now, c.Caller.ObjectID, c.Caller.ObjectID
		if err := tx.CreateRoleAssignment(ctx, a); err != nil {
			return err
		}
		saved, status = a, http.StatusCreated
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, status, roleAssignmentWire(saved))
	return nil
}

func (h *handlers) getRoleAssignment(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.assignmentNameParam(c)
	if err != nil {
		return err
	}
	var a store.RoleAssignment
	err = h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		a, err = tx.GetRoleAssignment(r.Context(), name)
		return err
	})
	// An assignment is addressed at its own scope only: the caller was
	// authorized at the scope of the URL.
	if errors.Is(err, store.ErrNotFound) || err == nil && !sameScope(a.Scope, c.Scope) {
		return roleAssignmentNotFound(name)
	}
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, roleAssignmentWire(a))
	return nil
}

// deleteRoleAssignment answers 200 with the deleted assignment, or 204 when
// there was none at this scope.
func (h *handlers) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.assignmentNameParam(c)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var deleted *store.RoleAssignment
	_, err = h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		deleted = nil
		a, err := tx.GetRoleAssignment(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !sameScope(a.Scope, c.Scope) {
			return nil
		}
		if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil {
			return err
		}
		deleted = &a
		return nil
	})
	if err != nil {
		return err
	}
	if deleted == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	arm.WriteJSON(w, http.StatusOK, roleAssignmentWire(*deleted))
	return nil
}

// listRoleAssignments serves ListForScope, ListForSubscription,
// ListForResourceGroup and ListForResource (reference §11.2): without a
// filter, the assignments at, above and below the scope; atScope() drops
// those below.
//
// An assignment is listed when the caller may read role assignments at its
// scope, or when it applies at the listed scope (at or above it) and the
// caller may read role assignments there: as in Azure, a Reader of a group
// sees the assignments the group inherits.
func (h *handlers) listRoleAssignments(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	f, err := parseAssignmentFilter(rawFilter(r.URL.Query()))
	if err != nil {
		return err
	}
	p, err := h.pagingOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	scope := c.Scope
	var found []store.RoleAssignment
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		principals := []string{""}
		switch {
		case f.principalID != "":
			principals = []string{canonicalPrincipalID(ctx, tx, f.principalID)}
		case f.assignedTo != "":
			if principals, err = withGroups(ctx, tx, canonicalPrincipalID(ctx, tx, f.assignedTo)); err != nil {
				return err
			}
		}
		above := append(ancestors(scope), h.cfg.Engine.ManagementGroupsAbove(scope)...)
		found, err = assignmentsAround(ctx, tx, scope, above, principals, f.atScope)
		return err
	})
	if err != nil {
		return err
	}
	readHere := c.Allowed(ActionRoleAssignmentsRead, scope)
	visible := found[:0]
	for _, a := range found {
		if c.Allowed(ActionRoleAssignmentsRead, a.Scope) || readHere && h.cfg.Engine.Covers(a.Scope, scope) {
			visible = append(visible, a)
		}
	}
	items, next := pageOf(visible, func(a store.RoleAssignment) string { return strings.ToLower(a.Name) }, p)
	out := page[RoleAssignment]{Value: []RoleAssignment{}, NextLink: h.nextLink(r, c, next)}
	for _, a := range items {
		out.Value = append(out.Value, roleAssignmentWire(a))
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// canonicalPrincipalID is the stored object ID of a principal, so that the
// store's exact match on principal IDs finds it however the caller cased
// it. An unknown principal is returned lower-cased (it has no assignments:
// they are deleted with their principal).
func canonicalPrincipalID(ctx context.Context, tx store.Tx, id string) string {
	if p, err := getPrincipal(ctx, tx, id); err == nil {
		return p.ObjectID
	}
	return strings.ToLower(id)
}

// withGroups returns the principal and every group it belongs to,
// transitively (assignedTo). Cycles are harmless.
func withGroups(ctx context.Context, tx store.Tx, principalID string) ([]string, error) {
	seen := map[string]bool{strings.ToLower(principalID): true}
	out := []string{principalID}
	for queue := []string{principalID}; len(queue) > 0; {
		m := queue[0]
		queue = queue[1:]
		groups, err := tx.ListGroupsOf(ctx, m)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if !seen[strings.ToLower(g)] {
				seen[strings.ToLower(g)] = true
				out = append(out, g)
				queue = append(queue, g)
			}
		}
	}
	return out, nil
}

// assignmentsAround lists the assignments at scope and at the scopes above
// it (its path ancestors and the management groups above it), and below it
// unless atScopeOnly, of the given principals ("" for every principal),
// sorted by name and without duplicates.
func assignmentsAround(ctx context.Context, tx store.Tx, scope string, above, principals []string, atScopeOnly bool) ([]store.RoleAssignment, error) {
	byName := map[string]store.RoleAssignment{}
	add := func(f store.RoleAssignmentFilter) error {
		as, err := tx.ListRoleAssignments(ctx, f)
		if err != nil {
			return fmt.Errorf("list role assignments: %w", err)
		}
		for _, a := range as {
			byName[strings.ToLower(a.Name)] = a
		}
		return nil
	}
	for _, pid := range principals {
		for _, a := range above {
			if err := add(store.RoleAssignmentFilter{PrincipalID: pid, Scope: a}); err != nil {
				return nil, err
			}
		}
		f := store.RoleAssignmentFilter{PrincipalID: pid, ScopePrefix: scope}
		if atScopeOnly {
			f = store.RoleAssignmentFilter{PrincipalID: pid, Scope: scope}
		}
		if err := add(f); err != nil {
			return nil, err
		}
	}
	out := make([]store.RoleAssignment, 0, len(byName))
	for _, a := range byName {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.RoleAssignment) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}
