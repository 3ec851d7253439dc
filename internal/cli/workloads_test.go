package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/cli"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/workload/workloadtest"
)

// keylessCLI runs the CLI in-process against env with the admin credentials.
func keylessCLI(t *testing.T, env *testenv.Env, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "keyless", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"--credentials", filepath.Join(env.DataDir, bootstrap.CredentialsFile)}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestAgentCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	inst := env.Server.Installation()
	ws := workloadtest.Store{St: inst.Store, WaitFor: env.Server.WaitFor, SubscriptionID: inst.SubscriptionID}
	vm := ws.Compute(t, "rg1", "Microsoft.Compute/virtualMachines", "vm1", true)

	out, err := keylessCLI(t, env, "agent", "join-token", "create", "--resource", vm.ID, "--ttl", "2h", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var jt struct{ Token, ExpiresOn string }
	if err := json.Unmarshal([]byte(out), &jt); err != nil || !strings.HasPrefix(jt.Token, "kjt_") || jt.ExpiresOn == "" {
		t.Fatalf("join-token create printed %q (%v)", out, err)
	}
	out, err = keylessCLI(t, env, "agent", "list", "-o", "json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("agent list before enrollment: %q %v", out, err)
	}
	if _, err := keylessCLI(t, env, "agent", "revoke", "no-such-agent"); err == nil {
		t.Fatal("revoking an unknown agent succeeded")
	}
}

func TestRunCommandExitCode(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	inst := env.Server.Installation()
	ws := workloadtest.Store{St: inst.Store, WaitFor: env.Server.WaitFor, SubscriptionID: inst.SubscriptionID}
	app := ws.Compute(t, "rg1", "Microsoft.Web/sites", "app1", true)
	// Flags after the command belong to the command (-o here is sh's).
	out, err := keylessCLI(t, env, "run", "--resource", app.ID, "--", "sh", "-c", `echo "$IDENTITY_ENDPOINT" | grep -q /msi/token && exit 3`, "-o")
	var exit cli.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("run: %v (output %q), want exit code 3", err, out)
	}
	if _, err := keylessCLI(t, env, "run", "--", "true"); err == nil {
		t.Fatal("run without --resource succeeded")
	}
}
