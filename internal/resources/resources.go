package resources

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/keyless-io/keyless/internal/store"
)

// ResourceSpec is a resource document as a client sent it, split into the
// parts this package has rules for and the rest, which is kept verbatim.
type ResourceSpec struct {
	// ID is the resource ID as the caller wrote it (no empty segments).
	ID string
	// Location is empty when the document has none.
	Location string
	// Tags is nil when the document has no tags member; an empty map clears.
	Tags map[string]string
	// Members are the other top-level members (properties, sku, kind, plan,
	// managedBy, extendedLocation, ...), kept verbatim. On PATCH a JSON null
	// removes a member and objects are merged (RFC 7396). Members this
	// package handles itself (id, name, type, location, identity, tags,
	// systemData, etag) are ignored here: pass them in their own fields.
	Members map[string]json.RawMessage
	// Identity is nil when the document has no identity member.
	Identity *IdentitySpec
}

// IdentitySpec is the identity member of a resource document.
type IdentitySpec struct {
	// Type is as written ("SystemAssigned, UserAssigned", "none", ...);
	// empty when absent.
	Type string
	// UserAssigned maps user-assigned identity IDs to true (sent as {}: keep
	// or add) or false (sent as null: remove). Nil when absent.
	UserAssigned map[string]bool
}

// WriteOptions carries who writes and the linked-authorization check.
type WriteOptions struct {
	// Actor is the caller's object ID, recorded as CreatedBy/UpdatedBy.
	Actor string
	// CanAssign reports whether the caller may assign the user-assigned
	// identity with this ID (Microsoft.ManagedIdentity/userAssignedIdentities/
	// assign/action on it). It is asked only for identities the write newly
	// attaches; detaching needs only write on the resource (reference §9.3).
	// Nil allows everything.
	CanAssign func(identityID string) bool
}

// ResourceView is a stored resource with the identity details its
// representation shows.
type ResourceView struct {
	store.Resource
	// Principal is the resource's own principal: the system-assigned one of
	// a generic resource (nil when it has none) or the principal of a
	// user-assigned identity.
	Principal *store.Principal
	// UserAssigned are the attached user-assigned identities, in stored
	// order.
	UserAssigned []AttachedIdentity
}

// AttachedIdentity is one user-assigned identity attached to a resource.
type AttachedIdentity struct {
	ID          string
	PrincipalID string
	ClientID    string
}

// IdentityType spells the identity type ARM reports for this combination.
func IdentityType(system, user bool) string {
	switch {
	case system && user:
		return "SystemAssigned, UserAssigned"
	case system:
		return "SystemAssigned"
	case user:
		return "UserAssigned"
	}
	return "None"
}

type identityKinds struct{ system, user bool }

// parseIdentityType accepts the four ARM values case-insensitively and with
// or without the space after the comma (older docs show
// "SystemAssigned,UserAssigned"; reference §9.1).
func parseIdentityType(t string) (identityKinds, error) {
	folded := strings.ToLower(strings.Join(strings.Fields(t), ""))
	switch folded {
	case "none":
		return identityKinds{}, nil
	case "systemassigned":
		return identityKinds{system: true}, nil
	case "userassigned":
		return identityKinds{user: true}, nil
	case "systemassigned,userassigned", "userassigned,systemassigned":
		return identityKinds{system: true, user: true}, nil
	}
	return identityKinds{}, invalid(CodeInvalidIdentity, "identity.type",
		"The identity type '%s' is invalid. The supported types are 'None', 'SystemAssigned', 'UserAssigned' and 'SystemAssigned, UserAssigned'.", t)
}

// resourceRef is a parsed generic resource ID.
type resourceRef struct {
	id             string
	subscriptionID string
	resourceGroup  string
	typ            string // Namespace/type[/childType...]
	name           string
	parentID       string // empty for a top-level resource
	path           string // Namespace/type/name[/childType/childName...], for messages
}

