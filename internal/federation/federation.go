// Package federation exchanges tokens from external OpenID Connect issuers
// (Kubernetes service accounts, CI systems, other clouds, another keyless
// installation) for tokens of a user-assigned identity that trusts them
// through a federated identity credential.
//
// It fetches each issuer's discovery document and JWKS over HTTPS, caches
// them, and refreshes the keys when a token names an unknown key ID. It
// never trusts an assertion whose issuer, subject and audience do not match
// one credential exactly (case-sensitive, no wildcards), as Entra does.
package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
)

// Error is a refusal with the AADSTS code Entra uses for it; the token
// service turns it into an invalid_client / invalid_request response.
type Error struct {
	AADSTS int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.AADSTS, e.Msg) }

// Exchanger implements sts.Federation.
type Exchanger struct {
	Store store.Store
	// HTTPClient fetches issuers' documents; its TLS roots decide which
	// issuers can be reached (SSL_CERT_FILE with the default client).
	HTTPClient *http.Client
	// ProviderTTL bounds how long a discovery document is trusted.
	ProviderTTL time.Duration
	Now         func() time.Time
	// Exchanged, when set, is told of every exchange a credential admitted
	// (usage tracking: which federated credentials are still used).
	Exchanged func(p store.Principal, credential store.FederatedCredential)

	mu        sync.Mutex
	providers map[string]cachedProvider
}

type cachedProvider struct {
	verifier *oidc.IDTokenVerifier
	fetched  time.Time
}

// Exchange validates an external token for the user-assigned identity
// whose principal is p.
func (x *Exchanger) Exchange(ctx context.Context, p store.Principal, assertion string) (token.Subject, error) {
	claims, err := unverifiedClaims(assertion)
	if err != nil {
		return token.Subject{}, err
	}
	var fics []store.FederatedCredential
	if err := x.Store.View(ctx, func(tx store.Tx) error {
		var err error
		fics, err = tx.ListFederatedCredentials(ctx, p.ResourceID)
		return err
	}); err != nil {
		return token.Subject{}, fmt.Errorf("federation: list credentials: %w", err)
	}
	subj, err := x.exchange(ctx, p, fics, claims, assertion)
	if err != nil {
		return token.Subject{}, err
	}
	subj.MIResourceID = p.ResourceID
	return subj, nil
}

// ExchangeApplication validates an external token for the service
// principal p of an application that trusts its issuer through one of
// fics, the application's federated identity credentials (Microsoft
// Graph's federatedIdentityCredentials).
func (x *Exchanger) ExchangeApplication(ctx context.Context, p store.Principal, fics []store.FederatedCredential, assertion string) (token.Subject, error) {
	claims, err := unverifiedClaims(assertion)
	if err != nil {
		return token.Subject{}, err
	}
	return x.exchange(ctx, p, fics, claims, assertion)
}

func unverifiedClaims(assertion string) (jwt.Claims, error) {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384})
	if err != nil {
		return jwt.Claims{}, &Error{50027, "Invalid JWT token in client_assertion: it must be a compact JWS signed with an asymmetric algorithm."}
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return jwt.Claims{}, &Error{50027, "Invalid JWT token in client_assertion: unreadable claims."}
	}
	return claims, nil
}

// exchange matches the claims against the credentials, then verifies the
// token with its issuer's keys.
func (x *Exchanger) exchange(ctx context.Context, p store.Principal, fics []store.FederatedCredential, claims jwt.Claims, assertion string) (token.Subject, error) {
	fic, err := match(fics, claims)
	if err != nil {
		return token.Subject{}, err
	}
	// Only now, with an issuer the identity trusts, reach out to it: an
	// unauthenticated caller cannot make keyless fetch arbitrary URLs.
	v, err := x.verifier(ctx, claims.Issuer, false)
	if err != nil {
		return token.Subject{}, &Error{50166, fmt.Sprintf("Request to External OIDC endpoint failed: %v", err)}
	}
	if _, err := v.Verify(ctx, assertion); err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return token.Subject{}, &Error{700024, "Client assertion is not within its valid time range."}
		}
		return token.Subject{}, &Error{700027, "Client assertion failed signature validation against the issuer's published keys."}
	}
	if claims.Expiry == nil {
		return token.Subject{}, &Error{700024, "Client assertion has no exp claim."}
	}
	if x.Exchanged != nil {
		x.Exchanged(p, fic)
	}
	return token.Subject{ObjectID: p.ObjectID, AppID: p.AppID, ACR: token.ACRCertificate}, nil
}

// match finds the credential that trusts these claims, or says which part
// did not match, with Entra's codes.
func match(fics []store.FederatedCredential, c jwt.Claims) (store.FederatedCredential, error) {
	var issuerSeen, subjectSeen bool
	for _, f := range fics {
		if f.Issuer != c.Issuer {
			continue
		}
		issuerSeen = true
		if f.Subject != c.Subject {
			continue
		}
		subjectSeen = true
		for _, aud := range f.Audiences {
			if slices.Contains(c.Audience, aud) {
				return f, nil
			}
		}
	}
	switch {
	case len(fics) == 0:
		return store.FederatedCredential{}, &Error{70021, "No matching federated identity record found for presented assertion: the identity has no federated identity credentials."}
	case !issuerSeen:
		return store.FederatedCredential{}, &Error{700211, fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'.", c.Issuer)}
	case !subjectSeen:
		return store.FederatedCredential{}, &Error{700213, fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'.", c.Subject)}
	}
	return store.FederatedCredential{}, &Error{700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%v'.", []string(c.Audience))}
}

// verifier returns a cached verifier for the issuer. go-oidc's remote key
// set refetches the JWKS when a token names a key it does not know, so a
// key rotation at the issuer needs no action here; the discovery document
// itself is refreshed after ProviderTTL.
func (x *Exchanger) verifier(ctx context.Context, issuer string, refresh bool) (*oidc.IDTokenVerifier, error) {
	ttl := x.ProviderTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	x.mu.Lock()
	if x.providers == nil {
		x.providers = map[string]cachedProvider{}
	}
	cp, ok := x.providers[issuer]
	x.mu.Unlock()
	if ok && !refresh && now().Sub(cp.fetched) < ttl {
		return cp.verifier, nil
	}
	client := x.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	// The provider keeps this context for later JWKS refreshes, so it must
	// outlive the request; the client's timeout bounds each fetch.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), client)
	provider, err := oidc.NewProvider(pctx, issuer)
	if err != nil {
		return nil, err
	}
	v := provider.Verifier(&oidc.Config{
		SkipClientIDCheck:    true, // audiences are matched against the credential
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.ES256, oidc.ES384},
		Now:                  now,
	})
	x.mu.Lock()
	x.providers[issuer] = cachedProvider{verifier: v, fetched: now()}
	x.mu.Unlock()
	return v, nil
}

// AADSTSCode lets the token service pick the Entra error code.
func (e *Error) AADSTSCode() int { return e.AADSTS }
