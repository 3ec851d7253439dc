package authz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// The management group fixture:
//
//	tenant-1 (tenant root group)   subscription r1
//	├── corp
//	│   ├── prod                   subscription p1
//	│   └── dev                    subscription d1
//	└── sandbox                    subscription s1
const (
	mgRoot    = "/providers/Microsoft.Management/managementGroups/tenant-1"
	mgCorp    = "/providers/Microsoft.Management/managementGroups/corp"
	mgProd    = "/providers/Microsoft.Management/managementGroups/prod"
	mgDev     = "/providers/Microsoft.Management/managementGroups/dev"
	mgSandbox = "/providers/Microsoft.Management/managementGroups/sandbox"
	subP1     = "/subscriptions/p1"
	subD1     = "/subscriptions/d1"
	subS1     = "/subscriptions/s1"
	subR1     = "/subscriptions/r1"
	p1Group   = subP1 + "/resourceGroups/rg"
	p1Site    = p1Group + "/providers/Microsoft.Web/sites/app"
)

func fixtureGroups() []store.ManagementGroup {
	return []store.ManagementGroup{
		{Name: "tenant-1", DisplayName: "Tenant Root Group"},
		{Name: "Corp", ParentName: "tenant-1"},
		{Name: "prod", ParentName: "corp"},
		{Name: "dev", ParentName: "CORP"},
		{Name: "sandbox", ParentName: "tenant-1"},
	}
}

func fixtureSubscriptions() []store.Subscription {
	return []store.Subscription{
		{ID: "p1", ManagementGroupName: "prod"},
		{ID: "D1", ManagementGroupName: "dev"},
		{ID: "s1", ManagementGroupName: "sandbox"},
		{ID: "r1"},
	}
}

func treeEngine(t testing.TB) *Engine {
	t.Helper()
	e := New()
	e.Load(nil, []store.RoleAssignment{
		ra("corp-reader", RoleReader, mgCorp),
		ra("root-owner", RoleOwner, mgRoot),
		ra("prod-contrib", RoleContributor, "/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/Prod/"),
		ra("team", RoleReader, mgSandbox),
		ra("d1-owner", RoleOwner, subD1),
		ra("root-reader", RoleReader, "/"),
		ra("deployment-reader", RoleReader, mgCorp+"/providers/Microsoft.Resources/deployments/d"),
		ra("layered", RoleReader, "/"),
		ra("layered", RoleContributor, mgRoot),
		ra("layered", RoleOwner, mgCorp),
		ra("layered", RoleManagedIdentityOperator, subP1),
	}, map[string][]string{"team": {"member"}})
	e.SetManagementGroups(fixtureGroups(), fixtureSubscriptions())
	return e
}

