package template

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// The template text is decoded by a small JSON reader of our own rather
// than encoding/json for three reasons: object members must keep their
// order (expr.Object), ARM's reader (Newtonsoft) accepts // and /* */
// comments in templates, and errors must name the line and column of the
// offending value the way ARM does. Positions are not stored while
// decoding: errors are rare, so locate re-scans the text along one path.

// maxDocDepth bounds nesting in a template document. Bicep-compiled
// templates nest a module's template about six levels per module; 200 is
// far beyond any real template and keeps recursion bounded.
const maxDocDepth = 200

// pathElem is one step of a JSON path: an object key or an array index.
type pathElem struct {
	key   string
	index int
	isIdx bool
}

// jsonPath is a path from the document root, rendered the way ARM's
// additionalInfo "path" shows it: resources[0].properties.name, with keys
// that are not identifiers quoted as ['a.b'].
type jsonPath []pathElem

func (p jsonPath) key(k string) jsonPath {
	q := make(jsonPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, pathElem{key: k})
}

func (p jsonPath) idx(i int) jsonPath {
	q := make(jsonPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, pathElem{index: i, isIdx: true})
}

func (p jsonPath) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
		case isPlainKey(e.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		default:
			b.WriteString("['")
			b.WriteString(strings.ReplaceAll(e.key, "'", "\\'"))
			b.WriteString("']")
		}
	}
	return b.String()
}

func isPlainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c == '$' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string { return e.msg }

type reader struct {
	s []byte
	i int
	// objPos records where each decoded object starts (the offset just
	// past its '{'), so declarations are located without a re-scan.
	objPos map[*expr.Object]int
}

// source is the text of a template document and what locates values in
// it; nested templates share their parent's.
type source struct {
	text   []byte
	objPos map[*expr.Object]int
	lines  []int // offset of the start of each line
}

func newSource(text []byte, objPos map[*expr.Object]int) *source {
	src := &source{text: text, objPos: objPos, lines: []int{0}}
	for i, c := range text {
		if c == '\n' {
			src.lines = append(src.lines, i+1)
		}
	}
	return src
}

// lineCol is lineCol for this text, through the line index.
func (s *source) lineCol(end int) (int, int) {
	if end > len(s.text) {
		end = len(s.text)
	}
	lo, hi := 0, len(s.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s.lines[mid] <= end-1 || s.lines[mid] == 0 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	start := s.lines[lo]
	if start > end {
		start = end
	}
	return lo + 1, utf8.RuneCount(s.text[start:end])
}

func (r *reader) fail(msg string, args ...any) error {
	return &syntaxError{offset: r.i, msg: fmt.Sprintf(msg, args...)}
}

// space skips whitespace and comments.
func (r *reader) space() error {
	for r.i < len(r.s) {
		switch c := r.s[r.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			r.i++
		case c == 0xEF && r.i == 0 && len(r.s) >= 3 && r.s[1] == 0xBB && r.s[2] == 0xBF:
			r.i += 3 // UTF-8 byte order mark, which template files saved on Windows carry
		case c == '/' && r.i+1 < len(r.s) && r.s[r.i+1] == '/':
			for r.i < len(r.s) && r.s[r.i] != '\n' {
				r.i++
			}
		case c == '/' && r.i+1 < len(r.s) && r.s[r.i+1] == '*':
			end := strings.Index(string(r.s[r.i+2:]), "*/")
			if end < 0 {
				return r.fail("Unexpected end while reading a comment.")
			}
			r.i += end + 4
		default:
			return nil
		}
	}
	return nil
}

// decodeDocument reads one JSON document into expression values.
func decodeDocument(data []byte) (any, error) {
	v, _, err := decodeWithPositions(data, false)
	return v, err
}

// decodeWithPositions is decodeDocument recording object positions.
func decodeWithPositions(data []byte, record bool) (any, map[*expr.Object]int, error) {
	r := &reader{s: data}
	if record {
		r.objPos = map[*expr.Object]int{}
	}
	v, err := r.document()
	return v, r.objPos, err
}

func (r *reader) document() (any, error) {
	if err := r.space(); err != nil {
		return nil, err
	}
	v, err := r.value(0, true)
	if err != nil {
		return nil, err
	}
	if err := r.space(); err != nil {
		return nil, err
	}
	if r.i < len(r.s) {
		return nil, r.fail("Additional text encountered after finished reading JSON content: %s.", quoteChar(r.s[r.i]))
	}
	return v, nil
}

func quoteChar(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(c)
	}
	return fmt.Sprintf("\\x%02x", c)
}

