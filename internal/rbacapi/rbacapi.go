// Package rbacapi serves Microsoft.Authorization (role definitions, role
// assignments, the permissions endpoint) through the ARM front door in the
// shapes armauthorization/v2 and az expect, plus keyless's own
// Keyless.Authorization routes: explain (why is this allowed?), checkAccess
// (the decision for a token presented to a downstream data-plane service)
// and the principal lookup behind `keyless role assignment create --assignee`.
//
// It owns the rules ARM applies to RBAC writes: GUID names, the two 409s of
// a role assignment, principals and principal types checked against the
// directory, roles that must exist and be assignable at the scope, scopes
// that must exist, custom roles that are unique by name and cannot be
// deleted while assigned, and the escalation guard: nobody grants, or
// writes into a custom role, a permission they do not hold themselves.
//
// It never decides access itself: the front door checks each route's
// declared action, and every per-item or extra decision asks the authz
// engine. It writes to the store in one transaction per request and never
// waits for the change feed: the wiring holds a write's response until this
// replica's indexes have applied it.
package rbacapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// APIVersion is the version of the Keyless.Authorization routes.
const APIVersion = "2025-01-01"

// Version families. The SDK (armauthorization/v2) sends 2022-04-01; az and
// older SDKs and tools send the others (reference §7.6, §11). The wire shapes
// of these versions differ only in members keyless does not use.
var (
	RoleDefinitionVersions = arm.VersionPolicy{Versions: []string{
		"2022-05-01-preview", "2022-04-01", "2018-07-01", "2018-01-01-preview", "2017-05-01", "2015-07-01",
	}}
	RoleAssignmentVersions = arm.VersionPolicy{Versions: []string{
		"2022-04-01", "2022-01-01-preview", "2020-10-01-preview", "2020-08-01-preview", "2020-04-01-preview",
		"2020-03-01-preview", "2018-09-01-preview", "2018-07-01", "2018-01-01-preview", "2017-10-01-preview", "2015-07-01",
	}}
	PermissionVersions = arm.VersionPolicy{Versions: []string{
		"2022-05-01-preview", "2022-04-01", "2018-07-01", "2018-01-01-preview", "2017-05-01", "2015-07-01",
	}}
	KeylessVersions = arm.VersionPolicy{Versions: []string{APIVersion}}
)

// RBAC actions of the routes (reference §11.4 rule 7).
const (
	ActionRoleDefinitionsRead   = "Microsoft.Authorization/roleDefinitions/read"
	ActionRoleDefinitionsWrite  = authz.ActionRoleDefinitionsWrite
	ActionRoleDefinitionsDelete = authz.ActionRoleDefinitionsDelete
	ActionRoleAssignmentsRead   = "Microsoft.Authorization/roleAssignments/read"
	ActionRoleAssignmentsWrite  = authz.ActionRoleAssignmentsWrite
	ActionRoleAssignmentsDelete = authz.ActionRoleAssignmentsDelete
	ActionPermissionsRead       = "Microsoft.Authorization/permissions/read"
	// ActionCheckAccess lets a data-plane service ask for the decision on a
	// token presented to it, at the scope of the path. Owner and Contributor
	// hold it through "*"; give a service a custom role with just this
	// action at the scopes it serves.
	ActionCheckAccess = "Keyless.Authorization/checkAccess/action"
	// ActionPrincipalsRead is reading the directory (the role Microsoft Graph
	// plays for az's --assignee): any "*/read" at "/" holds it.
	ActionPrincipalsRead = "Keyless.Directory/principals/read"
)

// DefaultPageSize is the list page size when Config.PageSize is 0.
const DefaultPageSize = 100

