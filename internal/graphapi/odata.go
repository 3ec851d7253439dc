package graphapi

import (
	"fmt"
	"strconv"
	"strings"
)

// The $filter subset of OData v4 that the Graph clients send for directory
// objects: comparisons with eq, ne and in, startswith(), lambda any() over
// collections, not, and, or and parentheses. String comparisons ignore
// case, as Microsoft Graph's do for directory properties.
//
//	filter  = or
//	or      = and *("or" and)
//	and     = unary *("and" unary)
//	unary   = "not" unary / primary
//	primary = "(" or ")" / "startswith(" path "," literal ")"
//	        / path "/any(" var ":" or ")" / operand ("eq" / "ne") operand
//	        / operand "in" "(" literal *("," literal) ")"
//	operand = path / literal
//	path    = name *("/" name)

// maxFilterLen and maxFilterDepth bound what a caller can make the parser
// do; Graph refuses longer filters too.
const (
	maxFilterLen   = 4096
	maxFilterDepth = 32
)

// filterError is a refusal of a $filter, with the position it was found at.
type filterError struct {
	pos int
	msg string
}

func (e *filterError) Error() string { return fmt.Sprintf("%s at position %d", e.msg, e.pos) }

// expr is a parsed filter node.
type expr interface{ String() string }

type (
	// logical is "and" or "or" over two operands.
	logical struct {
		op          string
		left, right expr
	}
	notExpr struct{ operand expr }
	// compare is eq or ne.
	compare struct {
		op          string
		left, right operand
	}
	inExpr struct {
		left   operand
		values []literal
	}
	startsWith struct {
		path   path
		prefix literal
	}
	// anyExpr is path/any(v: cond); inside cond, paths starting with v
	// name the element.
	anyExpr struct {
		path path
		v    string
		cond expr
	}
)

// operand is a path or a literal.
type operand interface{ String() string }

// path is a property path (a/b), or a lambda variable with its subpath.
type path []string

// literal is a string, number, boolean or null.
type literal struct {
	kind  byte // 's' string, 'n' number, 'b' bool, 0 null
	str   string
	num   float64
	truth bool
}

func (l logical) String() string {
	return "(" + l.left.String() + " " + l.op + " " + l.right.String() + ")"
}
func (n notExpr) String() string { return "not (" + n.operand.String() + ")" }
func (c compare) String() string { return c.left.String() + " " + c.op + " " + c.right.String() }
func (s startsWith) String() string {
	return "startswith(" + s.path.String() + "," + s.prefix.String() + ")"
}
func (a anyExpr) String() string {
	return a.path.String() + "/any(" + a.v + ":" + a.cond.String() + ")"
}
func (p path) String() string { return strings.Join(p, "/") }

func (i inExpr) String() string {
	vs := make([]string, len(i.values))
	for n, v := range i.values {
		vs[n] = v.String()
	}
	return i.left.String() + " in (" + strings.Join(vs, ",") + ")"
}

func (l literal) String() string {
	switch l.kind {
	case 's':
		return "'" + strings.ReplaceAll(l.str, "'", "''") + "'"
	case 'n':
		return strconv.FormatFloat(l.num, 'f', -1, 64)
	case 'b':
		return strconv.FormatBool(l.truth)
	}
	return "null"
}

// token kinds of the lexer.
const (
	tokEOF = iota
	tokName
	tokString
	tokNumber
	tokLParen
	tokRParen
	tokComma
	tokColon
	tokSlash
)

type lexToken struct {
	kind int
	text string
	pos  int
}

