package arm

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyless-io/keyless/internal/wiretext"
)

// maxTop bounds $top so one request cannot ask for an unbounded page.
const maxTop = 1000

// page is the list envelope (reference §7.9). nextLink is omitted on the
// last page: the SDK pager stops on an empty or missing nextLink.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// queryValue reads a query parameter whose name ARM treats
// case-insensitively ($skiptoken and $skipToken are both sent by the SDKs).
func queryValue(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// page reads a list request's paging parameters: the page size ($top, or
// the default) and the cursor ($skiptoken).
func (c *Call) page(r *http.Request) (size int, cursor string, err error) {
	if size, err = c.pageSize(r); err != nil {
		return 0, "", err
	}
	cursor, err = c.skipToken(r)
	return size, cursor, err
}

// pageSize is $top when given, else the server's page size. ARM treats
// $top as the page size: the nextLink keeps it and the pager walks on.
func (c *Call) pageSize(r *http.Request) (int, error) {
	top := queryValue(r.URL.Query(), "$top")
	if top == "" {
		return c.server.pageSize, nil
	}
	n, err := ParseTop(top)
	if err != nil {
		return 0, err
	}
	return min(n, maxTop), nil
}

// ParseTop reads a given $top value: a positive integer, or ARM's 400
// InvalidParameter. Callers read the parameter and bound the result as
// their list needs.
func ParseTop(top string) (int, error) {
	n, err := strconv.Atoi(top)
	if err != nil || n < 1 {
		return 0, Errorf(http.StatusBadRequest, "InvalidParameter", "$top", "The value '%s' of $top is invalid; it must be a positive integer.", top)
	}
	return n, nil
}

// skipToken decodes the paging cursor of a list request.
func (c *Call) skipToken(r *http.Request) (string, error) {
	return SkipToken(r.URL.Query(), "$skiptoken")
}

// skipTokenPrefix marks the cursors keyless issues, so that a token it did
// not issue is refused instead of silently paging from wherever its bytes
// happen to sort.
const skipTokenPrefix = "k1:"

// EncodeSkipToken renders a list cursor for a nextLink. Tokens are
// base64url so that they survive the SDK's re-encoding of the nextLink
// query (a literal '+' would come back as a space; reference §7.9).
func EncodeSkipToken(cursor string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(skipTokenPrefix + cursor))
}

// SkipToken reads the query parameter name (matched case-insensitively)
// and decodes the cursor EncodeSkipToken made; "" when absent, 400
// InvalidSkipToken when it is not one of ours.
func SkipToken(q url.Values, name string) (string, error) {
	tok := queryValue(q, name)
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	cursor, ours := strings.CutPrefix(string(b), skipTokenPrefix)
	if err != nil || !ours || wiretext.Check(cursor) != nil {
		return "", Errorf(http.StatusBadRequest, "InvalidSkipToken", name, "The skip token '%s' is invalid.", truncate(tok, 64))
	}
	return cursor, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// nextLink is the absolute https URL of the page after cursor: the same
// path and query with $skiptoken replaced.
func (c *Call) nextLink(r *http.Request, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if !strings.EqualFold(k, "$skiptoken") {
			q[k] = v
		}
	}
	q.Set("$skiptoken", EncodeSkipToken(cursor))
	u := url.URL{Path: c.Path(), RawQuery: q.Encode()}
	return c.server.baseURL(r) + u.EscapedPath() + "?" + u.RawQuery
}

// pageSlice pages an in-memory list already sorted by key: the items after
// cursor, at most size, and the cursor of the next page.
func pageSlice[T any](items []T, key func(T) string, cursor string, size int) ([]T, string) {
	start := 0
	if cursor != "" {
		for start < len(items) && key(items[start]) <= cursor {
			start++
		}
	}
	end := min(start+size, len(items))
	out := items[start:end]
	next := ""
	if end < len(items) && len(out) > 0 {
		next = key(out[len(out)-1])
	}
	return out, next
}
