package authz

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// TestGrantsByPrincipal: the grouped copy holds exactly the assignments
// put and not deleted, across
// enough principals to run in several chunks, and follows deletes.
func TestGrantsByPrincipal(t *testing.T) {
	e := New()
	want := map[string]map[string]store.AssignmentGrant{}
	put := func(a store.RoleAssignment) {
		e.PutAssignment(a)
		if want[a.PrincipalID] == nil {
			want[a.PrincipalID] = map[string]store.AssignmentGrant{}
		}
		want[a.PrincipalID][a.Name] = store.AssignmentGrant{Name: a.Name, Scope: a.Scope, RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID}
	}
	const principals = 5000
	for i := range principals {
		for k := 3; k >= 0; k-- { // written out of scope order
			put(store.RoleAssignment{Name: fmt.Sprintf("%08d-0000-4000-8000-%012d", i, k), PrincipalID: fmt.Sprintf("p%d", i),
				RoleDefinitionID: RoleReader, Scope: fmt.Sprintf("/subscriptions/s/resourceGroups/g%d/providers/Microsoft.Web/sites/w%d", i%10, k)})
		}
	}
	put(store.RoleAssignment{Name: "Legacy-Name", PrincipalID: "p0", RoleDefinitionID: RoleOwner, Scope: "/"})
	deleted := fmt.Sprintf("%08d-0000-4000-8000-%012d", 7, 2)
	e.DeleteAssignment(deleted)
	delete(want["p7"], deleted)

	got := e.GrantsByPrincipal()
	if len(got) != principals || len(got) != len(want) {
		t.Fatalf("%d principals, want %d", len(got), len(want))
	}
	for p, as := range got {
		if len(as) != len(want[p]) {
			t.Fatalf("%s: %d assignments, want %d", p, len(as), len(want[p]))
		}
		for _, a := range as {
			if w, ok := want[p][a.Name]; !ok || w != a {
				t.Fatalf("%s: %+v, want %+v", p, a, w)
			}
		}
	}
	if n := len(got["p7"]); n != 3 {
		t.Errorf("p7 holds %d after a delete, want 3", n)
	}
	if as := got["p0"]; len(as) != 5 || !slices.ContainsFunc(as, func(a store.AssignmentGrant) bool { return a.Name == "Legacy-Name" && a.Scope == "/" }) {
		t.Errorf("p0: %+v", as)
	}
}

// TestLoadFromMany: a load spanning many of the reader's batches (and a
// partial last one) holds every assignment, decides on the last as on the
// first, and reports its progress to the end.
func TestLoadFromMany(t *testing.T) {
	s := newFakeStore()
	for _, r := range BuiltinRoles() {
		s.roles[strings.ToLower(r.ID)] = r
	}
	const n = 3*loadBatch + 17
	for i := range n {
		a := store.RoleAssignment{Name: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), PrincipalID: fmt.Sprintf("p%d", i%100),
			RoleDefinitionID: RoleReader, Scope: fmt.Sprintf("/subscriptions/s/resourceGroups/g%d", i)}
		s.assignments[strings.ToLower(a.Name)] = a
	}
	e := New()
	if err := e.LoadFrom(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Assignments != n {
		t.Fatalf("%d assignments loaded, want %d", st.Assignments, n)
	}
	if got := e.Loading(); got != n {
		t.Errorf("progress %d, want %d", got, n)
	}
	for _, i := range []int{0, loadBatch, n - 1} {
		if !e.Allowed(fmt.Sprintf("p%d", i%100), "Microsoft.Web/sites/read", fmt.Sprintf("/subscriptions/s/resourceGroups/g%d/providers/Microsoft.Web/sites/w", i)) {
			t.Errorf("assignment %d not applied", i)
		}
	}
}
