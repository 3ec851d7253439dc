package bicep

import (
	"strings"
	"unicode/utf8"
)

// Pos is a position in a source file: byte offset and 1-based line and
// column (columns count runes, as editors and the official compiler do).
type Pos struct {
	Offset, Line, Column int
}

type tokenKind int

const (
	tEOF tokenKind = iota
	tNewline
	tIdent
	tInt
	tString       // complete string without interpolation: Value holds the decoded text
	tStringLeft   // 'abc${   (Value: decoded "abc")
	tStringMiddle // }abc${
	tStringRight  // }abc'
	tMultiline    // '''...'''
	tSymbol       // punctuation and operators: Value holds it
	tDirective    // #disable-next-line a b
	tIllegal
)

type token struct {
	kind  tokenKind
	value string
	pos   Pos
	end   Pos
}

// lexer turns source text into tokens. Newlines are tokens because Bicep
// statements, object properties and array items end at a newline.
type lexer struct {
	src    string
	off    int
	line   int
	col    int
	toks   []token
	diags  *diagList
	file   string
	braces []int // for each open interpolation, the depth of { inside it
}

func lex(file, src string, diags *diagList) []token {
	lx := &lexer{src: src, line: 1, col: 1, diags: diags, file: file}
	lx.run()
	return lx.toks
}

func (lx *lexer) pos() Pos { return Pos{lx.off, lx.line, lx.col} }

func (lx *lexer) peekByte(n int) byte {
	if lx.off+n < len(lx.src) {
		return lx.src[lx.off+n]
	}
	return 0
}

func (lx *lexer) advance() rune {
	r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += size
	if r == '\n' {
		lx.line++
		lx.col = 1
	} else {
		lx.col++
	}
	return r
}

func (lx *lexer) emit(kind tokenKind, value string, start Pos) {
	lx.toks = append(lx.toks, token{kind: kind, value: value, pos: start, end: lx.pos()})
}

func (lx *lexer) errorf(p Pos, code, format string, args ...any) {
	lx.diags.add(lx.file, p, SeverityError, code, format, args...)
}

var symbols3 = []string{"..."}
var symbols2 = []string{"==", "!=", "=~", "!~", "<=", ">=", "&&", "||", "??", "=>", "::", ".?"}

func (lx *lexer) run() {
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		start := lx.pos()
		switch {
		case c == '\n':
			lx.advance()
			lx.emit(tNewline, "\n", start)
		case c == ' ' || c == '\t' || c == '\r':
			lx.advance()
		case c == '/' && lx.peekByte(1) == '/':
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.advance()
			}
		case c == '/' && lx.peekByte(1) == '*':
			lx.advance()
			lx.advance()
			closed := false
			for lx.off < len(lx.src) {
				if lx.src[lx.off] == '*' && lx.peekByte(1) == '/' {
					lx.advance()
					lx.advance()
					closed = true
					break
				}
				lx.advance()
			}
			if !closed {
				lx.errorf(start, "BCP002", "The multi-line comment at this location is not terminated. Terminate it with the */ character sequence.")
			}
		case c == '#':
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.advance()
			}
			lx.emit(tDirective, lx.src[start.Offset:lx.off], start)
		case c == '\'':
			if strings.HasPrefix(lx.src[lx.off:], "'''") {
				lx.multiline(start)
			} else {
				lx.advance()
				lx.stringBody(start, tString, tStringLeft)
			}
		case c == '}' && len(lx.braces) > 0 && lx.braces[len(lx.braces)-1] == 0:
			lx.braces = lx.braces[:len(lx.braces)-1]
			lx.advance()
			lx.stringBody(start, tStringRight, tStringMiddle)
		case isIdentStart(c):
			for lx.off < len(lx.src) && isIdentPart(lx.src[lx.off]) {
				lx.advance()
			}
			lx.emit(tIdent, lx.src[start.Offset:lx.off], start)
		case c >= '0' && c <= '9':
			for lx.off < len(lx.src) && lx.src[lx.off] >= '0' && lx.src[lx.off] <= '9' {
				lx.advance()
			}
			lx.emit(tInt, lx.src[start.Offset:lx.off], start)
		default:
			matched := ""
			for _, s := range symbols3 {
				if strings.HasPrefix(lx.src[lx.off:], s) {
					matched = s
				}
			}
			if matched == "" {
				for _, s := range symbols2 {
					if strings.HasPrefix(lx.src[lx.off:], s) {
						matched = s
						break
					}
				}
			}
			if matched == "" && strings.ContainsRune("{}[]()<>,:.=?!+-*/%@|", rune(c)) {
				matched = string(c)
			}
			if matched == "" {
				r := lx.advance()
				lx.errorf(start, "BCP001", "The following token is not recognized: %q.", string(r))
				lx.emit(tIllegal, string(r), start)
				continue
			}
			for range len(matched) {
				lx.advance()
			}
			if len(lx.braces) > 0 {
				switch matched {
				case "{":
					lx.braces[len(lx.braces)-1]++
				case "}":
					lx.braces[len(lx.braces)-1]--
				}
			}
			lx.emit(tSymbol, matched, start)
		}
	}
	lx.emit(tEOF, "", lx.pos())
}

