package review

import (
	"encoding/hex"
	"hash/fnv"
	"strings"
	"testing"
)

// TestFindingIDIsFNV64a pins the finding ID to its definition (FNV-1a over
// the rule and the NUL-separated, case-folded keys): IDs are what `keyless
// review apply` takes, so a faster implementation must not change them.
func TestFindingIDIsFNV64a(t *testing.T) {
	want := func(rule string, parts ...string) string {
		h := fnv.New64a()
		h.Write([]byte(rule))
		for _, p := range parts {
			h.Write([]byte{0})
			h.Write([]byte(strings.ToLower(p)))
		}
		return rule + "-" + hex.EncodeToString(h.Sum(nil))
	}
	for _, tc := range [][]string{
		{RuleUnusedIdentity, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"},
		{RuleExcessPermissions, "P-1", "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Authorization/roleAssignments/A"},
		{RuleSecretCredential, "", "", "x"},
	} {
		if got := findingID(tc[0], tc[1], tc[2:]...); got != want(tc[0], tc[1:]...) {
			t.Errorf("findingID%q = %s, want %s", tc, got, want(tc[0], tc[1:]...))
		}
	}
}
