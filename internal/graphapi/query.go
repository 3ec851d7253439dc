package graphapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Paging bounds, as Graph's: 100 objects a page unless $top says
// otherwise, at most 999.
const (
	defaultTop = 100
	maxTop     = 999
)

// query holds the OData query options of a collection request.
type query struct {
	filter  expr
	selects []string
	top     int
	count   bool
	// after is the object ID a $skiptoken resumes after.
	after string
}

// parseQuery reads the query options a collection of the type takes.
// declared names its properties (lower case), for $filter and $select.
func parseQuery(c *call, typeName string, declared map[string]bool) (query, error) {
	q := query{top: defaultTop}
	values := c.r.URL.Query()
	for name, vs := range values {
		if len(vs) > 1 {
			return q, badRequest("Query option '%s' was specified more than once.", clip(name))
		}
		switch strings.ToLower(name) {
		case "$filter":
			e, err := parseFilter(vs[0])
			if err != nil {
				return q, errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid filter clause: %v.", err)
			}
			if err := checkProperties(e, declared); err != nil {
				return q, badRequest("%v", err)
			}
			q.filter = e
		case "$select":
			for _, p := range strings.Split(vs[0], ",") {
				p = strings.TrimSpace(p)
				if p == "" {
					continue
				}
				if !declared[strings.ToLower(p)] {
					return q, badRequest("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", clip(p), typeName)
				}
				q.selects = append(q.selects, p)
			}
		case "$top":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > maxTop {
				return q, badRequest("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", clip(vs[0]), maxTop)
			}
			q.top = n
		case "$count":
			switch strings.ToLower(vs[0]) {
			case "true":
				q.count = true
			case "false":
			default:
				return q, badRequest("Invalid value '%s' for $count; use true or false.", clip(vs[0]))
			}
		case "$skiptoken":
			id, err := base64.RawURLEncoding.DecodeString(vs[0])
			if err != nil || len(id) == 0 {
				return q, badRequest("Invalid $skiptoken.")
			}
			q.after = string(id)
		case "$orderby", "$search", "$expand", "$skip", "$apply", "$compute":
			return q, errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "The query option '%s' is not supported by keyless.", clip(name))
		}
	}
	if q.count && !eventual(c.r) {
		return q, errorf(http.StatusBadRequest, "Request_BadRequest", "$count on directory objects is an advanced query: send the ConsistencyLevel: eventual header.")
	}
	return q, nil
}

func eventual(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual")
}

// writeCollection answers a collection: filtered, counted, paged by object
// ID (a $skiptoken names the last ID of the previous page) and projected.
func (s *Service) writeCollection(c *call, contextPath string, q query, objs []object) {
	sort.Slice(objs, func(i, j int) bool { return idOf(objs[i]) < idOf(objs[j]) })
	var matched []object
	for _, o := range objs {
		if q.filter == nil || match(q.filter, o) {
			matched = append(matched, o)
		}
	}
	body := map[string]any{"@odata.context": s.graphURL("$metadata#" + contextPath)}
	if q.count {
		body["@odata.count"] = len(matched)
	}
	start := 0
	if q.after != "" {
		start = sort.Search(len(matched), func(i int) bool { return idOf(matched[i]) > q.after })
	}
	page := matched[start:min(start+q.top, len(matched))]
	if start+len(page) < len(matched) {
		body["@odata.nextLink"] = s.nextLink(c, idOf(page[len(page)-1]))
	}
	value := make([]map[string]any, 0, len(page))
	for _, o := range page {
		value = append(value, project(o, q.selects))
	}
	body["value"] = value
	writeJSON(c.w, http.StatusOK, body)
}

// writeCount answers /{collection}/$count: the number as text.
func writeCount(c *call, q query, objs []object) error {
	if !eventual(c.r) {
		return errorf(http.StatusBadRequest, "Request_BadRequest", "$count on directory objects is an advanced query: send the ConsistencyLevel: eventual header.")
	}
	n := 0
	for _, o := range objs {
		if q.filter == nil || match(q.filter, o) {
			n++
		}
	}
	c.w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(strconv.Itoa(n)))
	return nil
}

func (s *Service) nextLink(c *call, lastID string) string {
	values := url.Values{}
	for k, vs := range c.r.URL.Query() {
		if !strings.EqualFold(k, "$skiptoken") {
			values[k] = vs
		}
	}
	values.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(lastID)))
	// "$" needs no escape in a query; Graph's links keep it literal.
	return s.cfg.BaseURL + c.r.URL.EscapedPath() + "?" + strings.ReplaceAll(values.Encode(), "%24", "$")
}

// object is a directory object as its JSON decodes: what filters read and
// responses write.
type object = map[string]any

func idOf(o object) string { s, _ := o["id"].(string); return s }

// project keeps the selected properties (and the type annotation), or
// every property without $select.
func project(o object, selects []string) object {
	if len(selects) == 0 {
		return o
	}
	out := object{}
	if t, ok := o["@odata.type"]; ok {
		out["@odata.type"] = t
	}
	for _, p := range selects {
		for k, v := range o {
			if strings.EqualFold(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

// declaredOf names an object's properties, lower case.
func declaredOf(o object) map[string]bool {
	m := map[string]bool{}
	for k := range o {
		if !strings.HasPrefix(k, "@") {
			m[strings.ToLower(k)] = true
		}
	}
	return m
}
