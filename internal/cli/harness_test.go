package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/cli"
	"github.com/keyless-io/keyless/internal/testenv"
)

// cliEnv runs the real command tree against a real server.
type cliEnv struct {
	t     *testing.T
	env   *testenv.Env
	creds string
}

func startCLI(t *testing.T) *cliEnv {
	t.Helper()
	env := testenv.Start(t, testenv.Options{})
	return &cliEnv{t: t, env: env, creds: filepath.Join(env.DataDir, "admin-credentials.json")}
}

// cliResult is what a keyless invocation left: its stdout and stderr and the
// exit code main would return.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runKeyless builds the root command as cmd/keyless/main.go does and
// executes args, reporting errors through cli.ReportError as main does.
func runKeyless(args ...string) cliResult {
	root := &cobra.Command{Use: "keyless", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root)
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := 0
	if err := root.ExecuteContext(ctx); err != nil {
		code = cli.ReportError(&stderr, err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// run executes keyless with the admin credentials.
func (e *cliEnv) run(args ...string) cliResult {
	return runKeyless(append(args, "--credentials", e.creds)...)
}

// ok runs a command that must succeed and returns its stdout.
func (e *cliEnv) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("keyless %v: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail and checks main's report: exit code
// 1, nothing on stdout, and exactly one line on stderr.
func (e *cliEnv) fails(wantStderr string, args ...string) {
	e.t.Helper()
	checkFailure(e.t, e.run(args...), wantStderr, args)
}

func checkFailure(t *testing.T, r cliResult, wantStderr string, args []string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("keyless %v: exit %d, want 1 (stdout %q)", args, r.code, r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("keyless %v: printed %q on stdout when failing", args, r.stdout)
	}
	if r.stderr != wantStderr+"\n" {
		t.Errorf("keyless %v: stderr\n got %q\nwant %q", args, r.stderr, wantStderr+"\n")
	}
}

// okJSON runs a command with -o json and decodes its one JSON document.
func (e *cliEnv) okJSON(args ...string) any {
	e.t.Helper()
	out := e.ok(append(args, "-o", "json")...)
	var v any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		e.t.Fatalf("keyless %v: not JSON: %v\n%s", args, err, out)
	}
	if dec.More() {
		e.t.Fatalf("keyless %v: more than one JSON document:\n%s", args, out)
	}
	return v
}

// jsonField reads a member of a decoded JSON document by path.
func jsonField(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// jsonString is jsonField as a string.
func jsonString(v any, path ...string) string {
	s, _ := jsonField(v, path...).(string)
	return s
}

// in is e reporting to t, for use inside a subtest.
func (e *cliEnv) in(t *testing.T) *cliEnv {
	c := *e
	c.t = t
	return &c
}
