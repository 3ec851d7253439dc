// Package launcher is `keyless run`: it starts one process as a resource,
// the way an app platform starts an app. It obtains a launch grant for the
// resource with the operator's credential, serves the App Service
// managed-identity protocol, 2019-08-01 and 2017-09-01, on a random
// loopback port for the child only (a per-launch secret, the
// X-IDENTITY-HEADER and `secret` header, that lives in memory and in the
// child's environment, never on disk), and revokes the grant when the
// child exits. stdin, stdout, stderr, signals and the exit code pass
// through unchanged.
//
// It never forwards the operator's credential to the child and never
// caches tokens beyond their refresh time.
package launcher

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/keyless-io/keyless/internal/localmi"
	"github.com/keyless-io/keyless/internal/ratelimit"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// Per-launch limits on the local endpoint. The child's SDK caches tokens,
// so a child above this is looping; it gets 429 with Retry-After, which
// every client honours.
const (
	DefaultRate  = 20
	DefaultBurst = 40
)

// Options configure a launch.
type Options struct {
	// Client reaches the keyless server (base URL, CA-trusting client).
	Client *workloadapi.Client
	// Credential is the operator's; it obtains (and renews) the grant.
	Credential azcore.TokenCredential
	// Audience is the ARM audience the operator's token is requested for.
	Audience   string
	ResourceID string
	// GrantTTL is the lifetime of each grant; the launcher replaces its
	// grant before it expires, for as long as the child runs.
	GrantTTL time.Duration
	// Rate and Burst limit the local endpoint; Rate < 0 disables.
	Rate  float64
	Burst int
	// Listen is the local address (default 127.0.0.1:0).
	Listen string
	Logger *slog.Logger
}

// Launch is a running local endpoint backed by a launch grant.
type Launch struct {
	opts     Options
	endpoint string
	secret   string
	cache    *localmi.Cache
	srv      *http.Server
	ln       net.Listener
	log      *slog.Logger

	mu           sync.Mutex
	grant        workloadapi.Grant
	cancelStream context.CancelFunc

	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// Start obtains a grant and starts serving. Close it when the child exits.
func Start(ctx context.Context, opts Options) (*Launch, error) {
	if opts.ResourceID == "" {
		return nil, errors.New("a resource ID is required (--resource)")
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Audience == "" {
		opts.Audience = "https://management.azure.com/"
	}
	l := &Launch{opts: opts, log: opts.Logger}
	g, err := l.newGrant(ctx)
	if err != nil {
		return nil, err
	}
	l.grant = g
	l.secret = randomSecret()
	l.cache = localmi.NewCache(localmi.FetcherFunc(l.fetch), 30*time.Second)
	rate, burst := opts.Rate, opts.Burst
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
	l.ln, err = net.Listen("tcp", opts.Listen)
	if err != nil {
		l.revoke(g)
		return nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	l.endpoint = "http://" + l.ln.Addr().String() + localmi.AppServicePath
	l.srv = &http.Server{
		Handler:           &localmi.Handler{Flavour: localmi.AppService, Cache: l.cache, Limiter: limiter, Secret: l.secret, Logger: l.log},
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: time.Minute,
	}
	runCtx, stop := context.WithCancel(context.Background())
	l.stop = stop
	l.wg.Add(3)
	go func() { defer l.wg.Done(); _ = l.srv.Serve(l.ln) }()
	go func() { defer l.wg.Done(); l.followEvents(runCtx) }()
	go func() { defer l.wg.Done(); l.renewGrants(runCtx) }()
	return l, nil
}

// Endpoint is the IDENTITY_ENDPOINT (and MSI_ENDPOINT) value.
func (l *Launch) Endpoint() string { return l.endpoint }

// Secret is the IDENTITY_HEADER (and MSI_SECRET) value.
func (l *Launch) Secret() string { return l.secret }

// GrantID is the current grant (tests).
func (l *Launch) GrantID() string { return l.currentGrant().GrantID }

// childDropped are removed from the child's environment: the variables of
// every other managed-identity source, so the child's SDK picks the App
// Service source (reference §2.1, §13); and the operator's own credentials,
// which the child must never see (it proves itself with its resource's
// identity, not with the operator's secret). AZURE_CLIENT_ID would also
// make DefaultAzureCredential ask for a user-assigned identity by that ID,
// and AZURE_TENANT_ID with it would steer it to workload identity. The
// App Service variables the launcher sets itself go too, so an inherited
// value never shadows them.
var childDropped = map[string]bool{
	"IDENTITY_ENDPOINT": true, "IDENTITY_HEADER": true, "IDENTITY_SERVER_THUMBPRINT": true,
	"MSI_ENDPOINT": true, "MSI_SECRET": true, "IMDS_ENDPOINT": true,
	"AZURE_CLIENT_ID": true, "AZURE_CLIENT_SECRET": true, "AZURE_TENANT_ID": true,
	"AZURE_CLIENT_CERTIFICATE_PATH": true, "AZURE_CLIENT_CERTIFICATE_PASSWORD": true,
	"AZURE_CLIENT_SEND_CERTIFICATE_CHAIN": true, "AZURE_FEDERATED_TOKEN_FILE": true,
	"AZURE_USERNAME": true, "AZURE_PASSWORD": true,
	"KEYLESS_CREDENTIALS": true, "KEYLESS_CLIENT_SECRET": true, "KEYLESS_MASTER_KEY": true,
	"WEBSITE_SITE_NAME": true, "APPSETTING_WEBSITE_SITE_NAME": true, "WEBSITE_RESOURCE_GROUP": true,
	"WEBSITE_OWNER_NAME": true,
}

// Env returns base with childDropped removed and the variables App Service
// sets: both protocols' endpoint and secret (IDENTITY_ENDPOINT and
// IDENTITY_HEADER for 2019-08-01; MSI_ENDPOINT and MSI_SECRET, the same
// values, for 2017-09-01, which older clients such as az 2.45 know only),
// and the site's name and resource group. msrestazure, under `az login
// --identity`, uses MSI_ENDPOINT the App Service way only when
// APPSETTING_WEBSITE_SITE_NAME is set.
func (l *Launch) Env(base []string) []string {
	drop := childDropped
	out := make([]string, 0, len(base)+8)
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[strings.ToUpper(name)] {
			out = append(out, kv)
		}
	}
	out = append(out, "IDENTITY_ENDPOINT="+l.endpoint, "IDENTITY_HEADER="+l.secret,
		"MSI_ENDPOINT="+l.endpoint, "MSI_SECRET="+l.secret)
	sub, group, site := siteOf(l.opts.ResourceID)
	out = append(out, "WEBSITE_SITE_NAME="+site, "APPSETTING_WEBSITE_SITE_NAME="+site)
	if group != "" {
		out = append(out, "WEBSITE_RESOURCE_GROUP="+group, "WEBSITE_OWNER_NAME="+sub+"+"+group+"-webspace")
	}
	return out
}

// siteOf reads the subscription, resource group and name from a resource
// ID; the name is the last segment.
func siteOf(resourceID string) (subscription, group, name string) {
	segs := strings.Split(strings.Trim(resourceID, "/"), "/")
	for i := 0; i+1 < len(segs); i += 2 {
		switch strings.ToLower(segs[i]) {
		case "subscriptions":
			subscription = segs[i+1]
		case "resourcegroups":
			group = segs[i+1]
		}
	}
	return subscription, group, segs[len(segs)-1]
}

// Close stops serving and revokes the grant.
func (l *Launch) Close() error {
	var err error
	l.closed.Do(func() {
		l.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.srv.Shutdown(ctx)
		l.wg.Wait()
		err = l.revoke(l.currentGrant())
	})
	return err
}

func (l *Launch) currentGrant() workloadapi.Grant {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.grant
}

func (l *Launch) newGrant(ctx context.Context) (workloadapi.Grant, error) {
	bearer, err := workloadapi.Bearer(ctx, l.opts.Credential, l.opts.Audience)
	if err != nil {
		return workloadapi.Grant{}, fmt.Errorf("authenticate to the keyless server: %w", err)
	}
	g, err := l.opts.Client.CreateGrant(ctx, bearer, workloadapi.CreateGrantRequest{
		ResourceID: l.opts.ResourceID, TTLSeconds: int64(l.opts.GrantTTL / time.Second),
	})
	if err != nil {
		return workloadapi.Grant{}, fmt.Errorf("obtain a launch grant for %s: %w", l.opts.ResourceID, err)
	}
	return g, nil
}

func (l *Launch) revoke(g workloadapi.Grant) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.opts.Client.RevokeGrant(ctx, g.GrantID, g.Secret)
	var ae *workloadapi.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return nil // already revoked or expired
	}
	return err
}