func TestAllowedThroughManagementGroups(t *testing.T) {
	e := treeEngine(t)
	tests := []struct {
		name      string
		principal string
		action    string
		scope     string
		want      bool
	}{
		// Down the group tree, into subscriptions and below them.
		{"group assignment at the group", "corp-reader", actionVMRead, mgCorp, true},
		{"group assignment at a child group", "corp-reader", actionVMRead, mgProd, true},
		{"group assignment in a subscription of a child group", "corp-reader", actionVMRead, subP1, true},
		{"group assignment in a resource group two levels down", "corp-reader", actionVMRead, p1Group, true},
		{"group assignment on a resource", "corp-reader", actionSiteRead, p1Site, true},
		{"group assignment in the other child's subscription", "corp-reader", actionVMRead, subD1 + "/resourceGroups/x", true},
		{"group assignment below a child group's extension scope", "corp-reader", actionVMRead, mgProd + "/providers/Microsoft.Resources/deployments/d", true},
		{"group assignment grants only its role", "corp-reader", actionVMWrite, p1Group, false},

		// Nothing upwards or sideways.
		{"not in a sibling group", "corp-reader", actionVMRead, mgSandbox, false},
		{"not in a sibling group's subscription", "corp-reader", actionVMRead, subS1, false},
		{"not in a subscription under the root", "corp-reader", actionVMRead, subR1, false},
		{"not at the root group", "corp-reader", actionVMRead, mgRoot, false},
		{"not at /", "corp-reader", actionVMRead, "/", false},
		{"not at a group with a longer name", "corp-reader", actionVMRead, mgCorp + "2", false},
		{"not at a subscription with a longer ID", "corp-reader", actionVMRead, subP1 + "x", false},
		{"not at the group collection", "corp-reader", actionVMRead, "/providers/Microsoft.Management/managementGroups", false},
		{"not at a group it does not know", "corp-reader", actionVMRead, "/providers/Microsoft.Management/managementGroups/new", false},
		{"a child group's assignment not at its parent", "prod-contrib", actionVMWrite, mgCorp, false},
		{"a child group's assignment not in the sibling's subscription", "prod-contrib", actionVMWrite, subD1, false},
		{"a child group's assignment in its subscription", "prod-contrib", actionVMWrite, p1Site, true},
		{"a subscription assignment stays in its subscription", "d1-owner", actionVMWrite, mgDev, false},

		// The tenant root group.
		{"root group in every group", "root-owner", actionVMWrite, mgDev, true},
		{"root group in a subscription directly under it", "root-owner", actionVMWrite, subR1 + "/resourceGroups/x", true},
		{"root group in a subscription under a group", "root-owner", actionVMWrite, subP1, true},
		{"root group in a subscription the engine has not heard of", "root-owner", actionVMWrite, "/subscriptions/new", true},
		{"root group at a group being created", "root-owner", actionVMWrite, "/providers/Microsoft.Management/managementGroups/new", true},
		{"root group at itself", "root-owner", actionVMWrite, mgRoot, true},
		{"root group not at /", "root-owner", actionVMWrite, "/", false},
		{"root group not at a tenant-level scope", "root-owner", actionVMWrite, "/providers/Keyless.Directory/principals", false},
		{"root group not at the group collection", "root-owner", actionVMWrite, "/providers/Microsoft.Management/managementGroups", false},

		// Through directory groups, and spellings.
		{"directory group member through a management group", "member", actionSiteRead, subS1 + "/resourceGroups/g/providers/Microsoft.Web/sites/x", true},
		{"directory group member not elsewhere", "member", actionSiteRead, subP1, false},
		{"scope spelled oddly", "corp-reader", actionVMRead, "//SUBSCRIPTIONS/P1/resourcegroups/RG/", true},
		{"group scope spelled oddly", "corp-reader", actionVMRead, "/PROVIDERS//Microsoft.Management/managementgroups/PROD/", true},
		{"assignment at a group's extension scope stays there", "deployment-reader", actionVMRead, mgCorp, false},
		{"assignment at a group's extension scope, below it", "deployment-reader", actionVMRead, mgCorp + "/providers/Microsoft.Resources/deployments/d/operations/1", true},
		{"path inheritance still works", "root-reader", actionVMRead, p1Site, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.Allowed(tc.principal, tc.action, tc.scope)
			if got != tc.want {
				t.Errorf("Allowed(%s, %s, %s) = %v, want %v; %s", tc.principal, tc.action, tc.scope, got, tc.want,
					e.Explain(tc.principal, tc.action, tc.scope))
			}
			if d := e.Explain(tc.principal, tc.action, tc.scope); d.Allowed != got {
				t.Errorf("Explain says %v, Allowed says %v", d.Allowed, got)
			}
		})
	}
}

func TestExplainOrdersManagementGroupsBetweenRootAndSubscription(t *testing.T) {
	e := treeEngine(t)
	d := e.Explain("layered", actionSiteRead, p1Site)
	var got []string
	for _, g := range append(d.Grants, d.Others...) {
		got = append(got, g.RoleName+"@"+g.Scope)
	}
	want := []string{"Reader@/", "Contributor@" + mgRoot, "Owner@" + mgCorp}
	if !slices.Equal(got[:3], want) || len(got) != 4 || !strings.HasSuffix(got[3], "@"+subP1) {
		t.Errorf("applicable assignments %v, want %v then the subscription's", got, want)
	}
	perms := e.Permissions("layered", subP1)
	if len(perms) != 4 {
		t.Errorf("Permissions at the subscription: %d blocks, want one per assignment above it (4)", len(perms))
	}
	owner, _ := BuiltinRole(RoleOwner)
	if !e.CanGrant("layered", owner, p1Group) {
		t.Error("Owner through a management group cannot grant Owner below it")
	}
	if e.CanGrant("layered", owner, subR1) {
		t.Error("Owner at corp can grant Owner in a subscription outside corp")
	}
}

