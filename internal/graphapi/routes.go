package graphapi

import (
	"net/http"
	"strings"
)

// route dispatches on the first path segment. Segment names compare
// without case, as Graph's do; "microsoft.graph." before an action name
// (the fully qualified form) is the same action.
func (s *Service) route(c *call) error {
	if len(c.segs) == 0 {
		return badRequest("Invalid request: name an entity set, such as /v1.0/applications.")
	}
	name, _, _ := keySegment(c.segs[0])
	switch strings.ToLower(name) {
	case "applications":
		return s.applications(c)
	case "serviceprincipals":
		return s.servicePrincipals(c)
	case "groups":
		return s.groups(c)
	case "directoryobjects":
		return s.directoryObjects(c)
	case "organization":
		return s.organization(c)
	case "users":
		return s.users(c)
	case "directoryroles":
		return s.directoryRoles(c)
	case "rolemanagement":
		return s.roleManagement(c)
	case "me":
		return badRequest("/me request is only valid with delegated authentication flow.")
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(c.segs[0]))
}

// keySegment splits "applications(appId='x')" into the entity set, the
// key property and its value; a plain segment has no key.
func keySegment(seg string) (name, keyProp, keyValue string) {
	open := strings.IndexByte(seg, '(')
	if open < 0 || !strings.HasSuffix(seg, ")") {
		return seg, "", ""
	}
	name, inner := seg[:open], seg[open+1:len(seg)-1]
	prop, val, ok := strings.Cut(inner, "=")
	if !ok {
		return name, "", ""
	}
	val = strings.TrimSpace(val)
	if len(val) >= 2 && val[0] == '\'' && val[len(val)-1] == '\'' {
		val = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
	}
	return name, strings.TrimSpace(prop), val
}

// action names the segment as an action or navigation property.
func action(seg string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(seg, "microsoft.graph."), "Microsoft.Graph."))
}

// itemPath splits the request into the item's address (its key segment, or
// the collection with an ID segment) and what follows it.
//
//	applications/{id}/addPassword          -> key "", id {id}, rest [addPassword]
//	applications(appId='{appId}')/owners   -> key appId, id {appId}, rest [owners]
func itemPath(segs []string) (keyProp, id string, rest []string, ok bool) {
	_, keyProp, keyValue := keySegment(segs[0])
	if keyProp != "" {
		return keyProp, keyValue, segs[1:], true
	}
	if len(segs) < 2 {
		return "", "", nil, false
	}
	return "", segs[1], segs[2:], true
}

func is(method string, c *call) bool { return c.r.Method == method }
