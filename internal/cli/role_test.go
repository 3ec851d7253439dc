package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/cli"
	"github.com/keyless-io/keyless/internal/testenv"
)

// roleCLI runs the real command tree against a real server with one
// credentials file.
type roleCLI struct {
	t     *testing.T
	creds string
}

// run executes keyless as cmd/keyless/main.go does, reporting errors
// through cli.ReportError.
func (c roleCLI) run(args ...string) (stdout, stderr string, code int) {
	root := &cobra.Command{Use: "keyless", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--credentials", c.creds))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		code = cli.ReportError(&errOut, err)
	}
	return out.String(), errOut.String(), code
}

func (c roleCLI) ok(into any, args ...string) {
	c.t.Helper()
	out, stderr, code := c.run(append(args, "-o", "json")...)
	if code != 0 {
		c.t.Fatalf("keyless %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	if into != nil {
		if err := json.Unmarshal([]byte(out), into); err != nil {
			c.t.Fatalf("keyless %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func (c roleCLI) fails(want string, args ...string) {
	c.t.Helper()
	_, stderr, code := c.run(args...)
	if code == 0 || !strings.Contains(stderr, want) {
		c.t.Fatalf("keyless %s: exit %d, stderr %q; want failure mentioning %q", strings.Join(args, " "), code, stderr, want)
	}
}

// as returns a runner with another principal's credentials.
func (c roleCLI) as(appID, secret string) roleCLI {
	c.t.Helper()
	var doc map[string]any
	b, err := os.ReadFile(c.creds)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		c.t.Fatal(err)
	}
	doc["clientId"], doc["clientSecret"] = appID, secret
	b, _ = json.Marshal(doc)
	path := filepath.Join(c.t.TempDir(), "creds.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return roleCLI{t: c.t, creds: path}
}

func TestRoleCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	admin := roleCLI{t: t, creds: filepath.Join(env.DataDir, "admin-credentials.json")}
	sub := env.Creds.SubscriptionID
	group := "/subscriptions/" + sub + "/resourceGroups/rg-cli"
	groups, err := armresources.NewResourceGroupsClient(sub, env.AdminCredential(t), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(context.Background(), "rg-cli", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	var sp struct{ AppID, ObjectID, Password, DisplayName string }
	admin.ok(&sp, "sp", "create", "--name", "cli reader")

	type assignment struct {
		ID, Name, PrincipalID, PrincipalType, RoleDefinitionID, RoleDefinitionName, Scope string
	}
	var created assignment
	admin.ok(&created, "role", "assignment", "create", "--assignee", sp.AppID, "--role", "Reader", "-g", "rg-cli")
	if created.PrincipalID != sp.ObjectID || created.PrincipalType != "ServicePrincipal" || created.RoleDefinitionName != "Reader" || created.Scope != group {
		t.Fatalf("created: %+v", created)
	}
	admin.fails("RoleAssignmentExists", "role", "assignment", "create", "--assignee", "cli reader", "--role", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "-g", "rg-cli")
	admin.fails("no principal matches", "role", "assignment", "create", "--assignee", "nobody", "--role", "Reader", "-g", "rg-cli")

	var listed []assignment
	admin.ok(&listed, "role", "assignment", "list", "--assignee", sp.ObjectID, "--all")
	if len(listed) != 1 || listed[0].Name != created.Name || listed[0].RoleDefinitionName != "Reader" {
		t.Fatalf("list --assignee --all: %+v", listed)
	}
	admin.ok(&listed, "role", "assignment", "list")
	for _, a := range listed {
		if !strings.EqualFold(a.Scope, "/subscriptions/"+sub) {
			t.Fatalf("list without --all shows an assignment at %s", a.Scope)
		}
	}
	admin.ok(&listed, "role", "assignment", "list", "-g", "rg-cli", "--include-inherited")
	if len(listed) < 2 {
		t.Fatalf("list --include-inherited at the group: %+v", listed)
	}

	// check: as the admin about the principal, then as the principal about
	// itself, where the directory lookup is refused and its object ID is
	// used as given.
	var d struct {
		Allowed bool
		Reason  string
		Grants  []struct{ RoleName, Scope string }
	}
	admin.ok(&d, "role", "check", "--assignee", sp.AppID, "--action", "Microsoft.Resources/subscriptions/resourceGroups/read", "-g", "rg-cli")
	if !d.Allowed || len(d.Grants) != 1 || d.Grants[0].RoleName != "Reader" || d.Grants[0].Scope != group {
		t.Fatalf("check: %+v", d)
	}
	if _, _, code := admin.run("role", "check", "--assignee", sp.AppID, "--action", "Microsoft.Resources/subscriptions/resourceGroups/write", "-g", "rg-cli", "-o", "none"); code != 1 {
		t.Fatalf("a denied check exits %d, want 1", code)
	}
	reader := admin.as(sp.AppID, sp.Password)
	reader.ok(&d, "role", "check", "--assignee", sp.ObjectID, "--action", "Microsoft.Compute/virtualMachines/read", "-g", "rg-cli")
	if !d.Allowed {
		t.Fatalf("check as the principal: %+v", d)
	}
	var perms []struct{ Actions []string }
	reader.ok(&perms, "role", "permission", "list", "-g", "rg-cli")
	if len(perms) != 1 || len(perms[0].Actions) != 1 || perms[0].Actions[0] != "*/read" {
		t.Fatalf("permission list: %+v", perms)
	}
	reader.fails("AuthorizationFailed", "role", "assignment", "create", "--assignee-object-id", sp.ObjectID, "--role", "Contributor", "-g", "rg-cli")

	// Custom roles, az's way.
	type definition struct {
		ID, Name, RoleName, RoleType string
		Description                  *string
		AssignableScopes             []string
		Permissions                  []struct{ Actions []string }
	}
	var def definition
	admin.ok(&def, "role", "definition", "create", "--role-definition", `{"Name": "VM Restarter", "Description": "restart VMs",
		"Actions": ["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/restart/action"],
		"AssignableScopes": ["/subscriptions/`+sub+`"]}`)
	if def.RoleName != "VM Restarter" || def.RoleType != "CustomRole" || len(def.Permissions[0].Actions) != 2 {
		t.Fatalf("created role: %+v", def)
	}
	file := filepath.Join(t.TempDir(), "role.json")
	if err := os.WriteFile(file, []byte(`{"name": "`+def.Name+`", "description": "restart and read VMs"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	admin.ok(&def, "role", "definition", "update", "--role-definition", "@"+file)
	if def.Description == nil || *def.Description != "restart and read VMs" || len(def.Permissions[0].Actions) != 2 {
		t.Fatalf("updated role: %+v", def)
	}
	var defs []definition
	admin.ok(&defs, "role", "definition", "list", "--custom-role-only")
	if len(defs) != 1 || defs[0].Name != def.Name {
		t.Fatalf("custom roles: %+v", defs)
	}
	admin.ok(&defs, "role", "definition", "list", "--name", "Owner")
	if len(defs) != 1 || defs[0].RoleType != "BuiltInRole" {
		t.Fatalf("list --name Owner: %+v", defs)
	}
	admin.ok(&def, "role", "definition", "show", "--name", "VM Restarter", "-g", "rg-cli")
	admin.ok(&created, "role", "assignment", "create", "--assignee", sp.ObjectID, "--role", "VM Restarter", "-g", "rg-cli")
	admin.fails("RoleDefinitionHasAssignments", "role", "definition", "delete", "--name", "VM Restarter")
	admin.ok(nil, "role", "assignment", "delete", "--assignee", sp.AppID, "--role", "VM Restarter", "-g", "rg-cli")
	admin.ok(nil, "role", "definition", "delete", "--name", def.Name)
	admin.fails("does not exist", "role", "definition", "show", "--name", "VM Restarter")

	admin.ok(&listed, "role", "assignment", "list", "--assignee", sp.ObjectID, "--all")
	if len(listed) != 1 {
		t.Fatalf("assignments left: %+v", listed)
	}
	admin.ok(nil, "role", "assignment", "delete", "--ids", listed[0].ID)
	admin.ok(&listed, "role", "assignment", "list", "--assignee", sp.ObjectID, "--all")
	if len(listed) != 0 {
		t.Fatalf("assignments after delete --ids: %+v", listed)
	}
	admin.fails("nothing was deleted", "role", "assignment", "delete", "--assignee", sp.ObjectID, "-g", "rg-cli")
}
