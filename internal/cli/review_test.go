package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/cli"
	"github.com/keyless-io/keyless/internal/store"
)

// backdate makes a principal look created long ago, so that the review
// judges it by use (a principal newer than the window is too new to judge).
func backdate(t *testing.T, e *cliEnv, objectID string) {
	t.Helper()
	st := e.env.Server.Installation().Store
	rev, err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.UpdatePrincipal(context.Background(), objectID, func(p store.Principal) (store.Principal, error) {
			p.CreatedAt = time.Now().Add(-200 * 24 * time.Hour)
			return p, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.env.Server.WaitFor(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
}

func findings(t *testing.T, e *cliEnv, args ...string) []map[string]any {
	t.Helper()
	doc := e.okJSON(append([]string{"review"}, args...)...)
	list, _ := jsonField(doc, "findings").([]any)
	out := make([]map[string]any, 0, len(list))
	for _, f := range list {
		out = append(out, f.(map[string]any))
	}
	return out
}

func withRule(fs []map[string]any, rule, displayName string) []map[string]any {
	var out []map[string]any
	for _, f := range fs {
		if f["rule"] == rule && (displayName == "" || f["displayName"] == displayName) {
			out = append(out, f)
		}
	}
	return out
}

// TestReviewFindsAndFixes drives keyless review through the CLI and the
// API against a real server: an identity that was never used, a
// user-assigned identity shared by two resource types, a workload holding
// Owner at a subscription; --fail-on's exit status; and review apply
// deleting the unused identity through the ARM API.
func TestReviewFindsAndFixes(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-app", "-l", "westus")
	e.ok("identity", "create", "-g", "rg-app", "-n", "id-shared")
	idle := e.okJSON("identity", "create", "-g", "rg-app", "-n", "id-idle")
	e.ok("resource", "create", "-g", "rg-app", "-n", "web1", "--resource-type", "Microsoft.Web/sites", "-p", "{}", "--assign-identity", "id-shared")
	e.ok("resource", "create", "-g", "rg-app", "-n", "vm1", "--resource-type", "Microsoft.Compute/virtualMachines", "-p", "{}", "--assign-identity", "id-shared")
	idleOID := jsonString(idle, "principalId")
	backdate(t, e, idleOID)
	sub := e.env.Creds.SubscriptionID
	e.ok("role", "assignment", "create", "--assignee-object-id", idleOID, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Owner", "--scope", "/subscriptions/"+sub)

	all := findings(t, e, "-g", "rg-app")
	unused := withRule(all, "unused-identity", "id-idle")
	if len(unused) != 1 || unused[0]["fix"] != "keyless identity delete -g rg-app -n id-idle" {
		t.Fatalf("unused-identity: %v", unused)
	}
	if len(withRule(all, "unused-identity", "id-shared")) != 0 {
		t.Fatal("an identity too new to judge was reported unused")
	}
	if n := len(withRule(all, "shared-identity", "id-shared")); n != 1 {
		t.Fatalf("shared-identity: %d", n)
	}
	for _, rule := range []string{"privileged-role", "broad-scope"} {
		if n := len(withRule(all, rule, "id-idle")); n != 1 {
			t.Fatalf("%s: %d findings for an Owner at the subscription", rule, n)
		}
	}

	md := e.ok("review", "-g", "rg-app", "-o", "md")
	if !strings.HasPrefix(md, "# Access review") || !strings.Contains(md, "keyless identity delete -g rg-app -n id-idle") {
		t.Fatalf("markdown:\n%s", md)
	}
	if r := e.run("review", "-g", "rg-app", "--fail-on", "high", "-o", "none"); r.code != cli.ExitFindings {
		t.Fatalf("--fail-on high with a high finding: exit %d (%s)", r.code, r.stderr)
	}
	if r := e.run("review", "-g", "rg-nothing-here", "--fail-on", "low", "-o", "none"); r.code == cli.ExitFindings {
		t.Fatalf("--fail-on with no findings exited %d", r.code)
	}

	// Without --yes and without a terminal, nothing is changed.
	if r := e.run("review", "apply", unused[0]["id"].(string), "-g", "rg-app"); r.code == 0 {
		t.Fatal("review apply changed something without --yes")
	}
	e.ok("identity", "show", "-g", "rg-app", "-n", "id-idle")
	e.ok("review", "apply", unused[0]["id"].(string), "-g", "rg-app", "--yes")
	if r := e.run("identity", "show", "-g", "rg-app", "-n", "id-idle"); r.code == 0 {
		t.Fatal("the unused identity survived review apply")
	}
	// The fact is gone, so is the finding.
	if n := len(withRule(findings(t, e, "-g", "rg-app"), "unused-identity", "id-idle")); n != 0 {
		t.Fatalf("finding still reported after its fix: %d", n)
	}
}

// TestInventoryDocumentsIdentities: keyless inventory in every format.
func TestInventoryDocumentsIdentities(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-app", "-l", "westus")
	id := e.okJSON("identity", "create", "-g", "rg-app", "-n", "id-web")
	e.ok("resource", "create", "-g", "rg-app", "-n", "web1", "--resource-type", "Microsoft.Web/sites", "-p", "{}", "--assign-identity", "[system]", "id-web")
	e.ok("role", "assignment", "create", "--assignee-object-id", jsonString(id, "principalId"), "--assignee-principal-type", "ServicePrincipal",
		"--role", "Reader", "-g", "rg-app")
	doc := e.okJSON("inventory", "-g", "rg-app")
	ids, _ := jsonField(doc, "identities").([]any)
	if len(ids) != 2 {
		t.Fatalf("%d identities, want the user-assigned and the site's system-assigned one", len(ids))
	}
	for _, tc := range []struct{ format, want string }{
		{"md", "| Reader | `/subscriptions/"},
		{"csv", "kind,name,resourceId"},
		{"dot", "digraph inventory"},
		{"html", "<svg"},
	} {
		if out := e.ok("inventory", "-g", "rg-app", "-o", tc.format); !strings.Contains(out, tc.want) {
			t.Errorf("-o %s lacks %q:\n%s", tc.format, tc.want, out)
		}
	}
}
