package arm

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    []condition
		wantErr bool
	}{
		{"", nil, false},
		{"tagName eq 'env'", []condition{{"tagName", "env"}}, false},
		{"tagName eq 'env' and tagValue eq 'prod'", []condition{{"tagName", "env"}, {"tagValue", "prod"}}, false},
		{"  resourceType   EQ 'Microsoft.Web/sites'  ", []condition{{"resourceType", "Microsoft.Web/sites"}}, false},
		{"name eq 'it''s'", []condition{{"name", "it's"}}, false},
		{"name eq 'a and b'", []condition{{"name", "a and b"}}, false},
		{"name eq ''", []condition{{"name", ""}}, false},
		{"name eq 'x' or name eq 'y'", nil, true},
		{"name ne 'x'", nil, true},
		{"name eq x", nil, true},
		{"name eq 'x", nil, true},
		{"substringof('a', name)", nil, true},
		{"name eq 'x' and", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseFilter(tc.in)
			if (err != nil) != tc.wantErr || !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseFilter(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"tagName eq 'env' and tagValue eq 'prod'", "name eq 'it''s'", "resourceType eq 'a/b'", "x eq '", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		conds, err := parseFilter(s)
		if err != nil {
			return
		}
		// Whatever parses must re-serialise to something that parses to
		// the same conditions.
		var parts []string
		for _, c := range conds {
			parts = append(parts, c.Field+" eq '"+strings.ReplaceAll(c.Value, "'", "''")+"'")
		}
		again, err := parseFilter(strings.Join(parts, " and "))
		if err != nil || !reflect.DeepEqual(again, conds) && len(conds) > 0 {
			t.Fatalf("round trip of %q: %v, %v vs %v", s, again, err, conds)
		}
	})
}

func TestMatchSegments(t *testing.T) {
	compile := func(p string) []patternSegment {
		segs, err := compilePattern(p)
		if err != nil {
			t.Fatal(err)
		}
		return segs
	}
	tests := []struct {
		pattern, path string
		want          Params
	}{
		{"/subscriptions/{s}/resourcegroups/{g}", "/SUBSCRIPTIONS/x/resourceGroups/Rg", Params{"s": "x", "g": "Rg"}},
		{"/subscriptions/{s}/resourcegroups/{g}", "/subscriptions/x/resourceGroups", nil},
		{"/{scope...}/providers/A/b/{n}", "/providers/A/b/n1", Params{"scope": "", "n": "n1"}},
		{"/{scope...}/providers/A/b/{n}", "/subscriptions/s/providers/a/B/n1", Params{"scope": "subscriptions/s", "n": "n1"}},
		{"/{scope...}/providers/A/b/{n}", "/subscriptions/s/providers/A/c/n1", nil},
		{"/x/{rest...}", "/x", Params{"rest": ""}},
		{"/x/{rest...}", "/x/a/b/c", Params{"rest": "a/b/c"}},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.path, func(t *testing.T) {
			got, ok := matchSegments(compile(tc.pattern), splitPath(tc.path))
			if ok != (tc.want != nil) || ok && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
	if _, err := compilePattern("/{a...}/x/{b...}"); err == nil {
		t.Error("two catch-alls must be refused")
	}
}

func FuzzRequestSegments(f *testing.F) {
	for _, s := range []string{"/subscriptions/s/resourceGroups/g", "//a//b/", "/a/%2e%2e/b", "/a%2Fb", "/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse(p)
		if err != nil {
			return
		}
		segs, err := requestSegments(u)
		if err != nil {
			return
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.Contains(s, "/") {
				t.Fatalf("segment %q escaped cleaning of %q", s, p)
			}
		}
	})
}

func TestVersionPolicy(t *testing.T) {
	tests := []struct {
		policy VersionPolicy
		v      string
		ok     bool
	}{
		{ResourcesVersions, "2025-04-01", true},
		{ResourcesVersions, "2021-04-01", true},
		{ResourcesVersions, "2019-05-01", true},
		{ResourcesVersions, "2024-11-30", false},
		{ManagedIdentityVersions, "2024-11-30", true},
		{ManagedIdentityVersions, "2023-07-31-PREVIEW", true},
		{ManagedIdentityVersions, "2026-05-31", true},
		{FederatedCredentialVersions, "2018-11-30", false},
		{GenericVersions, "2024-07-01", true},
		{GenericVersions, "2015-06-15-preview", true},
		{GenericVersions, "2024-02-30", false},
		{GenericVersions, "latest", false},
		{GenericVersions, "", false},
	}
	for _, tc := range tests {
		if err := tc.policy.check(tc.v); (err == nil) != tc.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}

func TestPageSlice(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	var got []string
	cursor, pages := "", 0
	for {
		page, next := pageSlice(items, id, cursor, 2)
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	if strings.Join(got, "") != "abcde" || pages != 3 {
		t.Errorf("got %v in %d pages", got, pages)
	}
	if page, next := pageSlice(items, id, "e", 2); len(page) != 0 || next != "" {
		t.Errorf("past the end: %v %q", page, next)
	}
}
