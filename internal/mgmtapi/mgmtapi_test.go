package mgmtapi

import (
	"net/url"
	"strings"
	"testing"
)

func TestGroupNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"corp", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"Team_A.(prod)", true},
		{strings.Repeat("a", 90), true},
		{strings.Repeat("a", 91), false},
		{"ends.with.period.", false},
		{"", false},
		{"has space", false},
		{"slash/inside", false},
	} {
		if got := groupName.MatchString(tc.name); got != tc.ok {
			t.Errorf("groupName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestParentReferences(t *testing.T) {
	for _, tc := range []struct {
		ref, name string
		ok        bool
	}{
		{"/providers/Microsoft.Management/managementGroups/corp", "corp", true},
		{"/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/Corp/", "Corp", true},
		{"corp", "corp", true},
		{" corp ", "corp", true},
		{"/providers/Microsoft.Management/managementGroups", "", false},
		{"/subscriptions/s1", "", false},
		{"/providers/Microsoft.Management/managementGroups/a/b", "", false},
	} {
		name, ok := parentName(tc.ref)
		if ok != tc.ok || ok && name != tc.name {
			t.Errorf("parentName(%q) = %q, %v; want %q, %v", tc.ref, name, ok, tc.name, tc.ok)
		}
	}
}

func TestGroupOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		want  groupOptions
		err   string
	}{
		{"none", "", groupOptions{}, ""},
		{"children", "$expand=children", groupOptions{expand: "children"}, ""},
		{"children recursively", "$expand=Children&$recurse=true", groupOptions{expand: "children", recurse: true}, ""},
		{"path", "$expand=path", groupOptions{expand: "path"}, ""},
		{"ancestors", "$expand=ancestors", groupOptions{expand: "ancestors"}, ""},
		{"subscriptions filtered out", "$expand=children&$filter=children.childType%20ne%20Subscription", groupOptions{expand: "children", childGroupsOnly: true}, ""},
		{"unknown expand", "$expand=everything", groupOptions{}, "InvalidQueryParameter"},
		{"recurse without children", "$recurse=true", groupOptions{}, "InvalidQueryParameter"},
		{"recurse not a boolean", "$expand=children&$recurse=yes", groupOptions{}, "InvalidQueryParameter"},
		{"other filters", "$filter=name%20eq%20'x'", groupOptions{}, "InvalidFilterInQueryString"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseGroupOptions(q)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %s", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && got != tc.want:
				t.Fatalf("options %+v, want %+v", got, tc.want)
			}
		})
	}
}
