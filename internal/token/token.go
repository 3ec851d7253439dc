package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims is the payload of a keyless access token, shaped as Entra's v1.0
// access tokens are (reference §4.2): ARM, Key Vault and Storage take v1.0
// tokens, and so do the clients that inspect them.
type Claims struct {
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
	AIO       string `json:"aio,omitempty"`
	AppID     string `json:"appid,omitempty"`
	// AppIDACR is how the client authenticated: "1" secret, "2"
	// certificate or managed identity (a string, as Entra sends it).
	AppIDACR string `json:"appidacr,omitempty"`
	IDP      string `json:"idp,omitempty"`
	IDType   string `json:"idtyp,omitempty"`
	ObjectID string `json:"oid"`
	RH       string `json:"rh,omitempty"`
	Subject  string `json:"sub"`
	TenantID string `json:"tid"`
	UTI      string `json:"uti"`
	Version  string `json:"ver"`
	// MIResourceID is the resource of a managed identity: the owning
	// resource for system-assigned, the identity resource for
	// user-assigned; with Azure's lower-case "resourcegroups".
	MIResourceID string `json:"xms_mirid,omitempty"`
	// AzResourceID is the compute resource that asked for a user-assigned
	// identity's token.
	AzResourceID string `json:"xms_az_rid,omitempty"`
}

// Expires returns exp as a time.
func (c Claims) Expires() time.Time { return time.Unix(c.Expiry, 0) }

// Authentication methods as appidacr encodes them.
const (
	ACRSecret      = "1"
	ACRCertificate = "2"
)

// Subject is what a token is being issued for.
type Subject struct {
	Audience string
	ObjectID string
	AppID    string
	// ACR is ACRSecret or ACRCertificate (managed identities and
	// federated credentials count as certificate).
	ACR          string
	MIResourceID string
	AzResourceID string
	// Lifetime overrides the issuer's default when positive.
	Lifetime time.Duration
}

// Issuer mints access tokens signed by the active key of a KeySet.
type Issuer struct {
	Keys     *KeySet
	Issuer   string // e.g. https://127.0.0.1:8443/{tenant}/
	TenantID string
	Lifetime time.Duration
	// MaxLifetime is the longest lifetime this issuer mints, for a Subject
	// that asks for more than Lifetime; zero means Lifetime. Verify
	// refuses any token that lives longer: a token signed with a published
	// key but valid for years did not come from this server's Mint.
	MaxLifetime time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Issued, when set, is told of every token Mint signs: every path that
	// issues tokens (client credentials, federation exchanges, the
	// managed-identity endpoints of launchers and agents) mints here, so
	// usage tracking sees them all. It runs on the token hot path and must
	// be cheap and never block.
	Issued func(Claims)
}

// MaxIssuedLifetime is the longest lifetime of a token this issuer mints.
func (is *Issuer) MaxIssuedLifetime() time.Duration {
	if is.MaxLifetime > 0 {
		return is.MaxLifetime
	}
	return is.Lifetime
}

// Mint issues a signed token.
func (is *Issuer) Mint(s Subject) (string, Claims, error) {
	sk, err := is.Keys.activeKey()
	if err != nil {
		return "", Claims{}, err
	}
	t := is.now().Unix()
	life := is.Lifetime
	if s.Lifetime > 0 {
		life = s.Lifetime
	}
	if life > is.MaxIssuedLifetime() {
		return "", Claims{}, fmt.Errorf("token: lifetime %s exceeds the issuer's maximum %s", life, is.MaxIssuedLifetime())
	}
	c := Claims{
		Audience:     s.Audience,
		Issuer:       is.Issuer,
		IssuedAt:     t,
		NotBefore:    t,
		Expiry:       t + int64(life/time.Second),
		AIO:          randomID(12),
		AppID:        s.AppID,
		AppIDACR:     s.ACR,
		IDP:          is.Issuer,
		IDType:       "app",
		ObjectID:     s.ObjectID,
		RH:           "0." + randomID(9) + ".",
		Subject:      s.ObjectID,
		TenantID:     is.TenantID,
		UTI:          randomID(16),
		Version:      "1.0",
		MIResourceID: LowerResourceGroups(s.MIResourceID),
		AzResourceID: LowerResourceGroups(s.AzResourceID),
	}
	raw, err := jwt.Signed(sk.signer).Claims(c).Serialize()
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: sign: %w", err)
	}
	if is.Issued != nil {
		is.Issued(c)
	}
	return raw, c, nil
}

// Verification failures, distinguished so the ARM front door can answer
// with the code ARM uses for each.
var (
	ErrMalformed = errors.New("token: malformed")
	ErrSignature = errors.New("token: signature is invalid or the signing key is unknown")
	ErrIssuer    = errors.New("token: issuer is not this server")
	ErrExpired   = errors.New("token: expired")
	ErrNotYet    = errors.New("token: not yet valid")
	ErrLifetime  = errors.New("token: lifetime is longer than this server issues")
)

// clockSkew tolerates clocks of replicas and clients that differ slightly.
const clockSkew = 2 * time.Minute

// Verify checks a token issued by this server: signature against the
// published keys, issuer, expiry, not-before, issued-at and lifetime. Audience and tenant are
// the caller's to check, since each front door accepts different ones.
func (is *Issuer) Verify(raw string) (Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return Claims{}, ErrMalformed
	}
	pub, ok := is.Keys.publicKey(tok.Headers[0].KeyID)
	if !ok {
		return Claims{}, ErrSignature
	}
	var c Claims
	if err := tok.Claims(pub, &c); err != nil {
		return Claims{}, ErrSignature
	}
	if c.Issuer != is.Issuer {
		return Claims{}, ErrIssuer
	}
	return c, is.checkTime(c)
}

// checkTime checks the token's time claims against the issuer's clock,
// with clockSkew of tolerance: not expired, not before nbf, not issued in
// the future, and no longer-lived than this issuer mints (measured from
// iat, from nbf, and from now when iat is absent). The verification cache
// runs it on every hit.
func (is *Issuer) checkTime(c Claims) error {
	t := is.now()
	exp := time.Unix(c.Expiry, 0)
	if t.After(exp.Add(clockSkew)) {
		return ErrExpired
	}
	if t.Add(clockSkew).Before(time.Unix(c.NotBefore, 0)) {
		return ErrNotYet
	}
	if c.IssuedAt != 0 && t.Add(clockSkew).Before(time.Unix(c.IssuedAt, 0)) {
		return ErrNotYet
	}
	longest := is.MaxIssuedLifetime() + clockSkew
	switch {
	case c.IssuedAt != 0 && exp.Sub(time.Unix(c.IssuedAt, 0)) > longest,
		c.NotBefore != 0 && exp.Sub(time.Unix(c.NotBefore, 0)) > longest,
		c.IssuedAt == 0 && exp.Sub(t) > longest:
		return ErrLifetime
	}
	return nil
}

func (is *Issuer) now() time.Time {
	if is.Now != nil {
		return is.Now()
	}
	return time.Now()
}

// LowerResourceGroups writes the resource-group segment of an ARM ID as
// "resourcegroups", the casing Azure uses in xms_mirid and in the IDs the
// managed-identity provider returns.
func LowerResourceGroups(id string) string {
	const seg = "/resourcegroups/"
	i := strings.Index(strings.ToLower(id), seg)
	if i < 0 {
		return id
	}
	return id[:i] + seg + id[i+len(seg):]
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("token: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