func TestCoversAndAssignableWithManagementGroups(t *testing.T) {
	e := treeEngine(t)
	covers := []struct {
		ancestor, scope string
		want            bool
	}{
		{mgCorp, mgCorp, true},
		{mgCorp, mgProd, true},
		{mgCorp, subP1 + "/resourceGroups/rg", true},
		{"/PROVIDERS/Microsoft.Management/managementGroups/CORP/", "/subscriptions/P1", true},
		{mgCorp, subS1, false},
		{mgProd, mgCorp, false},
		{mgRoot, "/subscriptions/anything", true},
		{mgRoot, "/", false},
		{"/", mgCorp, true},
		{subP1, p1Site, true},
		{subP1, mgProd, false},
	}
	for _, c := range covers {
		if got := e.Covers(c.ancestor, c.scope); got != c.want {
			t.Errorf("Covers(%s, %s) = %v, want %v", c.ancestor, c.scope, got, c.want)
		}
	}
	if got, want := e.ManagementGroupsAbove(p1Site), []string{mgRoot, ManagementGroupScope("Corp"), mgProd}; !slices.Equal(got, want) {
		t.Errorf("ManagementGroupsAbove(%s) = %v, want %v", p1Site, got, want)
	}
	if got, want := e.ManagementGroupsAbove(mgDev), []string{mgRoot, ManagementGroupScope("Corp")}; !slices.Equal(got, want) {
		t.Errorf("ManagementGroupsAbove(%s) = %v, want %v", mgDev, got, want)
	}
	if got := e.ManagementGroupsAbove("/"); len(got) != 0 {
		t.Errorf("ManagementGroupsAbove(/) = %v, want none", got)
	}

	role := store.RoleDefinition{ID: "r", AssignableScopes: []string{mgCorp}}
	for scope, want := range map[string]bool{mgCorp: true, mgDev: true, p1Site: true, subS1: false, mgRoot: false, "/": false} {
		if got := e.Assignable(role, scope); got != want {
			t.Errorf("a role assignable at corp: Assignable at %s = %v, want %v", scope, got, want)
		}
	}
}

func TestManagementGroupChecksDoNotAllocate(t *testing.T) {
	e := treeEngine(t)
	checks := map[string]func(){
		"allowed through a group":       func() { e.Allowed("corp-reader", actionSiteRead, p1Site) },
		"allowed through the root":      func() { e.Allowed("root-owner", actionVMWrite, "/subscriptions/new/resourceGroups/x") },
		"denied after the tree":         func() { e.Allowed("corp-reader", actionVMWrite, p1Site) },
		"at a group scope":              func() { e.Allowed("corp-reader", actionVMRead, mgProd) },
		"through a directory group":     func() { e.Allowed("member", actionSiteRead, subS1+"/resourceGroups/g") },
		"a principal without any there": func() { e.Allowed("d1-owner", actionVMWrite, p1Site) },
	}
	for name, fn := range checks {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, fn); n != 0 {
				t.Errorf("%v allocations per check, want 0", n)
			}
		})
	}
}

