package arm

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

const actionAssignIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"

// bindGenericResource accepts {resourcePath} = {type}/{name}[/{childType}/
// {childName}...] and derives the full resource type for the RBAC action
// ({ns}/{type}[/{childType}]/read|write|delete). A "providers" segment
// makes it an extension resource, which is not a generic resource.
func bindGenericResource(p Params) bool {
	segs := splitPath(p["resourcePath"])
	if len(segs) < 2 || len(segs)%2 != 0 {
		return false
	}
	types := []string{p["resourceProviderNamespace"]}
	for i := 0; i < len(segs); i += 2 {
		if strings.EqualFold(segs[i], "providers") {
			return false
		}
		types = append(types, segs[i])
	}
	p["resourceType"] = strings.Join(types, "/")
	return true
}

// identityWire is the identity block of any resource (reference §9.1,
// armresources.Identity).
type identityWire struct {
	Type                   string                       `json:"type"`
	PrincipalID            string                       `json:"principalId,omitempty"`
	TenantID               string                       `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]userAssignedValue `json:"userAssignedIdentities,omitempty"`
}

type userAssignedValue struct {
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

func (s *Server) identityOf(v resources.ResourceView) *identityWire {
	system := v.Principal != nil
	if !system && len(v.UserAssigned) == 0 {
		return nil
	}
	w := &identityWire{Type: resources.IdentityType(system, len(v.UserAssigned) > 0)}
	if system {
		w.PrincipalID, w.TenantID = v.Principal.ObjectID, s.tenantID
	}
	if len(v.UserAssigned) > 0 {
		w.UserAssignedIdentities = map[string]userAssignedValue{}
		for _, a := range v.UserAssigned {
			w.UserAssignedIdentities[a.ID] = userAssignedValue{PrincipalID: a.PrincipalID, ClientID: a.ClientID}
		}
	}
	return w
}

// resourceJSON renders any stored resource: a user-assigned identity in its
// own shape, anything else as armresources.GenericResource with the stored
// members verbatim.
func (s *Server) resourceJSON(v resources.ResourceView, expand string) any {
	if strings.EqualFold(v.Type, resources.UserAssignedIdentityType) {
		return s.userAssignedIdentityOf(v)
	}
	m := map[string]any{}
	var doc map[string]json.RawMessage
	_ = json.Unmarshal(v.Body, &doc)
	for k, raw := range doc {
		m[k] = raw
	}
	m["id"], m["name"], m["type"] = v.ID, v.Name, v.Type
	if v.Location != "" {
		m["location"] = v.Location
	}
	m["properties"] = withProvisioningState(doc["properties"])
	if id := s.identityOf(v); id != nil {
		m["identity"] = id
	}
	m["systemData"] = newSystemData(v.CreatedBy, v.CreatedAt, v.UpdatedBy, v.UpdatedAt)
	// $expand adds these list-only members (GenericResourceExpanded).
	for _, e := range strings.Split(strings.ToLower(expand), ",") {
		switch strings.TrimSpace(e) {
		case "createdtime":
			m["createdTime"] = timestamp(v.CreatedAt)
		case "changedtime":
			m["changedTime"] = timestamp(v.UpdatedAt)
		case "provisioningstate":
			m["provisioningState"] = "Succeeded"
		}
	}
	return m
}

// withProvisioningState reports the resource as Succeeded: every write
// completes before the response, and azcore's body poller finishes at once
// on a 200/201 whose properties.provisioningState is terminal (reference
// §7.8). Non-object properties are returned as they are.
func withProvisioningState(raw json.RawMessage) json.RawMessage {
	props := map[string]json.RawMessage{}
	if raw != nil && !isJSONNull(raw) {
		if err := json.Unmarshal(raw, &props); err != nil || props == nil {
			return raw
		}
	}
	props["provisioningState"] = json.RawMessage(`"Succeeded"`)
	b, _ := json.Marshal(props)
	return b
}

// decodeResourceDocument splits a generic resource document into the parts
// the domain has rules for and the members it keeps verbatim, checking the
// JSON type of each known member.
func (c *Call) decodeResourceDocument(r *http.Request) (resources.ResourceSpec, error) {
	spec := resources.ResourceSpec{ID: c.Path(), Members: map[string]json.RawMessage{}}
	body, err := c.readBody(r)
	if err != nil {
		return spec, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return spec, jsonError(body, err, "")
	}
	for k, raw := range doc {
		var err error
		switch strings.ToLower(k) {
		case "location":
			spec.Location, err = decodeString(raw, "location")
		case "tags":
			spec.Tags, err = decodeTags(raw)
		case "identity":
			spec.Identity, err = decodeIdentity(raw)
		case "id", "name", "type", "systemdata", "etag":
			// Read-only members a client may echo from a GET.
		case "kind", "managedby":
			var s *string
			err = decodeMember(raw, k, &s)
			spec.Members[k] = raw
		case "sku", "plan", "extendedlocation":
			var o map[string]json.RawMessage
			err = decodeMember(raw, k, &o)
			spec.Members[k] = raw
		default:
			spec.Members[k] = raw
		}
		if err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// decodeIdentity reads the identity member. In userAssignedIdentities a
// value {} keeps or adds the identity and null removes it: the Go SDK sends
// a nil map value as null (reference §7.4, §9.1).
func decodeIdentity(raw json.RawMessage) (*resources.IdentitySpec, error) {
	if isJSONNull(raw) {
		return &resources.IdentitySpec{Type: "None"}, nil
	}
	var w struct {
		Type                   *string                    `json:"type"`
		UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities"`
	}
	if err := decodeMember(raw, "identity", &w); err != nil {
		return nil, err
	}
	spec := &resources.IdentitySpec{}
	if w.Type != nil {
		spec.Type = *w.Type
	}
	if w.UserAssignedIdentities != nil {
		spec.UserAssigned = map[string]bool{}
		for id, v := range w.UserAssignedIdentities {
			t := trimJSON(v)
			switch {
			case string(t) == "null":
				spec.UserAssigned[id] = false
			case len(t) > 0 && t[0] == '{':
				spec.UserAssigned[id] = true
			default:
				return nil, invalidContent("identity.userAssignedIdentities",
					"the value for user-assigned identity '%s' must be an object ({}) or null.", id)
			}
		}
	}
	return spec, nil
}

