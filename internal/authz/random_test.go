package authz

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// naiveWorld is a deliberately simple evaluator of §11.4: it scans every
// assignment, compares scopes segment by segment with strings.EqualFold,
// expands groups to a fixed point and matches actions with regular
// expressions. The engine must agree with it on every question.
type naiveWorld struct {
	roles       map[string]store.RoleDefinition
	assignments map[string]store.RoleAssignment
	members     map[string][]string
	regexps     map[string]*regexp.Regexp
	// covers decides whether an assignment at a scope applies at another;
	// nil is naiveCovers (the path tree alone).
	covers func(ancestor, scope string) bool
}

func (w *naiveWorld) match(patterns []string, action string) bool {
	for _, p := range patterns {
		re := w.regexps[p]
		if re == nil {
			re = referenceRegexp(p)
			w.regexps[p] = re
		}
		if re.MatchString(action) {
			return true
		}
	}
	return false
}

func segments(scope string) []string {
	return strings.FieldsFunc(scope, func(r rune) bool { return r == '/' })
}

func naiveCovers(ancestor, scope string) bool {
	a, s := segments(ancestor), segments(scope)
	if len(a) > len(s) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], s[i]) {
			return false
		}
	}
	return true
}

func (w *naiveWorld) allowed(principal, action, scope string, data bool) bool {
	who := map[string]bool{strings.ToLower(principal): true}
	for changed := true; changed; {
		changed = false
		for g, ms := range w.members {
			if who[g] {
				continue
			}
			for _, m := range ms {
				if who[m] {
					who[g], changed = true, true
					break
				}
			}
		}
	}
	covers := w.covers
	if covers == nil {
		covers = naiveCovers
	}
	for _, a := range w.assignments {
		if !who[strings.ToLower(a.PrincipalID)] || !covers(a.Scope, scope) {
			continue
		}
		role, ok := w.roles[strings.ToLower(a.RoleDefinitionID)]
		if !ok {
			continue
		}
		for _, p := range role.Permissions {
			include, exclude := p.Actions, p.NotActions
			if data {
				include, exclude = p.DataActions, p.NotDataActions
			}
			if w.match(include, action) && !w.match(exclude, action) {
				return true
			}
		}
	}
	return false
}

// randomWorld draws roles, assignments, groups and the questions to ask
// from small vocabularies, so that hits, misses and near misses (sibling
// scopes with a common prefix, actions one segment apart) are all frequent.
type randomWorld struct {
	r          *rand.Rand
	scopes     []string
	actions    []string
	principals []string
	groups     []string
	roleIDs    []string
}

func newRandomWorld(seed uint64) *randomWorld {
	rw := &randomWorld{r: rand.New(rand.NewPCG(seed, seed+1))}
	rw.scopes = []string{"/"}
	for _, s := range []string{"a", "ab", "b"} {
		sub := "/subscriptions/" + s
		rw.scopes = append(rw.scopes, sub)
		for _, g := range []string{"rg", "rg1", "rg10"} {
			rg := sub + "/resourceGroups/" + g
			rw.scopes = append(rw.scopes, rg)
			for _, n := range []string{"s1", "s10"} {
				res := rg + "/providers/Microsoft.Web/sites/" + n
				rw.scopes = append(rw.scopes, res, res+"/slots/x", res+"/providers/Microsoft.Authorization/roleAssignments/z")
			}
			rw.scopes = append(rw.scopes, rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id")
		}
	}
	for _, ns := range []string{"Microsoft.Web", "Microsoft.Authorization", "Microsoft.ManagedIdentity"} {
		for _, typ := range []string{"", "/sites", "/roleAssignments", "/sites/slots", "/userAssignedIdentities"} {
			for _, verb := range []string{"/read", "/write", "/assign/action", "/delete"} {
				rw.actions = append(rw.actions, ns+typ+verb)
			}
		}
	}
	for i := 0; i < 12; i++ {
		rw.principals = append(rw.principals, fmt.Sprintf("p%d", i))
	}
	for i := 0; i < 5; i++ {
		rw.groups = append(rw.groups, fmt.Sprintf("g%d", i))
	}
	// A dozen built-ins keep the world balanced: most of the catalogue
	// grants data actions the random questions rarely ask about.
	for _, r := range builtinRoles[:randomBuiltins] {
		rw.roleIDs = append(rw.roleIDs, r.ID)
	}
	for i := 0; i < 8; i++ {
		rw.roleIDs = append(rw.roleIDs, fmt.Sprintf("c%07d-0000-0000-0000-000000000000", i))
	}
	return rw
}

// randomBuiltins is how many built-in roles the random world assigns.
const randomBuiltins = 12

func (rw *randomWorld) pick(list []string) string { return list[rw.r.IntN(len(list))] }

// mangle respells a scope or action the way clients do: any case, doubled
// or trailing slashes.
func (rw *randomWorld) mangle(s string, slashes bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if rw.r.IntN(4) == 0 {
			c = strings.ToUpper(string(c))[0]
		}
		b.WriteByte(c)
		if slashes && c == '/' && rw.r.IntN(10) == 0 {
			b.WriteByte('/')
		}
	}
	if slashes && rw.r.IntN(10) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

func (rw *randomWorld) pattern() string {
	parts := []string{
		rw.pick([]string{"*", "Microsoft.Web", "Microsoft.Authorization", "Microsoft.*", "microsoft.managedidentity"}),
		rw.pick([]string{"*", "sites", "roleAssignments", "sites/*", "userAssignedIdentities", "*/slots", ""}),
		rw.pick([]string{"*", "read", "write", "assign/action", "*/action", "delete"}),
	}
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	if rw.r.IntN(6) == 0 {
		return "*"
	}
	return strings.Join(kept[:1+rw.r.IntN(len(kept))], "/")
}

func (rw *randomWorld) patterns(maxN int) []string {
	n := rw.r.IntN(maxN + 1)
	out := make([]string, n)
	for i := range out {
		out[i] = rw.pattern()
	}
	return out
}

func (rw *randomWorld) role(id string) store.RoleDefinition {
	def := store.RoleDefinition{ID: id, RoleName: "random " + id, RoleType: RoleTypeCustom}
	for i := 0; i < 1+rw.r.IntN(3); i++ {
		def.Permissions = append(def.Permissions, store.Permission{
			Actions: rw.patterns(3), NotActions: rw.patterns(2),
			DataActions: rw.patterns(2), NotDataActions: rw.patterns(1),
		})
	}
	return def
}

func (rw *randomWorld) assignment(n int) store.RoleAssignment {
	who := rw.principals
	if rw.r.IntN(3) == 0 {
		who = rw.groups
	}
	return store.RoleAssignment{
		Name:             fmt.Sprintf("asg-%d", n),
		PrincipalID:      rw.mangle(rw.pick(who), false),
		RoleDefinitionID: rw.pick(rw.roleIDs),
		Scope:            rw.mangle(rw.pick(rw.scopes), true),
	}
}

func (rw *randomWorld) groupMembers() []string {
	var ms []string
	for i := 0; i < rw.r.IntN(4); i++ {
		if rw.r.IntN(3) == 0 {
			ms = append(ms, rw.pick(rw.groups)) // nesting, cycles, self-membership
		} else {
			ms = append(ms, rw.pick(rw.principals))
		}
	}
	return ms
}

func TestAllowedAgainstNaiveEvaluator(t *testing.T) {
	for _, seed := range []uint64{42, 7, 2026} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { compareWithNaive(t, seed) })
	}
}

