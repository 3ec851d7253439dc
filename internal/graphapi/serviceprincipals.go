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

var servicePrincipalDeclared = declaredOf((&Service{}).servicePrincipalObject(store.Principal{Kind: store.PrincipalUserAssigned}, nil))

// errManagedIdentity refuses writes to a managed identity's service
// principal: it belongs to its resource, which ARM changes.
var errManagedIdentity = badRequest("The service principal of a managed identity is read-only; change the identity through its resource in Azure Resource Manager.")

func (s *Service) servicePrincipals(c *call) error {
	if len(c.segs) == 1 && !strings.Contains(c.segs[0], "(") {
		switch {
		case is(http.MethodGet, c):
			q, err := parseQuery(c, "servicePrincipal", servicePrincipalDeclared)
			if err != nil {
				return err
			}
			objs, err := s.servicePrincipalObjects(c)
			if err != nil {
				return err
			}
			s.writeCollection(c, "servicePrincipals", q, objs)
			return nil
		case is(http.MethodPost, c):
			return s.createServicePrincipal(c)
		}
		return methodNotAllowed(c)
	}
	if len(c.segs) == 2 && c.segs[1] == "$count" {
		q, err := parseQuery(c, "servicePrincipal", servicePrincipalDeclared)
		if err != nil {
			return err
		}
		objs, err := s.servicePrincipalObjects(c)
		if err != nil {
			return err
		}
		return writeCount(c, q, objs)
	}
	keyProp, id, rest, ok := itemPath(c.segs)
	if !ok || (keyProp != "" && !strings.EqualFold(keyProp, "appId")) {
		return badRequest("Invalid key for servicePrincipals: use the object ID or appId='{appId}'.")
	}
	byAppID := keyProp != ""
	if len(rest) == 0 {
		switch {
		case is(http.MethodGet, c):
			var o object
			if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
				p, creds, err := s.findServicePrincipal(ctx, tx, id, byAppID)
				o = s.servicePrincipalObject(p, creds)
				return err
			}); err != nil {
				return err
			}
			writeJSON(c.w, http.StatusOK, s.entity("servicePrincipals", o))
			return nil
		case is(http.MethodDelete, c):
			return s.deleteServicePrincipal(c, id, byAppID)
		}
		return methodNotAllowed(c)
	}
	switch action(rest[0]) {
	case "addpassword":
		return s.postOnly(c, len(rest) == 1, func() error { return s.addServicePrincipalPassword(c, id, byAppID) })
	case "removepassword":
		return s.postOnly(c, len(rest) == 1, func() error { return s.removeServicePrincipalPassword(c, id, byAppID) })
	case "checkmembergroups", "getmembergroups", "getmemberobjects", "checkmemberobjects":
		return s.postOnly(c, len(rest) == 1, func() error {
			return s.withObjectID(c, id, byAppID, func(objectID string) error { return s.memberGroups(c, objectID, action(rest[0])) })
		})
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(rest[0]))
}

// withObjectID resolves appId='x' to the service principal's object ID.
func (s *Service) withObjectID(c *call, id string, byAppID bool, fn func(objectID string) error) error {
	if !byAppID {
		return fn(id)
	}
	e, ok := s.cfg.Directory.ByAppID(id)
	if !ok {
		return notFound(id)
	}
	return fn(e.Principal.ObjectID)
}

