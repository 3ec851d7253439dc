package workloadapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/keyless-io/keyless/internal/workload"
)

// oauthStatus maps a workload error to the status and OAuth error code of
// the token endpoints. Identity selection failures are 400
// invalid_request, the answer IMDS gives for an identity that is not
// assigned (reference §2.3.3); azidentity turns it into "the requested
// identity isn't assigned to this resource".
func oauthStatus(err error) (int, string) {
	switch workload.CodeOf(err) {
	case workload.CodeInvalidRequest, workload.CodeResourceNotFound,
		workload.CodeIdentityNotFound, workload.CodeAmbiguousIdentity:
		return http.StatusBadRequest, "invalid_request"
	case workload.CodeUnauthenticated:
		return http.StatusUnauthorized, "invalid_client"
	}
	if errors.Is(err, context.Canceled) {
		return 499, "client_closed_request"
	}
	return http.StatusInternalServerError, "unknown"
}

func (a *API) writeOAuthError(w http.ResponseWriter, err error) {
	status, code := oauthStatus(err)
	msg := err.Error()
	if status >= 500 {
		a.cfg.Logger.Error("workload endpoint failed", "err", err)
		msg = "The server could not issue a token. Try again later."
	}
	writeOAuth(w, status, code, msg)
}

func writeOAuth(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="keyless"`)
	}
	writeJSON(w, status, oauthError{Error: code, ErrorDescription: description})
}

func writeTooMany(w http.ResponseWriter, wait int) {
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	writeOAuth(w, http.StatusTooManyRequests, "too_many_requests", "Too many token requests; retry after "+strconv.Itoa(wait)+" s.")
}

// armStatus maps an error of an operator endpoint to an ARM error.
func (a *API) writeARMError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, "InternalServerError"
	msg := err.Error()
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status, code = ae.status, ae.code
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+ae.code+`"`)
		}
	case workload.CodeOf(err) == workload.CodeInvalidRequest:
		status, code = http.StatusBadRequest, "InvalidRequestContent"
	case workload.CodeOf(err) == workload.CodeResourceNotFound:
		status, code = http.StatusNotFound, "ResourceNotFound"
	case workload.CodeOf(err) == workload.CodeUnauthenticated:
		status, code = http.StatusUnauthorized, "AuthenticationFailed"
	default:
		a.cfg.Logger.Error("workload operator endpoint failed", "err", err)
		msg = "The server encountered an internal error. Please retry the request."
	}
	var body armError
	body.Error.Code, body.Error.Message = code, msg
	writeJSON(w, status, body)
}

// apiError is a request failure decided by this package (authentication,
// authorization, malformed input).
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
