package cli

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/usageapi"
)

func init() { register(addUsageCommands) }

// usageShape prints usage records with their properties at the top level,
// as az prints identities, so `--query lastTokenIssued` works.
var usageShape = printShape{flatten: true, table: usageTable}

// usageDetailShape prints one principal's usage as one table row per
// audience and per action.
var usageDetailShape = printShape{flatten: true, table: usageDetailTable}

// addUsageCommands adds `keyless usage`.
func addUsageCommands(root *cobra.Command) {
	var scope, since, principalID string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show which identities and service principals under a scope are used: tokens per audience, requests per action",
		Long: `Show, for every managed identity whose resource lies under the scope and every
principal holding a role assignment under it, when it last got a token (per
audience, with counts per day) and which control-plane actions it performed
(per scope, allowed or denied). Each server replica writes what it records
every --usage-flush-interval (5s by default), so the newest seconds may be
missing. Requests at scopes you may not read are left out.`,
		Example: `  keyless usage --scope /subscriptions/$SUB/resourceGroups/rg-app -o table
  keyless usage --scope / --query "[?lastTokenIssued==null].displayName" -o tsv
  keyless usage --scope /subscriptions/$SUB --since 2025-01-01T00:00:00Z -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(scope, "/") {
				return errors.New("--scope must be a scope such as / or /subscriptions/{id}/resourceGroups/{name}")
			}
			if since != "" {
				if _, err := time.Parse(time.RFC3339, since); err != nil {
					return errors.New("--since must be an RFC 3339 time, such as 2025-01-02T00:00:00Z")
				}
			}
			list, err := conn.usage(cmd.Context(), scope, principalID, since)
			if err != nil {
				return err
			}
			return printResult(cmd, list.Value, usageShape)
		},
	}
	f := cmd.Flags()
	f.StringVar(&scope, "scope", "", "scope to report on: /, a subscription, a resource group or a resource ID")
	f.StringVar(&since, "since", "", "only usage from this time on (RFC 3339); default: everything kept (90 days unless the server says otherwise)")
	f.StringVar(&principalID, "principal-id", "", "only this principal (object ID)")
	_ = cmd.MarkFlagRequired("scope")
	root.AddCommand(cmd)
}

// identityUsageCommand is `keyless identity usage`: one identity's usage
// in detail.
func identityUsageCommand() *cobra.Command {
	var ids []string
	var name, group, since string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show when a user-assigned identity last got tokens (per audience, per day) and what it did",
		Example: `  keyless identity usage -g rg-app -n id-web
  keyless identity usage -g rg-app -n id-web -o table`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			refs, err := identityTargets(cmd, conn, ids, group, name)
			if err != nil {
				return err
			}
			var out []usageapi.PrincipalUsage
			for _, ref := range refs {
				client, err := conn.identitiesClient(ref.subscriptionID)
				if err != nil {
					return err
				}
				resp, err := client.Get(cmd.Context(), ref.group, ref.name, nil)
				if err != nil {
					return err
				}
				if resp.ID == nil || resp.Properties == nil || resp.Properties.PrincipalID == nil {
					return errors.New("the server returned an identity without an ID or principalId")
				}
				list, err := conn.usage(cmd.Context(), *resp.ID, *resp.Properties.PrincipalID, since)
				if err != nil {
					return err
				}
				out = append(out, list.Value...)
			}
			return printOneOrMany(cmd, out, usageDetailShape)
		},
	}
	identityTargetFlags(cmd, &ids, &name, &group)
	cmd.Flags().StringVar(&since, "since", "", "only usage from this time on (RFC 3339)")
	return cmd
}

// usage reads GET {scope}/providers/Keyless.Insights/usage.
func (c *Connection) usage(ctx context.Context, scope, principalID, since string) (usageapi.List, error) {
	q := url.Values{}
	if principalID != "" {
		q.Set("principalId", principalID)
	}
	if since != "" {
		q.Set("since", since)
	}
	path := strings.TrimSuffix(scope, "/") + usageapi.Path
	var list usageapi.List
	err := rbacGet(ctx, c, path, usageapi.APIVersion, q, &list)
	return list, err
}

// lastUsed is what `identity show` and `sp show` add: the last token per
// audience and the last activity, null when never (within the retention).
type lastUsed struct {
	LastTokenIssued map[string]time.Time `json:"lastTokenIssued"`
	LastActivity    *time.Time           `json:"lastActivity"`
}

// lastUsedOf reads a principal's last use at scope. ok is false when the
// caller may not read usage there, or the server has no usage API, so
// that show still prints the object itself.
func (c *Connection) lastUsedOf(ctx context.Context, scope, principalID string) (lastUsed, bool, error) {
	list, err := c.usage(ctx, scope, principalID, "")
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusNotFound) {
		return lastUsed{}, false, nil
	}
	if err != nil {
		return lastUsed{}, false, err
	}
	out := lastUsed{LastTokenIssued: map[string]time.Time{}}
	for _, u := range list.Value {
		if !strings.EqualFold(u.Properties.PrincipalID, principalID) {
			continue
		}
		for _, t := range u.Properties.Tokens {
			out.LastTokenIssued[t.Audience] = t.LastIssued
		}
		out.LastActivity = u.Properties.LastActivity
	}
	return out, true, nil
}

// withLastUsed returns v's az document with the last-use members added.
func withLastUsed(v any, flatten bool, used lastUsed) (any, error) {
	doc, err := azDocument(v, flatten)
	if err != nil {
		return nil, err
	}
	if m, ok := doc.(map[string]any); ok {
		tokens := map[string]any{}
		for aud, t := range used.LastTokenIssued {
			tokens[aud] = t.UTC().Format(time.RFC3339Nano)
		}
		m["lastTokenIssued"] = tokens
		if used.LastActivity != nil {
			m["lastActivity"] = used.LastActivity.UTC().Format(time.RFC3339Nano)
		} else {
			m["lastActivity"] = nil
		}
	}
	return doc, nil
}

// usageTable shows one principal a row.
func usageTable(doc any) any {
	items, ok := doc.([]any)
	if !ok {
		items = []any{doc}
	}
	rows := make([]any, 0, len(items))
	for _, u := range items {
		rows = append(rows, tableRow(
			"DisplayName", member(u, "displayName"),
			"PrincipalType", member(u, "principalType"),
			"PrincipalId", member(u, "principalId"),
			"LastTokenIssued", orNever(member(u, "lastTokenIssued")),
			"LastActivity", orNever(member(u, "lastActivity")),
			"Tokens", sumCounts(member(u, "tokens")),
			"Requests", sumCounts(member(u, "actions")),
		))
	}
	return rows
}

// usageDetailTable shows one row per audience and per action.
func usageDetailTable(doc any) any {
	items, ok := doc.([]any)
	if !ok {
		items = []any{doc}
	}
	var rows []any
	for _, u := range items {
		who := member(u, "displayName")
		for _, t := range asList(member(u, "tokens")) {
			rows = append(rows, tableRow("Principal", who, "Kind", "token", "Audience / Action", member(t, "audience"), "Scope", "",
				"Outcome", "issued", "Count", member(t, "count"), "First", member(t, "firstIssued"), "Last", member(t, "lastIssued")))
		}
		for _, a := range asList(member(u, "actions")) {
			rows = append(rows, tableRow("Principal", who, "Kind", "request", "Audience / Action", member(a, "action"), "Scope", member(a, "scope"),
				"Outcome", member(a, "outcome"), "Count", member(a, "count"), "First", member(a, "firstTime"), "Last", member(a, "lastTime")))
		}
		if len(asList(member(u, "tokens")))+len(asList(member(u, "actions"))) == 0 {
			rows = append(rows, tableRow("Principal", who, "Kind", "", "Audience / Action", "never used", "Scope", "",
				"Outcome", "", "Count", 0, "First", "", "Last", ""))
		}
	}
	return rows
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func orNever(v any) any {
	if v == nil {
		return "never"
	}
	return v
}

// sumCounts adds up the count members of a list.
func sumCounts(v any) any {
	var n int64
	for _, e := range asList(v) {
		switch c := member(e, "count").(type) {
		case interface{ Int64() (int64, error) }:
			if i, err := c.Int64(); err == nil {
				n += i
			}
		case float64:
			n += int64(c)
		}
	}
	return n
}
