// Package cli is keyless's az-shaped command line: it finds the server and
// credentials, talks to the server only through the official Azure SDK
// clients (so every CLI call is also a compatibility check), and prints
// results as json, jsonc, table, tsv, yaml or nothing, filtered by a
// JMESPath --query.
package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
)

// Profile is what a credentials file, a saved login or the environment
// give: the same fields as admin-credentials.json.
type Profile struct {
	TenantID                string `json:"tenantId"`
	SubscriptionID          string `json:"subscriptionId"`
	ClientID                string `json:"clientId"`
	ClientSecret            string `json:"clientSecret"`
	AuthorityHost           string `json:"authorityHost"`
	ResourceManagerEndpoint string `json:"resourceManagerEndpoint"`
	ResourceManagerAudience string `json:"resourceManagerAudience"`
	CACertificateFile       string `json:"caCertificateFile"`
}

// Connection is a ready-to-use set of SDK options and a credential.
type Connection struct {
	Profile    Profile
	Source     string // where the profile came from, for error messages
	Credential azcore.TokenCredential
	// Options configure every ARM client for this server.
	Options *arm.ClientOptions
	// HTTPClient trusts the server's CA.
	HTTPClient *http.Client
}

// profilePath is where `keyless login` saves its profile.
func profilePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "keyless", "profile.json"), nil
}

// resolveProfile finds the connection settings in the order CONTRACT.md
// gives: --credentials, KEYLESS_CREDENTIALS, a saved login, then the AZURE_*
// variables with KEYLESS_SERVER.
func resolveProfile(credentialsFlag string) (Profile, string, error) {
	for _, c := range []struct{ path, source string }{
		{credentialsFlag, "--credentials"},
		{os.Getenv("KEYLESS_CREDENTIALS"), "KEYLESS_CREDENTIALS"},
	} {
		if c.path == "" {
			continue
		}
		p, err := readProfile(c.path)
		if err != nil {
			return Profile{}, "", fmt.Errorf("%s: %w", c.source, err)
		}
		return p, c.source + " " + c.path, nil
	}
	if path, err := profilePath(); err == nil {
		if p, err := readProfile(path); err == nil {
			return p, "saved login " + path, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return Profile{}, "", fmt.Errorf("saved login %s: %w", path, err)
		}
	}
	server := strings.TrimRight(os.Getenv("KEYLESS_SERVER"), "/")
	p := Profile{
		TenantID:                os.Getenv("AZURE_TENANT_ID"),
		SubscriptionID:          os.Getenv("AZURE_SUBSCRIPTION_ID"),
		ClientID:                os.Getenv("AZURE_CLIENT_ID"),
		ClientSecret:            os.Getenv("AZURE_CLIENT_SECRET"),
		AuthorityHost:           os.Getenv("AZURE_AUTHORITY_HOST"),
		ResourceManagerEndpoint: server,
		ResourceManagerAudience: "https://management.azure.com/",
	}
	if p.AuthorityHost == "" && server != "" {
		p.AuthorityHost = server + "/"
	}
	if server == "" || p.TenantID == "" || p.ClientID == "" || p.ClientSecret == "" {
		return Profile{}, "", errors.New("no server to talk to: give --credentials FILE, set KEYLESS_CREDENTIALS, run `keyless login`, or set KEYLESS_SERVER with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
	}
	return p, "environment", nil
}

func readProfile(path string) (Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, err
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return Profile{}, fmt.Errorf("not a credentials file: %w", err)
	}
	if p.TenantID == "" || p.ClientID == "" || p.ResourceManagerEndpoint == "" {
		return Profile{}, errors.New("not a credentials file: tenantId, clientId and resourceManagerEndpoint are required")
	}
	if p.AuthorityHost == "" {
		p.AuthorityHost = strings.TrimRight(p.ResourceManagerEndpoint, "/") + "/"
	}
	if p.ResourceManagerAudience == "" {
		p.ResourceManagerAudience = "https://management.azure.com/"
	}
	return p, nil
}

// Connect builds SDK options and a credential from the resolved profile.
func Connect(cmd *cobra.Command) (*Connection, error) {
	flag, _ := cmd.Flags().GetString("credentials")
	p, source, err := resolveProfile(flag)
	if err != nil {
		return nil, err
	}
	return connect(p, source)
}

func connect(p Profile, source string) (*Connection, error) {
	caFile := p.CACertificateFile
	if caFile == "" {
		caFile = os.Getenv("SSL_CERT_FILE")
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s holds no PEM certificate", caFile)
		}
		tlsCfg.RootCAs = pool
	}
	httpClient := &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true},
	}
	cloudCfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: p.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimRight(p.ResourceManagerEndpoint, "/"), Audience: strings.TrimRight(p.ResourceManagerAudience, "/")},
		},
	}
	clientOpts := policy.ClientOptions{Cloud: cloudCfg, Transport: httpClient}
	cred, err := azidentity.NewClientSecretCredential(p.TenantID, p.ClientID, p.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: clientOpts,
		// keyless is not a Microsoft authority: instance discovery would
		// go to login.microsoftonline.com and fail.
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, err
	}
	return &Connection{
		Profile:    p,
		Source:     source,
		Credential: cred,
		Options:    &arm.ClientOptions{ClientOptions: clientOpts},
		HTTPClient: httpClient,
	}, nil
}

// SubscriptionID is the subscription commands act in: --subscription, else
// the profile's.
func (c *Connection) SubscriptionID(cmd *cobra.Command) string {
	if s, _ := cmd.Flags().GetString("subscription"); s != "" {
		return s
	}
	return c.Profile.SubscriptionID
}
