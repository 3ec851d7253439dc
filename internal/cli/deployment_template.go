package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// This file reads what `keyless deployment ... create|what-if|validate`
// send: the template file and the -p/--parameters words, as az reads them.

// deploymentTemplate is a template file ready to send.
type deploymentTemplate struct {
	path string
	// text is the template as written, with comments blanked out (spaces,
	// newlines kept) so that it is plain JSON whose every line and column
	// are the file's: it is sent verbatim, so the server's InvalidTemplate
	// errors name positions in the user's file, as with az (which splices
	// the file's text into the request for the same reason).
	text []byte
	// doc is the decoded template (numbers as json.Number), for the SDK
	// model and for typing key=value parameters.
	doc map[string]any
}

// loadTemplate reads -f/--template-file. ARM templates may carry // and
// /* */ comments; Bicep files are compiled, their diagnostics printed on
// diag.
func loadTemplate(path string, diag io.Writer) (*deploymentTemplate, error) {
	if path == "" {
		return nil, errors.New("give the template with --template-file (-f)")
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".bicep":
		return compileBicep(path, diag)
	case ".bicepparam":
		return nil, fmt.Errorf("--template-file %s: a .bicepparam file is a parameters file; give it with --parameters and the template with --template-file", path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--template-file: %w", err)
	}
	return parseTemplate(path, raw)
}

func parseTemplate(path string, raw []byte) (*deploymentTemplate, error) {
	text := blankJSONComments(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))
	var doc map[string]any
	if err := decodeJSONNumbers(text, &doc); err != nil {
		return nil, fmt.Errorf("--template-file %s is not a JSON template: %s", path, jsonErrorAt(text, err))
	}
	if doc == nil {
		return nil, fmt.Errorf("--template-file %s is not a JSON template: it must be an object", path)
	}
	return &deploymentTemplate{path: path, text: text, doc: doc}, nil
}

// defaultDeploymentName is az's default: the template file's base name
// without its extension.
func defaultDeploymentName(templatePath string) string {
	base := filepath.Base(templatePath)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// blankJSONComments replaces // and /* */ comments outside strings with
// spaces, keeping newlines, so positions do not move.
func blankJSONComments(src []byte) []byte {
	out := append([]byte(nil), src...)
	inString, escaped := false, false
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				if out[i] != '\r' {
					out[i] = ' '
				}
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			out[i], out[i+1] = ' ', ' '
			for i += 2; i < len(out); i++ {
				if out[i] == '*' && i+1 < len(out) && out[i+1] == '/' {
					out[i], out[i+1] = ' ', ' '
					i++
					break
				}
				if out[i] != '\n' && out[i] != '\r' {
					out[i] = ' '
				}
			}
		}
	}
	return out
}

func decodeJSONNumbers(raw []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("more than one JSON value")
	}
	return nil
}

// jsonErrorAt says where a JSON syntax error is, as line and column.
func jsonErrorAt(src []byte, err error) string {
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return err.Error()
	}
	// Offset counts the bytes read, the offending one included.
	at := max(min(int(syn.Offset), len(src))-1, 0)
	line := 1 + bytes.Count(src[:at], []byte("\n"))
	col := at - bytes.LastIndexByte(src[:at], '\n')
	return fmt.Sprintf("%s (line %d, column %d)", syn.Error(), line, col)
}

// parameterDeclaration is what the template declares for one parameter.
type parameterDeclaration struct {
	name string // as the template spells it
	typ  string // lower case: string, securestring, int, bool, array, object, secureobject, or "" when unknown
}

// declaredParameters reads the template's parameters section. A type given
// by a user-defined type ($ref to #/definitions/X, languageVersion 2.0) is
// followed to the definition's type.
func (t *deploymentTemplate) declaredParameters() map[string]parameterDeclaration {
	out := map[string]parameterDeclaration{}
	params, _ := t.doc["parameters"].(map[string]any)
	definitions, _ := t.doc["definitions"].(map[string]any)
	for name, v := range params {
		decl, _ := v.(map[string]any)
		out[strings.ToLower(name)] = parameterDeclaration{name: name, typ: declaredType(decl, definitions)}
	}
	return out
}

func declaredType(decl, definitions map[string]any) string {
	for range 32 { // a bound on $ref chains, cycles included
		if t, ok := decl["type"].(string); ok {
			return strings.ToLower(t)
		}
		ref, _ := decl["$ref"].(string)
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		if !ok {
			return ""
		}
		if decl, ok = lookupFold(definitions, name).(map[string]any); !ok {
			return ""
		}
	}
	return ""
}

func lookupFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// deploymentParameters is the properties.parameters object being built:
// names compare case-insensitively, as ARM's do, and a later -p replaces
// an earlier one.
type deploymentParameters struct {
	order  []string // lower-case names, first-given order
	names  map[string]string
	values map[string]any
}

func (p *deploymentParameters) set(name string, entry any) {
	if p.names == nil {
		p.names, p.values = map[string]string{}, map[string]any{}
	}
	key := strings.ToLower(name)
	if _, seen := p.names[key]; !seen {
		p.order = append(p.order, key)
	}
	p.names[key], p.values[key] = name, entry
}

// object is the parameters as the SDK model takes them.
func (p *deploymentParameters) object() map[string]any {
	out := make(map[string]any, len(p.order))
	for _, k := range p.order {
		out[p.names[k]] = p.values[k]
	}
	return out
}

// parameterReader reads -p/--parameters words.
type parameterReader struct {
	// diag receives a .bicepparam file's diagnostics.
	diag io.Writer
	// compiled are .bicepparam files already compiled, by path: their
	// deploymentParameters documents.
	compiled map[string][]byte
}

