// Package sts is keyless's Entra-compatible token service: the OAuth 2.0
// token endpoints (v1 and v2), the OpenID Connect discovery documents, the
// JWKS and the instance-discovery document that MSAL and azidentity
// expect. It authenticates clients through the directory and mints tokens
// through the token package; it stores nothing on the hot path.
package sts

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/ratelimit"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
)

// ClientAssertionType is the only assertion type Entra accepts.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Federation exchanges an external OIDC token (client_assertion) for a
// user-assigned identity that holds a matching federated identity
// credential. It returns the subject to mint for, or an error whose text
// is safe to show the client.
type Federation interface {
	Exchange(ctx context.Context, principal store.Principal, assertion string) (token.Subject, error)
	// ExchangeApplication does the same for the service principal of an
	// application, against the application's federated credentials.
	ExchangeApplication(ctx context.Context, principal store.Principal, fics []store.FederatedCredential, assertion string) (token.Subject, error)
}

// Config wires the token service.
type Config struct {
	// BaseURL is the authority host without a trailing slash, e.g.
	// https://127.0.0.1:8443. Issuers and endpoints are built from it.
	BaseURL   string
	TenantID  string
	Directory *directory.Directory
	Issuer    *token.Issuer
	Keys      *token.KeySet
	// Federation handles client assertions for user-assigned identities;
	// nil refuses them.
	Federation Federation
	Logger     *slog.Logger
	// Audit receives one record per token issued or refused.
	Audit *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
	// Count, when set, is told the outcome of every token request
	// ("issued" or the OAuth error code), for metrics.
	Count func(grant, outcome string)
	// ClientAuthFailureRate and ClientAuthFailureBurst limit failed client
	// authentications per source address (failures per second, and how
	// many may come at once); zero means the default, a negative rate no
	// limit.
	ClientAuthFailureRate  float64
	ClientAuthFailureBurst int
}

// Service serves the token endpoints.
type Service struct {
	cfg      Config
	failures *ratelimit.Keyed
}

// New builds the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Count == nil {
		cfg.Count = func(string, string) {}
	}
	return &Service{cfg: cfg, failures: newFailureLimit(cfg.ClientAuthFailureRate, cfg.ClientAuthFailureBurst)}
}

// IssuerV1 is the iss of the tokens keyless issues and the issuer of the
// v1 discovery document. Entra's v1 issuer lives on another host
// (sts.windows.net); keyless keeps it on its own host so that one
// discovery document verifies its tokens.
func IssuerV1(baseURL, tenantID string) string { return baseURL + "/" + tenantID + "/" }

// IssuerV2 is the issuer of the v2 discovery document. MSAL reads only this
// document and requires its host to equal the authority's.
func IssuerV2(baseURL, tenantID string) string { return baseURL + "/" + tenantID + "/v2.0" }

func (s *Service) tenantOK(r *http.Request) bool {
	t := r.PathValue("tenant")
	return strings.EqualFold(t, s.cfg.TenantID) || strings.EqualFold(t, "common") || strings.EqualFold(t, "organizations")
}

func (s *Service) errURI() string { return s.cfg.BaseURL + "/" }

// handleToken serves the v2 token endpoint (v2: scope) or the v1 one
// (resource, or scope; Entra's v1 extras in the response).
func (s *Service) handleToken(v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.token(w, r, v2) }
}

