package arm

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Caller is the authenticated principal of a request.
type Caller struct {
	ObjectID    string
	AppID       string
	TenantID    string
	DisplayName string
}

type callerKey struct{}

// WithCaller marks a request context as an in-process request made on
// behalf of c (a deployment's resources, the portal's pages): the front door
// serves it as c, skipping only the bearer-token step, through the same
// routing, api-version, RBAC, linked-authorization, validation and audit as
// any request. Nothing from the network can set a context value, so this is
// not a way around authentication; it is how code that already
// authenticated c acts as c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller WithCaller set, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Authenticator turns a request's bearer token into a Caller. Failures are
// *AuthError values carrying one of the ARM 401 codes below; any other error
// is treated as a server failure (500), never as success.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}

// Authorizer is the RBAC decision the front door consumes (internal/authz
// implements it). It must be safe for concurrent use and fast: it is called
// once per request and once per item of every list.
type Authorizer interface {
	Allowed(principalID, action, scope string) bool
}

// ARM 401 codes (reference §7.3).
const (
	CodeAuthenticationFailed               = "AuthenticationFailed"
	CodeInvalidAuthenticationToken         = "InvalidAuthenticationToken"
	CodeExpiredAuthenticationToken         = "ExpiredAuthenticationToken"
	CodeInvalidAuthenticationTokenAudience = "InvalidAuthenticationTokenAudience"
	CodeInvalidAuthenticationTokenTenant   = "InvalidAuthenticationTokenTenant"
)

// AuthError is an authentication failure, answered with 401 and a
// WWW-Authenticate challenge.
type AuthError struct {
	Code    string
	Message string
}

func (e *AuthError) Error() string { return e.Code + ": " + e.Message }

// AuthorizationFailed is ARM's 403 AuthorizationFailed, for the routes'
// checks and for the checks a handler makes beyond its route's.
func AuthorizationFailed(c Caller, action, scope string) error {
	return Errorf(http.StatusForbidden, "AuthorizationFailed", "", "%s", authorizationFailedMessage(c, action, scope))
}

// authorizationFailedMessage is ARM's AuthorizationFailed text, word for
// word: tools and people search for it (reference §7.7).
func authorizationFailedMessage(c Caller, action, scope string) string {
	return fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		c.Name(), c.ObjectID, action, scope)
}

// linkedAuthorizationFailedMessage is ARM's LinkedAuthorizationFailed text
// (reference §9.4).
func linkedAuthorizationFailedMessage(c Caller, action, scope string, linked []string) string {
	return fmt.Sprintf("The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action '%s' on the linked scope(s) '%s' or the linked scope(s) are invalid.",
		c.Name(), c.ObjectID, action, scope, actionAssignIdentity, strings.Join(linked, ","))
}

// Name is what ARM shows as "the client": the application ID of a service
// principal, else the object ID.
func (c Caller) Name() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.ObjectID
}

// wwwAuthenticate builds the Bearer challenge ARM sends with a 401. Quotes
// in the description would end the quoted-string early, so they are
// replaced.
func (s *Server) wwwAuthenticate(r *http.Request, e *AuthError) string {
	desc := strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(e.Message)
	return fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"`,
		s.baseURL(r), s.tenantID, desc)
}
