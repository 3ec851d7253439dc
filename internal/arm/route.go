package arm

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-io/keyless/internal/wiretext"
)

// Access says how the front door authorizes a route before its handler runs.
type Access int

const (
	// AccessCheck: the caller must be Allowed the route's Action at its
	// Scope, else 403 AuthorizationFailed.
	AccessCheck Access = iota
	// AccessFilter: a list. The route-level check is not made; the handler
	// returns only the items the caller may read (Call.Allowed per item),
	// as ARM does: a caller with Reader on one group sees that group.
	AccessFilter
	// AccessAuthenticated: any authenticated caller (provider metadata,
	// operation lists, LRO status URLs that carry an opaque token).
	AccessAuthenticated
)

func (a Access) String() string {
	switch a {
	case AccessCheck:
		return "check"
	case AccessFilter:
		return "filter"
	case AccessAuthenticated:
		return "authenticated"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// HandlerFunc serves one routed, authenticated and authorized request. It
// writes a success response itself and returns an error otherwise; the front
// door turns the error into the ARM error body (errors cross the HTTP
// boundary once, in writeError).
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c *Call) error

// Route declares one ARM operation.
//
// Pattern segments are literals, matched case-insensitively because the SDKs
// send both "resourceGroups" and "resourcegroups" (reference §10.5), "{name}"
// (one segment, value kept as written) or one "{name...}" (zero or more
// segments, joined with "/", for scopes). Action and Scope are templates
// over the same parameters plus any Bind adds; Scope is cleaned to one
// leading slash and no empty segments.
type Route struct {
	// Name is the ARM operation ID, e.g. "ResourceGroups_Get".
	Name    string
	Methods []string
	Pattern string
	// APIVersions validates the api-version query parameter.
	APIVersions VersionPolicy
	Action      string
	Scope       string
	Access      Access
	// Fallback routes are considered only when no ordinary route matches
	// the path and method: the generic resource store serves any type that
	// no provider-specific route claims, as ARM routes to a registered
	// resource provider before anything else.
	Fallback bool
	// Bind, when set, decides whether a matched path really is this route
	// and may add derived parameters (e.g. the resource type of a generic
	// resource, used by its Action template).
	Bind func(p Params) bool
	// Sample is a concrete path this route serves, for tests that enumerate
	// every route (the authorization matrix).
	Sample  string
	Handler HandlerFunc

	segments []patternSegment
}

// RouteInfo describes a registered route.
type RouteInfo struct {
	Name     string
	Methods  []string
	Pattern  string
	Action   string
	Scope    string
	Access   Access
	Fallback bool
	// SamplePath, SampleAPIVersion, SampleAction and SampleScope are a
	// concrete request the route serves and the authorization it checks
	// for it.
	SamplePath       string
	SampleAPIVersion string
	SampleAction     string
	SampleScope      string
}

// Params are the values a route pattern captured, keyed by parameter name.
type Params map[string]string

type patternSegment struct {
	literal string
	param   string
	rest    bool
}

func compilePattern(pattern string) ([]patternSegment, error) {
	var segs []patternSegment
	rest := 0
	for _, s := range splitPath(pattern) {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
			segs = append(segs, patternSegment{param: s[1 : len(s)-4], rest: true})
			rest++
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs = append(segs, patternSegment{param: s[1 : len(s)-1]})
		default:
			segs = append(segs, patternSegment{literal: s})
		}
	}
	if rest > 1 {
		return nil, fmt.Errorf("arm: pattern %q has more than one {name...} segment", pattern)
	}
	return segs, nil
}

// match reports whether path segments match the pattern and returns the
// captured parameters.
func matchSegments(pattern []patternSegment, path []string) (Params, bool) {
	restAt := -1
	for i, ps := range pattern {
		if ps.rest {
			restAt = i
		}
	}
	if restAt < 0 && len(path) != len(pattern) || restAt >= 0 && len(path) < len(pattern)-1 {
		return nil, false
	}
	p := Params{}
	one := func(ps patternSegment, seg string) bool {
		if ps.param != "" {
			p[ps.param] = seg
			return true
		}
		return strings.EqualFold(ps.literal, seg)
	}
	if restAt < 0 {
		for i, ps := range pattern {
			if !one(ps, path[i]) {
				return nil, false
			}
		}
		return p, true
	}
	tail := len(pattern) - restAt - 1
	for i := 0; i < restAt; i++ {
		if !one(pattern[i], path[i]) {
			return nil, false
		}
	}
	for i := 0; i < tail; i++ {
		if !one(pattern[restAt+1+i], path[len(path)-tail+i]) {
			return nil, false
		}
	}
	p[pattern[restAt].param] = strings.Join(path[restAt:len(path)-tail], "/")
	return p, true
}

// samePattern reports whether two patterns match the same paths
// (parameter names aside).
func samePattern(a, b []patternSegment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].rest != b[i].rest || (a[i].literal == "") != (b[i].literal == "") || !strings.EqualFold(a[i].literal, b[i].literal) {
			return false
		}
	}
	return true
}

func literalCount(segs []patternSegment) int {
	n := 0
	for _, s := range segs {
		if s.literal != "" {
			n++
		}
	}
	return n
}

// expand fills a template's {name} and {name...} placeholders.
func expand(template string, p Params) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(template, '{')
		if i < 0 {
			b.WriteString(template)
			break
		}
		j := strings.IndexByte(template[i:], '}')
		if j < 0 {
			b.WriteString(template)
			break
		}
		b.WriteString(template[:i])
		name := strings.TrimSuffix(template[i+1:i+j], "...")
		b.WriteString(p[name])
		template = template[i+j+1:]
	}
	return b.String()
}

// cleanScope normalises an expanded scope template: one leading slash, no
// empty segments ("/" for the root scope).
func cleanScope(s string) string {
	return "/" + strings.Join(splitPath(s), "/")
}

func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// requestSegments splits the request path into unescaped segments, dropping
// empty ones: azcore joins URLs with path.Join semantics, and "/" + an ID
// must route like the ID (reference §7.1, §7.11). Dot segments are refused
// so that a scope can never be walked upwards.
func requestSegments(u *url.URL) ([]string, error) {
	raw := splitPath(u.EscapedPath())
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		seg, err := url.PathUnescape(s)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidRequestUri", "", "The request URI path segment '%s' is not correctly escaped.", s)
		}
		if seg == "." || seg == ".." || strings.Contains(seg, "/") {
			return nil, errorf(http.StatusBadRequest, "InvalidRequestUri", "", "The request URI path segment '%s' is not allowed.", seg)
		}
		if wiretext.Check(seg) != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidRequestUri", "", "The request URI path segment %q holds a NUL character or is not valid UTF-8.", seg)
		}
		out = append(out, seg)
	}
	return out, nil
}

func sampleFor(pattern string) string {
	var out []string
	for _, s := range splitPath(pattern) {
		if strings.HasPrefix(s, "{") {
			s = "x"
		}
		out = append(out, s)
	}
	return "/" + strings.Join(out, "/")
}
