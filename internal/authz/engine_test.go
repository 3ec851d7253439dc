package authz

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

const (
	subA  = "/subscriptions/a"
	rg1   = subA + "/resourceGroups/rg1"
	rg2   = subA + "/resourceGroups/rg2"
	uami1 = rg1 + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	uami2 = rg1 + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2"
	vault = rg1 + "/providers/Microsoft.KeyVault/vaults/kv1"
	site  = rg1 + "/providers/Microsoft.Web/sites/site1"
	slot  = site + "/slots/staging"

	actionVMWrite    = "Microsoft.Compute/virtualMachines/write"
	actionVMRead     = "Microsoft.Compute/virtualMachines/read"
	actionRAWrite    = "Microsoft.Authorization/roleAssignments/write"
	actionRARead     = "Microsoft.Authorization/roleAssignments/read"
	actionUAMIWrite  = "Microsoft.ManagedIdentity/userAssignedIdentities/write"
	actionUAMIRead   = "Microsoft.ManagedIdentity/userAssignedIdentities/read"
	actionSiteRead   = "Microsoft.Web/sites/read"
	dataGetSecret    = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	dataBlobRead     = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	customTwoBlocks  = "11111111-0000-0000-0000-000000000001"
	customDataBlocks = "11111111-0000-0000-0000-000000000002"
)

var assignmentSeq int

