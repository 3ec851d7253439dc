package bicep

import (
	"fmt"
	"path"
	"strings"
)

var primitiveTypes = map[string]bool{"string": true, "int": true, "bool": true, "object": true, "array": true, "any": true}

// typeProperties is the ARM type description of a declared type:
// {"type": "string"}, {"$ref": "#/definitions/x"}, allowedValues for
// literal unions, properties/items/prefixItems, nullable.
func (m *model) typeProperties(t TypeExpr) *jObject {
	o := newObj()
	switch x := t.(type) {
	case nil:
		return o
	case *TypeParen:
		return m.typeProperties(x.X)
	case *TypeAccess:
		return m.typeAccess(x)
	case *TypeNonNull:
		if n, ok := unparen(x.X).(*TypeNullable); ok {
			return m.typeProperties(n.X)
		}
		inner := m.typeProperties(x.X)
		if _, ok := inner.get("nullable"); ok {
			inner.del("nullable")
		} else {
			inner.set("nullable", false)
		}
		return inner
	case *TypeRef:
		if x.Namespace != "" && x.Namespace != "sys" && m.isTypeName(x.Namespace) {
			return m.typeAccess(x)
		}
		if x.Namespace != "" && x.Namespace != "sys" {
			s := m.syms[x.Namespace]
			if s == nil || s.kind != symNamespace {
				m.badAccessBase(x)
				return o
			}
			st := s.ns.syms[x.Name]
			if st == nil || st.kind != symType || st.from != nil || !hasDecorator(st.typ.Decorators, "export") {
				m.errorf(x.Pos, "BCP052", "The type %q does not contain type %q, or it is not exported.", x.Namespace, x.Name)
				return o
			}
			return o.set("$ref", "#/definitions/"+m.nameOf(st))
		}
		if s := m.syms[x.Name]; s != nil && s.kind == symType {
			return o.set("$ref", "#/definitions/"+m.nameOf(s))
		}
		if primitiveTypes[x.Name] {
			if x.Name == "any" {
				return o
			}
			return o.set("type", x.Name)
		}
		m.notAType(x.Pos, x.Name)
	case *TypeLiteral:
		v := rootCx(m).value(x.Value)
		o.set("type", literalTypeName(v))
		o.set("allowedValues", []any{v})
	case *TypeNullable:
		inner := m.typeProperties(x.X)
		inner.set("nullable", true)
		return inner
	case *TypeArray:
		o.set("type", "array")
		o.set("items", m.typeProperties(x.Elem))
	case *TypeTuple:
		o.set("type", "array")
		var items []any
		for i, it := range x.Items {
			ip := m.typeWith(it, x.Decos[i])
			m.applyModifiers(ip, x.Decos[i], false)
			items = append(items, ip)
		}
		if items == nil {
			items = []any{}
		}
		o.set("prefixItems", items)
		o.set("items", false)
	case *TypeObject:
		o.set("type", "object")
		if len(x.Props) > 0 || x.Additional != nil {
			props := newObj()
			for _, p := range x.Props {
				pp := m.typeWith(p.Type, p.Decorators)
				m.applyModifiers(pp, p.Decorators, false)
				props.set(p.Name, pp)
			}
			o.set("properties", props)
		}
		if x.Additional != nil {
			ap := m.typeWith(x.Additional, x.AddDecos)
			m.applyModifiers(ap, x.AddDecos, false)
			o.set("additionalProperties", ap)
		}
	case *TypeUnion:
		var values []any
		nullable := false
		typ := ""
		for _, mem := range x.Members {
			lit, ok := unparen(mem).(*TypeLiteral)
			if !ok {
				m.errorf(mem.Position(), "BCP294", "Type unions must be reduced to a single ARM type (such as 'string', 'int', or 'bool').")
				return o
			}
			v := rootCx(m).value(lit.Value)
			if v == nil {
				nullable = true
				continue
			}
			tn := literalTypeName(v)
			if typ != "" && typ != tn {
				m.errorf(mem.Position(), "BCP294", "Type unions must be reduced to a single ARM type (such as 'string', 'int', or 'bool').")
				return o
			}
			typ = tn
			values = append(values, v)
		}
		o.set("type", typ)
		o.set("allowedValues", values)
		if nullable {
			o.set("nullable", true)
		}
	case *TypeResource:
		if x.Keyword == "resource" {
			// resource-typed parameters and outputs pass the resource id
			o.set("type", "string")
			mergeMetadata(o, "resourceType", x.Type)
			return o
		}
		return m.resourceDerived(x, nil)
	}
	return o
}

