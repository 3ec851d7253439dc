// Package server wires one keyless replica together: it opens the data
// directory and store, builds the in-memory indexes and keeps them current
// from the change feed, and serves every front door (token service, ARM,
// health, metrics) on one HTTPS listener. It holds no business logic.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyless-io/keyless/internal/activity"
	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/deploy"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/federation"
	"github.com/keyless-io/keyless/internal/feed"
	"github.com/keyless-io/keyless/internal/metrics"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/sts"
	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/usage"
	"golang.org/x/sync/errgroup"
)

// Config holds the server's settings (flags of `keyless server`).
type Config struct {
	DataDir string
	Listen  string
	// StoreDSN is empty for the embedded SQLite store.
	StoreDSN string
	// Hostname is added to the certificate and used in the public URL.
	Hostname string
	// PublicURL overrides the URL clients use (behind a load balancer).
	PublicURL string
	MasterKey string
	// TokenLifetime is the lifetime of issued access tokens.
	TokenLifetime time.Duration
	// KeyRotation rotates the signing key when the active one is older;
	// 0 disables automatic rotation.
	KeyRotation     time.Duration
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Audit           *slog.Logger
	// DebugListen, when set, serves Go's runtime profiles (net/http/pprof)
	// on this loopback address.
	DebugListen string
	// ChangeRetention is how long change-feed entries are kept; a replica
	// cut off for longer reloads its indexes when it returns. 0 means 24h.
	ChangeRetention time.Duration
	// DisableIndexSnapshots turns off the index snapshots in the data
	// directory (snapshots.go): every start then reads the whole store.
	DisableIndexSnapshots bool
	// SnapshotInterval is how often the index snapshots are rewritten
	// when anything changed (sooner after many changes); 0 means 10m.
	SnapshotInterval time.Duration
	// MaxSnapshotReplay is how many changes after the index snapshots'
	// revision a start replays at most before it reads the whole store
	// instead; 0 means one per 512 bytes of snapshot, at least 10,000.
	MaxSnapshotReplay int
	// FederatedCredentialLimit caps federated identity credentials per
	// user-assigned identity; negative means unlimited, 0 Azure's 20.
	FederatedCredentialLimit int
	// FederationHTTPClient fetches external issuers' discovery documents
	// and keys; nil uses one trusting the system roots (and SSL_CERT_FILE).
	FederationHTTPClient *http.Client
	// ClientAuthFailureRate and ClientAuthFailureBurst limit failed client
	// authentications at the token service per source address (failures
	// per second, and how many at once); zero means the token service's
	// defaults, a negative rate no limit.
	ClientAuthFailureRate  float64
	ClientAuthFailureBurst int
	// UsageFlushInterval is how often this replica writes the usage it
	// aggregated in memory (tokens issued, requests made); a crash loses at
	// most one interval. 0 means usage.DefaultFlushInterval.
	UsageFlushInterval time.Duration
	// UsageRetention is how long usage is kept; 0 means 90 days.
	UsageRetention time.Duration
	// ReplicaID names this process's usage rows; empty means the host name
	// with a random suffix.
	ReplicaID string
	// PortalSessionLifetime is how long a portal sign-in lasts; 0 means 8h.
	PortalSessionLifetime time.Duration
	// ActivityFlushInterval is how often the activity log's buffered
	// events are written (what a crash can lose); 0 means a second.
	// ActivityRetention is how long events are kept; 0 means 90 days.
	ActivityFlushInterval time.Duration
	ActivityRetention     time.Duration
	// KeyVaultHostSuffix, when set, serves each vault at
	// https://{name}.{suffix}[:port]/ (a wildcard DNS record must point at
	// the server; the certificate covers *.{suffix}); empty serves vaults
	// at {public URL}/keyvault/{name}/. See docs/keyvault.md.
	KeyVaultHostSuffix string
	// RoleCatalogues are files of built-in role definitions in the shape
	// `az role definition list` prints, loaded beside the compiled ones at
	// every start (read-only, like every built-in role).
	RoleCatalogues []string
}

// MaxTokenLifetime bounds every token keyless issues; a retired signing key
// stays published this long.
const MaxTokenLifetime = 24*time.Hour + 10*time.Minute

