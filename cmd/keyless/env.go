package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/azcloud"
	"github.com/keyless-io/keyless/internal/bootstrap"
)

func envCommand() *cobra.Command {
	var (
		dataDir   string
		az        bool
		cloudName string
	)
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print export lines that point Azure SDKs and the keyless CLI at this installation",
		Long: `Print shell export lines for the administrator credentials of a data directory:
AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST,
AZURE_SUBSCRIPTION_ID, SSL_CERT_FILE and KEYLESS_CREDENTIALS.

With --az it prints instead the commands that make the installation an Azure
CLI cloud: export REQUESTS_CA_BUNDLE (the CA az trusts), az cloud register
with every endpoint (the ADFS-style login endpoint https://host/adfs, which
every az version accepts; Microsoft Graph at https://host/v1.0), az cloud set,
az login --service-principal and az account set. See docs/azure-cli.md.

The output contains the administrator's secret: evaluate it, do not log it.`,
		Example: `  eval "$(keyless env)"
  eval "$(keyless env --data-dir /var/lib/keyless)"
  eval "$(keyless env --az)"          # then: az group list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := filepath.Abs(filepath.Join(dataDir, bootstrap.CredentialsFile))
			if err != nil {
				return err
			}
			c, err := bootstrap.ReadCredentials(path)
			if err != nil {
				return fmt.Errorf("read credentials (has `keyless server --data-dir %s` run yet?): %w", dataDir, err)
			}
			out := cmd.OutOrStdout()
			if az {
				for _, line := range azcloud.Commands(c, cloudName) {
					fmt.Fprintln(out, line)
				}
				return nil
			}
			for _, kv := range [][2]string{
				{"AZURE_TENANT_ID", c.TenantID},
				{"AZURE_CLIENT_ID", c.ClientID},
				{"AZURE_CLIENT_SECRET", c.ClientSecret},
				{"AZURE_AUTHORITY_HOST", c.AuthorityHost},
				{"AZURE_SUBSCRIPTION_ID", c.SubscriptionID},
				{"SSL_CERT_FILE", c.CACertificateFile},
				{"KEYLESS_CREDENTIALS", path},
			} {
				fmt.Fprintf(out, "export %s=%s\n", kv[0], azcloud.Quote(kv[1]))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./keyless-data", "data directory of the server")
	cmd.Flags().BoolVar(&az, "az", false, "print the az commands that register this installation as a cloud and log in")
	cmd.Flags().StringVar(&cloudName, "cloud-name", azcloud.DefaultCloudName, "name of the az cloud (with --az)")
	return cmd
}