// parseResourceRef accepts /subscriptions/{s}/resourceGroups/{g}/providers/
// {ns}/{type}/{name}[/{childType}/{childName}...]. Extension resources (a
// second "providers" segment) are not generic resources.
func parseResourceRef(id string) (resourceRef, error) {
	segs := strings.FieldsFunc(id, func(r rune) bool { return r == '/' })
	bad := func() (resourceRef, error) {
		return resourceRef{}, invalid(CodeInvalidParameter, "id", "The resource ID '%s' is not a valid resource ID.", id)
	}
	if len(segs) < 8 || len(segs)%2 != 0 ||
		!strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") ||
		!strings.EqualFold(segs[4], "providers") {
		return bad()
	}
	// The fixed segments take ARM's canonical casing (the by-parts SDK
	// operations send "resourcegroups", Azure answers "resourceGroups");
	// names keep the caller's.
	segs[0], segs[2], segs[4] = "subscriptions", "resourceGroups", "providers"
	ref := resourceRef{
		id:             "/" + strings.Join(segs, "/"),
		subscriptionID: segs[1],
		resourceGroup:  segs[3],
		path:           strings.Join(segs[5:], "/"),
		name:           segs[len(segs)-1],
	}
	types := []string{segs[5]}
	for i := 6; i < len(segs); i += 2 {
		if strings.EqualFold(segs[i], "providers") {
			return bad()
		}
		types = append(types, segs[i])
		if err := ValidateResourceName(segs[i+1]); err != nil {
			return resourceRef{}, err
		}
	}
	ref.typ = strings.Join(types, "/")
	if len(segs) > 8 {
		ref.parentID = "/" + strings.Join(segs[:len(segs)-2], "/")
	}
	return ref, nil
}

func (ref resourceRef) notFound() error {
	return notFound(CodeResourceNotFound, "The Resource '%s' under resource group '%s' was not found.", ref.path, ref.resourceGroup)
}

// desiredIdentity is the identity state a write asks for.
type desiredIdentity struct {
	system bool
	user   []string
}

// userAssignedKeys validates the keys of an identity map and returns them
// sorted (for determinism), split into kept/added and removed.
func userAssignedKeys(m map[string]bool) (keep, remove []string, err error) {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rid, perr := arm.ParseResourceID(id)
		if perr != nil || !strings.EqualFold(rid.ResourceType.String(), UserAssignedIdentityType) ||
			rid.Name == "" || rid.ResourceGroupName == "" || rid.SubscriptionID == "" {
			return nil, nil, invalid(CodeInvalidIdentity, "identity.userAssignedIdentities",
				"The user-assigned identity ID '%s' is invalid. It must look like /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}.", id)
		}
		clean := cleanID(id)
		if m[id] {
			if !containsID(keep, clean) {
				keep = append(keep, clean)
			}
		} else {
			remove = append(remove, clean)
		}
	}
	return keep, remove, nil
}

// cleanID drops empty segments from an ID, keeping the caller's casing.
func cleanID(id string) string {
	return "/" + strings.Join(strings.FieldsFunc(id, func(r rune) bool { return r == '/' }), "/")
}

// putIdentity is the identity a PUT asks for: the document is the full
// desired state, so an absent identity means none (reference §9.2).
func putIdentity(spec *IdentitySpec) (desiredIdentity, error) {
	if spec == nil {
		return desiredIdentity{}, nil
	}
	if strings.TrimSpace(spec.Type) == "" {
		return desiredIdentity{}, invalid(CodeInvalidIdentity, "identity.type", "The identity type is required when the identity property is specified.")
	}
	kinds, err := parseIdentityType(spec.Type)
	if err != nil {
		return desiredIdentity{}, err
	}
	keep, _, err := userAssignedKeys(spec.UserAssigned)
	if err != nil {
		return desiredIdentity{}, err
	}
	return checkIdentityKinds(kinds, keep)
}