// ambientTypeNames are the types the official compiler's sys namespace
// has in a .bicep file, in the order its BCP302 lists them.
var ambientTypeNames = []string{"any", "array", "bool", "int", "object", "resourceInput", "resourceOutput", "string"}

// notAType is BCP302 as the official compiler words it: the ambient
// types, then the file's own type declarations, then its imported types.
func (m *model) notAType(p Pos, name string) {
	names := append([]string(nil), ambientTypeNames...)
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, t := range m.types {
		add(t.Name)
	}
	for _, s := range m.importedSym {
		if s.kind == symType {
			add(s.name)
		}
	}
	m.errorf(p, "BCP302", "The name %q is not a valid type. Please specify one of the following types: \"%s\".", name, strings.Join(names, "\", \""))
}

// badAccessBase reports a type access (a.b, or T[*] and the like on T)
// whose base names no type, as the official compiler does: a value, a
// primitive without properties, or no declaration at all.
func (m *model) badAccessBase(x *TypeRef) {
	base := x.Name
	if x.Namespace != "" && x.Namespace != "sys" {
		base = x.Namespace
	}
	switch {
	case m.syms[base] != nil:
		m.errorf(x.Pos, "BCP287", "'%s' refers to a value but is being used as a type here.", base)
	case primitiveTypes[base]:
		m.errorf(x.Pos, "BCP055", "Cannot access properties of type %q. An \"object\" type is required.", base)
	default:
		m.notAType(x.Pos, base)
	}
}

// isTypeName: name is a type declared in (or imported into) the file.
func (m *model) isTypeName(name string) bool {
	s := m.syms[name]
	return s != nil && s.kind == symType
}

// typeAccess is a part of a declared type (T.prop, T.*, T[*], T[n]): a
// $ref pointing inside the declaration, or for a part of a resource
// derived type the derived type's pointer, as the official compiler emits.
func (m *model) typeAccess(t TypeExpr) *jObject {
	root, segs, res := m.typePointer(t, 0)
	if res != nil {
		return m.resourceDerived(res, segs)
	}
	if root == "" {
		return newObj()
	}
	enc := strings.NewReplacer("~", "~0", "/", "~1")
	ref := "#/definitions/" + enc.Replace(root)
	for _, s := range segs {
		ref += "/" + enc.Replace(s)
	}
	return newObj().set("$ref", ref)
}

// typePointer resolves an access chain to the declaration it starts at
// (or the resource derived type) and the JSON pointer segments inside it.
func (m *model) typePointer(t TypeExpr, depth int) (string, []string, *TypeResource) {
	if depth > maxDepth {
		return "", nil, nil
	}
	switch x := t.(type) {
	case *TypeParen:
		return m.typePointer(x.X, depth+1)
	case *TypeResource:
		if x.Keyword == "resource" {
			// The official compiler dropped the resource<> utility type
			// in 0.34 (resourceInput<> and resourceOutput<> replace it),
			// so there "resource" names no type at all.
			m.notAType(x.Pos, "resource")
			return "", nil, nil
		}
		return "", nil, x
	case *TypeRef:
		if x.Namespace != "" && x.Namespace != "sys" && m.isTypeName(x.Namespace) {
			return x.Namespace, []string{"properties", x.Name}, nil
		}
		if x.Namespace != "" && x.Namespace != "sys" {
			if s := m.syms[x.Namespace]; s != nil && s.kind == symNamespace {
				if st := s.ns.syms[x.Name]; st != nil && st.kind == symType {
					return m.nameOf(st), nil, nil
				}
				return x.Namespace + "." + x.Name, nil, nil
			}
		}
		if m.isTypeName(x.Name) && x.Namespace == "" {
			return x.Name, nil, nil
		}
		m.badAccessBase(x)
		return "", nil, nil
	case *TypeAccess:
		root, segs, res := m.typePointer(x.X, depth+1)
		if root == "" && res == nil {
			return "", nil, nil
		}
		switch x.Kind {
		case "prop":
			segs = append(segs, "properties", x.Prop)
		case "*":
			segs = append(segs, "additionalProperties")
		case "[*]":
			segs = append(segs, "items")
		case "[n]":
			segs = append(segs, "prefixItems", fmt.Sprint(x.Index))
		}
		return root, segs, res
	}
	m.errorf(t.Position(), "BCP391", "Type member access is only supported on a reference to a named type.")
	return "", nil, nil
}

