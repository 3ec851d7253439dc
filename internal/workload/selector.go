package workload

import (
	"net/url"
	"strings"
)

// SelectorKind says how a token request names the identity it wants.
type SelectorKind int

const (
	// SelectDefault: no selector; system-assigned if enabled, else the only
	// user-assigned identity.
	SelectDefault SelectorKind = iota
	// SelectClientID: by client (application) ID.
	SelectClientID
	// SelectObjectID: by object (principal) ID.
	SelectObjectID
	// SelectResourceID: by the ARM ID of a user-assigned identity.
	SelectResourceID
)

// Selector names the identity a token request wants.
type Selector struct {
	Kind  SelectorKind
	Value string
}

// Key is a canonical form for caches: kind plus the value, lower-cased
// (GUIDs and ARM IDs compare case-insensitively).
func (s Selector) Key() string {
	switch s.Kind {
	case SelectClientID:
		return "client_id=" + strings.ToLower(s.Value)
	case SelectObjectID:
		return "object_id=" + strings.ToLower(s.Value)
	case SelectResourceID:
		return "msi_res_id=" + strings.ToLower(s.Value)
	}
	return "default"
}

// Param is the query parameter that carries the selector on the wire to
// the server ("" for the default identity).
func (s Selector) Param() string {
	switch s.Kind {
	case SelectClientID:
		return "client_id"
	case SelectObjectID:
		return "object_id"
	case SelectResourceID:
		return "msi_res_id"
	}
	return ""
}

// SelectorParams maps every selector spelling the clients send to its
// kind: Go and JS send client_id, object_id and msi_res_id (IMDS, Arc) or
// mi_res_id (App Service); principal_id is the documented App Service alias
// of object_id.
var SelectorParams = map[string]SelectorKind{
	"client_id":    SelectClientID,
	"object_id":    SelectObjectID,
	"principal_id": SelectObjectID,
	"msi_res_id":   SelectResourceID,
	"mi_res_id":    SelectResourceID,
}

// ParseSelector reads the selector from query or form values. More than
// one selector, or one given twice, is an invalid request: guessing which
// one the caller meant could hand out the wrong identity.
func ParseSelector(v url.Values) (Selector, error) {
	var sel Selector
	var found string
	for name, kind := range SelectorParams {
		vals, ok := v[name]
		if !ok {
			continue
		}
		if found != "" || len(vals) != 1 {
			return Selector{}, fail(CodeInvalidRequest, "Only one of client_id, object_id (principal_id) and msi_res_id (mi_res_id) may be given, once.")
		}
		if strings.TrimSpace(vals[0]) == "" {
			return Selector{}, fail(CodeInvalidRequest, "The %s parameter is empty.", name)
		}
		found = name
		sel = Selector{Kind: kind, Value: strings.TrimSpace(vals[0])}
	}
	return sel, nil
}