// patchIdentity merges a PATCH identity member into the current state
// (CONTRACT.md "ARM details"): keys with {} are kept or added, keys with null
// removed, absent keys kept; a type without UserAssigned detaches all.
func patchIdentity(spec *IdentitySpec, current desiredIdentity) (desiredIdentity, error) {
	if spec == nil {
		return current, nil
	}
	keep, remove, err := userAssignedKeys(spec.UserAssigned)
	if err != nil {
		return desiredIdentity{}, err
	}
	var kinds identityKinds
	typed := strings.TrimSpace(spec.Type) != ""
	if typed {
		if kinds, err = parseIdentityType(spec.Type); err != nil {
			return desiredIdentity{}, err
		}
	} else {
		kinds = identityKinds{system: current.system, user: true}
	}
	var user []string
	if kinds.user {
		for _, id := range current.user {
			if !containsID(remove, id) {
				user = append(user, id)
			}
		}
		for _, id := range keep {
			if !containsID(user, id) {
				user = append(user, id)
			}
		}
	} else {
		user = keep
	}
	if !typed {
		kinds.user = len(user) > 0
	}
	return checkIdentityKinds(kinds, user)
}

func checkIdentityKinds(kinds identityKinds, user []string) (desiredIdentity, error) {
	if !kinds.user && len(user) > 0 {
		return desiredIdentity{}, invalid(CodeInvalidIdentity, "identity.userAssignedIdentities",
			"User-assigned identities can only be specified when the identity type is 'UserAssigned' or 'SystemAssigned, UserAssigned'; the type is '%s'.", IdentityType(kinds.system, false))
	}
	if kinds.user && len(user) == 0 {
		return desiredIdentity{}, invalid(CodeInvalidIdentity, "identity.userAssignedIdentities",
			"The identity type '%s' requires at least one user-assigned identity in userAssignedIdentities.", IdentityType(kinds.system, true))
	}
	return desiredIdentity{system: kinds.system, user: user}, nil
}

// applyIdentity makes the stored identity state of r match want: it checks
// that newly attached identities may be assigned and that every attached
// identity exists, and creates or deletes the system-assigned principal.
func (s *Service) applyIdentity(ctx context.Context, tx store.Tx, r *store.Resource, current []string, want desiredIdentity, opt WriteOptions) error {
	var denied []string
	for _, id := range want.user {
		if !containsID(current, id) && opt.CanAssign != nil && !opt.CanAssign(id) {
			denied = append(denied, id)
		}
	}
	if len(denied) > 0 {
		return &LinkedAuthorizationError{ResourceID: r.ID, ResourceType: r.Type, Scopes: denied}
	}
	for _, id := range want.user {
		u, err := tx.GetResource(ctx, id)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err != nil || !isUserAssignedIdentityType(u.Type) {
			return invalid(CodeFailedIdentityOperation, "identity.userAssignedIdentities",
				"Identity operation for resource '%s' failed: the user-assigned identity '%s' does not exist.", r.ID, id)
		}
	}
	r.UserAssignedIdentities = want.user
	switch {
	case want.system && r.PrincipalID == "":
		p, err := s.newPrincipal(ctx, tx, store.PrincipalSystemAssigned, r.ID, r.Name)
		if err != nil {
			return err
		}
		r.PrincipalID = p.ObjectID
	case !want.system && r.PrincipalID != "":
		if err := deletePrincipal(ctx, tx, r.PrincipalID); err != nil {
			return err
		}
		r.PrincipalID = ""
	}
	return nil
}

// checkContainers verifies that the resource group and, for a child
// resource, the parent exist, and returns the group.
func checkContainers(ctx context.Context, tx store.Tx, ref resourceRef) (store.ResourceGroup, error) {
	g, err := tx.GetResourceGroup(ctx, ref.subscriptionID, ref.resourceGroup)
	if isNotFound(err) {
		return g, resourceGroupNotFound(ref.resourceGroup)
	}
	if err != nil {
		return g, err
	}
	if ref.parentID != "" {
		if _, err := tx.GetResource(ctx, ref.parentID); err != nil {
			if isNotFound(err) {
				parent, _ := parseResourceRef(ref.parentID)
				return g, notFound(CodeParentResourceNotFound,
					"Can not perform requested operation on nested resource. Parent resource '%s' not found.", parent.path)
			}
			return g, err
		}
	}
	return g, nil
}