func lex(src string) ([]lexToken, error) {
	var toks []lexToken
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, lexToken{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, lexToken{tokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, lexToken{tokComma, ",", i})
			i++
		case c == ':':
			toks = append(toks, lexToken{tokColon, ":", i})
			i++
		case c == '/':
			toks = append(toks, lexToken{tokSlash, "/", i})
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, &filterError{start, "unterminated string literal"}
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			toks = append(toks, lexToken{tokString, b.String(), start})
		case c == '-' || (c >= '0' && c <= '9'):
			start := i
			i++
			for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '.' || src[i] == '-' || isNameByte(src[i])) {
				i++
			}
			text := src[start:i]
			if _, err := strconv.ParseFloat(text, 64); err == nil {
				toks = append(toks, lexToken{tokNumber, text, start})
			} else {
				// An unquoted GUID or date: Graph wants them quoted, but
				// a name-like token lets the error say what it found.
				toks = append(toks, lexToken{tokName, text, start})
			}
		case isNameByte(c):
			start := i
			for i < len(src) && (isNameByte(src[i]) || src[i] >= '0' && src[i] <= '9' || src[i] == '.' || src[i] == '@') {
				i++
			}
			toks = append(toks, lexToken{tokName, src[start:i], start})
		default:
			return nil, &filterError{i, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(toks, lexToken{tokEOF, "", len(src)}), nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

type parser struct {
	toks  []lexToken
	i     int
	depth int
	// vars are the lambda variables in scope.
	vars []string
}

// parseFilter parses a $filter expression.
func parseFilter(src string) (expr, error) {
	if len(src) > maxFilterLen {
		return nil, &filterError{maxFilterLen, fmt.Sprintf("the filter is longer than %d characters", maxFilterLen)}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &filterError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	}
	return e, nil
}

func (p *parser) peek() lexToken { return p.toks[p.i] }
func (p *parser) next() lexToken {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(word string) bool {
	t := p.peek()
	if t.kind == tokName && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(kind int, what string) (lexToken, error) {
	t := p.next()
	if t.kind != kind {
		return t, &filterError{t.pos, fmt.Sprintf("expected %s, found %q", what, t.text)}
	}
	return t, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return &filterError{p.peek().pos, fmt.Sprintf("the filter nests deeper than %d", maxFilterDepth)}
	}
	return nil
}

func (p *parser) or() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = logical{"or", left, right}
	}
	return left, nil
}

func (p *parser) and() (expr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = logical{"and", left, right}
	}
	return left, nil
}

func (p *parser) unary() (expr, error) {
	if p.keyword("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	t := p.peek()
	if t.kind == tokLParen {
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	}
	if t.kind == tokName && strings.EqualFold(t.text, "startswith") && p.toks[p.i+1].kind == tokLParen {
		p.i += 2
		pa, err := p.path()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokComma, "','"); err != nil {
			return nil, err
		}
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		if lit.kind != 's' {
			return nil, &filterError{t.pos, "startswith needs a string prefix"}
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return startsWith{pa, lit}, nil
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	// path/any(v: cond) was read as a path ending in "any" followed by "(".
	if pa, ok := left.(path); ok && len(pa) > 1 && strings.EqualFold(pa[len(pa)-1], "any") && p.peek().kind == tokLParen {
		return p.lambda(pa[:len(pa)-1])
	}
	op := p.peek()
	switch {
	case p.keyword("eq"), p.keyword("ne"):
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return compare{strings.ToLower(op.text), left, right}, nil
	case p.keyword("in"):
		if _, err := p.expect(tokLParen, "'('"); err != nil {
			return nil, err
		}
		var values []literal
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			values = append(values, lit)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return inExpr{left, values}, nil
	}
	return nil, &filterError{op.pos, fmt.Sprintf("expected eq, ne or in, found %q", op.text)}
}

func (p *parser) lambda(collection path) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	start := p.next() // "("
	v, err := p.expect(tokName, "a lambda variable")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokColon, "':'"); err != nil {
		return nil, err
	}
	p.vars = append(p.vars, v.text)
	cond, err := p.or()
	p.vars = p.vars[:len(p.vars)-1]
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	if !mentions(cond, v.text) {
		return nil, &filterError{start.pos, "the lambda's condition does not use its variable " + v.text}
	}
	return anyExpr{collection, v.text, cond}, nil
}

// mentions reports whether a path of e starts with the variable v.
func mentions(e expr, v string) bool {
	isVar := func(o operand) bool { pa, ok := o.(path); return ok && pa[0] == v }
	switch e := e.(type) {
	case logical:
		return mentions(e.left, v) || mentions(e.right, v)
	case notExpr:
		return mentions(e.operand, v)
	case compare:
		return isVar(e.left) || isVar(e.right)
	case inExpr:
		return isVar(e.left)
	case startsWith:
		return e.path[0] == v
	case anyExpr:
		return e.path[0] == v || mentions(e.cond, v)
	}
	return false
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch t.kind {
	case tokString, tokNumber:
		return p.literal()
	case tokName:
		switch strings.ToLower(t.text) {
		case "true", "false", "null":
			return p.literal()
		}
		return p.path()
	}
	return nil, &filterError{t.pos, fmt.Sprintf("expected a property or a value, found %q", t.text)}
}