func ra(principal, role, scope string) store.RoleAssignment {
	assignmentSeq++
	return store.RoleAssignment{
		Name:             strings.Repeat("0", 4) + "-" + principal + "-" + string(rune('a'+assignmentSeq%26)) + "-" + itoa(assignmentSeq),
		PrincipalID:      principal,
		RoleDefinitionID: role,
		Scope:            scope,
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// fixtureEngine is a small world covering every rule of §11.4 once.
func fixtureEngine(t testing.TB) *Engine {
	t.Helper()
	e := New()
	roles := []store.RoleDefinition{
		{
			ID: customTwoBlocks, RoleName: "Two blocks", RoleType: RoleTypeCustom,
			AssignableScopes: []string{subA},
			Permissions: []store.Permission{
				// Block 1 excludes all of Microsoft.Authorization ...
				{Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*"}},
				// ... block 2 grants one of those back: exclusions do not
				// reach across blocks.
				{Actions: []string{"Microsoft.Authorization/roleAssignments/read"}},
			},
		},
		{
			ID: customDataBlocks, RoleName: "Data minus delete", RoleType: RoleTypeCustom,
			AssignableScopes: []string{"/"},
			Permissions: []store.Permission{{
				DataActions:    []string{"Microsoft.Storage/*"},
				NotDataActions: []string{"Microsoft.Storage/*/delete"},
			}},
		},
	}
	assignments := []store.RoleAssignment{
		ra("owner-sub", RoleOwner, subA),
		ra("contrib-rg", RoleContributor, rg1),
		ra("reader-root", RoleReader, "/"),
		ra("mio", RoleManagedIdentityOperator, uami1),
		ra("kv-user", RoleKeyVaultSecretsUser, vault),
		ra("contrib-rbac", RoleContributor, subA),
		ra("contrib-rbac", RoleRBACAdministrator, rg1),
		ra("team", RoleManagedIdentityContributor, rg1),
		ra("org", RoleReader, rg2),
		ra("two-blocks", customTwoBlocks, subA),
		ra("data", customDataBlocks, subA),
		ra("child", RoleReader, slot),
		ra("mixed", RoleContributor, "/SUBSCRIPTIONS/a//resourcegroups/RG2/"),
		ra("ghost-role", "99999999-9999-9999-9999-999999999999", "/"),
	}
	groups := map[string][]string{
		"team": {"member"},
		"org":  {"team"},
	}
	e.Load(roles, assignments, groups)
	return e
}

func TestAllowed(t *testing.T) {
	e := fixtureEngine(t)
	tests := []struct {
		name      string
		principal string
		action    string
		scope     string
		data      bool
		want      bool
	}{
		// Inheritance down every level, and nothing upwards or sideways.
		{"owner at its scope", "owner-sub", actionVMWrite, subA, false, true},
		{"owner below: resource group", "owner-sub", actionVMWrite, rg1, false, true},
		{"owner below: resource", "owner-sub", actionVMWrite, uami1, false, true},
		{"owner below: child resource", "owner-sub", actionVMWrite, slot, false, true},
		{"owner below: extension scope", "owner-sub", actionRAWrite, site + "/providers/Microsoft.Authorization/roleAssignments/x", false, true},
		{"owner not above its scope", "owner-sub", actionVMWrite, "/", false, false},
		{"owner not in a sibling with a longer name", "owner-sub", actionVMWrite, "/subscriptions/ab", false, false},
		{"owner not in a sibling below a longer name", "owner-sub", actionVMWrite, "/subscriptions/ab/resourceGroups/rg1", false, false},
		{"owner not in another subscription", "owner-sub", actionVMWrite, "/subscriptions/b", false, false},
		{"rg assignment not in rg10", "contrib-rg", actionVMWrite, subA + "/resourceGroups/rg10", false, false},
		{"rg assignment not at the subscription", "contrib-rg", actionVMWrite, subA, false, false},
		{"rg assignment not in a sibling group", "contrib-rg", actionVMWrite, rg2, false, false},
		{"root assignment everywhere", "reader-root", actionVMRead, slot, false, true},
		{"root assignment at root", "reader-root", actionVMRead, "/", false, true},
		{"reader cannot write", "reader-root", actionVMWrite, rg1, false, false},
		{"child assignment at the child", "child", actionSiteRead, slot, false, true},
		{"child assignment not at the parent", "child", actionSiteRead, site, false, false},

		// Scope spelling.
		{"scope case-insensitive", "contrib-rg", actionVMWrite, "/SUBSCRIPTIONS/A/resourcegroups/RG1", false, true},
		{"scope trailing slash", "contrib-rg", actionVMWrite, rg1 + "/", false, true},
		{"scope doubled slashes", "contrib-rg", actionVMWrite, "//subscriptions//a/resourceGroups/rg1//providers/x/y/z", false, true},
		{"scope without leading slash", "contrib-rg", actionVMWrite, "subscriptions/a/resourceGroups/rg1", false, true},
		{"assignment scope written oddly", "mixed", actionVMWrite, rg2 + "/providers/Microsoft.Web/sites/s", false, true},
		{"principal ID case-insensitive", "OWNER-SUB", actionVMWrite, subA, false, true},
		{"action case-insensitive", "reader-root", "MICROSOFT.COMPUTE/virtualmachines/READ", rg1, false, true},

		// notActions: same block only; union across assignments.
		{"contributor excluded from role assignments", "contrib-rg", actionRAWrite, rg1, false, false},
		{"contributor may read role assignments", "contrib-rg", actionRARead, rg1, false, true},
		{"another assignment restores the excluded action", "contrib-rbac", actionRAWrite, rg1, false, true},
		{"restoring assignment only where it applies", "contrib-rbac", actionRAWrite, subA, false, false},
		{"second block restores within one role", "two-blocks", actionRARead, rg1, false, true},
		{"first block's exclusion still holds", "two-blocks", actionRAWrite, rg1, false, false},
		{"first block grants the rest", "two-blocks", actionVMWrite, rg1, false, true},
		{"notDataActions subtract", "data", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", rg1, true, false},
		{"dataActions grant the rest", "data", dataBlobRead, rg1, true, true},

		// Control plane and data plane are separate.
		{"owner gets no data action", "owner-sub", dataGetSecret, vault, true, false},
		{"data role gets no control action", "kv-user", "Microsoft.KeyVault/vaults/read", vault, false, false},
		{"data role gets its data action", "kv-user", dataGetSecret, vault, true, true},
		{"data role on a child of the vault", "kv-user", dataGetSecret, vault + "/secrets/s1", true, true},
		{"data action asked as control is denied", "kv-user", dataGetSecret, vault, false, false},
		{"storage data pattern is not a control pattern", "data", "Microsoft.Storage/storageAccounts/read", rg1, false, false},

		// The /*/ rule in a built-in.
		{"operator may assign the identity", "mio", ActionAssignUserAssignedIdentity, uami1, false, true},
		{"operator may read the identity", "mio", actionUAMIRead, uami1, false, true},
		{"operator may not write it", "mio", actionUAMIWrite, uami1, false, false},
		{"operator may not assign another identity", "mio", ActionAssignUserAssignedIdentity, uami2, false, false},

		// Groups.
		{"group assignment reaches a member", "member", actionUAMIWrite, uami2, false, true},
		{"nested group assignment reaches a member", "member", actionVMRead, rg2, false, true},
		{"nested group grants only its role", "member", actionVMWrite, rg2, false, false},
		{"a group's own assignment applies to it", "team", actionUAMIWrite, rg1, false, true},
		{"membership does not flow upwards", "org", actionUAMIWrite, rg1, false, false},

		// Unknowns.
		{"unknown principal", "nobody", actionVMRead, "/", false, false},
		{"empty principal", "", actionVMRead, "/", false, false},
		{"assignment of an unknown role grants nothing", "ghost-role", actionVMRead, "/", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got bool
			if tc.data {
				got = e.AllowedData(tc.principal, tc.action, tc.scope)
			} else {
				got = e.Allowed(tc.principal, tc.action, tc.scope)
			}
			if got != tc.want {
				t.Errorf("allowed(%s, %s, %s) = %v, want %v; %s", tc.principal, tc.action, tc.scope, got, tc.want,
					e.explain(tc.principal, tc.action, tc.scope, tc.data))
			}
			// Explain must always agree with Allowed.
			if d := e.explain(tc.principal, tc.action, tc.scope, tc.data); d.Allowed != got {
				t.Errorf("Explain says %v, Allowed says %v", d.Allowed, got)
			}
		})
	}
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	e := fixtureEngine(t)
	checks := []struct {
		name string
		fn   func()
	}{
		{"allowed direct", func() { e.Allowed("owner-sub", actionVMWrite, slot) }},
		{"allowed mixed-case scope", func() { e.Allowed("contrib-rg", actionVMWrite, "/SUBSCRIPTIONS/A/resourcegroups/RG1//x/") }},
		{"allowed via nested group", func() { e.Allowed("member", actionVMRead, rg2+"/providers/Microsoft.Web/sites/s") }},
		{"denied after walking everything", func() { e.Allowed("member", actionRAWrite, slot) }},
		{"unknown principal", func() { e.Allowed("NOBODY", actionRAWrite, slot) }},
		{"data action", func() { e.AllowedData("kv-user", dataGetSecret, vault+"/secrets/s1") }},
		{"glob with backtracking", func() { e.Allowed("mio", ActionAssignUserAssignedIdentity, uami1) }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, c.fn); n != 0 {
				t.Errorf("%v allocations per check, want 0", n)
			}
		})
	}
}

func TestBuiltinRoles(t *testing.T) {
	roles := BuiltinRoles()
	// The core roles and the ones workloads are granted most.
	if len(roles) < 40 {
		t.Fatalf("%d built-in roles, want at least 40", len(roles))
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if seen[r.ID] {
			t.Errorf("duplicate ID %s", r.ID)
		}
		seen[r.ID] = true
		if r.RoleType != RoleTypeBuiltIn || len(r.AssignableScopes) != 1 || r.AssignableScopes[0] != "/" || r.Description == "" {
			t.Errorf("%s: type %q scopes %v description %q", r.RoleName, r.RoleType, r.AssignableScopes, r.Description)
		}
		byName, ok := BuiltinRoleByName(strings.ToUpper(r.RoleName))
		if !ok || byName.ID != r.ID {
			t.Errorf("BuiltinRoleByName(%q) = %v, %v", r.RoleName, byName.ID, ok)
		}
		if !IsBuiltinRole(strings.ToUpper(r.ID)) {
			t.Errorf("IsBuiltinRole(%s) = false", r.ID)
		}
	}
	// Callers get copies.
	roles[0].Permissions[0].Actions[0] = "changed"
	if again, _ := BuiltinRole(RoleOwner); again.Permissions[0].Actions[0] != "*" {
		t.Error("BuiltinRoles exposes the shipped definitions")
	}
	owner, _ := BuiltinRole("/providers/Microsoft.Authorization/roleDefinitions/" + RoleOwner)
	if owner.RoleName != "Owner" {
		t.Errorf("BuiltinRole by full ID = %q", owner.RoleName)
	}
	contributor, _ := BuiltinRole(RoleContributor)
	if n := len(contributor.Permissions[0].NotActions); n != 11 {
		t.Errorf("Contributor has %d notActions, want 11", n)
	}
}

func TestIncrementalUpdates(t *testing.T) {
	e := New()
	const custom = "22222222-0000-0000-0000-000000000000"
	check := func(step, principal, action, scope string, want bool) {
		t.Helper()
		if got := e.Allowed(principal, action, scope); got != want {
			t.Fatalf("%s: Allowed(%s, %s, %s) = %v, want %v", step, principal, action, scope, got, want)
		}
	}
	check("empty engine", "p", actionVMRead, rg1, false)

	e.PutAssignment(store.RoleAssignment{Name: "A1", PrincipalID: "p", RoleDefinitionID: RoleReader, Scope: subA})
	check("after put", "p", actionVMRead, rg1, true)

	e.PutAssignment(store.RoleAssignment{Name: "a2", PrincipalID: "p", RoleDefinitionID: custom, Scope: rg1})
	check("assignment before its role grants nothing", "p", actionVMWrite, rg1, false)
	e.PutRole(store.RoleDefinition{ID: custom, RoleName: "VM writer", Permissions: []store.Permission{{Actions: []string{"Microsoft.Compute/*/write"}}}})
	check("role arrives", "p", actionVMWrite, rg1, true)
	e.PutRole(store.RoleDefinition{ID: strings.ToUpper(custom), RoleName: "VM writer", Permissions: []store.Permission{{Actions: []string{"Microsoft.Web/*/write"}}}})
	check("role redefined", "p", actionVMWrite, rg1, false)
	check("role redefined grants the new action", "p", "Microsoft.Web/sites/write", rg1, true)
	e.DeleteRole(custom)
	check("role deleted", "p", "Microsoft.Web/sites/write", rg1, false)

	e.DeleteAssignment("a1") // names are case-insensitive
	check("after delete", "p", actionVMRead, rg1, false)

	e.PutAssignment(store.RoleAssignment{Name: "a3", PrincipalID: "p", RoleDefinitionID: RoleOwner, Scope: rg1})
	e.PutAssignment(store.RoleAssignment{Name: "a3", PrincipalID: "p", RoleDefinitionID: RoleReader, Scope: rg1})
	check("replacing an assignment drops the old one", "p", actionVMWrite, rg1, false)
	check("replacing an assignment keeps the new one", "p", actionVMRead, rg1, true)

	e.DeleteRole(RoleReader)
	check("a built-in cannot be deleted", "p", actionVMRead, rg1, true)
	e.PutRole(store.RoleDefinition{ID: RoleReader, RoleName: "Reader", Permissions: []store.Permission{{Actions: []string{"*/list"}}}})
	check("a built-in may be redefined from the store", "p", actionVMRead, rg1, false)
	e.DeleteRole(RoleReader)
	check("deleting it restores the shipped one", "p", actionVMRead, rg1, true)

	e.SetGroupMembers("G", []string{"P"})
	e.PutAssignment(store.RoleAssignment{Name: "g1", PrincipalID: "g", RoleDefinitionID: RoleOwner, Scope: rg2})
	check("group assignment after membership", "p", actionVMWrite, rg2, true)
	e.SetGroupMembers("g", nil)
	check("membership removed", "p", actionVMWrite, rg2, false)
	e.SetGroupMembers("g", []string{"p"})
	e.RemovePrincipal("g")
	check("group deleted", "p", actionVMWrite, rg2, false)
	e.RemovePrincipal("p")
	check("principal deleted", "p", actionVMRead, rg1, false)

	if s := e.Stats(); s.Assignments != 0 || s.Principals != 0 || s.Groups != 0 {
		t.Errorf("after deleting everything: %+v", s)
	}
	if _, ok := e.idx.roles[custom]; ok {
		t.Error("the slot of a deleted role without assignments is kept")
	}
	if n := len(e.idx.scopes); n != 0 {
		t.Errorf("%d scope entries left without assignments", n)
	}
}

func TestGroups(t *testing.T) {
	e := New()
	e.Load(nil, []store.RoleAssignment{
		{Name: "1", PrincipalID: "top", RoleDefinitionID: RoleReader, Scope: subA},
		{Name: "2", PrincipalID: "c1", RoleDefinitionID: RoleOwner, Scope: rg1},
	}, map[string][]string{
		"top": {"mid"},
		"mid": {"leaf-group", "alice"},
		// A cycle: c1 -> c2 -> c3 -> c1, with bob in c3.
		"c1": {"c2"},
		"c2": {"c3"},
		"c3": {"c1", "bob"},
	})
	tests := []struct {
		name, principal, action, scope string
		want                           bool
	}{
		{"direct member of a nested group", "alice", actionVMRead, rg1, true},
		{"three levels down", "leaf-group", actionVMRead, rg1, true},
		{"member in a cycle", "bob", actionVMWrite, rg1, true},
		{"every group in the cycle", "c2", actionVMWrite, rg1, true},
		{"not beyond the assignment", "bob", actionVMWrite, rg2, false},
		{"unrelated principal", "carol", actionVMRead, rg1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Allowed(tc.principal, tc.action, tc.scope); got != tc.want {
				t.Errorf("Allowed = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("breaking the chain in the middle", func(t *testing.T) {
		e.SetGroupMembers("top", nil)
		if e.Allowed("alice", actionVMRead, rg1) {
			t.Error("alice still reads after mid left top")
		}
	})
	t.Run("breaking the cycle keeps the rest", func(t *testing.T) {
		e.SetGroupMembers("c2", nil) // c3 (and bob) no longer reach c1
		if e.Allowed("bob", actionVMWrite, rg1) {
			t.Error("bob still writes after the cycle was cut")
		}
		if !e.Allowed("c2", actionVMWrite, rg1) {
			t.Error("c2 lost its membership of c1")
		}
	})
}

func TestExplain(t *testing.T) {
	e := fixtureEngine(t)
	d := e.Explain("member", actionVMRead, rg2+"/providers/Microsoft.Web/sites/s")
	if !d.Allowed || len(d.Grants) != 1 {
		t.Fatalf("Explain = %+v", d)
	}
	g := d.Grants[0]
	if g.PrincipalID != "org" || g.RoleName != "Reader" || g.Scope != rg2 || g.MatchedBy != "*/read" {
		t.Errorf("grant = %+v", g)
	}
	if s := d.String(); !strings.Contains(s, "through group org") {
		t.Errorf("String() = %q", s)
	}

	d = e.Explain("contrib-rg", actionRAWrite, rg1)
	if d.Allowed || len(d.Others) != 1 || d.Others[0].ExcludedBy != "Microsoft.Authorization/*/Write" {
		t.Fatalf("Explain = %+v", d)
	}
	if s := d.String(); !strings.Contains(s, "denied") || !strings.Contains(s, "Microsoft.Authorization/*/Write") {
		t.Errorf("String() = %q", s)
	}

	d = e.ExplainData("owner-sub", dataGetSecret, vault)
	if d.Allowed || !d.DataAction || len(d.Others) != 1 {
		t.Errorf("ExplainData = %+v", d)
	}
}

func TestPermissions(t *testing.T) {
	e := fixtureEngine(t)
	got := e.Permissions("contrib-rbac", rg1+"/providers/Microsoft.Web/sites/s")
	if len(got) != 2 {
		t.Fatalf("Permissions = %+v, want Contributor's block then RBAC Administrator's", got)
	}
	if got[0].Actions[0] != "*" || len(got[0].NotActions) != 11 || got[1].Actions[0] != "Microsoft.Authorization/roleAssignments/write" {
		t.Errorf("Permissions = %+v", got)
	}
	got[0].Actions[0] = "mutated"
	if again := e.Permissions("contrib-rbac", rg1); again[0].Actions[0] != "*" {
		t.Error("Permissions exposes internal slices")
	}
	if got := e.Permissions("two-blocks", rg1); len(got) != 2 {
		t.Errorf("a two-block role gives %d elements, want 2", len(got))
	}
	if got := e.Permissions("nobody", rg1); got == nil || len(got) != 0 {
		t.Errorf("Permissions of nobody = %#v, want empty, not nil", got)
	}
}

func TestNormalizeScope(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"//", "/"},
		{"/subscriptions/A", "/subscriptions/a"},
		{"/subscriptions/a/", "/subscriptions/a"},
		{"subscriptions/a", "/subscriptions/a"},
		{"/subscriptions//a///resourceGroups/RG", "/subscriptions/a/resourcegroups/rg"},
	}
	for _, tc := range tests {
		if got := NormalizeScope(tc.in); got != tc.want {
			t.Errorf("NormalizeScope(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !IsAncestorOrSelf("/Subscriptions/A", "/subscriptions/a/resourceGroups/x") || IsAncestorOrSelf("/subscriptions/a", "/subscriptions/ab") {
		t.Error("IsAncestorOrSelf")
	}
}

func TestScopePathAgreesWithScopeHash(t *testing.T) {
	// parse (the hot path) and NormalizeScope/scopeHash (the index) must
	// agree on every prefix, or assignments would silently stop applying.
	deep := subA
	for i := 0; i < 2*maxIndexedDepth; i++ {
		deep += fmt.Sprintf("/Seg%d", i)
	}
	for _, scope := range []string{"", "/", "//", "/a", "a/", "/Subscriptions/A//resourceGroups/RG/", slot, deep} {
		var p scopePath
		s := p.parse(nil, scope)
		if got, want := string(s), NormalizeScope(scope); got != want {
			t.Errorf("parse(%q) = %q, NormalizeScope = %q", scope, got, want)
		}
		for i := 0; i < p.n; i++ {
			prefix := string(s[:p.ends[i]])
			if scopeDepth(prefix) != i {
				t.Errorf("%q: prefix %d is %q, of depth %d", scope, i, prefix, scopeDepth(prefix))
			}
			if p.hashes[i] != scopeHash(prefix) {
				t.Errorf("%q: hash of prefix %q differs", scope, prefix)
			}
		}
		if p.overflow != (scope == deep) {
			t.Errorf("%q: overflow = %v", scope, p.overflow)
		}
	}
}

func TestDeepScopes(t *testing.T) {
	// Beyond maxIndexedDepth the walk continues by scanning.
	scope := func(depth int) string {
		s := rg1
		for i := 0; scopeDepth(NormalizeScope(s)) < depth; i++ {
			s += fmt.Sprintf("/Level%d", i)
		}
		return s
	}
	e := New()
	e.PutAssignment(store.RoleAssignment{Name: "deep", PrincipalID: "p", RoleDefinitionID: RoleReader, Scope: scope(maxIndexedDepth + 10)})
	e.PutAssignment(store.RoleAssignment{Name: "deeper", PrincipalID: "q", RoleDefinitionID: RoleReader, Scope: scope(70)})
	tests := []struct {
		name      string
		principal string
		depth     int
		want      bool
	}{
		{"at the deep assignment", "p", maxIndexedDepth + 10, true},
		{"below it", "p", maxIndexedDepth + 30, true},
		{"above it", "p", maxIndexedDepth + 9, false},
		{"past the depth mask's last bit", "q", 70, true},
		{"past the last bit, above", "q", 66, false},
		{"past the last bit, below", "q", 80, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Allowed(tc.principal, actionVMRead, scope(tc.depth)); got != tc.want {
				t.Errorf("Allowed at depth %d = %v, want %v", tc.depth, got, tc.want)
			}
			if got := e.Explain(tc.principal, actionVMRead, scope(tc.depth)).Allowed; got != tc.want {
				t.Errorf("Explain at depth %d = %v, want %v", tc.depth, got, tc.want)
			}
		})
	}
	long := scope(maxIndexedDepth + 30)
	if n := testing.AllocsPerRun(100, func() { e.Allowed("p", actionVMRead, long) }); n != 0 {
		t.Errorf("a check past maxIndexedDepth allocates %v times", n)
	}
}

func FuzzScopePath(f *testing.F) {
	f.Add("/subscriptions/A//resourceGroups/RG/")
	f.Add("")
	f.Add("///")
	f.Add(slot + "/providers/Microsoft.Authorization/roleAssignments/x")
	f.Fuzz(func(t *testing.T, scope string) {
		var p scopePath
		s := string(p.parse(nil, scope))
		var segs []string
		for _, seg := range strings.Split(scope, "/") {
			if seg != "" {
				segs = append(segs, string(appendLower(nil, seg)))
			}
		}
		if want := "/" + strings.Join(segs, "/"); s != want {
			t.Fatalf("parse(%q) = %q, want %q", scope, s, want)
		}
		if NormalizeScope(scope) != s || NormalizeScope(s) != s {
			t.Fatalf("NormalizeScope disagrees with parse on %q", scope)
		}
		for i := 0; i < p.n; i++ {
			prefix := s[:p.ends[i]]
			if scopeDepth(prefix) != i || p.hashes[i] != scopeHash(prefix) || !scopeCovers(prefix, s) {
				t.Fatalf("%q: prefix %d %q is inconsistent", scope, i, prefix)
			}
		}
	})
}
