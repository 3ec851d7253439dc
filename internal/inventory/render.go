package inventory

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"strings"
	"time"
)

// Markdown is a document a team can commit next to its infrastructure
// code: a section per subscription and resource group, a table per
// identity.
func (inv Inventory) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Identity inventory\n\nScope `%s`, generated %s by `keyless inventory`.\n", inv.Scope, inv.GeneratedAt.Format(time.RFC3339))
	if len(inv.Identities) == 0 {
		b.WriteString("\nNo identities under this scope.\n")
		return b.Bytes()
	}
	lastSub, lastGroup := "\x00", "\x00"
	for _, id := range inv.Identities {
		if id.SubscriptionID != lastSub {
			lastSub, lastGroup = id.SubscriptionID, "\x00"
			if id.SubscriptionID == "" {
				b.WriteString("\n## Service principals\n")
			} else {
				fmt.Fprintf(&b, "\n## Subscription `%s`\n", id.SubscriptionID)
			}
		}
		if id.ResourceGroup != lastGroup && id.SubscriptionID != "" {
			lastGroup = id.ResourceGroup
			fmt.Fprintf(&b, "\n### Resource group `%s`\n", id.ResourceGroup)
		}
		fmt.Fprintf(&b, "\n#### %s (%s)\n\n", mdEscape(id.Name), kindLabel(id.Kind))
		b.WriteString("| | |\n|---|---|\n")
		if id.ResourceID != "" {
			fmt.Fprintf(&b, "| resource ID | `%s` |\n", id.ResourceID)
		}
		fmt.Fprintf(&b, "| principal ID | `%s` |\n| client ID | `%s` |\n", id.PrincipalID, id.ClientID)
		if len(id.AttachedTo) > 0 {
			fmt.Fprintf(&b, "| attached to | %s |\n", codeList(id.AttachedTo))
		}
		if len(id.LastUse) == 0 {
			b.WriteString("| last use | never |\n")
		}
		for _, u := range id.LastUse {
			fmt.Fprintf(&b, "| last use (`%s`) | %s (%d tokens) |\n", u.Audience, u.Last.Format(time.RFC3339), u.Count)
		}
		if len(id.RoleAssignments) > 0 {
			b.WriteString("\n| role | scope | via |\n|---|---|---|\n")
			for _, a := range id.RoleAssignments {
				fmt.Fprintf(&b, "| %s | `%s` | %s |\n", mdEscape(a.RoleName), a.Scope, mdEscape(a.Via))
			}
		} else {
			b.WriteString("\nNo role assignments.\n")
		}
		if len(id.FederatedCredentials) > 0 {
			b.WriteString("\n| federated credential | issuer | subject | audiences |\n|---|---|---|---|\n")
			for _, f := range id.FederatedCredentials {
				fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", mdEscape(f.Name), f.Issuer, f.Subject, codeList(f.Audiences))
			}
		}
	}
	return b.Bytes()
}

func kindLabel(kind string) string {
	switch kind {
	case "SystemAssigned":
		return "system-assigned identity"
	case "UserAssigned":
		return "user-assigned identity"
	}
	return "service principal"
}

func mdEscape(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }

func codeList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return strings.Join(out, ", ")
}

// CSV is one row per (identity, role assignment), an identity without any
// having one row with empty role columns.
func (inv Inventory) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"kind", "name", "resourceId", "principalId", "clientId", "attachedTo", "role", "scope", "via", "federatedCredentials", "lastUse"})
	for _, id := range inv.Identities {
		var fics, uses []string
		for _, f := range id.FederatedCredentials {
			fics = append(fics, f.Name+"="+f.Issuer+"|"+f.Subject)
		}
		for _, u := range id.LastUse {
			uses = append(uses, u.Audience+"="+u.Last.Format(time.RFC3339))
		}
		row := func(role, scope, via string) {
			_ = w.Write([]string{id.Kind, id.Name, id.ResourceID, id.PrincipalID, id.ClientID, strings.Join(id.AttachedTo, ";"),
				role, scope, via, strings.Join(fics, ";"), strings.Join(uses, ";")})
		}
		if len(id.RoleAssignments) == 0 {
			row("", "", "")
		}
		for _, a := range id.RoleAssignments {
			row(a.RoleName, a.Scope, a.Via)
		}
	}
	w.Flush()
	return b.Bytes()
}

