// Package verify lets a service accept the bearer tokens keyless issues:
// it validates a token (issuer, audience, RS256 signature against the
// keys the issuer publishes through OIDC discovery and JWKS, lifetime) and
// asks keyless whether the caller may perform a data action at a scope,
// with a short decision cache, and wraps both as net/http middleware.
//
// It is public API: users' own services import it, and keyless's Key
// Vault data plane is built on it. It never mints tokens, never holds a
// private key and never decides authorization itself: decisions are
// keyless's (the checkAccess endpoint, docs/rbac.md), so a role assignment
// made or removed in keyless takes effect for the service within the
// decision cache's lifetime.
package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Errors a token can fail with; test with errors.Is.
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = errors.New("verify: no bearer token")
	// ErrExpired: the token's exp is in the past.
	ErrExpired = errors.New("verify: token expired")
	// ErrAudience: the token was issued for another service.
	ErrAudience = errors.New("verify: token issued for another audience")
	// ErrInvalid: anything else (signature, issuer, format, not yet valid).
	ErrInvalid = errors.New("verify: invalid token")
)

// KeySet verifies a compact JWS and returns its payload. It is the method
// set of go-oidc's KeySet, so oidc.NewRemoteKeySet (JWKS fetched over
// HTTPS, cached, refetched when a token names a key it does not know, which
// is how rotation is followed) satisfies it, as does a fixed key set in
// tests.
type KeySet interface {
	VerifySignature(ctx context.Context, jwt string) ([]byte, error)
}

// Config configures a Verifier.
type Config struct {
	// Issuer is the token issuer, exactly as in the iss claim:
	// "https://<keyless host>/<tenant ID>/". Discovery reads
	// Issuer + ".well-known/openid-configuration".
	Issuer string
	// Audiences are the identifiers the service answers to (the resource a
	// client asked its token for); at least one is required. They are
	// compared case-insensitively and with or without a trailing slash,
	// as Entra-issued resources are written both ways.
	Audiences []string
	// TenantID, when set, must equal the token's tid.
	TenantID string
	// HTTPClient fetches the discovery document and the keys (it must
	// trust the keyless CA); nil means http.DefaultClient.
	HTTPClient *http.Client
	// Keys replaces discovery and the remote JWKS (tests, or a service
	// running inside keyless).
	Keys KeySet
	// Now replaces the clock (tests).
	Now func() time.Time
	// Leeway is the clock skew allowed on exp and nbf; 0 means a minute.
	Leeway time.Duration
}

// Claims are what a verified token says about its bearer.
type Claims struct {
	Issuer   string
	Subject  string
	Audience string
	// ObjectID (oid) is the principal's object ID: what role assignments
	// name.
	ObjectID string
	// AppID (appid, or azp in v2 tokens) is the client's application ID.
	AppID    string
	TenantID string
	// IdentityResourceID (xms_mirid) is the resource of a managed
	// identity; ComputeResourceID (xms_az_rid) the resource that asked for
	// a user-assigned identity's token.
	IdentityResourceID string
	ComputeResourceID  string
	IssuedAt           time.Time
	NotBefore          time.Time
	Expiry             time.Time
	// Token is the raw bearer token (for forwarding to checkAccess).
	Token string
}

// Verifier validates keyless bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg       Config
	audiences map[string]bool
	oidc      *oidc.IDTokenVerifier
}

// New builds a Verifier. Without Config.Keys it fetches the issuer's
// discovery document now (so a wrong issuer or CA fails at start, not at
// the first request) and the keys lazily.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Config.Issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("verify: Config.Audiences needs at least one audience")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = time.Minute
	}
	keys := cfg.Keys
	if keys == nil {
		hc := cfg.HTTPClient
		if hc == nil {
			hc = http.DefaultClient
		}
		dctx := oidc.ClientContext(ctx, hc)
		p, err := oidc.NewProvider(dctx, cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("verify: discovery for %s: %w", cfg.Issuer, err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
			return nil, fmt.Errorf("verify: discovery for %s names no jwks_uri", cfg.Issuer)
		}
		// The key set outlives ctx: it refetches on rotation.
		keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), hc), doc.JWKSURI)
	}
	v := &Verifier{cfg: cfg, audiences: map[string]bool{}}
	for _, a := range cfg.Audiences {
		v.audiences[audienceKey(a)] = true
	}
	// Lifetime is checked here rather than by go-oidc, with its own
	// leeway and error, so that an expired token is told apart.
	v.oidc = oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: []string{oidc.RS256},
		Now: cfg.Now,
	})
	return v, nil
}

func audienceKey(a string) string { return strings.ToLower(strings.TrimSuffix(a, "/")) }

// wireClaims are the claims keyless tokens carry (v1 and v2 shapes).
type wireClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	ObjectID  string          `json:"oid"`
	AppID     string          `json:"appid"`
	AZP       string          `json:"azp"`
	TenantID  string          `json:"tid"`
	MIRID     string          `json:"xms_mirid"`
	AzRID     string          `json:"xms_az_rid"`
	IssuedAt  *float64        `json:"iat"`
	NotBefore *float64        `json:"nbf"`
	Expiry    *float64        `json:"exp"`
}

// Verify validates a raw bearer token and returns its claims. Errors wrap
// ErrExpired, ErrAudience or ErrInvalid.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, ErrNoToken
	}
	tok, err := v.oidc.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var wc wireClaims
	if err := tok.Claims(&wc); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	if wc.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp claim", ErrInvalid)
	}
	c := &Claims{
		Issuer: wc.Issuer, Subject: wc.Subject, ObjectID: wc.ObjectID, AppID: wc.AppID, TenantID: wc.TenantID,
		IdentityResourceID: wc.MIRID, ComputeResourceID: wc.AzRID, Expiry: unix(wc.Expiry),
		IssuedAt: unix(wc.IssuedAt), NotBefore: unix(wc.NotBefore), Token: raw,
	}
	if c.AppID == "" {
		c.AppID = wc.AZP
	}
	now := v.cfg.Now()
	if now.After(c.Expiry.Add(v.cfg.Leeway)) {
		return nil, fmt.Errorf("%w at %s", ErrExpired, c.Expiry.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && now.Add(v.cfg.Leeway).Before(c.NotBefore) {
		return nil, fmt.Errorf("%w: not valid before %s", ErrInvalid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if v.cfg.TenantID != "" && !strings.EqualFold(c.TenantID, v.cfg.TenantID) {
		return nil, fmt.Errorf("%w: issued in tenant %q", ErrInvalid, c.TenantID)
	}
	for _, a := range tok.Audience {
		if v.audiences[audienceKey(a)] {
			c.Audience = a
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrAudience, strings.Join(tok.Audience, ","))
}

func unix(f *float64) time.Time {
	if f == nil {
		return time.Time{}
	}
	return time.Unix(int64(*f), 0)
}

// BearerToken returns the token of an "Authorization: Bearer ..." header,
// or "" when there is none.
func BearerToken(r *http.Request) string {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(raw)
}
