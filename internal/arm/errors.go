package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

// Error is an ARM error response. Handlers in this and other packages return
// it for failures that are about the request itself; domain errors are
// mapped in writeError.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []*Error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code, target, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Target: target, Message: fmt.Sprintf(format, args...)}
}

var errorf = Errorf

// errorBody is the ARM error envelope (reference §7.7). azcore reads
// error.code into ResponseError.ErrorCode.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Target  *string       `json:"target"`
	Details []errorDetail `json:"details"`
}

func detailOf(e *Error) errorDetail {
	d := errorDetail{Code: e.Code, Message: e.Message, Details: []errorDetail{}}
	if e.Target != "" {
		t := e.Target
		d.Target = &t
	}
	for _, x := range e.Details {
		d.Details = append(d.Details, detailOf(x))
	}
	return d
}

// toARMError is the one place a failure becomes an HTTP status and an ARM
// error code.
func (s *Server) toARMError(c *Call, err error) *Error {
	var (
		armErr   *Error
		authErr  *AuthError
		notFound *resources.NotFoundError
		invalid  *resources.ValidationError
		conflict *resources.ConflictError
		linked   *resources.LinkedAuthorizationError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &armErr):
		return armErr
	case errors.As(err, &authErr):
		return &Error{Status: http.StatusUnauthorized, Code: authErr.Code, Message: authErr.Message}
	case errors.As(err, &notFound):
		return &Error{Status: http.StatusNotFound, Code: notFound.Code, Message: notFound.Message}
	case errors.As(err, &invalid):
		return &Error{Status: http.StatusBadRequest, Code: invalid.Code, Message: invalid.Message, Target: invalid.Target}
	case errors.As(err, &conflict):
		return &Error{Status: http.StatusConflict, Code: conflict.Code, Message: conflict.Message}
	case errors.As(err, &linked):
		return &Error{Status: http.StatusForbidden, Code: "LinkedAuthorizationFailed",
			Message: linkedAuthorizationFailedMessage(c.Caller, c.Action, linked.ResourceID, linked.Scopes)}
	case errors.As(err, &tooLarge):
		return s.tooLarge()
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: "The requested entity was not found."}
	case errors.Is(err, store.ErrInvalidText):
		return invalidContent("", "a value holds a NUL character (\\u0000) or is not valid UTF-8, which is not allowed.")
	case errors.Is(err, store.ErrAlreadyExists):
		return &Error{Status: http.StatusConflict, Code: "Conflict", Message: "The entity already exists."}
	case errors.Is(err, context.Canceled):
		// The client went away; 499 is what proxies log for this.
		return &Error{Status: 499, Code: "ClientClosedRequest", Message: "The client closed the request."}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Code: "GatewayTimeout", Message: "The operation timed out."}
	}
	s.log.Error("arm: internal error", "requestId", c.RequestID, "route", c.routeName(), "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError",
		Message: "The server encountered an internal error. Please retry the request. Request ID: " + c.RequestID + "."}
}

func (s *Server) tooLarge() *Error {
	return Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "",
		"The request content size exceeds the maximum allowed size of %d bytes.", s.maxBody)
}

// writeError writes err as an ARM error response, unless a response has
// already been started.
func (s *Server) writeError(w *responseWriter, r *http.Request, c *Call, err error) {
	e := s.toARMError(c, err)
	c.errorCode = e.Code
	if w.status != 0 {
		return
	}
	var authErr *AuthError
	if errors.As(err, &authErr) {
		w.Header().Set("WWW-Authenticate", s.wwwAuthenticate(r, authErr))
	}
	writeJSON(w, e.Status, errorBody{Error: detailOf(e)})
}

// WriteDeleted answers a DELETE as ARM does: 200 when the entity existed,
// 204 when there was nothing to delete. The SDKs accept both without
// polling.
func WriteDeleted(w http.ResponseWriter, existed bool) {
	if existed {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
}

// WriteJSON writes v as a JSON response with ARM's content type.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// ARM does not escape <, > and & in JSON; neither do we.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"InternalServerError","message":"response encoding failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// invalidContent is ARM's 400 InvalidRequestContent.
func invalidContent(target, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "InvalidRequestContent", target,
		"The request content was invalid and could not be deserialized: "+format, args...)
}

// jsonError explains a decoding failure precisely: where the syntax broke,
// or which member had the wrong JSON type.
func jsonError(body []byte, err error, prefix string) *Error {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		maxBytes *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxBytes):
		return nil
	case errors.As(err, &syntax):
		line, col := position(body, syntax.Offset)
		return invalidContent("", "'%s' at line %d, column %d.", syntax.Error(), line, col)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if prefix != "" {
			// body is only this member: its offsets would mislead.
			field = strings.TrimSuffix(prefix+"."+field, ".")
			return invalidContent(field, "the value of '%s' is a JSON %s but must be %s.",
				field, typeErr.Value, jsonKind(typeErr.Type.Kind().String()))
		}
		line, col := position(body, typeErr.Offset)
		return invalidContent(field, "the value of '%s' is a JSON %s but must be %s (line %d, column %d).",
			field, typeErr.Value, jsonKind(typeErr.Type.Kind().String()), line, col)
	}
	return invalidContent("", "'%s'.", err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "a different type"
}

// position converts a byte offset into 1-based line and column numbers.
func position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	line, col = 1, 1
	for _, b := range body[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
