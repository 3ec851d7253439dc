package workloadapi

import (
	"net/http"
	"time"
)

// createGrant makes a launch grant for `keyless run`. It needs write on the
// resource: whoever may change the resource may run code as it.
func (a *API) createGrant(w http.ResponseWriter, r *http.Request) {
	c, err := a.authenticateBearer(r)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	var req CreateGrantRequest
	if err := decodeBody(w, r, &req); err != nil {
		a.writeARMError(w, err)
		return
	}
	if err := a.authorize(c, req.ResourceID, "write"); err != nil {
		a.cfg.Audit.Info("launch grant refused", "caller", c.ObjectID, "resource", req.ResourceID, "error", err.Error())
		a.writeARMError(w, err)
		return
	}
	g, rev, err := a.cfg.Grants.Create(r.Context(), c.ObjectID, req.ResourceID, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	_ = a.cfg.WaitFor(r.Context(), rev)
	a.cfg.Audit.Info("launch grant created", "caller", c.ObjectID, "grant", g.ID, "resource", g.ResourceID, "expiresOn", g.ExpiresOn)
	writeJSON(w, http.StatusCreated, Grant{GrantID: g.ID, Secret: g.Secret, ResourceID: g.ResourceID, ExpiresOn: g.ExpiresOn})
}

// revokeGrant deletes a grant; the launcher calls it when its child exits.
// It is authenticated with the grant itself.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request) {
	proof, ok := grantCredentials(r)
	if !ok || proof.GrantID != r.PathValue("id") {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Authenticate with the launch grant being revoked: HTTP Basic with its ID and secret.")
		return
	}
	g, err := a.cfg.Grants.Authenticate(r.Context(), proof.GrantID, proof.Secret)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	rev, err := a.cfg.Grants.Revoke(r.Context(), g.ID)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	a.grantLimit.Forget(g.ID)
	_ = a.cfg.WaitFor(r.Context(), rev)
	a.cfg.Audit.Info("launch grant revoked", "grant", g.ID, "resource", g.ResourceID)
	w.WriteHeader(http.StatusNoContent)
}

// grantEvents streams invalidation events for a launch.
func (a *API) grantEvents(w http.ResponseWriter, r *http.Request) {
	proof, ok := grantCredentials(r)
	if !ok {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Authenticate with the launch grant: HTTP Basic with the grant ID and its secret.")
		return
	}
	proof.Keyring = a.cfg.Grants.Keyring
	g, err := a.cfg.Grants.Authenticate(r.Context(), proof.GrantID, proof.Secret)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	a.stream(w, r, subscriber{resourceID: g.ResourceID, key: g.ID, proof: proof})
}
