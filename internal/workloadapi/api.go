package workloadapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/keyless-io/keyless/internal/ratelimit"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/workload"
)

// Authorizer is the RBAC decision the operator endpoints need
// (internal/authz's Engine implements it).
type Authorizer interface {
	Allowed(principalID, action, scope string) bool
}

// Verifier checks a bearer token issued by this server (token.Issuer).
type Verifier interface {
	Verify(raw string) (token.Claims, error)
}

// Default rate limits on the server. A launcher serves one process tree
// and caches tokens, so a grant above this is misbehaving. Agents are
// authenticated daemons that already limit their host (IMDS's 20/s), so the
// server does not limit them unless configured to.
const (
	DefaultGrantRate  = 20
	DefaultGrantBurst = 40
)

// maxBody bounds request bodies (a CSR is a few hundred bytes).
const maxBody = 64 << 10

// Config wires the API.
type Config struct {
	TenantID   string
	Store      store.Store
	Minter     *workload.Minter
	Grants     *workload.Grants
	Agents     *workload.Agents
	Verifier   Verifier
	Authorizer Authorizer
	// CAPEM is appended to agent certificates so agents can build chains.
	CAPEM []byte
	// WaitFor makes a write visible to this replica's indexes (and so to
	// the event streams it serves) before the handler answers.
	WaitFor func(ctx context.Context, rev int64) error
	// Per-grant and per-agent token-request limits: for grants negative
	// disables and zero means the default; for agents zero disables.
	GrantRate, AgentRate   float64
	GrantBurst, AgentBurst int
	// Heartbeat is the interval of keep-alive comments on event streams
	// (default 15 s).
	Heartbeat time.Duration
	Logger    *slog.Logger
	Audit     *slog.Logger
	Now       func() time.Time
}

// API serves the workload endpoints.
type API struct {
	cfg        Config
	grantLimit *ratelimit.Keyed
	agentLimit *ratelimit.Keyed
	hub        *Hub
}

// New builds the API.
func New(cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = cfg.Logger
	}
	if cfg.WaitFor == nil {
		cfg.WaitFor = func(context.Context, int64) error { return nil }
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	rate := func(r float64, def float64) float64 {
		switch {
		case r < 0:
			return 0
		case r == 0:
			return def
		}
		return r
	}
	burst := func(b, def int) int {
		if b <= 0 {
			return def
		}
		return b
	}
	return &API{
		cfg:        cfg,
		grantLimit: ratelimit.NewKeyed(rate(cfg.GrantRate, DefaultGrantRate), burst(cfg.GrantBurst, DefaultGrantBurst)),
		agentLimit: ratelimit.NewKeyed(max(cfg.AgentRate, 0), burst(cfg.AgentBurst, int(2*cfg.AgentRate))),
		hub:        newHub(cfg.Store, cfg.Logger),
	}
}

// Register mounts the endpoints.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathGrants, a.createGrant)
	mux.HandleFunc("DELETE "+PathGrants+"/{id}", a.revokeGrant)
	mux.HandleFunc("GET "+PathGrantToken, a.grantToken)
	mux.HandleFunc("POST "+PathGrantToken, a.grantToken)
	mux.HandleFunc("GET "+PathGrantEvent, a.grantEvents)

	mux.HandleFunc("POST "+PathJoinTokens, a.createJoinToken)
	mux.HandleFunc("POST "+PathEnroll, a.enroll)
	mux.HandleFunc("POST "+PathRenew, a.renew)
	mux.HandleFunc("GET "+PathAgentToken, a.agentToken)
	mux.HandleFunc("GET "+PathAgentEvent, a.agentEvents)
	mux.HandleFunc("GET "+PathAgents, a.listAgents)
	mux.HandleFunc("GET "+PathAgents+"/{id}", a.getAgent)
	mux.HandleFunc("DELETE "+PathAgents+"/{id}", a.revokeAgent)
}

// Apply follows the change feed for the event streams (feed.Applier).
func (a *API) Apply(ctx context.Context, changes []store.Change) error {
	a.hub.apply(changes)
	return nil
}

// Reload tells every launcher and agent to drop its cached tokens: after
// the change feed was compacted past this replica, it cannot tell which
// identities changed meanwhile (feed.Reloader).
func (a *API) Reload(context.Context) error {
	a.hub.invalidateAll()
	return nil
}

// Close ends every event stream (at server shutdown, so that draining does
// not wait for connections that never end by themselves).
func (a *API) Close() { a.hub.close() }