func (s *Service) token(w http.ResponseWriter, r *http.Request, v2 bool) {
	if !strings.EqualFold(r.PathValue("tenant"), s.cfg.TenantID) {
		s.fail(w, r, "", errInvalidRequest(90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", clip(r.PathValue("tenant"))))
		return
	}
	form, oe := readForm(w, r)
	if oe != nil {
		s.fail(w, r, "", oe)
		return
	}
	grant := form.Get("grant_type")
	if grant == "" {
		s.fail(w, r, "", errInvalidRequest(900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	}
	if grant != "client_credentials" {
		s.fail(w, r, "", &oauthError{400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '" + clip(grant) + "'. keyless supports client_credentials."})
		return
	}
	clientID, clientSecret, oe := clientCredentials(r, form)
	if oe != nil {
		s.fail(w, r, "", oe)
		return
	}
	// Client IDs are GUIDs: clipping changes no lookup, only what a
	// refusal echoes and the audit log records.
	clientID = clip(clientID)
	if clientID == "" {
		s.fail(w, r, "", errInvalidRequest(900144, "The request body must contain the following parameter: 'client_id'."))
		return
	}
	var resource string
	if scope := form.Get("scope"); scope != "" || v2 {
		var oe *oauthError
		if resource, oe = resourceFromScope(scope); oe != nil {
			s.fail(w, r, clientID, oe)
			return
		}
	} else {
		resource = form.Get("resource")
		if resource == "" {
			s.fail(w, r, clientID, errInvalidRequest(900144, "The request body must contain the following parameter: 'resource'."))
			return
		}
		if oe := validResource(resource); oe != nil {
			s.fail(w, r, clientID, oe)
			return
		}
	}

	assertion, assertionType := form.Get("client_assertion"), form.Get("client_assertion_type")
	var subj token.Subject
	switch {
	case clientSecret != "" && assertion != "":
		s.fail(w, r, clientID, errInvalidRequest(900144, "Only one client credential may be given: client_secret or client_assertion."))
		return
	case clientSecret != "":
		p, err := s.cfg.Directory.AuthenticateSecret(clientID, clientSecret, s.cfg.Now())
		if err != nil {
			s.failAuth(w, r, clientID, secretError(clientID, s.cfg.TenantID, err))
			return
		}
		subj = token.Subject{ObjectID: p.ObjectID, AppID: p.AppID, ACR: token.ACRSecret}
	case assertion != "":
		if assertionType != ClientAssertionType {
			s.fail(w, r, clientID, errInvalidRequest(900144, "client_assertion_type must be "+ClientAssertionType+"."))
			return
		}
		var oe *oauthError
		if subj, oe = s.authenticateAssertion(r.Context(), clientID, assertion); oe != nil {
			s.failAuth(w, r, clientID, oe)
			return
		}
	default:
		s.fail(w, r, clientID, errInvalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."))
		return
	}
	subj.Audience = resource
	raw, claims, err := s.cfg.Issuer.Mint(subj)
	if err != nil {
		s.cfg.Logger.Error("minting a token failed", "err", err)
		s.fail(w, r, clientID, &oauthError{500, "temporarily_unavailable", 90033, "The token service could not sign a token. Try again later."})
		return
	}
	lifetime := claims.Expiry - s.cfg.Now().Unix()
	resp := tokenResponse{TokenType: "Bearer", ExpiresIn: lifetime, ExtExpiresIn: lifetime, AccessToken: raw}
	if lifetime >= 2*3600 {
		// MSAL refreshes proactively at refresh_in; Entra sends half the
		// lifetime for long-lived tokens.
		resp.RefreshIn = lifetime / 2
	}
	if !v2 {
		resp.Resource = resource
		resp.ExpiresOn = claims.Expiry
		resp.NotBefore = claims.NotBefore
	}
	s.cfg.Count(grantKind(subj), "issued")
	s.cfg.Audit.Info("token issued", "grant", grantKind(subj), "appid", claims.AppID, "oid", claims.ObjectID,
		"aud", claims.Audience, "uti", claims.UTI, "exp", claims.Expiry, "acr", claims.AppIDACR)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(resp)
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	RefreshIn    int64  `json:"refresh_in,omitempty"`
	// v1 endpoint extras, as Entra's v1 endpoint returns them.
	ExpiresOn   int64  `json:"expires_on,omitempty"`
	NotBefore   int64  `json:"not_before,omitempty"`
	Resource    string `json:"resource,omitempty"`
	AccessToken string `json:"access_token"`
}

// grantKind names how the client authenticated, for audit and metrics.
func grantKind(s token.Subject) string {
	switch {
	case s.MIResourceID != "":
		return "federated"
	case s.ACR == token.ACRCertificate:
		return "certificate"
	}
	return "secret"
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, clientID string, e *oauthError) {
	s.cfg.Count("client_credentials", e.code)
	s.cfg.Audit.Info("token refused", "appid", clientID, "error", e.code, "aadsts", e.aadsts, "source", sourceKey(r.RemoteAddr))
	writeOAuthError(w, r, e, s.errURI())
}

func secretError(clientID, tenantID string, err error) *oauthError {
	switch {
	case errors.Is(err, directory.ErrUnknownClient):
		return &oauthError{400, "unauthorized_client", 700016, "Application with identifier '" + clientID + "' was not found in the directory '" + tenantID + "'."}
	case errors.Is(err, directory.ErrSecretExpired):
		return errInvalidClient(7000222, "The provided client secret keys for app '%s' are expired. Create a new secret with `keyless sp credential reset`.", clientID)
	case errors.Is(err, directory.ErrNotPrincipal):
		return errInvalidClient(7000215, "Application '%s' cannot authenticate with a client secret.", clientID)
	case errors.Is(err, directory.ErrNoSecret):
		return errInvalidClient(7000215, "Application '%s' has no client secret; authenticate with its certificate.", clientID)
	}
	return errInvalidClient(7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
}

// authenticateAssertion verifies a client assertion: a JWT signed by one of
// the client's registered certificates (RFC 7523, reference §5.5), or, for
// a user-assigned identity, an external token checked by federation.
func (s *Service) authenticateAssertion(ctx context.Context, clientID, assertion string) (token.Subject, *oauthError) {
	e, ok := s.cfg.Directory.ByAppID(clientID)
	if !ok {
		return token.Subject{}, &oauthError{400, "unauthorized_client", 700016, "Application with identifier '" + clientID + "' was not found in the directory '" + s.cfg.TenantID + "'."}
	}
	if e.Principal.Kind == store.PrincipalUserAssigned {
		if s.cfg.Federation == nil {
			return token.Subject{}, errInvalidRequest(70021, "No matching federated identity record found for presented assertion.")
		}
		subj, err := s.cfg.Federation.Exchange(ctx, e.Principal, assertion)
		if err != nil {
			return token.Subject{}, federationError(err)
		}
		return subj, nil
	}
	if e.Principal.Kind != store.PrincipalServicePrincipal {
		return token.Subject{}, errInvalidClient(700027, "Client assertions are not accepted for principal '%s'.", clientID)
	}
	if fics := applicationFederatedCredentials(s.cfg.Directory, clientID); len(fics) > 0 && s.cfg.Federation != nil && !selfIssued(assertion, clientID) {
		subj, err := s.cfg.Federation.ExchangeApplication(ctx, e.Principal, fics, assertion)
		if err != nil {
			return token.Subject{}, federationError(err)
		}
		return subj, nil
	}
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
	if err != nil || len(tok.Headers) != 1 {
		return token.Subject{}, errInvalidClient(50027, "Invalid JWT token in client_assertion: it must be a compact JWS signed with RS256 or PS256.")
	}
	h := tok.Headers[0]
	sha1sum := thumbprint(h.ExtraHeaders["x5t"])
	sha256sum := thumbprint(h.ExtraHeaders["x5t#S256"])
	if sha1sum == nil && h.KeyID != "" {
		// Some stacks put the SHA-1 thumbprint in kid (hex or base64).
		sha1sum = thumbprint(h.KeyID)
	}
	if sha1sum == nil && sha256sum == nil {
		return token.Subject{}, errInvalidClient(700027, "The client assertion has no x5t or x5t#S256 header naming the certificate that signed it.")
	}
	p, cert, err := s.cfg.Directory.Certificate(clientID, sha1sum, sha256sum, s.cfg.Now())
	switch {
	case errors.Is(err, directory.ErrCertExpired):
		return token.Subject{}, errInvalidClient(700027, "The certificate that signed the client assertion is expired or not yet valid.")
	case err != nil:
		return token.Subject{}, errInvalidClient(700027, "Client assertion failed signature validation: the certificate with the given thumbprint is not registered for application '%s'.", clientID)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return token.Subject{}, errInvalidClient(700027, "The registered certificate does not hold an RSA key.")
	}
	var c jwt.Claims
	if err := tok.Claims(pub, &c); err != nil {
		return token.Subject{}, errInvalidClient(700027, "Client assertion failed signature validation.")
	}
	if c.Issuer != clientID || c.Subject != clientID {
		return token.Subject{}, errInvalidClient(700023, "The client assertion's iss and sub must both be the client ID '%s'.", clientID)
	}
	if !s.audienceOK(c.Audience) {
		return token.Subject{}, errInvalidClient(700212, "The client assertion's aud must be this tenant's token endpoint, %s.", s.tokenEndpoint(2))
	}
	if c.Expiry == nil {
		return token.Subject{}, errInvalidClient(700024, "The client assertion has no exp claim.")
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Time: s.cfg.Now()}, 5*time.Minute); err != nil {
		return token.Subject{}, errInvalidClient(700024, "Client assertion is not within its valid time range.")
	}
	if c.Expiry.Time().Sub(s.cfg.Now()) > 24*time.Hour {
		return token.Subject{}, errInvalidClient(700024, "Client assertion lifetime is too long; it may be valid for at most one day.")
	}
	return token.Subject{ObjectID: p.ObjectID, AppID: p.AppID, ACR: token.ACRCertificate}, nil
}

// federationError maps a federation refusal to Entra's response: a
// credential that does not match is a bad request (AADSTS70021 family); a
// token that does not verify is a failed client authentication.
func federationError(err error) *oauthError {
	var coded interface{ AADSTSCode() int }
	if !errors.As(err, &coded) {
		return &oauthError{500, "temporarily_unavailable", 90033, "Federated credential validation failed; try again later."}
	}
	switch code := coded.AADSTSCode(); code {
	case 700024, 700027, 50027:
		return &oauthError{401, "invalid_client", code, trimCode(err.Error())}
	default:
		return &oauthError{400, "invalid_request", code, trimCode(err.Error())}
	}
}

// trimCode drops a leading "AADSTSnnnn: " that the description repeats.
func trimCode(msg string) string {
	if strings.HasPrefix(msg, "AADSTS") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

func (s *Service) audienceOK(aud jwt.Audience) bool {
	for _, a := range aud {
		a = strings.TrimRight(a, "/")
		for _, want := range []string{s.tokenEndpoint(2), s.tokenEndpoint(1), IssuerV1(s.cfg.BaseURL, s.cfg.TenantID), IssuerV2(s.cfg.BaseURL, s.cfg.TenantID), s.adfsTokenEndpoint()} {
			if strings.EqualFold(a, strings.TrimRight(want, "/")) {
				return true
			}
		}
	}
	return false
}

// thumbprint decodes a certificate thumbprint header in whatever alphabet
// the client used: MSAL Go sends standard base64 with padding, msal-node
// base64url, others hex (reference §5.5).
func thumbprint(v any) []byte {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && (len(b) == 20 || len(b) == 32) {
			return b
		}
	}
	if b, err := hexDecode(s); err == nil && (len(b) == 20 || len(b) == 32) {
		return b
	}
	return nil
}

func (s *Service) tokenEndpoint(version int) string {
	if version == 2 {
		return s.cfg.BaseURL + "/" + s.cfg.TenantID + "/oauth2/v2.0/token"
	}
	return s.cfg.BaseURL + "/" + s.cfg.TenantID + "/oauth2/token"
}

func (s *Service) handleOpenIDConfig(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.tenantOK(r) {
			s.fail(w, r, "", errInvalidRequest(90002, "Tenant '%s' not found.", clip(r.PathValue("tenant"))))
			return
		}
		base, tid := s.cfg.BaseURL, s.cfg.TenantID
		doc := map[string]any{
			"token_endpoint":                        s.tokenEndpoint(version),
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"grant_types_supported":                 []string{"client_credentials"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "ver", "appid", "azp", "idtyp", "uti", "xms_mirid"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   "keyless",
			"request_uri_parameter_supported":       false,
			"http_logout_supported":                 true,
			"frontchannel_logout_supported":         true,
		}
		if version == 2 {
			doc["issuer"] = IssuerV2(base, tid)
			doc["authorization_endpoint"] = base + "/" + tid + "/oauth2/v2.0/authorize"
			doc["jwks_uri"] = base + "/" + tid + "/discovery/v2.0/keys"
		} else {
			doc["issuer"] = IssuerV1(base, tid)
			doc["authorization_endpoint"] = base + "/" + tid + "/oauth2/authorize"
			doc["jwks_uri"] = base + "/" + tid + "/discovery/keys"
		}
		writeJSON(w, http.StatusOK, doc)
	}
}

func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(r) {
		s.fail(w, r, "", errInvalidRequest(90002, "Tenant '%s' not found.", clip(r.PathValue("tenant"))))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// Verifiers cache the key set; a short max-age lets them pick up a
	// rotation's next key quickly while still sparing the server.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.cfg.Keys.JWKS())
}

// handleInstanceDiscovery answers MSAL's instance-discovery request for
// clients that are pointed at keyless as their discovery host; it names
// keyless as its own only alias.
func (s *Service) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := strings.TrimPrefix(strings.TrimPrefix(s.cfg.BaseURL, "https://"), "http://")
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.cfg.BaseURL + "/" + s.cfg.TenantID + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}

func (s *Service) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	writeOAuthError(w, r, &oauthError{400, "unsupported_response_type", 70000,
		"keyless issues tokens to workloads and service principals only; interactive sign-in is not supported."}, s.errURI())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
