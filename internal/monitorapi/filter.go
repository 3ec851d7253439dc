package monitorapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/wiretext"
)

// Filter is a parsed Activity Log $filter. Azure's grammar for this API is
// narrow: a time range on eventTimestamp (its start required), then
// equality on a few properties, joined by "and". Every property may be
// given once; properties other than the time range combine (Azure takes
// one of resourceGroupName, resourceUri, resourceProvider and
// correlationId at a time; keyless takes any together, each narrowing).
type Filter struct {
	// From is the start of the range (eventTimestamp ge); To its end
	// (eventTimestamp le), zero when not given: until now.
	From, To         time.Time
	ResourceGroup    string
	ResourceURI      string
	ResourceProvider string
	CorrelationID    string
	Caller           string
	Status           string
}

// FilterError is a $filter keyless cannot serve, with a message saying
// what to write instead.
type FilterError struct{ Message string }

func (e *FilterError) Error() string { return e.Message }

func filterErrorf(format string, args ...any) *FilterError {
	return &FilterError{Message: fmt.Sprintf(format, args...)}
}

// filterExample is a filter every message can point to.
const filterExample = "eventTimestamp ge '2025-05-01T00:00:00Z' and eventTimestamp le '2025-05-02T00:00:00Z'"

// properties are the $filter properties, by lower-case name: the name as
// Azure documents it and the field it sets. resourceId is what az sends for
// --resource-id; eventChannels is what older SDK samples send (every
// keyless event is an Operation event, so it narrows nothing).
var properties = map[string]struct {
	name string
	set  func(f *Filter) *string
}{
	"resourcegroupname": {"resourceGroupName", func(f *Filter) *string { return &f.ResourceGroup }},
	"resourceuri":       {"resourceUri", func(f *Filter) *string { return &f.ResourceURI }},
	"resourceid":        {"resourceId", func(f *Filter) *string { return &f.ResourceURI }},
	"resourceprovider":  {"resourceProvider", func(f *Filter) *string { return &f.ResourceProvider }},
	"correlationid":     {"correlationId", func(f *Filter) *string { return &f.CorrelationID }},
	"caller":            {"caller", func(f *Filter) *string { return &f.Caller }},
	"status":            {"status", func(f *Filter) *string { return &f.Status }},
	"eventchannels":     {"eventChannels", nil},
}

const supportedProperties = "eventTimestamp (ge, le), resourceGroupName, resourceUri, resourceProvider, correlationId, caller and status (eq)"

// ParseFilter reads an Activity Log $filter. Values are in single quotes
// (a quote inside doubled); times may also be bare, as az writes them
// ("eventTimestamp ge 2025-05-01T00:00:00.000000"). Keywords and property
// names are matched case-insensitively.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	if strings.TrimSpace(s) == "" {
		return f, filterErrorf("The $filter query parameter is required and must give at least the start of the time range, e.g. $filter=%s.", filterExample)
	}
	if err := wiretext.Check(s); err != nil {
		return f, filterErrorf("The $filter holds a NUL character or is not valid UTF-8.")
	}
	p := &filterParser{src: s}
	seen := map[string]bool{}
	// Each property may be given once, which bounds the work.
	for {
		name, at := p.word()
		if name == "" {
			return f, p.expected("a property name", at)
		}
		op, opAt := p.word()
		lowerName, lowerOp := strings.ToLower(name), strings.ToLower(op)
		if lowerName == "eventtimestamp" {
			if lowerOp != "ge" && lowerOp != "le" {
				return f, filterErrorf("The $filter property eventTimestamp takes 'ge' or 'le' (at position %d, found %s).", opAt+1, quoteOr(op, "nothing"))
			}
			value, valueAt, err := p.value(true)
			if err != nil {
				return f, err
			}
			t, err := parseTime(value)
			if err != nil {
				return f, filterErrorf("The $filter value '%s' of eventTimestamp (at position %d) is not a time: use ISO 8601, e.g. '2025-05-01T00:00:00Z'.", value, valueAt+1)
			}
			key := "eventTimestamp " + lowerOp
			if seen[key] {
				return f, filterErrorf("The $filter gives %s more than once.", key)
			}
			seen[key] = true
			// No event is older than the Unix epoch; clamping keeps the
			// zero time meaning "not given".
			t = maxTime(t, time.Unix(0, 0).UTC())
			if lowerOp == "ge" {
				f.From = t
			} else {
				f.To = t
			}
		} else {
			prop, ok := properties[lowerName]
			if !ok {
				return f, filterErrorf("The $filter property '%s' (at position %d) is not supported; the Activity Log filters on %s.", name, at+1, supportedProperties)
			}
			if lowerOp != "eq" {
				return f, filterErrorf("The $filter property %s takes 'eq' (at position %d, found %s).", prop.name, opAt+1, quoteOr(op, "nothing"))
			}
			value, valueAt, err := p.value(false)
			if err != nil {
				return f, err
			}
			if strings.TrimSpace(value) == "" {
				return f, filterErrorf("The $filter value of %s (at position %d) is empty.", prop.name, valueAt+1)
			}
			// resourceId and resourceUri are one property.
			key := strings.ToLower(prop.name)
			if lowerName == "resourceid" {
				key = "resourceuri"
			}
			if seen[key] {
				return f, filterErrorf("The $filter gives %s more than once.", prop.name)
			}
			seen[key] = true
			if prop.set != nil {
				*prop.set(&f) = value
			}
		}
		conj, conjAt := p.word()
		if conj == "" {
			break
		}
		if !strings.EqualFold(conj, "and") {
			return f, filterErrorf("The $filter joins conditions with 'and' only (at position %d, found '%s').", conjAt+1, conj)
		}
	}
	if !seen["eventTimestamp ge"] {
		return f, filterErrorf("The $filter must give the start of the time range, eventTimestamp ge '<time>', e.g. %s.", filterExample)
	}
	if !f.To.IsZero() && f.To.Before(f.From) {
		return f, filterErrorf("The $filter's time range is empty: eventTimestamp ge '%s' is after eventTimestamp le '%s'.",
			f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano))
	}
	return f, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func quoteOr(s, none string) string {
	if s == "" {
		return none
	}
	return "'" + s + "'"
}

