package authz

import (
	"hash/maphash"
	"strings"
)

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
	var p scopePath
	return string(p.parse(make([]byte, 0, len(scope)+1), scope))
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

// maxIndexedDepth is how many ancestor ends scopePath records; deeper
// scopes (far beyond anything ARM produces) are walked by scanning.
const maxIndexedDepth = 24

// scopePath is a scope in canonical form together with the ends of its
// ancestor prefixes, root first: for "/subscriptions/s/resourcegroups/g"
// the prefixes "/", "/subscriptions", "/subscriptions/s", ... and the scope
// itself. Parsing once lets a check walk the ancestors for the principal
// and each of its groups without rescanning.
//
// The canonical bytes are returned by parse rather than stored in the
// struct: storing a slice of the caller's stack buffer through a pointer
// would make the buffer escape to the heap.
type scopePath struct {
	ends     [maxIndexedDepth]int32
	hashes   [maxIndexedDepth]uint64 // scopeHash of each prefix
	n        int                     // recorded ends; ends[i] is the end of the depth-i prefix
	overflow bool                    // deeper than maxIndexedDepth: walk on by scanning
}

// parse canonicalises scope into buf (or a new buffer if buf is too small)
// in one pass, lower-casing and dropping empty segments as it copies.
func (p *scopePath) parse(buf []byte, scope string) []byte {
	if cap(buf) < len(scope)+1 {
		buf = make([]byte, 0, len(scope)+1)
	}
	b := buf[:len(scope)+1]
	b[0] = '/'
	p.ends[0], p.n, p.overflow = 1, 1, false
	w := 1
	for r := 0; r < len(scope); r++ {
		c := scope[r]
		if c == '/' {
			if b[w-1] == '/' {
				continue // empty segment
			}
			p.record(w)
		} else if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[w] = c
		w++
	}
	if w > 1 && b[w-1] == '/' {
		w-- // trailing slash; its prefix is already recorded
	} else if w > 1 {
		p.record(w)
	}
	b = b[:w]
	p.hashes[0] = scopeHashRoot
	for i := 1; i < p.n; i++ {
		p.hashes[i] = mixSegment(p.hashes[i-1], b[segmentStart(b, int(p.ends[i-1])):p.ends[i]])
	}
	return b
}

// segmentStart is where the segment after the prefix s[:end] begins.
func segmentStart(s []byte, end int) int {
	if end == 1 {
		return 1 // after the root's '/'
	}
	return end + 1
}

// Scopes are indexed by a hash built segment by segment, so that a check
// gets the hash of every ancestor of its scope in one pass and then probes
// each principal's sorted grants with an integer, touching the scope
// strings only to confirm a hit. The seed is per process: hashes are never
// stored outside memory, and an attacker cannot aim collisions at it (which
// would only cost time anyway, since hits are confirmed).
var scopeSeed = maphash.MakeSeed()

const (
	scopeHashRoot uint64 = 0x6a09e667f3bcc908
	scopeHashMul  uint64 = 0x9e3779b97f4a7c15 // odd: the mix is a bijection
)

func mixSegment(h uint64, segment []byte) uint64 {
	return (h ^ maphash.Bytes(scopeSeed, segment)) * scopeHashMul
}

// scopeHash is the hash parse gives the canonical scope s.
func scopeHash(s string) uint64 {
	h := scopeHashRoot
	for start := 1; start < len(s); {
		end := strings.IndexByte(s[start:], '/')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		h = (h ^ maphash.String(scopeSeed, s[start:end])) * scopeHashMul
		start = end + 1
	}
	return h
}

func (p *scopePath) record(end int) {
	if p.n == len(p.ends) {
		p.overflow = true
		return
	}
	p.ends[p.n] = int32(end)
	p.n++
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
// deeper than 61 segments share bit 62; they are looked up anyway. Bit 63
// is groupBit.
func depthBit(depth int) uint64 {
	if depth > 62 {
		depth = 62
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
