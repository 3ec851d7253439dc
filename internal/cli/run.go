package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/launcher"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

func init() { register(func(root *cobra.Command) { root.AddCommand(runCommand()) }) }

func runCommand() *cobra.Command {
	var (
		resourceID string
		ttl        time.Duration
		rate       float64
		burst      int
	)
	cmd := &cobra.Command{
		Use:   "run --resource ID [--] COMMAND [ARG...]",
		Short: "Run a command as a resource, with its managed identities (App Service protocol)",
		Long: `Run a command as a resource, the way an app platform starts an app.

keyless run obtains a launch grant for the resource (you need write permission
on it), serves the App Service managed-identity endpoint on a random loopback
port, and starts the command with IDENTITY_ENDPOINT and IDENTITY_HEADER set
(and MSI_ENDPOINT, MSI_SECRET, IDENTITY_SERVER_THUMBPRINT and IMDS_ENDPOINT
removed, as are the operator's own credentials: AZURE_CLIENT_ID,
AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AZURE_CLIENT_CERTIFICATE_*,
AZURE_FEDERATED_TOKEN_FILE, KEYLESS_CREDENTIALS and the like). Unchanged Azure SDK programs then get tokens for the resource's
system-assigned identity, or a user-assigned one attached to it, with
ManagedIdentityCredential or DefaultAzureCredential.

stdin, stdout, stderr, signals and the exit code pass through unchanged. The
grant is revoked when the command exits.`,
		Example: `  keyless run --resource /subscriptions/$SUB/resourceGroups/rg1/providers/Microsoft.Web/sites/app1 -- ./app
  keyless run --resource $ID -- python3 -c 'from azure.identity import ManagedIdentityCredential as M; print(M().get_token("https://vault.azure.net/.default"))'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if resourceID == "" {
				return fmt.Errorf("--resource is required")
			}
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			code, err := launcher.Run(ctx, launcher.Options{
				Client:     &workloadapi.Client{BaseURL: strings.TrimRight(conn.Profile.ResourceManagerEndpoint, "/"), HTTP: conn.HTTPClient},
				Credential: conn.Credential,
				Audience:   conn.Profile.ResourceManagerAudience,
				ResourceID: resourceID,
				GrantTTL:   ttl,
				Rate:       rate,
				Burst:      burst,
			}, launcher.Process{Args: args, Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			if code != 0 {
				return ExitError{Code: code, Err: fmt.Errorf("%s exited with status %d", args[0], code)}
			}
			return nil
		},
	}
	// Everything after the command name belongs to the command.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&resourceID, "resource", "", "ID of the resource to run as")
	cmd.Flags().DurationVar(&ttl, "grant-ttl", 0, "lifetime of each launch grant (default 12h); the launcher renews it while the command runs")
	cmd.Flags().Float64Var(&rate, "rate-limit", launcher.DefaultRate, "token requests per second the command may make before 429 (negative: unlimited)")
	cmd.Flags().IntVar(&burst, "rate-burst", 0, "burst of requests allowed above the rate (default 40)")
	return cmd
}