func (s *Service) checkLocation(ref resourceRef, old store.Resource, requested string) error {
	if requested != "" && !strings.EqualFold(NormalizeLocation(requested), old.Location) {
		return &ConflictError{Code: CodeInvalidResourceLocation, Message: "The resource '" + ref.path +
			"' already exists in location '" + old.Location + "' in resource group '" + ref.resourceGroup +
			"'. A resource with the same name cannot be created in location '" + NormalizeLocation(requested) +
			"'. Please select a new resource name."}
	}
	return nil
}

func rejectIdentityType(ref resourceRef) error {
	if isUserAssignedIdentityType(ref.typ) {
		return invalid(CodeInvalidResourceType, "type",
			"User-assigned identities are managed through the Microsoft.ManagedIdentity API; '%s' cannot be written as a generic resource.", ref.id)
	}
	return nil
}

// PutResource creates or replaces a generic resource. The document is the
// full desired state: members and identities it leaves out are removed.
func (s *Service) PutResource(ctx context.Context, spec ResourceSpec, opt WriteOptions) (ResourceView, bool, error) {
	ref, err := parseResourceRef(spec.ID)
	if err != nil {
		return ResourceView{}, false, err
	}
	if err := rejectIdentityType(ref); err != nil {
		return ResourceView{}, false, err
	}
	if err := validateTags(spec.Tags); err != nil {
		return ResourceView{}, false, err
	}
	want, err := putIdentity(spec.Identity)
	if err != nil {
		return ResourceView{}, false, err
	}
	var (
		view    ResourceView
		created bool
	)
	_, err = s.store.Update(ctx, func(tx store.Tx) error {
		g, err := checkContainers(ctx, tx, ref)
		if err != nil {
			return err
		}
		now := s.timestamp()
		r := store.Resource{
			ID:             ref.id,
			SubscriptionID: ref.subscriptionID,
			ResourceGroup:  g.Name,
			Type:           ref.typ,
			Name:           ref.name,
			Location:       NormalizeLocation(spec.Location),
			CreatedAt:      now,
			CreatedBy:      opt.Actor,
		}
		old, err := tx.GetResource(ctx, ref.id)
		switch {
		case err == nil:
			if err := s.checkLocation(ref, old, spec.Location); err != nil {
				return err
			}
			r.ID, r.Type, r.Name, r.Location = old.ID, old.Type, old.Name, old.Location
			r.CreatedAt, r.CreatedBy, r.PrincipalID = old.CreatedAt, old.CreatedBy, old.PrincipalID
		case isNotFound(err):
			created = true
		default:
			return err
		}
		r.UpdatedAt, r.UpdatedBy = now, opt.Actor
		body := map[string]json.RawMessage{}
		for k, v := range spec.Members {
			if !ownMembers[strings.ToLower(k)] {
				body[k] = v
			}
		}
		setTags(body, spec.Tags)
		r.Body = encodeBody(body)
		if err := s.applyIdentity(ctx, tx, &r, old.UserAssignedIdentities, want, opt); err != nil {
			return err
		}
		if err := s.writeHook(ctx, tx, &r); err != nil {
			return err
		}
		if _, err := tx.PutResource(ctx, r); err != nil {
			return err
		}
		view, err = s.view(ctx, tx, r)
		return err
	})
	return view, created, err
}

