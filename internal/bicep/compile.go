package bicep

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options configure a compilation.
type Options struct {
	// ModuleCache is the local module cache: registry modules (br:,
	// br/public:, ts:) resolve from it, laid out as described in the
	// package documentation. Nil: registry modules are an error (BCP192).
	ModuleCache fs.FS
	// NoLint skips the linter rules (Compile runs them by default and
	// reports their findings as warnings).
	NoLint bool
	// LookupEnv reads environment variables for readEnvironmentVariable()
	// in .bicepparam files; nil: the process environment (os.LookupEnv).
	LookupEnv func(name string) (string, bool)
}

// Result is a compiled template and the diagnostics of every file
// involved. Template is nil when there are errors.
type Result struct {
	Template    []byte // indented JSON
	Diagnostics []Diagnostic
}

// ParamsResult is a compiled .bicepparam file.
type ParamsResult struct {
	Parameters []byte // deploymentParameters JSON
	// Template is the compiled template of the file named by using (nil
	// for using none).
	Template    []byte
	Diagnostics []Diagnostic
}

// ErrorCount returns the number of error diagnostics.
func ErrorCount(ds []Diagnostic) int {
	n := 0
	for _, d := range ds {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

// generatorVersion is metadata._generator.version of emitted templates.
const generatorVersion = "keyless"

type compiler struct {
	fsys    fs.FS
	opts    Options
	diags   diagList
	models  map[string]*model
	loading map[string]bool
	jsons   map[string]any
}

func newCompiler(fsys fs.FS, opts Options) *compiler {
	return &compiler{fsys: fsys, opts: opts, models: map[string]*model{}, loading: map[string]bool{}, jsons: map[string]any{}}
}

// Compile compiles the Bicep file at path in fsys into an ARM template.
// Modules and imports resolve relative to the file that names them. The
// error is non-nil only when path cannot be read; problems in the source
// are diagnostics, and Template is nil when any is an error.
func Compile(fsys fs.FS, file string, opts Options) (*Result, error) {
	c := newCompiler(fsys, opts)
	file = path.Clean(file)
	if _, err := fs.Stat(fsys, file); err != nil {
		return nil, err
	}
	m := c.load(file, nil, Pos{})
	res := &Result{}
	if m != nil && !c.diags.hasErrors() {
		if !opts.NoLint {
			lint(m, &c.diags)
		}
		t := c.template(m)
		if !c.diags.hasErrors() {
			res.Template = marshalTemplate(t)
		}
	} else if m != nil && !opts.NoLint {
		lint(m, &c.diags)
	}
	res.Diagnostics = c.diags.result()
	return res, nil
}

// Lint returns the diagnostics of the Bicep file at path, linter rules
// included, without emitting a template.
func Lint(fsys fs.FS, file string, opts Options) ([]Diagnostic, error) {
	c := newCompiler(fsys, opts)
	file = path.Clean(file)
	if _, err := fs.Stat(fsys, file); err != nil {
		return nil, err
	}
	m := c.load(file, nil, Pos{})
	if m != nil {
		lint(m, &c.diags)
		if !c.diags.hasErrors() {
			c.template(m) // emission reports the conversions' diagnostics
		}
	}
	return c.diags.result(), nil
}

func marshalTemplate(v any) []byte {
	var b strings.Builder
	writeJSON(&b, v, 0)
	return []byte(b.String())
}

// load parses, binds and checks a Bicep file once per compilation.
func (c *compiler) load(file string, from *model, at Pos) *model {
	if m, ok := c.models[file]; ok {
		return m
	}
	if c.loading[file] {
		if from != nil {
			from.errorf(at, "BCP095", "The file is involved in a cycle (%q).", file)
		}
		return nil
	}
	src, err := fs.ReadFile(c.fsys, file)
	if err != nil {
		if from != nil {
			from.errorf(at, "BCP091", "An error occurred reading file. Could not find file %q.", file)
		} else {
			c.diags.add(file, Pos{Line: 1, Column: 1}, SeverityError, "BCP091", "An error occurred reading file: %v.", err)
		}
		return nil
	}
	c.loading[file] = true
	defer delete(c.loading, file)
	return c.loadSource(file, string(src))
}

// loadSource binds and checks Bicep source read from file (or made from
// it, as for an ARM template imported from).
func (c *compiler) loadSource(file, src string) *model {
	f := parse(file, src, &c.diags)
	m := &model{c: c, file: f, path: file, diags: &c.diags}
	m.bind()
	m.computeDeps()
	m.decideSymbolic()
	m.computeInline()
	m.check()
	c.models[file] = m
	return m
}

// loadModule resolves a module path: a local .bicep or .json file, or a
// registry reference served from the module cache.
func (c *compiler) loadModule(m *model, ref string, at Pos) (*model, any) {
	if isRegistryRef(ref) {
		file, ok := c.cachePath(ref)
		if !ok {
			m.errorf(at, "BCP192", "Unable to restore the module with reference %q: keyless compiles without network access. Put the module in the local module cache (Options.ModuleCache, --module-cache) as %s.", ref, cacheLayoutHint(ref))
			return nil, nil
		}
		return c.loadModuleFile(m, c.opts.ModuleCache, file, at, true)
	}
	if strings.Contains(ref, "\\") {
		m.errorf(at, "BCP098", "The specified file path contains a \"\\\" character. Use \"/\" instead as the directory separator character.")
		return nil, nil
	}
	if path.IsAbs(ref) || strings.Contains(ref, "://") {
		m.errorf(at, "BCP085", "The specified file path %q must be relative to the referencing file.", ref)
		return nil, nil
	}
	file := path.Join(path.Dir(m.path), ref)
	if file == ".." || strings.HasPrefix(file, "../") {
		m.errorf(at, "BCP091", "An error occurred reading file. The path %q leaves the compiled directory.", ref)
		return nil, nil
	}
	return c.loadModuleFile(m, c.fsys, file, at, false)
}

func (c *compiler) loadModuleFile(m *model, fsys fs.FS, file string, at Pos, cached bool) (*model, any) {
	if strings.HasSuffix(strings.ToLower(file), ".json") {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			m.errorf(at, "BCP091", "An error occurred reading file. Could not find file %q.", file)
			return nil, nil
		}
		v, err := decodeOrdered(data)
		if err != nil {
			m.errorf(at, "BCP188", "The referenced ARM template has errors: %v.", err)
			return nil, nil
		}
		return nil, v
	}
	if cached {
		// A cached Bicep module compiles from the cache's file system.
		sub := newCompiler(fsys, c.opts)
		sm := sub.load(file, nil, Pos{})
		for _, d := range sub.diags.result() {
			c.diags.items = append(c.diags.items, d)
		}
		return sm, nil
	}
	return c.load(file, m, at), nil
}

func isRegistryRef(ref string) bool {
	return strings.HasPrefix(ref, "br:") || strings.HasPrefix(ref, "br/") || strings.HasPrefix(ref, "ts:") || strings.HasPrefix(ref, "ts/")
}

// cachePath maps a registry reference to its place in the module cache.
func (c *compiler) cachePath(ref string) (string, bool) {
	if c.opts.ModuleCache == nil {
		return "", false
	}
	dir := cacheDir(ref)
	if dir == "" {
		return "", false
	}
	for _, name := range []string{"main.json", "main.bicep"} {
		p := path.Join(dir, name)
		if _, err := fs.Stat(c.opts.ModuleCache, p); err == nil {
			return p, true
		}
	}
	return "", false
}

// cacheDir: br:registry/repo/path:tag and br/public:path:tag (the
// default alias for mcr.microsoft.com/bicep) map to br/<registry>/<repo
// path>/<tag>; ts:sub/rg/name:version to ts/<sub>/<rg>/<name>/<version>.
func cacheDir(ref string) string {
	switch {
	case strings.HasPrefix(ref, "br/public:"):
		ref = "br:mcr.microsoft.com/bicep/" + strings.TrimPrefix(ref, "br/public:")
	case strings.HasPrefix(ref, "br/"):
		return "" // other aliases need bicepconfig.json
	}
	kind, rest, _ := strings.Cut(ref, ":")
	var repo, version string
	if kind == "br" {
		if at := strings.LastIndex(rest, "@"); at > 0 {
			repo, version = rest[:at], strings.ReplaceAll(rest[at+1:], ":", "_")
		} else if colon := strings.LastIndex(rest, ":"); colon > 0 {
			repo, version = rest[:colon], rest[colon+1:]
		} else {
			return ""
		}
	} else if kind == "ts" {
		colon := strings.LastIndex(rest, ":")
		if colon <= 0 {
			return ""
		}
		repo, version = rest[:colon], rest[colon+1:]
	} else {
		return ""
	}
	clean := path.Clean(repo)
	if clean == "." || strings.HasPrefix(clean, "..") || path.IsAbs(clean) || strings.Contains(version, "/") || version == ".." {
		return ""
	}
	return path.Join(kind, clean, version)
}

func cacheLayoutHint(ref string) string {
	if d := cacheDir(ref); d != "" {
		return d + "/main.json"
	}
	return "br/<registry>/<repository>/<tag>/main.json"
}

func jsonTemplateScope(v any) string {
	o, ok := v.(*jObject)
	if !ok {
		return "resourceGroup"
	}
	s, _ := o.get("$schema")
	schema, _ := s.(string)
	switch {
	case strings.Contains(schema, "subscriptionDeploymentTemplate"):
		return "subscription"
	case strings.Contains(schema, "managementGroupDeploymentTemplate"):
		return "managementGroup"
	case strings.Contains(schema, "tenantDeploymentTemplate"):
		return "tenant"
	}
	return "resourceGroup"
}

// decodeOrdered reads JSON keeping object key order; a number that is not
// an integer becomes its text.
func decodeOrdered(data []byte) (any, error) {
	return decodeJSON(data, func(n json.Number) any { return string(n) })
}

// decodeJSON reads one JSON document keeping object key order, integers as
// int64 and other numbers as nonInteger says.
func decodeJSON(data []byte, nonInteger func(json.Number) any) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0, nonInteger)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int, nonInteger func(json.Number) any) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			o := newObj()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec, depth+1, nonInteger)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1, nonInteger)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		return nonInteger(x), nil
	case string, bool, nil:
		return x, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