// parseParameters reads -p/--parameters words in order, as az does: a
// parameters file (`@file.json`, or the path of an existing file), whose
// "parameters" member is taken when it has one (a deploymentParameters
// file) and otherwise the whole object; a .bicepparam file, compiled; an
// inline JSON object, read the same way; or key=value, its value typed by
// the parameter's declared type (int, bool, array and object values are
// JSON; an array or object may be @file). A key the template does not
// declare is refused with the names it does declare.
func parseParameters(words []string, tpl *deploymentTemplate) (*deploymentParameters, error) {
	return parameterReader{diag: io.Discard}.parse(words, tpl)
}

func (r parameterReader) parse(words []string, tpl *deploymentTemplate) (*deploymentParameters, error) {
	params := &deploymentParameters{}
	var declared map[string]parameterDeclaration
	if tpl != nil {
		declared = tpl.declaredParameters()
	}
	for _, word := range words {
		if strings.TrimSpace(word) == "" {
			continue
		}
		obj, isObject, err := r.object(word)
		if err != nil {
			return nil, err
		}
		if isObject {
			for _, name := range sortedKeys(obj) {
				params.set(name, obj[name])
			}
			continue
		}
		key, value, ok := strings.Cut(word, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("--parameters: cannot read %q: give @file.json, a JSON object, or key=value", word)
		}
		name, entry, err := keyValueParameter(key, value, declared, tpl != nil)
		if err != nil {
			return nil, err
		}
		params.set(name, entry)
	}
	return params, nil
}

// object reads a word that is a parameters file or an inline JSON
// object; isObject is false for anything else (key=value).
func (r parameterReader) object(word string) (map[string]any, bool, error) {
	var raw []byte
	source := "--parameters"
	bicepParams, isBicepParams := isBicepParams(word)
	switch {
	case isBicepParams:
		if raw = r.compiled[bicepParams]; raw == nil {
			b, _, err := compileBicepParams(bicepParams, r.diag)
			if err != nil {
				return nil, false, err
			}
			raw = b
		}
		source = "--parameters " + bicepParams
	case strings.HasPrefix(word, "@"):
		b, err := os.ReadFile(word[1:])
		if err != nil {
			return nil, false, fmt.Errorf("--parameters: %w", err)
		}
		raw, source = b, "--parameters "+word
	case isRegularFile(word):
		b, err := os.ReadFile(word)
		if err != nil {
			return nil, false, fmt.Errorf("--parameters: %w", err)
		}
		raw, source = b, "--parameters "+word
	case strings.HasPrefix(strings.TrimSpace(word), "{"):
		raw = []byte(word)
	default:
		return nil, false, nil
	}
	text := blankJSONComments(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))
	var doc any
	if err := decodeJSONNumbers(text, &doc); err != nil {
		return nil, false, fmt.Errorf("%s is not JSON: %s", source, jsonErrorAt(text, err))
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, false, fmt.Errorf("%s must be a JSON object: a deploymentParameters file or {\"name\": {\"value\": ...}}", source)
	}
	if inner, ok := lookupFold(obj, "parameters").(map[string]any); ok {
		obj = inner
	}
	return obj, true, nil
}

func isRegularFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// keyValueParameter types a key=value word by the template's declaration.
func keyValueParameter(key, value string, declared map[string]parameterDeclaration, known bool) (string, any, error) {
	decl, ok := declared[strings.ToLower(key)]
	if !ok {
		if known {
			names := make([]string, 0, len(declared))
			for _, d := range declared {
				names = append(names, d.name)
			}
			sort.Strings(names)
			allowed := strings.Join(names, ", ")
			if allowed == "" {
				allowed = "none (the template declares no parameters)"
			}
			return "", nil, fmt.Errorf("--parameters: unrecognized template parameter '%s'. Allowed parameters: %s", key, allowed)
		}
		return key, map[string]any{"value": value}, nil
	}
	var v any
	switch decl.typ {
	case "int":
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return "", nil, fmt.Errorf("--parameters %s=%s: '%s' is an int parameter; %q is not an integer", key, value, decl.name, value)
		}
		v = n
	case "bool":
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "true":
			v = true
		case "false":
			v = false
		default:
			return "", nil, fmt.Errorf("--parameters %s=%s: '%s' is a bool parameter; give true or false", key, value, decl.name)
		}
	case "array", "object", "secureobject":
		raw := []byte(value)
		if strings.HasPrefix(value, "@") {
			b, err := os.ReadFile(value[1:])
			if err != nil {
				return "", nil, fmt.Errorf("--parameters %s: %w", key, err)
			}
			raw = blankJSONComments(b)
		}
		if err := decodeJSONNumbers(raw, &v); err != nil {
			return "", nil, fmt.Errorf("--parameters %s: '%s' is an %s parameter; its value must be JSON: %s", key, decl.name, decl.typ, jsonErrorAt(raw, err))
		}
		want := decl.typ
		if want == "secureobject" {
			want = "object"
		}
		if _, isArray := v.([]any); want == "array" && !isArray {
			return "", nil, fmt.Errorf("--parameters %s: '%s' is an array parameter; give a JSON array", key, decl.name)
		}
		if _, isObject := v.(map[string]any); want == "object" && !isObject {
			return "", nil, fmt.Errorf("--parameters %s: '%s' is an %s parameter; give a JSON object", key, decl.name, decl.typ)
		}
	default:
		// string, securestring, and types that cannot be told (az
		// sends those as strings too).
		v = value
	}
	return decl.name, map[string]any{"value": v}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
