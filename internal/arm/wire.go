package arm

import (
	"encoding/json"
	"time"
)

// systemData is ARM's read-only audit block (armmsi.SystemData,
// reference §8.1). createdBy is the caller's object ID.
type systemData struct {
	CreatedBy      string `json:"createdBy,omitempty"`
	CreatedAt      string `json:"createdAt,omitempty"`
	LastModifiedBy string `json:"lastModifiedBy,omitempty"`
	LastModifiedAt string `json:"lastModifiedAt,omitempty"`
}

func newSystemData(createdBy string, createdAt time.Time, modifiedBy string, modifiedAt time.Time) *systemData {
	return &systemData{
		CreatedBy: createdBy, CreatedAt: timestamp(createdAt),
		LastModifiedBy: modifiedBy, LastModifiedAt: timestamp(modifiedAt),
	}
}

// timestamp formats RFC 3339 in UTC, which azcore's time parsers accept.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// decodeTags reads a tags member: absent is nil (unchanged on PATCH, none
// on PUT), null is an empty map (clear), otherwise an object of strings.
func decodeTags(raw json.RawMessage) (map[string]string, error) {
	if raw == nil {
		return nil, nil
	}
	tags := map[string]string{}
	if isJSONNull(raw) {
		return tags, nil
	}
	var members map[string]json.RawMessage
	if err := decodeMember(raw, "tags", &members); err != nil {
		return nil, err
	}
	// Checked member by member so that the error names the tag: the JSON
	// decoder does not report map keys in its type errors.
	for k, v := range members {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, invalidContent("tags."+k, "the value of 'tags.%s' is a JSON %s but must be a string.", k, jsonTypeOf(v))
		}
		tags[k] = s
	}
	return tags, nil
}

// jsonTypeOf names the JSON type of a value for error messages.
func jsonTypeOf(raw json.RawMessage) string {
	t := trimJSON(raw)
	if len(t) == 0 {
		return "value"
	}
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isJSONNull(raw json.RawMessage) bool {
	return string(trimJSON(raw)) == "null"
}

func trimJSON(raw json.RawMessage) []byte {
	i, j := 0, len(raw)
	for i < j && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	for j > i && (raw[j-1] == ' ' || raw[j-1] == '\t' || raw[j-1] == '\n' || raw[j-1] == '\r') {
		j--
	}
	return raw[i:j]
}

// decodeString reads an optional string member ("" when absent or null).
func decodeString(raw json.RawMessage, name string) (string, error) {
	if raw == nil || isJSONNull(raw) {
		return "", nil
	}
	var s string
	if err := decodeMember(raw, name, &s); err != nil {
		return "", err
	}
	return s, nil
}
