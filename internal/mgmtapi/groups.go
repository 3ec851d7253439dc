package mgmtapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// Group names are Azure's: up to 90 letters, digits, '-', '_', '.', '('
// and ')', not ending in a period.
var groupName = regexp.MustCompile(`^[A-Za-z0-9_().-]{0,89}[A-Za-z0-9_()-]$`)

const maxDisplayName = 90

func (h *handlers) groupParam(c *arm.Call) (string, error) {
	name := c.Params["groupId"]
	if !groupName.MatchString(name) {
		return "", arm.Errorf(http.StatusBadRequest, "InvalidManagementGroupName", "groupId",
			"The management group name '%s' is invalid: use up to 90 letters, digits, '-', '_', '.', '(' or ')', not ending with a period.", name)
	}
	return name, nil
}

// hierarchy is the whole tree read in one transaction, for the answers that
// show more than one group.
type hierarchy struct {
	root     string                           // lower-case name of the tenant root group
	groups   map[string]store.ManagementGroup // by lower-case name
	children map[string][]string              // lower-case parent -> lower-case children, sorted
	subs     map[string][]store.Subscription  // lower-case group -> subscriptions directly under it
}

func (h *handlers) readHierarchy(ctx context.Context, tx store.Tx) (*hierarchy, error) {
	groups, err := tx.ListManagementGroups(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := tx.ListSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	hy := &hierarchy{root: strings.ToLower(h.cfg.TenantID), groups: map[string]store.ManagementGroup{},
		children: map[string][]string{}, subs: map[string][]store.Subscription{}}
	for _, g := range groups { // ordered by lower-case name
		key := strings.ToLower(g.Name)
		hy.groups[key] = g
		if g.ParentName != "" {
			p := strings.ToLower(g.ParentName)
			hy.children[p] = append(hy.children[p], key)
		}
	}
	for _, s := range subs {
		hy.subs[hy.groupOf(s)] = append(hy.subs[hy.groupOf(s)], s)
	}
	for _, ss := range hy.subs {
		slices.SortFunc(ss, func(a, b store.Subscription) int {
			return strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
		})
	}
	return hy, nil
}

// groupOf is the lower-case name of the group a subscription is directly
// under.
func (hy *hierarchy) groupOf(s store.Subscription) string {
	if s.ManagementGroupName == "" {
		return hy.root
	}
	return strings.ToLower(s.ManagementGroupName)
}

// ancestors lists the groups above name, its parent first. The store keeps
// the tree acyclic; the bound is a backstop.
func (hy *hierarchy) ancestors(name string) []store.ManagementGroup {
	var out []store.ManagementGroup
	for cur := hy.groups[strings.ToLower(name)].ParentName; cur != "" && len(out) < 64; {
		g, ok := hy.groups[strings.ToLower(cur)]
		if !ok {
			break
		}
		out = append(out, g)
		cur = g.ParentName
	}
	return out
}

// below reports whether group x is y or one of its descendants.
func (hy *hierarchy) below(x, y string) bool {
	if strings.EqualFold(x, y) {
		return true
	}
	for _, a := range hy.ancestors(x) {
		if strings.EqualFold(a.Name, y) {
			return true
		}
	}
	return false
}

// groupOptions are the query options of a Get.
type groupOptions struct {
	expand          string // "", "children", "path" or "ancestors"
	recurse         bool
	childGroupsOnly bool // $filter=children.childType ne Subscription
}

func parseGroupOptions(q url.Values) (groupOptions, error) {
	var o groupOptions
	switch e := strings.ToLower(q.Get("$expand")); e {
	case "", "children", "path", "ancestors":
		o.expand = e
	default:
		return o, arm.Errorf(http.StatusBadRequest, "InvalidQueryParameter", "$expand",
			"The value '%s' of $expand is not valid: use 'children', 'path' or 'ancestors'.", q.Get("$expand"))
	}
	if v := q.Get("$recurse"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, arm.Errorf(http.StatusBadRequest, "InvalidQueryParameter", "$recurse", "The value '%s' of $recurse is not a boolean.", v)
		}
		o.recurse = b
	}
	if o.recurse && o.expand != "children" {
		return o, arm.Errorf(http.StatusBadRequest, "InvalidQueryParameter", "$recurse", "$recurse=true needs $expand=children.")
	}
	if f := strings.Join(strings.Fields(q.Get("$filter")), " "); f != "" {
		if !strings.EqualFold(f, "children.childType ne Subscription") {
			return o, arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter",
				"The filter '%s' is not supported: the only filter is 'children.childType ne Subscription'.", q.Get("$filter"))
		}
		o.childGroupsOnly = true
	}
	return o, nil
}