// Server is one running replica.
type Server struct {
	cfg      Config
	ln       net.Listener
	baseURL  string
	inst     *bootstrap.Installation
	dir      *directory.Directory
	keys     *token.KeySet
	issuer   *token.Issuer
	follower *feed.Follower
	metrics  *metrics.Metrics
	engine   *authz.Engine
	// snaps are the index snapshots this replica keeps (snapshots.go),
	// and fromStore says the indexes were read from the store at start.
	snaps     snapshots
	fromStore bool
	arm       *arm.Server
	deployer  *deploy.Engine
	// usage records tokens and requests in memory; usageFlusher writes it.
	usage        *usage.Recorder
	usageFlusher *usage.Flusher
	http         *http.Server
	// handler is every front door once the indexes are loaded; until then
	// serveStarting answers. serveErr is ServeTLS's result once serveDone
	// is closed.
	handler   atomic.Pointer[http.Handler]
	serveDone chan struct{}
	serveErr  error
	ready     atomic.Bool
	// onShutdown run when the drain starts (long-lived streams end).
	onShutdown []func()
	// activity buffers the activity log's events; its flushes write them.
	activity *activity.Log
}

// New listens, opens the installation and builds the replica. The listener
// is opened first so that port 0 resolves before URLs are derived from it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.TokenLifetime > MaxTokenLifetime {
		return nil, fmt.Errorf("token lifetime %s exceeds the maximum %s", cfg.TokenLifetime, MaxTokenLifetime)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.ChangeRetention <= 0 {
		cfg.ChangeRetention = 24 * time.Hour
	}
	if cfg.SnapshotInterval <= 0 {
		cfg.SnapshotInterval = 10 * time.Minute
	}
	if err := checkDebugListen(cfg.DebugListen); err != nil {
		return nil, err
	}
	if cfg.Audit == nil {
		cfg.Audit = cfg.Logger.With("log", "audit")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s := &Server{cfg: cfg, ln: ln}
	if s.baseURL, err = publicURL(cfg, ln.Addr()); err != nil {
		ln.Close()
		return nil, err
	}
	if err := s.open(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	if err := s.build(ctx); err != nil {
		_ = s.http.Close()
		<-s.serveDone
		_ = s.inst.Store.Close()
		return nil, err
	}
	return s, nil
}

func publicURL(cfg Config, addr net.Addr) (string, error) {
	if cfg.PublicURL != "" {
		if !strings.HasPrefix(cfg.PublicURL, "https://") {
			return "", errors.New("--public-url must be an https:// URL: Azure clients refuse other authorities")
		}
		return strings.TrimRight(cfg.PublicURL, "/"), nil
	}
	host := cfg.Hostname
	tcp := addr.(*net.TCPAddr)
	if host == "" {
		host = "127.0.0.1"
		if !tcp.IP.IsUnspecified() {
			host = tcp.IP.String()
		}
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)), nil
}

// open opens the installation and starts serving at once: while the
// indexes load, /healthz/live answers 200 (a liveness probe must not kill
// a replica that is still starting), /healthz/ready 503, and every other
// request 503 with Retry-After in its front door's error shape.
func (s *Server) open(ctx context.Context) error {
	cfg := s.cfg
	roles, err := builtinRoles(cfg)
	if err != nil {
		return err
	}
	inst, err := bootstrap.Open(ctx, bootstrap.Options{
		DataDir: cfg.DataDir, StoreDSN: cfg.StoreDSN, MasterKey: cfg.MasterKey,
		BaseURL: s.baseURL, BuiltinRoles: roles, Logger: cfg.Logger,
	})
	if err != nil {
		return err
	}
	s.inst = inst
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if cfg.Hostname != "" {
		hosts = append(hosts, cfg.Hostname)
	}
	if sfx := strings.Trim(cfg.KeyVaultHostSuffix, "."); sfx != "" {
		hosts = append(hosts, "*."+sfx)
	}
	cert, err := newServerCert(inst.CA, hosts)
	if err != nil {
		_ = inst.Store.Close()
		return err
	}
	s.http = &http.Server{
		Handler: requestEdge(s.baseURL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := s.handler.Load(); h != nil {
				(*h).ServeHTTP(w, r)
				return
			}
			s.serveStarting(w, r)
		})),
		// Agents authenticate with client certificates issued by the
		// installation's CA; everyone else presents none.
		TLSConfig: &tls.Config{
			GetCertificate: cert.GetCertificate, MinVersion: tls.VersionTLS12,
			ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: inst.CA.Pool(),
		},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	s.serveDone = make(chan struct{})
	go func() {
		s.serveErr = s.http.ServeTLS(s.ln, "", "")
		close(s.serveDone)
	}()
	return nil
}

