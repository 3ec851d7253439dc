package resources

import (
	"strings"
	"testing"
)

func TestNameRules(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"group: letters digits and punctuation", ValidateResourceGroupName, "rg_1-(a).b", true},
		{"group: unicode letters", ValidateResourceGroupName, "grüppe", true},
		{"group: 90 characters", ValidateResourceGroupName, strings.Repeat("a", 90), true},
		{"group: 91 characters", ValidateResourceGroupName, strings.Repeat("a", 91), false},
		{"group: empty", ValidateResourceGroupName, "", false},
		{"group: trailing period", ValidateResourceGroupName, "rg.", false},
		{"group: space", ValidateResourceGroupName, "r g", false},
		{"identity: 3 characters", ValidateUserAssignedIdentityName, "abc", true},
		{"identity: 128 characters", ValidateUserAssignedIdentityName, "a" + strings.Repeat("_", 127), true},
		{"identity: 129 characters", ValidateUserAssignedIdentityName, strings.Repeat("a", 129), false},
		{"identity: leading underscore", ValidateUserAssignedIdentityName, "_abc", false},
		{"identity: period", ValidateUserAssignedIdentityName, "ab.c", false},
		{"credential: 120 characters", ValidateFederatedCredentialName, "a" + strings.Repeat("-", 119), true},
		{"credential: 121 characters", ValidateFederatedCredentialName, strings.Repeat("a", 121), false},
		{"resource: ordinary", ValidateResourceName, "vm-1.prod", true},
		{"resource: percent", ValidateResourceName, "vm%1", false},
		{"resource: trailing space", ValidateResourceName, "vm ", false},
		{"resource: control character", ValidateResourceName, "vm\x01", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(tc.in); (err == nil) != tc.ok {
				t.Errorf("%q: %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestParseIdentityType(t *testing.T) {
	tests := []struct {
		in           string
		system, user bool
		ok           bool
	}{
		{"None", false, false, true},
		{"systemassigned", true, false, true},
		{"UserAssigned", false, true, true},
		{"SystemAssigned, UserAssigned", true, true, true},
		{"SystemAssigned,UserAssigned", true, true, true},
		{" systemAssigned ,  userAssigned ", true, true, true},
		{"UserAssigned, SystemAssigned", true, true, true},
		{"Managed", false, false, false},
		{"SystemAssigned UserAssigned", false, false, false},
	}
	for _, tc := range tests {
		got, err := parseIdentityType(tc.in)
		if (err == nil) != tc.ok || tc.ok && (got.system != tc.system || got.user != tc.user) {
			t.Errorf("%q: %+v %v", tc.in, got, err)
		}
	}
}

func TestMergePatch(t *testing.T) {
	tests := []struct{ target, patch, want string }{
		{`{"a":1,"b":{"c":2,"d":3}}`, `{"b":{"c":null,"e":4}}`, `{"a":1,"b":{"d":3,"e":4}}`},
		{`{"a":[1,2]}`, `{"a":[3]}`, `{"a":[3]}`},
		{`{"a":1}`, `"x"`, `"x"`},
		{``, `{"a":{"b":1}}`, `{"a":{"b":1}}`},
		{`{"n":1.50}`, `{"m":2}`, `{"m":2,"n":1.50}`},
	}
	for _, tc := range tests {
		if got := string(mergePatch([]byte(tc.target), []byte(tc.patch))); got != tc.want {
			t.Errorf("mergePatch(%s, %s) = %s, want %s", tc.target, tc.patch, got, tc.want)
		}
	}
}

func FuzzParseResourceRef(f *testing.F) {
	for _, s := range []string{
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a",
		"/subscriptions/s/resourcegroups/g/providers/Microsoft.Web/sites/a/slots/b",
		"/subscriptions/s/resourceGroups/g/providers/A/b/c/providers/D/e/f",
		"//subscriptions//s/resourceGroups/g/providers/x/y/z/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ref, err := parseResourceRef(id)
		if err != nil {
			return
		}
		again, err := parseResourceRef(ref.id)
		if err != nil || again != ref {
			t.Fatalf("%q: reparse of %q gave %+v, %v", id, ref.id, again, err)
		}
		if ref.name == "" || ref.typ == "" || strings.Count(ref.typ, "/") < 1 {
			t.Fatalf("%q parsed to %+v", id, ref)
		}
		if ref.parentID != "" && !strings.HasPrefix(ref.id, ref.parentID+"/") {
			t.Fatalf("%q: parent %q is not a prefix", id, ref.parentID)
		}
	})
}
