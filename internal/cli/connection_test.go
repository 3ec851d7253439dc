package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConnectionErrors checks that failing to reach or authenticate to a
// server is one clear line and exit code 1, whatever the command.
func TestConnectionErrors(t *testing.T) {
	e := startCLI(t)

	t.Run("a wrong secret is the token service's refusal", func(t *testing.T) {
		var creds map[string]any
		b, err := os.ReadFile(e.creds)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &creds); err != nil {
			t.Fatal(err)
		}
		creds["clientSecret"] = "not-the-secret"
		bad := filepath.Join(t.TempDir(), "bad-credentials.json")
		b, _ = json.Marshal(creds)
		if err := os.WriteFile(bad, b, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runKeyless("group", "list", "--credentials", bad)
		if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.HasPrefix(r.stderr, "keyless: ClientSecretCredential authentication failed") || !strings.Contains(r.stderr, "(invalid_client)") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("an unknown --subscription is ARM's error", func(t *testing.T) {
		e.in(t).fails("keyless: (SubscriptionNotFound) The subscription '00000000-0000-0000-0000-00000000dead' could not be found.",
			"group", "list", "--subscription", "00000000-0000-0000-0000-00000000dead")
	})
	t.Run("a credentials file that is not one", func(t *testing.T) {
		notCreds := filepath.Join(t.TempDir(), "x.json")
		if err := os.WriteFile(notCreds, []byte(`{"hello":"world"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		checkFailure(t, runKeyless("identity", "list", "--credentials", notCreds),
			"keyless: --credentials: not a credentials file: tenantId, clientId and resourceManagerEndpoint are required", nil)
	})
	t.Run("no server configured", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("HOME", home)
		t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
		for _, v := range []string{"KEYLESS_CREDENTIALS", "KEYLESS_SERVER", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"} {
			t.Setenv(v, "")
		}
		checkFailure(t, runKeyless("resource", "list"),
			"keyless: no server to talk to: give --credentials FILE, set KEYLESS_CREDENTIALS, run `keyless login`, or set KEYLESS_SERVER with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET", nil)
	})
}
