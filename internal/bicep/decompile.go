package bicep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// Decompile turns an ARM template (JSON) into Bicep source for the
// constructs the compiler supports: parameters with their decorators,
// variables, resources named after their names, dependsOn dropped where a
// reference implies it, resourceId() and reference() turned back into
// symbolic references where the resource is declared in the template,
// copy into for-expressions, condition into if, nested deployments and
// outputs. A construct that cannot be decompiled faithfully gets a warning
// diagnostic and is left out or kept in its ARM form.
//
// The result is one file: a nested deployment with an inline template
// evaluated in its own scope (expressionEvaluationOptions inner) becomes
// a module, and its file is only returned by DecompileFiles; Decompile
// warns about each one. The error is non-nil only when the input is not
// a JSON template.
func Decompile(templateJSON []byte) ([]byte, []Diagnostic, error) {
	res, err := DecompileFiles(templateJSON, "main.bicep")
	if err != nil {
		return nil, nil, err
	}
	diags := res.Diagnostics
	for _, name := range res.moduleOrder {
		diags = append(diags, Diagnostic{File: "main.bicep", Line: 1, Column: 1, Severity: SeverityWarning, Code: "decompile-module-file",
			Message: fmt.Sprintf("The nested deployment became the module %q, whose file only DecompileFiles (keyless bicep decompile) writes.", name)})
	}
	return res.Files["main.bicep"], diags, nil
}

// DecompileResult is a decompiled template: the main file and one file
// per nested deployment turned into a module, keyed by path relative to
// the main file's directory.
type DecompileResult struct {
	Files       map[string][]byte
	Diagnostics []Diagnostic
	moduleOrder []string
}

// DecompileFiles is Decompile writing nested deployments with inline
// templates as module files next to mainFile (a slash-separated path
// such as "main.bicep"; it names the files and diagnostics).
func DecompileFiles(templateJSON []byte, mainFile string) (*DecompileResult, error) {
	v, err := decodeARM(templateJSON)
	if err != nil {
		return nil, fmt.Errorf("the template is not JSON: %w", err)
	}
	t, ok := v.(*jObject)
	if !ok {
		return nil, errors.New("the template is not a JSON object")
	}
	if _, ok := t.get("resources"); !ok {
		if _, ok := t.get("$schema"); !ok {
			return nil, errors.New("the JSON has neither $schema nor resources: not an ARM template")
		}
	}
	res := &DecompileResult{Files: map[string][]byte{}}
	d := &decompiler{res: res, file: mainFile, src: templateJSON, dir: path.Dir(mainFile)}
	res.Files[mainFile] = d.template(t)
	sort.SliceStable(res.Diagnostics, func(i, j int) bool {
		a, b := res.Diagnostics[i], res.Diagnostics[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return res, nil
}

// decodeARM is decodeOrdered keeping non-integer numbers as json.Number,
// so they are not confused with strings.
func decodeARM(data []byte) (any, error) {
	return decodeJSON(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), func(n json.Number) any { return n })
}

// decompiler decompiles one template (the main file or a module's).
type decompiler struct {
	res  *DecompileResult
	file string
	dir  string
	src  []byte

	scope     string // targetScope
	symbolic  bool   // languageVersion 2.0
	params    map[string]string
	vars      map[string]string
	used      map[string]bool
	resources []*dresource
	bySym     map[string]*dresource // ARM symbolic names (2.0) and copy names
	// loops are the enclosing copy loops, innermost last; lambdas the
	// lambda variables in scope.
	loops []dloop
	// refs collects the symbols an expression refers to, to decide
	// which dependsOn entries are implied.
	refs map[string]bool
	// noSymbols is set inside an outer-scope nested template: resourceId
	// there names resources of the nested deployment's scope.
	noSymbols bool
	// funcs maps "namespace.name" (lower case) of user-defined functions
	// to their Bicep names; fnParams are the parameters of the function
	// being written.
	funcs    map[string]string
	fnParams map[string]string
	// extra are existing resources declared for scopes the template names
	// by ID only.
	extra []string
	// quiet counts the renderings done only to compare names, which
	// report nothing.
	quiet int
}

type dloop struct {
	name, variable string
}

type dresource struct {
	sym      string
	armSym   string
	typ, api string
	obj      *jObject
	name     any      // the full name value
	segs     []string // rendered name segments, for matching resourceId()
	loop     string   // copy name
	module   bool     // a nested deployment decompiled as a module
	file     string   // the module's file
	parent   *dresource
	index    int
	existing bool
	nameText string // for declared existing resources
}

func (d *decompiler) warnf(at string, code, format string, args ...any) {
	if d.quiet > 0 {
		return
	}
	line, col := d.position(at)
	d.res.Diagnostics = append(d.res.Diagnostics, Diagnostic{File: d.file, Line: line, Column: col, Severity: SeverityWarning, Code: code, Message: fmt.Sprintf(format, args...)})
}

// position finds the first occurrence of a JSON string in the source, the
// closest thing to a position a decoded template has.
func (d *decompiler) position(needle string) (int, int) {
	if needle != "" {
		q, _ := json.Marshal(needle)
		if i := bytes.Index(d.src, q); i >= 0 {
			line := 1 + bytes.Count(d.src[:i], []byte("\n"))
			col := i - bytes.LastIndexByte(d.src[:i], '\n')
			return line, col
		}
	}
	return 1, 1
}

var bicepKeywords = map[string]bool{
	"param": true, "var": true, "resource": true, "module": true, "output": true, "true": true, "false": true,
	"null": true, "if": true, "for": true, "in": true, "existing": true, "type": true, "func": true,
	"import": true, "metadata": true, "targetScope": true, "using": true, "with": true, "as": true,
	"az": true, "sys": true, "extension": true, "assert": true,
}

// identifier turns an ARM name into a Bicep identifier not yet used.
func (d *decompiler) identifier(name string) string {
	var b strings.Builder
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isIdentPart(c):
			if upper && b.Len() > 0 && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
			upper = false
		default:
			upper = true
		}
	}
	id := b.String()
	if id == "" {
		id = "symbol"
	}
	if !isIdentStart(id[0]) {
		id = "_" + id
	}
	if bicepKeywords[id] {
		id += "_"
	}
	base := id
	for n := 2; d.used[strings.ToLower(id)]; n++ {
		id = base + strconv.Itoa(n)
	}
	d.used[strings.ToLower(id)] = true
	return id
}

