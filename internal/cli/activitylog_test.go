package cli_test

import (
	"strings"
	"testing"
)

func TestActivityLogList(t *testing.T) {
	e := startCLI(t)
	e.ok("group", "create", "-n", "rg-app", "-l", "westus")
	e.ok("group", "create", "-n", "rg-other", "-l", "westus")
	e.ok("resource", "create", "-g", "rg-app", "-n", "web1", "--resource-type", "Microsoft.Web/sites", "-p", "{}")

	t.Run("the last 6 hours, newest first, as JSON", func(t *testing.T) {
		e := e.in(t)
		events, _ := e.okJSON("activity-log", "list").([]any)
		if len(events) != 3 {
			t.Fatalf("%d events, want 3: %v", len(events), events)
		}
		if op := jsonString(events[0], "operationName", "value"); op != "Microsoft.Web/sites/write" {
			t.Errorf("newest event: %s", op)
		}
		if jsonString(events[2], "resourceGroupName") != "rg-app" || jsonString(events[2], "status", "value") != "Succeeded" || jsonString(events[2], "subStatus", "value") != "Created" {
			t.Errorf("oldest event: %v", events[2])
		}
	})
	t.Run("-g, --namespace and --status filter", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("activity-log", "list", "-g", "rg-other", "--query", "[].resourceGroupName", "-o", "tsv"); got != "rg-other\n" {
			t.Errorf("-g rg-other: %q", got)
		}
		if got := e.ok("activity-log", "list", "--namespace", "Microsoft.Web", "--query", "[].resourceType.value", "-o", "tsv"); got != "Microsoft.Web/sites\n" {
			t.Errorf("--namespace: %q", got)
		}
		if got := e.ok("activity-log", "list", "--status", "Failed", "-o", "json"); got != "[]\n" {
			t.Errorf("--status Failed: %q", got)
		}
	})
	t.Run("--max-events and --select", func(t *testing.T) {
		e := e.in(t)
		events, _ := e.okJSON("activity-log", "list", "--max-events", "1", "--select", "eventTimestamp", "operationName").([]any)
		if len(events) != 1 {
			t.Fatalf("--max-events 1 printed %d", len(events))
		}
		m, _ := events[0].(map[string]any)
		if len(m) != 2 || m["eventTimestamp"] == nil || m["operationName"] == nil {
			t.Errorf("--select printed %v", m)
		}
	})
	t.Run("a window before the changes is empty", func(t *testing.T) {
		e := e.in(t)
		if got := e.ok("activity-log", "list", "--start-time", "2020-01-01", "--offset", "1d", "-o", "json"); got != "[]\n" {
			t.Errorf("2020-01-01 + 1d: %q", got)
		}
	})
	t.Run("-o table", func(t *testing.T) {
		e := e.in(t)
		out := e.ok("activity-log", "list", "-g", "rg-app", "-o", "table")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "EventTimestamp") || !strings.Contains(lines[0], "Operation") ||
			!strings.Contains(lines[2], "Microsoft.Web/sites/write") || !strings.Contains(lines[2], "Succeeded") {
			t.Errorf("table:\n%s", out)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		e := e.in(t)
		e.fails("keyless: usage error: give at most one of --correlation-id, --resource-group, --resource-id and --namespace",
			"activity-log", "list", "-g", "rg-app", "--namespace", "Microsoft.Web")
		e.fails(`keyless: --offset "6x": use ##d##h##m##s, e.g. 6h, 1d or 1d12h`, "activity-log", "list", "--offset", "6x")
		e.fails(`keyless: --start-time: "soon" is not an ISO 8601 time, e.g. 2025-05-01T00:00:00Z`, "activity-log", "list", "--start-time", "soon")
	})
}