// Config wires the routes.
type Config struct {
	Store store.Store
	// Engine is the RBAC engine the front door authorizes with; the routes
	// use it for the escalation guard, explain, permissions and checkAccess.
	Engine *authz.Engine
	// TenantID is the installation's tenant (error messages).
	TenantID string
	// BaseURL is the externally visible https origin for nextLink; empty
	// means "https://" + the request's Host.
	BaseURL string
	// PageSize is the role-assignment and role-definition page size; 0
	// means DefaultPageSize. A request may ask for less with $top.
	PageSize int
	// VerifyToken verifies a token presented to a downstream service with
	// the server's own issuer (signature, issuer, tenant, lifetime; not the
	// audience) and returns its oid, appid and aud claims. Without it
	// checkAccess answers 501.
	VerifyToken func(raw string) (oid, appid, aud string, err error)
	// Now replaces the clock in tests.
	Now func() time.Time
}

type handlers struct {
	cfg Config
}

// Sample values in the vocabulary of the front door's own samples
// (internal/arm/routes.go), so that the authorization matrix creates the
// objects every route's sample names once.
const (
	sampleSubscription = "/subscriptions/00000000-0000-0000-0000-000000000001"
	sampleGroup        = sampleSubscription + "/resourceGroups/rg1"
	sampleAssignment   = "11111111-1111-4111-8111-111111111111"
	sampleCustomRole   = "22222222-2222-4222-8222-222222222222"
)

const (
	roleDefinitionsPath = "/providers/Microsoft.Authorization/roleDefinitions"
	roleAssignmentsPath = "/providers/Microsoft.Authorization/roleAssignments"
	permissionsPath     = "/providers/Microsoft.Authorization/permissions"
)

// Register adds the routes to the front door. Every route is an extension
// route ({scope...}/providers/Microsoft.Authorization/...): it outranks the
// generic-resource fallback, which would otherwise take
// .../providers/Microsoft.Authorization/roleAssignments/{name} for a resource.
func Register(s *arm.Server, cfg Config) {
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handlers{cfg: cfg}
	for _, r := range h.routes() {
		s.Handle(r)
	}
}