// loadIndexes builds the directory and the RBAC engine side by side, from
// their snapshots when usable or else from the store (each streams its
// rows from its own read transaction), logs how far they have come every
// few seconds of a long start, and returns the revision the change feed
// is to be followed from.
func (s *Server) loadIndexes(ctx context.Context) (int64, error) {
	st := s.inst.Store
	began := time.Now()
	if testHookLoading != nil {
		testHookLoading()
	}
	s.dir = directory.New(st, s.inst.Keyring)
	s.engine = authz.New()
	defer relaxGCDuringLoad()()
	done := make(chan error, 1)
	var since int64
	go func() {
		var ok bool
		if since, ok = s.loadSnapshots(ctx); ok {
			done <- nil
			return
		}
		// Indexes load at or after this revision; the follower
		// re-applies from it, which is harmless because appliers are
		// idempotent.
		rev, err := st.Revision(ctx)
		if err != nil {
			done <- err
			return
		}
		since, s.fromStore = rev, true
		var g errgroup.Group
		g.Go(func() error { return s.dir.Reload(ctx) })
		g.Go(func() error { return s.engine.LoadFrom(ctx, st) })
		done <- g.Wait()
	}()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return 0, err
			}
			s.cfg.Logger.Info("indexes loaded", "principals", s.dir.Loading(), "roleAssignments", s.engine.Loading(),
				"fromSnapshot", !s.fromStore, "seconds", time.Since(began).Round(time.Millisecond).Seconds())
			return since, nil
		case <-tick.C:
			s.cfg.Logger.Info("loading indexes", "principals", s.dir.Loading(), "roleAssignments", s.engine.Loading(),
				"seconds", time.Since(began).Round(time.Second).Seconds())
		}
	}
}

// relaxGCDuringLoad lets the heap grow further between collections while
// the indexes load, and returns what ends that: almost everything a load
// allocates is kept, so at the default GOGC each doubling of the heap
// re-marks all of it, which at millions of entries is most of the start's
// CPU. Afterwards the default is back, and one collection in the
// background drops the load's garbage (each row's strings the indexes did
// not keep) and returns the memory to the system, so the resident size
// settles at the live indexes, not the load's peak. In the background
// because at millions of entries that collection takes seconds of its
// own, which readiness need not wait for. An operator's GOGC is left
// alone.
func relaxGCDuringLoad() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(400)
	return func() {
		debug.SetGCPercent(old)
		go debug.FreeOSMemory()
	}
}

// testHookLoading, when set by a test, runs as the index load begins.
var testHookLoading func()

// progressInterval is how often a long start says how far it has come.
const progressInterval = 5 * time.Second