// value reads (build) or skips (!build) one value.
func (r *reader) value(depth int, build bool) (any, error) {
	if depth > maxDocDepth {
		return nil, r.fail("The JSON document is nested more than '%d' levels deep.", maxDocDepth)
	}
	if r.i >= len(r.s) {
		return nil, r.fail("Unexpected end when reading JSON.")
	}
	switch c := r.s[r.i]; {
	case c == '{':
		r.i++
		var o *expr.Object
		if build {
			o = expr.NewObject(4)
			if r.objPos != nil {
				r.objPos[o] = r.i
			}
		}
		if err := r.space(); err != nil {
			return nil, err
		}
		if r.i < len(r.s) && r.s[r.i] == '}' {
			r.i++
			return o, nil
		}
		for {
			if err := r.space(); err != nil {
				return nil, err
			}
			if r.i >= len(r.s) || r.s[r.i] != '"' {
				return nil, r.fail("Invalid property identifier character: expected a double-quoted property name.")
			}
			keyAt := r.i
			k, err := r.str()
			if err != nil {
				return nil, err
			}
			if err := r.space(); err != nil {
				return nil, err
			}
			if r.i >= len(r.s) || r.s[r.i] != ':' {
				return nil, r.fail("Invalid character after parsing property name. Expected ':'.")
			}
			r.i++
			if err := r.space(); err != nil {
				return nil, err
			}
			v, err := r.value(depth+1, build)
			if err != nil {
				return nil, err
			}
			if build {
				if o.Has(k) {
					prev, _ := o.Key(k)
					return nil, &syntaxError{offset: keyAt, msg: fmt.Sprintf("Can not add property %s to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object (keys are compared case-insensitively: '%s').", k, prev)}
				}
				o.Set(k, v)
			}
			if err := r.space(); err != nil {
				return nil, err
			}
			if r.i >= len(r.s) {
				return nil, r.fail("Unexpected end when reading JSON.")
			}
			if r.s[r.i] == ',' {
				r.i++
				continue
			}
			if r.s[r.i] == '}' {
				r.i++
				if build {
					return o, nil
				}
				return nil, nil
			}
			return nil, r.fail("After parsing a value an unexpected character was encountered: %s.", quoteChar(r.s[r.i]))
		}
	case c == '[':
		r.i++
		var arr []any
		if build {
			arr = []any{}
		}
		if err := r.space(); err != nil {
			return nil, err
		}
		if r.i < len(r.s) && r.s[r.i] == ']' {
			r.i++
			return arr, nil
		}
		for {
			if err := r.space(); err != nil {
				return nil, err
			}
			v, err := r.value(depth+1, build)
			if err != nil {
				return nil, err
			}
			if build {
				arr = append(arr, v)
			}
			if err := r.space(); err != nil {
				return nil, err
			}
			if r.i >= len(r.s) {
				return nil, r.fail("Unexpected end when reading JSON.")
			}
			if r.s[r.i] == ',' {
				r.i++
				continue
			}
			if r.s[r.i] == ']' {
				r.i++
				if build {
					return arr, nil
				}
				return nil, nil
			}
			return nil, r.fail("After parsing a value an unexpected character was encountered: %s.", quoteChar(r.s[r.i]))
		}
	case c == '"':
		return r.str()
	case c == '-' || c >= '0' && c <= '9':
		start := r.i
		r.i++
		for r.i < len(r.s) && strings.IndexByte("0123456789.eE+-", r.s[r.i]) >= 0 {
			r.i++
		}
		text := string(r.s[start:r.i])
		if !validNumber(text) {
			r.i = start
			return nil, r.fail("Input string '%s' is not a valid number.", text)
		}
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			// Out of range: Newtonsoft reads it as a BigInteger; ARM
			// templates have no use for one.
			r.i = start
			return nil, r.fail("The number '%s' is out of range.", text)
		}
		return f, nil
	default:
		for _, lit := range [...]struct {
			word string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if strings.HasPrefix(string(r.s[r.i:min(len(r.s), r.i+5)]), lit.word) {
				r.i += len(lit.word)
				return lit.v, nil
			}
		}
		return nil, r.fail("Unexpected character encountered while parsing value: %s.", quoteChar(c))
	}
}

