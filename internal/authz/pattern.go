package authz

import "strings"

// An action pattern from a role definition ("*/read",
// "Microsoft.Authorization/*/Write", ".../userAssignedIdentities/*/assign/action")
// compiled once into lower-case bytes with two wildcard tokens. Matching walks
// the bytes with the classic backtrack-to-last-wildcard glob algorithm: no
// regexp, no allocation, and linear time on the patterns ARM roles contain.
//
// The two tokens encode ARM's rules (reference §11.4, rule 6):
//
//   - tokStar: `*` matches any run of characters, including '/'.
//   - tokOpt: in `/*/` the wildcard may also match zero segments, so the
//     pattern `a/*/b` covers `a/b` as well as `a/x/b` and `a/x/y/b`. Managed
//     Identity Operator depends on it: `.../userAssignedIdentities/*/assign/action`
//     must cover `.../userAssignedIdentities/assign/action`, the action ARM
//     names in LinkedAuthorizationFailed. The compiler keeps the first '/'
//     as a literal and turns `*/` into tokOpt, which matches either nothing or
//     any run that ends with '/'.
//
// Action names are ASCII; case-folding is ASCII-only on purpose (it is what
// ARM's case-insensitive comparison amounts to for them, and it needs no
// allocation).
const (
	tokStar = 0x00
	tokOpt  = 0x01
)

type patternKind uint8

const (
	patternGlob    patternKind = iota
	patternAll                 // "*": matches every action
	patternLiteral             // no wildcard: a case-insensitive comparison
	patternNever               // malformed (control bytes); matches nothing
)

type pattern struct {
	// text is the compiled form: lower-case literal bytes and wildcard tokens.
	text string
	kind patternKind
	// prefix and suffix are the literal runs before the first and after the
	// last wildcard. Checking them first rejects most actions without
	// entering the glob loop.
	prefix, suffix string
	// raw is the pattern as the role definition spelled it, for Explain.
	raw string
}

func compilePattern(raw string) pattern {
	p := pattern{raw: raw}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c < 0x20 || c == 0x7f {
			// Control bytes never occur in action names, and two of them are
			// our tokens; such a pattern must not match by accident.
			return pattern{raw: raw, kind: patternNever}
		}
		if c != '*' {
			b = append(b, lowerASCII(c))
			i++
			continue
		}
		j := i
		for j < len(raw) && raw[j] == '*' {
			j++ // "**" means the same as "*"
		}
		afterSlash := len(b) > 0 && (b[len(b)-1] == '/' || b[len(b)-1] == tokOpt)
		if afterSlash && j < len(raw) && raw[j] == '/' {
			b = append(b, tokOpt)
			i = j + 1 // tokOpt owns the closing '/'
			continue
		}
		b = append(b, tokStar)
		i = j
	}
	p.text = string(b)
	first := strings.IndexAny(p.text, "\x00\x01")
	switch {
	case p.text == "\x00":
		p.kind = patternAll
	case first < 0:
		p.kind = patternLiteral
	default:
		p.kind = patternGlob
		last := strings.LastIndexAny(p.text, "\x00\x01")
		p.prefix, p.suffix = p.text[:first], p.text[last+1:]
	}
	return p
}

// match reports whether the action s is covered by the pattern,
// case-insensitively.
func (p *pattern) match(s string) bool {
	switch p.kind {
	case patternAll:
		return true
	case patternLiteral:
		return equalFoldLower(p.text, s)
	case patternNever:
		return false
	}
	if len(s) < len(p.prefix)+len(p.suffix) ||
		!equalFoldLower(p.prefix, s[:len(p.prefix)]) ||
		!equalFoldLower(p.suffix, s[len(s)-len(p.suffix):]) {
		return false
	}
	return globMatch(p.text, s)
}

// globMatch matches the compiled pattern pat against s. On a mismatch it
// lets the most recent wildcard consume more of s and retries; earlier
// wildcards never need revisiting because a later one can absorb whatever
// they would have (for tokOpt this holds because it always starts right
// after a '/', so whatever an earlier wildcard would skip ends with '/').
func globMatch(pat, s string) bool {
	pi, si := 0, 0
	backP, backS := -1, 0 // resume points after the last wildcard
	backOpt := false
	for si < len(s) {
		if pi < len(pat) {
			switch c := pat[pi]; c {
			case tokStar, tokOpt:
				backP, backS, backOpt = pi+1, si, c == tokOpt
				pi++
				continue
			default:
				if c == lowerASCII(s[si]) {
					pi++
					si++
					continue
				}
			}
		}
		if backP < 0 {
			return false
		}
		if backOpt {
			// tokOpt may only consume runs that end with '/'.
			k := strings.IndexByte(s[backS:], '/')
			if k < 0 {
				return false
			}
			backS += k + 1
		} else {
			backS++
		}
		pi, si = backP, backS
	}
	for pi < len(pat) && (pat[pi] == tokStar || pat[pi] == tokOpt) {
		pi++
	}
	return pi == len(pat)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFoldLower compares lower (already lower-case) with s, folding s.
func equalFoldLower(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[i] != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

// patternSet is one list of a permission block (actions, notActions, ...).
type patternSet []pattern

func compilePatterns(raw []string) patternSet {
	if len(raw) == 0 {
		return nil
	}
	ps := make(patternSet, len(raw))
	for i, r := range raw {
		ps[i] = compilePattern(r)
	}
	return ps
}

// matchAny returns the index of the first pattern covering action, or -1.
func (ps patternSet) matchAny(action string) int {
	for i := range ps {
		if ps[i].match(action) {
			return i
		}
	}
	return -1
}
