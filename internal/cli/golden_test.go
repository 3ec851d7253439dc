package cli_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the outputs")

// TestGoldenOutputs pins what the commands print in each output format for
// one fixed scenario. Values that differ between runs are normalised first
// (see normalizer); review the diff after `go test ./internal/cli -run
// TestGoldenOutputs -update`.
func TestGoldenOutputs(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-golden", "-l", "westus", "--tags", "env=prod", "team=web")
	e.ok("group", "create", "-n", "rg-ops", "-l", "northeurope")
	e.ok("identity", "create", "-g", "rg-golden", "-n", "id-web", "--tags", "app=web")
	e.ok("identity", "create", "-g", "rg-golden", "-n", "id-jobs")
	e.ok("identity", "federated-credential", "create", "-g", "rg-golden", "--identity-name", "id-jobs", "-n", "github-main",
		"--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:acme/jobs:ref:refs/heads/main")
	e.ok("resource", "create", "-g", "rg-golden", "-n", "web1", "--resource-type", "Microsoft.Web/sites",
		"-p", `{"serverFarmId":"plan1","httpsOnly":true,"instances":2}`, "--tags", "env=prod", "--assign-identity", "[system]", "id-web", "id-jobs")
	e.ok("resource", "create", "-g", "rg-golden", "-n", "vm1", "--resource-type", "Microsoft.Compute/virtualMachines",
		"-p", `{"hardwareProfile":{"vmSize":"Standard_B2s"}}`)

	web := []string{"-g", "rg-golden", "-n", "web1", "--resource-type", "Microsoft.Web/sites"}
	tests := []struct {
		golden string
		args   []string
	}{
		{"group_show.json", []string{"group", "show", "-n", "rg-golden", "-o", "json"}},
		{"group_show.yaml", []string{"group", "show", "-n", "rg-golden", "-o", "yaml"}},
		{"group_show.table", []string{"group", "show", "-n", "rg-golden", "-o", "table"}},
		{"group_list.table", []string{"group", "list", "-o", "table"}},
		{"group_list.tsv", []string{"group", "list", "-o", "tsv"}},
		{"group_list_query.json", []string{"group", "list", "--query", "[].{name:name, env:tags.env}", "-o", "json"}},
		{"group_list_query.table", []string{"group", "list", "--query", "[?location=='westus'].{Group:name, Env:tags.env}", "-o", "table"}},
		{"group_exists.json", []string{"group", "exists", "-n", "rg-golden", "-o", "json"}},
		{"identity_show.json", []string{"identity", "show", "-g", "rg-golden", "-n", "id-web", "-o", "json"}},
		{"identity_list.table", []string{"identity", "list", "-g", "rg-golden", "-o", "table"}},
		{"identity_list.tsv", []string{"identity", "list", "-g", "rg-golden", "-o", "tsv"}},
		{"identity_list_query.tsv", []string{"identity", "list", "--query", "[].{name:name, rg:resourceGroup, where:location}", "-o", "tsv"}},
		{"identity_principal.tsv", []string{"identity", "show", "-g", "rg-golden", "-n", "id-web", "--query", "principalId", "-o", "tsv"}},
		{"identity_usage.table", []string{"identity", "usage", "-g", "rg-golden", "-n", "id-web", "-o", "table"}},
		{"usage_list.table", []string{"usage", "--scope", "/subscriptions/" + e.env.Creds.SubscriptionID + "/resourceGroups/rg-golden", "-o", "table"}},
		{"federated_credential_show.json", []string{"identity", "federated-credential", "show", "-g", "rg-golden", "--identity-name", "id-jobs", "-n", "github-main", "-o", "json"}},
		{"federated_credential_list.table", []string{"identity", "federated-credential", "list", "-g", "rg-golden", "--identity-name", "id-jobs", "-o", "table"}},
		{"resource_show.json", append([]string{"resource", "show", "-o", "json"}, web...)},
		{"resource_show.table", append([]string{"resource", "show", "-o", "table"}, web...)},
		{"resource_list.table", []string{"resource", "list", "-g", "rg-golden", "-o", "table"}},
		{"resource_list_query.tsv", []string{"resource", "list", "-g", "rg-golden", "--query", "[?identity].{name:name, identity:identity.type}", "-o", "tsv"}},
		{"resource_list_query.json", []string{"resource", "list", "--resource-type", "Microsoft.Web/sites", "--query", "[].{name:name, uamis:sort(keys(identity.userAssignedIdentities))}", "-o", "json"}},
		{"resource_identity_show.json", append([]string{"resource", "identity", "show", "-o", "json"}, web...)},
		{"resource_identity_show.table", append([]string{"resource", "identity", "show", "-o", "table"}, web...)},
		{"resource_identity_principal.tsv", append([]string{"resource", "identity", "show", "--query", "principalId", "-o", "tsv"}, web...)},
		{"resource_identity_uami_clients.tsv", append([]string{"resource", "identity", "show", "--query", "userAssignedIdentities.*.clientId", "-o", "tsv"}, web...)},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			got := newNormalizer(e.env).normalize(e.in(t).ok(tc.args...))
			path := filepath.Join("testdata", tc.golden+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("keyless %s differs from %s:\n--- got\n%s\n--- want\n%s", strings.Join(tc.args, " "), path, got, want)
			}
		})
	}
}

// normalizer replaces what differs between runs with stable text of the
// same length, so that table columns stay aligned: the subscription becomes
// 11111111-1111-1111-1111-111111111111, the tenant 2222…, the admin
// principal 3333…, and every other GUID 00000000-0000-0000-0000-00000000000N,
// numbered in order of first appearance; timestamps become
// 2001-02-03T04:05:06Z and loopback ports PORT.
type normalizer struct {
	guids map[string]string
}

var (
	guidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	timePattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
	portPattern = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`)
)

func newNormalizer(env *testenv.Env) *normalizer {
	n := &normalizer{guids: map[string]string{}}
	for i, known := range []string{env.Creds.SubscriptionID, env.Creds.TenantID, env.Creds.ClientID} {
		d := fmt.Sprint(i + 1)
		n.guids[strings.ToLower(known)] = strings.Repeat(d, 8) + "-" + strings.Repeat(d, 4) + "-" + strings.Repeat(d, 4) + "-" + strings.Repeat(d, 4) + "-" + strings.Repeat(d, 12)
	}
	return n
}

func (n *normalizer) normalize(s string) string {
	s = guidPattern.ReplaceAllStringFunc(s, func(g string) string {
		k := strings.ToLower(g)
		if r, ok := n.guids[k]; ok {
			return r
		}
		r := fmt.Sprintf("00000000-0000-0000-0000-%012d", len(n.guids)-2)
		n.guids[k] = r
		return r
	})
	s = timePattern.ReplaceAllString(s, "2001-02-03T04:05:06Z")
	return portPattern.ReplaceAllString(s, "127.0.0.1:PORT")
}