func (d *decompiler) template(t *jObject) []byte {
	d.params, d.vars, d.used, d.bySym, d.refs = map[string]string{}, map[string]string{}, map[string]bool{}, map[string]*dresource{}, map[string]bool{}
	schema, _ := strVal(t, "$schema")
	d.scope = "resourceGroup"
	switch {
	case strings.Contains(schema, "subscriptionDeploymentTemplate"):
		d.scope = "subscription"
	case strings.Contains(schema, "managementGroupDeploymentTemplate"):
		d.scope = "managementGroup"
	case strings.Contains(schema, "tenantDeploymentTemplate"):
		d.scope = "tenant"
	}
	if lv, _ := strVal(t, "languageVersion"); lv != "" {
		d.symbolic = true
	}
	for _, k := range t.keys {
		switch k {
		case "$schema", "contentVersion", "languageVersion", "metadata", "parameters", "variables", "resources", "outputs", "definitions":
		case "functions":
		case "apiProfile":
			d.warnf(k, "decompile-unsupported", "apiProfile is not supported in Bicep; every resource keeps its own API version.")
		default:
			d.warnf(k, "decompile-unsupported", "The template member %q is not decompiled.", k)
		}
	}

	// Names first: every declaration can refer to every other one.
	params, _ := objVal(t, "parameters")
	vars, _ := objVal(t, "variables")
	defs, _ := objVal(t, "definitions")
	if params != nil {
		for _, name := range params.keys {
			id := d.identifier(name)
			if id != name {
				d.warnf(name, "decompile-renamed", "The parameter %q is declared as %q: its name is not a Bicep identifier, so deployments must pass it by the new name.", name, id)
			}
			d.params[strings.ToLower(name)] = id
		}
	}
	if vars != nil {
		for _, name := range vars.keys {
			if name == "copy" {
				if loops, ok := vars.vals[indexOf(vars.keys, "copy")].([]any); ok {
					for _, l := range loops {
						if lo, ok := l.(*jObject); ok {
							n, _ := strVal(lo, "name")
							d.vars[strings.ToLower(n)] = d.identifier(n)
						}
					}
				}
				continue
			}
			d.vars[strings.ToLower(name)] = d.identifier(name)
		}
	}
	typeNames := map[string]string{}
	if defs != nil {
		for _, name := range defs.keys {
			typeNames[name] = d.identifier(name)
		}
	}
	d.collectResources(t)
	d.funcs = map[string]string{}
	type udf struct {
		id  string
		def *jObject
	}
	var udfs []udf
	fv, _ := t.get("functions")
	for _, ns := range asArray(fv) {
		nso, _ := ns.(*jObject)
		nsName, _ := strVal(nso, "namespace")
		members, _ := objVal(nso, "members")
		if members == nil {
			continue
		}
		for i, name := range members.keys {
			id := name
			if !strings.EqualFold(nsName, "__bicep") {
				id = nsName + "_" + name
			}
			id = d.identifier(id)
			d.funcs[strings.ToLower(nsName+"."+name)] = id
			def, _ := members.vals[i].(*jObject)
			udfs = append(udfs, udf{id, def})
		}
	}

	var out strings.Builder
	section := func() {
		if out.Len() > 0 {
			out.WriteString("\n")
		}
	}
	if d.scope != "resourceGroup" {
		fmt.Fprintf(&out, "targetScope = '%s'\n", d.scope)
	}
	if md, ok := objVal(t, "metadata"); ok {
		first := true
		for i, k := range md.keys {
			if k == "_generator" || strings.HasPrefix(k, "__bicep") {
				// The compiler's own bookkeeping (exported variables,
				// import provenance) becomes decorators, not metadata.
				continue
			}
			if first {
				section()
				first = false
			}
			fmt.Fprintf(&out, "metadata %s = %s\n", d.identifier(k), d.value(md.vals[i], 0))
		}
	}
	if defs != nil {
		for i, name := range defs.keys {
			section()
			def, _ := defs.vals[i].(*jObject)
			if def != nil {
				def.set("$unionable", true)
			}
			out.WriteString(d.typeDecorators(def, ""))
			fmt.Fprintf(&out, "type %s = %s\n", typeNames[name], d.typeExpr(def, typeNames, 0))
		}
	}
	if params != nil {
		for i, name := range params.keys {
			section()
			p, _ := params.vals[i].(*jObject)
			out.WriteString(d.param(name, p, typeNames))
		}
	}
	for _, f := range udfs {
		section()
		out.WriteString(d.function(f.id, f.def, typeNames))
	}
	if vars != nil {
		for i, name := range vars.keys {
			if name == "copy" {
				loops, _ := vars.vals[i].([]any)
				for _, l := range loops {
					lo, _ := l.(*jObject)
					if lo == nil {
						continue
					}
					n, _ := strVal(lo, "name")
					count, _ := lo.get("count")
					input, _ := lo.get("input")
					section()
					fmt.Fprintf(&out, "var %s = %s\n", d.vars[strings.ToLower(n)], d.forExpr(n, count, nil, func() string { return d.value(input, 0) }))
				}
				continue
			}
			section()
			fmt.Fprintf(&out, "var %s = %s\n", d.vars[strings.ToLower(name)], d.value(vars.vals[i], 0))
		}
	}
	for _, r := range d.resources {
		section()
		out.WriteString(d.resource(r))
	}
	for _, e := range d.extra {
		section()
		out.WriteString(e)
	}
	if outputs, ok := objVal(t, "outputs"); ok {
		for i, name := range outputs.keys {
			section()
			o, _ := outputs.vals[i].(*jObject)
			out.WriteString(d.output(name, o, typeNames))
		}
	}
	return []byte(out.String())
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

func strVal(o *jObject, key string) (string, bool) {
	if o == nil {
		return "", false
	}
	v, ok := o.get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

func objVal(o *jObject, key string) (*jObject, bool) {
	if o == nil {
		return nil, false
	}
	v, _ := o.get(key)
	x, ok := v.(*jObject)
	return x, ok
}

// getFold is get with ARM's case-insensitive member names.
func getFold(o *jObject, key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	for i, k := range o.keys {
		if strings.EqualFold(k, key) {
			return o.vals[i], true
		}
	}
	return nil, false
}

// ---- parameters, types, outputs ----

func (d *decompiler) param(name string, p *jObject, typeNames map[string]string) string {
	var b strings.Builder
	typ, _ := getFold(p, "type")
	ts, _ := typ.(string)
	b.WriteString(d.typeDecorators(p, ts))
	bt := d.typeExpr(p, typeNames, 0)
	if nullable, _ := getFold(p, "nullable"); nullable == true && !strings.HasSuffix(bt, "?") {
		bt += "?"
	}
	fmt.Fprintf(&b, "param %s %s", d.params[strings.ToLower(name)], bt)
	if def, ok := getFold(p, "defaultValue"); ok {
		fmt.Fprintf(&b, " = %s", d.value(def, 0))
	}
	b.WriteString("\n")
	return b.String()
}

// typeDecorators are the decorators of a parameter, output, type or
// property: @secure for secure types, @allowed where the allowed values
// do not become a union type, lengths and bounds, descriptions and other
// metadata.
func (d *decompiler) typeDecorators(o *jObject, armType string) string {
	var b strings.Builder
	if o == nil {
		return ""
	}
	if strings.EqualFold(armType, "securestring") || strings.EqualFold(armType, "secureobject") {
		b.WriteString("@secure()\n")
	}
	if md, ok := objVal(o, "metadata"); ok {
		var rest []int
		for i, k := range md.keys {
			if k == "__bicep_export!" {
				b.WriteString("@export()\n")
				continue
			}
			if strings.HasPrefix(k, "__bicep") {
				continue // compile-time provenance (imports)
			}
			if k == "description" {
				if s, ok := md.vals[i].(string); ok {
					fmt.Fprintf(&b, "@description(%s)\n", bicepString(s))
					continue
				}
			}
			rest = append(rest, i)
		}
		if len(rest) > 0 {
			m := newObj()
			for _, i := range rest {
				m.set(md.keys[i], md.vals[i])
			}
			fmt.Fprintf(&b, "@metadata(%s)\n", d.value(m, 0))
		}
	}
	for _, k := range []string{"minLength", "maxLength", "minValue", "maxValue"} {
		if v, ok := getFold(o, k); ok {
			fmt.Fprintf(&b, "@%s(%s)\n", k, d.value(v, 0))
		}
	}
	if v, ok := getFold(o, "allowedValues"); ok && !unionable(o) {
		fmt.Fprintf(&b, "@allowed(%s)\n", d.value(v, 0))
	}
	if v, ok := getFold(o, "discriminator"); ok {
		if dm, ok := v.(*jObject); ok {
			if pn, ok := strVal(dm, "propertyName"); ok {
				fmt.Fprintf(&b, "@discriminator(%s)\n", bicepString(pn))
			}
		}
	}
	if v, _ := getFold(o, "additionalProperties"); v == false {
		b.WriteString("@sealed()\n")
	}
	return b.String()
}

// unionable: allowedValues on a type inside definitions (or a property)
// is a union of literals in Bicep; on a parameter it stays @allowed, as
// the official decompiler writes it.
func unionable(o *jObject) bool {
	_, inDefinition := o.get("$unionable")
	return inDefinition
}

// typeExpr renders an ARM type (a parameter, output or definition) as a
// Bicep type expression.
func (d *decompiler) typeExpr(o *jObject, typeNames map[string]string, depth int) string {
	if o == nil {
		return "object"
	}
	if ref, ok := strVal(o, "$ref"); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		if n, ok := typeNames[name]; ok {
			return n
		}
		if n, ok := typePointerExpr(name, typeNames); ok {
			return n
		}
		d.warnf(ref, "decompile-unsupported", "The type reference %q is not decompiled; the value is typed any.", ref)
		return "any"
	}
	typ, _ := getFold(o, "type")
	ts, _ := typ.(string)
	if depth > 0 || unionable(o) {
		if av, ok := getFold(o, "allowedValues"); ok {
			if arr, ok := av.([]any); ok && len(arr) > 0 {
				parts := make([]string, 0, len(arr))
				for _, v := range arr {
					parts = append(parts, d.value(v, 0))
				}
				return strings.Join(parts, " | ")
			}
		}
	}
	switch strings.ToLower(ts) {
	case "string", "securestring":
		return "string"
	case "int":
		return "int"
	case "bool":
		return "bool"
	case "array":
		if items, ok := objVal(o, "items"); ok && depth < maxDepth {
			it := d.typeExpr(items, typeNames, depth+1)
			if strings.Contains(it, " ") {
				it = "(" + it + ")"
			}
			return it + "[]"
		}
		return "array"
	case "object", "secureobject":
		if dv, ok := objVal(o, "discriminator"); ok && depth < maxDepth {
			if mapping, ok := objVal(dv, "mapping"); ok && len(mapping.keys) > 0 {
				parts := make([]string, 0, len(mapping.keys))
				for _, v := range mapping.vals {
					mo, _ := v.(*jObject)
					parts = append(parts, d.typeExpr(mo, typeNames, depth+1))
				}
				return strings.Join(parts, " | ")
			}
		}
		props, ok := objVal(o, "properties")
		if !ok || depth >= maxDepth {
			return "object"
		}
		var b strings.Builder
		b.WriteString("{\n")
		ind := strings.Repeat("  ", depth+1)
		for i, k := range props.keys {
			po, _ := props.vals[i].(*jObject)
			if po != nil {
				po.set("$unionable", true)
				for _, line := range strings.Split(strings.TrimSuffix(d.typeDecorators(po, ""), "\n"), "\n") {
					if line != "" {
						b.WriteString(ind + line + "\n")
					}
				}
			}
			pt := d.typeExpr(po, typeNames, depth+1)
			if nullable, _ := getFold(po, "nullable"); nullable == true {
				pt += "?"
			}
			fmt.Fprintf(&b, "%s%s: %s\n", ind, objectKey(k), pt)
		}
		b.WriteString(strings.Repeat("  ", depth) + "}")
		return b.String()
	case "":
		return "any"
	}
	d.warnf(ts, "decompile-unsupported", "The type %q is not a Bicep type; the value is typed any.", ts)
	return "any"
}

func (d *decompiler) output(name string, o *jObject, typeNames map[string]string) string {
	var b strings.Builder
	typ, _ := getFold(o, "type")
	ts, _ := typ.(string)
	b.WriteString(d.typeDecorators(o, ts))
	id := name
	if !validIdentifier(name) {
		id = d.identifier(name)
		d.warnf(name, "decompile-renamed", "The output %q is declared as %q: its name is not a Bicep identifier.", name, id)
	}
	value, _ := getFold(o, "value")
	var v string
	if c, ok := getFold(o, "copy"); ok {
		co, _ := c.(*jObject)
		count, _ := getFold(co, "count")
		input, _ := getFold(co, "input")
		v = d.forExpr("", count, nil, func() string { return d.value(input, 0) })
	} else {
		v = d.value(value, 0)
	}
	if cond, ok := getFold(o, "condition"); ok {
		v = fmt.Sprintf("%s ? %s : null", d.expression(cond, precTernary+1), v)
		d.warnf(name, "decompile-condition", "The output %q has a condition: it is written as a ternary that outputs null when the condition is false.", name)
	}
	ot := d.typeExpr(o, typeNames, 0)
	if nullable, _ := getFold(o, "nullable"); nullable == true && !strings.HasSuffix(ot, "?") {
		ot += "?"
	}
	fmt.Fprintf(&b, "output %s %s = %s\n", id, ot, v)
	return b.String()
}

// function writes a user-defined function: func name(p type) type =>
// value.
func (d *decompiler) function(id string, def *jObject, typeNames map[string]string) string {
	d.fnParams = map[string]string{}
	defer func() { d.fnParams = nil }()
	var params []string
	for _, p := range asArray(mustGet(def, "parameters")) {
		po, _ := p.(*jObject)
		name, _ := strVal(po, "name")
		d.fnParams[strings.ToLower(name)] = name
		params = append(params, name+" "+d.typeExpr(po, typeNames, 0))
	}
	out, _ := objVal(def, "output")
	value, _ := out.get("value")
	export := ""
	if md, ok := objVal(def, "metadata"); ok {
		if e, _ := getFold(md, "__bicep_export!"); e == true {
			export = "@export()\n"
		}
	}
	return fmt.Sprintf("%sfunc %s(%s) %s => %s\n", export, id, strings.Join(params, ", "), d.typeExpr(out, typeNames, 0), d.value(value, 0))
}

func mustGet(o *jObject, key string) any {
	if o == nil {
		return nil
	}
	v, _ := o.get(key)
	return v
}

func validIdentifier(s string) bool {
	if s == "" || !isIdentStart(s[0]) || bicepKeywords[s] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

// ---- resources ----

// collectResources flattens the template's resources (nested resources
// arrays become resources of their full type and name) and names them.
func (d *decompiler) collectResources(t *jObject) {
	rv, _ := t.get("resources")
	type entry struct {
		armSym string
		obj    *jObject
	}
	var entries []entry
	var flatten func(o *jObject, parentType string, parentName any, depth int)
	flatten = func(o *jObject, parentType string, parentName any, depth int) {
		if o == nil || depth > maxDepth {
			return
		}
		if parentType != "" {
			typ, _ := strVal(o, "type")
			if !strings.Contains(typ, "/") || strings.Count(typ, "/") == 0 {
				o.set("type", parentType+"/"+typ)
				name, _ := o.get("name")
				o.set("name", joinName(parentName, name))
			}
		}
		entries = append(entries, entry{obj: o})
		if children, ok := o.get("resources"); ok {
			typ, _ := strVal(o, "type")
			name, _ := o.get("name")
			for _, c := range asArray(children) {
				co, _ := c.(*jObject)
				flatten(co, typ, name, depth+1)
			}
		}
	}
	switch x := rv.(type) {
	case []any:
		for _, r := range x {
			o, _ := r.(*jObject)
			flatten(o, "", nil, 0)
		}
	case *jObject:
		for i, k := range x.keys {
			o, _ := x.vals[i].(*jObject)
			if o != nil {
				entries = append(entries, entry{armSym: k, obj: o})
			}
		}
	}
	for i, e := range entries {
		typ, _ := strVal(e.obj, "type")
		api, _ := strVal(e.obj, "apiVersion")
		name, _ := e.obj.get("name")
		r := &dresource{armSym: e.armSym, typ: typ, api: api, obj: e.obj, name: name, index: i}
		if ex, _ := e.obj.get("existing"); ex == true {
			r.existing = true
		}
		if c, ok := objVal(e.obj, "copy"); ok {
			r.loop, _ = strVal(c, "name")
		}
		if strings.EqualFold(typ, "Microsoft.Resources/deployments") && !outerNested(r) {
			props, _ := objVal(e.obj, "properties")
			_, r.module = objVal(props, "template")
		}
		d.resources = append(d.resources, r)
	}
	// Symbolic names: from the ARM symbolic name (2.0), else from the
	// resource's name.
	for _, r := range d.resources {
		base := r.armSym
		if base == "" {
			base = r.loop
		}
		if base == "" {
			base = d.symbolFromName(r)
		}
		r.sym = d.identifier(base)
		if r.armSym != "" {
			d.bySym[strings.ToLower(r.armSym)] = r
		}
		if r.loop != "" {
			d.bySym[strings.ToLower(r.loop)] = r
		}
	}
	for _, r := range d.resources {
		r.segs = d.nameSegments(r.name)
	}
	// Parents: a child whose name starts with a declared parent's name.
	for _, r := range d.resources {
		if r.loop != "" || len(r.segs) < 2 || !strings.Contains(r.typ, "/") {
			continue
		}
		pt := r.typ[:strings.LastIndex(r.typ, "/")]
		for _, p := range d.resources {
			if p != r && p.loop == "" && strings.EqualFold(p.typ, pt) && equalSegs(p.segs, r.segs[:len(r.segs)-1]) {
				r.parent = p
				break
			}
		}
	}
}

func asArray(v any) []any {
	a, _ := v.([]any)
	return a
}

// joinName is the full name of a nested child resource: the parent's name,
// '/', the child's.
func joinName(parent, child any) any {
	ps, pok := parent.(string)
	cs, cok := child.(string)
	if pok && cok && !expr.IsExpression(ps) && !expr.IsExpression(cs) {
		return ps + "/" + cs
	}
	return "[concat(" + armArg(parent) + ", '/', " + armArg(child) + ")]"
}

func armArg(v any) string {
	s, _ := v.(string)
	if expr.IsExpression(s) {
		return s[1 : len(s)-1]
	}
	return "'" + strings.ReplaceAll(expr.Literal(s), "'", "''") + "'"
}

// symbolFromName is the official decompiler's choice: the last segment of
// a literal name, or the parameter or variable the name is, or the type.
func (d *decompiler) symbolFromName(r *dresource) string {
	s, _ := r.name.(string)
	if s != "" && !expr.IsExpression(s) {
		s = expr.Literal(s)
		if i := strings.LastIndex(s, "/"); i >= 0 {
			s = s[i+1:]
		}
		if s != "" && !strings.ContainsAny(s, "[]") {
			return s
		}
	}
	if expr.IsExpression(s) {
		if e, err := expr.Parse(s); err == nil {
			if c, ok := e.Root.(*expr.Call); ok && len(c.Args) == 1 && (strings.EqualFold(c.Name, "parameters") || strings.EqualFold(c.Name, "variables")) {
				if lit, ok := c.Args[0].(*expr.StringLit); ok {
					n := lit.Value
					if len(n) > 4 && strings.HasSuffix(n, "Name") {
						n = strings.TrimSuffix(n, "Name")
					}
					if !d.used[strings.ToLower(n)] {
						return n
					}
					return n + "Resource"
				}
			}
		}
	}
	t := r.typ
	if i := strings.LastIndex(t, "/"); i >= 0 {
		t = t[i+1:]
	}
	switch {
	case strings.HasSuffix(t, "ies"):
		t = strings.TrimSuffix(t, "ies") + "y"
	case strings.HasSuffix(t, "s"):
		t = strings.TrimSuffix(t, "s")
	}
	return t
}

// nameSegments renders a resource name, split at '/', as Bicep
// expressions; equal renderings name the same resource.
func (d *decompiler) nameSegments(name any) []string {
	parts := d.stringParts(name)
	var segs [][]spart
	cur := []spart{}
	for _, p := range parts {
		if p.e != nil {
			cur = append(cur, p)
			continue
		}
		pieces := strings.Split(p.lit, "/")
		for i, piece := range pieces {
			if i > 0 {
				segs = append(segs, cur)
				cur = []spart{}
			}
			if piece != "" {
				cur = append(cur, spart{lit: piece})
			}
		}
	}
	segs = append(segs, cur)
	out := make([]string, len(segs))
	saved := d.refs
	d.refs = map[string]bool{}
	d.quiet++
	for i, s := range segs {
		out[i] = d.renderParts(s)
	}
	d.quiet--
	d.refs = saved
	return out
}

func equalSegs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// spart is a piece of a string built by format() or concat(): literal
// text or an expression.
type spart struct {
	lit string
	e   expr.Node
}

// stringParts splits a JSON string value (literal or expression) into
// literal text and expressions.
func (d *decompiler) stringParts(v any) []spart {
	s, ok := v.(string)
	if !ok {
		return []spart{{lit: fmt.Sprint(v)}}
	}
	if !expr.IsExpression(s) {
		return []spart{{lit: expr.Literal(s)}}
	}
	e, err := expr.Parse(s)
	if err != nil {
		return []spart{{lit: s}}
	}
	return nodeParts(e.Root)
}

func nodeParts(n expr.Node) []spart {
	switch x := n.(type) {
	case *expr.StringLit:
		return []spart{{lit: x.Value}}
	case *expr.Call:
		if x.Namespace != "" {
			break
		}
		switch strings.ToLower(x.Name) {
		case "concat":
			if !stringConcat(x) {
				break
			}
			var out []spart
			for _, a := range x.Args {
				out = append(out, nodeParts(a)...)
			}
			return out
		case "format":
			if parts, ok := formatParts(x); ok {
				return parts
			}
		}
	}
	return []spart{{e: n}}
}

// stringConcat: a concat() with a string literal (or a format or a
// string concat) among its arguments concatenates strings.
func stringConcat(c *expr.Call) bool {
	for _, a := range c.Args {
		switch x := a.(type) {
		case *expr.StringLit:
			return true
		case *expr.Call:
			if x.Namespace == "" && (strings.EqualFold(x.Name, "format") || (strings.EqualFold(x.Name, "concat") && stringConcat(x))) {
				return true
			}
		}
	}
	return false
}

// formatParts splits format('a{0}b', x) whose placeholders have no
// format specifiers.
func formatParts(c *expr.Call) ([]spart, bool) {
	if len(c.Args) == 0 {
		return nil, false
	}
	f, ok := c.Args[0].(*expr.StringLit)
	if !ok {
		return nil, false
	}
	var out []spart
	s := f.Value
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case s[i] == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case s[i] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(s[i+1 : i+end])
			if err != nil || n < 0 || n+1 >= len(c.Args) {
				return nil, false
			}
			if lit.Len() > 0 {
				out = append(out, spart{lit: lit.String()})
				lit.Reset()
			}
			out = append(out, nodeParts(c.Args[n+1])...)
			i += end
		case s[i] == '}':
			return nil, false
		default:
			lit.WriteByte(s[i])
		}
	}
	if lit.Len() > 0 {
		out = append(out, spart{lit: lit.String()})
	}
	return out, true
}