// resourceDerived is resourceInput<'type@version'> or resourceOutput<...>
// (with a pointer into the resource's body): the official compiler takes
// the ARM type from Azure's type library, which keyless does not have, so
// it is inferred from the member named (string for name, location, id,
// kind..., object for properties, tags, sku, identity..., string for a
// tag value); a member not known that way gets no type, which is what the
// official compiler emits for an any-typed member.
func (m *model) resourceDerived(x *TypeResource, segs []string) *jObject {
	o := newObj()
	if typ := derivedTypeName(segs); typ != "" {
		o.set("type", typ)
	}
	src := x.Type
	if i := strings.Index(src, ":"); i >= 0 && !strings.Contains(src[:i], "/") {
		src = src[i+1:] // az:Microsoft.X/y@v
	}
	if len(segs) > 0 {
		enc := strings.NewReplacer("~", "~0", "/", "~1")
		parts := make([]string, len(segs))
		for i, s := range segs {
			parts[i] = enc.Replace(s)
		}
		src += "#" + strings.Join(parts, "/")
	}
	meta := newObj().set("source", src)
	if x.Keyword == "resourceOutput" {
		meta.set("output", true)
	}
	mergeMetadata(o, "__bicep_resource_derived_type!", meta)
	return o
}

func derivedTypeName(segs []string) string {
	if len(segs) == 0 {
		return "object"
	}
	last := segs[len(segs)-1]
	if len(segs) >= 2 && segs[len(segs)-2] == "properties" {
		top := len(segs) == 2
		switch last {
		case "name", "location", "kind", "id", "type", "apiVersion", "etag", "managedBy", "principalId", "tenantId", "clientId", "roleDefinitionId", "principalType", "scope", "description", "provisioningState":
			return "string"
		case "properties", "tags", "sku", "identity", "plan", "extendedLocation", "userAssignedIdentities":
			return "object"
		case "zones", "dependsOn", "accessPolicies":
			return "array"
		}
		_ = top
		return ""
	}
	if last == "additionalProperties" && len(segs) >= 3 && segs[len(segs)-2] == "tags" {
		return "string"
	}
	if last == "additionalProperties" && len(segs) >= 3 && segs[len(segs)-2] == "userAssignedIdentities" {
		return "object"
	}
	if last == "items" && len(segs) >= 3 && segs[len(segs)-2] == "accessPolicies" {
		return "object"
	}
	return ""
}

// typeWith is typeProperties of a type with the decorators of its
// declaration: @discriminator('p') makes a union of object types a tagged
// union.
func (m *model) typeWith(t TypeExpr, ds []*Decorator) *jObject {
	if d := decorator(ds, "discriminator"); d != nil {
		if len(d.Args) == 1 {
			if lit, ok := d.Args[0].(*StringLit); ok {
				return m.discriminated(t, lit.Value, d.Pos)
			}
		}
		m.errorf(d.Pos, "BCP070", "The discriminator decorator expects one string literal: the name of the discriminator property.")
	}
	return m.typeProperties(t)
}

// discriminated emits a tagged union: {"type": "object", "discriminator":
// {"propertyName", "mapping"}}, members that are tagged unions themselves
// flattened into it, as the official compiler does.
func (m *model) discriminated(t TypeExpr, prop string, at Pos) *jObject {
	switch x := unparen(t).(type) {
	case *TypeNullable:
		o := m.discriminated(x.X, prop, at)
		o.set("nullable", true)
		return o
	case *TypeNonNull:
		return m.discriminated(x.X, prop, at)
	}
	mapping := newObj()
	var add func(owner *model, t TypeExpr, depth int)
	add = func(owner *model, t TypeExpr, depth int) {
		if depth > 64 {
			return
		}
		switch x := unparen(t).(type) {
		case *TypeUnion:
			for _, mem := range x.Members {
				add(owner, mem, depth+1)
			}
			return
		case *TypeRef:
			if x.Namespace == "" {
				if s := owner.syms[x.Name]; s != nil && s.kind == symType && s.typ != nil {
					src := owner
					if s.from != nil {
						src = s.from
					}
					if _, isUnion := unparen(s.typ.Value).(*TypeUnion); isUnion {
						add(src, s.typ.Value, depth+1)
						return
					}
					if v, ok := src.discriminatorValue(s.typ.Value, prop, depth+1); ok {
						mapping.set(v, owner.typeProperties(x))
						return
					}
				}
			}
		default:
			if v, ok := owner.discriminatorValue(x, prop, depth+1); ok {
				mapping.set(v, owner.typeProperties(x))
				return
			}
		}
		m.errorf(t.Position(), "BCP364", "The property %q must be a required string literal on all union member types.", prop)
	}
	add(m, t, 0)
	return newObj().set("type", "object").set("discriminator", newObj().set("propertyName", prop).set("mapping", mapping))
}