// validNumber checks JSON number grammar.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func (r *reader) str() (string, error) {
	r.i++ // opening quote
	start := r.i
	// Fast path: no escapes.
	for r.i < len(r.s) {
		c := r.s[r.i]
		if c == '"' {
			s := string(r.s[start:r.i])
			if !utf8.ValidString(s) {
				return "", r.fail("The string is not valid UTF-8.")
			}
			r.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		r.i++
	}
	var b strings.Builder
	b.Write(r.s[start:r.i])
	for {
		if r.i >= len(r.s) {
			return "", r.fail("Unterminated string. Expected delimiter: \".")
		}
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			s := b.String()
			if !utf8.ValidString(s) {
				return "", r.fail("The string is not valid UTF-8.")
			}
			return s, nil
		case c < 0x20:
			return "", r.fail("Invalid character in a string: control characters must be escaped.")
		case c != '\\':
			b.WriteByte(c)
			r.i++
			continue
		}
		r.i++
		if r.i >= len(r.s) {
			return "", r.fail("Unterminated string. Expected delimiter: \".")
		}
		e := r.s[r.i]
		r.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			ru, ok := r.hex4()
			if !ok {
				return "", r.fail("Invalid Unicode escape sequence.")
			}
			if utf16.IsSurrogate(ru) && r.i+6 <= len(r.s) && r.s[r.i] == '\\' && r.s[r.i+1] == 'u' {
				save := r.i
				r.i += 2
				if r2, ok := r.hex4(); ok {
					if d := utf16.DecodeRune(ru, r2); d != utf8.RuneError {
						b.WriteRune(d)
						continue
					}
				}
				r.i = save
			}
			b.WriteRune(ru)
		default:
			r.i--
			return "", r.fail("Bad JSON escape sequence: \\%s.", quoteChar(e))
		}
	}
}

func (r *reader) hex4() (rune, bool) {
	if r.i+4 > len(r.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.s[r.i:r.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return rune(v), true
}

// lineCol converts the byte offset just past a token to ARM's line and
// column: 1-based, the column counting characters up to and including the
// token's last character (Newtonsoft's LinePosition).
func lineCol(data []byte, end int) (int, int) {
	if end > len(data) {
		end = len(data)
	}
	line, start := 1, 0
	for i := 0; i < end; i++ {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCount(data[start:end])
}

// locate finds the line and column of the value at path in the document.
// For objects and arrays that is the opening bracket, for other values
// their last character, as ARM reports them. ok is false when the path
// does not exist in the text (a value computed at run time).
func locate(data []byte, path jsonPath) (end int, ok bool) {
	r := &reader{s: data}
	if r.space() != nil {
		return 0, false
	}
	for _, step := range path {
		if r.i >= len(r.s) {
			return 0, false
		}
		switch r.s[r.i] {
		case '{':
			if step.isIdx || !r.seekKey(step.key) {
				return 0, false
			}
		case '[':
			if !step.isIdx || !r.seekIndex(step.index) {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if r.i >= len(r.s) {
		return 0, false
	}
	end = r.i + 1
	if c := r.s[r.i]; c != '{' && c != '[' {
		if _, err := r.value(0, false); err != nil {
			return 0, false
		}
		end = r.i
	}
	return end, true
}

// seekKey moves from an object's '{' to the value of its member key
// (matched case-insensitively, as templates are read).
func (r *reader) seekKey(key string) bool {
	r.i++
	for {
		if r.space() != nil || r.i >= len(r.s) {
			return false
		}
		if r.s[r.i] == '}' {
			return false
		}
		if r.s[r.i] == ',' {
			r.i++
			continue
		}
		if r.s[r.i] != '"' {
			return false
		}
		k, err := r.str()
		if err != nil {
			return false
		}
		if r.space() != nil || r.i >= len(r.s) || r.s[r.i] != ':' {
			return false
		}
		r.i++
		if r.space() != nil {
			return false
		}
		if strings.EqualFold(k, key) {
			return true
		}
		if _, err := r.value(0, false); err != nil {
			return false
		}
	}
}

func (r *reader) seekIndex(n int) bool {
	r.i++
	for i := 0; ; i++ {
		if r.space() != nil || r.i >= len(r.s) || r.s[r.i] == ']' {
			return false
		}
		if i == n {
			return true
		}
		if _, err := r.value(0, false); err != nil {
			return false
		}
		if r.space() != nil || r.i >= len(r.s) {
			return false
		}
		if r.s[r.i] == ',' {
			r.i++
		}
	}
}