func (h *handlers) routes() []arm.Route {
	get, put, del, post := []string{http.MethodGet}, []string{http.MethodPut}, []string{http.MethodDelete}, []string{http.MethodPost}
	const (
		anyScope     = "/{scope...}"
		subscription = "/subscriptions/{subscriptionId}"
		group        = subscription + "/resourcegroups/{resourceGroupName}"
	)
	return []arm.Route{
		// Role definitions (armauthorization RoleDefinitionsClient). Get and
		// GetByID are one route: a full ID is a scope plus the same suffix.
		{Name: "RoleDefinitions_List", Methods: get, Pattern: anyScope + roleDefinitionsPath, APIVersions: RoleDefinitionVersions,
			Action: ActionRoleDefinitionsRead, Scope: anyScope,
			Sample: sampleSubscription + roleDefinitionsPath, Handler: h.listRoleDefinitions},
		{Name: "RoleDefinitions_Get", Methods: get, Pattern: anyScope + roleDefinitionsPath + "/{roleDefinitionId}", APIVersions: RoleDefinitionVersions,
			Action: ActionRoleDefinitionsRead, Scope: anyScope,
			Sample: sampleGroup + roleDefinitionsPath + "/" + authz.RoleReader, Handler: h.getRoleDefinition},
		{Name: "RoleDefinitions_CreateOrUpdate", Methods: put, Pattern: anyScope + roleDefinitionsPath + "/{roleDefinitionId}", APIVersions: RoleDefinitionVersions,
			Action: ActionRoleDefinitionsWrite, Scope: anyScope,
			Sample: sampleGroup + roleDefinitionsPath + "/" + sampleCustomRole, Handler: h.putRoleDefinition},
		{Name: "RoleDefinitions_Delete", Methods: del, Pattern: anyScope + roleDefinitionsPath + "/{roleDefinitionId}", APIVersions: RoleDefinitionVersions,
			Action: ActionRoleDefinitionsDelete, Scope: anyScope,
			Sample: sampleGroup + roleDefinitionsPath + "/" + sampleCustomRole, Handler: h.deleteRoleDefinition},

		// Role assignments (RoleAssignmentsClient). The subscription and
		// group lists are the SDK's ListForSubscription and
		// ListForResourceGroup; ListForScope and ListForResource are the
		// {scope...} form.
		{Name: "RoleAssignments_ListForSubscription", Methods: get, Pattern: subscription + roleAssignmentsPath, APIVersions: RoleAssignmentVersions,
			Action: ActionRoleAssignmentsRead, Scope: subscription, Access: arm.AccessFilter,
			Sample: sampleSubscription + roleAssignmentsPath, Handler: h.listRoleAssignments},
		{Name: "RoleAssignments_ListForResourceGroup", Methods: get, Pattern: group + roleAssignmentsPath, APIVersions: RoleAssignmentVersions,
			Action: ActionRoleAssignmentsRead, Scope: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", Access: arm.AccessFilter,
			Sample: sampleGroup + roleAssignmentsPath, Handler: h.listRoleAssignments},
		{Name: "RoleAssignments_ListForScope", Methods: get, Pattern: anyScope + roleAssignmentsPath, APIVersions: RoleAssignmentVersions,
			Action: ActionRoleAssignmentsRead, Scope: anyScope, Access: arm.AccessFilter,
			Sample: sampleGroup + "/providers/Microsoft.Compute/virtualMachines/vm1" + roleAssignmentsPath, Handler: h.listRoleAssignments},
		{Name: "RoleAssignments_Get", Methods: get, Pattern: anyScope + roleAssignmentsPath + "/{roleAssignmentName}", APIVersions: RoleAssignmentVersions,
			Action: ActionRoleAssignmentsRead, Scope: anyScope,
			Sample: sampleGroup + roleAssignmentsPath + "/" + sampleAssignment, Handler: h.getRoleAssignment},
		{Name: "RoleAssignments_Create", Methods: put, Pattern: anyScope + roleAssignmentsPath + "/{roleAssignmentName}", APIVersions: RoleAssignmentVersions,
			Action: ActionRoleAssignmentsWrite, Scope: anyScope,
			Sample: sampleGroup + roleAssignmentsPath + "/" + sampleAssignment, Handler: h.putRoleAssignment},
		{Name: "RoleAssignments_Delete", Methods: del, Pattern: anyScope + roleAssignmentsPath + "/{roleAssignmentName}", APIVersions: RoleAssignmentVersions,
			Action: ActionRoleAssignmentsDelete, Scope: anyScope,
			Sample: sampleGroup + roleAssignmentsPath + "/" + sampleAssignment, Handler: h.deleteRoleAssignment},

		// The caller's own permissions (PermissionsClient). A list of what
		// the caller holds: it needs no grant, and a caller with none gets
		// an empty list, as from any filtered list.
		{Name: "Permissions_ListForScope", Methods: get, Pattern: anyScope + permissionsPath, APIVersions: PermissionVersions,
			Action: ActionPermissionsRead, Scope: anyScope, Access: arm.AccessFilter,
			Sample: sampleGroup + permissionsPath, Handler: h.listPermissions},

		// keyless's own routes.
		{Name: "Authorization_Explain", Methods: post, Pattern: anyScope + "/providers/Keyless.Authorization/explain", APIVersions: KeylessVersions,
			Action: ActionRoleAssignmentsRead, Scope: anyScope,
			Sample: sampleGroup + "/providers/Keyless.Authorization/explain", Handler: h.explain},
		{Name: "Authorization_CheckAccess", Methods: post, Pattern: anyScope + "/providers/Keyless.Authorization/checkAccess", APIVersions: KeylessVersions,
			Action: ActionCheckAccess, Scope: anyScope,
			Sample: sampleGroup + "/providers/Keyless.Authorization/checkAccess", Handler: h.checkAccess},
		{Name: "Principals_Lookup", Methods: get, Pattern: "/providers/Keyless.Directory/principals", APIVersions: KeylessVersions,
			Action: ActionPrincipalsRead, Scope: "/",
			Sample: "/providers/Keyless.Directory/principals", Handler: h.lookupPrincipals},
	}
}

func (h *handlers) now() time.Time { return h.cfg.Now().UTC() }

func (h *handlers) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimSuffix(h.cfg.BaseURL, "/")
	}
	return "https://" + r.Host
}
