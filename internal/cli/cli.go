package cli

import (
	"github.com/spf13/cobra"
)

// AddCommands adds the client commands to the root command and the flags
// they share (--credentials, --subscription, -o, --query).
func AddCommands(root *cobra.Command) {
	root.PersistentFlags().String("credentials", "", "credentials file (admin-credentials.json format); default: KEYLESS_CREDENTIALS, a saved login, or AZURE_* with KEYLESS_SERVER")
	root.PersistentFlags().String("subscription", "", "subscription ID (default: the one in the credentials)")
	addOutputFlags(root)
	for _, add := range commandSets {
		add(root)
	}
}

// commandSets are registered by the files of this package, one per command
// group, so that groups can be added without touching each other.
var commandSets []func(root *cobra.Command)

func register(add func(root *cobra.Command)) { commandSets = append(commandSets, add) }