// jsonToExpr turns a JSON value into the Bicep literal it stands for, so
// loaded JSON and YAML compile like literals written in the file.
func jsonToExpr(v any, p Pos) Expr {
	switch x := v.(type) {
	case nil:
		return &NullLit{exprBase{p}}
	case bool:
		return &BoolLit{exprBase{p}, x}
	case int64:
		if x < 0 {
			return &UnaryExpr{exprBase{p}, "-", &IntLit{exprBase{p}, -x, ""}}
		}
		return &IntLit{exprBase{p}, x, ""}
	case int:
		return jsonToExpr(int64(x), p)
	case float64:
		if x == float64(int64(x)) {
			return jsonToExpr(int64(x), p)
		}
		return &CallExpr{exprBase: exprBase{p}, Name: "json", Args: []Expr{&StringLit{exprBase{p}, strconv.FormatFloat(x, 'f', -1, 64)}}}
	case string:
		return &StringLit{exprBase{p}, x}
	case []any:
		arr := &ArrayLit{exprBase: exprBase{p}}
		for _, it := range x {
			arr.Items = append(arr.Items, jsonToExpr(it, p))
		}
		return arr
	case *jObject:
		o := &ObjectLit{exprBase: exprBase{p}}
		for i, k := range x.keys {
			o.Props = append(o.Props, &Property{Pos: p, Key: k, Value: jsonToExpr(x.vals[i], p)})
		}
		return o
	case map[string]any:
		o := &ObjectLit{exprBase: exprBase{p}}
		for k, val := range x {
			o.Props = append(o.Props, &Property{Pos: p, Key: k, Value: jsonToExpr(val, p)})
		}
		return o
	}
	return &NullLit{exprBase{p}}
}

