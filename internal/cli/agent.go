package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/agent"
	"github.com/keyless-io/keyless/internal/localmi"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

func init() { register(func(root *cobra.Command) { root.AddCommand(agentCommand()) }) }

func agentCommand() *cobra.Command {
	var (
		cfg      agent.Config
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "agent --server URL --ca-file ca.pem --data-dir DIR [--join-token TOKEN]",
		Short: "Run the host agent: managed-identity endpoints (Azure Arc, IMDS) for the processes on this host",
		Long: `Run the keyless host agent on a host that is itself a resource.

The first start enrolls with a one-time join token (from 'keyless agent
join-token create --resource ID') and keeps a private key and a short-lived
certificate in --data-dir (mode 0600); later starts reuse them, and the agent
renews the certificate before it expires.

The agent serves the Azure Arc protocol on --listen (127.0.0.1:40342, the Arc
default): set IDENTITY_ENDPOINT=http://127.0.0.1:40342/metadata/identity/oauth2/token
and IMDS_ENDPOINT=http://127.0.0.1:40342 for the workloads. Challenge key files
go to --arc-token-dir (mode 0600, or 0640 and group --arc-group so members of
that group can use the host's identities). With --imds-listen it also serves
the IMDS protocol (on a real host: 169.254.169.254:80).`,
		Example: `  keyless agent --server https://keyless.example:8443 --ca-file ca.pem \
    --join-token "$(cat join-token)" --data-dir /var/lib/keyless-agent --arc-group himds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.JoinToken == "" {
				cfg.JoinToken = os.Getenv("KEYLESS_JOIN_TOKEN")
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			a, err := agent.New(ctx, cfg)
			if err != nil {
				return err
			}
			return a.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ServerURL, "server", "", "URL of the keyless server (https://...)")
	f.StringVar(&cfg.CAFile, "ca-file", "", "the server's CA certificate (ca.pem in its data directory)")
	f.StringVar(&cfg.JoinToken, "join-token", "", "one-time join token for the first start (default: KEYLESS_JOIN_TOKEN)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory for the agent's key and certificate")
	f.StringVar(&cfg.Listen, "listen", agent.DefaultListen, "address of the Azure Arc endpoint")
	f.StringVar(&cfg.IMDSListen, "imds-listen", "", "address of the IMDS endpoint (e.g. 169.254.169.254:80); empty disables it")
	f.StringVar(&cfg.ArcTokenDir, "arc-token-dir", localmi.DefaultArcTokenDir, "directory for Arc challenge key files (clients accept only the default)")
	f.StringVar(&cfg.ArcGroup, "arc-group", "", "group (name or GID) allowed to read Arc key files")
	f.Float64Var(&cfg.Rate, "rate-limit", agent.DefaultRate, "requests per second per host before 429 (negative: unlimited)")
	f.IntVar(&cfg.Burst, "rate-burst", agent.DefaultBurst, "burst of requests allowed above the rate")
	f.DurationVar(&cfg.PollInterval, "poll-interval", 30*time.Second, "how long a cached token is served while the server's event stream is unreachable")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	for _, name := range []string{"server", "ca-file", "data-dir"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.AddCommand(joinTokenCommand(), agentListCommand(), agentRevokeCommand())
	return cmd
}

func joinTokenCommand() *cobra.Command {
	jt := &cobra.Command{Use: "join-token", Short: "Manage agent join tokens"}
	var (
		resourceID string
		ttl        time.Duration
	)
	create := &cobra.Command{
		Use:   "create --resource ID [--ttl 1h]",
		Short: "Create a one-time token with which one agent enrolls as the resource",
		Long: `Create a one-time join token. An agent started with it enrolls as the
resource and can then obtain tokens for the resource's managed identities.
You need write permission on the resource. The token is shown once and works
once; only a keyed fingerprint of it is stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if resourceID == "" {
				return errors.New("--resource is required")
			}
			client, bearer, err := operatorClient(cmd)
			if err != nil {
				return err
			}
			out, err := client.CreateJoinToken(cmd.Context(), bearer, workloadapi.CreateJoinTokenRequest{ResourceID: resourceID, TTLSeconds: int64(ttl / time.Second)})
			if err != nil {
				return err
			}
			return Print(cmd, out)
		},
	}
	create.Flags().StringVar(&resourceID, "resource", "", "ID of the resource the agent will run as")
	create.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token may be used")
	jt.AddCommand(create)
	return jt
}

func agentListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List enrolled agents (those whose resource you may read)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, bearer, err := operatorClient(cmd)
			if err != nil {
				return err
			}
			agents, err := client.ListAgents(cmd.Context(), bearer)
			if err != nil {
				return err
			}
			return Print(cmd, agents)
		},
	}
}

func agentRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke AGENT_ID",
		Short: "Revoke an agent: its certificate stops working on its next request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, bearer, err := operatorClient(cmd)
			if err != nil {
				return err
			}
			ag, err := client.RevokeAgent(cmd.Context(), bearer, args[0])
			if err != nil {
				return err
			}
			return Print(cmd, ag)
		},
	}
}

// operatorClient connects to the workload endpoints as the CLI's profile.
func operatorClient(cmd *cobra.Command) (*workloadapi.Client, string, error) {
	conn, err := Connect(cmd)
	if err != nil {
		return nil, "", err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
		cmd.SetContext(ctx)
	}
	bearer, err := workloadapi.Bearer(ctx, conn.Credential, conn.Profile.ResourceManagerAudience)
	if err != nil {
		return nil, "", err
	}
	return &workloadapi.Client{BaseURL: strings.TrimRight(conn.Profile.ResourceManagerEndpoint, "/"), HTTP: conn.HTTPClient}, bearer, nil
}
