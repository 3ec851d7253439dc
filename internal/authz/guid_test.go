package authz

import (
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// TestAssignmentNamesKeepTheirCasing covers the three ways a name is kept:
// a lower-case GUID, a GUID cased otherwise, and a name that is no GUID.
// Each reads back as stored, is found in any casing, and deletes cleanly.
func TestAssignmentNamesKeepTheirCasing(t *testing.T) {
	const scope = "/subscriptions/s/resourceGroups/g"
	for _, name := range []string{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "ACDD72A7-3385-48EF-BD42-F606FBA81AE7", "Legacy-Name"} {
		e := New()
		e.PutAssignment(store.RoleAssignment{Name: name, PrincipalID: "p1", RoleDefinitionID: RoleReader, Scope: scope})
		// A second write replaces it rather than adding one.
		e.PutAssignment(store.RoleAssignment{Name: name, PrincipalID: "p1", RoleDefinitionID: RoleReader, Scope: scope})
		if got := e.GrantsByPrincipal()["p1"]; len(got) != 1 || got[0].Name != name {
			t.Fatalf("%s: assignments %+v", name, got)
		}
		if d := e.Explain("p1", "Microsoft.Web/sites/read", scope); len(d.Grants) != 1 || d.Grants[0].AssignmentName != name {
			t.Errorf("%s: explain %+v", name, d.Grants)
		}
		e.DeleteAssignment(lowerASCIIString(name))
		if st := e.Stats(); st.Assignments != 0 || len(e.idx.oddNames) != 0 || len(e.idx.scopes) != 0 {
			t.Errorf("%s: after delete %+v, %d odd names, %d scopes", name, st, len(e.idx.oddNames), len(e.idx.scopes))
		}
	}
}

func lowerASCIIString(s string) string { return string(appendLower(nil, s)) }
