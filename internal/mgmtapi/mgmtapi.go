// Package mgmtapi serves Microsoft.Management management groups on the ARM
// front door, in the shapes armmanagementgroups (api-version 2021-04-01) and
// `az account management-group` use: creating, reading, listing, renaming,
// moving and deleting groups, and moving subscriptions under them.
//
// It owns the rules Azure applies to the hierarchy: one tree under the
// tenant root group (named after the tenant ID, never moved or deleted),
// a group deleted only once it is empty, and a move authorized at both ends
// and on what moves, since a move changes who inherits access to it. The
// store keeps the tree a tree (ErrCycle, ErrNotEmpty); the RBAC engine
// follows every move from the change feed.
//
// It never decides access itself: the front door checks each route's
// declared action, and the extra checks of a move ask the engine through
// Call.Allowed. It writes in one store transaction per request and never
// waits for the change feed: the wiring holds a write's response until this
// replica's indexes have applied it.
package mgmtapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// RBAC actions of the routes, checked at the management group's scope
// (/providers/Microsoft.Management/managementGroups/{name}).
const (
	ActionRead                = "Microsoft.Management/managementGroups/read"
	ActionWrite               = "Microsoft.Management/managementGroups/write"
	ActionDelete              = "Microsoft.Management/managementGroups/delete"
	ActionSubscriptionsRead   = "Microsoft.Management/managementGroups/subscriptions/read"
	ActionSubscriptionsWrite  = "Microsoft.Management/managementGroups/subscriptions/write"
	ActionSubscriptionsDelete = "Microsoft.Management/managementGroups/subscriptions/delete"
	// actionRoleAssignmentsWrite is what Azure's "Owner of what moves"
	// comes down to: moving a group or a subscription changes whose
	// assignments apply to it, which only someone who may grant access
	// there may decide.
	actionRoleAssignmentsWrite = authz.ActionRoleAssignmentsWrite
)

// Versions: armmanagementgroups v1.2.0 sends 2021-04-01; az and older
// tools send the others.
var versions = arm.VersionPolicy{Versions: []string{
	"2023-04-01", "2021-04-01", "2020-10-01", "2020-05-01", "2020-02-01", "2019-11-01",
	"2018-03-01-preview", "2018-01-01-preview", "2017-11-01-preview",
}}

const (
	groupsPath      = "/providers/Microsoft.Management/managementGroups"
	groupType       = "Microsoft.Management/managementGroups"
	subscriptionRef = "Microsoft.Management/managementGroups/subscriptions"
	// childSubscriptionType is how Azure types a subscription among a
	// group's children (ManagementGroupChildTypeSubscriptions).
	childSubscriptionType = "/subscriptions"
	// deleteStatusPath is the Azure-AsyncOperation of a group delete, in
	// Azure's form.
	deleteStatusPath = "/providers/Microsoft.Management/operationResults/delete/asyncOperation/status/managementGroups"
)

// Sample values in the vocabulary of the front door's samples, so that the
// authorization matrix can create what they name: the group "mg1" and the
// subscription every sample uses.
const (
	sampleGroup        = groupsPath + "/mg1"
	sampleSubscription = "00000000-0000-0000-0000-000000000001"
)

// Config wires the routes.
type Config struct {
	Store store.Store
	// TenantID names the tenant root group.
	TenantID string
	// BaseURL is the externally visible https origin for the
	// Azure-AsyncOperation of a delete; empty means "https://" + Host.
	BaseURL string
	// Now replaces the clock in tests.
	Now func() time.Time
}

type handlers struct{ cfg Config }

// Register adds the routes to the front door.
func Register(s *arm.Server, cfg Config) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handlers{cfg: cfg}
	for _, r := range h.routes() {
		s.Handle(r)
	}
}

