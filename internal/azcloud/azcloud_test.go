package azcloud

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/bootstrap"
)

func TestCommands(t *testing.T) {
	c := bootstrap.Credentials{
		TenantID: "t-1", SubscriptionID: "s-1", ClientID: "c-1", ClientSecret: "kls~it's",
		ResourceManagerEndpoint: "https://kl.example:8443", ResourceManagerAudience: "https://management.azure.com/",
		CACertificateFile: "/data/ca.pem",
	}
	lines := Commands(c, "")
	want := []string{
		"export REQUESTS_CA_BUNDLE='/data/ca.pem'",
		"az cloud register -n 'keyless' --cloud-config '{",
		"az cloud set -n 'keyless'",
		`az login --service-principal -u 'c-1' -p 'kls~it'\''s' --tenant 't-1'`,
		"az account set --subscription 's-1'",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %s\nwant prefix %s", i, lines[i], w)
		}
	}
	var cfg struct{ Endpoints map[string]string }
	b, _ := json.Marshal(Config(c))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"resourceManager":           "https://kl.example:8443/",
		"activeDirectory":           "https://kl.example:8443/adfs",
		"activeDirectoryResourceId": "https://management.azure.com/",
		// az calls Graph at this value + "v1.0", with it as the audience.
		"microsoftGraphResourceId": "https://kl.example:8443/",
	} {
		if cfg.Endpoints[k] != v {
			t.Errorf("%s = %q, want %q", k, cfg.Endpoints[k], v)
		}
	}
	if got := Commands(c, "lab")[2]; !strings.HasPrefix(got, "az cloud set -n 'lab'") {
		t.Errorf("cloud name not used: %s", got)
	}
}
