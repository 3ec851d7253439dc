package arm_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current responses")

var (
	guidPattern      = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	timestampPattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
)

// normalise makes a response comparable across runs: keys sorted, indented,
// generated GUIDs numbered in order of appearance (the fixed tenant,
// subscription and caller IDs are kept), timestamps replaced.
func normalise(t *testing.T, baseURL string, body []byte) []byte {
	t.Helper()
	body = bytes.ReplaceAll(body, []byte(baseURL), []byte("https://keyless.example"))
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	keep := map[string]bool{tenantID: true, subscriptionID: true, admin.ObjectID: true, admin.AppID: true}
	numbered := map[string]string{}
	out = guidPattern.ReplaceAllFunc(out, func(g []byte) []byte {
		s := strings.ToLower(string(g))
		if keep[s] {
			return g
		}
		if _, ok := numbered[s]; !ok {
			numbered[s] = fmt.Sprintf("00000000-0000-0000-0000-%012d", len(numbered)+1)
		}
		return []byte(numbered[s])
	})
	out = timestampPattern.ReplaceAll(out, []byte("2000-01-01T00:00:00Z"))
	return append(out, '\n')
}

func checkGolden(t *testing.T, name, baseURL string, body []byte) {
	t.Helper()
	got := normalise(t, baseURL, body)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestWireShapesGolden pins the JSON the SDK clients parse.
func TestWireShapesGolden(t *testing.T) {
	e := newEnv(t)
	sub := "/subscriptions/" + subscriptionID
	steps := []struct {
		golden string // empty: setup step
		method string
		path   string
		body   string
		status int
	}{
		{"resource-group", "PUT", sub + "/resourcegroups/rg1?api-version=2025-04-01", `{"location":"West US","tags":{"owner":"team-a"}}`, 201},
		{"user-assigned-identity", "PUT", sub + "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1?api-version=2024-11-30", `{"location":"westus","tags":{"env":"dev"}}`, 201},
		{"federated-identity-credential", "PUT", sub + "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/federatedIdentityCredentials/fic1?api-version=2024-11-30",
			`{"properties":{"audiences":["api://AzureADTokenExchange"],"issuer":"https://kubernetes.example/issuer","subject":"system:serviceaccount:ns:sa"}}`, 201},
		{"generic-resource-with-identity", "PUT", sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-07-01",
			`{"location":"westus","tags":{"env":"dev"},"sku":{"name":"Standard_B1s"},"kind":"Linux","zones":["1"],"properties":{"hardwareProfile":{"vmSize":"Standard_B1s"},"n":1.50},
			"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + sub + `/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1":{}}}}`, 201},
		{"system-assigned-identity", "GET", sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.ManagedIdentity/identities/default?api-version=2024-11-30", "", 200},
		{"", "PUT", sub + "/resourcegroups/rg2?api-version=2025-04-01", `{"location":"westus"}`, 201},
		{"resource-group-list", "GET", sub + "/resourcegroups?api-version=2025-04-01&$top=1", "", 200},
		{"error", "GET", sub + "/resourcegroups/missing?api-version=2025-04-01", "", 404},
	}
	for _, s := range steps {
		resp, body := e.do(s.method, s.path, adminToken, s.body)
		if resp.StatusCode != s.status {
			t.Fatalf("%s %s: %d %s", s.method, s.path, resp.StatusCode, body)
		}
		t.Run(s.golden+"_"+s.method, func(t *testing.T) {
			if s.golden != "" {
				checkGolden(t, s.golden, e.srv.URL, []byte(body))
			}
		})
	}
}