func (h *handlers) routes() []arm.Route {
	get, put, patch, del := []string{http.MethodGet}, []string{http.MethodPut}, []string{http.MethodPatch}, []string{http.MethodDelete}
	const (
		group        = groupsPath + "/{groupId}"
		subscription = group + "/subscriptions/{subscriptionId}"
	)
	subscriptionSample := sampleGroup + "/subscriptions/" + sampleSubscription
	return []arm.Route{
		// Management groups (armmanagementgroups Client).
		{Name: "ManagementGroups_List", Methods: get, Pattern: groupsPath, APIVersions: versions,
			Action: ActionRead, Scope: "/", Access: arm.AccessFilter, Sample: groupsPath, Handler: h.list},
		{Name: "ManagementGroups_Get", Methods: get, Pattern: group, APIVersions: versions,
			Action: ActionRead, Scope: group, Sample: sampleGroup, Handler: h.get},
		{Name: "ManagementGroups_CreateOrUpdate", Methods: put, Pattern: group, APIVersions: versions,
			Action: ActionWrite, Scope: group, Sample: sampleGroup, Handler: h.put},
		{Name: "ManagementGroups_Update", Methods: patch, Pattern: group, APIVersions: versions,
			Action: ActionWrite, Scope: group, Sample: sampleGroup, Handler: h.patch},
		{Name: "ManagementGroups_Delete", Methods: del, Pattern: group, APIVersions: versions,
			Action: ActionDelete, Scope: group, Sample: sampleGroup, Handler: h.delete},
		{Name: "ManagementGroups_GetDescendants", Methods: get, Pattern: group + "/descendants", APIVersions: versions,
			Action: ActionRead, Scope: group, Sample: sampleGroup + "/descendants", Handler: h.descendants},
		// The Azure-AsyncOperation of a delete. The delete has finished when
		// the URL is handed out, so the answer is always Succeeded and
		// depends on nothing stored: any authenticated caller may poll it,
		// as the deleter's own access may have gone with the group.
		{Name: "ManagementGroupOperationResults_Get", Methods: get, Pattern: deleteStatusPath + "/{groupId}", APIVersions: versions,
			Access: arm.AccessAuthenticated, Sample: deleteStatusPath + "/mg1", Handler: h.deleteStatus},

		// Subscriptions under a group (ManagementGroupSubscriptionsClient).
		{Name: "ManagementGroupSubscriptions_GetSubscriptionsUnderManagementGroup", Methods: get, Pattern: group + "/subscriptions", APIVersions: versions,
			Action: ActionSubscriptionsRead, Scope: group, Sample: sampleGroup + "/subscriptions", Handler: h.listSubscriptions},
		{Name: "ManagementGroupSubscriptions_GetSubscription", Methods: get, Pattern: subscription, APIVersions: versions,
			Action: ActionSubscriptionsRead, Scope: group, Sample: subscriptionSample, Handler: h.getSubscription},
		{Name: "ManagementGroupSubscriptions_Create", Methods: put, Pattern: subscription, APIVersions: versions,
			Action: ActionSubscriptionsWrite, Scope: group, Sample: subscriptionSample, Handler: h.putSubscription},
		{Name: "ManagementGroupSubscriptions_Delete", Methods: del, Pattern: subscription, APIVersions: versions,
			Action: ActionSubscriptionsDelete, Scope: group, Sample: subscriptionSample, Handler: h.deleteSubscription},
	}
}

func (h *handlers) now() time.Time { return h.cfg.Now().UTC() }

func (h *handlers) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimSuffix(h.cfg.BaseURL, "/")
	}
	return "https://" + r.Host
}

// isRoot reports whether name is the tenant root group's.
func (h *handlers) isRoot(name string) bool { return strings.EqualFold(name, h.cfg.TenantID) }

// require is a handler's own authorization check.
func require(c *arm.Call, action, scope string) error {
	if !c.Allowed(action, scope) {
		return arm.AuthorizationFailed(c.Caller, action, scope)
	}
	return nil
}

func groupNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "ManagementGroupNotFound", "", "The management group '%s' could not be found.", name)
}

func subscriptionNotFound(id string) error {
	return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "", "The subscription '%s' could not be found.", id)
}
