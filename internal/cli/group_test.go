package cli_test

import (
	"strings"
	"testing"
)

func TestGroupCommands(t *testing.T) {
	e := startCLI(t)
	sub := e.env.Creds.SubscriptionID

	g := e.okJSON("group", "create", "-n", "rg-app", "-l", "westus", "--tags", "env=prod", "team=web")
	if jsonString(g, "id") != "/subscriptions/"+sub+"/resourceGroups/rg-app" || jsonString(g, "location") != "westus" ||
		jsonString(g, "tags", "env") != "prod" || jsonString(g, "tags", "team") != "web" || jsonString(g, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("group create printed %v", g)
	}
	if _, ok := g.(map[string]any)["resourceGroup"]; ok {
		t.Errorf("a group's own document got a resourceGroup member (az adds none): %v", g)
	}

	t.Run("-g is a synonym of --name", func(t *testing.T) {
		e := e.in(t)
		e.ok("group", "create", "-g", "rg-other", "-l", "eastus", "--tags", "env=dev")
		if got := e.ok("group", "show", "-g", "rg-other", "--query", "location", "-o", "tsv"); got != "eastus\n" {
			t.Errorf("show -g: %q", got)
		}
	})
	t.Run("create again replaces the tags; a bare --tags clears them", func(t *testing.T) {
		e := e.in(t)
		e.ok("group", "create", "-n", "rg-other", "-l", "eastus", "--tags", "owner")
		if got := e.ok("group", "show", "-n", "rg-other", "--query", "tags", "-o", "json"); got != "{\n  \"owner\": \"\"\n}\n" {
			t.Errorf("tags after update: %q", got)
		}
		e.ok("group", "create", "-n", "rg-other", "-l", "eastus", "--tags")
		if got := e.ok("group", "show", "-n", "rg-other", "--query", "tags", "-o", "json"); got != "null\n" {
			t.Errorf("tags after clearing: %q", got)
		}
	})
	t.Run("show", func(t *testing.T) {
		e := e.in(t)
		if got := e.okJSON("group", "show", "-n", "rg-app"); jsonString(got, "name") != "rg-app" {
			t.Errorf("show: %v", got)
		}
	})
	t.Run("list", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("group", "list", "--query", "[].name", "-o", "tsv"); got != "rg-app\nrg-other\n" {
			t.Errorf("list: %q", got)
		}
	})
	t.Run("list --tag key=value", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("group", "list", "--tag", "env=prod", "--query", "[].name", "-o", "tsv"); got != "rg-app\n" {
			t.Errorf("list --tag env=prod: %q", got)
		}
		if got := e.ok("group", "list", "--tag", "team", "--query", "[].name", "-o", "tsv"); got != "rg-app\n" {
			t.Errorf("list --tag team: %q", got)
		}
		if got := e.ok("group", "list", "--tag", "env=nope", "-o", "json"); got != "[]\n" {
			t.Errorf("list with no match: %q", got)
		}
	})
	t.Run("exists", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("group", "exists", "-n", "rg-app"); got != "true\n" {
			t.Errorf("exists: %q", got)
		}
		if got := e.ok("group", "exists", "-n", "rg-none"); got != "false\n" {
			t.Errorf("exists on a missing group: %q", got)
		}
	})
	t.Run("delete waits for the deletion", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("group", "delete", "-n", "rg-other", "--yes"); got != "" {
			t.Errorf("delete printed %q", got)
		}
		if got := e.ok("group", "exists", "-n", "rg-other"); got != "false\n" {
			t.Errorf("group still exists after delete: %q", got)
		}
		e.ok("group", "create", "-n", "rg-gone", "-l", "westus")
		e.ok("group", "delete", "-g", "rg-gone", "-y", "--no-wait")
		if got := e.ok("group", "exists", "-n", "rg-gone"); got != "false\n" {
			t.Errorf("group still exists after delete --no-wait: %q", got)
		}
	})
	t.Run("-o none prints nothing", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("group", "show", "-n", "rg-app", "-o", "none"); got != "" {
			t.Errorf("-o none printed %q", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		e := e.in(t)
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"show of a missing group is ARM's error", "keyless: (ResourceGroupNotFound) Resource group 'rg-none' could not be found.",
				[]string{"group", "show", "-n", "rg-none"}},
			{"delete of a missing group is ARM's error", "keyless: (ResourceGroupNotFound) Resource group 'rg-none' could not be found.",
				[]string{"group", "delete", "-n", "rg-none", "-y"}},
			{"create needs a location", `keyless: required flag(s) "location" not set`,
				[]string{"group", "create", "-n", "rg-x"}},
			{"a command needs the group's name", "keyless: give the resource group's --name (or -g)",
				[]string{"group", "show"}},
			{"--name and -g must agree", "keyless: --name and --resource-group name different groups; give one",
				[]string{"group", "show", "-n", "a", "-g", "b"}},
			{"a bad group name is the server's validation error", "keyless: (InvalidResourceName) Resource group name 'rg-ends-with.' is invalid. It can be 1 to 90 characters long and may contain letters, digits, underscores, hyphens, periods and parentheses, and cannot end with a period.",
				[]string{"group", "create", "-n", "rg-ends-with.", "-l", "westus"}},
			{"unknown flags are refused", "keyless: unknown flag: --colour",
				[]string{"group", "create", "-n", "x", "-l", "westus", "--colour", "red"}},
			{"stray words are refused", "keyless: unknown command \"extra\" for \"keyless group show\"",
				[]string{"group", "show", "-n", "x", "extra"}},
			{"a bad --tags word is refused", `keyless: --tags: "=x" has no key; give key[=value] words`,
				[]string{"group", "create", "-n", "x", "-l", "westus", "--tags", "=x"}},
			{"a bad --query is refused", "keyless: --query: ",
				[]string{"group", "list", "--query", "[?name=="}},
			{"a bad --output is refused", `keyless: --output must be one of json, jsonc, table, tsv, yaml, yamlc, none, not "xml"`,
				[]string{"group", "list", "-o", "xml"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				r := e.run(tc.args...)
				if strings.HasSuffix(tc.want, ")") || strings.HasSuffix(tc.want, ": ") {
					// Only the stable prefix of the message is pinned.
					if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
						t.Errorf("keyless %v: exit %d, stdout %q, stderr %q; want one line starting %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
					}
					return
				}
				checkFailure(t, r, tc.want, tc.args)
			})
		}
	})
}