func (s *Service) findServicePrincipal(ctx context.Context, tx store.Tx, id string, byAppID bool) (store.Principal, []store.Credential, error) {
	var p store.Principal
	var err error
	if byAppID {
		p, err = tx.GetPrincipalByAppID(ctx, id)
	} else {
		p, err = tx.GetPrincipal(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !isServicePrincipal(p)) {
		return p, nil, notFound(id)
	}
	if err != nil {
		return p, nil, err
	}
	var creds []store.Credential
	if p.Kind == store.PrincipalServicePrincipal {
		creds, err = tx.ListCredentials(ctx, p.ObjectID)
	}
	return p, creds, err
}

func (s *Service) servicePrincipalObjects(c *call) ([]object, error) {
	var objs []object
	err := s.view(c, func(ctx context.Context, tx store.Tx) error {
		ps, err := tx.ListPrincipals(ctx, store.PrincipalFilter{})
		if err != nil {
			return err
		}
		for _, p := range ps {
			if !isServicePrincipal(p) {
				continue
			}
			var creds []store.Credential
			if p.Kind == store.PrincipalServicePrincipal {
				if creds, err = tx.ListCredentials(ctx, p.ObjectID); err != nil {
					return err
				}
			}
			objs = append(objs, s.servicePrincipalObject(p, creds))
		}
		return nil
	})
	return objs, err
}

// servicePrincipalWritable are the properties a create may carry; keyless
// keeps none of them but appId (the service principal mirrors its
// application), and refuses the rest so that nothing is silently lost.
var servicePrincipalWritable = map[string]bool{"appId": true, "accountEnabled": true, "tags": true,
	"appRoleAssignmentRequired": true, "servicePrincipalType": true}

// createServicePrincipal makes the service principal of an application of
// this tenant: its own object ID, the application's app ID and name.
func (s *Service) createServicePrincipal(c *call) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	for k := range body {
		if !servicePrincipalWritable[k] && !strings.HasPrefix(k, "@odata.") {
			return badRequest("Property '%s' cannot be written on a new servicePrincipal by keyless.", clip(k))
		}
	}
	var appID string
	if _, err := member(body, "appId", &appID); err != nil {
		return err
	}
	var enabled *bool
	if _, err := member(body, "accountEnabled", &enabled); err != nil {
		return err
	}
	if enabled != nil && !*enabled {
		return badRequest("keyless service principals are always enabled: accountEnabled cannot be false.")
	}
	if appID == "" {
		return badRequest("Property 'appId' is required to create a servicePrincipal.")
	}
	p := store.Principal{ObjectID: uuid.NewString(), Kind: store.PrincipalServicePrincipal, CreatedAt: s.cfg.Now().UTC()}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := tx.GetApplicationByAppID(ctx, appID)
		if errors.Is(err, store.ErrNotFound) {
			return badRequest("The appId '%s' of the service principal does not reference a valid application object.", clip(appID))
		}
		if err != nil {
			return err
		}
		p.AppID, p.DisplayName = a.AppID, a.DisplayName
		if err := tx.CreatePrincipal(ctx, p); errors.Is(err, store.ErrAlreadyExists) {
			return errorf(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "The service principal for application '%s' already exists.", clip(appID))
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.w.Header().Set("Location", s.graphURL("servicePrincipals/"+p.ObjectID))
	writeJSON(c.w, http.StatusCreated, s.entity("servicePrincipals", s.servicePrincipalObject(p, nil)))
	return nil
}

func (s *Service) deleteServicePrincipal(c *call, id string, byAppID bool) error {
	err := s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		p, _, err := s.findServicePrincipal(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if isManagedIdentity(p) {
			return errManagedIdentity
		}
		if p.ObjectID == c.caller.ObjectID {
			return badRequest("A service principal cannot delete itself; use another administrator.")
		}
		return directory.DeletePrincipal(ctx, tx, p.ObjectID)
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) addServicePrincipalPassword(c *call, id string, byAppID bool) error {
	cred, secret, err := s.readPasswordCredential(c, "")
	if err != nil {
		return err
	}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		p, _, err := s.findServicePrincipal(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if isManagedIdentity(p) {
			return errManagedIdentity
		}
		cred.PrincipalID = p.ObjectID
		return tx.CreateCredential(ctx, cred)
	})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, secretAnswer(cred, secret))
	return nil
}

func (s *Service) removeServicePrincipalPassword(c *call, id string, byAppID bool) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	var keyID string
	if _, err := member(body, "keyId", &keyID); err != nil {
		return err
	}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		p, creds, err := s.findServicePrincipal(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if isManagedIdentity(p) {
			return errManagedIdentity
		}
		for _, cr := range creds {
			if cr.Kind == store.CredentialSecret && strings.EqualFold(cr.ID, keyID) {
				return tx.DeleteCredential(ctx, p.ObjectID, cr.ID)
			}
		}
		return badRequest("No password with keyId '%s' exists on the service principal.", clip(keyID))
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