// stringBody scans a string after its opening ' (or the } closing an
// interpolation) up to the closing ' (emitting done) or the next ${
// (emitting open).
func (lx *lexer) stringBody(start Pos, done, open tokenKind) {
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) || lx.src[lx.off] == '\n' || lx.src[lx.off] == '\r' {
			lx.errorf(start, "BCP004", "The string at this location is not terminated due to an unexpected new line character.")
			lx.emit(tIllegal, b.String(), start)
			return
		}
		c := lx.src[lx.off]
		switch {
		case c == '\'':
			lx.advance()
			lx.emit(done, b.String(), start)
			return
		case c == '$' && lx.peekByte(1) == '{':
			lx.advance()
			lx.advance()
			lx.braces = append(lx.braces, 0)
			lx.emit(open, b.String(), start)
			return
		case c == '\\':
			escPos := lx.pos()
			lx.advance()
			if lx.off >= len(lx.src) {
				continue
			}
			e := lx.advance()
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '\\':
				b.WriteByte('\\')
			case '\'':
				b.WriteByte('\'')
			case '$':
				b.WriteByte('$')
			case 'u':
				// \u{XXXX}
				if lx.off < len(lx.src) && lx.src[lx.off] == '{' {
					lx.advance()
					hexStart := lx.off
					for lx.off < len(lx.src) && isHex(lx.src[lx.off]) {
						lx.advance()
					}
					hex := lx.src[hexStart:lx.off]
					if lx.off < len(lx.src) && lx.src[lx.off] == '}' && hex != "" && len(hex) <= 6 {
						lx.advance()
						var v rune
						for _, h := range hex {
							v = v*16 + rune(hexVal(byte(h)))
						}
						if v > 0x10FFFF {
							lx.errorf(escPos, "BCP006", "The specified escape sequence is not recognized. Only the following escape sequences are allowed: \\$, \\', \\\\, \\n, \\r, \\t, \\u{...}.")
						} else {
							b.WriteRune(v)
						}
						continue
					}
				}
				lx.errorf(escPos, "BCP006", "The specified escape sequence is not recognized. Only the following escape sequences are allowed: \\$, \\', \\\\, \\n, \\r, \\t, \\u{...}.")
			default:
				lx.errorf(escPos, "BCP006", "The specified escape sequence is not recognized. Only the following escape sequences are allowed: \\$, \\', \\\\, \\n, \\r, \\t, \\u{...}.")
			}
		default:
			b.WriteRune(lx.advance())
		}
	}
}

func (lx *lexer) multiline(start Pos) {
	for range 3 {
		lx.advance()
	}
	// A newline straight after the opening ''' is not part of the value.
	if strings.HasPrefix(lx.src[lx.off:], "\r\n") {
		lx.advance()
		lx.advance()
	} else if lx.off < len(lx.src) && lx.src[lx.off] == '\n' {
		lx.advance()
	}
	contentStart := lx.off
	for lx.off < len(lx.src) {
		if strings.HasPrefix(lx.src[lx.off:], "'''") {
			// More than three quotes: the extra ones belong to the value.
			for strings.HasPrefix(lx.src[lx.off+1:], "'''") {
				lx.advance()
			}
			value := lx.src[contentStart:lx.off]
			for range 3 {
				lx.advance()
			}
			lx.emit(tMultiline, value, start)
			return
		}
		lx.advance()
	}
	lx.errorf(start, "BCP140", "The multi-line string at this location is not terminated. Terminate it with \"'''\".")
	lx.emit(tIllegal, "", start)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}
