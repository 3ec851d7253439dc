// Command keyless is the single keyless binary: the server, the host agent,
// the launcher and the az-shaped CLI, as subcommands.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/cli"
)

func main() {
	root := &cobra.Command{
		Use:   "keyless",
		Short: "Self-hosted managed identities that the Azure SDKs use unchanged",
		Long: `keyless gives workloads Azure-style managed identities without secrets in their
code, lets operators grant those identities least-privilege roles, and issues
tokens that any service can verify through OpenID Connect discovery.

Start a server with 'keyless server', then load the administrator's credentials
with: eval "$(keyless env)"`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCommand(), envCommand(), auditCommand())
	cli.AddCommands(root)
	if err := root.Execute(); err != nil {
		os.Exit(cli.ReportError(os.Stderr, err))
	}
}