func (s *Server) build(ctx context.Context) error {
	cfg := s.cfg
	inst := s.inst
	since, err := s.loadIndexes(ctx)
	if err != nil {
		return err
	}
	if s.keys, err = token.NewKeySet(ctx, inst.Store, inst.Keyring, MaxTokenLifetime); err != nil {
		return err
	}
	s.issuer = &token.Issuer{
		Keys: s.keys, Issuer: sts.IssuerV1(s.baseURL, inst.TenantID),
		TenantID: inst.TenantID, Lifetime: cfg.TokenLifetime,
	}
	s.buildUsage()
	s.metrics = metrics.New()
	s.follower = feed.New(inst.Store, since, cfg.Logger)
	s.follower.Add(s.dir)
	s.follower.Add(feed.Index{
		OnChanges: func(ctx context.Context, changes []store.Change) error {
			for _, c := range changes {
				if c.Kind == store.KindSigningKey {
					return s.keys.Reload(ctx)
				}
			}
			return nil
		},
		OnReload: s.keys.Reload,
	})

	s.follower.Add(feed.Index{
		OnChanges: func(_ context.Context, changes []store.Change) error {
			s.metrics.FeedRevision.Set(float64(changes[len(changes)-1].Revision))
			return nil
		},
		OnReload: func(context.Context) error { return nil },
	})

	mux := http.NewServeMux()
	tokens := sts.New(sts.Config{
		BaseURL: s.baseURL, TenantID: inst.TenantID, Directory: s.dir,
		Issuer: s.issuer, Keys: s.keys, Logger: cfg.Logger, Audit: cfg.Audit,
		Federation: &federation.Exchanger{Store: inst.Store, HTTPClient: cfg.FederationHTTPClient,
			Exchanged: func(p store.Principal, f store.FederatedCredential) {
				s.usage.ActionPerformed(p.ObjectID, usage.ActionFederatedExchange, usage.FederatedCredentialScope(f.IdentityID, f.Name), false)
			}},
		Count: func(grant, outcome string) { s.metrics.Tokens.WithLabelValues(grant, outcome).Inc() },
		// Failed client authentications are limited per source address.
		ClientAuthFailureRate: cfg.ClientAuthFailureRate, ClientAuthFailureBurst: cfg.ClientAuthFailureBurst,
	})
	// The token service routes its own paths, mounted per prefix so they
	// never collide with ARM paths, and for every method, so that a wrong
	// one is answered with Entra's OAuth error rather than ARM's.
	tokenDoor := s.metrics.Instrument("sts", tokens.Handler())
	for _, p := range []string{"/{tenant}/oauth2/", "/{tenant}/v2.0/", "/{tenant}/.well-known/", "/{tenant}/discovery/"} {
		mux.Handle(p, tokenDoor)
	}
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /healthz/live", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /healthz/ready", s.handleReady)
	mux.HandleFunc("GET /metadata/endpoints", s.handleMetadataEndpoints)
	if err := s.registerControlPlane(ctx, mux); err != nil {
		return err
	}
	s.registerUsage()
	s.registerWorkloads(mux)
	root, err := s.withKeyVault(ctx, mux)
	if err != nil {
		return err
	}

	for _, fn := range s.onShutdown {
		s.http.RegisterOnShutdown(fn)
	}
	h := s.withGraph(root)
	if !s.fromStore {
		if err := s.replaySinceSnapshot(ctx, since); err != nil {
			return err
		}
	}
	s.handler.Store(&h)
	return nil
}

// Serve serves until ctx ends, then stops accepting, drains in-flight
// requests (bounded by the shutdown timeout) and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	feedCtx, stopFeed := context.WithCancel(context.Background())
	defer stopFeed()
	go s.follower.Run(feedCtx)
	if s.cfg.KeyRotation > 0 {
		go s.rotateKeys(feedCtx)
	}
	go s.compactChanges(feedCtx)
	go s.refreshStatistics(feedCtx)
	go s.keepSnapshots(feedCtx, s.fromStore)
	s.serveDebug(feedCtx)
	go s.recoverDeployments(feedCtx)
	go s.usageFlusher.Run(feedCtx)
	go s.runActivityLog(feedCtx)
	s.ready.Store(true)
	s.logStart()

	var serveErr error
	select {
	case <-ctx.Done():
	case <-s.serveDone:
		serveErr = s.serveErr
	}
	s.ready.Store(false)
	s.cfg.Logger.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(shutCtx); err != nil {
		s.cfg.Logger.Warn("drain did not finish in time; closing remaining connections", "err", err)
		_ = s.http.Close()
	}
	// Deployments still running are stopped and marked Failed (never left
	// Running) while the store is still open.
	s.deployer.Close()
	stopFeed()
	s.snapshotAtShutdown()
	s.flushUsageAtShutdown()
	s.flushActivityLog()
	if err := s.inst.Store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	s.cfg.Logger.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

func (s *Server) logStart() {
	inst := s.inst
	attrs := []any{"url", s.baseURL, "tenant", inst.TenantID, "subscription", inst.SubscriptionID,
		"store", inst.Store.Backend(), "dataDir", inst.DataDir, "ca", inst.DataDir + "/" + bootstrap.CAFile}
	if inst.CredentialsPath != "" {
		attrs = append(attrs, "credentials", inst.CredentialsPath)
	}
	s.cfg.Logger.Info("keyless server ready", attrs...)
	if inst.CredentialsPath != "" {
		s.cfg.Logger.Info("administrator credentials (Owner at /) are in the credentials file; load them with: eval \"$(keyless env --data-dir " + inst.DataDir + ")\"")
	}
}

