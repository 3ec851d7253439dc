package graphapi

import (
	"strings"
	"testing"
)

var filterObject = object{
	"id":                    "0b6c2d1e-0000-4000-8000-000000000001",
	"appId":                 "5E2A0000-0000-4000-8000-00000000000A",
	"displayName":           "Billing API",
	"accountEnabled":        true,
	"servicePrincipalType":  "Application",
	"servicePrincipalNames": []any{"5e2a0000-0000-4000-8000-00000000000a", "api://billing"},
	"tags":                  []any{},
	"description":           nil,
	"keyCredentials":        []any{map[string]any{"keyId": "k1", "type": "AsymmetricX509Cert"}},
	"info":                  map[string]any{"marketingUrl": "https://example.com"},
}

func TestFilterMatches(t *testing.T) {
	for _, tc := range []struct {
		name, filter string
		want         bool
	}{
		{"eq on a string ignores case", "displayName eq 'billing api'", true},
		{"eq on a GUID ignores case", "appId eq '5e2a0000-0000-4000-8000-00000000000a'", true},
		{"eq that differs", "displayName eq 'Billing'", false},
		{"ne", "servicePrincipalType ne 'ManagedIdentity'", true},
		{"eq on a boolean", "accountEnabled eq true", true},
		{"eq null on a null property", "description eq null", true},
		{"eq null on a set property", "displayName eq null", false},
		{"value first", "'Billing API' eq displayName", true},
		{"startswith", "startswith(displayName,'bill')", true},
		{"startswith that differs", "startswith(displayName,'api')", false},
		{"startswith a longer prefix", "startswith(displayName,'Billing API and more')", false},
		{"any over strings", "servicePrincipalNames/any(x:x eq 'api://billing')", true},
		{"any over strings, none match", "servicePrincipalNames/any(x:x eq 'api://other')", false},
		{"any over an empty collection", "tags/any(t:t eq 'x')", false},
		{"any over objects with a subpath", "keyCredentials/any(k:k/type eq 'AsymmetricX509Cert')", true},
		{"any with startswith", "servicePrincipalNames/any(x:startswith(x,'api://'))", true},
		{"nested property", "info/marketingUrl eq 'https://example.com'", true},
		{"and", "startswith(displayName,'Bill') and accountEnabled eq true", true},
		{"and with one false", "startswith(displayName,'Bill') and accountEnabled eq false", false},
		{"or", "displayName eq 'x' or appId eq '5e2a0000-0000-4000-8000-00000000000a'", true},
		{"and binds tighter than or", "displayName eq 'x' and accountEnabled eq true or tags/any(t:t eq 'y')", false},
		{"parentheses", "displayName eq 'x' and (accountEnabled eq true or displayName eq 'Billing API')", false},
		{"not", "not (displayName eq 'x')", true},
		{"in", "servicePrincipalType in ('ManagedIdentity','application')", true},
		{"in, none match", "servicePrincipalType in ('ManagedIdentity')", false},
		{"keywords ignore case", "displayName EQ 'Billing API' AND accountEnabled Eq TRUE", true},
		{"quotes doubled in a string", "displayName eq 'it''s'", false},
		{"numbers compare as numbers", "tags eq 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseFilter(tc.filter)
			if err != nil {
				t.Fatalf("parseFilter(%q): %v", tc.filter, err)
			}
			if got := match(e, filterObject); got != tc.want {
				t.Fatalf("match(%q) = %v, want %v (parsed %s)", tc.filter, got, tc.want, e)
			}
		})
	}
}

func TestFilterRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, filter, want string
	}{
		{"empty", "", "expected a property or a value"},
		{"unterminated string", "displayName eq 'abc", "unterminated string literal at position 15"},
		{"no operator", "displayName 'abc'", "expected eq, ne or in"},
		{"unknown operator", "displayName gt 'abc'", "expected eq, ne or in"},
		{"dangling and", "displayName eq 'a' and", "expected a property or a value"},
		{"unbalanced parenthesis", "(displayName eq 'a'", "expected ')'"},
		{"trailing text", "displayName eq 'a' 'b'", "unexpected \"b\""},
		{"startswith with a number", "startswith(displayName,1)", "startswith needs a string prefix"},
		{"lambda without its variable", "tags/any(t:displayName eq 'a')", "does not use its variable t"},
		{"lambda without a colon", "tags/any(t t eq 'a')", "expected ':'"},
		{"a stray character", "displayName eq 'a' & x", "unexpected character '&'"},
		{"nesting too deep", strings.Repeat("(", 40) + "a eq 1" + strings.Repeat(")", 40), "nests deeper than 32"},
		{"too long", "displayName eq '" + strings.Repeat("a", maxFilterLen) + "'", "longer than 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFilter(tc.filter)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseFilter(%q) = %v, want an error containing %q", tc.filter, err, tc.want)
			}
		})
	}
}

func TestFilterPropertiesAreChecked(t *testing.T) {
	declared := declaredOf(filterObject)
	for _, tc := range []struct {
		filter string
		ok     bool
	}{
		{"displayName eq 'a'", true},
		{"DISPLAYNAME eq 'a'", true},
		{"servicePrincipalNames/any(x:x eq 'a')", true},
		{"keyCredentials/any(k:k/keyId eq 'a')", true},
		{"nickname eq 'a'", false},
		{"startswith(nickname,'a')", false},
		{"nicknames/any(x:x eq 'a')", false},
		{"tags/any(x:nickname eq x)", false},
	} {
		e, err := parseFilter(tc.filter)
		if err != nil {
			t.Fatalf("parseFilter(%q): %v", tc.filter, err)
		}
		if err := checkProperties(e, declared); (err == nil) != tc.ok {
			t.Errorf("checkProperties(%q) = %v, want ok=%v", tc.filter, err, tc.ok)
		}
	}
}

// FuzzODataFilter feeds arbitrary filters to the parser: it never panics,
// refuses with a position inside the input, and whatever it accepts
// renders to a filter that parses to the same rendering and evaluates to
// the same answer.
func FuzzODataFilter(f *testing.F) {
	for _, seed := range []string{
		"displayName eq 'billing'",
		"appId eq '5e2a0000-0000-4000-8000-00000000000a'",
		"startswith(displayName,'bill') and accountEnabled eq true",
		"servicePrincipalNames/any(c:c eq 'api://billing')",
		"keyCredentials/any(k:k/type eq 'AsymmetricX509Cert') or not (tags/any(t:startswith(t,'x')))",
		"servicePrincipalType in ('ManagedIdentity','Application')",
		"description eq null and displayName ne 'it''s'",
		"(a eq 1) or (b eq -2.5)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := parseFilter(src)
		if err != nil {
			fe, ok := err.(*filterError)
			if !ok {
				t.Fatalf("parseFilter(%q) returned %T, want *filterError", src, err)
			}
			if fe.pos < 0 || fe.pos > len(src) && fe.pos != maxFilterLen {
				t.Fatalf("parseFilter(%q): position %d outside the input", src, fe.pos)
			}
			return
		}
		rendered := e.String()
		again, err := parseFilter(rendered)
		if err != nil {
			t.Fatalf("rendering of %q does not parse: %q: %v", src, rendered, err)
		}
		if again.String() != rendered {
			t.Fatalf("rendering is not stable: %q -> %q -> %q", src, rendered, again.String())
		}
		if match(e, filterObject) != match(again, filterObject) {
			t.Fatalf("%q and its rendering %q evaluate differently", src, rendered)
		}
		_ = checkProperties(e, declaredOf(filterObject))
	})
}
