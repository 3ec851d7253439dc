package bicep

import (
	"strconv"
	"strings"
)

// ARM expressions as the emitter builds them before serializing them into
// "[...]" strings.
type aexpr interface{ armExpr() }

type (
	aStr  string
	aInt  int64
	aCall struct {
		name  string
		args  []aexpr
		props []aexpr // property (aStr) or index (anything else) accesses
	}
)

func (aStr) armExpr()   {}
func (aInt) armExpr()   {}
func (*aCall) armExpr() {}

func call(name string, args ...aexpr) *aCall { return &aCall{name: name, args: args} }

// withProps appends property or index accesses. Literals are wrapped in
// string() or int() first, as ARM expressions cannot index a literal.
func withProps(x aexpr, props ...aexpr) aexpr {
	var c *aCall
	switch v := x.(type) {
	case *aCall:
		c = &aCall{name: v.name, args: v.args, props: append(append([]aexpr(nil), v.props...), props...)}
		return c
	case aStr:
		return &aCall{name: "string", args: []aexpr{v}, props: props}
	case aInt:
		return &aCall{name: "int", args: []aexpr{v}, props: props}
	}
	return x
}

func serialize(x aexpr) string {
	var b strings.Builder
	writeArm(&b, x)
	return b.String()
}

func writeArm(b *strings.Builder, x aexpr) {
	switch v := x.(type) {
	case aStr:
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(string(v), "'", "''"))
		b.WriteByte('\'')
	case aInt:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case *aCall:
		b.WriteString(v.name)
		b.WriteByte('(')
		for i, a := range v.args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeArm(b, a)
		}
		b.WriteByte(')')
		for _, p := range v.props {
			if s, ok := p.(aStr); ok && isARMIdentifier(string(s)) {
				b.WriteByte('.')
				b.WriteString(string(s))
				continue
			}
			b.WriteByte('[')
			writeArm(b, p)
			b.WriteByte(']')
		}
	}
}

func isARMIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isIdentStart(c) || (i > 0 && c >= '0' && c <= '9') || c == '$') {
			return false
		}
	}
	return true
}

// toValue turns a converted expression into a template value: literals
// stay literal (a string that starts with "[" is escaped as "[["), all
// else becomes "[...]".
func toValue(x aexpr) any {
	switch v := x.(type) {
	case aStr:
		return escapeLiteral(string(v))
	case aInt:
		return int64(v)
	}
	return "[" + serialize(x) + "]"
}

func escapeLiteral(s string) string {
	// ARM reads a string as an expression when it starts with "[" and ends
	// with "]"; "[[" keeps such a string literal.
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return "[" + s
	}
	return s
}
