package sts

import (
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// oidcScopes are the scopes MSAL adds to every confidential-client request
// ("openid offline_access profile"); for client credentials Entra ignores
// them, and so do we.
var oidcScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// resourceFromScope turns a v2 scope list into the v1 resource it names:
// exactly one "{resource}/.default" besides the OIDC scopes. The resource
// keeps its trailing slash: "https://management.core.windows.net//.default"
// names "https://management.core.windows.net/".
func resourceFromScope(scope string) (string, *oauthError) {
	var resources []string
	for _, s := range strings.Fields(scope) {
		if oidcScopes[strings.ToLower(s)] {
			continue
		}
		resources = append(resources, s)
	}
	switch {
	case len(resources) == 0:
		return "", &oauthError{400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
	case len(resources) > 1:
		return "", &oauthError{400, "invalid_scope", 70011, "The provided request must include exactly one resource scope ending in /.default; scopes for several resources cannot be combined in one token."}
	}
	s := resources[0]
	if !strings.HasSuffix(s, "/.default") {
		return "", &oauthError{400, "invalid_scope", 1002012, "The provided value for scope " + clip(s) + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
	}
	return strings.TrimSuffix(s, "/.default"), validResource(strings.TrimSuffix(s, "/.default"))
}

// validResource accepts what can name a resource: an absolute URI (https://…,
// api://…) or an application ID. keyless does not keep a registry of
// resource applications, so it issues tokens for any well-formed audience;
// the receiving service checks aud.
func validResource(resource string) *oauthError {
	if _, err := uuid.Parse(resource); err == nil {
		return nil
	}
	u, err := url.Parse(resource)
	if err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") && len(resource) <= 1024 {
		return nil
	}
	return &oauthError{400, "invalid_resource", 500011, "The resource principal named " + clip(resource) + " was not found in the tenant. The resource must be an absolute URI or an application ID."}
}
