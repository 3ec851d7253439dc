package workloadapi

import (
	"net/http"
	"strconv"

	"github.com/keyless-io/keyless/internal/ratelimit"
	"github.com/keyless-io/keyless/internal/workload"
)

// grantToken serves a launcher's token request, authenticated with the
// grant's secret. The query (or form) carries resource and an optional
// selector, as the App Service request the launcher forwards does.
func (a *API) grantToken(w http.ResponseWriter, r *http.Request) {
	proof, ok := grantCredentials(r)
	if !ok {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Authenticate with the launch grant: HTTP Basic with the grant ID and its secret.")
		return
	}
	if ok, wait := a.grantLimit.Allow(proof.GrantID, a.cfg.Now()); !ok {
		writeTooMany(w, ratelimit.RetryAfterSeconds(wait))
		return
	}
	proof.Keyring = a.cfg.Grants.Keyring
	a.mint(w, r, "launch", proof.GrantID, proof)
}

// agentToken serves an agent's token request over mutual TLS.
func (a *API) agentToken(w http.ResponseWriter, r *http.Request) {
	proof, ok := agentCredentials(r)
	if !ok {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Present the agent's client certificate.")
		return
	}
	if ok, wait := a.agentLimit.Allow(proof.AgentID, a.cfg.Now()); !ok {
		writeTooMany(w, ratelimit.RetryAfterSeconds(wait))
		return
	}
	a.mint(w, r, "agent", proof.AgentID, proof)
}

func (a *API) mint(w http.ResponseWriter, r *http.Request, via, callerID string, proof workload.Proof) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			writeOAuth(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
			return
		}
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = r.Form
	}
	sel, err := workload.ParseSelector(params)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	audience := params.Get("resource")
	issued, err := a.cfg.Minter.Mint(r.Context(), proof, sel, audience)
	if err != nil {
		a.cfg.Audit.Info("managed identity token refused", "via", via, "caller", callerID, "selector", sel.Key(), "aud", audience, "error", err.Error())
		a.writeOAuthError(w, err)
		return
	}
	a.cfg.Audit.Info("managed identity token issued", "via", via, "caller", callerID, "resource", issued.ResourceID,
		"oid", issued.Identity.ObjectID, "appid", issued.Identity.ClientID, "mirid", issued.Claims.MIResourceID,
		"aud", issued.Audience, "uti", issued.Claims.UTI, "exp", issued.Claims.Expiry)
	writeJSON(w, http.StatusOK, tokenResponse(issued))
}

func tokenResponse(t workload.Issued) TokenResponse {
	now := t.NotBefore.Unix()
	life := strconv.FormatInt(t.ExpiresOn.Unix()-now, 10)
	resp := TokenResponse{
		AccessToken: t.AccessToken, ClientID: t.Identity.ClientID, ObjectID: t.Identity.ObjectID,
		ExpiresIn: life, ExtExpiresIn: life,
		ExpiresOn: strconv.FormatInt(t.ExpiresOn.Unix(), 10), NotBefore: strconv.FormatInt(now, 10),
		RefreshIn: strconv.FormatInt(int64(t.RefreshIn.Seconds()), 10),
		Resource:  t.Audience, TokenType: "Bearer",
	}
	if t.Identity.UserAssigned() {
		resp.MSIResID = t.Identity.ResourceID
	}
	return resp
}
