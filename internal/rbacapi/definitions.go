package rbacapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// Limits on custom roles. Azure caps role names at 512 characters and
// descriptions at 2,048; the action lists are bounded here so one role
// cannot make the engine's index arbitrarily large.
const (
	maxRoleNameLength    = 512
	maxDescriptionLength = 2048
	maxPermissionBlocks  = 16
	maxPatternsPerList   = 512
	maxPatternLength     = 512
	maxAssignableScopes  = 64
)

// actionPattern is what an action or data action in a role may look like:
// "*", "*/read", "Microsoft.Web/sites/*", "Keyless.Directory/principals/read".
var actionPattern = regexp.MustCompile(`^[A-Za-z0-9*][A-Za-z0-9._*/-]*$`)

// visibleAt reports whether a role is seen at scope: built-ins everywhere,
// a custom role where one of its assignable scopes is at, above or below
// the scope (so listing at a subscription shows roles made for its groups,
// and for the management groups above it).
func (h *handlers) visibleAt(d store.RoleDefinition, scope string) bool {
	if d.RoleType == authz.RoleTypeBuiltIn {
		return true
	}
	for _, as := range d.AssignableScopes {
		if h.related(as, scope) {
			return true
		}
	}
	return false
}

func roleDefinitionNotFound(id string) error {
	return arm.Errorf(http.StatusNotFound, "RoleDefinitionDoesNotExist", "", "The role definition '%s' does not exist.", id)
}

func (h *handlers) roleDefinitionParam(c *arm.Call) (string, error) {
	id := c.Params["roleDefinitionId"]
	if !isGUID(id) {
		return "", arm.Errorf(http.StatusBadRequest, "InvalidRoleDefinitionId", "roleDefinitionId",
			"The role definition ID '%s' is not valid. The role definition ID must be a GUID.", id)
	}
	return id, nil
}

func (h *handlers) getRoleDefinition(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	id, err := h.roleDefinitionParam(c)
	if err != nil {
		return err
	}
	var d store.RoleDefinition
	err = h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		d, err = tx.GetRoleDefinition(r.Context(), id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || err == nil && !h.visibleAt(d, c.Scope) {
		return roleDefinitionNotFound(id)
	}
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, roleDefinitionWire(c.Scope, d))
	return nil
}

func (h *handlers) listRoleDefinitions(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	f, err := parseDefinitionFilter(rawFilter(r.URL.Query()))
	if err != nil {
		return err
	}
	p, err := h.pagingOf(r)
	if err != nil {
		return err
	}
	var all []store.RoleDefinition
	if err := h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		all, err = tx.ListRoleDefinitions(r.Context())
		return err
	}); err != nil {
		return err
	}
	var matched []store.RoleDefinition
	for _, d := range all {
		if !h.visibleAt(d, c.Scope) ||
			f.roleName != "" && !strings.EqualFold(f.roleName, d.RoleName) ||
			f.roleType != "" && f.roleType != d.RoleType {
			continue
		}
		matched = append(matched, d)
	}
	// The store lists by lower-case ID, which is the paging key.
	items, next := pageOf(matched, func(d store.RoleDefinition) string { return strings.ToLower(d.ID) }, p)
	out := page[RoleDefinition]{Value: []RoleDefinition{}, NextLink: h.nextLink(r, c, next)}
	for _, d := range items {
		out.Value = append(out.Value, roleDefinitionWire(c.Scope, d))
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// roleDefinitionRequest is RoleDefinition as PUT by the SDK and az
// (captured body in reference §11.1).
type roleDefinitionRequest struct {
	Properties *struct {
		RoleName         *string             `json:"roleName"`
		Description      *string             `json:"description"`
		Type             *string             `json:"type"`
		AssignableScopes []string            `json:"assignableScopes"`
		Permissions      []permissionRequest `json:"permissions"`
	} `json:"properties"`
}

type permissionRequest struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        *string  `json:"condition"`
	ConditionVersion *string  `json:"conditionVersion"`
}

func invalidRoleDefinition(target, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRoleDefinition", target, format, args...)
}