func (p *parser) path() (path, error) {
	t, err := p.expect(tokName, "a property name")
	if err != nil {
		return nil, err
	}
	pa := path{t.text}
	for p.peek().kind == tokSlash {
		p.next()
		t, err := p.expect(tokName, "a property name")
		if err != nil {
			return nil, err
		}
		pa = append(pa, t.text)
	}
	return pa, nil
}

func (p *parser) literal() (literal, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return literal{kind: 's', str: t.text}, nil
	case tokNumber:
		n, _ := strconv.ParseFloat(t.text, 64)
		return literal{kind: 'n', num: n}, nil
	case tokName:
		switch strings.ToLower(t.text) {
		case "true":
			return literal{kind: 'b', truth: true}, nil
		case "false":
			return literal{kind: 'b'}, nil
		case "null":
			return literal{}, nil
		}
	}
	return literal{}, &filterError{t.pos, fmt.Sprintf("expected a value, found %q", t.text)}
}

// checkProperties refuses paths naming properties the type does not
// declare (Graph's Request_BadRequest); lambda variables are skipped.
func checkProperties(e expr, declared map[string]bool) error {
	var check func(e expr, vars map[string]bool) error
	checkPath := func(pa path, vars map[string]bool) error {
		if vars[pa[0]] {
			return nil
		}
		if !declared[strings.ToLower(pa[0])] {
			return fmt.Errorf("Property '%s' does not exist as a declared property or extension property.", pa[0])
		}
		return nil
	}
	checkOperand := func(o operand, vars map[string]bool) error {
		if pa, ok := o.(path); ok {
			return checkPath(pa, vars)
		}
		return nil
	}
	check = func(e expr, vars map[string]bool) error {
		switch e := e.(type) {
		case logical:
			if err := check(e.left, vars); err != nil {
				return err
			}
			return check(e.right, vars)
		case notExpr:
			return check(e.operand, vars)
		case compare:
			if err := checkOperand(e.left, vars); err != nil {
				return err
			}
			return checkOperand(e.right, vars)
		case inExpr:
			return checkOperand(e.left, vars)
		case startsWith:
			return checkPath(e.path, vars)
		case anyExpr:
			if err := checkPath(e.path, vars); err != nil {
				return err
			}
			inner := map[string]bool{e.v: true}
			for v := range vars {
				inner[v] = true
			}
			return check(e.cond, inner)
		}
		return nil
	}
	return check(e, map[string]bool{})
}

// match evaluates the filter against an object as its JSON decodes
// (map[string]any, []any, string, float64, bool, nil).
func match(e expr, obj map[string]any) bool {
	return eval(e, obj, nil)
}

func eval(e expr, obj map[string]any, vars map[string]any) bool {
	switch e := e.(type) {
	case logical:
		if e.op == "and" {
			return eval(e.left, obj, vars) && eval(e.right, obj, vars)
		}
		return eval(e.left, obj, vars) || eval(e.right, obj, vars)
	case notExpr:
		return !eval(e.operand, obj, vars)
	case compare:
		eq := equalValues(value(e.left, obj, vars), value(e.right, obj, vars))
		if e.op == "ne" {
			return !eq
		}
		return eq
	case inExpr:
		v := value(e.left, obj, vars)
		for _, lit := range e.values {
			if equalValues(v, value(lit, obj, vars)) {
				return true
			}
		}
		return false
	case startsWith:
		s, ok := value(e.path, obj, vars).(string)
		return ok && len(s) >= len(e.prefix.str) && strings.EqualFold(s[:len(e.prefix.str)], e.prefix.str)
	case anyExpr:
		items, _ := value(e.path, obj, vars).([]any)
		for _, item := range items {
			inner := map[string]any{e.v: item}
			for k, v := range vars {
				inner[k] = v
			}
			if eval(e.cond, obj, inner) {
				return true
			}
		}
		return false
	}
	return false
}

func value(o operand, obj map[string]any, vars map[string]any) any {
	switch o := o.(type) {
	case literal:
		switch o.kind {
		case 's':
			return o.str
		case 'n':
			return o.num
		case 'b':
			return o.truth
		}
		return nil
	case path:
		var cur any = obj
		rest := []string(o)
		if v, ok := vars[o[0]]; ok {
			cur, rest = v, o[1:]
		}
		for _, name := range rest {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = lookup(m, name)
		}
		return cur
	}
	return nil
}

// lookup reads a property by name, ignoring case as Graph does.
func lookup(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func equalValues(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && strings.EqualFold(a, b)
	case float64:
		b, ok := b.(float64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	return false
}
