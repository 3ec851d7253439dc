// Package agent is `keyless agent`: it runs on a host that is itself a
// resource, enrolls once with a one-time join token, holds a short-lived
// client certificate bound to that resource (renewed before it expires),
// and serves the Azure Arc and IMDS managed-identity protocols to the
// processes on the host, caching tokens and dropping them when the server
// says an identity of the resource changed.
//
// It stores only its own private key and certificate (mode 0600 in its
// data directory); tokens live in memory only. It never asks the server
// for anything but its own resource's identities: the certificate decides
// which resource that is.
package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-io/keyless/internal/localmi"
	"github.com/keyless-io/keyless/internal/ratelimit"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// Defaults.
const (
	// DefaultListen is where Arc agents listen (reference §2.5).
	DefaultListen = "127.0.0.1:40342"
	// DefaultRate and DefaultBurst are IMDS's documented managed-identity
	// limit, 20 requests/s per host (reference §12.3).
	DefaultRate  = 20
	DefaultBurst = 40
	// identityFile holds the private key and certificate chain.
	identityFile = "agent.pem"
	// stateFile names the agent and its resource, for humans and restarts.
	stateFile = "agent.json"
)

// Config is the agent's command line.
type Config struct {
	ServerURL string
	// CAFile is the server's CA (ca.pem of its data directory).
	CAFile    string
	JoinToken string
	DataDir   string
	// Listen is the Arc endpoint; IMDSListen, if set, the IMDS endpoint
	// (169.254.169.254:80 on a real host).
	Listen     string
	IMDSListen string
	// ArcTokenDir and ArcGroup: where challenge key files go and which
	// group may read them.
	ArcTokenDir string
	ArcGroup    string
	// Rate and Burst limit the host's requests; Rate < 0 disables.
	Rate  float64
	Burst int
	// PollInterval bounds how long a cached token is served while the
	// invalidation stream is down.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Agent is a running agent.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	caPool *x509.CertPool
	cache  *localmi.Cache
	keys   *localmi.ArcKeys

	mu           sync.Mutex
	ident        identity
	cancelStream context.CancelFunc
	client       atomic.Pointer[workloadapi.Client]

	arcLn, imdsLn net.Listener
	servers       []*http.Server
}

type identity struct {
	AgentID    string `json:"agentId"`
	ResourceID string `json:"resourceId"`
	Server     string `json:"server"`
	// JoinToken is a hash of the join token the agent enrolled with, so
	// that starting with a different token enrolls again (after a
	// revocation, or to move the host to another resource).
	JoinToken string `json:"joinTokenSHA256,omitempty"`
	cert      tls.Certificate
	leaf      *x509.Certificate
}

// New loads the agent's identity (enrolling with the join token when it
// has none), prepares the Arc key directory and binds the listeners.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.ServerURL = strings.TrimRight(cfg.ServerURL, "/")
	if !strings.HasPrefix(cfg.ServerURL, "https://") {
		return nil, errors.New("--server must be the keyless server's https:// URL")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("--data-dir is required: the agent keeps its key and certificate there")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	a := &Agent{cfg: cfg, log: cfg.Logger}
	pemCA, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	a.caPool = x509.NewCertPool()
	if !a.caPool.AppendCertsFromPEM(pemCA) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", cfg.CAFile)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := a.loadOrEnroll(ctx); err != nil {
		return nil, err
	}
	gid := -1
	if cfg.ArcGroup != "" {
		if gid, err = lookupGroup(cfg.ArcGroup); err != nil {
			return nil, err
		}
	}
	if a.keys, err = localmi.NewArcKeys(cfg.ArcTokenDir, gid); err != nil {
		return nil, err
	}
	a.cache = localmi.NewCache(localmi.FetcherFunc(a.fetch), cfg.PollInterval)
	rate, burst := cfg.Rate, cfg.Burst
	if rate == 0 {
		rate = DefaultRate
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	var limiter *ratelimit.Bucket
	if rate > 0 {
		limiter = ratelimit.New(rate, burst)
	}
	if a.arcLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	a.servers = append(a.servers, a.localServer(&localmi.Handler{Flavour: localmi.Arc, Cache: a.cache, Limiter: limiter, Keys: a.keys, Logger: a.log}))
	if cfg.IMDSListen != "" {
		if a.imdsLn, err = net.Listen("tcp", cfg.IMDSListen); err != nil {
			a.arcLn.Close()
			return nil, fmt.Errorf("listen on %s: %w", cfg.IMDSListen, err)
		}
		a.servers = append(a.servers, a.localServer(&localmi.Handler{Flavour: localmi.IMDS, Cache: a.cache, Limiter: limiter, Logger: a.log}))
	}
	return a, nil
}