// String renders the filter in the grammar ParseFilter reads, times in UTC.
func (f Filter) String() string {
	terms := []string{"eventTimestamp ge '" + f.From.UTC().Format(time.RFC3339Nano) + "'"}
	if !f.To.IsZero() {
		terms = append(terms, "eventTimestamp le '"+f.To.UTC().Format(time.RFC3339Nano)+"'")
	}
	for _, p := range []struct{ name, value string }{
		{"resourceGroupName", f.ResourceGroup}, {"resourceUri", f.ResourceURI}, {"resourceProvider", f.ResourceProvider},
		{"correlationId", f.CorrelationID}, {"caller", f.Caller}, {"status", f.Status},
	} {
		if p.value != "" {
			terms = append(terms, p.name+" eq '"+strings.ReplaceAll(p.value, "'", "''")+"'")
		}
	}
	return strings.Join(terms, " and ")
}

// filterParser reads words and values from a $filter left to right.
type filterParser struct {
	src string
	pos int
}

func (p *filterParser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// word reads the next run of letters (a property, operator or "and") and
// its position; "" at the end of the filter.
func (p *filterParser) word() (string, int) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) && isWordByte(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start && p.pos < len(p.src) {
		// Not a word: report what is there, up to the next space.
		end := p.pos
		for end < len(p.src) && !isSpace(p.src[end]) {
			end++
		}
		word := p.src[p.pos:end]
		p.pos = end
		return word, start
	}
	return p.src[start:p.pos], start
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.'
}

// value reads a quoted value, or, when bare is allowed, a run of
// non-space characters.
func (p *filterParser) value(bare bool) (string, int, error) {
	p.skipSpace()
	start := p.pos
	if p.pos == len(p.src) {
		return "", start, filterErrorf("The $filter ends where a value was expected (at position %d).", start+1)
	}
	if p.src[p.pos] != '\'' {
		if !bare {
			return "", start, filterErrorf("The $filter value at position %d must be in single quotes.", start+1)
		}
		for p.pos < len(p.src) && !isSpace(p.src[p.pos]) {
			p.pos++
		}
		return p.src[start:p.pos], start, nil
	}
	var b strings.Builder
	for p.pos++; p.pos < len(p.src); p.pos++ {
		c := p.src[p.pos]
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
			b.WriteByte('\'')
			p.pos++
			continue
		}
		p.pos++
		if p.pos < len(p.src) && !isSpace(p.src[p.pos]) {
			return "", start, filterErrorf("The $filter value at position %d is followed by '%c' where a space was expected.", start+1, p.src[p.pos])
		}
		return b.String(), start, nil
	}
	return "", start, filterErrorf("The $filter value at position %d has no closing quote.", start+1)
}

func (p *filterParser) expected(what string, at int) error {
	if at >= len(p.src) {
		return filterErrorf("The $filter ends where %s was expected.", what)
	}
	return filterErrorf("The $filter expects %s at position %d.", what, at+1)
}

// timeLayouts are the forms of eventTimestamp values clients send:
// RFC 3339 with any fraction (.NET writes seven digits), offsets with or
// without a colon (az's help shows -0500), no offset at all (Python's
// isoformat(), which az sends, read as UTC), and a bare date.
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.UTC()
		// Both stores keep four-digit years of the common era.
		if y := t.Year(); y < 1 || y > 9999 {
			return time.Time{}, fmt.Errorf("year %d out of range", y)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}
