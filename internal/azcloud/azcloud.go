// Package azcloud renders the Azure CLI commands that make a keyless
// installation an az cloud: register it with every endpoint az needs
// (Graph included), trust its CA and log in as a service principal. It
// only writes text; it runs nothing and talks to no server.
package azcloud

import (
	"encoding/json"
	"strings"

	"github.com/keyless-io/keyless/internal/bootstrap"
)

// DefaultCloudName is the name the cloud is registered under.
const DefaultCloudName = "keyless"

// Config is the cloud configuration az stores for the installation (the
// shape of `az cloud show`, which `az cloud register --cloud-config`
// reads).
//
// activeDirectory is the ADFS-style authority, https://host/adfs: MSAL
// validates every other authority that is not a Microsoft host through
// Microsoft's instance discovery, and az 2.45 cannot turn that off.
// microsoftGraphResourceId is the keyless URL with a trailing slash: az
// asks for tokens with that audience and calls Graph at it plus "v1.0".
func Config(c bootstrap.Credentials) map[string]any {
	base := strings.TrimRight(c.ResourceManagerEndpoint, "/") + "/"
	audience := c.ResourceManagerAudience
	if audience == "" {
		audience = bootstrap.ResourceManagerAudience
	}
	return map[string]any{
		"endpoints": map[string]string{
			"resourceManager":                base,
			"activeDirectory":                base + "adfs",
			"activeDirectoryResourceId":      audience,
			"management":                     audience,
			"activeDirectoryGraphResourceId": base,
			"microsoftGraphResourceId":       base,
			"gallery":                        base,
			"sqlManagement":                  base,
		},
	}
}

// Commands are the shell lines, in order: trust the CA, register (or
// update) the cloud, select it, log in and pick the subscription. They
// hold the secret of the credentials: evaluate them, do not log them.
func Commands(c bootstrap.Credentials, cloudName string) []string {
	if cloudName == "" {
		cloudName = DefaultCloudName
	}
	cfg, _ := json.Marshal(Config(c))
	name, config := Quote(cloudName), Quote(string(cfg))
	return []string{
		// az's HTTP stack (requests) reads its trust store only from here.
		"export REQUESTS_CA_BUNDLE=" + Quote(c.CACertificateFile),
		"az cloud register -n " + name + " --cloud-config " + config + " --only-show-errors -o none 2>/dev/null ||" +
			" az cloud update -n " + name + " --cloud-config " + config + " --only-show-errors -o none",
		"az cloud set -n " + name + " --only-show-errors -o none",
		"az login --service-principal -u " + Quote(c.ClientID) + " -p " + Quote(c.ClientSecret) +
			" --tenant " + Quote(c.TenantID) + " --only-show-errors -o none",
		"az account set --subscription " + Quote(c.SubscriptionID),
	}
}

// Quote quotes for POSIX shells so eval never splits or expands.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