// decodeRoleDefinition checks a custom role's content: everything that can
// be decided without the store.
func decodeRoleDefinition(c *arm.Call, r *http.Request, id string) (store.RoleDefinition, error) {
	var req roleDefinitionRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return store.RoleDefinition{}, err
	}
	p := req.Properties
	if p == nil {
		return store.RoleDefinition{}, invalidRoleDefinition("properties", "The request must have 'properties' with roleName, permissions and assignableScopes.")
	}
	d := store.RoleDefinition{ID: id, RoleType: authz.RoleTypeCustom}
	if p.RoleName == nil || strings.TrimSpace(*p.RoleName) == "" {
		return d, invalidRoleDefinition("properties.roleName", "The role definition must have a roleName.")
	}
	d.RoleName = strings.TrimSpace(*p.RoleName)
	if len(d.RoleName) > maxRoleNameLength {
		return d, invalidRoleDefinition("properties.roleName", "The roleName is longer than %d characters.", maxRoleNameLength)
	}
	if p.Description != nil {
		d.Description = *p.Description
	}
	if len(d.Description) > maxDescriptionLength {
		return d, invalidRoleDefinition("properties.description", "The description is longer than %d characters.", maxDescriptionLength)
	}
	if p.Type != nil && *p.Type != "" && !strings.EqualFold(*p.Type, authz.RoleTypeCustom) {
		return d, invalidRoleDefinition("properties.type", "Only custom roles can be created or updated: 'type' must be 'CustomRole', not '%s'.", *p.Type)
	}
	if len(p.Permissions) == 0 || len(p.Permissions) > maxPermissionBlocks {
		return d, invalidRoleDefinition("properties.permissions", "The role definition must have between 1 and %d permission blocks.", maxPermissionBlocks)
	}
	grantsSomething := false
	for i, pr := range p.Permissions {
		if pr.Condition != nil && *pr.Condition != "" {
			// An ignored condition would grant more than its author meant.
			return d, invalidRoleDefinition(fmt.Sprintf("properties.permissions[%d].condition", i),
				"Conditions in role definitions are not supported by keyless yet; remove the condition.")
		}
		perm := store.Permission{}
		for _, list := range []struct {
			name string
			in   []string
			out  *[]string
		}{
			{"actions", pr.Actions, &perm.Actions}, {"notActions", pr.NotActions, &perm.NotActions},
			{"dataActions", pr.DataActions, &perm.DataActions}, {"notDataActions", pr.NotDataActions, &perm.NotDataActions},
		} {
			target := fmt.Sprintf("properties.permissions[%d].%s", i, list.name)
			if len(list.in) > maxPatternsPerList {
				return d, invalidRoleDefinition(target, "At most %d entries are allowed in %s.", maxPatternsPerList, list.name)
			}
			*list.out = []string{}
			for _, a := range list.in {
				a = strings.TrimSpace(a)
				if len(a) > maxPatternLength || !actionPattern.MatchString(a) {
					return d, invalidRoleDefinition(target, "'%s' is not a valid action: use '{Namespace}/{resourceType}/{operation}' with '*' wildcards, e.g. 'Microsoft.Compute/virtualMachines/read' or '*/read'.", a)
				}
				*list.out = append(*list.out, a)
			}
		}
		grantsSomething = grantsSomething || len(perm.Actions) > 0 || len(perm.DataActions) > 0
		d.Permissions = append(d.Permissions, perm)
	}
	if !grantsSomething {
		return d, invalidRoleDefinition("properties.permissions", "The role definition must grant at least one action or data action.")
	}
	if len(p.AssignableScopes) == 0 || len(p.AssignableScopes) > maxAssignableScopes {
		return d, invalidRoleDefinition("properties.assignableScopes", "The role definition must have between 1 and %d assignableScopes.", maxAssignableScopes)
	}
	seen := map[string]bool{}
	for _, s := range p.AssignableScopes {
		if strings.TrimSpace(s) == "" {
			return d, invalidRoleDefinition("properties.assignableScopes", "An assignable scope is empty.")
		}
		s = cleanScope(strings.TrimSpace(s))
		if key := authz.NormalizeScope(s); !seen[key] {
			seen[key] = true
			d.AssignableScopes = append(d.AssignableScopes, s)
		}
	}
	return d, nil
}

func builtinReadOnly(d store.RoleDefinition) error {
	return arm.Errorf(http.StatusForbidden, "BuiltInRoleDefinitionReadOnly", "",
		"The role definition '%s' (%s) is a built-in role; built-in roles cannot be created, changed or deleted. Create a custom role with a new GUID instead.", d.RoleName, d.ID)
}

// cannotGrant is the escalation guard's refusal.
func cannotGrant(c arm.Caller, what string, d store.RoleDefinition, scope string) error {
	return arm.Errorf(http.StatusForbidden, "AuthorizationFailed", "",
		"The client '%s' with object id '%s' cannot %s role '%s' (%s) over scope '%s': the role grants permissions the client does not hold at that scope itself, and a principal can only hand out permissions it holds.",
		c.Name(), c.ObjectID, what, d.RoleName, d.ID, scope)
}