// TestFollowManagementGroupMoves proves that the engine follows the group
// tree and subscription placements from the change feed: each move counts
// from the revision that made it.
func TestFollowManagementGroupMoves(t *testing.T) {
	s := newFakeStore()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, g := range fixtureGroups() {
			if _, err := tx.PutManagementGroup(ctx, g); err != nil {
				return err
			}
		}
		for _, sub := range fixtureSubscriptions() {
			if err := tx.CreateSubscription(ctx, sub); err != nil {
				return err
			}
		}
		if err := tx.CreateRoleAssignment(ctx, ra("corp-reader", RoleReader, mgCorp)); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(ctx, ra("sandbox-owner", RoleOwner, mgSandbox))
	})
	e := New()
	following(t, s, e)

	moveSubscription := func(id, group string) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateSubscription(ctx, id, func(sub store.Subscription) (store.Subscription, error) {
				sub.ManagementGroupName = group
				return sub, nil
			})
		}
	}
	steps := []struct {
		name   string
		change func(ctx context.Context, tx store.Tx) error
		checks []struct {
			principal, action, scope string
			want                     bool
		}
	}{
		{"initial load", nil, []struct {
			principal, action, scope string
			want                     bool
		}{
			{"corp-reader", actionVMRead, p1Group, true},
			{"sandbox-owner", actionVMWrite, p1Group, false},
		}},
		{"subscription moved to another group", moveSubscription("p1", "sandbox"), []struct {
			principal, action, scope string
			want                     bool
		}{
			{"corp-reader", actionVMRead, p1Group, false},
			{"sandbox-owner", actionVMWrite, p1Group, true},
		}},
		{"its group moved under the first group's tree", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutManagementGroup(ctx, store.ManagementGroup{Name: "sandbox", ParentName: "prod"})
			return err
		}, []struct {
			principal, action, scope string
			want                     bool
		}{
			{"corp-reader", actionVMRead, p1Group, true},
			{"corp-reader", actionVMRead, mgSandbox, true},
			{"sandbox-owner", actionVMWrite, p1Group, true},
		}},
		{"subscription moved back to the root", moveSubscription("P1", ""), []struct {
			principal, action, scope string
			want                     bool
		}{
			{"corp-reader", actionVMRead, p1Group, false},
			{"sandbox-owner", actionVMWrite, p1Group, false},
		}},
		{"a subscription created under a group", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateSubscription(ctx, store.Subscription{ID: "n1", ManagementGroupName: "dev"})
		}, []struct {
			principal, action, scope string
			want                     bool
		}{
			{"corp-reader", actionVMRead, "/subscriptions/n1", true},
		}},
		{"a group emptied and deleted", func(ctx context.Context, tx store.Tx) error {
			for _, id := range []string{"n1", "d1"} {
				if err := moveSubscription(id, "")(ctx, tx); err != nil {
					return err
				}
			}
			return tx.DeleteManagementGroup(ctx, "dev")
		}, []struct {
			principal, action, scope string
			want                     bool
		}{
			{"corp-reader", actionVMRead, "/subscriptions/n1", false},
			{"corp-reader", actionVMRead, mgDev, false},
		}},
		{"an assignment at a group the first of its kind for the principal", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateRoleAssignment(ctx, ra("late", RoleReader, mgProd))
		}, []struct {
			principal, action, scope string
			want                     bool
		}{
			{"late", actionVMRead, mgSandbox + "/providers/Microsoft.Resources/deployments/x", true},
			{"late", actionVMRead, subR1, false},
		}},
	}
	for _, step := range steps {
		if step.change != nil {
			waitFor(t, e, update(t, s, step.change))
		}
		for _, c := range step.checks {
			if got := e.Allowed(c.principal, c.action, c.scope); got != c.want {
				t.Fatalf("%s: Allowed(%s, %s, %s) = %v, want %v; %s", step.name, c.principal, c.action, c.scope, got, c.want,
					e.Explain(c.principal, c.action, c.scope))
			}
		}
	}
}

// TestManagementGroupsAgainstNaiveEvaluator draws random trees, placements,
// assignments at groups and moves, and compares every answer with a
// definition that walks parent pointers for each question.
func TestManagementGroupsAgainstNaiveEvaluator(t *testing.T) {
	for _, seed := range []uint64{1, 99, 2026} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { compareTreeWithNaive(t, seed) })
	}
}