func (c *Call) writeOptions() resources.WriteOptions {
	return resources.WriteOptions{
		Actor: c.Caller.ObjectID,
		CanAssign: func(identityID string) bool {
			return c.Allowed(actionAssignIdentity, identityID)
		},
	}
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request, c *Call) error {
	v, err := s.resources.GetResource(r.Context(), c.Path())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.resourceJSON(v, ""))
	return nil
}

func (s *Server) headResource(w http.ResponseWriter, r *http.Request, c *Call) error {
	if _, err := s.resources.GetResource(r.Context(), c.Path()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// putResource creates or replaces synchronously: 201 or 200 with
// provisioningState Succeeded, so BeginCreateOrUpdate(ByID) needs no
// polling.
func (s *Server) putResource(w http.ResponseWriter, r *http.Request, c *Call) error {
	spec, err := c.decodeResourceDocument(r)
	if err != nil {
		return err
	}
	v, created, err := s.resources.PutResource(r.Context(), spec, c.writeOptions())
	if err != nil {
		return err
	}
	WriteJSON(w, createdStatus(created), s.resourceJSON(v, ""))
	return nil
}

func (s *Server) patchResource(w http.ResponseWriter, r *http.Request, c *Call) error {
	spec, err := c.decodeResourceDocument(r)
	if err != nil {
		return err
	}
	v, err := s.resources.PatchResource(r.Context(), spec, c.writeOptions())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.resourceJSON(v, ""))
	return nil
}

// deleteResource answers 200 when the resource existed and 204 when it did
// not; BeginDelete(ByID) accepts both without polling.
func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request, c *Call) error {
	existed, err := s.resources.DeleteResource(r.Context(), c.Caller.ObjectID, c.Path())
	if err != nil {
		return err
	}
	WriteDeleted(w, existed)
	return nil
}

// listResources serves both generic lists; the resource group parameter is
// empty for the subscription-wide one.
func (s *Server) listResources(w http.ResponseWriter, r *http.Request, c *Call) error {
	size, cursor, err := c.page(r)
	if err != nil {
		return err
	}
	// az resource list -g G asks the subscription's list with
	// "resourceGroup eq 'G'"; on a group's own list it must name that group.
	filter, err := filterOf(r, "resourceGroup", "resourceType", "name", "location", "tagName", "tagValue")
	if err != nil {
		return err
	}
	group := c.Params["resourceGroupName"]
	if g, ok := filter["resourcegroup"]; ok {
		if group != "" && !strings.EqualFold(g, group) {
			return Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter",
				"The $filter names resource group '%s' on the list of resource group '%s'.", g, group)
		}
		group = g
	}
	q := resources.ResourceQuery{
		SubscriptionID: c.Params["subscriptionId"],
		ResourceGroup:  group,
		Type:           filter["resourcetype"],
		After:          cursor,
		Limit:          size,
		Match: func(res store.Resource) bool {
			if name, ok := filter["name"]; ok && !strings.EqualFold(name, res.Name) {
				return false
			}
			if loc, ok := filter["location"]; ok && resources.NormalizeLocation(loc) != res.Location {
				return false
			}
			if !filter.matchTags(resources.BodyTags(res.Body)) {
				return false
			}
			return c.Allowed(res.Type+"/read", res.ID)
		},
	}
	p, err := s.resources.ListResources(r.Context(), q)
	if err != nil {
		return err
	}
	expand := queryValue(r.URL.Query(), "$expand")
	out := page[any]{Value: []any{}, NextLink: c.nextLink(r, p.Next)}
	for _, v := range p.Items {
		out.Value = append(out.Value, s.resourceJSON(v, expand))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}