// PatchResource merges a partial document into an existing resource
// (reference §9.2): present members replace or merge (RFC 7396), tags
// replace, an identity member is merged per CONTRACT.md.
func (s *Service) PatchResource(ctx context.Context, spec ResourceSpec, opt WriteOptions) (ResourceView, error) {
	ref, err := parseResourceRef(spec.ID)
	if err != nil {
		return ResourceView{}, err
	}
	if err := rejectIdentityType(ref); err != nil {
		return ResourceView{}, err
	}
	if err := validateTags(spec.Tags); err != nil {
		return ResourceView{}, err
	}
	var view ResourceView
	_, err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := checkContainers(ctx, tx, ref); err != nil {
			return err
		}
		r, err := tx.GetResource(ctx, ref.id)
		if isNotFound(err) {
			return ref.notFound()
		}
		if err != nil {
			return err
		}
		if err := s.checkLocation(ref, r, spec.Location); err != nil {
			return err
		}
		want, err := patchIdentity(spec.Identity, desiredIdentity{system: r.PrincipalID != "", user: r.UserAssignedIdentities})
		if err != nil {
			return err
		}
		body := decodeBody(r.Body)
		for k, v := range spec.Members {
			if ownMembers[strings.ToLower(k)] {
				continue
			}
			if isNull(v) {
				delete(body, k)
			} else {
				body[k] = mergePatch(body[k], v)
			}
		}
		if spec.Tags != nil {
			setTags(body, spec.Tags)
		}
		r.Body = encodeBody(body)
		r.UpdatedAt, r.UpdatedBy = s.timestamp(), opt.Actor
		current := r.UserAssignedIdentities
		if err := s.applyIdentity(ctx, tx, &r, current, want, opt); err != nil {
			return err
		}
		if err := s.writeHook(ctx, tx, &r); err != nil {
			return err
		}
		if _, err := tx.PutResource(ctx, r); err != nil {
			return err
		}
		view, err = s.view(ctx, tx, r)
		return err
	})
	return view, err
}

// GetResource returns a resource of any type by ID.
func (s *Service) GetResource(ctx context.Context, id string) (ResourceView, error) {
	ref, err := parseResourceRef(id)
	if err != nil {
		return ResourceView{}, err
	}
	var view ResourceView
	err = s.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(ctx, ref.id)
		if isNotFound(err) {
			if _, gerr := tx.GetResourceGroup(ctx, ref.subscriptionID, ref.resourceGroup); isNotFound(gerr) {
				return resourceGroupNotFound(ref.resourceGroup)
			}
			return ref.notFound()
		}
		if err != nil {
			return err
		}
		view, err = s.view(ctx, tx, r)
		return err
	})
	return view, err
}

// DeleteResource deletes a resource with its child resources and everything
// that exists only because of them (see purgeResource). It reports whether
// the resource existed (ARM answers 200 or 204).
func (s *Service) DeleteResource(ctx context.Context, actor, id string) (bool, error) {
	ref, err := parseResourceRef(id)
	if err != nil {
		return false, err
	}
	existed := false
	_, err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetResourceGroup(ctx, ref.subscriptionID, ref.resourceGroup); err != nil {
			if isNotFound(err) {
				return resourceGroupNotFound(ref.resourceGroup)
			}
			return err
		}
		r, err := tx.GetResource(ctx, ref.id)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		existed = true
		return s.purgeResourceTree(ctx, tx, r, actor)
	})
	return existed, err
}

// GetSystemAssignedIdentity returns the resource whose system-assigned
// identity is read at {resourceID}/providers/Microsoft.ManagedIdentity/
// identities/default (reference §8.2); 404 when the resource has none.
func (s *Service) GetSystemAssignedIdentity(ctx context.Context, resourceID string) (ResourceView, error) {
	if _, err := parseResourceRef(resourceID); err != nil {
		// Only resources have system-assigned identities; any other scope
		// (a group, a subscription) has none.
		return ResourceView{}, notFound(CodeResourceNotFound,
			"The scope '%s' does not have a system-assigned managed identity.", resourceID)
	}
	view, err := s.GetResource(ctx, resourceID)
	if err != nil {
		return view, err
	}
	if view.Principal == nil || isUserAssignedIdentityType(view.Type) {
		return ResourceView{}, notFound(CodeResourceNotFound,
			"The resource '%s' does not have a system-assigned managed identity.", view.ID)
	}
	return view, nil
}

