package resources

import (
	"errors"
	"fmt"
	"strings"
)

// ARM error codes the domain reports. They are the vocabulary clients match
// on (azcore's ResponseError.ErrorCode), so they live with the rules that
// produce them.
const (
	CodeSubscriptionNotFound     = "SubscriptionNotFound"
	CodeResourceGroupNotFound    = "ResourceGroupNotFound"
	CodeResourceNotFound         = "ResourceNotFound"
	CodeParentResourceNotFound   = "ParentResourceNotFound"
	CodeInvalidResourceName      = "InvalidResourceName"
	CodeInvalidRequestContent    = "InvalidRequestContent"
	CodeLocationRequired         = "LocationRequired"
	CodeInvalidParameter         = "InvalidParameter"
	CodeInvalidIdentity          = "InvalidIdentity"
	CodeFailedIdentityOperation  = "FailedIdentityOperation"
	CodeBadRequest               = "BadRequest"
	CodeInvalidResourceLocation  = "InvalidResourceLocation"
	CodeInvalidResourceGroupLoc  = "InvalidResourceGroupLocation"
	CodeInvalidResourceType      = "InvalidResourceType"
	CodeFederatedCredentialLimit = "FederatedIdentityCredentialLimitExceeded"
)

// NotFoundError reports that the target of an operation, or something it
// needs (its resource group, its parent), does not exist. It maps to 404.
type NotFoundError struct {
	Code    string
	Message string
}

func (e *NotFoundError) Error() string { return e.Message }

// ValidationError reports bad input. Target names the offending field in
// the request document (e.g. "identity.type"), as ARM's error.target does.
// It maps to 400.
type ValidationError struct {
	Code    string
	Target  string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// ConflictError reports a request that is well formed but contradicts the
// stored state (changing an immutable location). It maps to 409.
type ConflictError struct {
	Code    string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// LinkedAuthorizationError reports that a write would attach user-assigned
// identities the caller may not assign (ARM's LinkedAuthorizationFailed,
// reference §9.4). ResourceID is the resource being written; Scopes are the
// identity IDs the caller lacks the assign action on.
type LinkedAuthorizationError struct {
	ResourceID   string
	ResourceType string
	Scopes       []string
}

func (e *LinkedAuthorizationError) Error() string {
	return fmt.Sprintf("linked authorization failed on %s for %s", e.ResourceID, strings.Join(e.Scopes, ","))
}

func notFound(code, format string, args ...any) error {
	return &NotFoundError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(code, target, format string, args ...any) error {
	return &ValidationError{Code: code, Target: target, Message: fmt.Sprintf(format, args...)}
}

func subscriptionNotFound(id string) error {
	return notFound(CodeSubscriptionNotFound, "The subscription '%s' could not be found.", id)
}

func resourceGroupNotFound(name string) error {
	return notFound(CodeResourceGroupNotFound, "Resource group '%s' could not be found.", name)
}

func asNotFound(err error, target **NotFoundError) bool {
	return errors.As(err, target)
}