// DOT is the identity ↔ resource ↔ role ↔ scope graph for Graphviz.
func (inv Inventory) DOT() []byte {
	var b bytes.Buffer
	b.WriteString("digraph inventory {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n")
	nodes := map[string]string{}
	node := func(key, label, shape string) string {
		if id, ok := nodes[key]; ok {
			return id
		}
		id := fmt.Sprintf("n%d", len(nodes))
		nodes[key] = id
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s];\n", id, dotQuote(label), shape)
		return id
	}
	for _, id := range inv.Identities {
		who := node("p:"+id.PrincipalID, id.Name+"\n"+kindLabel(id.Kind), "ellipse")
		for _, r := range id.AttachedTo {
			res := node("r:"+strings.ToLower(r), resourceLabel(r, "\n"), "box")
			fmt.Fprintf(&b, "  %s -> %s [label=\"runs as\", dir=back];\n", who, res)
		}
		for _, a := range id.RoleAssignments {
			scope := node("s:"+strings.ToLower(a.Scope), a.Scope, "folder")
			label := a.RoleName
			if a.Via != "direct" {
				label += " (" + a.Via + ")"
			}
			fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", who, scope, dotQuote(label))
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// resourceLabel is "name\ntype" (sep between) for a graph node.
func resourceLabel(id, sep string) string {
	_, _, name, typ := resourceID(id)
	return name + sep + typ
}

// HTML is one self-contained page (no external assets, no script): the
// tables and the graph, drawn as inline SVG columns of identities, the
// resources they run as and the scopes they hold roles at.
func (inv Inventory) HTML() []byte {
	var b bytes.Buffer
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Identity inventory</title>\n<style>\n")
	b.WriteString("body{font-family:system-ui,sans-serif;margin:2em;color:#1b1b1b}table{border-collapse:collapse;margin:.5em 0 1.5em}" +
		"td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;font-size:.9em}th{background:#f3f3f3}code{font-size:.85em}" +
		"h3{margin-top:2em}svg text{font-size:11px;font-family:system-ui,sans-serif}\n</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>Identity inventory</h1>\n<p>Scope <code>%s</code>, generated %s by <code>keyless inventory</code>.</p>\n",
		e(inv.Scope), e(inv.GeneratedAt.Format(time.RFC3339)))
	b.Write(inv.svg())
	for _, id := range inv.Identities {
		fmt.Fprintf(&b, "<h3>%s <small>(%s)</small></h3>\n<table>\n", e(id.Name), e(kindLabel(id.Kind)))
		if id.ResourceID != "" {
			fmt.Fprintf(&b, "<tr><th>resource ID</th><td><code>%s</code></td></tr>\n", e(id.ResourceID))
		}
		fmt.Fprintf(&b, "<tr><th>principal ID</th><td><code>%s</code></td></tr>\n<tr><th>client ID</th><td><code>%s</code></td></tr>\n", e(id.PrincipalID), e(id.ClientID))
		for _, r := range id.AttachedTo {
			fmt.Fprintf(&b, "<tr><th>attached to</th><td><code>%s</code></td></tr>\n", e(r))
		}
		if len(id.LastUse) == 0 {
			b.WriteString("<tr><th>last use</th><td>never</td></tr>\n")
		}
		for _, u := range id.LastUse {
			fmt.Fprintf(&b, "<tr><th>last use</th><td><code>%s</code>: %s (%d tokens)</td></tr>\n", e(u.Audience), e(u.Last.Format(time.RFC3339)), u.Count)
		}
		b.WriteString("</table>\n")
		if len(id.RoleAssignments) > 0 {
			b.WriteString("<table><tr><th>role</th><th>scope</th><th>via</th></tr>\n")
			for _, a := range id.RoleAssignments {
				fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td><td>%s</td></tr>\n", e(a.RoleName), e(a.Scope), e(a.Via))
			}
			b.WriteString("</table>\n")
		}
		if len(id.FederatedCredentials) > 0 {
			b.WriteString("<table><tr><th>federated credential</th><th>issuer</th><th>subject</th></tr>\n")
			for _, f := range id.FederatedCredentials {
				fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td><td><code>%s</code></td></tr>\n", e(f.Name), e(f.Issuer), e(f.Subject))
			}
			b.WriteString("</table>\n")
		}
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// svg draws three columns — resources, identities, scopes — with an edge
// from each resource to the identity it runs as and from each identity to
// the scopes it holds roles at, labelled with the role.
func (inv Inventory) svg() []byte {
	const rowH, colW, width = 28, 330, 1040
	var resources, scopes []string
	rIndex, sIndex := map[string]int{}, map[string]int{}
	for _, id := range inv.Identities {
		for _, r := range id.AttachedTo {
			if _, ok := rIndex[strings.ToLower(r)]; !ok {
				rIndex[strings.ToLower(r)] = len(resources)
				resources = append(resources, r)
			}
		}
		for _, a := range id.RoleAssignments {
			if _, ok := sIndex[strings.ToLower(a.Scope)]; !ok {
				sIndex[strings.ToLower(a.Scope)] = len(scopes)
				scopes = append(scopes, a.Scope)
			}
		}
	}
	rows := max(len(resources), len(inv.Identities), len(scopes), 1)
	height := rows*rowH + 40
	var b bytes.Buffer
	e := html.EscapeString
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"identity graph\">\n", width, height)
	for i, h := range []string{"resources", "identities", "scopes"} {
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"16\" font-weight=\"bold\">%s</text>\n", 10+i*(colW+25), h)
	}
	y := func(i int) int { return 40 + i*rowH }
	short := func(s string) string {
		if len(s) > 48 {
			return "…" + s[len(s)-47:]
		}
		return s
	}
	for i, id := range inv.Identities {
		for _, r := range id.AttachedTo {
			fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#7a9\"/>\n", 10+colW-10, y(rIndex[strings.ToLower(r)])-4, 10+colW+25, y(i)-4)
		}
		for _, a := range id.RoleAssignments {
			x1, y1, x2, y2 := 10+2*colW+15, y(i)-4, 10+2*(colW+25), y(sIndex[strings.ToLower(a.Scope)])-4
			fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#79c\"/>\n", x1, y1, x2, y2)
			fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" fill=\"#357\">%s</text>\n", (x1+x2)/2-20, (y1+y2)/2-2, e(a.RoleName))
		}
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\">%s</text>\n", 10+colW+25, y(i), e(short(id.Name+" ("+kindLabel(id.Kind)+")")))
	}
	for i, r := range resources {
		fmt.Fprintf(&b, "<text x=\"10\" y=\"%d\">%s</text>\n", y(i), e(short(resourceLabel(r, " · "))))
	}
	for i, s := range scopes {
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\">%s</text>\n", 10+2*(colW+25), y(i), e(short(s)))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
