package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Refusal is why a request was turned away: Status 401 (no valid token)
// or 403 (a valid token whose bearer may not perform DataAction at Scope).
type Refusal struct {
	Status     int
	Code       string
	Message    string
	DataAction string
	Scope      string
	// Claims are set on a 403; Err on a 401 or an authorizer failure.
	Claims *Claims
	Err    error
}

func (r *Refusal) Error() string { return r.Message }

// Guard is net/http middleware over a Verifier and an Authorizer.
type Guard struct {
	Verifier   *Verifier
	Authorizer Authorizer
	// Challenge is the WWW-Authenticate value sent with every 401, e.g.
	// `Bearer authorization="https://keyless.example/<tenant>", resource="https://api.example"`
	// (the form Azure services send and the Azure SDKs parse); empty
	// means plain "Bearer".
	Challenge string
	// Deny writes a refusal; nil writes {"error":{"code","message"}} as
	// JSON with the refusal's status.
	Deny func(w http.ResponseWriter, r *http.Request, ref *Refusal)
}

type claimsKey struct{}

// ClaimsFrom returns the claims Authenticate put in the request context.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// WithClaims returns a context carrying claims (what Authenticate does).
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// Authenticate verifies the request's bearer token and puts its claims in
// the request context for the next handler; without a valid one it answers
// 401 with the challenge.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ref := g.authenticate(r)
		if ref != nil {
			g.deny(w, r, ref)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

func (g *Guard) authenticate(r *http.Request) (*Claims, *Refusal) {
	c, err := g.Verifier.Verify(r.Context(), BearerToken(r))
	if err == nil {
		return c, nil
	}
	msg := "The request carries no valid bearer token: " + err.Error() + "."
	if errors.Is(err, ErrNoToken) {
		msg = "The request carries no bearer token."
	}
	return nil, &Refusal{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: msg, Err: err}
}

// Require is Authenticate followed by a check that the caller may perform
// dataAction at the scope scope(r) returns; a refusal is a 403 naming the
// data action.
func (g *Guard) Require(dataAction string, scope func(*http.Request) string, next http.Handler) http.Handler {
	return g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ref := g.Check(r, dataAction, scope(r)); ref != nil {
			g.deny(w, r, ref)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// Check decides one data action for an authenticated request (for handlers
// that know the action only once they have parsed the request). It returns
// nil when allowed.
func (g *Guard) Check(r *http.Request, dataAction, scope string) *Refusal {
	c, ok := ClaimsFrom(r.Context())
	if !ok {
		var ref *Refusal
		if c, ref = g.authenticate(r); ref != nil {
			return ref
		}
	}
	d, err := g.Authorizer.CheckAccess(r.Context(), c, dataAction, scope)
	switch {
	case errors.Is(err, ErrTokenRejected):
		return &Refusal{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: err.Error(), Err: err, DataAction: dataAction, Scope: scope}
	case err != nil:
		return &Refusal{Status: http.StatusServiceUnavailable, Code: "AuthorizationUnavailable",
			Message: "The authorization service could not be asked: " + err.Error(), Err: err, DataAction: dataAction, Scope: scope}
	case !d.Allowed:
		return &Refusal{Status: http.StatusForbidden, Code: "Forbidden", Claims: c, DataAction: dataAction, Scope: scope,
			Message: "The caller (oid " + strconv.Quote(c.ObjectID) + ") is not authorized to perform data action '" + dataAction + "' at scope '" + scope + "': " + d.Reason + "."}
	}
	return nil
}

func (g *Guard) deny(w http.ResponseWriter, r *http.Request, ref *Refusal) {
	if ref.Status == http.StatusUnauthorized {
		ch := g.Challenge
		if ch == "" {
			ch = "Bearer"
		}
		w.Header().Set("WWW-Authenticate", ch)
	}
	if g.Deny != nil {
		g.Deny(w, r, ref)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(ref.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": ref.Code, "message": ref.Message}})
}

// DenyRequest writes a refusal as the Guard does (for handlers using Check).
func (g *Guard) DenyRequest(w http.ResponseWriter, r *http.Request, ref *Refusal) { g.deny(w, r, ref) }
