package portal

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/governanceapi"
	"github.com/keyless-io/keyless/internal/inventory"
)

// graph is the inventory drawn as three columns: resources, the
// identities they run as, and the scopes those identities hold roles at.
type graph struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
}

type graphNode struct {
	X, Y, W   int
	Label     string
	Sub       string
	Class     string
	URL       string
	TextX     int
	TextY     int
	SubY      int
	RectClass string
}

type graphEdge struct {
	X1, Y1, X2, Y2 int
	Label          string
	LX, LY         int
	Class          string
}

func drawInventory(inv inventory.Inventory) graph {
	const colW, boxW, boxH, gap, top = 300, 240, 40, 14, 36
	var resources, scopes []string
	rIdx, sIdx := map[string]int{}, map[string]int{}
	for _, id := range inv.Identities {
		for _, r := range id.AttachedTo {
			if _, ok := rIdx[strings.ToLower(r)]; !ok {
				rIdx[strings.ToLower(r)] = len(resources)
				resources = append(resources, r)
			}
		}
		for _, a := range id.RoleAssignments {
			if _, ok := sIdx[strings.ToLower(a.Scope)]; !ok {
				sIdx[strings.ToLower(a.Scope)] = len(scopes)
				scopes = append(scopes, a.Scope)
			}
		}
	}
	rows := max(len(resources), len(inv.Identities), len(scopes), 1)
	g := graph{Width: 2*colW + boxW + 20, Height: top + rows*(boxH+gap) + 10}
	y := func(i int) int { return top + i*(boxH+gap) }
	node := func(col, row int, label, sub, class, url string) {
		x := 10 + col*colW
		g.Nodes = append(g.Nodes, graphNode{X: x, Y: y(row), W: boxW, Label: clip(label, 32), Sub: clip(sub, 38), Class: class, URL: url,
			TextX: x + 10, TextY: y(row) + 17, SubY: y(row) + 32})
	}
	for i, r := range resources {
		ref, _ := parseScope(r)
		node(0, i, ref.Name, ref.ResourceType, "resource", portalURL(r))
	}
	for i, id := range inv.Identities {
		url := ""
		if id.ResourceID != "" {
			url = portalURL(id.ResourceID)
		}
		node(1, i, id.Name, kindName(id.Kind), "identity "+strings.ToLower(id.Kind), url)
		for _, r := range id.AttachedTo {
			ry := y(rIdx[strings.ToLower(r)]) + boxH/2
			g.Edges = append(g.Edges, graphEdge{X1: 10 + boxW, Y1: ry, X2: 10 + colW, Y2: y(i) + boxH/2, Class: "runs"})
		}
		for _, a := range id.RoleAssignments {
			sy := y(sIdx[strings.ToLower(a.Scope)]) + boxH/2
			x1, y1, x2 := 10+colW+boxW, y(i)+boxH/2, 10+2*colW
			g.Edges = append(g.Edges, graphEdge{X1: x1, Y1: y1, X2: x2, Y2: sy, Class: "role", Label: a.RoleName,
				LX: (x1+x2)/2 - 20, LY: (y1+sy)/2 - 4})
		}
	}
	for i, s := range scopes {
		ref, ok := parseScope(s)
		label, sub := s, "scope"
		if ok {
			label, sub = ref.Name, ref.Level()
			if ref.ResourceType != "" {
				sub = ref.ResourceType
			}
		}
		node(2, i, label, sub, "scope", "")
	}
	return g
}