func (l *Launch) fetch(ctx context.Context, resource string, sel workload.Selector) (localmi.Token, error) {
	g := l.currentGrant()
	resp, err := l.opts.Client.GrantToken(ctx, g.GrantID, g.Secret, resource, sel)
	if err != nil {
		return localmi.Token{}, err
	}
	return localmi.TokenFrom(resp, time.Now())
}

// followEvents keeps the invalidation stream open; while it is down the
// cache polls the server instead.
func (l *Launch) followEvents(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		g := l.currentGrant()
		streamCtx, cancel := context.WithCancel(ctx)
		l.mu.Lock()
		l.cancelStream = cancel
		l.mu.Unlock()
		err := l.opts.Client.GrantEvents(streamCtx, g.GrantID, g.Secret, 0, func(ev workloadapi.Event) {
			switch ev.Type {
			case workloadapi.EventReady:
				l.cache.SetConnected(true)
				backoff = time.Second
			case workloadapi.EventInvalidate, workloadapi.EventRevoked:
				l.cache.Invalidate()
			}
		})
		cancel()
		l.cache.SetConnected(false)
		if ctx.Err() != nil {
			return
		}
		l.log.Debug("launch event stream ended; polling until it reconnects", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// renewGrants replaces the grant at 80 % of its lifetime, so a child may
// run longer than one grant.
func (l *Launch) renewGrants(ctx context.Context) {
	for {
		g := l.currentGrant()
		wait := time.Until(g.ExpiresOn) * 4 / 5
		if wait < 10*time.Second {
			wait = 10 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		ng, err := l.newGrant(ctx)
		if err != nil {
			l.log.Warn("renewing the launch grant failed; will retry", "err", err)
			continue
		}
		l.mu.Lock()
		l.grant = ng
		cancel := l.cancelStream
		l.mu.Unlock()
		if cancel != nil {
			cancel() // reconnect the stream with the new grant
		}
		_ = l.revoke(g)
	}
}

func randomSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("launcher: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
