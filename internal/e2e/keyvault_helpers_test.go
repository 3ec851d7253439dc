package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/launcher"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

const (
	roleKeyVaultSecretsUser    = "4633458b-17de-408a-b874-0445c86b69e6"
	roleKeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	roleKeyVaultAdministrator  = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	vaultAPIVersion            = "2023-07-01"
)

// createVault PUTs a Microsoft.KeyVault/vaults resource through
// armresources, as a template or `az keyvault create` would, and returns
// its ID and the vaultUri keyless set.
func createVault(t testing.TB, env *testenv.Env, rg, name string, props map[string]any) (string, string) {
	t.Helper()
	ctx := context.Background()
	client, err := armresources.NewClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	id := "/subscriptions/" + env.Creds.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
	p := map[string]any{"sku": map[string]any{"family": "A", "name": "standard"}, "tenantId": env.Creds.TenantID}
	for k, v := range props {
		p[k] = v
	}
	poller, err := client.BeginCreateOrUpdateByID(ctx, id, vaultAPIVersion, armresources.GenericResource{Location: to.Ptr("westus"), Properties: p}, nil)
	if err != nil {
		t.Fatalf("create vault %s: %v", name, err)
	}
	resp, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp.Properties)
	var got struct {
		VaultURI string `json:"vaultUri"`
	}
	_ = json.Unmarshal(b, &got)
	if got.VaultURI == "" {
		t.Fatalf("vault %s has no properties.vaultUri: %s", name, b)
	}
	return id, got.VaultURI
}

func ensureGroup(t testing.TB, env *testenv.Env, rg string) {
	t.Helper()
	groups, _ := armresources.NewResourceGroupsClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
	if _, err := groups.CreateOrUpdate(context.Background(), rg, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
}

// secretsClient is azsecrets with its default options: only the transport
// differs (it trusts the installation's CA, as SSL_CERT_FILE would).
func secretsClient(t testing.TB, env *testenv.Env, vaultURI string, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(vaultURI, cred, &azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: env.HTTPClient}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantKVError checks a Key Vault error's status and code, and that its
// message names want (a data action, a secret).
func wantKVError(t testing.TB, err error, status int, code string, want ...string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %d %s: %v", status, code, re.StatusCode, re.ErrorCode, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error does not name %q: %v", w, err)
		}
	}
}

var (
	kvreaderOnce sync.Once
	kvreaderPath string
	kvreaderErr  error
)

// kvreader builds testdata/kvreader once per test binary.
func kvreader(t testing.TB) string {
	t.Helper()
	kvreaderOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kvreader")
		if err != nil {
			kvreaderErr = err
			return
		}
		kvreaderPath = filepath.Join(dir, "kvreader")
		out, err := exec.Command("go", "build", "-o", kvreaderPath, "./testdata/kvreader").CombinedOutput()
		if err != nil {
			kvreaderErr = fmt.Errorf("go build kvreader: %v\n%s", err, out)
		}
	})
	if kvreaderErr != nil {
		t.Fatal(kvreaderErr)
	}
	return kvreaderPath
}

// program is kvreader running under `keyless run` as a resource.
type program struct {
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// startProgram runs kvreader with launcher.Run, the code of `keyless run
// --resource ID -- kvreader`, until the test ends.
func startProgram(t *testing.T, env *testenv.Env, vaultURI, resourceID string) *program {
	t.Helper()
	bin := kvreader(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	env0 := append(os.Environ(), "VAULT_URI="+vaultURI, "SSL_CERT_FILE="+filepath.Join(env.DataDir, bootstrap.CAFile))
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, err := launcher.Run(context.Background(), launcher.Options{
			Client: &workloadapi.Client{BaseURL: env.URL, HTTP: env.HTTPClient}, Credential: env.AdminCredential(t), ResourceID: resourceID,
		}, launcher.Process{Args: []string{bin}, Env: env0, Stdin: inR, Stdout: outW, Stderr: os.Stderr})
		if err != nil || code != 0 {
			t.Errorf("keyless run kvreader: exit %d, %v", code, err)
		}
		outW.Close()
	}()
	t.Cleanup(func() {
		inW.Close()
		<-done
	})
	return &program{stdin: inW, lines: bufio.NewScanner(outR)}
}

// want asks the program for a secret and checks its answer line starts
// with prefix and names every one of names.
func (p *program) want(t *testing.T, secret, prefix string, names ...string) {
	t.Helper()
	if _, err := fmt.Fprintf(p.stdin, "get %s\n", secret); err != nil {
		t.Fatal(err)
	}
	if !p.lines.Scan() {
		t.Fatalf("the program ended: %v", p.lines.Err())
	}
	line := p.lines.Text()
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("the program answered %s, want %s...", line, prefix)
	}
	for _, n := range names {
		if !strings.Contains(line, n) {
			t.Fatalf("the program's answer does not name %q: %s", n, line)
		}
	}
}

// errorEnvelope is Key Vault's (and ARM's) error body.
type errorEnvelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// vaultHostSuffix is the host suffix of host-mode tests: vaults at
// https://{name}.vault.keyless.test:port/, as in Azure.
const vaultHostSuffix = "vault.keyless.test"

// startHostModeEnv starts a server serving vaults by host name. This
// machine has no DNS for the suffix, so the test client's dialer plays the
// wildcard record: every *.vault.keyless.test name connects to the
// server's loopback address (TLS still checks the name against the
// certificate, which covers *.vault.keyless.test).
func startHostModeEnv(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.Start(t, testenv.Options{KeyVaultHostSuffix: vaultHostSuffix})
	u, _ := url.Parse(env.URL)
	tr := env.HTTPClient.Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, "."+vaultHostSuffix) {
			addr = net.JoinHostPort(u.Hostname(), port)
		}
		return d.DialContext(ctx, network, addr)
	}
	env.HTTPClient = &http.Client{Timeout: env.HTTPClient.Timeout, Transport: tr}
	return env
}
