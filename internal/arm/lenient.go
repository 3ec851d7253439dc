package arm

import "encoding/json"

// ARM reads request bodies with Json.NET, which accepts object keys
// without quotes; az relies on it. `az deployment group create|what-if`
// (every az version to date) splices the template into the serialized
// request as `, template: {...}}}` (JsonCTemplatePolicy), keeping the
// template's own text and key order. quoteBareKeys rewrites such keys
// (identifiers directly after '{' or ',') as quoted strings, leaving
// strings and everything else alone; readBody tries it only on a body
// that is not valid JSON, and keeps the result only if it then is.
func quoteBareKeys(body []byte) ([]byte, bool) {
	out := make([]byte, 0, len(body)+16)
	inString, escaped, changed := false, false, false
	expectKey := false
	for i := 0; i < len(body); i++ {
		b := body[i]
		if inString {
			out = append(out, b)
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch {
		case b == '"':
			inString, expectKey = true, false
		case b == '{' || b == ',':
			expectKey = true
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
		case expectKey && isIdentStart(b):
			j := i
			for j < len(body) && isIdentPart(body[j]) {
				j++
			}
			k := j
			for k < len(body) && (body[k] == ' ' || body[k] == '\t' || body[k] == '\n' || body[k] == '\r') {
				k++
			}
			if k < len(body) && body[k] == ':' {
				out = append(out, '"')
				out = append(out, body[i:j]...)
				out = append(out, '"')
				i = j - 1
				changed, expectKey = true, false
				continue
			}
			expectKey = false
		default:
			expectKey = false
		}
		out = append(out, b)
	}
	if !changed || !json.Valid(out) {
		return nil, false
	}
	return out, true
}

func isIdentStart(b byte) bool {
	return b == '_' || b == '$' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func isIdentPart(b byte) bool { return isIdentStart(b) || b >= '0' && b <= '9' }
