package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/coreos/go-oidc/v3/oidc"
)

// buildBinary compiles keyless once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyless")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type credentialsFile struct {
	TenantID                string `json:"tenantId"`
	SubscriptionID          string `json:"subscriptionId"`
	ClientID                string `json:"clientId"`
	ClientSecret            string `json:"clientSecret"`
	AuthorityHost           string `json:"authorityHost"`
	ResourceManagerEndpoint string `json:"resourceManagerEndpoint"`
	ResourceManagerAudience string `json:"resourceManagerAudience"`
	CACertificateFile       string `json:"caCertificateFile"`
}

// startServer runs `keyless server` and waits until it is ready.
// logBuffer collects a server's stderr while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServer(t *testing.T, bin, dataDir string, extra ...string) (*exec.Cmd, credentialsFile, *logBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-format", "json"}, extra...)...)
	logs := &logBuffer{}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), "keyless server ready") {
				once = true
				close(ready)
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("server not ready; logs:\n%s", logs.String())
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c credentialsFile
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return cmd, c, logs
}

// trustingCA is an HTTP client that trusts the installation's CA.
func trustingCA(t *testing.T, c credentialsFile) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(c.CACertificateFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}
}

// tokenFromCredentialsFile is what a user's Go program does with nothing
// but azidentity and the credentials file.
func tokenFromCredentialsFile(t *testing.T, c credentialsFile) string {
	t.Helper()
	client := trustingCA(t, c)
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            policy.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityHost}, Transport: client},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	at, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.ResourceManagerAudience + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), strings.TrimRight(c.AuthorityHost, "/")+"/"+c.TenantID+"/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: c.ResourceManagerAudience}).Verify(ctx, at.Token); err != nil {
		t.Fatalf("token does not verify through discovery: %v", err)
	}
	return at.Token
}

func TestServerBinaryFirstStartTokenRestartAndSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")

	cmd, creds, logs := startServer(t, bin, dataDir)
	first := tokenFromCredentialsFile(t, creds)
	if strings.Contains(logs.String(), creds.ClientSecret) {
		t.Fatal("the server logged the administrator secret")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: exit %v; logs:\n%s", err, logs.String())
	}

	// Restart on the same directory: same identifiers and secret, and the
	// token issued before the restart still verifies.
	_, again, _ := startServer(t, bin, dataDir)
	if again.TenantID != creds.TenantID || again.ClientID != creds.ClientID || again.ClientSecret != creds.ClientSecret || again.SubscriptionID != creds.SubscriptionID {
		t.Fatal("restart changed the credentials")
	}
	tokenFromCredentialsFile(t, again)
	_ = first

	out, err := exec.Command(bin, "env", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"export AZURE_TENANT_ID='" + creds.TenantID + "'",
		"export AZURE_CLIENT_ID='" + creds.ClientID + "'",
		"export AZURE_CLIENT_SECRET='" + creds.ClientSecret + "'",
		"export AZURE_AUTHORITY_HOST='" + again.AuthorityHost + "'",
		"export AZURE_SUBSCRIPTION_ID='" + creds.SubscriptionID + "'",
		"export SSL_CERT_FILE='" + creds.CACertificateFile + "'",
		"export KEYLESS_CREDENTIALS='" + filepath.Join(dataDir, "admin-credentials.json") + "'",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("keyless env lacks %s\n%s", want, out)
		}
	}
}

func TestServerRefusesForeignDirectory(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("do not touch"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "server", "--data-dir", dir, "--listen", "127.0.0.1:0").CombinedOutput()
	var exit *exec.ExitError
	if err == nil || !errorsAs(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("expected a non-zero exit, got %v", err)
	}
	if !strings.Contains(string(out), "not a keyless data directory") {
		t.Fatalf("unclear error: %s", out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the directory was modified: %d entries", len(entries))
	}
}

func TestAuditLogIsChainedAndVerifiable(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	auditLog := filepath.Join(dir, "audit.log")
	cmd, creds, _ := startServer(t, bin, filepath.Join(dir, "data"), "--audit-log", auditLog)
	tokenFromCredentialsFile(t, creds)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	out, err := exec.Command(bin, "audit", "verify", auditLog).Output()
	if err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	var res struct{ Records int }
	if err := json.Unmarshal(out, &res); err != nil || res.Records < 1 {
		t.Fatalf("audit verify printed %s", out)
	}
	b, _ := os.ReadFile(auditLog)
	if strings.Contains(string(b), creds.ClientSecret) || !strings.Contains(string(b), `"msg":"token issued"`) {
		t.Fatal("the audit log lacks the token record or holds the secret")
	}
	os.WriteFile(auditLog, []byte(strings.Replace(string(b), "token issued", "token refused", 1)), 0o600)
	if err := exec.Command(bin, "audit", "verify", auditLog).Run(); err == nil {
		t.Fatal("an edited audit log verified")
	}
}
