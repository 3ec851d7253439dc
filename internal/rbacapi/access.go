package rbacapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// listPermissions is GET {scope}/providers/Microsoft.Authorization/permissions
// (reference §11.3): the caller's own permissions at the scope, one element
// per permission block of each role assignment that applies there, in one
// page.
func (h *handlers) listPermissions(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	perms := h.cfg.Engine.Permissions(c.Caller.ObjectID, c.Scope)
	arm.WriteJSON(w, http.StatusOK, page[Permission]{Value: permissionsWire(perms)})
	return nil
}

// ExplainRequest asks why a principal may or may not perform an action at
// the scope of the URL.
type ExplainRequest struct {
	// PrincipalID is the object ID asked about; empty means the caller.
	PrincipalID string `json:"principalId,omitempty"`
	// Exactly one of Action (control plane) and DataAction.
	Action     string `json:"action,omitempty"`
	DataAction string `json:"dataAction,omitempty"`
}

// Decision is an authorization decision with the assignments behind it.
type Decision struct {
	Allowed     bool   `json:"allowed"`
	PrincipalID string `json:"principalId"`
	Action      string `json:"action,omitempty"`
	DataAction  string `json:"dataAction,omitempty"`
	Scope       string `json:"scope"`
	// Reason is one line a person can read.
	Reason string `json:"reason"`
	// Grants are the assignments allowing the action, nearest the root
	// first; Others apply at the scope but do not allow it.
	Grants []Grant `json:"grants"`
	Others []Grant `json:"others"`
}

// Grant is one role assignment taking part in a decision.
type Grant struct {
	RoleAssignmentID   string `json:"roleAssignmentId"`
	RoleAssignmentName string `json:"roleAssignmentName"`
	// PrincipalID is the assignee: the principal asked about or a group it
	// belongs to.
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleName         string `json:"roleName"`
	Scope            string `json:"scope"`
	MatchedBy        string `json:"matchedBy,omitempty"`
	ExcludedBy       string `json:"excludedBy,omitempty"`
}

func grantsWire(gs []authz.Grant) []Grant {
	out := make([]Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, Grant{
			RoleAssignmentID: roleAssignmentID(g.Scope, g.AssignmentName), RoleAssignmentName: g.AssignmentName,
			PrincipalID: g.PrincipalID, RoleDefinitionID: roleDefinitionID(g.Scope, g.RoleDefinitionID),
			RoleName: g.RoleName, Scope: cleanScope(g.Scope), MatchedBy: g.MatchedBy, ExcludedBy: g.ExcludedBy,
		})
	}
	return out
}

func decisionWire(d authz.Decision, scope string) Decision {
	out := Decision{
		Allowed: d.Allowed, PrincipalID: d.PrincipalID, Scope: scope, Reason: d.String(),
		Grants: grantsWire(d.Grants), Others: grantsWire(d.Others),
	}
	if d.DataAction {
		out.DataAction = d.Action
	} else {
		out.Action = d.Action
	}
	return out
}

// oneAction checks that exactly one of action and dataAction is given.
func oneAction(action, dataAction string) (string, bool, error) {
	action, dataAction = strings.TrimSpace(action), strings.TrimSpace(dataAction)
	switch {
	case action != "" && dataAction != "":
		return "", false, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "action", "Give either 'action' or 'dataAction', not both.")
	case action != "":
		return action, false, nil
	case dataAction != "":
		return dataAction, true, nil
	}
	return "", false, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "action", "The request must name an 'action' (control plane) or a 'dataAction'.")
}

func (h *handlers) decide(principalID, action string, data bool, scope string) authz.Decision {
	if data {
		return h.cfg.Engine.ExplainData(principalID, action, scope)
	}
	return h.cfg.Engine.Explain(principalID, action, scope)
}

// explain is POST {scope}/providers/Keyless.Authorization/explain: the
// decision for a principal and the assignments behind it. It needs
// roleAssignments/read at the scope, which is what listing the same
// assignments needs.
func (h *handlers) explain(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var req ExplainRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	action, data, err := oneAction(req.Action, req.DataAction)
	if err != nil {
		return err
	}
	principal := strings.TrimSpace(req.PrincipalID)
	if principal == "" {
		principal = c.Caller.ObjectID
	}
	arm.WriteJSON(w, http.StatusOK, decisionWire(h.decide(principal, action, data, c.Scope), c.Scope))
	return nil
}

// CheckAccessRequest is what a data-plane service sends: the bearer token
// a client presented to it and what the client wants to do.
type CheckAccessRequest struct {
	Token      string `json:"token"`
	Action     string `json:"action,omitempty"`
	DataAction string `json:"dataAction,omitempty"`
	// Scope defaults to the scope of the URL; the calling service needs
	// checkAccess/action at it.
	Scope string `json:"scope,omitempty"`
	// Audience, when given, must equal the token's aud (a trailing slash
	// and case aside): the service's own identifier, so that a token
	// issued for another service is refused.
	Audience string `json:"audience,omitempty"`
}

