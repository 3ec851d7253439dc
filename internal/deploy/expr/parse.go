package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxExpressionLength is Azure's limit on a template expression: "A
// template expression can't exceed 24,576 characters" (learn.microsoft.com,
// "Syntax and expressions in ARM templates" and "Template limits").
const MaxExpressionLength = 24576

// MaxDepth bounds how deeply calls, property accesses and indexes may nest
// in one expression, so hostile input fails instead of overflowing the
// stack. Compiled Bicep nests if()/coalesce()/tryGet() a few dozen deep at
// most.
const MaxDepth = 200

// IsExpression reports whether a JSON string value is a template
// expression: it starts with '[' and ends with ']' and does not start with
// "[[", which is ARM's escape for a literal beginning with '['.
func IsExpression(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && s[1] != '['
}

// Literal returns the value of a JSON string that is not an expression:
// "[[...]" loses its first bracket, as ARM unescapes it; anything else is
// returned unchanged.
func Literal(s string) string {
	if len(s) >= 2 && s[0] == '[' && s[1] == '[' && s[len(s)-1] == ']' {
		return s[1:]
	}
	return s
}

// Node is a parsed expression.
type Node interface {
	// Pos is the byte offset of the node in the expression text.
	Pos() int
	// String renders the node back as ARM expression text (without the
	// enclosing brackets).
	String() string
}

// StringLit is a single-quoted string literal.
type StringLit struct {
	P     int
	Value string
}

// IntLit is an integer literal.
type IntLit struct {
	P     int
	Value int64
}

// Call is a function call: a built-in or user-defined function, the
// latter namespaced ("ns.fn(...)").
type Call struct {
	P         int
	Namespace string // "" for built-ins
	Name      string
	Args      []Node
}

// Property is a property access "target.name".
type Property struct {
	P      int
	Target Node
	Name   string
}

// Index is an index or computed property access "target[index]".
type Index struct {
	P      int
	Target Node
	Index  Node
}

func (n *StringLit) Pos() int { return n.P }
func (n *IntLit) Pos() int    { return n.P }
func (n *Call) Pos() int      { return n.P }
func (n *Property) Pos() int  { return n.P }
func (n *Index) Pos() int     { return n.P }

func (n *StringLit) String() string { return "'" + strings.ReplaceAll(n.Value, "'", "''") + "'" }
func (n *IntLit) String() string    { return strconv.FormatInt(n.Value, 10) }
func (n *Call) String() string {
	var b strings.Builder
	if n.Namespace != "" {
		b.WriteString(n.Namespace)
		b.WriteByte('.')
	}
	b.WriteString(n.Name)
	b.WriteByte('(')
	for i, a := range n.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}
func (n *Property) String() string { return n.Target.String() + "." + n.Name }
func (n *Index) String() string    { return n.Target.String() + "[" + n.Index.String() + "]" }

// Expression is a parsed template expression together with its text, so
// evaluation errors can quote it and point into it.
type Expression struct {
	Text string
	Root Node
}

// Parse parses a template expression string, brackets included
// ("[concat('a', parameters('b'))]").
func Parse(s string) (*Expression, error) {
	if len(s) > MaxExpressionLength {
		return nil, &Error{Expression: s, Position: 0, Message: fmt.Sprintf(
			"The template language expression is not valid: its length of '%d' characters exceeds the limit of '%d' characters.", charPos(s, len(s)), MaxExpressionLength)}
	}
	if !IsExpression(s) {
		return nil, &Error{Expression: s, Position: 0, Message: fmt.Sprintf(
			"The template language expression '%s' is not valid: an expression must start with '[' and end with ']'.", s)}
	}
	p := &parser{src: s, pos: 1, end: len(s) - 1}
	p.next()
	if p.tok.kind == tokEOF {
		return nil, p.errAt(p.tok.pos, "the expression is empty.")
	}
	root, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected()
	}
	return &Expression{Text: s, Root: root}, nil
}

// MustParse is Parse for expressions known to be valid (tests, constants).
func MustParse(s string) *Expression {
	e, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return e
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokInt
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
	tokComma
	tokDot
	tokError
)

// tokenName is ARM's name for a token kind in "expected token" messages.
func (k tokKind) String() string {
	switch k {
	case tokEOF:
		return "EndOfData"
	case tokIdent:
		return "Identifier"
	case tokString:
		return "String"
	case tokInt:
		return "Integer"
	case tokLParen:
		return "LeftParenthesis"
	case tokRParen:
		return "RightParenthesis"
	case tokLBracket:
		return "LeftSquareBracket"
	case tokRBracket:
		return "RightSquareBracket"
	case tokComma:
		return "Comma"
	case tokDot:
		return "Dot"
	}
	return "Unknown"
}

type token struct {
	kind tokKind
	pos  int
	text string // identifier, decoded string literal or integer text
	err  string // for tokError
}

type parser struct {
	src      string
	pos, end int
	tok      token
}

func (p *parser) inner() string { return p.src[1:p.end] }

func (p *parser) errAt(pos int, detail string) error {
	return &Error{Expression: p.src, Position: charPos(p.src, pos), Message: fmt.Sprintf(
		"The template language expression '%s' is not valid: %s", p.inner(), detail)}
}

func (p *parser) unexpected() error {
	if p.tok.kind == tokError {
		return p.errAt(p.tok.pos, p.tok.err)
	}
	if p.tok.kind == tokEOF {
		return p.errAt(p.tok.pos, "the expression ended unexpectedly.")
	}
	return p.errAt(p.tok.pos, fmt.Sprintf("the string character '%s' at position '%d' is not expected.",
		firstChar(p.src[p.tok.pos:]), charPos(p.src, p.tok.pos)-1))
}

