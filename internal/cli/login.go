package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/spf13/cobra"
)

func init() { register(addLogin) }

func addLogin(root *cobra.Command) {
	var p Profile
	login := &cobra.Command{
		Use:   "login",
		Short: "Check credentials against a server and save them as the default profile",
		Long: `Check that the given credentials obtain a token from the server, then save
them (mode 0600) as the profile later commands use when neither --credentials
nor KEYLESS_CREDENTIALS is given.

Credentials come from --credentials FILE / KEYLESS_CREDENTIALS (the
admin-credentials.json format) or from the flags below.`,
		Example: `  keyless login --credentials ./keyless-data/admin-credentials.json
  keyless login --server https://keyless.example:8443 --tenant T --client-id C --client-secret S --ca-file ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			profile, source, err := loginProfile(cmd, p)
			if err != nil {
				return err
			}
			conn, err := connect(profile, source)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			scope := strings.TrimRight(profile.ResourceManagerAudience, "/") + "/.default"
			if _, err := conn.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}}); err != nil {
				return fmt.Errorf("login failed: %w", err)
			}
			path, err := profilePath()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(profile, "", "  ")
			if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
				return err
			}
			return Print(cmd, map[string]string{
				"server": profile.ResourceManagerEndpoint, "tenantId": profile.TenantID,
				"clientId": profile.ClientID, "subscriptionId": profile.SubscriptionID, "profile": path,
			})
		},
	}
	f := login.Flags()
	f.StringVar(&p.ResourceManagerEndpoint, "server", "", "server URL, e.g. https://127.0.0.1:8443")
	f.StringVar(&p.TenantID, "tenant", "", "tenant ID")
	f.StringVar(&p.ClientID, "client-id", "", "client (application) ID")
	f.StringVar(&p.ClientSecret, "client-secret", "", "client secret (or KEYLESS_CLIENT_SECRET)")
	f.StringVar(&p.SubscriptionID, "subscription-id", "", "default subscription ID")
	f.StringVar(&p.CACertificateFile, "ca-file", "", "CA certificate of the server (ca.pem)")

	logout := &cobra.Command{
		Use:   "logout",
		Short: "Forget the saved profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := profilePath()
			if err != nil {
				return err
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		},
	}
	root.AddCommand(login, logout)
}

func loginProfile(cmd *cobra.Command, flags Profile) (Profile, string, error) {
	if flags.ResourceManagerEndpoint == "" {
		credFile, _ := cmd.Flags().GetString("credentials")
		if credFile == "" {
			credFile = os.Getenv("KEYLESS_CREDENTIALS")
		}
		if credFile == "" {
			return Profile{}, "", errors.New("give --credentials FILE (or KEYLESS_CREDENTIALS), or --server with --tenant, --client-id and --client-secret")
		}
		p, err := readProfile(credFile)
		if err != nil {
			return Profile{}, "", fmt.Errorf("%s: %w", credFile, err)
		}
		if abs, err := filepath.Abs(p.CACertificateFile); err == nil && p.CACertificateFile != "" {
			p.CACertificateFile = abs
		}
		return p, credFile, nil
	}
	if flags.ClientSecret == "" {
		flags.ClientSecret = os.Getenv("KEYLESS_CLIENT_SECRET")
	}
	if flags.TenantID == "" || flags.ClientID == "" || flags.ClientSecret == "" {
		return Profile{}, "", errors.New("--server needs --tenant, --client-id and --client-secret")
	}
	flags.ResourceManagerEndpoint = strings.TrimRight(flags.ResourceManagerEndpoint, "/")
	flags.AuthorityHost = flags.ResourceManagerEndpoint + "/"
	flags.ResourceManagerAudience = "https://management.azure.com/"
	if flags.CACertificateFile != "" {
		abs, err := filepath.Abs(flags.CACertificateFile)
		if err != nil {
			return Profile{}, "", err
		}
		flags.CACertificateFile = abs
	}
	return flags, "flags", nil
}
