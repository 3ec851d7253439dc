package sts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// oauthError is an Entra-shaped token endpoint error (reference §5.7).
// MSAL parses error, error_description, error_codes and correlation_id;
// azidentity shows the whole body to the user, so the description says
// what to fix.
type oauthError struct {
	status int
	code   string // OAuth error code
	aadsts int
	desc   string
}

func (e *oauthError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.desc) }

func errInvalidRequest(aadsts int, format string, a ...any) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", aadsts, fmt.Sprintf(format, a...)}
}

func errInvalidClient(aadsts int, format string, a ...any) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", aadsts, fmt.Sprintf(format, a...)}
}

type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError, errorURIBase string) {
	now := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	trace := uuid.NewString()
	corr := r.Header.Get("client-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	body := errorBody{
		Error: e.code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.aadsts, e.desc, trace, corr, now),
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     now,
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      errorURIBase + "error?code=" + strconv.Itoa(e.aadsts),
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="keyless"`)
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

// WriteInvalidRequest answers a request refused before the token service
// saw it (the server's request edge) with Entra's invalid_request body, the
// same one the token service writes.
func WriteInvalidRequest(w http.ResponseWriter, r *http.Request, baseURL string, aadsts int, description string) {
	writeOAuthError(w, r, errInvalidRequest(aadsts, "%s", description), baseURL+"/")
}