// loadFunction evaluates loadTextContent, loadJsonContent,
// loadYamlContent and loadFileAsBase64 at compile time; nil for any other
// call.
func (c *cx) loadFunction(x *CallExpr) Expr {
	if x.Receiver != nil && !isNamespace(x.Receiver, "sys") {
		return nil
	}
	switch x.Name {
	case "loadTextContent", "loadJsonContent", "loadYamlContent", "loadFileAsBase64":
	default:
		return nil
	}
	if len(x.Args) == 0 {
		c.errorf(x.Pos, "BCP071", "Expected 1 to 3 arguments, but got 0.")
		return &NullLit{exprBase{x.Pos}}
	}
	lit, ok := x.Args[0].(*StringLit)
	if !ok {
		c.errorf(x.Args[0].Position(), "BCP032", "The value must be a compile-time constant.")
		return &NullLit{exprBase{x.Pos}}
	}
	file := path.Join(path.Dir(c.m.path), lit.Value)
	data, err := fs.ReadFile(c.m.c.fsys, file)
	if err != nil || path.IsAbs(lit.Value) {
		c.errorf(lit.Pos, "BCP091", "An error occurred reading file. Could not find file %q.", file)
		return &NullLit{exprBase{x.Pos}}
	}
	switch x.Name {
	case "loadTextContent":
		return &StringLit{exprBase{x.Pos}, strings.TrimPrefix(string(data), "\ufeff")}
	case "loadFileAsBase64":
		return &StringLit{exprBase{x.Pos}, base64.StdEncoding.EncodeToString(data)}
	case "loadJsonContent":
		v, err := decodeOrdered(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		if err != nil {
			c.errorf(lit.Pos, "BCP186", "Unable to parse literal JSON value: %v.", err)
			return &NullLit{exprBase{x.Pos}}
		}
		if v, ok = c.selectJSONPath(x, v); !ok {
			return &NullLit{exprBase{x.Pos}}
		}
		return jsonToExpr(v, x.Pos)
	default: // loadYamlContent
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			c.errorf(lit.Pos, "BCP186", "Unable to parse YAML value: %v.", err)
			return &NullLit{exprBase{x.Pos}}
		}
		jv, ok := c.selectJSONPath(x, yamlToJSON(v))
		if !ok {
			return &NullLit{exprBase{x.Pos}}
		}
		return jsonToExpr(jv, x.Pos)
	}
}

