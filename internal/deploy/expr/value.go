package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Object is an ARM object value: members keep the order they were added in
// (string() and deployment outputs show them in that order) and are looked
// up case-insensitively, as ARM does, while each key keeps its spelling.
// Two keys that differ only in case are the same member: setting one
// replaces the value and keeps the first spelling.
//
// An Object is immutable once it has been handed to an evaluation; build a
// new one (Clone, then Set) to change it.
type Object struct {
	keys  []string
	vals  []any
	index map[string]int // folded key -> position; built once the object is large
}

// indexThreshold is the member count from which lookups go through a map
// instead of a linear case-folding scan.
const indexThreshold = 8

// NewObject returns an empty object with room for n members.
func NewObject(n int) *Object {
	return &Object{keys: make([]string, 0, n), vals: make([]any, 0, n)}
}

// ObjectOf builds an object from alternating keys and values; it is a
// convenience for tests and hosts.
func ObjectOf(kv ...any) *Object {
	o := NewObject(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if c, err := FromJSON(v); err == nil {
			v = c
		}
		o.Set(kv[i].(string), v)
	}
	return o
}

func foldKey(k string) string { return strings.ToLower(k) }

// Len is the number of members.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

func (o *Object) find(key string) int {
	if o == nil {
		return -1
	}
	if o.index != nil {
		if i, ok := o.index[foldKey(key)]; ok {
			return i
		}
		return -1
	}
	for i, k := range o.keys {
		if k == key || strings.EqualFold(k, key) {
			return i
		}
	}
	return -1
}

// Get looks a member up case-insensitively.
func (o *Object) Get(key string) (any, bool) {
	i := o.find(key)
	if i < 0 {
		return nil, false
	}
	return o.vals[i], true
}

// Has reports whether the object has the member, case-insensitively.
func (o *Object) Has(key string) bool { return o.find(key) >= 0 }

// Key returns the stored spelling of a member key.
func (o *Object) Key(key string) (string, bool) {
	i := o.find(key)
	if i < 0 {
		return "", false
	}
	return o.keys[i], true
}

// Set adds a member at the end or replaces the value of an existing one
// (matched case-insensitively; the first spelling is kept).
func (o *Object) Set(key string, v any) {
	if i := o.find(key); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
	if o.index != nil {
		o.index[foldKey(key)] = len(o.keys) - 1
	} else if len(o.keys) > indexThreshold {
		o.buildIndex()
	}
}

func (o *Object) buildIndex() {
	o.index = make(map[string]int, len(o.keys)*2)
	for i, k := range o.keys {
		fk := foldKey(k)
		if _, dup := o.index[fk]; !dup {
			o.index[fk] = i
		}
	}
}

// Delete removes a member, matched case-insensitively.
func (o *Object) Delete(key string) {
	i := o.find(key)
	if i < 0 {
		return
	}
	o.keys = append(o.keys[:i], o.keys[i+1:]...)
	o.vals = append(o.vals[:i], o.vals[i+1:]...)
	if o.index != nil {
		o.buildIndex()
	}
}

// Keys returns the member keys in order.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return append([]string(nil), o.keys...)
}

// At returns the i-th member.
func (o *Object) At(i int) (string, any) { return o.keys[i], o.vals[i] }

// Clone returns a shallow copy that can be changed without affecting o.
func (o *Object) Clone() *Object {
	c := NewObject(o.Len() + 1)
	if o == nil {
		return c
	}
	c.keys = append(c.keys, o.keys...)
	c.vals = append(c.vals, o.vals...)
	if o.index != nil {
		c.buildIndex()
	}
	return c
}

// MarshalJSON writes the object compactly, members in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	return appendJSON(nil, o, false, 0)
}

// String renders the object as compact JSON.
func (o *Object) String() string {
	b, _ := appendJSON(nil, o, false, 0)
	return string(b)
}

// TypeName is ARM's name for the JSON type of v, as error messages print it:
// String, Integer, Float, Boolean, Array, Object or Null.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case bool:
		return "Boolean"
	case int64:
		return "Integer"
	case float64:
		return "Float"
	case string:
		return "String"
	case []any:
		return "Array"
	case *Object:
		return "Object"
	case *Lambda:
		return "Lambda"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// FromJSON converts a value produced by encoding/json (with or without
// UseNumber) or built from Go literals into an expression value:
// map[string]any becomes an *Object with keys sorted (Go maps have no
// order; use DecodeJSON to keep the document's order), json.Number and
// integral float64 become int64, other numbers float64.
func FromJSON(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, string, int64:
		return t, nil
	case int:
		return int64(t), nil
	case int32:
		return int64(t), nil
	case float64:
		return normalizeFloat(t), nil
	case json.Number:
		return numberFromText(string(t))
	case *Object:
		return t, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			c, err := FromJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			c, err := FromJSON(t[k])
			if err != nil {
				return nil, err
			}
			o.Set(k, c)
		}
		return o, nil
	case json.RawMessage:
		return DecodeJSON(t)
	default:
		return nil, fmt.Errorf("expr: unsupported value type %T", v)
	}
}

