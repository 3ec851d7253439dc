package authz

import (
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// CanGrant is the escalation guard for role assignments and role
// definitions: it reports whether the granter already holds, at scope,
// everything the role would grant (its actions and data actions, minus its
// own exclusions). A principal allowed to write role assignments can then
// hand out only what it has, so a Role Based Access Control Administrator
// cannot mint Owners, and Contributor cannot grant Owner: Owner's `*` is not
// covered once Contributor's `Microsoft.Authorization/*/Write` exclusion is
// taken into account.
//
// Data actions follow the same rule with one exception: a granter that holds
// every control-plane action at the scope (Owner, or anything amounting to
// `*` with no exclusion) may grant data roles too. `*` never grants data
// access (§11.4 rule 5), so without the exception no administrator could
// ever hand out Storage Blob Data Reader or Key Vault Secrets User, which
// Azure lets an Owner do; and such a granter controls the resources holding
// the data anyway.
//
// The check is sound but not complete: when it says yes the granter really
// holds every action the role grants; it may say no in contrived cases where
// several of the granter's permission blocks only jointly cover one
// wildcard. It answers only the escalation question; whether the granter
// may write role assignments at all is Allowed(..., ActionRoleAssignmentsWrite, ...).
func (e *Engine) CanGrant(granterID string, role store.RoleDefinition, scope string) bool {
	wanted := compileRole(role)
	e.mu.RLock()
	defer e.mu.RUnlock()
	var held []*compiledBlock
	for _, a := range e.idx.applicable(lowerKey(granterID), NormalizeScope(scope)) {
		if r := a.role.role; r != nil {
			for i := range r.blocks {
				held = append(held, &r.blocks[i])
			}
		}
	}
	planes := []bool{false, true}
	if holds(&everyAction, nil, held, false, 0) {
		planes = planes[:1] // full control: data roles are grantable
	}
	for i := range wanted.blocks {
		for _, data := range planes {
			include, exclude := wanted.blocks[i].lists(data)
			for j := range include {
				if !holds(&include[j], exclude, held, data, 0) {
					return false
				}
			}
		}
	}
	return true
}

var everyAction = compilePattern("*")

// maxHoldDepth bounds how far holds follows a granter's exclusion into the
// granter's other blocks. Real role sets need one level.
const maxHoldDepth = 3

// holds reports whether the held blocks grant every action of want that
// the wanted role's exclusions (same block) leave in. used marks held
// blocks already relied on higher up, so recursion terminates.
func holds(want *pattern, wantExclude patternSet, held []*compiledBlock, data bool, used uint64) bool {
	if want.kind == patternNever {
		return true // grants nothing
	}
	for i := range wantExclude {
		if covers(&wantExclude[i], want) {
			return true // excluded in full by its own block
		}
	}
	if depth := popcount(used); depth >= maxHoldDepth {
		return false
	}
	for bi, b := range held {
		if bi < 64 && used&(1<<bi) != 0 {
			continue
		}
		include, exclude := b.lists(data)
		coveredBy := -1
		for k := range include {
			if covers(&include[k], want) {
				coveredBy = k
				break
			}
		}
		if coveredBy < 0 {
			continue
		}
		ok := true
		for k := range exclude {
			hole := &exclude[k]
			if !intersects(hole, want) {
				continue // the granter's exclusion is elsewhere
			}
			// The hole is harmless if the wanted role excludes it too, or if
			// another of the granter's blocks fills it.
			if wantExclude.coversAny(hole) {
				continue
			}
			next := used
			if bi < 64 {
				next |= 1 << bi
			}
			if holds(hole, wantExclude, held, data, next) {
				continue
			}
			ok = false
			break
		}
		if ok {
			return true
		}
	}
	return false
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func (ps patternSet) coversAny(p *pattern) bool {
	for i := range ps {
		if covers(&ps[i], p) {
			return true
		}
	}
	return false
}

// Assignable reports whether role may be assigned at scope: one of its
// assignableScopes must be the scope or an ancestor of it (§11.2).
func Assignable(role store.RoleDefinition, scope string) bool {
	s := NormalizeScope(scope)
	for _, as := range role.AssignableScopes {
		if scopeCovers(NormalizeScope(as), s) {
			return true
		}
	}
	return false
}

// Role returns the definition the engine holds for this role ID.
func (e *Engine) Role(id string) (store.RoleDefinition, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if s := e.idx.roles[roleKey(id)]; s != nil && s.role != nil {
		return cloneRole(s.role.def), true
	}
	return store.RoleDefinition{}, false
}

// covers reports whether every action matched by sub is also matched by
// super. It compares the patterns token by token: a literal of super must
// meet the same literal in sub, super's `*` may absorb any run of sub's
// tokens (wildcards included), and super's zero-or-more-segments token may
// absorb nothing or a run that can only produce strings ending in '/'. This
// is sound (true implies containment) and exact for the patterns roles use;
// it can miss containments that hold only by coincidence of letters.
func covers(super, sub *pattern) bool {
	switch {
	case super.kind == patternAll || sub.kind == patternNever:
		return true
	case super.kind == patternNever:
		return false
	}
	// A zero-or-more-segments token in sub is the union of nothing and
	// "*/", so sub is covered when each expansion is: `*/read` covers
	// `Microsoft.Authorization/*/read` because it covers both
	// `Microsoft.Authorization/read` and `Microsoft.Authorization/*/read`
	// with an ordinary star.
	for _, v := range expandOpt(sub.text) {
		if !coversText(super.text, v) {
			return false
		}
	}
	return true
}

// maxOptExpansion bounds the variants expandOpt produces; a pattern with
// more zero-or-more-segments tokens is compared unexpanded, which is still
// sound, only less complete.
const maxOptExpansion = 6

func expandOpt(t string) []string {
	if n := strings.Count(t, "\x01"); n == 0 || n > maxOptExpansion {
		return []string{t}
	}
	i := strings.IndexByte(t, tokOpt)
	var out []string
	for _, rest := range expandOpt(t[i+1:]) {
		out = append(out, t[:i]+rest, t[:i]+"\x00/"+rest)
	}
	return out
}

func coversText(g, a string) bool {
	// memo[i*(len(a)+1)+j]: 0 unknown, 1 true, 2 false.
	memo := make([]uint8, (len(g)+1)*(len(a)+1))
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		m := &memo[i*(len(a)+1)+j]
		if *m != 0 {
			return *m == 1
		}
		r := false
		switch {
		case i == len(g):
			r = j == len(a)
		case g[i] == tokStar:
			for k := j; k <= len(a) && !r; k++ {
				r = rec(i+1, k)
			}
		case g[i] == tokOpt:
			r = rec(i+1, j)
			for k := j + 1; k <= len(a) && !r; k++ {
				r = endsInSlash(a[j:k]) && rec(i+1, k)
			}
		default:
			r = j < len(a) && a[j] == g[i] && rec(i+1, j+1)
		}
		if r {
			*m = 1
		} else {
			*m = 2
		}
		return r
	}
	return rec(0, 0)
}

// endsInSlash reports whether every string the token run produces is empty
// or ends with '/', which is what a zero-or-more-segments token may match.
func endsInSlash(run string) bool {
	i := len(run) - 1
	for i >= 0 && run[i] == tokOpt {
		i--
	}
	return i < 0 || run[i] == '/'
}

// intersects reports whether some action is matched by both patterns. It
// explores the product of the two patterns' automata, so it is exact.
func intersects(x, y *pattern) bool {
	switch {
	case x.kind == patternNever || y.kind == patternNever:
		return false
	case x.kind == patternAll || y.kind == patternAll:
		return true
	}
	type pair struct{ a, b int }
	start := pair{0, 0}
	seen := map[pair]bool{}
	var queue []pair
	push := func(p pair) {
		for _, a := range epsilon(x.text, p.a) {
			for _, b := range epsilon(y.text, p.b) {
				q := pair{a, b}
				if !seen[q] {
					seen[q] = true
					queue = append(queue, q)
				}
			}
		}
	}
	push(start)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p.a == accept(x.text) && p.b == accept(y.text) {
			return true
		}
		for _, ea := range steps(x.text, p.a) {
			for _, eb := range steps(y.text, p.b) {
				if ea.label == anyByte || eb.label == anyByte || ea.label == eb.label {
					push(pair{ea.to, eb.to})
				}
			}
		}
	}
	return false
}

// The automaton of a compiled pattern t: state 2*pos is "about to read token
// pos", state 2*pos+1 is "inside the tokOpt at pos, before its closing '/'".
const anyByte = -1

type edge struct{ label, to int }

func accept(t string) int { return 2 * len(t) }

// epsilon returns st and the states reachable from it without input:
// wildcards may match nothing.
func epsilon(t string, st int) []int {
	out := []int{st}
	for st%2 == 0 && st/2 < len(t) && (t[st/2] == tokStar || t[st/2] == tokOpt) {
		st += 2
		out = append(out, st)
	}
	return out
}

func steps(t string, st int) []edge {
	pos, inside := st/2, st%2 == 1
	if inside {
		return []edge{{anyByte, st}, {'/', 2 * (pos + 1)}}
	}
	if pos == len(t) {
		return nil
	}
	switch t[pos] {
	case tokStar:
		return []edge{{anyByte, st}}
	case tokOpt:
		return []edge{{anyByte, st + 1}, {'/', 2 * (pos + 1)}}
	default:
		return []edge{{int(t[pos]), 2 * (pos + 1)}}
	}
}