// selectJSONPath applies the JSONPath argument of loadJsonContent and
// loadYamlContent (the second one, a compile-time string): $, .name,
// ['name'], [n], [*] and .* are supported; a path with a wildcard selects
// an array of the matches, as Json.NET's SelectTokens does.
func (c *cx) selectJSONPath(x *CallExpr, v any) (any, bool) {
	if len(x.Args) < 2 {
		return v, true
	}
	lit, ok := x.Args[1].(*StringLit)
	if !ok {
		c.errorf(x.Args[1].Position(), "BCP032", "The value must be a compile-time constant.")
		return nil, false
	}
	out, wildcard, err := jsonPath(v, lit.Value)
	if err != nil || len(out) == 0 {
		c.errorf(lit.Pos, "BCP235", "Specified JSONPath does not exist in the given file or is invalid.")
		return nil, false
	}
	if wildcard {
		return out, true
	}
	return out[0], true
}

func jsonPath(root any, p string) ([]any, bool, error) {
	cur := []any{root}
	wildcard := false
	i := 0
	if strings.HasPrefix(p, "$") {
		i = 1
	}
	children := func(v any) []any {
		switch t := v.(type) {
		case *jObject:
			return append([]any(nil), t.vals...)
		case []any:
			return t
		}
		return nil
	}
	for i < len(p) {
		var next []any
		switch {
		case strings.HasPrefix(p[i:], ".*") || strings.HasPrefix(p[i:], "[*]"):
			wildcard = true
			if p[i] == '.' {
				i += 2
			} else {
				i += 3
			}
			for _, v := range cur {
				next = append(next, children(v)...)
			}
		case p[i] == '.':
			j := i + 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			name := p[i+1 : j]
			if name == "" {
				return nil, false, errors.New("empty member name")
			}
			i = j
			for _, v := range cur {
				if o, ok := v.(*jObject); ok {
					if val, ok := o.get(name); ok {
						next = append(next, val)
					}
				}
			}
		case p[i] == '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, false, errors.New("unterminated [")
			}
			inner := strings.TrimSpace(p[i+1 : i+end])
			i += end + 1
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				name := inner[1 : len(inner)-1]
				for _, v := range cur {
					if o, ok := v.(*jObject); ok {
						if val, ok := o.get(name); ok {
							next = append(next, val)
						}
					}
				}
				break
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return nil, false, err
			}
			for _, v := range cur {
				if arr, ok := v.([]any); ok {
					if n < 0 {
						n += len(arr)
					}
					if n >= 0 && n < len(arr) {
						next = append(next, arr[n])
					}
				}
			}
		default:
			return nil, false, errors.New("unexpected character")
		}
		cur = next
	}
	return cur, wildcard, nil
}

func yamlToJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := newObj()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			o.set(k, yamlToJSON(x[k]))
		}
		return o
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = yamlToJSON(it)
		}
		return out
	case int:
		return int64(x)
	}
	return v
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// templateHash is keyless's hash of an emitted template (the official
// compiler's value comes from a closed-source hash; ARM does not check
// it).
func templateHash(t *jObject) string {
	h := fnv.New64a()
	var b strings.Builder
	writeJSON(&b, t, 0)
	h.Write([]byte(b.String()))
	return strconv.FormatUint(h.Sum64(), 10)
}
