// Package directoryapi serves keyless's own administration routes through
// the ARM front door, so they are authenticated, authorized and audited like
// every other call: service principals and groups (the role Microsoft Graph
// plays in Azure) and signing-key rotation. It holds no logic of its own beyond the
// wire shape; the directory and token packages do the work.
package directoryapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
)

// APIVersion is the version of the keyless administration API.
const APIVersion = "2025-01-01"

// Actions the routes require, at the root scope "/". Owner holds them (and
// so does any role granting "*" at "/").
const (
	ActionSPRead   = "Keyless.Directory/servicePrincipals/read"
	ActionSPWrite  = "Keyless.Directory/servicePrincipals/write"
	ActionSPDelete = "Keyless.Directory/servicePrincipals/delete"
	ActionRotate   = "Keyless.Security/signingKeys/rotate/action"
)

// Config wires the routes.
type Config struct {
	Store     store.Store
	Keyring   *keyring.Keyring
	Directory *directory.Directory
	TenantID  string
	// WaitFor makes a write visible to this replica's indexes before the
	// response, so a deleted principal is refused from that moment.
	WaitFor func(ctx context.Context, rev int64) error
}

// Register adds the routes to the front door.
func Register(s *arm.Server, cfg Config) {
	h := handlers{cfg}
	v := arm.VersionPolicy{Versions: []string{APIVersion}}
	const sps = "/providers/Keyless.Directory/servicePrincipals"
	for _, r := range []arm.Route{
		{Name: "ServicePrincipals_Create", Methods: []string{http.MethodPost}, Pattern: sps, APIVersions: v,
			Action: ActionSPWrite, Scope: "/", Sample: sps, Handler: h.create},
		{Name: "ServicePrincipals_List", Methods: []string{http.MethodGet}, Pattern: sps, APIVersions: v,
			Action: ActionSPRead, Scope: "/", Sample: sps, Handler: h.list},
		{Name: "ServicePrincipals_Get", Methods: []string{http.MethodGet}, Pattern: sps + "/{objectId}", APIVersions: v,
			Action: ActionSPRead, Scope: "/", Sample: sps + "/00000000-0000-0000-0000-000000000001", Handler: h.get},
		{Name: "ServicePrincipals_Delete", Methods: []string{http.MethodDelete}, Pattern: sps + "/{objectId}", APIVersions: v,
			Action: ActionSPDelete, Scope: "/", Sample: sps + "/00000000-0000-0000-0000-000000000001", Handler: h.delete},
		{Name: "ServicePrincipals_AddPassword", Methods: []string{http.MethodPost}, Pattern: sps + "/{objectId}/addPassword", APIVersions: v,
			Action: ActionSPWrite, Scope: "/", Sample: sps + "/00000000-0000-0000-0000-000000000001/addPassword", Handler: h.addPassword},
		{Name: "SigningKeys_Rotate", Methods: []string{http.MethodPost}, Pattern: "/providers/Keyless.Security/signingKeys/rotate", APIVersions: v,
			Action: ActionRotate, Scope: "/", Sample: "/providers/Keyless.Security/signingKeys/rotate", Handler: h.rotate},
	} {
		s.Handle(r)
	}
	registerGroups(s, h, v)
}

type handlers struct{ cfg Config }

// createRequest is the body of ServicePrincipals_Create.
type createRequest struct {
	DisplayName string `json:"displayName"`
	// Certificates are base64 (standard) DER certificates, public part only.
	Certificates []string `json:"certificates,omitempty"`
	// SecretLifetimeDays bounds a generated secret (default 730).
	SecretLifetimeDays int `json:"secretLifetimeDays,omitempty"`
}

// ServicePrincipal is the wire shape of a service principal.
type ServicePrincipal struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Properties SPProperty `json:"properties"`
}

// SPProperty holds a service principal's fields; Password appears once,
// in the response that created it.
type SPProperty struct {
	AppID       string       `json:"appId"`
	DisplayName string       `json:"displayName"`
	ObjectID    string       `json:"objectId"`
	Tenant      string       `json:"tenant"`
	Password    string       `json:"password,omitempty"`
	Credentials []Credential `json:"credentials"`
	CreatedAt   time.Time    `json:"createdDateTime"`
}

// Credential describes a secret (by hint) or a certificate (by thumbprint).
type Credential struct {
	ID         string    `json:"keyId"`
	Type       string    `json:"type"`
	Hint       string    `json:"hint,omitempty"`
	Thumbprint string    `json:"thumbprint,omitempty"`
	StartDate  time.Time `json:"startDateTime"`
	EndDate    time.Time `json:"endDateTime,omitzero"`
}

