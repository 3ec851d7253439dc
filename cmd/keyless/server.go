package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/activity"
	"github.com/keyless-io/keyless/internal/audit"
	"github.com/keyless-io/keyless/internal/server"
	"github.com/keyless-io/keyless/internal/sts"
	"github.com/keyless-io/keyless/internal/usage"
)

func serverCommand() *cobra.Command {
	var (
		cfg       server.Config
		logFormat string
		snapshots bool
		logLevel  string
		auditLog  string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the keyless server (ARM API, token service, RBAC) on one HTTPS listener",
		Long: `Run the keyless server.

On first start it initialises the data directory: a tenant and a default
subscription, a CA (ca.pem) and server certificate, token-signing keys, and an
administrator service principal holding Owner at "/", whose credentials are
written to admin-credentials.json (mode 0600). Later starts reuse all of it.

The in-memory indexes (principals, role assignments) are snapshotted into the
data directory (index-*.snapshot, mode 0600), so that a restart reads them back
and replays only the changes since, instead of reading the whole store.

The store is SQLite in the data directory unless --store names a PostgreSQL
database (postgres://...), which several replicas may share; replicas must then
share the master key too (--master-key or KEYLESS_MASTER_KEY).`,
		Example: `  keyless server
  keyless server --data-dir /var/lib/keyless --listen 0.0.0.0:8443 --hostname keyless.example
  keyless server --store postgres://keyless@db:5432/keyless --master-key "$KEYLESS_MASTER_KEY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logFormat, logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			cfg.DisableIndexSnapshots = !snapshots
			audit, closeAudit, err := newAuditLogger(auditLog, logFormat)
			if err != nil {
				return err
			}
			defer closeAudit()
			cfg.Audit = audit
			if cfg.MasterKey == "" {
				cfg.MasterKey = os.Getenv("KEYLESS_MASTER_KEY")
			}
			if cfg.StoreDSN == "" {
				cfg.StoreDSN = os.Getenv("KEYLESS_STORE")
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			return srv.Serve(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "./keyless-data", "data directory (created on first start)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8443", "HTTPS listen address")
	f.StringVar(&cfg.StoreDSN, "store", "", "store: empty for SQLite in the data directory, or postgres://… (env KEYLESS_STORE)")
	f.StringVar(&cfg.Hostname, "hostname", "", "extra host name for the server certificate and the public URL")
	f.StringVar(&cfg.KeyVaultHostSuffix, "keyvault-host-suffix", "", "serve each Key Vault at https://{name}.{suffix}[:port]/ (needs a wildcard DNS record for the suffix); empty serves vaults at {public URL}/keyvault/{name}/")
	f.StringVar(&cfg.PublicURL, "public-url", "", "public https URL clients use, if it differs from https://<hostname>:<port>")
	f.StringVar(&cfg.MasterKey, "master-key", "", "base64 master key sealing private keys at rest (env KEYLESS_MASTER_KEY; default: <data-dir>/master.key)")
	f.DurationVar(&cfg.TokenLifetime, "token-lifetime", time.Hour, "lifetime of issued access tokens (at most 24h10m)")
	f.DurationVar(&cfg.KeyRotation, "key-rotation", 30*24*time.Hour, "rotate the token-signing key when it is older than this (0 disables)")
	f.StringVar(&cfg.DebugListen, "debug-listen", "", "serve Go's runtime profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off when empty")
	f.DurationVar(&cfg.ChangeRetention, "change-retention", 24*time.Hour, "how long change-feed entries are kept for replicas to catch up; one cut off longer reloads its indexes")
	f.BoolVar(&snapshots, "index-snapshots", true, "keep snapshots of the in-memory indexes in the data directory and start from them (false: every start reads the whole store)")
	f.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", 10*time.Minute, "rewrite the index snapshots this often when anything changed (sooner after 20,000 revisions, and at shutdown)")
	f.IntVar(&cfg.FederatedCredentialLimit, "federated-credential-limit", 20, "federated identity credentials allowed per user-assigned identity (Azure: 20; negative: unlimited)")
	f.Float64Var(&cfg.ClientAuthFailureRate, "client-auth-failure-rate", sts.DefaultClientAuthFailureRate, "failed client authentications per second per source address before the token service answers 429 (negative: unlimited)")
	f.IntVar(&cfg.ClientAuthFailureBurst, "client-auth-failure-burst", sts.DefaultClientAuthFailureBurst, "burst of failed client authentications allowed per source address above the rate")
	f.DurationVar(&cfg.UsageFlushInterval, "usage-flush-interval", usage.DefaultFlushInterval, "how often this replica writes the token and request usage it aggregates in memory; a crash loses at most one interval")
	f.DurationVar(&cfg.UsageRetention, "usage-retention", usage.DefaultRetention, "how long usage (tokens per audience and day, requests per action and scope) is kept")
	f.DurationVar(&cfg.ActivityFlushInterval, "activity-flush-interval", activity.DefaultFlushInterval, "how often this replica writes the activity log events it buffers in memory; a crash loses at most one interval")
	f.DurationVar(&cfg.ActivityRetention, "activity-retention", activity.DefaultRetention, "how long activity log events (control-plane changes and refusals) are kept")
	f.StringArrayVar(&cfg.RoleCatalogues, "role-catalogue", nil, "file of built-in role definitions as `az role definition list` prints them, loaded beside the compiled ones (repeatable; see docs/rbac.md)")
	f.DurationVar(&cfg.PortalSessionLifetime, "portal-session-lifetime", 8*time.Hour, "how long a portal browser session lasts after its one-time sign-in link (Sign out ends it sooner)")
	f.StringVar(&cfg.ReplicaID, "replica-id", "", "name of this replica's usage rows (default: the host name with a random suffix)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long SIGTERM waits for in-flight requests")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&auditLog, "audit-log", "", "append audit records to this file as hash-chained JSON lines (check with 'keyless audit verify'); default: the log on stderr, whatever --log-level says")
	return cmd
}

// newAuditLogger builds the audit sink. Audit records are never filtered by
// --log-level: lowering log noise must not silence the record of who did
// what.
func newAuditLogger(path, format string) (*slog.Logger, func(), error) {
	if path == "" {
		l, err := newLogger(format, "info")
		if err != nil {
			return nil, nil, err
		}
		return l.With("log", "audit"), func() {}, nil
	}
	w, err := audit.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--audit-log: %w", err)
	}
	return slog.New(w.Handler()).With("log", "audit"), func() { w.Close() }, nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}
