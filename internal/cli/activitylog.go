package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/spf13/cobra"
)

func init() { register(addActivityLogCommands) }

// addActivityLogCommands adds `keyless activity-log`, shaped after `az
// monitor activity-log`: armmonitor's ActivityLogsClient does every call.
func addActivityLogCommands(root *cobra.Command) {
	group := &cobra.Command{Use: "activity-log", Short: "Read the activity log: control-plane changes and refusals"}
	group.AddCommand(activityLogListCommand())
	root.AddCommand(group)
}

// activityLogFlags are az's filter arguments of `monitor activity-log list`.
type activityLogFlags struct {
	resourceGroup, resourceID, namespace, correlationID, caller, status string
	startTime, endTime, offset                                          string
	maxEvents                                                           int
	selectFields                                                        []string
}

func activityLogListCommand() *cobra.Command {
	var f activityLogFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List activity log events (the last 6 hours unless told otherwise)",
		Example: `  keyless activity-log list -g rg-app --offset 1d
  keyless activity-log list --correlation-id b5eac9d2-e829-4c9a-9efb-586d19417c5f
  keyless activity-log list --start-time 2025-05-01 --offset 7d --status Failed -o table
  keyless activity-log list --caller 00000000-0000-0000-0000-000000000000 --select eventTimestamp operationName`,
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.resourceGroup, "resource-group", "g", "", "only events in this resource group")
	fl.StringVar(&f.resourceID, "resource-id", "", "only events of this resource and what is below it")
	fl.StringVar(&f.namespace, "namespace", "", "only events of this resource provider namespace, e.g. Microsoft.ManagedIdentity")
	fl.StringVar(&f.correlationID, "correlation-id", "", "only events of this correlation ID")
	fl.StringVar(&f.caller, "caller", "", "only events of this caller (object ID or application ID)")
	fl.StringVar(&f.status, "status", "", "only events with this status: Started, Succeeded or Failed")
	fl.StringVar(&f.startTime, "start-time", "", "start of the time range, ISO 8601 (e.g. 2025-05-01T00:00:00Z); default: --end-time less --offset")
	fl.StringVar(&f.endTime, "end-time", "", "end of the time range, ISO 8601; default: now, or --start-time plus --offset")
	fl.StringVar(&f.offset, "offset", "6h", "length of the time range when one end is missing: ##d##h##m##s, e.g. 6h, 1d, 1d12h")
	fl.IntVar(&f.maxEvents, "max-events", 50, "most events to print")
	fl.StringArrayVar(&f.selectFields, "select", nil, "space-separated members of each event to print, e.g. eventTimestamp operationName status")
	multiWordFlags(cmd, "select")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		filter, err := f.filter(time.Now())
		if err != nil {
			return err
		}
		if f.maxEvents < 1 {
			return errors.New("--max-events must be at least 1")
		}
		conn, err := Connect(cmd)
		if err != nil {
			return err
		}
		sub, err := subscriptionOf(cmd, conn)
		if err != nil {
			return err
		}
		client, err := armmonitor.NewActivityLogsClient(sub, conn.Credential, conn.Options)
		if err != nil {
			return err
		}
		var opts *armmonitor.ActivityLogsClientListOptions
		if sel := selectList(f.selectFields); sel != "" {
			opts = &armmonitor.ActivityLogsClientListOptions{Select: to.Ptr(sel)}
		}
		events := []*armmonitor.EventData{}
		for p := client.NewListPager(filter, opts); p.More() && len(events) < f.maxEvents; {
			page, err := p.NextPage(cmd.Context())
			if err != nil {
				return err
			}
			events = append(events, page.Value...)
		}
		if len(events) > f.maxEvents {
			events = events[:f.maxEvents]
		}
		return printResult(cmd, events, printShape{table: activityLogTable})
	}
	return cmd
}

// filter builds the $filter az builds: the time range, then at most one of
// correlation ID, resource group, resource ID and namespace, then caller
// and status.
func (f activityLogFlags) filter(now time.Time) (string, error) {
	offset, err := parseOffset(f.offset)
	if err != nil {
		return "", err
	}
	var start, end time.Time
	if f.startTime != "" {
		if start, err = parseCLITime(f.startTime); err != nil {
			return "", fmt.Errorf("--start-time: %w", err)
		}
	}
	if f.endTime != "" {
		if end, err = parseCLITime(f.endTime); err != nil {
			return "", fmt.Errorf("--end-time: %w", err)
		}
	}
	switch {
	case start.IsZero() && end.IsZero():
		end = now
		start = end.Add(-offset)
	case start.IsZero():
		start = end.Add(-offset)
	case end.IsZero():
		end = start.Add(offset)
	}
	if end.Before(start) {
		return "", errors.New("--end-time is before --start-time")
	}
	given := 0
	for _, v := range []string{f.correlationID, f.resourceGroup, f.resourceID, f.namespace} {
		if v != "" {
			given++
		}
	}
	if given > 1 {
		return "", errors.New("usage error: give at most one of --correlation-id, --resource-group, --resource-id and --namespace")
	}
	terms := []string{
		"eventTimestamp ge '" + start.UTC().Format(time.RFC3339Nano) + "'",
		"eventTimestamp le '" + end.UTC().Format(time.RFC3339Nano) + "'",
	}
	for _, c := range []struct{ name, value string }{
		{"correlationId", f.correlationID}, {"resourceGroupName", f.resourceGroup}, {"resourceId", f.resourceID},
		{"resourceProvider", f.namespace}, {"caller", f.caller}, {"status", f.status},
	} {
		if c.value != "" {
			terms = append(terms, c.name+" eq '"+strings.ReplaceAll(c.value, "'", "''")+"'")
		}
	}
	return strings.Join(terms, " and "), nil
}

var offsetPattern = regexp.MustCompile(`^(?i)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

// parseOffset reads az's ##d##h##m##s durations.
func parseOffset(s string) (time.Duration, error) {
	m := offsetPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || strings.TrimSpace(s) == "" {
		return 0, fmt.Errorf("--offset %q: use ##d##h##m##s, e.g. 6h, 1d or 1d12h", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("--offset %q is too long", s)
		}
		d += time.Duration(n) * unit
	}
	return d, nil
}

// cliTimeLayouts are what --start-time and --end-time accept: ISO 8601
// with or without an offset (none means UTC), or a date.
var cliTimeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02",
}

func parseCLITime(s string) (time.Time, error) {
	for _, layout := range cliTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time, e.g. 2025-05-01T00:00:00Z", s)
}

// selectList joins --select's names (space- or comma-separated) for $select.
func selectList(fields []string) string {
	var names []string
	for _, f := range fields {
		for _, n := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == ' ' }) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// activityLogTable is the table of events: when, what, the outcome, where
// and who.
func activityLogTable(doc any) any {
	items, _ := doc.([]any)
	rows := make([]any, 0, len(items))
	for _, e := range items {
		rows = append(rows, tableRow(
			"EventTimestamp", member(e, "eventTimestamp"),
			"Operation", member(e, "operationName", "value"),
			"Status", member(e, "status", "value"),
			"SubStatus", member(e, "subStatus", "value"),
			"ResourceGroup", member(e, "resourceGroupName"),
			"Caller", member(e, "caller"),
		))
	}
	return rows
}