// discriminatorValue is the string literal type of property prop of an
// object type.
func (m *model) discriminatorValue(t TypeExpr, prop string, depth int) (string, bool) {
	if depth > 64 {
		return "", false
	}
	switch x := unparen(t).(type) {
	case *TypeObject:
		for _, p := range x.Props {
			if p.Name == prop {
				if lit, ok := unparen(p.Type).(*TypeLiteral); ok {
					if s, ok := lit.Value.(*StringLit); ok {
						return s.Value, true
					}
				}
			}
		}
	case *TypeRef:
		if s := m.syms[x.Name]; s != nil && s.kind == symType && s.typ != nil && x.Namespace == "" {
			src := m
			if s.from != nil {
				src = s.from
			}
			return src.discriminatorValue(s.typ.Value, prop, depth+1)
		}
	}
	return "", false
}

func unparen(t TypeExpr) TypeExpr {
	for {
		p, ok := t.(*TypeParen)
		if !ok {
			return t
		}
		t = p.X
	}
}

func literalTypeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "int"
	case bool:
		return "bool"
	case *jObject:
		return "object"
	case []any:
		return "array"
	}
	return "object"
}

// definitions: the file's type declarations, then the imported ones
// (the import closure), as the official compiler orders them.
func (m *model) definitions() *jObject {
	defs := newObj()
	for _, t := range m.types {
		d := m.typeWith(t.Value, t.Decorators)
		m.applyModifiers(d, t.Decorators, true)
		defs.set(t.Name, d)
	}
	for _, im := range m.closure {
		if im.kind != symType {
			continue
		}
		var d *jObject
		m.asEmitting(im.src, func() {
			d = im.src.typeWith(im.typ.Value, im.typ.Decorators)
			im.src.applyModifiers(d, im.typ.Decorators, false)
		})
		mergeMetadata(d, "__bicep_imported_from!", m.importedFrom(im))
		defs.set(im.name, d)
	}
	return defs
}

// importedFrom is the __bicep_imported_from! metadata of an imported
// declaration.
func (m *model) importedFrom(im *importDecl) *jObject {
	o := newObj().set("sourceTemplate", relPath(m.path, im.src.path))
	if _, mem := funcNamespace(im.name); im.kind == symFunc && mem != im.orig || im.kind != symFunc && im.name != im.orig && !strings.HasPrefix(im.name, "_") {
		o.set("originalIdentifier", im.orig)
	}
	return o
}

func relPath(from, to string) string {
	dir := path.Dir(from)
	if dir == "." {
		return to
	}
	if strings.HasPrefix(to, dir+"/") {
		return strings.TrimPrefix(to, dir+"/")
	}
	return to
}

// functionsSection emits user-defined functions in the __bicep namespace.
func (m *model) functionsSection() []any {
	add := func(owner *model, fn *FuncStmt) *jObject {
		f := newObj()
		var params []any
		locals := map[string]aexpr{}
		for _, p := range fn.Params {
			po := owner.typeProperties(p.Type)
			po.set("name", p.Name)
			params = append(params, po)
			locals[p.Name] = call("parameters", aStr(p.Name))
		}
		if params == nil {
			params = []any{}
		}
		f.set("parameters", params)
		out := owner.typeProperties(fn.Output)
		body := rootCx(owner).with(locals)
		body.inFunc = true
		out.set("value", body.value(fn.Body))
		f.set("output", out)
		if d := decorator(fn.Decorators, "description"); d != nil && len(d.Args) == 1 {
			mergeMetadata(f, "description", rootCx(owner).value(d.Args[0]))
		}
		if owner == m && hasDecorator(fn.Decorators, "export") {
			mergeMetadata(f, "__bicep_export!", true)
		}
		return f
	}
	var order []string
	groups := map[string]*jObject{}
	put := func(ns, mem string, f *jObject) {
		if groups[ns] == nil {
			groups[ns] = newObj()
			order = append(order, ns)
		}
		groups[ns].set(mem, f)
	}
	for _, fn := range m.funcs {
		put("__bicep", fn.Name, add(m, fn))
	}
	for _, im := range m.closure {
		if im.kind != symFunc {
			continue
		}
		var f *jObject
		m.asEmitting(im.src, func() { f = add(im.src, im.fn) })
		mergeMetadata(f, "__bicep_imported_from!", m.importedFrom(im))
		ns, mem := funcNamespace(im.name)
		put(ns, mem, f)
	}
	var out []any
	for _, ns := range order {
		out = append(out, newObj().set("namespace", ns).set("members", groups[ns]))
	}
	return out
}