// normalizeFloat turns integral doubles that fit an int64 into int64, as
// a JSON document's "1" or "1.0" both denote ARM's integer 1 when it comes
// from encoding/json without UseNumber.
func normalizeFloat(f float64) any {
	if f == math.Trunc(f) && f >= -9.2e18 && f <= 9.2e18 {
		return int64(f)
	}
	return f
}

func numberFromText(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("expr: invalid number %q", s)
	}
	return f, nil
}

// ToPlain converts an expression value to encoding/json's types:
// *Object becomes map[string]any (losing order), the rest is unchanged.
func ToPlain(v any) any {
	switch t := v.(type) {
	case *Object:
		m := make(map[string]any, t.Len())
		for i, k := range t.keys {
			m[k] = ToPlain(t.vals[i])
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = ToPlain(e)
		}
		return out
	default:
		return v
	}
}

// DecodeJSON reads one JSON document into expression values, keeping the
// order of object members. Integers become int64, other numbers float64.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("expr: invalid JSON: data after the top-level value")
	}
	return v, nil
}

// maxJSONDepth bounds nesting in DecodeJSON (and so in json()) so hostile
// input cannot exhaust the stack.
const maxJSONDepth = 256

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("expr: invalid JSON: nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("expr: invalid JSON: unexpected end of input")
		}
		return nil, fmt.Errorf("expr: invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := NewObject(4)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("expr: invalid JSON: %w", err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("expr: invalid JSON: object key is not a string")
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("expr: invalid JSON: %w", err)
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("expr: invalid JSON: %w", err)
			}
			return arr, nil
		}
		return nil, fmt.Errorf("expr: invalid JSON: unexpected %v", t)
	case json.Number:
		return numberFromText(string(t))
	default:
		return t, nil // nil, bool, string
	}
}

// appendJSON writes v as JSON the way Newtonsoft.Json (ARM's serializer)
// does by default: no HTML escaping, non-ASCII kept, doubles always with a
// fraction or exponent. indented uses Newtonsoft's Formatting.Indented
// (two spaces, CRLF), which is what format() shows for arrays and objects.
func appendJSON(b []byte, v any, indented bool, level int) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case float64:
		return append(b, formatDouble(t)...), nil
	case string:
		return appendJSONString(b, t), nil
	case []any:
		if len(t) == 0 {
			return append(b, "[]"...), nil
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			if indented {
				b = appendNewline(b, level+1)
			}
			var err error
			if b, err = appendJSON(b, e, indented, level+1); err != nil {
				return nil, err
			}
		}
		if indented {
			b = appendNewline(b, level)
		}
		return append(b, ']'), nil
	case *Object:
		if t.Len() == 0 {
			return append(b, "{}"...), nil
		}
		b = append(b, '{')
		for i, k := range t.keys {
			if i > 0 {
				b = append(b, ',')
			}
			if indented {
				b = appendNewline(b, level+1)
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if indented {
				b = append(b, ' ')
			}
			var err error
			if b, err = appendJSON(b, t.vals[i], indented, level+1); err != nil {
				return nil, err
			}
		}
		if indented {
			b = appendNewline(b, level)
		}
		return append(b, '}'), nil
	default:
		return nil, fmt.Errorf("expr: cannot serialize a value of type %s", TypeName(v))
	}
}

func appendNewline(b []byte, level int) []byte {
	b = append(b, '\r', '\n')
	for i := 0; i < level; i++ {
		b = append(b, ' ', ' ')
	}
	return b
}

// formatDouble prints a double as Newtonsoft does ("1.0", "1.5", "1E+20").
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"Infinity"`
	case math.IsInf(f, -1):
		return `"-Infinity"`
	}
	s := strconv.FormatFloat(f, 'G', -1, 64)
	if i := strings.IndexByte(s, 'E'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		if exp[0] != '-' && exp[0] != '+' {
			exp = "+" + exp
		}
		// .NET prints at least two exponent digits only for "E" formats;
		// round-trip "R" prints them bare.
		sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
		if digits == "" {
			digits = "0"
		}
		return mant + "E" + sign + digits
	}
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				if c < 0x20 || c == 0x7f {
					b = fmt.Appendf(b, `\u%04x`, c)
				} else {
					b = append(b, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0x85 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError && size == 1 {
			b = fmt.Appendf(b, `\u%04x`, r)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// deepEqual is ARM's value equality (equals(), contains() on arrays,
// union/intersection de-duplication): strings compare ordinally and
// case-sensitively, integers equal doubles of the same value, objects
// compare members regardless of order with keys matched case-insensitively.
func deepEqual(a, b any) bool { return valuesEqual(a, b, false) }

// EqualFold is ARM's value equality with strings, at any depth, compared
// without regard to case: how ARM matches a parameter against its
// allowedValues.
func EqualFold(a, b any) bool { return valuesEqual(a, b, true) }

func valuesEqual(a, b any, fold bool) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && (x == y || fold && strings.EqualFold(x, y))
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
		return false
	case float64:
		switch y := b.(type) {
		case int64:
			return x == float64(y)
		case float64:
			return x == y
		}
		return false
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i], fold) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i, k := range x.keys {
			yv, ok := y.Get(k)
			if !ok || !valuesEqual(x.vals[i], yv, fold) {
				return false
			}
		}
		return true
	}
	return false
}
