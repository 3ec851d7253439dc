package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/token"
)

// armAudiences are the audiences ARM accepts (reference §7.3): the SDK's
// default cloud asks for management.core.windows.net, a keyless
// credentials file for management.azure.com, each with or without slash.
var armAudiences = map[string]bool{
	"https://management.core.windows.net/": true,
	"https://management.core.windows.net":  true,
	"https://management.azure.com/":        true,
	"https://management.azure.com":         true,
}

// bearerAuthenticator verifies the bearer token of an ARM call: one issued
// by this installation, for an ARM audience, for this tenant, in date.
type bearerAuthenticator struct {
	issuer   *token.VerifyCache
	tenantID string
	dir      *directory.Directory
}

func (a bearerAuthenticator) Authenticate(r *http.Request) (arm.Caller, error) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	if h == "" {
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeAuthenticationFailed, Message: "Authentication failed. The 'Authorization' header is missing."}
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeAuthenticationFailed, Message: "Authentication failed. The 'Authorization' header is not in the form 'Bearer <token>'."}
	}
	c, err := a.issuer.Verify(strings.TrimSpace(raw))
	switch {
	case errors.Is(err, token.ErrExpired):
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeExpiredAuthenticationToken, Message: "The access token expiry UTC time is earlier than current UTC time."}
	case err != nil:
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeInvalidAuthenticationToken, Message: "The access token is invalid: " + strings.TrimPrefix(err.Error(), "token: ") + "."}
	case !armAudiences[c.Audience]:
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeInvalidAuthenticationTokenAudience,
			Message: "The access token has been obtained for wrong audience or resource '" + c.Audience + "'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."}
	case !strings.EqualFold(c.TenantID, a.tenantID):
		return arm.Caller{}, &arm.AuthError{Code: arm.CodeInvalidAuthenticationTokenTenant, Message: "The access token is from the wrong issuer tenant '" + c.TenantID + "'."}
	}
	caller := arm.Caller{ObjectID: c.ObjectID, AppID: c.AppID, TenantID: c.TenantID}
	if e, ok := a.dir.ByObjectID(c.ObjectID); ok {
		caller.DisplayName = e.Principal.DisplayName
	}
	return caller, nil
}