func kindName(k string) string {
	switch k {
	case "SystemAssigned":
		return "system-assigned identity"
	case "UserAssigned":
		return "user-assigned identity"
	}
	return "service principal"
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func (q *request) inventoryOf(ref scopeRef) (inventory.Inventory, error) {
	var inv inventory.Inventory
	err := q.arm.get(ref.ID+governanceapi.InventoryPath, vKeyless, &inv)
	return inv, err
}

func (p *Portal) inventoryPage(q *request) error {
	choices := q.scopeChoices()
	ref, ok := q.chosenScope(choices)
	pg := page{Title: "Inventory", Nav: "inventory", Crumbs: []crumb{{"Home", Path}}}
	data := map[string]any{"Choices": choices}
	if ok {
		inv, err := q.inventoryOf(ref)
		if err != nil {
			return err
		}
		data["Scope"], data["Inventory"], data["Graph"] = ref, inv, drawInventory(inv)
	}
	pg.Data = data
	return q.show("inventory", pg)
}

func (p *Portal) inventoryMarkdown(q *request) error {
	ref, ok := parseScope(q.r.URL.Query().Get("scope"))
	if !ok {
		p.renderStatus(q.w, q.r, http.StatusBadRequest, "No scope", "Choose a subscription or resource group.")
		return nil
	}
	inv, err := q.inventoryOf(ref)
	if err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	q.w.Header().Set("Content-Disposition", `attachment; filename="identity-inventory.md"`)
	_, _ = q.w.Write(inv.Markdown())
	return nil
}

// activityEvent is the part of an Activity Log event the page shows.
type activityEvent struct {
	EventTimestamp string `json:"eventTimestamp"`
	Caller         string `json:"caller"`
	ResourceID     string `json:"resourceId"`
	ResourceGroup  string `json:"resourceGroupName"`
	CorrelationID  string `json:"correlationId"`
	OperationName  struct {
		Value string `json:"value"`
	} `json:"operationName"`
	Status struct {
		Value string `json:"value"`
	} `json:"status"`
	HTTPRequest struct {
		Method string `json:"method"`
	} `json:"httpRequest"`
	Properties map[string]string `json:"properties"`
}

func (e activityEvent) Denied() bool { return e.Status.Value == "Failed" }

func (e activityEvent) When() string {
	t, err := time.Parse(time.RFC3339Nano, e.EventTimestamp)
	if err != nil {
		return e.EventTimestamp
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

var activityWindows = []struct{ Key, Label string }{
	{"1h", "Last hour"}, {"6h", "Last 6 hours"}, {"24h", "Last 24 hours"}, {"168h", "Last 7 days"}, {"720h", "Last 30 days"},
}

func (p *Portal) activityPage(q *request) error {
	subs, err := q.arm.subscriptions()
	if err != nil {
		return err
	}
	qs := q.r.URL.Query()
	sub := qs.Get("subscription")
	if sub == "" && len(subs) > 0 {
		sub = subs[0].SubscriptionID
	}
	windowKey := qs.Get("window")
	window, err := time.ParseDuration(windowKey)
	if err != nil || window <= 0 || window > 90*24*time.Hour {
		windowKey, window = "24h", 24*time.Hour
	}
	status, group, caller := qs.Get("status"), qs.Get("group"), qs.Get("caller")
	var events []activityEvent
	if sub != "" {
		filter := fmt.Sprintf("eventTimestamp ge '%s'", p.cfg.Now().Add(-window).UTC().Format(time.RFC3339))
		for _, f := range []struct{ name, value string }{{"resourceGroupName", group}, {"status", status}, {"caller", caller}} {
			if f.value != "" {
				filter += fmt.Sprintf(" and %s eq '%s'", f.name, strings.ReplaceAll(f.value, "'", "''"))
			}
		}
		path := withQuery("/subscriptions/"+sub+"/providers/Microsoft.Insights/eventtypes/management/values", "$filter", filter)
		if events, err = list[activityEvent](q.arm, path, vActivityLog); err != nil {
			return err
		}
		if len(events) > 500 {
			events = events[:500]
		}
	}
	n := newNames(q)
	callers := map[string]string{}
	for _, e := range events {
		if _, ok := callers[e.Caller]; !ok && e.Caller != "" {
			callers[e.Caller] = n.of(e.Caller).DisplayName
		}
	}
	pg := page{Title: "Activity log", Nav: "activity", Crumbs: []crumb{{"Home", Path}}, Data: map[string]any{
		"Subscriptions": subs, "Subscription": sub, "Window": windowKey, "Windows": activityWindows,
		"Status": status, "Group": group, "Caller": caller, "Events": events, "Callers": callers,
	}}
	return q.show("activity", pg)
}
