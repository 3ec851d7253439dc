package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Decision is keyless's answer to "may this caller do this here?".
type Decision struct {
	Allowed bool
	// Reason is one line a person can read: which assignment allowed it,
	// or that none did.
	Reason string
}

// Authorizer decides whether the bearer of claims may perform dataAction
// at scope. AccessClient asks keyless over HTTPS; a service running inside
// keyless can decide in process.
type Authorizer interface {
	CheckAccess(ctx context.Context, claims *Claims, dataAction, scope string) (Decision, error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, claims *Claims, dataAction, scope string) (Decision, error)

// CheckAccess calls f.
func (f AuthorizerFunc) CheckAccess(ctx context.Context, c *Claims, dataAction, scope string) (Decision, error) {
	return f(ctx, c, dataAction, scope)
}

// CheckAccessAPIVersion is the api-version of keyless's checkAccess.
const CheckAccessAPIVersion = "2025-01-01"

// DefaultDecisionTTL is how long AccessClient keeps a decision.
const DefaultDecisionTTL = 10 * time.Second

// AccessClient asks keyless's checkAccess endpoint
// (POST {scope}/providers/Keyless.Authorization/checkAccess) and keeps each
// decision for a short while, so that a service answering many requests of
// one client asks once per TTL. The service authenticates with its own
// credential and needs Keyless.Authorization/checkAccess/action at the
// scopes it asks about (docs/rbac.md).
type AccessClient struct {
	// BaseURL is keyless's URL, e.g. "https://keyless.example:8443".
	BaseURL string
	// Credential is the service's own identity (a ManagedIdentityCredential
	// or ClientSecretCredential from azidentity).
	Credential azcore.TokenCredential
	// ARMScope is the scope the service's token is requested for; empty
	// means "https://management.azure.com/.default".
	ARMScope string
	// Audience, when set, is sent to keyless, which then refuses tokens
	// issued for another service.
	Audience string
	// HTTPClient must trust the keyless CA; nil means http.DefaultClient.
	HTTPClient *http.Client
	// TTL is how long a decision is kept (never beyond the token's
	// expiry); 0 means DefaultDecisionTTL, negative disables the cache.
	TTL time.Duration
	// MaxEntries bounds the cache; 0 means 10,000. When full it is emptied.
	MaxEntries int

	mu    sync.Mutex
	cache map[[32]byte]cachedDecision
}

type cachedDecision struct {
	d       Decision
	expires time.Time
}

// checkAccessResult is keyless's answer (rbacapi.CheckAccessResult).
type checkAccessResult struct {
	Allowed    bool   `json:"allowed"`
	TokenValid bool   `json:"tokenValid"`
	Reason     string `json:"reason"`
}

// ErrTokenRejected is returned when keyless itself refuses the token the
// caller presented (tokenValid false), which the middleware answers 401.
var ErrTokenRejected = errors.New("verify: keyless rejected the token")

// CheckAccess implements Authorizer.
func (a *AccessClient) CheckAccess(ctx context.Context, c *Claims, dataAction, scope string) (Decision, error) {
	key := sha256.Sum256([]byte(c.Token + "\x00" + dataAction + "\x00" + strings.ToLower(scope)))
	now := time.Now()
	if a.TTL >= 0 {
		a.mu.Lock()
		e, ok := a.cache[key]
		a.mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.d, nil
		}
	}
	d, err := a.ask(ctx, c.Token, dataAction, scope)
	if err != nil {
		return Decision{}, err
	}
	if a.TTL >= 0 {
		ttl := a.TTL
		if ttl == 0 {
			ttl = DefaultDecisionTTL
		}
		exp := now.Add(ttl)
		if !c.Expiry.IsZero() && c.Expiry.Before(exp) {
			exp = c.Expiry
		}
		max := a.MaxEntries
		if max <= 0 {
			max = 10000
		}
		a.mu.Lock()
		if a.cache == nil || len(a.cache) >= max {
			a.cache = make(map[[32]byte]cachedDecision)
		}
		a.cache[key] = cachedDecision{d: d, expires: exp}
		a.mu.Unlock()
	}
	return d, nil
}

func (a *AccessClient) ask(ctx context.Context, token, dataAction, scope string) (Decision, error) {
	armScope := a.ARMScope
	if armScope == "" {
		armScope = "https://management.azure.com/.default"
	}
	at, err := a.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		return Decision{}, fmt.Errorf("verify: the service's own token: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"token": token, "dataAction": dataAction, "audience": a.Audience})
	u := strings.TrimSuffix(a.BaseURL, "/") + escapeScope(scope) + "/providers/Keyless.Authorization/checkAccess?api-version=" + CheckAccessAPIVersion
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Decision{}, err
	}
	req.Header.Set("Authorization", "Bearer "+at.Token)
	req.Header.Set("Content-Type", "application/json")
	hc := a.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Decision{}, fmt.Errorf("verify: checkAccess: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return Decision{}, fmt.Errorf("verify: checkAccess answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var res checkAccessResult
	if err := json.Unmarshal(b, &res); err != nil {
		return Decision{}, fmt.Errorf("verify: checkAccess: %w", err)
	}
	if !res.TokenValid {
		return Decision{}, fmt.Errorf("%w: %s", ErrTokenRejected, res.Reason)
	}
	return Decision{Allowed: res.Allowed, Reason: res.Reason}, nil
}

// escapeScope escapes each segment of a scope for a URL path.
func escapeScope(scope string) string {
	scope = "/" + strings.Trim(scope, "/")
	if scope == "/" {
		return ""
	}
	parts := strings.Split(scope, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
