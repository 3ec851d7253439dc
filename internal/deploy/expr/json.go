package expr

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// parseLenientJSON parses text the way ARM's json() does: Newtonsoft's
// JToken.Parse, which besides strict JSON accepts single-quoted strings,
// unquoted property names and comments. Object members keep their order.
func parseLenientJSON(s string) (any, error) {
	p := &jsonParser{s: s}
	p.skip()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i < len(p.s) {
		return nil, p.errorf("additional text encountered after finished reading JSON content")
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) errorf(msg string) error {
	return errors.New(msg + " at position " + strconv.Itoa(p.i) + ".")
}

func (p *jsonParser) skip() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		case c == '/' && p.i+1 < len(p.s) && p.s[p.i+1] == '/':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case c == '/' && p.i+1 < len(p.s) && p.s[p.i+1] == '*':
			end := strings.Index(p.s[p.i+2:], "*/")
			if end < 0 {
				p.i = len(p.s)
				return
			}
			p.i += end + 4
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("the JSON is nested too deeply")
	}
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end of JSON content")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		o := NewObject(4)
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return o, nil
		}
		for {
			p.skip()
			key, err := p.key()
			if err != nil {
				return nil, err
			}
			p.skip()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, p.errorf("invalid character after property name, expected ':'")
			}
			p.i++
			p.skip()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			o.Set(key, v)
			p.skip()
			if p.i >= len(p.s) {
				return nil, p.errorf("unexpected end of JSON content while reading an object")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == '}' {
				p.i++
				return o, nil
			}
			return nil, p.errorf("invalid character in an object, expected ',' or '}'")
		}
	case c == '[':
		p.i++
		arr := []any{}
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return arr, nil
		}
		for {
			p.skip()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.skip()
			if p.i >= len(p.s) {
				return nil, p.errorf("unexpected end of JSON content while reading an array")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				return arr, nil
			}
			return nil, p.errorf("invalid character in an array, expected ',' or ']'")
		}
	case c == '"' || c == '\'':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		p.i++
		for p.i < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[p.i]) >= 0 {
			p.i++
		}
		v, err := numberFromText(p.s[start:p.i])
		if err != nil {
			return nil, p.errorf("invalid number '" + p.s[start:p.i] + "'")
		}
		return v, nil
	default:
		word := p.word()
		switch word {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return nil, p.errorf("unexpected character while parsing JSON value")
	}
}

func (p *jsonParser) word() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isIdentChar(c) || c == '-' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *jsonParser) key() (string, error) {
	if p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
		return p.str()
	}
	w := p.word()
	if w == "" {
		return "", p.errorf("invalid JSON property name")
	}
	return w, nil
}

func (p *jsonParser) str() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.errorf("unterminated string in JSON")
		}
		c := p.s[p.i]
		if c == q {
			p.i++
			return b.String(), nil
		}
		if c != '\\' {
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			return "", p.errorf("unterminated string in JSON")
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("invalid unicode escape in JSON string")
			}
			if utf16.IsSurrogate(r) && p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
				save := p.i
				p.i += 2
				if r2, ok := p.hex4(); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						b.WriteRune(d)
						continue
					}
				}
				p.i = save
			}
			b.WriteRune(r)
		default:
			b.WriteByte(e) // \" \' \\ \/ and Newtonsoft's lenient others
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}
