package arm

import (
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/wiretext"
)

// Bounds on the request line. ARM's front end refuses URLs past a few
// kilobytes and no ARM operation takes more than a handful of query
// parameters, so anything beyond these is hostile or broken. Go's own
// parser stops at 10,000 parameters and then yields none, which would be
// reported as a missing api-version: bounding first names the real fault.
const (
	maxQueryBytes  = 16 << 10
	maxQueryParams = 64
)

// checkQuery refuses a query string ARM could not serve, with ARM's error
// for each fault, before anything reads it.
func checkQuery(u *url.URL) error {
	if len(u.RawQuery) > maxQueryBytes {
		return Errorf(http.StatusRequestURITooLong, "RequestUriTooLong", "",
			"The request URI query is %d bytes long; at most %d are allowed.", len(u.RawQuery), maxQueryBytes)
	}
	if u.RawQuery == "" {
		return nil
	}
	if n := strings.Count(u.RawQuery, "&") + 1; n > maxQueryParams {
		return Errorf(http.StatusBadRequest, "InvalidRequestUri", "",
			"The request URI has %d query parameters; at most %d are allowed.", n, maxQueryParams)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Errorf(http.StatusBadRequest, "InvalidRequestUri", "", "The request URI query string is not correctly escaped.")
	}
	for k, vs := range q {
		if wiretext.Check(k) != nil {
			return Errorf(http.StatusBadRequest, "InvalidRequestUri", "",
				"The query parameter name %q holds a NUL character or is not valid UTF-8.", k)
		}
		for _, v := range vs {
			if wiretext.Check(v) != nil {
				return Errorf(http.StatusBadRequest, "InvalidQueryParameterValue", k,
					"The value of query parameter '%s' holds a NUL character or is not valid UTF-8.", k)
			}
		}
	}
	return nil
}

// checkMediaType accepts the JSON media types the Azure clients send
// (application/json, with or without a charset; az also sends text/json
// in places; merge-patch and other +json types). ARM answers anything else,
// a missing Content-Type included, with 415.
func checkMediaType(contentType string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil {
		cs := strings.ToLower(params["charset"])
		json := mt == "application/json" || mt == "text/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
		if json && (cs == "" || cs == "utf-8") {
			return nil
		}
	}
	shown := contentType
	if shown == "" {
		shown = "(none)"
	}
	return Errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "",
		"The content media type '%s' is not supported. Only 'application/json' is supported.", shown)
}

// Segment rules of a resource ID. A provider namespace is letters, digits
// and periods ("Microsoft.Web", "84codes.CloudAMQP"); a resource type
// segment is letters, digits and periods too, with the hyphens and
// underscores a few real types carry. Anything else would become part of
// an RBAC action string and of the audit log.
var (
	namespaceRule = regexp.MustCompile(`^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$`)
	typeRule      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// checkParams applies ARM's segment rules to what a route captured, before
// authorization, so that a malformed ID is a 400 for every caller and never
// reaches an action string.
func checkParams(p Params) error {
	ns, ok := p["resourceProviderNamespace"]
	if !ok {
		return nil
	}
	if len(ns) > 64 || !namespaceRule.MatchString(ns) {
		return Errorf(http.StatusBadRequest, "InvalidResourceNamespace", "",
			"The resource namespace '%s' is invalid. A namespace may contain only letters, digits and periods.", ns)
	}
	segs := splitPath(p["resourcePath"])
	for i, seg := range segs {
		if i%2 == 0 {
			if len(seg) > 64 || !typeRule.MatchString(seg) {
				return Errorf(http.StatusBadRequest, "InvalidResourceType", "",
					"The resource type '%s' is invalid. A resource type may contain only letters, digits, periods, hyphens and underscores.", seg)
			}
			continue
		}
		if err := resources.ValidateResourceName(seg); err != nil {
			return err
		}
	}
	return nil
}