// groupOf renders a group with its parent and what o asks for. hy may be
// nil when o asks for nothing beyond the parent.
func (h *handlers) groupOf(g store.ManagementGroup, parent *store.ManagementGroup, hy *hierarchy, o groupOptions) groupWire {
	w := groupWire{ID: authz.ManagementGroupScope(g.Name), Type: groupType, Name: g.Name, Properties: groupProps{
		TenantID: h.cfg.TenantID, DisplayName: g.DisplayName,
		Details: groupDetails{UpdatedTime: formatTime(g.UpdatedAt), UpdatedBy: g.UpdatedBy},
	}}
	if parent != nil {
		w.Properties.Details.Parent = &parentWire{ID: authz.ManagementGroupScope(parent.Name), Name: parent.Name, DisplayName: parent.DisplayName}
	}
	switch o.expand {
	case "children":
		children := h.childrenOf(hy, g.Name, o, 0)
		w.Properties.Children = &children
	case "path":
		// The path from the root down to the group's parent, as Azure's
		// examples show it.
		for _, a := range slices.Backward(hy.ancestors(g.Name)) {
			w.Properties.Details.Path = append(w.Properties.Details.Path, pathWire{Name: a.Name, DisplayName: a.DisplayName})
		}
	case "ancestors":
		for _, a := range hy.ancestors(g.Name) {
			w.Properties.Details.Ancestors = append(w.Properties.Details.Ancestors, a.Name)
			w.Properties.Details.Chain = append(w.Properties.Details.Chain, pathWire{Name: a.Name, DisplayName: a.DisplayName})
		}
	}
	return w
}

// childrenOf lists a group's child groups, then its subscriptions, each
// ordered by name; with $recurse, child groups carry their own children.
func (h *handlers) childrenOf(hy *hierarchy, name string, o groupOptions, depth int) []childWire {
	out := []childWire{}
	key := strings.ToLower(name)
	for _, c := range hy.children[key] {
		g := hy.groups[c]
		child := childWire{Type: groupType, ID: authz.ManagementGroupScope(g.Name), Name: g.Name, DisplayName: g.DisplayName}
		if o.recurse && depth < 64 {
			grand := h.childrenOf(hy, g.Name, o, depth+1)
			child.Children = &grand
		}
		out = append(out, child)
	}
	if !o.childGroupsOnly {
		for _, s := range hy.subs[key] {
			out = append(out, childWire{Type: childSubscriptionType, ID: "/subscriptions/" + s.ID, Name: s.ID, DisplayName: s.DisplayName})
		}
	}
	return out
}

