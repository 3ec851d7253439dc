package graphapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
)

var (
	directoryRoleDeclared  = declaredOf(directoryRoleObject(directory.DirectoryRole{}))
	roleDefinitionDeclared = declaredOf(roleDefinitionObject(directory.DirectoryRole{}))
	roleAssignmentDeclared = declaredOf(roleAssignmentObject(store.DirectoryRoleAssignment{}))
)

// directoryRoles serves /directoryRoles: every role of the catalogue,
// activated, and its members, granted and revoked with $ref.
func (s *Service) directoryRoles(c *call) error {
	if len(c.segs) == 1 && !strings.Contains(c.segs[0], "(") {
		if !is(http.MethodGet, c) {
			return badRequest("keyless's directory roles are built in: every role of the catalogue is activated already.")
		}
		q, err := parseQuery(c, "directoryRole", directoryRoleDeclared)
		if err != nil {
			return err
		}
		var objs []object
		for _, r := range directory.DirectoryRoles {
			objs = append(objs, directoryRoleObject(r))
		}
		s.writeCollection(c, "directoryRoles", q, objs)
		return nil
	}
	keyProp, id, rest, ok := itemPath(c.segs)
	if !ok || keyProp != "" && !strings.EqualFold(keyProp, "roleTemplateId") {
		return badRequest("Invalid key for directoryRoles: use the role's ID or roleTemplateId='{id}'.")
	}
	role, found := directory.DirectoryRoleByID(id)
	if !found {
		return notFound(id)
	}
	switch {
	case len(rest) == 0 && is(http.MethodGet, c):
		writeJSON(c.w, http.StatusOK, s.entity("directoryRoles", directoryRoleObject(role)))
		return nil
	case len(rest) == 0:
		return methodNotAllowed(c)
	case action(rest[0]) != "members":
		return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(rest[0]))
	case len(rest) == 1 && is(http.MethodGet, c):
		q, err := parseQuery(c, "directoryObject", directoryObjectDeclared)
		if err != nil {
			return err
		}
		var objs []object
		if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
			as, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{RoleDefinitionID: role.TemplateID})
			if err != nil {
				return err
			}
			var ids []string
			for _, a := range as {
				ids = append(ids, a.PrincipalID)
			}
			objs, err = s.principalObjects(ctx, tx, ids)
			return err
		}); err != nil {
			return err
		}
		s.writeCollection(c, "directoryObjects", q, objs)
		return nil
	case len(rest) == 2 && rest[1] == "$ref" && is(http.MethodPost, c):
		body, err := decodeBody(c)
		if err != nil {
			return err
		}
		var ref string
		if _, err := member(body, "@odata.id", &ref); err != nil {
			return err
		}
		principalID := refID(ref)
		if principalID == "" {
			return badRequest("Invalid URL format specified in @odata.id: '%s'.", clip(ref))
		}
		if _, err := s.grantRole(c, role.TemplateID, principalID, "/"); err != nil {
			return err
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	case len(rest) == 3 && rest[2] == "$ref" && is(http.MethodDelete, c):
		principalID := rest[1]
		err := s.update(c, directory.ManageRoles, func(ctx context.Context, tx store.Tx) error {
			as, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{RoleDefinitionID: role.TemplateID, PrincipalID: strings.ToLower(principalID)})
			if err != nil {
				return err
			}
			if len(as) == 0 {
				return notFound(principalID)
			}
			for _, a := range as {
				if err := revokeRole(ctx, tx, a); err != nil {
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
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s' with method %s.", clip(c.r.URL.Path), clip(c.r.Method))
}

// grantRole assigns a directory role; only the whole directory ("/") is a
// scope keyless has.
func (s *Service) grantRole(c *call, roleID, principalID, scope string) (store.DirectoryRoleAssignment, error) {
	a := store.DirectoryRoleAssignment{ID: uuid.NewString(), RoleDefinitionID: roleID, PrincipalID: principalID,
		DirectoryScopeID: scope, CreatedAt: s.cfg.Now().UTC()}
	if _, ok := directory.DirectoryRoleByID(roleID); !ok {
		return a, badRequest("The role definition '%s' does not exist.", clip(roleID))
	}
	if scope != "/" {
		return a, badRequest("keyless assigns directory roles at the directory scope '/' only.")
	}
	err := s.update(c, directory.ManageRoles, func(ctx context.Context, tx store.Tx) error {
		p, err := tx.GetPrincipal(ctx, principalID)
		if errors.Is(err, store.ErrNotFound) {
			return badRequest("The principal '%s' does not exist in the directory.", clip(principalID))
		}
		if err != nil {
			return err
		}
		a.PrincipalID = p.ObjectID
		err = tx.CreateDirectoryRoleAssignment(ctx, a)
		if errors.Is(err, store.ErrAlreadyExists) {
			return badRequest("One or more added object references already exist for the following modified properties: 'members'.")
		}
		return err
	})
	return a, err
}

// revokeRole deletes an assignment, but never the directory's last Global
// Administrator: with none, nobody could grant roles again.
func revokeRole(ctx context.Context, tx store.Tx, a store.DirectoryRoleAssignment) error {
	if strings.EqualFold(a.RoleDefinitionID, directory.GlobalAdministratorRoleID) {
		all, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{RoleDefinitionID: directory.GlobalAdministratorRoleID})
		if err != nil {
			return err
		}
		if len(all) <= 1 {
			return badRequest("The directory's last Global Administrator cannot be removed; grant the role to another principal first.")
		}
	}
	return tx.DeleteDirectoryRoleAssignment(ctx, a.ID)
}

// roleManagement serves /roleManagement/directory/roleDefinitions and
// /roleAssignments (the unified role model the SDKs prefer).
func (s *Service) roleManagement(c *call) error {
	if len(c.segs) < 3 || !strings.EqualFold(c.segs[1], "directory") {
		return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s'; keyless has roleManagement/directory.", clip(c.r.URL.Path))
	}
	rest := c.segs[3:]
	switch action(c.segs[2]) {
	case "roledefinitions":
		if !is(http.MethodGet, c) {
			return badRequest("keyless's directory roles are built in; custom directory roles cannot be created.")
		}
		if len(rest) == 0 {
			q, err := parseQuery(c, "unifiedRoleDefinition", roleDefinitionDeclared)
			if err != nil {
				return err
			}
			var objs []object
			for _, r := range directory.DirectoryRoles {
				objs = append(objs, roleDefinitionObject(r))
			}
			s.writeCollection(c, "roleManagement/directory/roleDefinitions", q, objs)
			return nil
		}
		role, ok := directory.DirectoryRoleByID(rest[0])
		if !ok || len(rest) > 1 {
			return notFound(rest[0])
		}
		writeJSON(c.w, http.StatusOK, s.entity("roleManagement/directory/roleDefinitions", roleDefinitionObject(role)))
		return nil
	case "roleassignments":
		return s.roleAssignments(c, rest)
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(c.segs[2]))
}

func (s *Service) roleAssignments(c *call, rest []string) error {
	const set = "roleManagement/directory/roleAssignments"
	switch {
	case len(rest) == 0 && is(http.MethodGet, c):
		q, err := parseQuery(c, "unifiedRoleAssignment", roleAssignmentDeclared)
		if err != nil {
			return err
		}
		var objs []object
		if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
			as, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{})
			for _, a := range as {
				objs = append(objs, roleAssignmentObject(a))
			}
			return err
		}); err != nil {
			return err
		}
		s.writeCollection(c, set, q, objs)
		return nil
	case len(rest) == 0 && is(http.MethodPost, c):
		body, err := decodeBody(c)
		if err != nil {
			return err
		}
		var principalID, roleID, scope string
		for _, m := range []struct {
			name string
			dst  *string
		}{{"principalId", &principalID}, {"roleDefinitionId", &roleID}, {"directoryScopeId", &scope}} {
			if _, err := member(body, m.name, m.dst); err != nil {
				return err
			}
		}
		if principalID == "" || roleID == "" {
			return badRequest("Properties 'principalId' and 'roleDefinitionId' are required.")
		}
		if scope == "" {
			scope = "/"
		}
		a, err := s.grantRole(c, roleID, principalID, scope)
		if err != nil {
			return err
		}
		c.w.Header().Set("Location", s.graphURL(set+"/"+a.ID))
		writeJSON(c.w, http.StatusCreated, s.entity(set, roleAssignmentObject(a)))
		return nil
	case len(rest) == 1 && is(http.MethodGet, c):
		var a store.DirectoryRoleAssignment
		if err := s.view(c, func(ctx context.Context, tx store.Tx) (err error) {
			a, err = tx.GetDirectoryRoleAssignment(ctx, rest[0])
			if errors.Is(err, store.ErrNotFound) {
				return notFound(rest[0])
			}
			return err
		}); err != nil {
			return err
		}
		writeJSON(c.w, http.StatusOK, s.entity(set, roleAssignmentObject(a)))
		return nil
	case len(rest) == 1 && is(http.MethodDelete, c):
		err := s.update(c, directory.ManageRoles, func(ctx context.Context, tx store.Tx) error {
			a, err := tx.GetDirectoryRoleAssignment(ctx, rest[0])
			if errors.Is(err, store.ErrNotFound) {
				return notFound(rest[0])
			}
			if err != nil {
				return err
			}
			return revokeRole(ctx, tx, a)
		})
		if err != nil {
			return err
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	case len(rest) <= 1:
		return methodNotAllowed(c)
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s'.", clip(c.r.URL.Path))
}
