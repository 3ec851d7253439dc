package arm

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// condition is one "field eq 'value'" of an OData $filter.
type condition struct {
	Field string
	Value string
}

// parseFilter parses the subset of OData ARM list operations accept here:
// conditions "field eq 'value'" joined by "and" (e.g. "tagName eq 'env'
// and tagValue eq 'prod'", "resourceType eq 'Microsoft.Web/sites'"). Field
// names are returned as written; quotes inside values are doubled (”).
func parseFilter(s string) ([]condition, error) {
	var out []condition
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, nil
	}
	for {
		field, after, ok := cutWord(rest)
		if !ok || !isIdent(field) {
			return nil, fmt.Errorf("expected a property name at %q", rest)
		}
		op, after, ok := cutWord(after)
		if !ok || !strings.EqualFold(op, "eq") {
			return nil, fmt.Errorf("expected 'eq' after %q", field)
		}
		value, after, err := cutQuoted(after)
		if err != nil {
			return nil, err
		}
		out = append(out, condition{Field: field, Value: value})
		after = strings.TrimSpace(after)
		if after == "" {
			return out, nil
		}
		conj, after2, ok := cutWord(after)
		if !ok || !strings.EqualFold(conj, "and") {
			return nil, fmt.Errorf("expected 'and' at %q", after)
		}
		rest = strings.TrimSpace(after2)
	}
}

func cutWord(s string) (word, rest string, ok bool) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, "", s != ""
	}
	return s[:i], s[i:], true
}

func cutQuoted(s string) (value, rest string, err error) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if !strings.HasPrefix(s, "'") {
		return "", "", fmt.Errorf("expected a quoted value at %q", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", fmt.Errorf("unterminated quoted value")
}

func isIdent(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '/' && r != '.' {
			return false
		}
	}
	return s != ""
}

// listFilter is a parsed $filter restricted to the fields a list supports.
type listFilter map[string]string

// filterOf parses the request's $filter, accepting only the given fields
// (compared case-insensitively; keys are returned lower-case).
func filterOf(r *http.Request, fields ...string) (listFilter, error) {
	raw := queryValue(r.URL.Query(), "$filter")
	conds, err := parseFilter(raw)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter", "The $filter '%s' is invalid: %s.", raw, err)
	}
	f := listFilter{}
	for _, c := range conds {
		known := false
		for _, name := range fields {
			if strings.EqualFold(name, c.Field) {
				known = true
			}
		}
		if !known {
			return nil, Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter",
				"The $filter '%s' is invalid: the property '%s' is not supported; supported properties are %s.", raw, c.Field, strings.Join(fields, ", "))
		}
		f[strings.ToLower(c.Field)] = c.Value
	}
	if _, ok := f["tagvalue"]; ok {
		if _, ok := f["tagname"]; !ok {
			return nil, Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter", "The $filter '%s' is invalid: tagValue requires tagName.", raw)
		}
	}
	return f, nil
}

// matchTags applies tagName/tagValue conditions: tag names compare
// case-insensitively, values exactly.
func (f listFilter) matchTags(tags map[string]string) bool {
	name, ok := f["tagname"]
	if !ok {
		return true
	}
	for k, v := range tags {
		if strings.EqualFold(k, name) {
			want, hasValue := f["tagvalue"]
			return !hasValue || v == want
		}
	}
	return false
}