// CheckAccessResult is the answer: the service maps TokenValid false to
// 401 and Allowed false to 403.
type CheckAccessResult struct {
	Allowed     bool   `json:"allowed"`
	TokenValid  bool   `json:"tokenValid"`
	PrincipalID string `json:"principalId,omitempty"`
	AppID       string `json:"appId,omitempty"`
	Audience    string `json:"audience,omitempty"`
	Action      string `json:"action,omitempty"`
	DataAction  string `json:"dataAction,omitempty"`
	Scope       string `json:"scope"`
	Reason      string `json:"reason"`
	// Grants are the assignments that allow it, as explain reports them.
	Grants []Grant `json:"grants,omitempty"`
}

// checkAccess is POST {scope}/providers/Keyless.Authorization/checkAccess.
func (h *handlers) checkAccess(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	if h.cfg.VerifyToken == nil {
		return arm.Errorf(http.StatusNotImplemented, "NotImplemented", "", "checkAccess is not enabled on this server.")
	}
	var req CheckAccessRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Token) == "" {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "token", "The request must carry the 'token' the client presented.")
	}
	action, data, err := oneAction(req.Action, req.DataAction)
	if err != nil {
		return err
	}
	scope := c.Scope
	if req.Scope != "" {
		scope = cleanScope(req.Scope)
		if !c.Allowed(ActionCheckAccess, scope) {
			return arm.AuthorizationFailed(c.Caller, ActionCheckAccess, scope)
		}
	}
	res := CheckAccessResult{Scope: scope}
	if data {
		res.DataAction = action
	} else {
		res.Action = action
	}
	oid, appid, aud, err := h.cfg.VerifyToken(strings.TrimSpace(strings.TrimPrefix(req.Token, "Bearer ")))
	switch {
	case err != nil:
		res.Reason = "the token was rejected: " + strings.TrimPrefix(err.Error(), "token: ")
	case req.Audience != "" && !sameAudience(req.Audience, aud):
		res.PrincipalID, res.AppID, res.Audience = oid, appid, aud
		res.Reason = "the token was issued for audience '" + aud + "', not '" + req.Audience + "'"
	default:
		res.TokenValid = true
		res.PrincipalID, res.AppID, res.Audience = oid, appid, aud
		d := h.decide(oid, action, data, scope)
		res.Allowed, res.Reason, res.Grants = d.Allowed, d.String(), grantsWire(d.Grants)
	}
	arm.WriteJSON(w, http.StatusOK, res)
	return nil
}

func sameAudience(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

// PrincipalInfo describes a directory object for `--assignee`.
type PrincipalInfo struct {
	ObjectID      string `json:"objectId"`
	AppID         string `json:"appId,omitempty"`
	DisplayName   string `json:"displayName"`
	PrincipalType string `json:"principalType"`
	// Kind is keyless's finer kind: ServicePrincipal, SystemAssigned,
	// UserAssigned, Group or User.
	Kind string `json:"kind"`
	// ResourceID is the resource of a managed identity.
	ResourceID string `json:"resourceId,omitempty"`
}

// lookupPrincipals is GET /providers/Keyless.Directory/principals?assignee=X:
// the principals whose object ID, application ID, display name (exact,
// case-insensitive) or managed-identity resource ID is X. It is what az
// asks Microsoft Graph for --assignee, and like Graph it needs directory
// read access (any "*/read" at "/").
func (h *handlers) lookupPrincipals(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	assignee := strings.TrimSpace(queryValue(r.URL.Query(), "assignee"))
	if assignee == "" {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "assignee", "Give the principal to look up as ?assignee= (object ID, application ID, display name or managed-identity resource ID).")
	}
	ctx := r.Context()
	var found []store.Principal
	err := h.cfg.Store.View(ctx, func(tx store.Tx) error {
		seen := map[string]bool{}
		add := func(p store.Principal) {
			if !seen[strings.ToLower(p.ObjectID)] {
				seen[strings.ToLower(p.ObjectID)] = true
				found = append(found, p)
			}
		}
		if isGUID(assignee) {
			if p, err := getPrincipal(ctx, tx, assignee); err == nil {
				add(p)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			p, err := tx.GetPrincipalByAppID(ctx, assignee)
			if err == nil {
				add(p)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}
		if strings.HasPrefix(assignee, "/") {
			ps, err := tx.ListPrincipals(ctx, store.PrincipalFilter{ResourceID: assignee})
			if err != nil {
				return err
			}
			for _, p := range ps {
				add(p)
			}
			return nil
		}
		ps, err := tx.ListPrincipals(ctx, store.PrincipalFilter{})
		if err != nil {
			return err
		}
		for _, p := range ps {
			if strings.EqualFold(p.DisplayName, assignee) {
				add(p)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := page[PrincipalInfo]{Value: []PrincipalInfo{}}
	for _, p := range found {
		out.Value = append(out.Value, PrincipalInfo{
			ObjectID: p.ObjectID, AppID: p.AppID, DisplayName: p.DisplayName,
			PrincipalType: principalTypeOf(p.Kind), Kind: string(p.Kind), ResourceID: p.ResourceID,
		})
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}
