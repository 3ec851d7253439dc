package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
)

var groupDeclared = declaredOf(groupObject(store.Principal{}))

// groupWritable are what a group create or update may carry. keyless's
// groups are security groups: a mail-enabled or Microsoft 365 group is
// refused rather than half made.
var groupWritable = map[string]bool{"displayName": true, "description": true, "mailNickname": true, "mailEnabled": true,
	"securityEnabled": true, "groupTypes": true, "isAssignableToRole": true, "visibility": true,
	"members@odata.bind": true, "owners@odata.bind": true}

func (s *Service) groups(c *call) error {
	if len(c.segs) == 1 {
		switch {
		case is(http.MethodGet, c):
			q, err := parseQuery(c, "group", groupDeclared)
			if err != nil {
				return err
			}
			objs, err := s.groupObjects(c)
			if err != nil {
				return err
			}
			s.writeCollection(c, "groups", q, objs)
			return nil
		case is(http.MethodPost, c):
			return s.createGroup(c)
		}
		return methodNotAllowed(c)
	}
	if len(c.segs) == 2 && c.segs[1] == "$count" {
		q, err := parseQuery(c, "group", groupDeclared)
		if err != nil {
			return err
		}
		objs, err := s.groupObjects(c)
		if err != nil {
			return err
		}
		return writeCount(c, q, objs)
	}
	id, rest := c.segs[1], c.segs[2:]
	if len(rest) == 0 {
		switch {
		case is(http.MethodGet, c):
			var p store.Principal
			if err := s.view(c, func(ctx context.Context, tx store.Tx) (err error) {
				p, err = findGroup(ctx, tx, id)
				return err
			}); err != nil {
				return err
			}
			writeJSON(c.w, http.StatusOK, s.entity("groups", groupObject(p)))
			return nil
		case is(http.MethodPatch, c):
			return s.patchGroup(c, id)
		case is(http.MethodDelete, c):
			err := s.update(c, directory.ManageGroups, func(ctx context.Context, tx store.Tx) error {
				if _, err := findGroup(ctx, tx, id); err != nil {
					return err
				}
				return directory.DeletePrincipal(ctx, tx, id)
			})
			if err != nil {
				return err
			}
			c.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return methodNotAllowed(c)
	}
	switch a := action(rest[0]); a {
	case "members", "owners":
		return s.groupLinks(c, id, a == "owners", rest[1:])
	case "checkmembergroups", "getmembergroups", "getmemberobjects", "checkmemberobjects":
		return s.postOnly(c, len(rest) == 1, func() error { return s.memberGroups(c, id, a) })
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(rest[0]))
}

func findGroup(ctx context.Context, tx store.Tx, id string) (store.Principal, error) {
	p, err := tx.GetPrincipal(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.Kind != store.PrincipalGroup) {
		return p, notFound(id)
	}
	return p, err
}

func (s *Service) groupObjects(c *call) ([]object, error) {
	var objs []object
	err := s.view(c, func(ctx context.Context, tx store.Tx) error {
		ps, err := tx.ListPrincipals(ctx, store.PrincipalFilter{Kind: store.PrincipalGroup})
		for _, p := range ps {
			objs = append(objs, groupObject(p))
		}
		return err
	})
	return objs, err
}

// readGroupBody validates a group body; it returns the new display name
// (empty when unchanged) and the members and owners to bind.
func readGroupBody(body map[string]json.RawMessage) (name string, members, owners []string, err error) {
	for k := range body {
		if !groupWritable[k] && !strings.HasPrefix(k, "@odata.") {
			return "", nil, nil, badRequest("Property '%s' does not exist on type 'microsoft.graph.group' or cannot be written by keyless.", clip(k))
		}
	}
	var mailEnabled, securityEnabled *bool
	var groupTypes []string
	if _, err := member(body, "displayName", &name); err != nil {
		return "", nil, nil, err
	}
	if _, ok := body["displayName"]; ok && (strings.TrimSpace(name) == "" || len(name) > 256) {
		return "", nil, nil, badRequest("Invalid value specified for property 'displayName' of resource 'Group'.")
	}
	for _, m := range []struct {
		name string
		dst  any
	}{{"mailEnabled", &mailEnabled}, {"securityEnabled", &securityEnabled}, {"groupTypes", &groupTypes},
		{"members@odata.bind", &members}, {"owners@odata.bind", &owners}} {
		if _, err := member(body, m.name, m.dst); err != nil {
			return "", nil, nil, err
		}
	}
	if mailEnabled != nil && *mailEnabled || securityEnabled != nil && !*securityEnabled || len(groupTypes) > 0 {
		return "", nil, nil, badRequest("keyless groups are security groups: mailEnabled must be false, securityEnabled true and groupTypes empty.")
	}
	for i, ref := range members {
		if members[i] = refID(ref); members[i] == "" {
			return "", nil, nil, badRequest("Invalid URL in members@odata.bind: '%s'.", clip(ref))
		}
	}
	for i, ref := range owners {
		if owners[i] = refID(ref); owners[i] == "" {
			return "", nil, nil, badRequest("Invalid URL in owners@odata.bind: '%s'.", clip(ref))
		}
	}
	return name, members, owners, nil
}

// refID reads the object ID at the end of an @odata.id reference:
// https://graph.microsoft.com/v1.0/directoryObjects/{id}, a keyless URL,
// or a bare ID.
func refID(ref string) string {
	ref = strings.TrimRight(strings.TrimSpace(ref), "/")
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	if _, prop, val := keySegment(ref); prop != "" {
		ref = val
	}
	if _, err := uuid.Parse(ref); err != nil {
		return ""
	}
	return strings.ToLower(ref)
}

func (s *Service) createGroup(c *call) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	name, members, owners, err := readGroupBody(body)
	if err != nil {
		return err
	}
	if name == "" {
		return badRequest("Property 'displayName' is required to create a group.")
	}
	p := store.Principal{ObjectID: uuid.NewString(), DisplayName: name, Kind: store.PrincipalGroup, CreatedAt: s.cfg.Now().UTC()}
	err = s.update(c, directory.ManageGroups, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		for _, m := range members {
			if err := addLink(ctx, tx, p.ObjectID, m, false); err != nil {
				return err
			}
		}
		for _, o := range owners {
			if err := addLink(ctx, tx, p.ObjectID, o, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.w.Header().Set("Location", s.graphURL("groups/"+p.ObjectID))
	writeJSON(c.w, http.StatusCreated, s.entity("groups", groupObject(p)))
	return nil
}

func (s *Service) patchGroup(c *call, id string) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	name, members, owners, err := readGroupBody(body)
	if err != nil {
		return err
	}
	err = s.update(c, directory.ManageGroups, func(ctx context.Context, tx store.Tx) error {
		if _, err := findGroup(ctx, tx, id); err != nil {
			return err
		}
		if name != "" {
			if err := tx.UpdatePrincipal(ctx, id, func(p store.Principal) (store.Principal, error) {
				p.DisplayName = name
				return p, nil
			}); err != nil {
				return err
			}
		}
		for _, m := range members {
			if err := addLink(ctx, tx, id, m, false); err != nil {
				return err
			}
		}
		for _, o := range owners {
			if err := addLink(ctx, tx, id, o, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// addLink adds a member or an owner, with Graph's refusals.
func addLink(ctx context.Context, tx store.Tx, groupID, objectID string, owner bool) error {
	prop := map[bool]string{false: "members", true: "owners"}[owner]
	if strings.EqualFold(groupID, objectID) {
		return badRequest("A group cannot be a member or owner of itself.")
	}
	p, err := tx.GetPrincipal(ctx, objectID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(objectID)
	}
	if err != nil {
		return err
	}
	if owner && p.Kind == store.PrincipalGroup {
		return badRequest("A group cannot own a group.")
	}
	if owner {
		err = tx.AddGroupOwner(ctx, groupID, p.ObjectID)
	} else {
		err = tx.AddGroupMember(ctx, groupID, p.ObjectID)
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		return badRequest("One or more added object references already exist for the following modified properties: '%s'.", prop)
	}
	return err
}

// groupLinks serves groups/{id}/members and /owners: the list, and $ref
// to add (POST) and remove (DELETE .../{objectId}/$ref). The group's
// owners may change its members and owners, as in Entra.
func (s *Service) groupLinks(c *call, groupID string, owners bool, rest []string) error {
	set := "directoryObjects"
	switch {
	case len(rest) == 0 && is(http.MethodGet, c), len(rest) == 1 && rest[0] == "$count" && is(http.MethodGet, c):
		q, err := parseQuery(c, "directoryObject", directoryObjectDeclared)
		if err != nil {
			return err
		}
		var objs []object
		if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
			if _, err := findGroup(ctx, tx, groupID); err != nil {
				return err
			}
			var ids []string
			var err error
			if owners {
				ids, err = tx.ListGroupOwners(ctx, groupID)
			} else {
				ids, err = tx.ListGroupMembers(ctx, groupID)
			}
			if err != nil {
				return err
			}
			objs, err = s.principalObjects(ctx, tx, ids)
			return err
		}); err != nil {
			return err
		}
		if len(rest) == 1 {
			return writeCount(c, q, objs)
		}
		s.writeCollection(c, set, q, objs)
		return nil
	case len(rest) == 1 && rest[0] == "$ref" && is(http.MethodPost, c):
		body, err := decodeBody(c)
		if err != nil {
			return err
		}
		var ref string
		if _, err := member(body, "@odata.id", &ref); err != nil {
			return err
		}
		id := refID(ref)
		if id == "" {
			return badRequest("Invalid URL format specified in @odata.id: '%s'.", clip(ref))
		}
		if err := s.updateGroupLinks(c, groupID, func(ctx context.Context, tx store.Tx) error {
			return addLink(ctx, tx, groupID, id, owners)
		}); err != nil {
			return err
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	case len(rest) == 2 && rest[1] == "$ref" && is(http.MethodDelete, c):
		id := strings.ToLower(rest[0])
		if err := s.updateGroupLinks(c, groupID, func(ctx context.Context, tx store.Tx) error {
			var err error
			if owners {
				err = tx.RemoveGroupOwner(ctx, groupID, id)
			} else {
				err = tx.RemoveGroupMember(ctx, groupID, id)
			}
			if errors.Is(err, store.ErrNotFound) {
				return notFound(id)
			}
			return err
		}); err != nil {
			return err
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s' with method %s.", clip(c.r.URL.Path), clip(c.r.Method))
}

// updateGroupLinks runs a membership change for a Groups Administrator
// (or a role above it) or an owner of the group.
func (s *Service) updateGroupLinks(c *call, groupID string, fn func(ctx context.Context, tx store.Tx) error) error {
	ctx := c.r.Context()
	rev, err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := findGroup(ctx, tx, groupID); err != nil {
			return err
		}
		ok, err := directory.Can(ctx, tx, c.caller.ObjectID, directory.ManageGroups)
		if err != nil {
			return err
		}
		if !ok {
			owners, err := tx.ListGroupOwners(ctx, groupID)
			if err != nil {
				return err
			}
			for _, o := range owners {
				ok = ok || strings.EqualFold(o, c.caller.ObjectID)
			}
		}
		if !ok {
			return errDenied
		}
		return fn(ctx, tx)
	})
	if err != nil {
		return err
	}
	return s.cfg.WaitFor(ctx, rev)
}

// principalObjects shows the principals with these IDs that exist.
func (s *Service) principalObjects(ctx context.Context, tx store.Tx, ids []string) ([]object, error) {
	objs := []object{}
	for _, id := range ids {
		p, err := tx.GetPrincipal(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var creds []store.Credential
		if p.Kind == store.PrincipalServicePrincipal {
			if creds, err = tx.ListCredentials(ctx, p.ObjectID); err != nil {
				return nil, err
			}
		}
		objs = append(objs, s.principalObject(p, creds))
	}
	return objs, nil
}
