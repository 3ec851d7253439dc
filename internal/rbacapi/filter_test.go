package rbacapi

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const oid = "55555555-5555-4555-8555-555555555555"

func TestParseAssignmentFilter(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want assignmentFilter
		bad  bool
	}{
		{"none", "", assignmentFilter{}, false},
		{"atScope", "atScope()", assignmentFilter{atScope: true}, false},
		{"principalId", "principalId eq '" + oid + "'", assignmentFilter{principalID: oid}, false},
		{"names are case-insensitive", "PRINCIPALID EQ '" + oid + "'", assignmentFilter{principalID: oid}, false},
		{"assignedTo", "assignedTo('" + oid + "')", assignmentFilter{assignedTo: oid}, false},
		{"atScope and assignedTo", "atScope() and assignedTo('" + oid + "')", assignmentFilter{atScope: true, assignedTo: oid}, false},
		{"either order, extra spaces", "  assignedTo( '" + oid + "' )  AND   atScope( ) ", assignmentFilter{atScope: true, assignedTo: oid}, false},
		{"atScope and principalId", "atScope() and principalId eq '" + oid + "'", assignmentFilter{atScope: true, principalID: oid}, false},
		{"unquoted value", "principalId eq " + oid, assignmentFilter{}, true},
		{"unknown property", "roleDefinitionId eq '" + oid + "'", assignmentFilter{}, true},
		{"or", "atScope() or assignedTo('" + oid + "')", assignmentFilter{}, true},
		{"two principals", "principalId eq '" + oid + "' and assignedTo('" + oid + "')", assignmentFilter{}, true},
		{"atScope twice", "atScope() and atScope()", assignmentFilter{}, true},
		{"not a GUID", "principalId eq 'alice'", assignmentFilter{}, true},
		{"unterminated", "principalId eq '" + oid, assignmentFilter{}, true},
		{"dangling and", "atScope() and", assignmentFilter{}, true},
		{"atScope with an argument", "atScope('x')", assignmentFilter{}, true},
		{"andx is not and", "atScope() andx assignedTo('" + oid + "')", assignmentFilter{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAssignmentFilter(tc.raw)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				if !strings.Contains(err.Error(), "assignedTo('{objectId}')") {
					t.Fatalf("the error does not list the supported filters: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseDefinitionFilter(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want definitionFilter
		bad  bool
	}{
		{"roleName eq 'Reader'", definitionFilter{roleName: "Reader"}, false},
		{"roleName eq 'Bob''s role'", definitionFilter{roleName: "Bob's role"}, false},
		{"type eq 'customrole'", definitionFilter{roleType: "CustomRole"}, false},
		{"roleName eq 'Reader' and type eq 'BuiltInRole' and atScopeAndBelow()", definitionFilter{roleName: "Reader", roleType: "BuiltInRole", atScopeAndBelow: true}, false},
		{"type eq 'Other'", definitionFilter{}, true},
		{"description eq 'x'", definitionFilter{}, true},
	} {
		got, err := parseDefinitionFilter(tc.raw)
		if (err != nil) != tc.bad || !tc.bad && got != tc.want {
			t.Errorf("%q: got %+v, %v", tc.raw, got, err)
		}
	}
}

// TestFilterEncodings: whatever encoding of spaces reaches the server,
// the parsed filter is the same (reference §1.9).
func TestFilterEncodings(t *testing.T) {
	want := assignmentFilter{atScope: true, assignedTo: oid}
	for _, rawQuery := range []string{
		"$filter=atScope()%20and%20assignedTo('" + oid + "')",
		"$filter=atScope()+and+assignedTo('" + oid + "')",
		"%24filter=atScope%28%29+and+assignedTo%28%27" + oid + "%27%29",
		"$FILTER=atScope()%20and%20assignedTo(%27" + oid + "%27)",
	} {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseAssignmentFilter(rawFilter(q))
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", rawQuery, got, err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "atScope()", "principalId eq '" + oid + "'", "atScope() and assignedTo('" + oid + "')",
		"roleName eq 'a''b'", "x(", "'", "eq eq eq", "a and and b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseFilter(s)
		if err != nil {
			return
		}
		// Accepted filters round-trip through their description.
		var parts []string
		for _, tm := range terms {
			if tm.Call && tm.HasArg || !tm.Call {
				tm.Arg = strings.ReplaceAll(tm.Arg, "'", "''")
			}
			parts = append(parts, describe(tm))
		}
		again, err := parseFilter(strings.Join(parts, " and "))
		if err != nil {
			t.Fatalf("%q parsed, but its description %q does not: %v", s, strings.Join(parts, " and "), err)
		}
		for i := range again {
			again[i].Arg = strings.ReplaceAll(again[i].Arg, "'", "''")
		}
		if len(again) != len(terms) {
			t.Fatalf("%q: %d terms, description gives %d", s, len(terms), len(again))
		}
		_, _ = parseAssignmentFilter(s)
		_, _ = parseDefinitionFilter(s)
	})
}

func TestScopes(t *testing.T) {
	for _, tc := range []struct {
		scope  string
		kind   scopeKind
		prefix string
	}{
		{"/", scopeRoot, ""},
		{"", scopeRoot, ""},
		{"/subscriptions/s1", scopeSubscription, "/subscriptions/s1"},
		{"subscriptions//s1/", scopeSubscription, "/subscriptions/s1"},
		{"/subscriptions/s1/resourcegroups/g", scopeResourceGroup, "/subscriptions/s1"},
		{"/subscriptions/s1/resourceGroups/g/providers/Microsoft.Web/sites/w", scopeResource, "/subscriptions/s1"},
		{"/subscriptions/s1/resourceGroups/g/providers/Microsoft.Web/sites/w/slots/s", scopeResource, "/subscriptions/s1"},
		{"/providers/Microsoft.Management/managementGroups/m", scopeManagementGroup, ""},
		{"/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/m/", scopeManagementGroup, ""},
		{"/providers/Microsoft.Management/managementGroups", scopeInvalid, ""},
		{"/providers/Microsoft.Management/managementGroups/m/providers/Microsoft.Web/sites/w", scopeInvalid, ""},
		{"/subscriptions/s1/locations/westus", scopeInvalid, "/subscriptions/s1"},
		{"/subscriptions/s1/resourceGroups/g/providers/Microsoft.Web", scopeInvalid, "/subscriptions/s1"},
	} {
		if kind, _ := classifyScope(tc.scope); kind != tc.kind {
			t.Errorf("classifyScope(%q) = %v, want %v", tc.scope, kind, tc.kind)
		}
		if got := subscriptionPrefix(tc.scope); got != tc.prefix {
			t.Errorf("subscriptionPrefix(%q) = %q, want %q", tc.scope, got, tc.prefix)
		}
	}
	if got := roleAssignmentID("/", "n"); got != "/providers/Microsoft.Authorization/roleAssignments/n" {
		t.Errorf("root assignment ID %q", got)
	}
	if got := ancestors("/subscriptions/s/resourceGroups/g"); !reflect.DeepEqual(got, []string{"/", "/subscriptions", "/subscriptions/s", "/subscriptions/s/resourceGroups"}) {
		t.Errorf("ancestors: %q", got)
	}
	for ref, want := range map[string]string{
		oid: oid,
		"/providers/Microsoft.Authorization/roleDefinitions/" + oid:                                                   oid,
		"/subscriptions/s/providers/microsoft.authorization/roledefinitions/" + oid:                                   oid,
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Authorization/roleDefinitions/" + oid:                  "",
		"/providers/Microsoft.Management/managementGroups/m/providers/Microsoft.Authorization/roleDefinitions/" + oid: oid,
		"/providers/Microsoft.Management/x/providers/Microsoft.Authorization/roleDefinitions/" + oid:                  "",
		"/providers/Microsoft.Authorization/roleDefinitions/reader":                                                   "",
		"Reader": "",
	} {
		got, ok := parseRoleDefinitionRef(ref)
		if got != want || ok != (want != "") {
			t.Errorf("parseRoleDefinitionRef(%q) = %q, %v", ref, got, ok)
		}
	}
}