func (s *Server) rotateKeys(ctx context.Context) {
	every(ctx, time.Minute, func() {
		if since := s.keys.ActiveSince(); !since.IsZero() && time.Since(since) >= s.cfg.KeyRotation {
			kid, rev, err := token.Rotate(ctx, s.inst.Store, s.inst.Keyring)
			if err != nil {
				s.cfg.Logger.Error("automatic signing-key rotation failed", "err", err)
				return
			}
			_ = s.follower.WaitFor(ctx, rev)
			s.cfg.Logger.Info("rotated the token-signing key", "kid", kid)
		}
		if err := token.Prune(ctx, s.inst.Store, MaxTokenLifetime); err != nil {
			s.cfg.Logger.Warn("pruning expired signing keys failed", "err", err)
		}
	})
}

// every runs fn at each interval until ctx ends (not at once: the
// maintenance loops start with the replica, which has just loaded).
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// refreshStatistics keeps the database's planner statistics current
// (PostgreSQL: ANALYZE of the tables that changed enough), at start and
// every minute so that a bulk load is planned right soon after it starts; the check
// is one catalogue read. Every replica may run it: a table one replica
// analyzed is no longer stale for the others.
func (s *Server) refreshStatistics(ctx context.Context) {
	refresh := func() {
		analyzed, err := s.inst.Store.RefreshStatistics(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("refreshing the database's statistics failed; will retry", "err", err)
		}
		if len(analyzed) > 0 {
			s.cfg.Logger.Info("refreshed the database's statistics", "tables", analyzed)
		}
	}
	// Once at start too: a replica started on a store loaded in bulk
	// (or restored) without statistics would otherwise plan a minute of
	// lists as if each table were tiny (4 s for the first page of a
	// subscription-wide list at 1M identities, against 0.4 ms analyzed).
	refresh()
	every(ctx, time.Minute, refresh)
}

// compactChanges trims the change feed, and deletes expired join tokens
// and launch grants and usage older than its retention, every few
// minutes. Every replica may run it: all three are idempotent.
func (s *Server) compactChanges(ctx context.Context) {
	every(ctx, 5*time.Minute, func() {
		if _, err := s.inst.Store.CompactChanges(ctx, time.Now().Add(-s.cfg.ChangeRetention)); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("change-feed compaction failed; will retry", "err", err)
		}
		if _, err := s.inst.Store.Update(ctx, func(tx store.Tx) error {
			_, err := tx.DeleteExpired(ctx, time.Now())
			return err
		}); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("deleting expired join tokens and launch grants failed; will retry", "err", err)
		}
		if err := s.compactUsage(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("deleting usage older than the retention failed; will retry", "err", err)
		}
		s.compactActivityLog(ctx)
		s.purgeDeletedSecrets(ctx)
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !s.ready.Load() {
		http.Error(w, "not ready: starting or shutting down", http.StatusServiceUnavailable)
		return
	}
	if err := s.inst.Store.Ping(ctx); err != nil {
		http.Error(w, "not ready: store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// BaseURL is the public URL of the replica.
func (s *Server) BaseURL() string { return s.baseURL }

// Installation exposes the opened installation (tests and CLI wiring).
func (s *Server) Installation() *bootstrap.Installation { return s.inst }

// WaitFor returns once this replica's indexes reflect revision rev.
func (s *Server) WaitFor(ctx context.Context, rev int64) error { return s.follower.WaitFor(ctx, rev) }

// ListenURL is the https URL of this replica's own listener, which differs
// from BaseURL when replicas share a public URL.
func (s *Server) ListenURL() string {
	return "https://" + s.ln.Addr().String()
}

// Engine is the replica's RBAC engine (tests measure replication with it).
func (s *Server) Engine() *authz.Engine { return s.engine }

// IndexesFromSnapshot reports whether this start loaded the indexes from
// their snapshots rather than from the whole store.
func (s *Server) IndexesFromSnapshot() bool { return !s.fromStore }

// serveStarting answers while the indexes load: alive, not ready, and 503
// with Retry-After to everything else, which the Azure SDKs and az retry.
func (s *Server) serveStarting(w http.ResponseWriter, r *http.Request) {
	const msg = "keyless is starting: its indexes are still loading; retry shortly."
	w.Header().Set("Retry-After", "5")
	switch r.URL.Path {
	case "/healthz/live":
		w.Header().Del("Retry-After")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	case "/healthz/ready":
		http.Error(w, "not ready: loading indexes", http.StatusServiceUnavailable)
	default:
		if isTokenServicePath(r.URL.Path) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "temporarily_unavailable", "error_description": msg})
			return
		}
		writeEdgeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", msg)
	}
}
