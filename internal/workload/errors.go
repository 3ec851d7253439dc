package workload

import (
	"errors"
	"fmt"
)

// Code classifies a workload error; the HTTP front doors map each code to
// a status and a protocol error body once.
type Code string

const (
	// CodeInvalidRequest: the request is malformed (no resource, two
	// selectors, a bad CSR).
	CodeInvalidRequest Code = "invalid_request"
	// CodeResourceNotFound: the resource does not exist.
	CodeResourceNotFound Code = "resource_not_found"
	// CodeIdentityNotFound: the selector names no identity attached to
	// the resource, or the resource has no identity at all.
	CodeIdentityNotFound Code = "identity_not_found"
	// CodeAmbiguousIdentity: no selector, no system-assigned identity and
	// several user-assigned ones.
	CodeAmbiguousIdentity Code = "ambiguous_identity"
	// CodeUnauthenticated: the grant secret, join token or agent
	// certificate is unknown, wrong, expired or revoked.
	CodeUnauthenticated Code = "unauthenticated"
)

// Error is a workload failure with a message safe to show the caller.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrIdentityNotFound) and friends match on the
// code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Message == ""
}

// Sentinels for errors.Is.
var (
	ErrInvalidRequest    = &Error{Code: CodeInvalidRequest}
	ErrResourceNotFound  = &Error{Code: CodeResourceNotFound}
	ErrIdentityNotFound  = &Error{Code: CodeIdentityNotFound}
	ErrAmbiguousIdentity = &Error{Code: CodeAmbiguousIdentity}
	ErrUnauthenticated   = &Error{Code: CodeUnauthenticated}
)

func fail(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of a workload error, or "" for any other error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
