package bicep

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The emitter builds templates as ordered JSON: ARM keeps property order
// (outputs, string()) and so must the compiled template, which rules out
// Go maps. Values are string, int64, bool, nil, *jObject and []any.

type jObject struct {
	keys []string
	vals []any
}

func newObj() *jObject { return &jObject{} }

// set replaces the value of key in place or appends it.
func (o *jObject) set(key string, v any) *jObject {
	for i, k := range o.keys {
		if k == key {
			o.vals[i] = v
			return o
		}
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
	return o
}

// del removes key.
func (o *jObject) del(key string) {
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			o.vals = append(o.vals[:i], o.vals[i+1:]...)
			return
		}
	}
}

func (o *jObject) get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	for i, k := range o.keys {
		if k == key {
			return o.vals[i], true
		}
	}
	return nil, false
}

// writeJSON writes v indented by two spaces the way Json.NET does (the
// official compiler's writer): "key": value, empty {} and [], only
// quotes, backslashes and control characters escaped.
func writeJSON(b *strings.Builder, v any, indent int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case string:
		writeJSONString(b, x)
	case *jObject:
		if len(x.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range x.keys {
			writeIndent(b, indent+1)
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, x.vals[i], indent+1)
			if i < len(x.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		writeIndent(b, indent)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, item := range x {
			writeIndent(b, indent+1)
			writeJSON(b, item, indent+1)
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		writeIndent(b, indent)
		b.WriteByte(']')
	default:
		b.WriteString("null")
	}
}

func writeIndent(b *strings.Builder, n int) {
	for range n {
		b.WriteString("  ")
	}
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				if c < 0x20 || c == 0x7f {
					b.WriteString(`\u00`)
					b.WriteByte("0123456789abcdef"[c>>4])
					b.WriteByte("0123456789abcdef"[c&0xf])
				} else {
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else if r == '\u2028' || r == '\u2029' {
			b.WriteString(`\u202` + string("89"[r-'\u2028']))
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
