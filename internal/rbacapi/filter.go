package rbacapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/keyless-io/keyless/internal/arm"
)

// term is one conjunct of an RBAC $filter: a function call (`atScope()`,
// `assignedTo('…')`) or a comparison (`principalId eq '…'`).
type term struct {
	// Name is the function or property name, lower-case.
	Name string
	// Call is true for a function call.
	Call bool
	// Arg is the quoted argument or compared value; HasArg says whether
	// there was one.
	Arg    string
	HasArg bool
}

// parseFilter parses the OData subset the Microsoft.Authorization lists
// accept: terms joined by "and". Values are single-quoted, a quote inside
// one written twice. Names compare case-insensitively, as ARM's do.
func parseFilter(s string) ([]term, error) {
	p := &filterParser{s: s}
	p.space()
	if p.done() {
		return nil, nil
	}
	var out []term
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		p.space()
		if p.done() {
			return out, nil
		}
		if !p.keyword("and") {
			return nil, fmt.Errorf("expected 'and' at position %d", p.i+1)
		}
	}
}

type filterParser struct {
	s string
	i int
}

func (p *filterParser) done() bool { return p.i >= len(p.s) }

func (p *filterParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *filterParser) ident() string {
	start := p.i
	for p.i < len(p.s) {
		c := rune(p.s[p.i])
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_') {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// keyword consumes a word (case-insensitive) followed by a space, so that
// "andx" is not "and".
func (p *filterParser) keyword(w string) bool {
	p.space()
	end := p.i + len(w)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], w) || end == len(p.s) || p.s[end] != ' ' && p.s[end] != '\t' {
		return false
	}
	p.i = end
	p.space()
	return true
}

func (p *filterParser) quoted() (string, error) {
	p.space()
	if p.done() || p.s[p.i] != '\'' {
		return "", fmt.Errorf("expected a quoted value at position %d", p.i+1)
	}
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		if p.s[p.i] != '\'' {
			b.WriteByte(p.s[p.i])
			continue
		}
		if p.i+1 < len(p.s) && p.s[p.i+1] == '\'' {
			b.WriteByte('\'')
			p.i++
			continue
		}
		p.i++
		return b.String(), nil
	}
	return "", fmt.Errorf("unterminated quoted value")
}

func (p *filterParser) term() (term, error) {
	p.space()
	at := p.i
	name := p.ident()
	if name == "" {
		return term{}, fmt.Errorf("expected a function or property name at position %d", at+1)
	}
	t := term{Name: strings.ToLower(name)}
	p.space()
	if !p.done() && p.s[p.i] == '(' {
		t.Call = true
		p.i++
		p.space()
		if !p.done() && p.s[p.i] != ')' {
			v, err := p.quoted()
			if err != nil {
				return term{}, err
			}
			t.Arg, t.HasArg = v, true
			p.space()
		}
		if p.done() || p.s[p.i] != ')' {
			return term{}, fmt.Errorf("expected ')' at position %d", p.i+1)
		}
		p.i++
		return t, nil
	}
	if !p.keyword("eq") {
		return term{}, fmt.Errorf("expected 'eq' or '(' after '%s'", name)
	}
	v, err := p.quoted()
	if err != nil {
		return term{}, err
	}
	t.Arg, t.HasArg = v, true
	return t, nil
}

// rawFilter reads $filter (any casing of the name). url.Values has decoded
// both %20 and + as a space: the SDK sends the filter unencoded, which a Go
// server refuses before routing, so callers pre-encode it either way
// (reference §1.9, §11.2).
func rawFilter(q url.Values) string {
	return queryValue(q, "$filter")
}

func queryValue(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// assignmentFilter is a parsed role-assignment $filter.
type assignmentFilter struct {
	atScope bool
	// principalID is `principalId eq '…'`: that principal's own
	// assignments.
	principalID string
	// assignedTo is `assignedTo('…')`: the principal's assignments and
	// those of every group it belongs to, transitively.
	assignedTo string
}

const supportedAssignmentFilters = "atScope(), principalId eq '{objectId}', assignedTo('{objectId}'), and atScope() combined with one of the other two by 'and'"

func parseAssignmentFilter(raw string) (assignmentFilter, error) {
	var f assignmentFilter
	bad := func(why string) error {
		return arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter",
			"The $filter '%s' is not supported: %s. Supported filters are %s.", raw, why, supportedAssignmentFilters)
	}
	terms, err := parseFilter(raw)
	if err != nil {
		return f, bad(err.Error())
	}
	for _, t := range terms {
		switch {
		case t.Call && t.Name == "atscope" && !t.HasArg && !f.atScope:
			f.atScope = true
		case t.Call && t.Name == "assignedto" && t.HasArg && f.principalID == "" && f.assignedTo == "":
			if !isGUID(t.Arg) {
				return f, bad("assignedTo needs an object ID")
			}
			f.assignedTo = t.Arg
		case !t.Call && t.Name == "principalid" && f.principalID == "" && f.assignedTo == "":
			if !isGUID(t.Arg) {
				return f, bad("principalId needs an object ID")
			}
			f.principalID = t.Arg
		default:
			return f, bad(fmt.Sprintf("'%s' is not one of them or is repeated", describe(t)))
		}
	}
	return f, nil
}

// definitionFilter is a parsed role-definition $filter.
type definitionFilter struct {
	roleName string
	roleType string
	// atScopeAndBelow is accepted for compatibility: lists always include
	// custom roles assignable below the scope.
	atScopeAndBelow bool
}

const supportedDefinitionFilters = "roleName eq '{name}', type eq 'BuiltInRole' or type eq 'CustomRole', and atScopeAndBelow(), combined by 'and'"

func parseDefinitionFilter(raw string) (definitionFilter, error) {
	var f definitionFilter
	bad := func(why string) error {
		return arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter",
			"The $filter '%s' is not supported: %s. Supported filters are %s.", raw, why, supportedDefinitionFilters)
	}
	terms, err := parseFilter(raw)
	if err != nil {
		return f, bad(err.Error())
	}
	for _, t := range terms {
		switch {
		case !t.Call && t.Name == "rolename" && f.roleName == "":
			f.roleName = t.Arg
		case !t.Call && t.Name == "type" && f.roleType == "":
			switch {
			case strings.EqualFold(t.Arg, "BuiltInRole"):
				f.roleType = "BuiltInRole"
			case strings.EqualFold(t.Arg, "CustomRole"):
				f.roleType = "CustomRole"
			default:
				return f, bad("type must be 'BuiltInRole' or 'CustomRole'")
			}
		case t.Call && t.Name == "atscopeandbelow" && !t.HasArg:
			f.atScopeAndBelow = true
		default:
			return f, bad(fmt.Sprintf("'%s' is not one of them or is repeated", describe(t)))
		}
	}
	return f, nil
}

func describe(t term) string {
	switch {
	case t.Call && t.HasArg:
		return t.Name + "('" + t.Arg + "')"
	case t.Call:
		return t.Name + "()"
	}
	return t.Name + " eq '" + t.Arg + "'"
}