func (a *Agent) localServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
}

// ArcAddr is the Arc listener's address; IMDSAddr the IMDS one ("" if none).
func (a *Agent) ArcAddr() string { return a.arcLn.Addr().String() }

// IMDSAddr is the IMDS listener's address.
func (a *Agent) IMDSAddr() string {
	if a.imdsLn == nil {
		return ""
	}
	return a.imdsLn.Addr().String()
}

// ID is the agent ID; ResourceID the resource it runs as.
func (a *Agent) ID() string { a.mu.Lock(); defer a.mu.Unlock(); return a.ident.AgentID }

// ResourceID is the resource the agent runs as.
func (a *Agent) ResourceID() string { a.mu.Lock(); defer a.mu.Unlock(); return a.ident.ResourceID }

// Cache exposes the token cache (tests).
func (a *Agent) Cache() *localmi.Cache { return a.cache }

// Close releases the listeners of an agent that will not Run.
func (a *Agent) Close() {
	_ = a.arcLn.Close()
	if a.imdsLn != nil {
		_ = a.imdsLn.Close()
	}
	a.keys.Close()
}

// Run serves until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	lns := []net.Listener{a.arcLn, a.imdsLn}
	for i, srv := range a.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(lns[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	bg, stop := context.WithCancel(ctx)
	wg.Add(3)
	go func() { defer wg.Done(); a.followEvents(bg) }()
	go func() { defer wg.Done(); a.renewLoop(bg) }()
	go func() { defer wg.Done(); a.expireKeys(bg) }()
	a.log.Info("keyless agent ready", "agent", a.ID(), "resource", a.ResourceID(), "arc", a.ArcAddr(), "imds", a.IMDSAddr())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range a.servers {
		_ = srv.Shutdown(shut)
	}
	wg.Wait()
	a.keys.Close()
	if c := a.client.Load(); c != nil {
		c.HTTP.CloseIdleConnections()
	}
	return err
}

func (a *Agent) fetch(ctx context.Context, resource string, sel workload.Selector) (localmi.Token, error) {
	resp, err := a.client.Load().AgentToken(ctx, resource, sel)
	if err != nil {
		return localmi.Token{}, err
	}
	return localmi.TokenFrom(resp, time.Now())
}

// followEvents keeps the invalidation stream open, reconnecting with
// backoff; while it is down the cache polls.
func (a *Agent) followEvents(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		streamCtx, cancel := context.WithCancel(ctx)
		a.mu.Lock()
		a.cancelStream = cancel
		a.mu.Unlock()
		err := a.client.Load().AgentEvents(streamCtx, 0, func(ev workloadapi.Event) {
			switch ev.Type {
			case workloadapi.EventReady:
				a.cache.SetConnected(true)
				backoff = time.Second
			case workloadapi.EventInvalidate:
				a.log.Debug("identities of the resource changed; dropping cached tokens", "resource", ev.ResourceID)
				a.cache.Invalidate()
			case workloadapi.EventRevoked:
				a.log.Error("the server revoked this agent; tokens will be refused until it is enrolled again", "reason", ev.Reason)
				a.cache.Invalidate()
			}
		})
		cancel()
		a.cache.SetConnected(false)
		if ctx.Err() != nil {
			return
		}
		a.log.Debug("event stream ended; polling until it reconnects", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (a *Agent) expireKeys(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.keys.Expire()
		}
	}
}

func lookupGroup(name string) (int, error) {
	if gid, err := strconv.Atoi(name); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("--arc-group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// newKeyAndCSR makes a fresh P-256 key and a certificate request for it;
// the server decides what the certificate says.
func newKeyAndCSR() (*ecdsa.PrivateKey, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, "", err
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

func (a *Agent) identityPath() string { return filepath.Join(a.cfg.DataDir, identityFile) }

// IdentityFile is the file holding the agent's key and certificate.
func (a *Agent) IdentityFile() string { return a.identityPath() }