// renderParts writes parts as a Bicep string: a lone expression as
// itself, anything else as an interpolated string.
func (d *decompiler) renderParts(parts []spart) string {
	if len(parts) == 1 && parts[0].e != nil {
		return d.node(parts[0].e, 0)
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, p := range parts {
		if p.e != nil {
			b.WriteString("${" + d.node(p.e, 0) + "}")
		} else {
			s := bicepString(p.lit)
			b.WriteString(s[1 : len(s)-1])
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// resource writes a resource or module declaration.
func (d *decompiler) resource(r *dresource) string {
	if strings.EqualFold(r.typ, "Microsoft.Resources/deployments") {
		if s, ok := d.module(r); ok {
			return s
		}
	}
	var b strings.Builder
	o := r.obj
	if c, ok := strVal(o, "comments"); ok {
		for _, line := range strings.Split(c, "\n") {
			fmt.Fprintf(&b, "// %s\n", line)
		}
	}
	copyObj, _ := objVal(o, "copy")
	if copyObj != nil {
		if mode, _ := strVal(copyObj, "mode"); strings.EqualFold(mode, "serial") {
			bs, ok := copyObj.get("batchSize")
			if !ok {
				bs = int64(1)
			}
			fmt.Fprintf(&b, "@batchSize(%s)\n", d.value(bs, 0))
		}
	}
	for _, k := range o.keys {
		switch k {
		case "resourceGroup", "subscriptionId":
			d.warnf(r.typ, "decompile-unsupported", "The resource %q sets %q: Bicep deploys resources of another scope through a module; the member is left out.", r.sym, k)
		}
	}
	exist := ""
	if r.existing {
		exist = " existing"
	}
	d.refs = map[string]bool{}
	body := func() string {
		var bb strings.Builder
		bb.WriteString("{\n")
		if r.parent != nil {
			fmt.Fprintf(&bb, "  name: %s\n", r.segs[len(r.segs)-1])
			fmt.Fprintf(&bb, "  parent: %s\n", r.parent.sym)
			d.refs[r.parent.sym] = true
		} else {
			fmt.Fprintf(&bb, "  name: %s\n", d.value(r.name, 1))
		}
		if sc, ok := o.get("scope"); ok {
			fmt.Fprintf(&bb, "  scope: %s\n", d.scopeRef(r, sc))
		}
		for i, k := range o.keys {
			switch k {
			case "type", "apiVersion", "name", "dependsOn", "copy", "condition", "comments", "scope", "existing", "resources", "resourceGroup", "subscriptionId", "import":
				continue
			}
			if k == "properties" && outerNested(r) {
				// Outer scope: the nested template's expressions are the
				// parent's, so they decompile as the parent's; resourceId
				// there names the nested deployment's resources, never
				// symbols.
				d.noSymbols = true
				fmt.Fprintf(&bb, "  %s: %s\n", objectKey(k), d.value(o.vals[i], 1))
				d.noSymbols = false
				continue
			}
			fmt.Fprintf(&bb, "  %s: %s\n", objectKey(k), d.value(o.vals[i], 1))
		}
		if deps := d.dependsOn(r); deps != "" {
			bb.WriteString(deps)
		}
		bb.WriteString("}")
		return bb.String()
	}
	var value string
	cond, hasCond := o.get("condition")
	switch {
	case copyObj != nil:
		count, _ := copyObj.get("count")
		value = d.forExpr(r.loop, count, condPtr(cond, hasCond), body)
	case hasCond:
		value = fmt.Sprintf("if (%s) %s", d.expression(cond, 0), body())
	default:
		value = body()
	}
	fmt.Fprintf(&b, "resource %s '%s@%s'%s = %s\n", r.sym, r.typ, r.api, exist, value)
	return b.String()
}

func condPtr(v any, ok bool) *any {
	if !ok {
		return nil
	}
	return &v
}

// scopeRef turns an extension resource's scope into the declared resource
// it names.
func (d *decompiler) scopeRef(r *dresource, sc any) string {
	if t := d.resolveResource(sc, true); t != nil && t.loop == "" {
		d.refs[t.sym] = true
		return t.sym
	}
	s, _ := sc.(string)
	if r, idx := d.loopElement(d.nameSegmentsTyped(s)); r != nil {
		d.refs[r.sym] = true
		return r.sym + idx
	}
	if e, err := expr.Parse(s); err == nil && expr.IsExpression(s) {
		if c, ok := e.Root.(*expr.Call); ok {
			if r, idx := d.loopElement(d.resourceIDSegs(c)); r != nil {
				d.refs[r.sym] = true
				return r.sym + idx
			}
		}
	}
	if sym := d.existingFor(s); sym != "" {
		d.refs[sym] = true
		return sym
	}
	d.warnf(s, "decompile-scope", "The scope of %q does not name a resource declared in the template; it is kept as a string, which Bicep does not accept for a resource's scope.", r.sym)
	return d.value(sc, 1)
}

// existingScopeAPIVersion is the API version of the existing resources
// the decompiler declares for scopes: a scope compiles to a resource ID,
// which has none.
const existingScopeAPIVersion = "2023-01-01"

// existingFor declares an existing resource for a scope given as
// resourceId('type', name...) of a resource the template does not
// declare, and returns its symbolic name.
func (d *decompiler) existingFor(s string) string {
	if !expr.IsExpression(s) {
		return ""
	}
	e, err := expr.Parse(s)
	if err != nil {
		return ""
	}
	c, ok := e.Root.(*expr.Call)
	if ok && c.Namespace == "" && strings.EqualFold(c.Name, "format") {
		// 'Namespace/type/{name}', how the compiler writes a scope.
		parts := nodeParts(c)
		if len(parts) > 1 && parts[0].e == nil {
			pieces := strings.SplitN(parts[0].lit, "/", 3)
			if len(pieces) == 3 {
				rest := append([]spart{{lit: pieces[2]}}, parts[1:]...)
				single := true
				for _, p := range rest {
					if p.e == nil && strings.Contains(p.lit, "/") {
						single = false
					}
				}
				if single {
					return d.declareExisting(pieces[0]+"/"+pieces[1], s, mergeLits(dropEmpty(rest)), "")
				}
			}
		}
		return ""
	}
	if !ok || c.Namespace != "" || !strings.EqualFold(c.Name, "resourceId") || len(c.Args) < 2 {
		return ""
	}
	typ, ok := c.Args[0].(*expr.StringLit)
	if !ok || strings.Count(typ.Value, "/") != len(c.Args)-1 {
		return ""
	}
	var parts []spart
	for i, a := range c.Args[1:] {
		if i > 0 {
			parts = append(parts, spart{lit: "/"})
		}
		parts = append(parts, nodeParts(a)...)
	}
	base := ""
	if l, ok := c.Args[len(c.Args)-1].(*expr.StringLit); ok {
		base = l.Value
	}
	return d.declareExisting(typ.Value, s, mergeLits(parts), base)
}

func dropEmpty(parts []spart) []spart {
	out := parts[:0:0]
	for _, p := range parts {
		if p.e != nil || p.lit != "" {
			out = append(out, p)
		}
	}
	return out
}

// declareExisting declares (once) an existing resource of a type and name.
func (d *decompiler) declareExisting(typ, key string, name []spart, base string) string {
	if len(d.loops) > 0 {
		return "" // a loop's scope names a different resource each time
	}
	text := d.renderParts(name)
	for _, r := range d.resources {
		if r.existing && r.armSym == "" && strings.EqualFold(r.typ, typ) && r.nameText == text {
			return r.sym
		}
	}
	if base == "" {
		base = text
		if len(name) == 1 && name[0].e != nil {
			base = "existing " + typ[strings.LastIndex(typ, "/")+1:]
		}
	}
	sym := d.identifier(base)
	r := &dresource{sym: sym, typ: typ, existing: true, name: key, nameText: text}
	r.segs = d.nameSegments(key)
	d.resources = append(d.resources, r)
	d.extra = append(d.extra, fmt.Sprintf("resource %s '%s@%s' existing = {\n  name: %s\n}\n", sym, typ, existingScopeAPIVersion, text))
	return sym
}

func mergeLits(parts []spart) []spart {
	var out []spart
	for _, p := range parts {
		if p.e == nil && len(out) > 0 && out[len(out)-1].e == nil {
			out[len(out)-1].lit += p.lit
			continue
		}
		out = append(out, p)
	}
	return out
}

// resolveResource finds the declared resource a resource ID, a
// "type/name" scope string, a symbolic name or a resource name denotes.
func (d *decompiler) resolveResource(v any, scopeForm bool) *dresource {
	if d.noSymbols {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if !expr.IsExpression(s) {
		s = expr.Literal(s)
		if r := d.bySym[strings.ToLower(s)]; r != nil {
			return r
		}
		if r := d.byTypedSegs(d.nameSegmentsTyped(s)); r != nil {
			return r
		}
		return d.byName(s)
	}
	e, err := expr.Parse(s)
	if err != nil {
		return nil
	}
	if c, ok := e.Root.(*expr.Call); ok && isResourceIDCall(c) {
		return d.resourceIDTarget(c, true)
	}
	if scopeForm {
		return d.byTypedSegs(d.nameSegmentsTyped(s))
	}
	return d.byName(s)
}

// byName is the one declared resource with this name.
func (d *decompiler) byName(name string) *dresource {
	segs := d.nameSegments(name)
	var found *dresource
	for _, r := range d.resources {
		if equalSegs(r.segs, segs) {
			if found != nil {
				return nil
			}
			found = r
		}
	}
	return found
}

// nameSegmentsTyped splits "Microsoft.Web/sites/{name}[/child/{name}]"
// into the type and the rendered name segments.
func (d *decompiler) nameSegmentsTyped(s string) (string, []string) {
	segs := d.nameSegments(s)
	if len(segs) < 3 || len(segs)%2 == 0 {
		return "", nil
	}
	typ := strings.Trim(segs[0], "'") + "/" + strings.Trim(segs[1], "'")
	var names []string
	for i := 2; i < len(segs); i++ {
		if i%2 == 1 {
			typ += "/" + strings.Trim(segs[i], "'")
		} else {
			names = append(names, segs[i])
		}
	}
	return typ, names
}

func (d *decompiler) byTypedSegs(typ string, segs []string) *dresource {
	if typ == "" {
		return nil
	}
	for _, r := range d.resources {
		if strings.EqualFold(r.typ, typ) && equalSegs(r.segs, segs) {
			return r
		}
	}
	return nil
}

// resourceIDTarget matches resourceId('type', name...) against the
// declared resources (the form without subscription or group only).
func (d *decompiler) resourceIDTarget(c *expr.Call, allowLoop bool) *dresource {
	if d.noSymbols || len(c.Args) < 2 {
		return nil
	}
	args := c.Args
	switch strings.ToLower(c.Name) {
	case "extensionresourceid":
		// extensionResourceId(scope, type, name...): a module deployed to
		// another group is named this way; the names decide.
		args = args[1:]
	case "subscriptionresourceid":
		if d.scope != "subscription" {
			return nil
		}
	}
	if len(args) < 2 {
		return nil
	}
	c = &expr.Call{Name: c.Name, Args: args}
	typ, ok := c.Args[0].(*expr.StringLit)
	if !ok || !strings.Contains(typ.Value, "/") {
		return nil
	}
	saved := d.refs
	d.refs = map[string]bool{}
	d.quiet++
	segs := make([]string, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		segs = append(segs, d.renderParts(nodeParts(a)))
	}
	d.quiet--
	d.refs = saved
	var loopOfType *dresource
	loops := 0
	for _, r := range d.resources {
		if (r.loop == "" || allowLoop) && strings.EqualFold(r.typ, typ.Value) && equalSegs(r.segs, segs) {
			return r
		}
		if r.loop != "" && strings.EqualFold(r.typ, typ.Value) {
			loopOfType = r
			loops++
		}
	}
	if allowLoop && loops == 1 {
		// A dependency on one element of a copy loop: depending on the
		// whole loop orders at least as much.
		return loopOfType
	}
	return nil
}

// dependsOn writes the explicit dependencies no reference in the body
// implies.
func (d *decompiler) dependsOn(r *dresource) string {
	deps, _ := r.obj.get("dependsOn")
	var keep []string
	seen := map[string]bool{}
	for _, dep := range asArray(deps) {
		t := d.resolveResource(dep, false)
		if t == nil {
			if loops := d.loopsNamedBy(dep); len(loops) > 0 {
				// One element of a copy loop of this type: depending on
				// every such loop orders at least as much.
				for _, l := range loops {
					if !d.refs[l.sym] && !seen[l.sym] && l != r {
						seen[l.sym] = true
						keep = append(keep, l.sym)
					}
				}
				continue
			}
			s, _ := dep.(string)
			d.warnf(s, "decompile-dependency", "The dependency %q of %q does not name a resource declared in the template; it is dropped.", s, r.sym)
			continue
		}
		if t == r || d.refs[t.sym] || seen[t.sym] {
			continue
		}
		seen[t.sym] = true
		keep = append(keep, t.sym)
	}
	if len(keep) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("  dependsOn: [\n")
	for _, k := range keep {
		fmt.Fprintf(&b, "    %s\n", k)
	}
	b.WriteString("  ]\n")
	return b.String()
}

// loopElement finds, inside a copy loop, the element of another copy
// loop a type and rendered name segments denote when both loops use the
// same index: resourceId('T', format('id-{0}', names[copyIndex()]))
// in a loop over names is uamis[i]. It returns the loop resource and the
// index text.
func (d *decompiler) loopElement(typ string, segs []string) (*dresource, string) {
	if len(d.loops) == 0 || d.noSymbols {
		return nil, ""
	}
	v := d.loops[len(d.loops)-1].variable
	saved := d.loops
	defer func() { d.loops = saved }()
	for _, r := range d.resources {
		if r.loop == "" || !strings.EqualFold(r.typ, typ) {
			continue
		}
		d.loops = []dloop{{name: r.loop, variable: v}}
		if equalSegs(d.nameSegments(r.name), segs) {
			return r, "[" + v + "]"
		}
	}
	return nil, ""
}

// resourceIDSegs is the type and rendered name segments of
// resourceId('type', name...).
func (d *decompiler) resourceIDSegs(c *expr.Call) (string, []string) {
	if c.Namespace != "" || !strings.EqualFold(c.Name, "resourceId") || len(c.Args) < 2 {
		return "", nil
	}
	typ, ok := c.Args[0].(*expr.StringLit)
	if !ok || !strings.Contains(typ.Value, "/") {
		return "", nil
	}
	saved := d.refs
	d.refs = map[string]bool{}
	d.quiet++
	segs := make([]string, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		segs = append(segs, d.renderParts(nodeParts(a)))
	}
	d.quiet--
	d.refs = saved
	return typ.Value, segs
}

// loopsNamedBy: the copy loops of the type a resourceId() dependency
// names.
func (d *decompiler) loopsNamedBy(dep any) []*dresource {
	s, _ := dep.(string)
	if !expr.IsExpression(s) {
		return nil
	}
	e, err := expr.Parse(s)
	if err != nil {
		return nil
	}
	c, ok := e.Root.(*expr.Call)
	if !ok || !isResourceIDCall(c) || len(c.Args) == 0 {
		return nil
	}
	var out []*dresource
	for _, a := range c.Args {
		if t, ok := a.(*expr.StringLit); ok && strings.Contains(t.Value, "/") {
			for _, r := range d.resources {
				if r.loop != "" && strings.EqualFold(r.typ, t.Value) {
					out = append(out, r)
				}
			}
			break
		}
	}
	return out
}

// forExpr writes a copy loop as [for i in range(0, count): body], the loop
// index standing for copyIndex(name) in body.
func (d *decompiler) forExpr(name string, count any, cond *any, body func() string) string {
	v := "i"
	for n := 2; d.used[strings.ToLower(v)] || d.loopVarUsed(v); n++ {
		v = "i" + strconv.Itoa(n)
	}
	countText := d.expression(count, 0)
	d.loops = append(d.loops, dloop{name: name, variable: v})
	defer func() { d.loops = d.loops[:len(d.loops)-1] }()
	filter := ""
	if cond != nil {
		filter = fmt.Sprintf("if (%s) ", d.expression(*cond, 0))
	}
	return fmt.Sprintf("[for %s in range(0, %s): %s%s]", v, countText, filter, body())
}

func (d *decompiler) loopVarUsed(v string) bool {
	for _, l := range d.loops {
		if l.variable == v {
			return true
		}
	}
	return false
}

// ---- modules ----

// module writes a nested deployment with an inline template as a module
// (inner scope) or keeps it as a deployments resource (outer scope,
// linked templates).
func (d *decompiler) module(r *dresource) (string, bool) {
	props, _ := objVal(r.obj, "properties")
	inner, hasTemplate := objVal(props, "template")
	if !hasTemplate {
		if _, ok := props.get("templateLink"); ok {
			d.warnf(r.typ, "decompile-linked-template", "The nested deployment %q links its template (templateLink): it is kept as a Microsoft.Resources/deployments resource.", r.sym)
		}
		return "", false
	}
	scope := "outer"
	if eo, ok := objVal(props, "expressionEvaluationOptions"); ok {
		scope, _ = strVal(eo, "scope")
	}
	if !strings.EqualFold(scope, "inner") {
		return "", false
	}
	file := r.sym + ".bicep"
	for n := 2; d.res.Files[path.Join(d.dir, file)] != nil; n++ {
		file = r.sym + strconv.Itoa(n) + ".bicep"
	}
	rel := path.Join(d.dir, file)
	sub := &decompiler{res: d.res, file: rel, dir: d.dir, src: d.src}
	raw, _ := json.Marshal(toPlain(inner))
	sub.src = raw
	d.res.Files[rel] = sub.template(inner)
	d.res.moduleOrder = append(d.res.moduleOrder, file)
	r.module, r.file = true, file

	var b strings.Builder
	copyObj, _ := objVal(r.obj, "copy")
	if copyObj != nil {
		if mode, _ := strVal(copyObj, "mode"); strings.EqualFold(mode, "serial") {
			bs, ok := copyObj.get("batchSize")
			if !ok {
				bs = int64(1)
			}
			fmt.Fprintf(&b, "@batchSize(%s)\n", d.value(bs, 0))
		}
	}
	for _, k := range props.keys {
		switch k {
		case "template", "parameters", "mode", "expressionEvaluationOptions":
		default:
			d.warnf(k, "decompile-unsupported", "The nested deployment %q sets properties.%s, which a module cannot; it is left out.", r.sym, k)
		}
	}
	if mode, _ := strVal(props, "mode"); strings.EqualFold(mode, "complete") {
		d.warnf(r.sym, "decompile-unsupported", "The nested deployment %q is in complete mode; a module always deploys incrementally.", r.sym)
	}
	d.refs = map[string]bool{}
	body := func() string {
		var bb strings.Builder
		bb.WriteString("{\n")
		fmt.Fprintf(&bb, "  name: %s\n", d.value(r.name, 1))
		if sc := d.moduleScope(r.obj); sc != "" {
			fmt.Fprintf(&bb, "  scope: %s\n", sc)
		}
		if ps, ok := objVal(props, "parameters"); ok && len(ps.keys) > 0 {
			bb.WriteString("  params: {\n")
			for i, k := range ps.keys {
				po, _ := ps.vals[i].(*jObject)
				v, ok := po.get("value")
				if !ok {
					d.warnf(k, "decompile-unsupported", "The module parameter %q is not given by value (a Key Vault reference?); it is left out.", k)
					continue
				}
				fmt.Fprintf(&bb, "    %s: %s\n", objectKey(k), d.value(v, 2))
			}
			bb.WriteString("  }\n")
		}
		if deps := d.dependsOn(r); deps != "" {
			bb.WriteString(deps)
		}
		bb.WriteString("}")
		return bb.String()
	}
	cond, hasCond := r.obj.get("condition")
	var value string
	switch {
	case copyObj != nil:
		count, _ := copyObj.get("count")
		value = d.forExpr(r.loop, count, condPtr(cond, hasCond), body)
	case hasCond:
		value = fmt.Sprintf("if (%s) %s", d.expression(cond, 0), body())
	default:
		value = body()
	}
	fmt.Fprintf(&b, "module %s './%s' = %s\n", r.sym, file, value)
	return b.String(), true
}

// outerNested: a nested deployment whose inline template's expressions
// the parent evaluates.
func outerNested(r *dresource) bool {
	if !strings.EqualFold(r.typ, "Microsoft.Resources/deployments") {
		return false
	}
	props, _ := objVal(r.obj, "properties")
	if _, ok := objVal(props, "template"); !ok {
		return false
	}
	eo, _ := objVal(props, "expressionEvaluationOptions")
	scope, _ := strVal(eo, "scope")
	return !strings.EqualFold(scope, "inner")
}

func (d *decompiler) moduleScope(o *jObject) string {
	sub, hasSub := o.get("subscriptionId")
	rg, hasRG := o.get("resourceGroup")
	switch {
	case hasSub && hasRG:
		return fmt.Sprintf("resourceGroup(%s, %s)", d.value(sub, 1), d.value(rg, 1))
	case hasRG:
		return fmt.Sprintf("resourceGroup(%s)", d.value(rg, 1))
	case hasSub:
		return fmt.Sprintf("subscription(%s)", d.value(sub, 1))
	}
	return ""
}

func toPlain(v any) any {
	switch x := v.(type) {
	case *jObject:
		m := make(map[string]any, len(x.keys))
		for i, k := range x.keys {
			m[k] = toPlain(x.vals[i])
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = toPlain(it)
		}
		return out
	}
	return v
}

// ---- values and expressions ----

// objectKey writes an object key bare when it is an identifier.
func objectKey(k string) string {
	if k != "" && isIdentStart(k[0]) {
		ok := true
		for i := 1; i < len(k); i++ {
			if !isIdentPart(k[i]) {
				ok = false
			}
		}
		if ok {
			return k
		}
	}
	return bicepString(k)
}

// bicepString quotes s as a Bicep string literal.
func bicepString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteString(`\$`)
			} else {
				b.WriteByte('$')
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// value writes a JSON value as Bicep at an indentation level: objects
// and arrays over several lines, strings as literals or converted
// expressions.
func (d *decompiler) value(v any, indent int) string {
	ind := strings.Repeat("  ", indent)
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return fmt.Sprintf("json('%s')", x)
	case string:
		if expr.IsExpression(x) {
			return d.expression(x, 0)
		}
		return bicepString(expr.Literal(x))
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		var b strings.Builder
		b.WriteString("[\n")
		for _, it := range x {
			fmt.Fprintf(&b, "%s  %s\n", ind, d.value(it, indent+1))
		}
		b.WriteString(ind + "]")
		return b.String()
	case *jObject:
		if len(x.keys) == 0 {
			return "{}"
		}
		var b strings.Builder
		b.WriteString("{\n")
		for i, k := range x.keys {
			if k == "copy" {
				if loops, ok := d.propertyCopy(x.vals[i]); ok {
					for _, l := range loops {
						count, _ := l.get("count")
						input, _ := l.get("input")
						name, _ := strVal(l, "name")
						fmt.Fprintf(&b, "%s  %s: %s\n", ind, objectKey(name), d.forExpr(name, count, nil, func() string { return d.value(input, indent+1) }))
					}
					continue
				}
			}
			key := objectKey(expr.Literal(k))
			if expr.IsExpression(k) {
				key = d.interpolatedKey(k)
			}
			fmt.Fprintf(&b, "%s  %s: %s\n", ind, key, d.value(x.vals[i], indent+1))
		}
		b.WriteString(ind + "}")
		return b.String()
	}
	return "null"
}

// propertyCopy recognises a property copy loop: "copy": [{name, count,
// input}].
func (d *decompiler) propertyCopy(v any) ([]*jObject, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, false
	}
	var out []*jObject
	for _, it := range arr {
		o, ok := it.(*jObject)
		if !ok {
			return nil, false
		}
		if _, ok := o.get("input"); !ok {
			return nil, false
		}
		if _, ok := strVal(o, "name"); !ok {
			return nil, false
		}
		out = append(out, o)
	}
	return out, true
}

// interpolatedKey writes an expression used as an object key (a
// user-assigned identity's ID) as an interpolated string.
func (d *decompiler) interpolatedKey(k string) string {
	e, err := expr.Parse(k)
	if err != nil {
		return bicepString(k)
	}
	parts := nodeParts(e.Root)
	if len(parts) == 1 && parts[0].e != nil {
		return "'${" + d.node(parts[0].e, 0) + "}'"
	}
	return d.renderParts(parts)
}

// Precedences of Bicep's operators, loosest first.
const (
	precTernary = iota + 1
	precCoalesce
	precOr
	precAnd
	precEquality
	precCompare
	precAdd
	precMul
	precUnary
	precPrimary
)

// expression converts an ARM expression string (or any JSON value) into
// a Bicep expression, parenthesised when looser than minPrec.
func (d *decompiler) expression(v any, minPrec int) string {
	s, ok := v.(string)
	if !ok || !expr.IsExpression(s) {
		return d.value(v, 0)
	}
	e, err := expr.Parse(s)
	if err != nil {
		d.warnf(s, "decompile-expression", "The expression %q does not parse (%v); it is kept as a string.", s, err)
		return bicepString(s)
	}
	return d.node(e.Root, minPrec)
}

var binaryOps = map[string]struct {
	op   string
	prec int
}{
	"equals": {"==", precEquality}, "less": {"<", precCompare}, "lessorequals": {"<=", precCompare},
	"greater": {">", precCompare}, "greaterorequals": {">=", precCompare},
	"add": {"+", precAdd}, "sub": {"-", precAdd}, "mul": {"*", precMul}, "div": {"/", precMul}, "mod": {"%", precMul},
}

func paren(s string, prec, minPrec int) string {
	if prec < minPrec {
		return "(" + s + ")"
	}
	return s
}

// node converts one ARM expression node.
func (d *decompiler) node(n expr.Node, minPrec int) string {
	switch x := n.(type) {
	case *expr.StringLit:
		return bicepString(x.Value)
	case *expr.IntLit:
		if x.Value < 0 {
			return paren(strconv.FormatInt(x.Value, 10), precUnary, minPrec)
		}
		return strconv.FormatInt(x.Value, 10)
	case *expr.Index:
		return d.node(x.Target, precPrimary) + "[" + d.node(x.Index, 0) + "]"
	case *expr.Property:
		if s, ok := d.symbolicAccess(x); ok {
			return s
		}
		return d.node(x.Target, precPrimary) + accessor(x.Name)
	case *expr.Call:
		if s, ok := d.symbolicAccess(x); ok {
			return s
		}
		return d.call(x, minPrec)
	}
	return "null"
}

func accessor(name string) string {
	if validIdentifier(name) || (name != "" && isIdentStart(name[0]) && bicepKeywords[name]) {
		return "." + name
	}
	return "[" + bicepString(name) + "]"
}

func (d *decompiler) call(x *expr.Call, minPrec int) string {
	args := x.Args
	name := strings.ToLower(x.Name)
	if x.Namespace != "" {
		if id, ok := d.funcs[strings.ToLower(x.Namespace+"."+x.Name)]; ok {
			return id + "(" + d.joinArgs(args) + ")"
		}
		d.warnf(x.Namespace+"."+x.Name, "decompile-unsupported", "The user-defined function %s.%s is not decompiled.", x.Namespace, x.Name)
		return x.Namespace + "." + x.Name + "(" + d.joinArgs(args) + ")"
	}
	lit := func(i int) (string, bool) {
		if i >= len(args) {
			return "", false
		}
		l, ok := args[i].(*expr.StringLit)
		if !ok {
			return "", false
		}
		return l.Value, true
	}
	switch name {
	case "parameters", "variables":
		if n, ok := lit(0); ok && len(args) == 1 {
			if id, ok := d.fnParams[strings.ToLower(n)]; ok && name == "parameters" {
				return id
			}
			table := d.params
			if name == "variables" {
				table = d.vars
			}
			if id, ok := table[strings.ToLower(n)]; ok {
				return id
			}
			d.warnf(n, "decompile-reference", "%s(%q) names nothing the template declares.", x.Name, n)
			return d.identifierFor(n)
		}
	case "true", "false", "null":
		if len(args) == 0 {
			return name
		}
	case "copyindex":
		loopName, offset := "", expr.Node(nil)
		if n, ok := lit(0); ok {
			loopName = n
			if len(args) > 1 {
				offset = args[1]
			}
		} else if len(args) > 0 {
			offset = args[0]
		}
		for i := len(d.loops) - 1; i >= 0; i-- {
			l := d.loops[i]
			if loopName == "" || strings.EqualFold(l.name, loopName) {
				if offset == nil {
					return l.variable
				}
				return paren(l.variable+" + "+d.node(offset, precAdd+1), precAdd, minPrec)
			}
		}
		d.warnf("copyIndex", "decompile-unsupported", "copyIndex() outside a copy loop is not decompiled.")
	case "lambdavariables":
		if n, ok := lit(0); ok {
			return n
		}
	case "lambda":
		if len(args) >= 2 {
			var vars []string
			for _, a := range args[:len(args)-1] {
				if l, ok := a.(*expr.StringLit); ok {
					vars = append(vars, l.Value)
				}
			}
			params := strings.Join(vars, ", ")
			if len(vars) != 1 {
				params = "(" + params + ")"
			}
			return paren(params+" => "+d.node(args[len(args)-1], 0), precTernary, minPrec)
		}
	case "not":
		if len(args) == 1 {
			return paren("!"+d.node(args[0], precUnary), precUnary, minPrec)
		}
	case "and", "or":
		if len(args) >= 2 {
			op, prec := " && ", precAnd
			if name == "or" {
				op, prec = " || ", precOr
			}
			parts := make([]string, len(args))
			for i, a := range args {
				parts[i] = d.node(a, prec+1)
			}
			return paren(strings.Join(parts, op), prec, minPrec)
		}
	case "if":
		if len(args) == 3 {
			return paren(d.node(args[0], precCoalesce)+" ? "+d.node(args[1], precCoalesce)+" : "+d.node(args[2], precTernary), precTernary, minPrec)
		}
	case "createarray":
		return "[" + d.joinArgs(args) + "]"
	case "createobject":
		if len(args)%2 == 0 {
			parts := make([]string, 0, len(args)/2)
			for i := 0; i+1 < len(args); i += 2 {
				key := ""
				if k, ok := args[i].(*expr.StringLit); ok {
					key = objectKey(k.Value)
				} else {
					key = "'${" + d.node(args[i], 0) + "}'"
				}
				parts = append(parts, key+": "+d.node(args[i+1], 0))
			}
			if len(parts) == 0 {
				return "{}"
			}
			return "{ " + strings.Join(parts, ", ") + " }"
		}
	case "concat", "format":
		parts := nodeParts(x)
		if len(parts) == 1 && parts[0].e != nil && parts[0].e != expr.Node(x) {
			return "'${" + d.node(parts[0].e, 0) + "}'"
		}
		if len(parts) != 1 || parts[0].e != expr.Node(x) {
			return d.renderParts(parts)
		}
	case "resourceid", "subscriptionresourceid", "extensionresourceid":
		if r := d.resourceIDTarget(x, false); r != nil {
			d.refs[r.sym] = true
			return r.sym + ".id"
		}
		if r, idx := d.loopElement(d.resourceIDSegs(x)); r != nil {
			d.refs[r.sym] = true
			return r.sym + idx + ".id"
		}
	case "reference":
		if len(args) >= 1 {
			if r := d.referenceTarget(args[0]); r != nil {
				d.refs[r.sym] = true
				if len(args) >= 3 {
					return r.sym
				}
				if r.module {
					return r.sym
				}
				return r.sym + ".properties"
			}
		}
	case "references":
		// a whole resource or module collection of a 2.0 template
		if len(args) >= 1 && !d.noSymbols {
			if a, ok := args[0].(*expr.StringLit); ok {
				if r := d.bySym[strings.ToLower(a.Value)]; r != nil && r.armSym != "" && r.loop != "" {
					d.refs[r.sym] = true
					return r.sym
				}
			}
		}
	case "providers":
		d.warnf("providers", "decompile-unsupported", "providers() is not available in Bicep; it is kept and will not compile.")
	}
	if op, ok := binaryOps[name]; ok && len(args) == 2 {
		return paren(d.node(args[0], op.prec)+" "+op.op+" "+d.node(args[1], op.prec+1), op.prec, minPrec)
	}
	fn := x.Name
	if info, ok := expr.FunctionInfo(x.Name); ok {
		fn = info.Name
	}
	return fn + "(" + d.joinArgs(args) + ")"
}

func isResourceIDCall(c *expr.Call) bool {
	if c.Namespace != "" {
		return false
	}
	switch strings.ToLower(c.Name) {
	case "resourceid", "subscriptionresourceid", "extensionresourceid":
		return true
	}
	return false
}

func (d *decompiler) identifierFor(n string) string {
	if validIdentifier(n) {
		return n
	}
	return "_" + strings.Map(func(r rune) rune {
		if r < 128 && isIdentPart(byte(r)) {
			return r
		}
		return '_'
	}, n)
}

func (d *decompiler) joinArgs(args []expr.Node) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = d.node(a, 0)
	}
	return strings.Join(parts, ", ")
}

// referenceTarget is the declared resource or module a reference()'s
// first argument names: a resourceId() of it, or its symbolic name (2.0).
func (d *decompiler) referenceTarget(arg expr.Node) *dresource {
	r, idx := d.referenceTargetIndexed(arg)
	if idx != "" {
		return nil
	}
	return r
}

// referenceTargetIndexed also finds reference(format('sym[{0}]', i)),
// an element of a copy loop in a 2.0 template, with the index.
func (d *decompiler) referenceTargetIndexed(arg expr.Node) (*dresource, string) {
	if d.noSymbols {
		return nil, ""
	}
	if a, ok := arg.(*expr.Call); ok && a.Namespace == "" && strings.EqualFold(a.Name, "format") && len(a.Args) == 2 {
		if f, ok := a.Args[0].(*expr.StringLit); ok && strings.HasSuffix(f.Value, "[{0}]") {
			if r := d.bySym[strings.ToLower(strings.TrimSuffix(f.Value, "[{0}]"))]; r != nil && r.armSym != "" && r.loop != "" {
				return r, "[" + d.node(a.Args[1], 0) + "]"
			}
		}
	}
	if r := d.referenceTargetPlain(arg); r != nil {
		return r, ""
	}
	if c, ok := arg.(*expr.Call); ok {
		return d.loopElement(d.resourceIDSegs(c))
	}
	return nil, ""
}

func (d *decompiler) referenceTargetPlain(arg expr.Node) *dresource {
	switch a := arg.(type) {
	case *expr.Call:
		if isResourceIDCall(a) {
			return d.resourceIDTarget(a, false)
		}
	case *expr.StringLit:
		if r := d.bySym[strings.ToLower(a.Value)]; r != nil && r.armSym != "" && r.loop == "" {
			return r
		}
	}
	return nil
}

// symbolicAccess turns reference(...).outputs.x.value of a module into
// mod.outputs.x, and reference(...).x of a resource into r.properties.x
// (r.x with 'Full').
func (d *decompiler) symbolicAccess(n expr.Node) (string, bool) {
	var chain []string
	cur := n
	for {
		p, ok := cur.(*expr.Property)
		if !ok {
			break
		}
		chain = append([]string{p.Name}, chain...)
		cur = p.Target
	}
	c, ok := cur.(*expr.Call)
	if !ok || c.Namespace != "" || !strings.EqualFold(c.Name, "reference") || len(c.Args) == 0 {
		return "", false
	}
	r, idx := d.referenceTargetIndexed(c.Args[0])
	if r == nil {
		return "", false
	}
	if r.module {
		if len(chain) >= 3 && strings.EqualFold(chain[0], "outputs") && strings.EqualFold(chain[2], "value") {
			d.refs[r.sym] = true
			out := r.sym + idx + ".outputs" + accessor(chain[1])
			for _, p := range chain[3:] {
				out += accessor(p)
			}
			return out, true
		}
		return "", false
	}
	if len(chain) == 0 {
		return "", false
	}
	d.refs[r.sym] = true
	out := r.sym + idx
	if len(c.Args) < 3 {
		out += ".properties"
	}
	for _, p := range chain {
		out += accessor(p)
	}
	return out, true
}

// typePointerExpr turns a $ref into a part of a definition
// (name/properties/p/items/...) into Bicep type access (name.p[*]...).
func typePointerExpr(ptr string, typeNames map[string]string) (string, bool) {
	segs := strings.Split(ptr, "/")
	dec := strings.NewReplacer("~1", "/", "~0", "~")
	n, ok := typeNames[dec.Replace(segs[0])]
	if !ok || len(segs) == 1 {
		return "", false
	}
	var b strings.Builder
	b.WriteString(n)
	for i := 1; i < len(segs); i++ {
		switch segs[i] {
		case "properties":
			if i+1 >= len(segs) || !validIdentifier(dec.Replace(segs[i+1])) {
				return "", false
			}
			i++
			b.WriteString("." + dec.Replace(segs[i]))
		case "additionalProperties":
			b.WriteString(".*")
		case "items":
			b.WriteString("[*]")
		case "prefixItems":
			if i+1 >= len(segs) {
				return "", false
			}
			i++
			b.WriteString("[" + segs[i] + "]")
		default:
			return "", false
		}
	}
	return b.String(), true
}
