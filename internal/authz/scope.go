package authz

import "strings"

// Scopes are compared in one canonical form: ASCII lower-case (ARM IDs are
// case-insensitive, so `resourcegroups` == `resourceGroups`, and SQLite's
// lower() is ASCII-only too, which keeps the engine and the store in
// agreement), a leading '/', no empty segments (clients that join paths
// produce "//"), and no trailing '/'. The root is "/".
//
// An assignment at scope A applies at scope S when A is S or an ancestor of
// S at a segment boundary: "/subscriptions/a" covers
// "/subscriptions/a/resourceGroups/g" but not "/subscriptions/ab". Extension
// scopes (".../providers/Microsoft.Authorization/roleAssignments/x" under a
// resource) and child resources are just longer paths, so the same rule
// gives them their parents' assignments.

// maxScopeOnStack bounds the scopes that Allowed normalises without
// allocating. ARM resource IDs are far shorter in practice; longer ones
// still work, they just cost one allocation.
const maxScopeOnStack = 512

// NormalizeScope returns the canonical form of scope. It returns scope
// itself when it is already canonical.
func NormalizeScope(scope string) string {
	if isNormalScope(scope) {
		return scope
	}
	return string(appendScope(make([]byte, 0, len(scope)+1), scope))
}

func isNormalScope(s string) bool {
	if s == "/" {
		return true
	}
	if len(s) < 2 || s[0] != '/' || s[len(s)-1] == '/' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || (c == '/' && s[i-1] == '/') {
			return false
		}
	}
	return true
}

// appendScope appends the canonical form of scope to dst.
func appendScope(dst []byte, scope string) []byte {
	start := len(dst)
	dst = append(dst, '/')
	for i := 0; i < len(scope); i++ {
		c := scope[i]
		if c == '/' && dst[len(dst)-1] == '/' {
			continue
		}
		dst = append(dst, lowerASCII(c))
	}
	if len(dst)-start > 1 && dst[len(dst)-1] == '/' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// IsAncestorOrSelf reports whether an assignment at ancestor applies at
// scope. Both are normalised first.
func IsAncestorOrSelf(ancestor, scope string) bool {
	return scopeCovers(NormalizeScope(ancestor), NormalizeScope(scope))
}

// scopeCovers is IsAncestorOrSelf for canonical scopes.
func scopeCovers(ancestor, scope string) bool {
	if ancestor == "/" {
		return true
	}
	return strings.HasPrefix(scope, ancestor) &&
		(len(scope) == len(ancestor) || scope[len(ancestor)] == '/')
}

// scopeDepth is the number of segments: 0 for the root, 2 for a
// subscription, 4 for a resource group.
func scopeDepth(canonical string) int {
	if canonical == "/" {
		return 0
	}
	return strings.Count(canonical, "/")
}

// depthBit is the bit of a principal's depth mask for a scope depth. Scopes
// deeper than 62 segments share the last bit; they are looked up anyway.
func depthBit(depth int) uint64 {
	if depth > 63 {
		depth = 63
	}
	return 1 << uint(depth)
}

// nextAncestorEnd returns the end of the next ancestor prefix of the
// canonical scope s after s[:end], walking "/" -> "/subscriptions" ->
// "/subscriptions/x" -> ... -> s.
func nextAncestorEnd(s []byte, end int) int {
	// s[end] is '/' for every prefix but the root, and segments are never
	// empty, so the next '/' cannot be at end+1; searching from end+1 also
	// skips the first byte after the root's '/'.
	for i := end + 1; i < len(s); i++ {
		if s[i] == '/' {
			return i
		}
	}
	return len(s)
}

// roleKey is the canonical key of a role definition: its lower-case GUID.
// A full ID (".../providers/Microsoft.Authorization/roleDefinitions/{guid}")
// is accepted too, since callers copy roleDefinitionId from the wire.
func roleKey(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	return lowerKey(id)
}

// lowerKey is the ASCII lower-case form of an ID (principal object IDs,
// assignment names, role GUIDs), returning s itself when it has no upper
// case letters. ASCII-only so that the hot path can fold into a stack buffer
// and get the same answer.
func lowerKey(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return string(appendLower(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

// appendLower appends the ASCII lower-case form of s.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, lowerASCII(s[i]))
	}
	return dst
}
