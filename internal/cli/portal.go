package cli

import (
	"fmt"
	"net/http"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/portal"
)

func init() {
	register(func(root *cobra.Command) { root.AddCommand(portalCommand()) })
}

// openBrowser is how --open starts the default browser; tests replace it.
var openBrowser = func(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}

func portalCommand() *cobra.Command {
	var open bool
	cmd := &cobra.Command{
		Use:   "portal",
		Short: "Sign in to the keyless portal in a browser with a one-time link",
		Long: `Ask the server for a one-time sign-in link to the portal (/portal/) bound to
the principal you are signed in as here, and print it. The link is valid for
five minutes and works once; the browser session it starts acts as you, with
your roles, until you sign out or it expires (--portal-session-lifetime on the
server, 8 hours by default).`,
		Example: `  keyless portal --open
  keyless portal --credentials ./keyless-data/admin-credentials.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var link portal.SignInLink
			if err := conn.call(cmd.Context(), http.MethodPost, portal.SignInLinksPath, portal.APIVersion, map[string]any{}, &link); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), link.URL)
			fmt.Fprintf(cmd.ErrOrStderr(), "One-time sign-in link, valid until %s (%s); do not share it.\n",
				link.ExpiresOn.Local().Format(time.Kitchen), time.Until(link.ExpiresOn).Round(time.Second))
			if open {
				if err := openBrowser(link.URL); err != nil {
					return fmt.Errorf("opening the browser: %w (open the link above yourself)", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "also open the link in the default browser")
	return cmd
}
