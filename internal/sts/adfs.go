package sts

import (
	"net/http"
	"strings"
)

// ADFSTenant is the path segment of the ADFS-style authority,
// https://host/adfs. MSAL validates every authority that is not a
// Microsoft host by asking Microsoft's instance-discovery endpoint, which
// knows nothing of keyless; an ADFS authority is the one form it takes as
// given (Azure Stack Hub's). Clients that cannot turn instance discovery
// off, such as az 2.45, log in through it: `az cloud register
// --endpoint-active-directory https://host/adfs`.
//
// The ADFS authority is the default tenant under another name: its token
// endpoint authenticates against the same directory and mints the same
// tokens (iss https://host/{tenant}/, tid the tenant), so the ARM front
// door and every verifier accept them unchanged.
const ADFSTenant = "adfs"

// adfsEndpoints are the paths under /adfs/: discovery, keys and the v1
// token endpoint MSAL finds through discovery.
func (s *Service) adfsEndpoints() map[string]endpoint {
	get := []string{http.MethodGet}
	return map[string]endpoint{
		".well-known/openid-configuration": {get, s.handleADFSConfig},
		"oauth2/token":                     {[]string{http.MethodPost}, s.handleToken(false)},
		"discovery/keys":                   {get, s.handleJWKS},
		"oauth2/authorize":                 {[]string{http.MethodGet, http.MethodPost}, s.handleAuthorize},
	}
}

func isADFS(tenant string) bool { return strings.EqualFold(tenant, ADFSTenant) }

// handleADFSConfig is the discovery document of the ADFS authority. MSAL
// reads authorization_endpoint and token_endpoint, and takes the token
// endpoint's first path segment ("adfs") as the tenant; newer MSAL accepts
// an issuer on the authority's host. The issuer is the tenant's, the one
// the tokens carry, so a verifier that starts here checks them.
func (s *Service) handleADFSConfig(w http.ResponseWriter, r *http.Request) {
	base := s.cfg.BaseURL
	issuer := IssuerV1(base, s.cfg.TenantID)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"access_token_issuer":                   issuer,
		"authorization_endpoint":                base + "/adfs/oauth2/authorize",
		"token_endpoint":                        s.adfsTokenEndpoint(),
		"jwks_uri":                              base + "/adfs/discovery/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"grant_types_supported":                 []string{"client_credentials"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "ver", "appid", "idtyp", "uti", "xms_mirid"},
	})
}

// adfsTokenEndpoint is also a client assertion's audience when MSAL signs
// one for the ADFS authority.
func (s *Service) adfsTokenEndpoint() string { return s.cfg.BaseURL + "/adfs/oauth2/token" }
