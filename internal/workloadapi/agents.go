package workloadapi

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/workload"
)

// createJoinToken makes a one-time agent join token. Like a launch grant it
// needs write on the resource the agent will run as.
func (a *API) createJoinToken(w http.ResponseWriter, r *http.Request) {
	c, err := a.authenticateBearer(r)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	var req CreateJoinTokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		a.writeARMError(w, err)
		return
	}
	if err := a.authorize(c, req.ResourceID, "write"); err != nil {
		a.cfg.Audit.Info("agent join token refused", "caller", c.ObjectID, "resource", req.ResourceID, "error", err.Error())
		a.writeARMError(w, err)
		return
	}
	jt, rev, err := a.cfg.Agents.CreateJoinToken(r.Context(), c.ObjectID, req.ResourceID, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	_ = a.cfg.WaitFor(r.Context(), rev)
	a.cfg.Audit.Info("agent join token created", "caller", c.ObjectID, "resource", jt.ResourceID, "expiresOn", jt.ExpiresOn)
	writeJSON(w, http.StatusCreated, JoinToken{Token: jt.Token, ExpiresOn: jt.ExpiresOn, ResourceID: jt.ResourceID})
}

// enroll consumes a join token and signs the agent's first certificate.
func (a *API) enroll(w http.ResponseWriter, r *http.Request) {
	var req EnrollRequest
	if err := decodeBody(w, r, &req); err != nil {
		a.writeARMError(w, err)
		return
	}
	csr, err := parseCSR(req.CSR)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	if req.JoinToken == "" {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "A join token is required.")
		return
	}
	e, rev, err := a.cfg.Agents.Enroll(r.Context(), req.JoinToken, csr)
	if err != nil {
		a.cfg.Audit.Info("agent enrollment refused", "error", err.Error())
		a.writeOAuthError(w, err)
		return
	}
	_ = a.cfg.WaitFor(r.Context(), rev)
	a.cfg.Audit.Info("agent enrolled", "agent", e.Agent.ID, "resource", e.Agent.ResourceID, "serial", e.Agent.CertificateSerial)
	writeJSON(w, http.StatusOK, a.enrollment(e))
}

// renew signs a new certificate for an agent authenticated by its current
// one.
func (a *API) renew(w http.ResponseWriter, r *http.Request) {
	proof, ok := agentCredentials(r)
	if !ok {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Present the agent's client certificate.")
		return
	}
	var req RenewRequest
	if err := decodeBody(w, r, &req); err != nil {
		a.writeARMError(w, err)
		return
	}
	csr, err := parseCSR(req.CSR)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	e, rev, err := a.cfg.Agents.Renew(r.Context(), proof, csr)
	if err != nil {
		a.cfg.Audit.Info("agent renewal refused", "agent", proof.AgentID, "error", err.Error())
		a.writeOAuthError(w, err)
		return
	}
	_ = a.cfg.WaitFor(r.Context(), rev)
	a.cfg.Audit.Info("agent certificate renewed", "agent", e.Agent.ID, "serial", e.Agent.CertificateSerial)
	writeJSON(w, http.StatusOK, a.enrollment(e))
}

func (a *API) enrollment(e workload.Enrolled) Enrollment {
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.Certificate.Raw})) + string(a.cfg.CAPEM)
	return Enrollment{AgentID: e.Agent.ID, ResourceID: e.Agent.ResourceID, Certificate: certPEM, ExpiresOn: e.Certificate.NotAfter.UTC()}
}

func parseCSR(s string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, &workload.Error{Code: workload.CodeInvalidRequest, Message: "csr must be a PEM CERTIFICATE REQUEST."}
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, &workload.Error{Code: workload.CodeInvalidRequest, Message: "csr is not a valid certificate request."}
	}
	return csr, nil
}

// agentEvents streams invalidation events for an agent's resource.
func (a *API) agentEvents(w http.ResponseWriter, r *http.Request) {
	proof, ok := agentCredentials(r)
	if !ok {
		writeOAuth(w, http.StatusUnauthorized, "invalid_client", "Present the agent's client certificate.")
		return
	}
	ag, err := proof.Check(r.Context(), a.cfg.Store)
	if err != nil {
		a.writeOAuthError(w, err)
		return
	}
	a.stream(w, r, subscriber{resourceID: ag.ResourceID, key: ag.ID, proof: proof})
}

// listAgents lists the agents whose resource the caller may read.
func (a *API) listAgents(w http.ResponseWriter, r *http.Request) {
	c, err := a.authenticateBearer(r)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	all, err := a.cfg.Agents.List(r.Context())
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	out := AgentList{Value: []Agent{}}
	for _, ag := range all {
		if a.authorize(c, ag.ResourceID, "read") == nil {
			out.Value = append(out.Value, agentView(ag))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getAgent(w http.ResponseWriter, r *http.Request) {
	c, err := a.authenticateBearer(r)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	ag, err := a.cfg.Agents.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		err = a.authorize(c, ag.ResourceID, "read")
	}
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, agentView(ag))
}

// revokeAgent revokes an agent; it needs write on the agent's resource,
// the permission that could have enrolled it.
func (a *API) revokeAgent(w http.ResponseWriter, r *http.Request) {
	c, err := a.authenticateBearer(r)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	ag, err := a.cfg.Agents.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		err = a.authorize(c, ag.ResourceID, "write")
	}
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	ag, rev, err := a.cfg.Agents.Revoke(r.Context(), ag.ID)
	if err != nil {
		a.writeARMError(w, err)
		return
	}
	_ = a.cfg.WaitFor(r.Context(), rev)
	a.cfg.Audit.Info("agent revoked", "caller", c.ObjectID, "agent", ag.ID, "resource", ag.ResourceID)
	writeJSON(w, http.StatusOK, agentView(ag))
}

func agentView(ag store.Agent) Agent {
	v := Agent{ID: ag.ID, ResourceID: ag.ResourceID, CertExpiresOn: ag.CertNotAfter.UTC(), CreatedAt: ag.CreatedAt.UTC(), LastSeenAt: ag.LastSeenAt.UTC(), State: "Active"}
	if !ag.RevokedAt.IsZero() {
		t := ag.RevokedAt.UTC()
		v.RevokedAt, v.State = &t, "Revoked"
	}
	if v.State == "Active" && !ag.CertNotAfter.IsZero() && time.Now().After(ag.CertNotAfter) {
		v.State = "Expired"
	}
	return v
}