func (p *parser) expect(k tokKind) error {
	if p.tok.kind == k {
		p.next()
		return nil
	}
	if p.tok.kind == tokError {
		return p.errAt(p.tok.pos, p.tok.err)
	}
	return &Error{Expression: p.src, Position: charPos(p.src, p.tok.pos), Message: fmt.Sprintf(
		"Unable to parse language expression '%s': expected token '%s' and actual '%s'.", p.inner(), k, p.tok.kind)}
}

func firstChar(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// next scans the next token.
func (p *parser) next() {
	for p.pos < p.end && isSpace(p.src[p.pos]) {
		p.pos++
	}
	start := p.pos
	if p.pos >= p.end {
		p.tok = token{kind: tokEOF, pos: p.end}
		return
	}
	c := p.src[p.pos]
	if k := punctuation(c); k != tokError {
		p.pos++
		p.tok = token{kind: k, pos: start}
		return
	}
	switch {
	case c == '\'':
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= p.end {
				p.tok = token{kind: tokError, pos: start, err: fmt.Sprintf("the string literal starting at position '%d' is not terminated.", charPos(p.src, start)-1)}
				return
			}
			ch := p.src[p.pos]
			if ch == '\'' {
				if p.pos+1 < p.end && p.src[p.pos+1] == '\'' {
					b.WriteByte('\'')
					p.pos += 2
					continue
				}
				p.pos++
				break
			}
			b.WriteByte(ch)
			p.pos++
		}
		p.tok = token{kind: tokString, pos: start, text: b.String()}
	case isDigit(c) || c == '-' && p.pos+1 < p.end && isDigit(p.src[p.pos+1]):
		p.pos++
		for p.pos < p.end && isDigit(p.src[p.pos]) {
			p.pos++
		}
		if p.pos < p.end && (p.src[p.pos] == '.' && p.pos+1 < p.end && isDigit(p.src[p.pos+1]) || isIdentStart(p.src[p.pos])) {
			p.tok = token{kind: tokError, pos: start, err: fmt.Sprintf("the number starting at position '%d' is not a valid integer; use json('%s') for other numbers.", charPos(p.src, start)-1, numberRun(p.src[start:p.end]))}
			return
		}
		p.tok = token{kind: tokInt, pos: start, text: p.src[start:p.pos]}
	case isIdentStart(c):
		for p.pos < p.end && isIdentChar(p.src[p.pos]) {
			p.pos++
		}
		p.tok = token{kind: tokIdent, pos: start, text: p.src[start:p.pos]}
	default:
		p.tok = token{kind: tokError, pos: start, err: fmt.Sprintf("the string character '%s' at position '%d' is not expected.", firstChar(p.src[start:]), charPos(p.src, start)-1)}
	}
}

func punctuation(c byte) tokKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBracket
	case ']':
		return tokRBracket
	case ',':
		return tokComma
	case '.':
		return tokDot
	}
	return tokError
}

func numberRun(s string) string {
	i := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '+' || s[i] == 'e' || s[i] == 'E') {
		i++
	}
	return s[:i]
}

func (p *parser) parseExpr(depth int) (Node, error) {
	if depth > MaxDepth {
		return nil, p.errAt(p.tok.pos, fmt.Sprintf("the expression is nested more than '%d' levels deep.", MaxDepth))
	}
	var n Node
	switch p.tok.kind {
	case tokString:
		n = &StringLit{P: p.tok.pos, Value: p.tok.text}
		p.next()
	case tokInt:
		v, err := strconv.ParseInt(p.tok.text, 10, 64)
		if err != nil {
			return nil, p.errAt(p.tok.pos, fmt.Sprintf("the integer '%s' at position '%d' is out of range.", p.tok.text, charPos(p.src, p.tok.pos)-1))
		}
		n = &IntLit{P: p.tok.pos, Value: v}
		p.next()
	case tokIdent:
		call := &Call{P: p.tok.pos, Name: p.tok.text}
		p.next()
		if p.tok.kind == tokDot {
			// Only a user-defined function call has a dotted name
			// ("ns.fn(...)"): property access needs a call before it.
			p.next()
			if p.tok.kind != tokIdent {
				return nil, p.expect(tokIdent)
			}
			call.Namespace, call.Name = call.Name, p.tok.text
			p.next()
		}
		if err := p.expect(tokLParen); err != nil {
			return nil, err
		}
		for p.tok.kind != tokRParen {
			if len(call.Args) > 0 {
				want := tokComma
				if p.tok.kind == tokEOF {
					want = tokRParen
				}
				if err := p.expect(want); err != nil {
					return nil, err
				}
			}
			arg, err := p.parseExpr(depth + 1)
			if err != nil {
				return nil, err
			}
			call.Args = append(call.Args, arg)
		}
		p.next()
		n = call
	default:
		return nil, p.unexpected()
	}
	// Accessors. Each one nests the tree a level, so they count to depth.
	for {
		switch p.tok.kind {
		case tokDot:
			pos := p.tok.pos
			p.next()
			if p.tok.kind != tokIdent {
				return nil, p.expect(tokIdent)
			}
			n = &Property{P: pos, Target: n, Name: p.tok.text}
			p.next()
		case tokLBracket:
			pos := p.tok.pos
			p.next()
			idx, err := p.parseExpr(depth + 1)
			if err != nil {
				return nil, err
			}
			if err := p.expect(tokRBracket); err != nil {
				return nil, err
			}
			n = &Index{P: pos, Target: n, Index: idx}
		default:
			return n, nil
		}
		depth++
		if depth > MaxDepth {
			return nil, p.errAt(p.tok.pos, fmt.Sprintf("the expression is nested more than '%d' levels deep.", MaxDepth))
		}
	}
}