// view completes a stored resource with its identity details.
func (s *Service) view(ctx context.Context, tx store.Tx, r store.Resource) (ResourceView, error) {
	v := ResourceView{Resource: r}
	if r.PrincipalID != "" {
		p, err := s.getPrincipal(ctx, tx, r.PrincipalID)
		switch {
		case err == nil:
			v.Principal = &p
		case !isNotFound(err):
			return v, err
		}
	}
	for _, id := range r.UserAssignedIdentities {
		a := AttachedIdentity{ID: id}
		u, err := tx.GetResource(ctx, id)
		if err != nil && !isNotFound(err) {
			return v, err
		}
		if err == nil && u.PrincipalID != "" {
			p, err := s.getPrincipal(ctx, tx, u.PrincipalID)
			if err != nil && !isNotFound(err) {
				return v, err
			}
			a.PrincipalID, a.ClientID = u.PrincipalID, p.AppID
		}
		v.UserAssigned = append(v.UserAssigned, a)
	}
	return v, nil
}

// getPrincipal reads a principal from the in-memory index when there is
// one, else from the transaction.
func (s *Service) getPrincipal(ctx context.Context, tx store.Tx, objectID string) (store.Principal, error) {
	if s.principal != nil {
		if p, ok := s.principal(objectID); ok {
			return p, nil
		}
	}
	return tx.GetPrincipal(ctx, objectID)
}

// ResourceQuery selects resources for a list.
type ResourceQuery struct {
	SubscriptionID string
	// ResourceGroup limits the list to one group (which must exist).
	ResourceGroup string
	// Type limits the list to one resource type (case-insensitive).
	Type string
	// Match is an extra per-item filter (tags, names, authorization).
	Match func(store.Resource) bool
	// After is the paging cursor: list resources whose lower-case ID sorts
	// after it.
	After string
	// Limit is the page size (> 0).
	Limit int
}

// ResourcePage is one page of a list. Next is the cursor for the next page,
// empty on the last page.
type ResourcePage struct {
	Items []ResourceView
	Next  string
}

// ListResources returns one page of resources in ID order.
func (s *Service) ListResources(ctx context.Context, q ResourceQuery) (ResourcePage, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var page ResourcePage
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubscription(ctx, q.SubscriptionID); err != nil {
			if isNotFound(err) {
				return subscriptionNotFound(q.SubscriptionID)
			}
			return err
		}
		if q.ResourceGroup != "" {
			if _, err := tx.GetResourceGroup(ctx, q.SubscriptionID, q.ResourceGroup); err != nil {
				if isNotFound(err) {
					return resourceGroupNotFound(q.ResourceGroup)
				}
				return err
			}
		}
		filter := store.ResourceFilter{
			SubscriptionID: q.SubscriptionID,
			ResourceGroup:  q.ResourceGroup,
			Type:           q.Type,
			After:          strings.ToLower(q.After),
			Limit:          q.Limit + 1,
		}
		var matched []store.Resource
		for {
			batch, err := tx.ListResources(ctx, filter)
			if err != nil {
				return err
			}
			for _, r := range batch {
				if q.Match == nil || q.Match(r) {
					matched = append(matched, r)
				}
			}
			// One item past the page tells whether a next page exists.
			if len(matched) > q.Limit || len(batch) < filter.Limit {
				break
			}
			filter.After = strings.ToLower(batch[len(batch)-1].ID)
		}
		if len(matched) > q.Limit {
			matched = matched[:q.Limit]
			page.Next = strings.ToLower(matched[len(matched)-1].ID)
		}
		for _, r := range matched {
			v, err := s.view(ctx, tx, r)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, v)
		}
		return nil
	})
	return page, err
}