func (h *handlers) get(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.groupParam(c)
	if err != nil {
		return err
	}
	o, err := parseGroupOptions(r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	var out groupWire
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		g, parent, err := getWithParent(ctx, tx, name)
		if err != nil {
			return err
		}
		var hy *hierarchy
		if o.expand != "" {
			if hy, err = h.readHierarchy(ctx, tx); err != nil {
				return err
			}
		}
		out = h.groupOf(g, parent, hy, o)
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// getWithParent reads a group and its parent (nil for the root).
func getWithParent(ctx context.Context, tx store.Tx, name string) (store.ManagementGroup, *store.ManagementGroup, error) {
	g, err := tx.GetManagementGroup(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return g, nil, groupNotFound(name)
	}
	if err != nil || g.ParentName == "" {
		return g, nil, err
	}
	p, err := tx.GetManagementGroup(ctx, g.ParentName)
	if err != nil {
		return g, nil, err
	}
	return g, &p, nil
}

// list answers the groups the caller may read.
func (h *handlers) list(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var groups []store.ManagementGroup
	err := h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		groups, err = tx.ListManagementGroups(r.Context())
		return err
	})
	if err != nil {
		return err
	}
	out := []infoWire{}
	for _, g := range groups {
		if c.Allowed(ActionRead, authz.ManagementGroupScope(g.Name)) {
			out = append(out, h.infoOf(g))
		}
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// descendants lists every group and subscription below the group, parents
// before children.
func (h *handlers) descendants(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.groupParam(c)
	if err != nil {
		return err
	}
	ctx := r.Context()
	out := []descendantWire{}
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		g, err := tx.GetManagementGroup(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return groupNotFound(name)
		}
		if err != nil {
			return err
		}
		hy, err := h.readHierarchy(ctx, tx)
		if err != nil {
			return err
		}
		for queue := []store.ManagementGroup{g}; len(queue) > 0 && len(out) < 100_000; {
			parent := queue[0]
			queue = queue[1:]
			parentID := idWire{ID: authz.ManagementGroupScope(parent.Name)}
			for _, k := range hy.children[strings.ToLower(parent.Name)] {
				child := hy.groups[k]
				out = append(out, descendantWire{ID: authz.ManagementGroupScope(child.Name), Type: groupType, Name: child.Name,
					Properties: descendantProps{DisplayName: child.DisplayName, Parent: parentID}})
				queue = append(queue, child)
			}
			for _, s := range hy.subs[strings.ToLower(parent.Name)] {
				out = append(out, descendantWire{ID: "/subscriptions/" + s.ID, Type: subscriptionRef, Name: s.ID,
					Properties: descendantProps{DisplayName: s.DisplayName, Parent: parentID}})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// parentName reads a parent reference: a group's full ID or its name.
func parentName(ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if name, ok := authz.ManagementGroupOf(ref); ok {
		ref = name
	}
	return ref, groupName.MatchString(ref)
}

// change is what a PUT or PATCH asks of a group; nil members stay as they
// are (or take their defaults on creation).
type change struct {
	displayName *string
	parent      *string
	target      string // the request member naming the parent, for errors
}

func (h *handlers) put(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var req createRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	return h.write(w, r, c, change{displayName: req.displayName(), parent: req.parentID(), target: "properties.details.parent.id"})
}

func (h *handlers) patch(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var req patchRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	return h.write(w, r, c, change{displayName: req.DisplayName, parent: req.ParentGroupID, target: "parentGroupId"})
}

// write creates or updates a group. Both PUT (armmanagementgroups'
// BeginCreateOrUpdate, a long-running operation) and PATCH answer 200 with
// the group: the SDK's poller takes a 200 without a provisioning state as
// finished, so it does not poll.
//
// Placing the group under a parent needs write on the parent; moving an
// existing group also needs write on the parent it leaves and
// roleAssignments/write on the group itself, since every assignment above
// it changes (Azure asks the same of a move, and nothing of the tenant root
// group at either end). The route has already checked write on the group:
// for a group that does not exist yet the engine places it under the
// tenant root group, so only the root group's writers create groups.
func (h *handlers) write(w http.ResponseWriter, r *http.Request, c *arm.Call, ch change) error {
	name, err := h.groupParam(c)
	if err != nil {
		return err
	}
	if ch.displayName != nil && len(*ch.displayName) > maxDisplayName {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties.displayName",
			"The display name may have at most %d characters.", maxDisplayName)
	}
	var wantParent string
	if ch.parent != nil && strings.TrimSpace(*ch.parent) != "" {
		p, ok := parentName(*ch.parent)
		if !ok {
			return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", ch.target,
				"The parent '%s' is not a management group ID (/providers/Microsoft.Management/managementGroups/{name}).", *ch.parent)
		}
		wantParent = p
	}
	ctx := r.Context()
	now := h.now()
	var out groupWire
	_, err = h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		old, err := tx.GetManagementGroup(ctx, name)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !exists && r.Method == http.MethodPatch {
			return groupNotFound(name)
		}
		g := store.ManagementGroup{Name: name, DisplayName: name, CreatedAt: now, UpdatedAt: now, UpdatedBy: c.Caller.ObjectID}
		if exists {
			g.Name, g.DisplayName, g.ParentName, g.CreatedAt = old.Name, old.DisplayName, old.ParentName, old.CreatedAt
		}
		if ch.displayName != nil && strings.TrimSpace(*ch.displayName) != "" {
			g.DisplayName = *ch.displayName
		}
		switch {
		case h.isRoot(name):
			// The tenant root group is renamed but never moved.
			if wantParent != "" {
				return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", ch.target, "The tenant root group cannot be placed under another group.")
			}
			g.ParentName = ""
		case wantParent != "":
			if err := h.placeUnder(ctx, tx, c, &g, exists, wantParent, ch.target); err != nil {
				return err
			}
		case !exists:
			g.ParentName = h.cfg.TenantID
		}
		if _, err := tx.PutManagementGroup(ctx, g); err != nil {
			return mapTreeError(err, name, ch.target)
		}
		saved, parent, err := getWithParent(ctx, tx, name)
		if err != nil {
			return err
		}
		out = h.groupOf(saved, parent, nil, groupOptions{})
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// placeUnder sets g's parent to wantParent, checking what a placement or a
// move needs.
func (h *handlers) placeUnder(ctx context.Context, tx store.Tx, c *arm.Call, g *store.ManagementGroup, exists bool, wantParent, target string) error {
	if exists && strings.EqualFold(wantParent, g.ParentName) {
		return nil // not a move
	}
	// As in Azure, the tenant root group needs no permission at either
	// end: it is where every group starts.
	if !h.isRoot(wantParent) {
		if err := require(c, ActionWrite, authz.ManagementGroupScope(wantParent)); err != nil {
			return err
		}
	}
	if exists {
		if err := require(c, actionRoleAssignmentsWrite, authz.ManagementGroupScope(g.Name)); err != nil {
			return err
		}
		if !h.isRoot(g.ParentName) {
			if err := require(c, ActionWrite, authz.ManagementGroupScope(g.ParentName)); err != nil {
				return err
			}
		}
	}
	parent, err := tx.GetManagementGroup(ctx, wantParent)
	if errors.Is(err, store.ErrNotFound) {
		return arm.Errorf(http.StatusNotFound, "ManagementGroupNotFound", target, "The parent management group '%s' could not be found.", wantParent)
	}
	if err != nil {
		return err
	}
	g.ParentName = parent.Name
	return nil
}

// mapTreeError turns the store's tree errors into ARM errors.
func mapTreeError(err error, name, target string) error {
	switch {
	case errors.Is(err, store.ErrCycle):
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", target,
			"The management group '%s' cannot be placed under itself or one of its descendants.", name)
	case errors.Is(err, store.ErrNotFound):
		return arm.Errorf(http.StatusNotFound, "ManagementGroupNotFound", target, "The parent management group could not be found.")
	case errors.Is(err, store.ErrAlreadyExists):
		// A second group without a parent: only the tenant root group
		// has none.
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", target, "Only the tenant root group has no parent.")
	}
	return err
}

// delete removes an empty group, with the role assignments at its scope
// and below (keyless never leaves assignments behind their scope). It
// answers 202 with an Azure-AsyncOperation that reports Succeeded at once,
// as BeginDelete polls, or 204 when there was no such group.
func (h *handlers) delete(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.groupParam(c)
	if err != nil {
		return err
	}
	if h.isRoot(name) {
		return arm.Errorf(http.StatusBadRequest, "BadRequest", "", "The tenant root group cannot be deleted.")
	}
	ctx := r.Context()
	var deleted store.ManagementGroup
	found := false
	_, err = h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		g, err := tx.GetManagementGroup(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		found, deleted = true, g
		scope := authz.ManagementGroupScope(g.Name)
		assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{ScopePrefix: scope})
		if err != nil {
			return err
		}
		for _, a := range assignments {
			if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil {
				return err
			}
		}
		err = tx.DeleteManagementGroup(ctx, g.Name)
		if errors.Is(err, store.ErrNotEmpty) {
			return arm.Errorf(http.StatusBadRequest, "BadRequest", "",
				"The management group '%s' has child management groups or subscriptions and cannot be deleted: move or delete them first.", g.Name)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	status := h.baseURL(r) + deleteStatusPath + "/" + url.PathEscape(deleted.Name) + "?api-version=" + url.QueryEscape(c.APIVersion)
	w.Header().Set("Azure-AsyncOperation", status)
	w.Header().Set("Location", status)
	arm.WriteJSON(w, http.StatusAccepted, asyncResultWire{ID: authz.ManagementGroupScope(deleted.Name), Type: groupType, Name: deleted.Name, Status: "Succeeded"})
	return nil
}

// deleteStatus answers the Azure-AsyncOperation of a finished delete.
func (h *handlers) deleteStatus(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.groupParam(c)
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, asyncResultWire{ID: authz.ManagementGroupScope(name), Type: groupType, Name: name, Status: "Succeeded"})
	return nil
}
