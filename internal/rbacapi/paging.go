package rbacapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
)

// maxTop bounds $top so one request cannot ask for an unbounded page.
const maxTop = 1000

// page is the list envelope (reference §7.9): nextLink is omitted on the
// last page, where the SDK pager stops.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// paging is a list request's page size and cursor.
type paging struct {
	size   int
	cursor string
}

// pagingOf reads $top (a keyless extension for role lists: the SDK never
// sends it, but tools and tests may) and $skipToken, whose name ARM treats
// case-insensitively. Tokens are base64url so they survive the SDK's
// re-encoding of the nextLink query (a '+' would come back as a space).
func (h *handlers) pagingOf(r *http.Request) (paging, error) {
	q := r.URL.Query()
	p := paging{size: h.cfg.PageSize}
	if top := queryValue(q, "$top"); top != "" {
		n, err := arm.ParseTop(top)
		if err != nil {
			return p, err
		}
		p.size = min(n, maxTop)
	}
	cursor, err := arm.SkipToken(q, "$skipToken")
	p.cursor = cursor
	return p, err
}

// pageOf returns the items after the cursor (items are sorted by key), at
// most size, and the cursor of the next page ("" on the last one).
func pageOf[T any](items []T, key func(T) string, p paging) ([]T, string) {
	start := 0
	if p.cursor != "" {
		for start < len(items) && key(items[start]) <= p.cursor {
			start++
		}
	}
	end := min(start+p.size, len(items))
	out := items[start:end]
	if end < len(items) && len(out) > 0 {
		return out, key(out[len(out)-1])
	}
	return out, ""
}

// nextLink is the absolute https URL of the page after cursor: the same
// path and query, $filter included (encoded, so the link is a valid request
// line as it stands), with $skipToken replaced.
func (h *handlers) nextLink(r *http.Request, c *arm.Call, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if !strings.EqualFold(k, "$skipToken") {
			q[k] = v
		}
	}
	q.Set("$skipToken", arm.EncodeSkipToken(cursor))
	u := url.URL{Path: c.Path()}
	return h.baseURL(r) + u.EscapedPath() + "?" + q.Encode()
}
