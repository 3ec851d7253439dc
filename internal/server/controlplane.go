package server

import (
	"bytes"
	"context"
	"net/http"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/directoryapi"
	"github.com/keyless-io/keyless/internal/feed"
	"github.com/keyless-io/keyless/internal/governanceapi"
	"github.com/keyless-io/keyless/internal/mgmtapi"
	"github.com/keyless-io/keyless/internal/rbacapi"
	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/subscriptionapi"
	"github.com/keyless-io/keyless/internal/token"
)

// builtinRoles are the compiled built-in roles plus those of the role
// catalogue files (--role-catalogue), in order.
func builtinRoles(cfg Config) ([]store.RoleDefinition, error) {
	var catalogues [][]store.RoleDefinition
	for _, path := range cfg.RoleCatalogues {
		roles, skipped, err := authz.ReadCatalogue(path)
		if err != nil {
			return nil, err
		}
		if skipped > 0 {
			cfg.Logger.Warn("role catalogue: skipped custom roles; only built-in roles are loaded from a catalogue", "file", path, "skipped", skipped)
		}
		cfg.Logger.Info("role catalogue loaded", "file", path, "roles", len(roles))
		catalogues = append(catalogues, roles)
	}
	return authz.WithCatalogues(catalogues...), nil
}

// registerControlPlane builds the RBAC engine and mounts the ARM front door;
// every path the token service and health endpoints do not claim is an ARM
// path.
func (s *Server) registerControlPlane(ctx context.Context, mux *http.ServeMux) error {
	st := s.inst.Store
	s.follower.Add(feed.Index{
		OnChanges: func(ctx context.Context, changes []store.Change) error {
			return s.engine.ApplyChanges(ctx, st, changes)
		},
		OnReload: func(ctx context.Context) error { return s.engine.LoadFrom(ctx, st) },
	})
	s.arm = arm.New(arm.Config{
		Store:                    st,
		Authenticator:            bearerAuthenticator{issuer: &token.VerifyCache{Issuer: s.issuer}, tenantID: s.inst.TenantID, dir: s.dir},
		Authorizer:               s.engine,
		TenantID:                 s.inst.TenantID,
		BaseURL:                  s.baseURL,
		Logger:                   s.cfg.Logger,
		FederatedCredentialLimit: ficLimit(s.cfg.FederatedCredentialLimit),
		OnRequest:                s.auditARM,
		ResourceHooks:            s.resourceHooks(),
		Principal: func(objectID string) (store.Principal, bool) {
			e, ok := s.dir.ByObjectID(objectID)
			return e.Principal, ok
		},
	})
	directoryapi.Register(s.arm, directoryapi.Config{
		Store: st, Keyring: s.inst.Keyring, Directory: s.dir, TenantID: s.inst.TenantID, WaitFor: s.follower.WaitFor,
	})
	subscriptionapi.Register(s.arm, st)
	mgmtapi.Register(s.arm, mgmtapi.Config{Store: st, TenantID: s.inst.TenantID, BaseURL: s.baseURL})
	governanceapi.Register(s.arm, governanceapi.Config{Store: st, Sources: review.Sources{Principals: s.dir, Assignments: s.engine}, Covers: s.engine.Covers})
	rbacapi.Register(s.arm, rbacapi.Config{
		Store: st, Engine: s.engine, TenantID: s.inst.TenantID, BaseURL: s.baseURL,
		// checkAccess verifies the token a downstream service was handed
		// exactly as the ARM front door verifies its own bearer tokens.
		VerifyToken: func(raw string) (string, string, string, error) {
			c, err := s.issuer.Verify(raw)
			return c.ObjectID, c.AppID, c.Audience, err
		},
	})
	s.registerActivityLog()
	// Deployments dispatch to the same handler as network requests, less
	// the metrics (their requests are counted as the deployment's).
	s.registerDeployments(s.readYourWrites(s.arm))
	if err := s.registerPortal(mux, s.readYourWrites(s.arm)); err != nil {
		return err
	}
	mux.Handle("/", s.metrics.Instrument("arm", s.readYourWrites(s.arm)))
	return nil
}

// ficLimit maps the flag (0 = Azure's default, negative = none) to the
// front door's setting (0 = none).
func ficLimit(flag int) int {
	switch {
	case flag == 0:
		return resources.DefaultFederatedCredentialLimit
	case flag < 0:
		return 0
	}
	return flag
}

// queryRoutes are POSTs that change nothing: downstream services call
// checkAccess once per request they serve, and auditing each successful
// answer would drown the changes the audit log exists for.
var queryRoutes = map[string]bool{"Authorization_CheckAccess": true, "Authorization_Explain": true}

// auditARM records every control-plane change and every refusal, with who,
// what, where and the outcome; plain successful reads are not audited.
func (s *Server) auditARM(_ context.Context, rec arm.RequestRecord) {
	s.recordRequest(rec)
	if rec.Status < 400 && (rec.Method == http.MethodGet || rec.Method == http.MethodHead || queryRoutes[rec.Route]) {
		return
	}
	s.cfg.Audit.Info("arm request",
		"requestId", rec.RequestID, "correlationId", rec.CorrelationID,
		"method", rec.Method, "route", rec.Route, "action", rec.Action, "scope", rec.Scope,
		"oid", rec.Caller.ObjectID, "appid", rec.Caller.AppID,
		"status", rec.Status, "error", rec.ErrorCode, "duration", rec.Duration)
	s.recordActivity(rec)
}

// readYourWrites holds back the response of every write until this
// replica's in-memory indexes (RBAC engine, directory, keys) have applied
// everything committed so far, so a caller who creates an assignment or an
// identity and uses it at once is never refused by stale state (nor, after
// a delete, let in by it). Responses are small ARM, Graph and Key Vault
// documents (a secret is at most 25 KB), so buffering them costs little.
func (s *Server) readYourWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(buf, r)
		if buf.status < 400 {
			if rev, err := s.inst.Store.Revision(r.Context()); err == nil {
				if err := s.follower.WaitFor(r.Context(), rev); err != nil {
					s.cfg.Logger.Warn("read-your-writes wait failed", "err", err)
				}
			}
		}
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	})
}

type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// ARM is the front door, for tests that enumerate every route.
func (s *Server) ARM() *arm.Server { return s.arm }