func compareWithNaive(t *testing.T, seed uint64) {
	rw := newRandomWorld(seed)
	w := &naiveWorld{
		roles:       map[string]store.RoleDefinition{},
		assignments: map[string]store.RoleAssignment{},
		members:     map[string][]string{},
		regexps:     map[string]*regexp.Regexp{},
	}
	for _, r := range builtinRoles {
		w.roles[r.ID] = r
	}
	var roles []store.RoleDefinition
	for _, id := range rw.roleIDs[randomBuiltins:] {
		d := rw.role(id)
		roles = append(roles, d)
		w.roles[id] = d
	}
	var assignments []store.RoleAssignment
	for i := 0; i < 160; i++ {
		a := rw.assignment(i)
		assignments = append(assignments, a)
		w.assignments[a.Name] = a
	}
	groups := map[string][]string{}
	for _, g := range rw.groups {
		groups[g] = rw.groupMembers()
		w.members[g] = groups[g]
	}
	e := New()
	e.Load(roles, assignments, groups)

	allowedSeen, asked := 0, 0
	compare := func(phase string, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			principal := rw.pick(append(rw.principals, rw.groups...))
			action := rw.pick(rw.actions)
			scope := rw.pick(rw.scopes)
			data := rw.r.IntN(3) == 0
			askedAs := rw.mangle(scope, true)
			var got bool
			if data {
				got = e.AllowedData(rw.mangle(principal, false), rw.mangle(action, false), askedAs)
			} else {
				got = e.Allowed(rw.mangle(principal, false), rw.mangle(action, false), askedAs)
			}
			want := w.allowed(principal, action, scope, data)
			if got != want {
				t.Fatalf("%s, case %d: allowed(%s, %s, %s, data=%v) = %v, naive says %v\n%s",
					phase, i, principal, action, askedAs, data, got, want, e.explain(principal, action, askedAs, data))
			}
			asked++
			if got {
				allowedSeen++
			}
		}
	}
	compare("after Load", 3000)

	// Incremental changes must leave the engine where the naive world is.
	for step := 0; step < 200; step++ {
		switch rw.r.IntN(5) {
		case 0:
			a := rw.assignment(1000 + step)
			e.PutAssignment(a)
			w.assignments[a.Name] = a
		case 1:
			for name := range w.assignments {
				e.DeleteAssignment(strings.ToUpper(name))
				delete(w.assignments, name)
				break
			}
		case 2:
			g := rw.pick(rw.groups)
			ms := rw.groupMembers()
			e.SetGroupMembers(g, ms)
			w.members[g] = ms
		case 3:
			id := rw.pick(rw.roleIDs[randomBuiltins:])
			d := rw.role(id)
			e.PutRole(d)
			w.roles[id] = d
		case 4:
			id := rw.pick(rw.roleIDs[randomBuiltins:])
			e.DeleteRole(id)
			delete(w.roles, id)
		}
		compare(fmt.Sprintf("after incremental step %d", step), 15)
	}
	// Both outcomes must be well represented for the comparison to mean
	// anything.
	if allowedSeen < asked/10 || allowedSeen > asked*9/10 {
		t.Errorf("%d of %d questions allowed; the random world is lopsided", allowedSeen, asked)
	}
	t.Logf("%d questions, %d allowed", asked, allowedSeen)
}
