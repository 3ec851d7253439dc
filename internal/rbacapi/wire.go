package rbacapi

import (
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Resource types as ARM names them.
const (
	roleDefinitionType = "Microsoft.Authorization/roleDefinitions"
	roleAssignmentType = "Microsoft.Authorization/roleAssignments"
)

// RoleDefinition is armauthorization.RoleDefinition on the wire (reference
// §11.1). The property is "type" (the SDK's RoleType).
type RoleDefinition struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Properties RoleDefinitionProperties `json:"properties"`
}

// RoleDefinitionProperties are a role definition's properties.
type RoleDefinitionProperties struct {
	RoleName         string       `json:"roleName"`
	Type             string       `json:"type"`
	Description      string       `json:"description"`
	AssignableScopes []string     `json:"assignableScopes"`
	Permissions      []Permission `json:"permissions"`
	CreatedOn        string       `json:"createdOn,omitempty"`
	UpdatedOn        string       `json:"updatedOn,omitempty"`
	CreatedBy        *string      `json:"createdBy"`
	UpdatedBy        *string      `json:"updatedBy"`
}

// Permission is one permission block; the four lists are always present
// (empty, not null), as ARM sends them.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
	// Built-in roles from a catalogue may carry a condition.
	Condition        string `json:"condition,omitempty"`
	ConditionVersion string `json:"conditionVersion,omitempty"`
}

// RoleAssignment is armauthorization.RoleAssignment on the wire (reference
// §11.2).
type RoleAssignment struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Properties RoleAssignmentProperties `json:"properties"`
}

// RoleAssignmentProperties are a role assignment's properties.
type RoleAssignmentProperties struct {
	RoleDefinitionID                   string  `json:"roleDefinitionId"`
	PrincipalID                        string  `json:"principalId"`
	PrincipalType                      string  `json:"principalType"`
	Scope                              string  `json:"scope"`
	Condition                          *string `json:"condition"`
	ConditionVersion                   *string `json:"conditionVersion"`
	CreatedOn                          string  `json:"createdOn,omitempty"`
	UpdatedOn                          string  `json:"updatedOn,omitempty"`
	CreatedBy                          *string `json:"createdBy"`
	UpdatedBy                          *string `json:"updatedBy"`
	DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	Description                        *string `json:"description"`
}

// armTime is ARM's timestamp form: UTC with seven fractional digits, which
// azcore's RFC 3339 parser reads.
func armTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func permissionsWire(ps []store.Permission) []Permission {
	out := make([]Permission, 0, len(ps))
	for _, p := range ps {
		out = append(out, Permission{
			Actions: nonNil(p.Actions), NotActions: nonNil(p.NotActions),
			DataActions: nonNil(p.DataActions), NotDataActions: nonNil(p.NotDataActions),
			Condition: p.Condition, ConditionVersion: p.ConditionVersion,
		})
	}
	return out
}

// roleDefinitionWire renders d as seen from scope: the ID carries the
// scope's subscription, if any.
func roleDefinitionWire(scope string, d store.RoleDefinition) RoleDefinition {
	return RoleDefinition{
		ID:   roleDefinitionID(scope, d.ID),
		Name: d.ID,
		Type: roleDefinitionType,
		Properties: RoleDefinitionProperties{
			RoleName: d.RoleName, Type: d.RoleType, Description: d.Description,
			AssignableScopes: nonNil(d.AssignableScopes), Permissions: permissionsWire(d.Permissions),
			CreatedOn: armTime(d.CreatedAt), UpdatedOn: armTime(d.UpdatedAt),
			CreatedBy: optional(d.CreatedBy), UpdatedBy: optional(d.UpdatedBy),
		},
	}
}

func roleAssignmentWire(a store.RoleAssignment) RoleAssignment {
	scope := cleanScope(a.Scope)
	w := RoleAssignment{
		ID:   roleAssignmentID(scope, a.Name),
		Name: a.Name,
		Type: roleAssignmentType,
		Properties: RoleAssignmentProperties{
			RoleDefinitionID: roleDefinitionID(scope, a.RoleDefinitionID),
			PrincipalID:      a.PrincipalID,
			PrincipalType:    a.PrincipalType,
			Scope:            scope,
			Condition:        optional(a.Condition),
			CreatedOn:        armTime(a.CreatedAt), UpdatedOn: armTime(a.UpdatedAt),
			CreatedBy: optional(a.CreatedBy), UpdatedBy: optional(a.UpdatedBy),
			Description: optional(a.Description),
		},
	}
	if a.Condition != "" {
		w.Properties.ConditionVersion = optional(a.ConditionVersion)
	}
	return w
}

// principalTypeOf is the principalType ARM reports for a directory object:
// managed identities are service principals (reference §11.2).
func principalTypeOf(k store.PrincipalKind) string {
	switch k {
	case store.PrincipalGroup:
		return "Group"
	case store.PrincipalUser:
		return "User"
	}
	return "ServicePrincipal"
}