// putRoleDefinition creates or replaces a custom role. It answers 201 for
// both: RoleDefinitionsClient.CreateOrUpdate accepts nothing else
// (reference §1.8).
func (h *handlers) putRoleDefinition(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	id, err := h.roleDefinitionParam(c)
	if err != nil {
		return err
	}
	if b, ok := authz.BuiltinRole(id); ok {
		return builtinReadOnly(b)
	}
	d, err := decodeRoleDefinition(c, r, id)
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := h.now()
	d.Scope, d.CreatedAt, d.UpdatedAt, d.CreatedBy, d.UpdatedBy = c.Scope, now, now, c.Caller.ObjectID, c.Caller.ObjectID
	var saved store.RoleDefinition
	_, err = h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		d := d // fn may run more than once
		old, err := tx.GetRoleDefinition(ctx, id)
		exists := err == nil
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case old.RoleType == authz.RoleTypeBuiltIn:
			return builtinReadOnly(old)
		}
		all, err := tx.ListRoleDefinitions(ctx)
		if err != nil {
			return err
		}
		for _, o := range all {
			if !strings.EqualFold(o.ID, id) && strings.EqualFold(o.RoleName, d.RoleName) {
				return arm.Errorf(http.StatusConflict, "RoleDefinitionWithSameNameExists", "properties.roleName",
					"A role definition named '%s' already exists (%s). Role names are unique in the tenant.", o.RoleName, o.ID)
			}
		}
		if err := h.checkAssignableScopes(ctx, tx, c, d); err != nil {
			return err
		}
		if exists {
			// Changing a role changes every assignment of it, so the caller
			// must control every scope the role was usable at, and no
			// assignment may fall outside the new assignable scopes.
			for _, s := range old.AssignableScopes {
				if !c.Allowed(ActionRoleDefinitionsWrite, s) {
					return arm.AuthorizationFailed(c.Caller, ActionRoleDefinitionsWrite, s)
				}
			}
			assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{RoleDefinitionID: id})
			if err != nil {
				return err
			}
			for _, a := range assignments {
				if !h.cfg.Engine.Assignable(d, a.Scope) {
					return arm.Errorf(http.StatusConflict, "RoleDefinitionHasAssignments", "properties.assignableScopes",
						"The role definition '%s' is assigned at '%s' (role assignment %s), which the new assignableScopes do not include. Delete that role assignment first or keep the scope assignable.",
						d.RoleName, a.Scope, a.Name)
				}
			}
			d.Scope, d.CreatedAt, d.CreatedBy = old.Scope, old.CreatedAt, old.CreatedBy
		}
		if _, err := tx.PutRoleDefinition(ctx, d); err != nil {
			return err
		}
		saved = d
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusCreated, roleDefinitionWire(c.Scope, saved))
	return nil
}

// checkAssignableScopes follows Azure: every assignable scope must exist
// and the caller must be able to write role definitions there. keyless adds
// the escalation guard: the caller must hold, at each assignable scope,
// everything the role grants, or a User Access Administrator could write
// "*" into a role it holds and become Owner.
func (h *handlers) checkAssignableScopes(ctx context.Context, tx store.Tx, c *arm.Call, d store.RoleDefinition) error {
	for _, s := range d.AssignableScopes {
		if err := checkScopeExists(ctx, tx, s); err != nil {
			var e *arm.Error
			if errors.As(err, &e) {
				e.Target = "properties.assignableScopes"
				e.Message = "The assignable scope '" + s + "' is not valid: " + e.Message
			}
			return err
		}
		if !c.Allowed(ActionRoleDefinitionsWrite, s) {
			return arm.AuthorizationFailed(c.Caller, ActionRoleDefinitionsWrite, s)
		}
		if !h.cfg.Engine.CanGrant(c.Caller.ObjectID, d, s) {
			return cannotGrant(c.Caller, "define", d, s)
		}
	}
	return nil
}

// deleteRoleDefinition answers 200 with the deleted role, or 204 when there
// was none at this scope.
func (h *handlers) deleteRoleDefinition(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	id, err := h.roleDefinitionParam(c)
	if err != nil {
		return err
	}
	if b, ok := authz.BuiltinRole(id); ok {
		return builtinReadOnly(b)
	}
	ctx := r.Context()
	var deleted *store.RoleDefinition
	_, err = h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		deleted = nil
		d, err := tx.GetRoleDefinition(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.RoleType == authz.RoleTypeBuiltIn {
			return builtinReadOnly(d)
		}
		if !h.visibleAt(d, c.Scope) {
			return nil
		}
		for _, s := range d.AssignableScopes {
			if !c.Allowed(ActionRoleDefinitionsDelete, s) {
				return arm.AuthorizationFailed(c.Caller, ActionRoleDefinitionsDelete, s)
			}
		}
		assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{RoleDefinitionID: id})
		if err != nil {
			return err
		}
		if len(assignments) > 0 {
			a := assignments[0]
			return arm.Errorf(http.StatusConflict, "RoleDefinitionHasAssignments", "",
				"The role definition '%s' (%s) cannot be deleted because %d role assignment(s) use it, for example '%s'. Delete those role assignments first.",
				d.RoleName, d.ID, len(assignments), roleAssignmentID(a.Scope, a.Name))
		}
		if err := tx.DeleteRoleDefinition(ctx, id); err != nil {
			return err
		}
		deleted = &d
		return nil
	})
	if err != nil {
		return err
	}
	if deleted == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	arm.WriteJSON(w, http.StatusOK, roleDefinitionWire(c.Scope, *deleted))
	return nil
}
