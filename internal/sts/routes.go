package sts

import (
	"net/http"
	"net/url"
	"strings"
)

// endpoint is one path of the token service under /{tenant}/ and the
// methods it answers; GET also answers HEAD.
type endpoint struct {
	methods []string
	serve   http.HandlerFunc
}

// Handler serves every path of the token service: /{tenant}/oauth2/…,
// /{tenant}/v2.0/…, /{tenant}/.well-known/… and /{tenant}/discovery/…,
// and the same under /adfs/ for the ADFS-style authority (adfs.go).
//
// It routes by itself rather than through http.ServeMux, whose answers
// to a wrong method, an unknown path or an unclean one are text/plain 405s,
// 404s and redirects: every answer here, refusals included, is Entra's
// OAuth JSON error, which MSAL and azidentity parse and show. Path
// segments are taken as sent (an empty or dot tenant is a tenant that does
// not exist), so no request is ever redirected.
func (s *Service) Handler() http.Handler {
	post := []string{http.MethodPost}
	get := []string{http.MethodGet}
	endpoints := map[string]endpoint{
		"oauth2/v2.0/token":                     {post, s.handleToken(true)},
		"oauth2/token":                          {post, s.handleToken(false)},
		"v2.0/.well-known/openid-configuration": {get, s.handleOpenIDConfig(2)},
		".well-known/openid-configuration":      {get, s.handleOpenIDConfig(1)},
		"discovery/v2.0/keys":                   {get, s.handleJWKS},
		"discovery/keys":                        {get, s.handleJWKS},
		"discovery/instance":                    {get, s.handleInstanceDiscovery},
		"oauth2/v2.0/authorize":                 {[]string{http.MethodGet, http.MethodPost}, s.handleAuthorize},
		"oauth2/authorize":                      {[]string{http.MethodGet, http.MethodPost}, s.handleAuthorize},
	}
	adfs := s.adfsEndpoints()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, rest := splitTenant(r.URL)
		ep, ok := endpoints[rest]
		if isADFS(tenant) {
			// The ADFS authority is the default tenant (adfs.go).
			ep, ok = adfs[rest]
			tenant = s.cfg.TenantID
		}
		if !ok {
			writeOAuthError(w, r, &oauthError{http.StatusNotFound, "invalid_request", 90023,
				"The token service has no endpoint '" + clip(r.URL.Path) + "'. Token requests go to POST /{tenant}/oauth2/v2.0/token."}, s.errURI())
			return
		}
		if !allows(ep.methods, r.Method) {
			allowed := strings.Join(ep.methods, ", ")
			if allows(ep.methods, http.MethodHead) {
				allowed += ", " + http.MethodHead
			}
			w.Header().Set("Allow", allowed)
			writeOAuthError(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", 900561,
				"The endpoint only accepts " + allowed + " requests. Received a " + clip(r.Method) + " request."}, s.errURI())
			return
		}
		r.SetPathValue("tenant", tenant)
		ep.serve(w, r)
	})
}

func allows(methods []string, method string) bool {
	for _, m := range methods {
		if m == method || m == http.MethodGet && method == http.MethodHead {
			return true
		}
	}
	return false
}

// splitTenant cuts /{tenant}/{rest} from the escaped path, unescaping each
// segment, so an escaped slash stays inside the tenant it was sent in.
func splitTenant(u *url.URL) (tenant, rest string) {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for i, seg := range segs {
		if v, err := url.PathUnescape(seg); err == nil {
			segs[i] = v
		}
	}
	return segs[0], strings.Join(segs[1:], "/")
}

// clip bounds what a refusal echoes of the request (a path, a method, a
// client ID): an attacker's megabyte does not come back in the answer or
// go to the audit log whole.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
