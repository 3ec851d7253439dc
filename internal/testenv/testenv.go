// Package testenv starts a real keyless server in-process on a loopback
// port for end-to-end tests, and builds the official SDK clients' options
// to talk to it. Tests use it instead of hand-written HTTP so that every
// assertion is also a compatibility check with the Azure SDK.
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/server"
)

// Env is a running server.
type Env struct {
	URL        string
	DataDir    string
	Creds      bootstrap.Credentials
	CAPool     *x509.CertPool
	HTTPClient *http.Client
	Server     *server.Server
	stop       context.CancelFunc
	done       chan error
}

// Options tune Start.
type Options struct {
	DataDir       string
	StoreDSN      string
	MasterKey     string
	TokenLifetime time.Duration
	// Logs go to the test log when set; otherwise they are discarded.
	Verbose bool
	// FederationHTTPClient is how the server reaches external issuers.
	FederationHTTPClient *http.Client
	// PublicURL makes replicas of one installation share an issuer.
	PublicURL string
	// FederatedCredentialLimit is passed to the server (0: Azure's 20).
	FederatedCredentialLimit int
	// KeyVaultHostSuffix is passed to the server (vaults served by host).
	KeyVaultHostSuffix string
	// Audit, when set, receives the server's audit log.
	Audit *slog.Logger
	// RoleCatalogues are passed to the server (--role-catalogue).
	RoleCatalogues []string
	// MaxSnapshotReplay is passed to the server (0: its default).
	MaxSnapshotReplay int
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(t.TempDir(), "data")
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.Verbose || os.Getenv("KEYLESS_TEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		DataDir: opts.DataDir, Listen: "127.0.0.1:0", StoreDSN: opts.StoreDSN, MasterKey: opts.MasterKey,
		TokenLifetime: opts.TokenLifetime, ShutdownTimeout: 5 * time.Second, Logger: logger,
		FederationHTTPClient: opts.FederationHTTPClient, PublicURL: opts.PublicURL,
		FederatedCredentialLimit: opts.FederatedCredentialLimit, RoleCatalogues: opts.RoleCatalogues,
		KeyVaultHostSuffix: opts.KeyVaultHostSuffix, Audit: opts.Audit, MaxSnapshotReplay: opts.MaxSnapshotReplay,
	})
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	e := &Env{URL: srv.ListenURL(), DataDir: opts.DataDir, Server: srv, stop: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { e.Stop(t) })

	if srv.Installation().CredentialsPath != "" {
		if e.Creds, err = bootstrap.ReadCredentials(filepath.Join(opts.DataDir, bootstrap.CredentialsFile)); err != nil {
			t.Fatal(err)
		}
	}
	pem, err := os.ReadFile(filepath.Join(opts.DataDir, bootstrap.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	e.CAPool = x509.NewCertPool()
	e.CAPool.AppendCertsFromPEM(pem)
	e.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.CAPool, MinVersion: tls.VersionTLS12},
	}}
	return e
}

// Stop shuts the server down (idempotent).
func (e *Env) Stop(t testing.TB) {
	if e.stop == nil {
		return
	}
	e.stop()
	e.stop = nil
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("server did not stop")
	}
}

// Cloud is the cloud configuration pointing at this server.
func (e *Env) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: e.URL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: e.URL, Audience: strings.TrimRight(bootstrap.ResourceManagerAudience, "/")},
		},
	}
}

// ClientOptions are azcore options trusting the server's CA.
func (e *Env) ClientOptions() policy.ClientOptions {
	return policy.ClientOptions{Cloud: e.Cloud(), Transport: e.HTTPClient}
}

// ARMOptions configure ARM SDK clients for this server.
func (e *Env) ARMOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: e.ClientOptions()}
}

// AdminCredential authenticates as the administrator from the credentials
// file, exactly as a user's program would.
func (e *Env) AdminCredential(t testing.TB) azcore.TokenCredential {
	return e.SecretCredential(t, e.Creds.ClientID, e.Creds.ClientSecret)
}

// SecretCredential is a ClientSecretCredential against this server.
func (e *Env) SecretCredential(t testing.TB, clientID, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(e.Creds.TenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: e.ClientOptions(), DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