func (h handlers) create(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var req createRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	var certs []*x509.Certificate
	for i, b64 := range req.Certificates {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "certificates", "certificates[%d] is not standard base64 DER.", i)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "certificates", "certificates[%d] is not an X.509 certificate: %v.", i, err)
		}
		certs = append(certs, cert)
	}
	if req.SecretLifetimeDays < 0 || req.SecretLifetimeDays > 3650 {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "secretLifetimeDays", "secretLifetimeDays must be between 1 and 3650.")
	}
	created, err := directory.CreateServicePrincipal(r.Context(), h.cfg.Store, h.cfg.Keyring, directory.NewServicePrincipal{
		DisplayName: req.DisplayName, Certificates: certs,
		SecretLifetime: time.Duration(req.SecretLifetimeDays) * 24 * time.Hour, CreatedBy: c.Caller.ObjectID,
	})
	if errors.Is(err, directory.ErrInvalidRequest) {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "displayName", "%s", strings.TrimPrefix(err.Error(), "directory: invalid request: "))
	}
	if err != nil {
		return err
	}
	if err := h.cfg.WaitFor(r.Context(), created.Revision); err != nil {
		return err
	}
	e, _ := h.cfg.Directory.ByObjectID(created.Principal.ObjectID)
	sp := h.wire(e)
	sp.Properties.Password = created.Secret
	arm.WriteJSON(w, http.StatusCreated, sp)
	return nil
}

func (h handlers) list(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var out []ServicePrincipal
	err := h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		ps, err := tx.ListPrincipals(r.Context(), store.PrincipalFilter{Kind: store.PrincipalServicePrincipal})
		if err != nil {
			return err
		}
		for _, p := range ps {
			creds, err := tx.ListCredentials(r.Context(), p.ObjectID)
			if err != nil {
				return err
			}
			out = append(out, h.wire(directory.Entry{Principal: p, Credentials: creds}))
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": nonNil(out)})
	return nil
}

func (h handlers) get(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	e, ok := h.cfg.Directory.ByObjectID(c.Params["objectId"])
	if !ok || e.Principal.Kind != store.PrincipalServicePrincipal {
		return h.notFound(c)
	}
	arm.WriteJSON(w, http.StatusOK, h.wire(e))
	return nil
}

func (h handlers) delete(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	id := c.Params["objectId"]
	if id == c.Caller.ObjectID {
		return arm.Errorf(http.StatusConflict, "CannotDeleteSelf", "", "A service principal cannot delete itself; use another administrator.")
	}
	rev, err := h.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		p, err := tx.GetPrincipal(r.Context(), id)
		if err != nil {
			return err
		}
		if p.Kind != store.PrincipalServicePrincipal {
			return store.ErrNotFound
		}
		return directory.DeletePrincipal(r.Context(), tx, id)
	})
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.cfg.WaitFor(r.Context(), rev); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h handlers) addPassword(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var req struct {
		LifetimeDays int `json:"lifetimeDays,omitempty"`
	}
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	secret, rev, err := directory.AddSecret(r.Context(), h.cfg.Store, h.cfg.Keyring, c.Params["objectId"], time.Duration(req.LifetimeDays)*24*time.Hour)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, directory.ErrNotPrincipal) {
		return h.notFound(c)
	}
	if err != nil {
		return err
	}
	if err := h.cfg.WaitFor(r.Context(), rev); err != nil {
		return err
	}
	e, _ := h.cfg.Directory.ByObjectID(c.Params["objectId"])
	sp := h.wire(e)
	sp.Properties.Password = secret
	arm.WriteJSON(w, http.StatusOK, sp)
	return nil
}

func (h handlers) rotate(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	kid, rev, err := token.Rotate(r.Context(), h.cfg.Store, h.cfg.Keyring)
	if err != nil {
		return err
	}
	if err := h.cfg.WaitFor(r.Context(), rev); err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]string{"kid": kid, "activatedAt": time.Now().UTC().Format(time.RFC3339)})
	return nil
}

func (h handlers) notFound(c *arm.Call) error {
	return arm.Errorf(http.StatusNotFound, "PrincipalNotFound", "", "Service principal '%s' does not exist in the directory.", c.Params["objectId"])
}

func (h handlers) wire(e directory.Entry) ServicePrincipal {
	p := e.Principal
	sp := ServicePrincipal{
		ID: "/providers/Keyless.Directory/servicePrincipals/" + p.ObjectID, Name: p.ObjectID,
		Type: "Keyless.Directory/servicePrincipals",
		Properties: SPProperty{AppID: p.AppID, DisplayName: p.DisplayName, ObjectID: p.ObjectID,
			Tenant: h.cfg.TenantID, Credentials: []Credential{}, CreatedAt: p.CreatedAt},
	}
	for _, cr := range e.Credentials {
		wc := Credential{ID: cr.ID, Type: "Password", Hint: cr.Hint, StartDate: cr.NotBefore, EndDate: cr.NotAfter}
		if cr.Kind == store.CredentialCertificate {
			wc.Type, wc.Hint = "AsymmetricX509Cert", ""
			wc.Thumbprint = strings.ToUpper(fmt.Sprintf("%x", cr.ThumbprintSHA1))
		}
		sp.Properties.Credentials = append(sp.Properties.Credentials, wc)
	}
	return sp
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
