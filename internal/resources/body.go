package resources

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// A resource's stored Body is the JSON object of its document members other
// than id, name, type, location and identity (store.Resource). Those members
// are opaque here: they are kept verbatim and merged on PATCH.

// ownMembers are the top-level members this package handles itself rather
// than keeping verbatim: the server-computed ones a client may echo back from
// a GET (id, name, type, systemData, etag), and those with their own rules
// (location, identity, tags).
var ownMembers = map[string]bool{
	"id": true, "name": true, "type": true, "location": true, "identity": true,
	"systemdata": true, "tags": true, "etag": true,
}

func decodeBody(b []byte) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

func encodeBody(m map[string]json.RawMessage) []byte {
	if len(m) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(m)
	return b
}

// BodyTags returns the tags kept in a stored body.
func BodyTags(body []byte) map[string]string {
	m := decodeBody(body)
	tags := map[string]string{}
	if raw, ok := m["tags"]; ok {
		_ = json.Unmarshal(raw, &tags)
	}
	return tags
}

func setTags(m map[string]json.RawMessage, tags map[string]string) {
	if len(tags) == 0 {
		delete(m, "tags")
		return
	}
	b, _ := json.Marshal(tags)
	m["tags"] = b
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// mergePatch applies an RFC 7396 JSON merge patch: objects merge member by
// member, null removes a member, anything else replaces. This is the ARM
// guideline for PATCH of resource properties.
func mergePatch(target, patch json.RawMessage) json.RawMessage {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil || p == nil {
		return patch
	}
	t := map[string]json.RawMessage{}
	if err := json.Unmarshal(target, &t); err != nil || t == nil {
		t = map[string]json.RawMessage{}
	}
	for k, v := range p {
		if isNull(v) {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	b, _ := json.Marshal(t)
	return b
}

// Limits ARM applies to tags.
const (
	maxTags        = 50
	maxTagName     = 512
	maxTagValueLen = 256
)

func validateTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return invalid(CodeInvalidParameter, "tags", "A resource can have at most %d tags; the request has %d.", maxTags, len(tags))
	}
	for k, v := range tags {
		if k == "" || utf8.RuneCountInString(k) > maxTagName || strings.ContainsAny(k, `<>%&\?/`) {
			return invalid(CodeInvalidParameter, "tags", "The tag name '%s' is invalid. Tag names are 1 to %d characters and cannot contain < > %% & \\ ? /.", k, maxTagName)
		}
		if utf8.RuneCountInString(v) > maxTagValueLen {
			return invalid(CodeInvalidParameter, "tags", "The value of tag '%s' is longer than %d characters.", k, maxTagValueLen)
		}
	}
	return nil
}