// ---- compile-time imports ----

func (m *model) bindImports() {
	for _, im := range m.imports {
		if im.Extension {
			m.errorf(im.Pos, "BCP204", "Extensions (extension/provider declarations) are not supported by keyless.")
			continue
		}
		var src *model
		if isRegistryRef(im.From) {
			file, ok := m.c.cachePath(im.From)
			if !ok {
				m.errorf(im.FromPos, "BCP192", "Unable to restore the artifact with reference %q: keyless compiles without network access. Put it in the local module cache as %s.", im.From, cacheLayoutHint(im.From))
				continue
			}
			src, _ = m.c.loadModuleFile(m, m.c.opts.ModuleCache, file, im.FromPos, true)
		} else if strings.HasSuffix(strings.ToLower(im.From), ".json") {
			src = m.c.loadTemplateImport(m, im.From, im.FromPos)
		} else {
			src, _ = m.c.loadModule(m, im.From, im.FromPos)
		}
		if src == nil {
			continue
		}
		if im.Wildcard != "" {
			m.declare(&symbol{kind: symNamespace, name: im.Wildcard, pos: im.Pos, ns: src})
			continue
		}
		for _, it := range im.Items {
			s := src.syms[it.Name]
			if s == nil || !isExported(s) {
				m.errorf(it.Pos, "BCP360", "The %q symbol was not found in (or was not exported by) the imported template.", it.Name)
				continue
			}
			name := it.Name
			if it.Alias != "" {
				name = it.Alias
			}
			from := src
			if s.from != nil {
				from = s.from
			}
			ns := &symbol{kind: s.kind, name: name, pos: it.Pos, v: s.v, typ: s.typ, fn: s.fn, from: from}
			m.declare(ns)
			m.importedSym = append(m.importedSym, ns)
		}
	}
	m.computeClosure()
}

func walkCalls(e Expr, visit func(string)) {
	var walk func(e Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *CallExpr:
			if x.Receiver == nil {
				visit(x.Name)
			}
			walk(x.Receiver)
			for _, a := range x.Args {
				walk(a)
			}
		case *InterpString:
			for _, s := range x.Exprs {
				walk(s)
			}
		case *ObjectLit:
			for _, p := range x.Props {
				walk(p.Value)
			}
		case *ArrayLit:
			for _, it := range x.Items {
				walk(it)
			}
		case *UnaryExpr:
			walk(x.X)
		case *BinaryExpr:
			walk(x.X)
			walk(x.Y)
		case *TernaryExpr:
			walk(x.Cond)
			walk(x.Then)
			walk(x.Else)
		case *PropertyAccess:
			walk(x.X)
		case *IndexAccess:
			walk(x.X)
			walk(x.Index)
		case *ParenExpr:
			walk(x.X)
		case *LambdaExpr:
			walk(x.Body)
		case *NonNullAssert:
			walk(x.X)
		}
	}
	walk(e)
}

func isExported(s *symbol) bool {
	switch s.kind {
	case symType:
		return hasDecorator(s.typ.Decorators, "export")
	case symVar:
		return hasDecorator(s.v.Decorators, "export")
	case symFunc:
		return hasDecorator(s.fn.Decorators, "export")
	}
	return false
}

// importedValue is ns.variable of a wildcard import.
func (c *cx) importedValue(ns *symbol, name string, p Pos) aexpr {
	s := ns.ns.syms[name]
	if s == nil || s.kind != symVar || s.from != nil || !hasDecorator(s.v.Decorators, "export") {
		c.errorf(p, "BCP052", "The namespace %q does not contain exported variable %q.", ns.name, name)
		return call("null")
	}
	return call("variables", aStr(c.m.nameOf(s)))
}

// importedCall is ns.func(...) of a wildcard import.
func (c *cx) importedCall(ns *symbol, x *CallExpr) aexpr {
	s := ns.ns.syms[x.Name]
	if s == nil || s.kind != symFunc || s.from != nil || !hasDecorator(s.fn.Decorators, "export") {
		c.errorf(x.NamePos, "BCP052", "The namespace %q does not contain exported function %q.", ns.name, x.Name)
		return call("null")
	}
	return c.userCall(s, x)
}
