package graphapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// directoryObjectDeclared are the properties a mixed collection of
// directory objects may be filtered and projected by: any of its types'.
var directoryObjectDeclared = func() map[string]bool {
	m := map[string]bool{}
	for _, d := range []map[string]bool{servicePrincipalDeclared, groupDeclared, applicationDeclared} {
		for k := range d {
			m[k] = true
		}
	}
	return m
}()

// maxGetByIDs is Graph's bound on getByIds.
const maxGetByIDs = 1000

func (s *Service) directoryObjects(c *call) error {
	switch {
	case len(c.segs) == 2 && action(c.segs[1]) == "getbyids":
		return s.postOnly(c, true, func() error { return s.getByIDs(c) })
	case len(c.segs) == 2 && is(http.MethodGet, c):
		var o object
		if err := s.view(c, func(ctx context.Context, tx store.Tx) (err error) {
			o, err = s.directoryObject(ctx, tx, c.segs[1])
			return err
		}); err != nil {
			return err
		}
		writeJSON(c.w, http.StatusOK, s.entity("directoryObjects", o))
		return nil
	case len(c.segs) == 3:
		switch a := action(c.segs[2]); a {
		case "checkmembergroups", "getmembergroups", "getmemberobjects", "checkmemberobjects":
			return s.postOnly(c, true, func() error { return s.memberGroups(c, c.segs[1], a) })
		}
	case len(c.segs) == 2:
		return methodNotAllowed(c)
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s'.", clip(c.r.URL.Path))
}

// directoryObject finds any directory object by object ID: a principal or
// an application.
func (s *Service) directoryObject(ctx context.Context, tx store.Tx, id string) (object, error) {
	objs, err := s.principalObjects(ctx, tx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(objs) == 1 {
		return objs[0], nil
	}
	a, err := tx.GetApplication(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return s.applicationObject(a), nil
}

// getByIDs answers the objects with the given IDs that exist, of the
// given types when types is set (the Azure CLI resolves assignees so).
func (s *Service) getByIDs(c *call) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	var ids, types []string
	if _, err := member(body, "ids", &ids); err != nil {
		return err
	}
	if _, err := member(body, "types", &types); err != nil {
		return err
	}
	if len(ids) == 0 {
		return badRequest("Property 'ids' is required and must not be empty.")
	}
	if len(ids) > maxGetByIDs {
		return badRequest("At most %d ids may be given.", maxGetByIDs)
	}
	wanted := map[string]bool{}
	for _, t := range types {
		wanted["#microsoft.graph."+strings.ToLower(strings.TrimPrefix(t, "microsoft.graph."))] = true
	}
	value := []object{}
	if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
		for _, id := range ids {
			o, err := s.directoryObject(ctx, tx, id)
			var ge *graphError
			if errors.As(err, &ge) {
				continue
			}
			if err != nil {
				return err
			}
			if t, _ := o["@odata.type"].(string); len(wanted) == 0 || wanted[strings.ToLower(t)] {
				value = append(value, o)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"@odata.context": s.graphURL("$metadata#directoryObjects"), "value": value})
	return nil
}

// memberGroups serves checkMemberGroups (which of these groups the object
// is in), getMemberGroups (every group it is in), and their *Objects
// twins, transitively through nested groups, as Entra answers them.
func (s *Service) memberGroups(c *call, objectID, action string) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	var candidates []string
	check := strings.HasPrefix(action, "check")
	if check {
		name := "groupIds"
		if action == "checkmemberobjects" {
			name = "ids"
		}
		if _, err := member(body, name, &candidates); err != nil {
			return err
		}
		if len(candidates) > 20 && action == "checkmembergroups" {
			return badRequest("At most 20 groupIds may be checked at once.")
		}
	}
	value := []string{}
	if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.GetPrincipal(ctx, objectID); errors.Is(err, store.ErrNotFound) {
			return notFound(objectID)
		} else if err != nil {
			return err
		}
		in, err := transitiveGroups(ctx, tx, objectID)
		if err != nil {
			return err
		}
		if !check {
			for id := range in {
				value = append(value, id)
			}
			return nil
		}
		for _, id := range candidates {
			if in[strings.ToLower(id)] {
				value = append(value, id)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if !check {
		sortStrings(value)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"@odata.context": s.graphURL("$metadata#Collection(Edm.String)"), "value": value})
	return nil
}

// transitiveGroups is every group the principal is in, directly or
// through nested groups, by lower-case ID.
func transitiveGroups(ctx context.Context, tx store.Tx, principalID string) (map[string]bool, error) {
	in := map[string]bool{}
	queue := []string{principalID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		groups, err := tx.ListGroupsOf(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if !in[strings.ToLower(g)] {
				in[strings.ToLower(g)] = true
				queue = append(queue, g)
			}
		}
	}
	return in, nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

type organizationWire struct {
	ODataType       string           `json:"@odata.type"`
	ID              string           `json:"id"`
	DisplayName     string           `json:"displayName"`
	TenantType      string           `json:"tenantType"`
	CreatedDateTime *time.Time       `json:"createdDateTime"`
	DeletedDateTime *time.Time       `json:"deletedDateTime"`
	VerifiedDomains []verifiedDomain `json:"verifiedDomains"`
	CountryLetter   *string          `json:"countryLetterCode"`
}

type verifiedDomain struct {
	Capabilities string `json:"capabilities"`
	IsDefault    bool   `json:"isDefault"`
	IsInitial    bool   `json:"isInitial"`
	Name         string `json:"name"`
	Type         string `json:"type"`
}

func (s *Service) organizationObject() object {
	return toObject(organizationWire{ODataType: "#microsoft.graph.organization", ID: s.cfg.TenantID, DisplayName: "keyless",
		TenantType: "AAD", VerifiedDomains: []verifiedDomain{{Capabilities: "None", IsDefault: true, IsInitial: true,
			Name: s.publisherDomain(), Type: "Managed"}}})
}

func (s *Service) organization(c *call) error {
	if !is(http.MethodGet, c) {
		return methodNotAllowed(c)
	}
	org := s.organizationObject()
	switch len(c.segs) {
	case 1:
		q, err := parseQuery(c, "organization", declaredOf(org))
		if err != nil {
			return err
		}
		s.writeCollection(c, "organization", q, []object{org})
		return nil
	case 2:
		if !strings.EqualFold(c.segs[1], s.cfg.TenantID) {
			return notFound(c.segs[1])
		}
		writeJSON(c.w, http.StatusOK, s.entity("organization", org))
		return nil
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s'.", clip(c.r.URL.Path))
}

// userDeclared are the user properties clients filter by; keyless has no
// users, so they only make a filter valid.
var userDeclared = map[string]bool{"id": true, "displayname": true, "userprincipalname": true, "mail": true,
	"givenname": true, "surname": true, "accountenabled": true, "usertype": true, "othermails": true}

// users: keyless's directory holds no users (workloads sign in as service
// principals), so lists are empty and every user is not found.
func (s *Service) users(c *call) error {
	switch {
	case len(c.segs) == 1 && is(http.MethodGet, c):
		q, err := parseQuery(c, "user", userDeclared)
		if err != nil {
			return err
		}
		s.writeCollection(c, "users", q, nil)
		return nil
	case len(c.segs) == 2 && c.segs[1] == "$count" && is(http.MethodGet, c):
		return writeCount(c, query{}, nil)
	case len(c.segs) == 1 && is(http.MethodPost, c):
		return badRequest("keyless has no users: workloads sign in as service principals and managed identities.")
	}
	return notFound(c.segs[min(1, len(c.segs)-1)])
}
