// Package wiretext decides which client-supplied text keyless accepts: valid
// UTF-8 with no NUL character. Both stores must hold every string the API
// accepts, and PostgreSQL can hold neither a NUL in text (SQLSTATE 22021)
// nor a \u0000 escape in jsonb (22P05), while SQLite holds both; so the front
// doors refuse such text at the edge, naming the member, and the SQL store
// refuses it again as a backstop, so that the two backends always agree.
//
// It is a leaf package: no I/O, no other keyless import.
package wiretext

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is the cause of every refusal.
var ErrInvalid = errors.New("text holds a NUL character or is not valid UTF-8")

// Check reports whether s is text keyless can store.
func Check(s string) error {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return ErrInvalid
	}
	return nil
}

// CheckJSON walks one JSON document and returns the path of the first
// member name or string value that Check refuses ("tags.k", "properties.
// list[2]", or "" for the document itself), and ok=false. A document that
// is not valid JSON is reported ok: the caller's own decoding names that
// error better. encoding/json replaces invalid UTF-8 with U+FFFD when it
// decodes, so only NUL (raw bytes are refused by JSON itself, so only the
// \u0000 escape) can reach a store from a decoded body.
func CheckJSON(doc []byte) (path string, ok bool) {
	if !bytes.Contains(doc, []byte(`\u0000`)) && utf8.Valid(doc) {
		return "", true // the common case costs one scan
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		key    string
		index  int
		// expectKey: inside an object, the next string token is a key.
		expectKey bool
	}
	var stack []frame
	render := func(extra string) string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if f.key == "" {
					continue
				}
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if extra != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(extra)
		}
		return b.String()
	}
	// afterValue advances the enclosing container past one value.
	afterValue := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].expectKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", true
		}
		if err != nil {
			return "", true
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, expectKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				if Check(t) != nil {
					return render(strconv.Quote(t)), false
				}
				stack[n-1].key, stack[n-1].expectKey = t, false
				continue
			}
			if Check(t) != nil {
				return render(""), false
			}
			afterValue()
		default:
			afterValue()
		}
	}
}