func compareTreeWithNaive(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	groupNames := []string{"root", "g1", "g2", "g3", "g4", "g5", "g6"}
	subIDs := []string{"a", "ab", "b", "c"}
	parent := map[string]string{"root": ""}
	placement := map[string]string{}
	// isBelow reports whether x is y or under it in the current tree.
	isBelow := func(x, y string) bool {
		for n := 0; x != "" && n < 20; n++ {
			if x == y {
				return true
			}
			x = parent[x]
		}
		return false
	}
	for _, g := range groupNames[1:] {
		parent[g] = "root"
	}
	for _, g := range groupNames[1:] {
		// Put g under a random group that is not below it.
		for {
			p := groupNames[r.IntN(len(groupNames))]
			if !isBelow(p, g) {
				parent[g] = p
				break
			}
		}
	}
	for _, s := range subIDs {
		placement[s] = groupNames[r.IntN(len(groupNames))]
	}
	groupOf := func(scope string) (string, bool) {
		segs := segments(strings.ToLower(scope))
		if len(segs) >= 4 && segs[0] == "providers" && segs[1] == "microsoft.management" && segs[2] == "managementgroups" {
			return segs[3], true
		}
		return "", false
	}
	// naive: a path ancestor, or a group above the scope's subscription or
	// group, walking parent pointers.
	covers := func(ancestor, scope string) bool {
		if naiveCovers(ancestor, scope) {
			return true
		}
		ag, ok := groupOf(ancestor)
		if !ok || len(segments(ancestor)) != 4 {
			return false
		}
		segs := segments(strings.ToLower(scope))
		var start string
		switch {
		case len(segs) >= 2 && segs[0] == "subscriptions":
			start = placement[segs[1]]
			if start == "" {
				start = "root"
			}
		default:
			g, ok := groupOf(scope)
			if !ok {
				return false
			}
			if _, known := parent[g]; !known {
				start = "root"
			} else {
				start = parent[g]
			}
		}
		return isBelow(start, ag)
	}

	var scopes []string
	for _, g := range groupNames {
		gs := ManagementGroupScope(g)
		scopes = append(scopes, gs, gs+"/providers/Microsoft.Resources/deployments/d")
	}
	scopes = append(scopes, ManagementGroupScope("unknown"), "/", "/providers/Keyless.Directory/principals")
	for _, s := range append(subIDs, "zz") {
		sub := "/subscriptions/" + s
		scopes = append(scopes, sub, sub+"/resourceGroups/rg", sub+"/resourceGroups/rg/providers/Microsoft.Web/sites/x")
	}
	principals := []string{"p0", "p1", "p2", "p3", "p4", "p5"}
	roles := []string{RoleReader, RoleContributor, RoleOwner, RoleManagedIdentityOperator}
	actions := []string{actionVMRead, actionVMWrite, actionRAWrite, ActionAssignUserAssignedIdentity}

	w := &naiveWorld{
		roles:       map[string]store.RoleDefinition{},
		assignments: map[string]store.RoleAssignment{},
		members:     map[string][]string{"team": {"p5"}},
		regexps:     map[string]*regexp.Regexp{},
		covers:      covers,
	}
	for _, role := range builtinRoles {
		w.roles[role.ID] = role
	}
	var assignments []store.RoleAssignment
	for i := 0; i < 40; i++ {
		a := store.RoleAssignment{Name: fmt.Sprintf("a%d", i), PrincipalID: principals[r.IntN(len(principals)-1)],
			RoleDefinitionID: roles[r.IntN(len(roles))], Scope: scopes[r.IntN(len(scopes))]}
		if i%8 == 0 {
			a.PrincipalID = "team"
		}
		assignments = append(assignments, a)
		w.assignments[a.Name] = a
	}
	e := New()
	e.Load(nil, assignments, w.members)
	apply := func() {
		var groups []store.ManagementGroup
		for _, g := range groupNames {
			groups = append(groups, store.ManagementGroup{Name: strings.ToUpper(g[:1]) + g[1:], ParentName: parent[g]})
		}
		var subs []store.Subscription
		for _, s := range subIDs {
			subs = append(subs, store.Subscription{ID: s, ManagementGroupName: placement[s]})
		}
		e.SetManagementGroups(groups, subs)
	}
	apply()

	allowed, asked := 0, 0
	for step := 0; step < 60; step++ {
		for i := 0; i < 60; i++ {
			p, action, scope := principals[r.IntN(len(principals))], actions[r.IntN(len(actions))], scopes[r.IntN(len(scopes))]
			got, want := e.Allowed(p, action, scope), w.allowed(p, action, scope, false)
			if got != want {
				t.Fatalf("step %d: Allowed(%s, %s, %s) = %v, naive says %v\ntree %v, placement %v\n%s",
					step, p, action, scope, got, want, parent, placement, e.Explain(p, action, scope))
			}
			asked++
			if got {
				allowed++
			}
		}
		// Move a group (never under itself) or a subscription.
		if r.IntN(2) == 0 {
			g := groupNames[1+r.IntN(len(groupNames)-1)]
			if p := groupNames[r.IntN(len(groupNames))]; !isBelow(p, g) {
				parent[g] = p
			}
		} else {
			placement[subIDs[r.IntN(len(subIDs))]] = groupNames[r.IntN(len(groupNames))]
		}
		apply()
	}
	if allowed < asked/10 || allowed > asked*9/10 {
		t.Errorf("%d of %d questions allowed; the random world is lopsided", allowed, asked)
	}
}
