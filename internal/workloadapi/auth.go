package workloadapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/wiretext"
	"github.com/keyless-io/keyless/internal/workload"
)

// armAudiences are the audiences ARM accepts (reference §7.3); the
// operator endpoints are ARM-style calls and accept the same tokens.
var armAudiences = []string{
	"https://management.core.windows.net/", "https://management.core.windows.net",
	"https://management.azure.com/", "https://management.azure.com",
}

// caller is an authenticated operator.
type caller struct {
	ObjectID string
	AppID    string
}

// authenticateBearer verifies an operator's bearer token.
func (a *API) authenticateBearer(r *http.Request) (caller, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return caller{}, &apiError{http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or is not a Bearer token."}
	}
	c, err := a.cfg.Verifier.Verify(strings.TrimSpace(raw))
	switch {
	case errors.Is(err, token.ErrExpired):
		return caller{}, &apiError{http.StatusUnauthorized, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."}
	case err != nil:
		return caller{}, &apiError{http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid."}
	}
	audOK := false
	for _, aud := range armAudiences {
		audOK = audOK || c.Audience == aud
	}
	if !audOK {
		return caller{}, &apiError{http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
			"The access token has been obtained for wrong audience or resource '" + c.Audience + "'. It should exactly match with one of the allowed audiences '" + strings.Join(armAudiences, "','") + "'."}
	}
	if !strings.EqualFold(c.TenantID, a.cfg.TenantID) {
		return caller{}, &apiError{http.StatusUnauthorized, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer."}
	}
	return caller{ObjectID: c.ObjectID, AppID: c.AppID}, nil
}

// resourceAction is "{namespace}/{type}/{verb}" for an ARM resource ID, e.g.
// Microsoft.Web/sites/write.
func resourceAction(resourceID, verb string) (string, error) {
	rid, err := arm.ParseResourceID(resourceID)
	if err != nil || rid.ResourceType.Namespace == "" || len(rid.ResourceType.Types) == 0 || rid.Name == "" ||
		strings.EqualFold(rid.ResourceType.Namespace, "Microsoft.Resources") {
		return "", &apiError{http.StatusBadRequest, "InvalidResourceId", fmt.Sprintf("'%s' is not the ID of a resource: expected /subscriptions/{id}/resourceGroups/{group}/providers/{namespace}/{type}/{name}.", resourceID)}
	}
	return rid.ResourceType.String() + "/" + verb, nil
}

// authorize checks that the caller may perform verb on the resource.
func (a *API) authorize(c caller, resourceID, verb string) error {
	action, err := resourceAction(resourceID, verb)
	if err != nil {
		return err
	}
	if a.cfg.Authorizer == nil || !a.cfg.Authorizer.Allowed(c.ObjectID, action, resourceID) {
		name := c.AppID
		if name == "" {
			name = c.ObjectID
		}
		return &apiError{http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
			"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
			name, c.ObjectID, action, resourceID)}
	}
	return nil
}

// grantCredentials reads a launcher's grant ID and secret from HTTP Basic
// authentication (user = grant ID, password = secret).
func grantCredentials(r *http.Request) (workload.GrantProof, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok || id == "" || secret == "" {
		return workload.GrantProof{}, false
	}
	return workload.GrantProof{GrantID: id, Secret: secret}, true
}

// agentCredentials reads the agent from the verified client certificate.
// The TLS listener verifies the chain against the installation's CA
// (tls.VerifyClientCertIfGiven), so only the binding is read here.
func agentCredentials(r *http.Request) (workload.AgentProof, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return workload.AgentProof{}, false
	}
	id, serial, ok := workload.AgentFromCertificate(r.TLS.PeerCertificates[0])
	return workload.AgentProof{AgentID: id, Serial: serial}, ok
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request content is larger than the server accepts."}
	}
	if err != nil {
		return &apiError{http.StatusBadRequest, "InvalidRequestContent", "The request content could not be read."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: " + err.Error()}
	}
	if member, ok := wiretext.CheckJSON(body); !ok {
		return &apiError{http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: the member '" + member + "' holds a NUL character (\\u0000), which is not allowed."}
	}
	return nil
}
