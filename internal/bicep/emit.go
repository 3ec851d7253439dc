package bicep

import (
	"strings"
)

var schemas = map[string]string{
	"resourceGroup":   "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
	"subscription":    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
	"managementGroup": "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
	"tenant":          "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
}

// decideSymbolic applies the official compiler's rule for
// languageVersion 2.0 (EmitterSettings.EnableSymbolicNames).
func (m *model) decideSymbolic() {
	if len(m.types) > 0 || len(m.funcs) > 0 || len(m.closure) > 0 {
		m.symbolic = true
		return
	}
	for _, im := range m.imports {
		if !im.Extension {
			m.symbolic = true
			return
		}
		m.symbolic = true // extensions need symbolic names too
		return
	}
	for _, v := range m.vars {
		if v.Type != nil {
			m.symbolic = true
			return
		}
	}
	for _, o := range m.outputs {
		if hasDecorator(o.Decorators, "secure") || usesTypeSyntax(o.Type) {
			m.symbolic = true
			return
		}
	}
	for _, p := range m.params {
		if usesTypeSyntax(p.Type) {
			m.symbolic = true
			return
		}
	}
	for _, mod := range m.modules {
		if mod.name == nil {
			m.symbolic = true
			return
		}
		if mod.child != nil {
			for _, o := range mod.child.outputs {
				if hasDecorator(o.Decorators, "secure") {
					m.symbolic = true
					return
				}
			}
		}
	}
	if m.usesWholeCollection() {
		m.symbolic = true
		return
	}
	for _, r := range m.resources {
		if r.existing && propOf(r.body, "dependsOn") != nil {
			m.symbolic = true
			return
		}
		if hasDecorator(r.stmt.Decorators, "onlyIfNotExists") || hasDecorator(r.stmt.Decorators, "retryOn") {
			m.symbolic = true
			return
		}
	}
}

// usesTypeSyntax: object, array, tuple, union or nullable type syntax
// anywhere in a declared type.
func usesTypeSyntax(t TypeExpr) bool {
	switch x := t.(type) {
	case nil:
		return false
	case *TypeObject, *TypeTuple, *TypeUnion, *TypeNullable, *TypeArray, *TypeAccess, *TypeNonNull:
		return true
	case *TypeResource:
		return x.Keyword != "resource"
	case *TypeParen:
		return usesTypeSyntax(x.X)
	case *TypeLiteral:
		return true
	case *TypeRef:
		return x.Namespace != "" && x.Namespace != "sys"
	}
	return false
}

func hasDecorator(ds []*Decorator, name string) bool { return decorator(ds, name) != nil }

func decorator(ds []*Decorator, name string) *Decorator {
	for _, d := range ds {
		if d.Name == name && (d.Namespace == "" || d.Namespace == "sys") {
			return d
		}
	}
	return nil
}

// computeInline marks the variables whose values are known only at
// deployment time (reference(), list*(), module outputs, resource
// members other than id/name/type/apiVersion): ARM forbids those in the
// variables section, so uses of them are inlined.
func (m *model) computeInline() {
	m.inline = map[*VarStmt]bool{}
	changed := true
	for changed {
		changed = false
		for _, v := range m.vars {
			if m.inline[v] {
				continue
			}
			if m.isRuntime(v.Value, nil) {
				m.inline[v] = true
				changed = true
			}
		}
	}
}

func (m *model) isRuntime(e Expr, locals map[string]bool) bool {
	runtime := false
	var walk func(e Expr, locals map[string]bool)
	walk = func(e Expr, locals map[string]bool) {
		if e == nil || runtime {
			return
		}
		switch x := e.(type) {
		case *Ident:
			if locals[x.Name] {
				return
			}
			if s := m.syms[x.Name]; s != nil {
				switch s.kind {
				case symVar:
					if m.inline[s.v] {
						runtime = true
					}
				case symResource, symModule:
					runtime = true
				}
			}
		case *PropertyAccess:
			if r, _ := m.resourceRef(x.X); r != nil {
				switch x.Name {
				case "id", "name", "type", "apiVersion":
					if r.loop != nil {
						if ia, ok := x.X.(*IndexAccess); ok {
							walk(ia.Index, locals)
						}
					}
					return
				}
				runtime = true
				return
			}
			if mod, _ := m.moduleRef(x.X); mod != nil && x.Name == "name" {
				return
			}
			walk(x.X, locals)
		case *CallExpr:
			if x.Receiver != nil {
				if r, _ := m.resourceRef(x.Receiver); r != nil {
					runtime = true
					return
				}
			}
			if (x.Receiver == nil || isNamespace(x.Receiver, "az")) && (x.Name == "reference" || strings.HasPrefix(x.Name, "list") || x.Name == "references") {
				runtime = true
				return
			}
			walk(x.Receiver, locals)
			for _, a := range x.Args {
				walk(a, locals)
			}
		case *InterpString:
			for _, s := range x.Exprs {
				walk(s, locals)
			}
		case *ObjectLit:
			for _, p := range x.Props {
				walk(p.KeyExpr, locals)
				walk(p.Value, locals)
			}
		case *ArrayLit:
			for _, it := range x.Items {
				walk(it, locals)
			}
		case *SpreadExpr:
			walk(x.X, locals)
		case *ForExpr:
			walk(x.Iterable, locals)
			walk(x.Body, copyLocals(locals, x.Item, x.Index))
		case *UnaryExpr:
			walk(x.X, locals)
		case *BinaryExpr:
			walk(x.X, locals)
			walk(x.Y, locals)
		case *TernaryExpr:
			walk(x.Cond, locals)
			walk(x.Then, locals)
			walk(x.Else, locals)
		case *IndexAccess:
			walk(x.X, locals)
			walk(x.Index, locals)
		case *ResourceAccess:
			runtime = true
		case *NonNullAssert:
			walk(x.X, locals)
		case *ParenExpr:
			walk(x.X, locals)
		case *LambdaExpr:
			walk(x.Body, copyLocals(locals, x.Params...))
		}
	}
	walk(e, locals)
	return runtime
}

// template emits the ARM template of m.
func (c *compiler) template(m *model) *jObject {
	t := newObj()
	t.set("$schema", schemas[m.targetScope])
	if m.symbolic {
		t.set("languageVersion", "2.0")
	}
	t.set("contentVersion", "1.0.0.0")
	root := rootCx(m)
	meta := newObj()
	gen := newObj().set("name", "bicep").set("version", generatorVersion)
	meta.set("_generator", gen)
	if exported := m.exportedVariables(); len(exported) > 0 {
		meta.set("__bicep_exported_variables!", exported)
	}
	for _, md := range m.metadata {
		meta.set(md.Name, root.value(md.Value))
	}
	t.set("metadata", meta)
	if defs := m.definitions(); len(defs.keys) > 0 {
		t.set("definitions", defs)
	}
	if fns := m.functionsSection(); fns != nil {
		t.set("functions", fns)
	}
	if len(m.params) > 0 {
		ps := newObj()
		for _, p := range m.params {
			ps.set(p.Name, m.parameter(p))
		}
		t.set("parameters", ps)
	}
	if vars := m.variablesSection(); len(vars.keys) > 0 {
		t.set("variables", vars)
	}
	if m.symbolic {
		rs := newObj()
		for _, r := range m.resources {
			rs.set(r.symName, m.resourceJSON(r))
		}
		for _, mod := range m.modules {
			rs.set(mod.stmt.Name, m.moduleJSON(mod))
		}
		t.set("resources", rs)
	} else {
		rs := []any{}
		for _, r := range m.resources {
			if r.existing {
				continue
			}
			rs = append(rs, m.resourceJSON(r))
		}
		for _, mod := range m.modules {
			rs = append(rs, m.moduleJSON(mod))
		}
		t.set("resources", rs)
	}
	if len(m.outputs) > 0 {
		os := newObj()
		for _, o := range m.outputs {
			os.set(o.Name, m.output(o))
		}
		t.set("outputs", os)
	}
	gen.set("templateHash", templateHash(t))
	return t
}

func (m *model) variablesSection() *jObject {
	vars := newObj()
	root := rootCx(m)
	var copies []any
	for _, v := range m.vars {
		if m.inline[v] {
			continue
		}
		if f, ok := v.Value.(*ForExpr); ok {
			copies = append(copies, root.copyObject(v.Name, f, v.Name))
		}
	}
	for _, im := range m.closure {
		if im.kind == symVar {
			if f, ok := im.v.Value.(*ForExpr); ok {
				m.asEmitting(im.src, func() { copies = append(copies, rootCx(im.src).copyObject(im.name, f, im.name)) })
			}
		}
	}
	if len(copies) > 0 {
		vars.set("copy", copies)
	}
	for _, v := range m.vars {
		if m.inline[v] {
			continue
		}
		if _, ok := v.Value.(*ForExpr); ok {
			continue
		}
		vars.set(v.Name, root.value(v.Value))
	}
	for _, im := range m.closure {
		if im.kind == symVar {
			if _, ok := im.v.Value.(*ForExpr); !ok {
				m.asEmitting(im.src, func() { vars.set(im.name, rootCx(im.src).value(im.v.Value)) })
			}
		}
	}
	return vars
}

func (m *model) exportedVariables() []any {
	var out []any
	for _, v := range m.vars {
		if !hasDecorator(v.Decorators, "export") {
			continue
		}
		o := newObj().set("name", v.Name)
		if d := decorator(v.Decorators, "description"); d != nil && len(d.Args) == 1 {
			o.set("description", rootCx(m).value(d.Args[0]))
		}
		out = append(out, o)
	}
	return out
}

// parameter emits a parameter: type, defaultValue, allowedValues, then
// the decorators' constraints and metadata, in the official order.
func (m *model) parameter(p *ParamStmt) *jObject {
	root := rootCx(m)
	o := m.typeWith(p.Type, p.Decorators)
	if p.Default != nil {
		o.set("defaultValue", root.value(p.Default))
	}
	if d := decorator(p.Decorators, "allowed"); d != nil && len(d.Args) == 1 {
		o.set("allowedValues", root.value(d.Args[0]))
	}
	m.applyModifiers(o, p.Decorators, false)
	return o
}

// applyModifiers applies @secure, @sealed, @export, @metadata,
// @minLength, @maxLength, @minValue, @maxValue and @description.
func (m *model) applyModifiers(o *jObject, ds []*Decorator, isType bool) {
	root := rootCx(m)
	if hasDecorator(ds, "secure") {
		if t, ok := o.get("type"); ok {
			switch t {
			case "string":
				o.set("type", "securestring")
			case "object":
				o.set("type", "secureObject")
			}
		}
	}
	if hasDecorator(ds, "sealed") {
		o.set("additionalProperties", false)
	}
	if isType && hasDecorator(ds, "export") {
		mergeMetadata(o, "__bicep_export!", true)
	}
	for _, name := range []string{"metadata", "minLength", "maxLength", "minValue", "maxValue"} {
		if d := decorator(ds, name); d != nil && len(d.Args) == 1 {
			if name == "metadata" {
				v := root.value(d.Args[0])
				if existing, ok := o.get("metadata"); ok {
					if eo, ok := existing.(*jObject); ok {
						if vo, ok := v.(*jObject); ok {
							for i, k := range vo.keys {
								eo.set(k, vo.vals[i])
							}
							continue
						}
					}
				}
				o.set("metadata", v)
				continue
			}
			o.set(name, root.value(d.Args[0]))
		}
	}
	if d := decorator(ds, "description"); d != nil && len(d.Args) == 1 {
		mergeMetadata(o, "description", root.value(d.Args[0]))
	}
}

func mergeMetadata(o *jObject, key string, v any) {
	if existing, ok := o.get("metadata"); ok {
		if eo, ok := existing.(*jObject); ok {
			eo.set(key, v)
			return
		}
	}
	o.set("metadata", newObj().set(key, v))
}

func (m *model) output(o *OutputStmt) *jObject {
	root := rootCx(m)
	out := m.typeWith(o.Type, o.Decorators)
	m.applyModifiers(out, o.Decorators, false)
	if f, ok := o.Value.(*ForExpr); ok {
		out.set("copy", root.copyObject("", f, ""))
		return out
	}
	if tr, ok := o.Type.(*TypeResource); ok && tr.Keyword == "resource" {
		if r, idx := m.resourceRef(o.Value); r != nil {
			out.set("value", toValue(root.resourceContext(r, idx).resourceID(r)))
			return out
		}
	}
	out.set("value", root.value(o.Value))
	return out
}

// resourceJSON emits a resource: copy, condition, existing, type,
// apiVersion, scope properties, name, the body, dependsOn, metadata.
func (m *model) resourceJSON(r *resource) *jObject {
	o := newObj()
	own := rootCx(m)
	if r.loop != nil {
		cp := newObj().set("name", r.symName).set("count", toValue(call("length", own.conv(r.loop.Iterable))))
		if d := decorator(r.stmt.Decorators, "batchSize"); d != nil && len(d.Args) == 1 {
			cp.set("mode", "serial").set("batchSize", own.value(d.Args[0]))
		}
		o.set("copy", cp)
		own = own.loopLocals(r.loop, "")
	}
	if cond := m.condition(r.cond, r.loop); cond != nil {
		o.set("condition", own.value(cond))
	}
	if m.symbolic && r.existing {
		o.set("existing", true)
	}
	o.set("type", r.fullType)
	o.set("apiVersion", r.apiVersion)
	m.scopeProperties(o, r.scope, own, true)
	o.set("name", toValue(own.fullName(r)))
	for _, p := range r.body.Props {
		if p.KeyExpr == nil && !p.Spread {
			switch p.Key {
			case "name", "parent", "scope", "dependsOn":
				continue
			}
		}
		if p.Spread {
			own.errorf(p.Pos, "BCP396", "The spread operator is not permitted in a resource body.")
			continue
		}
		if f, ok := p.Value.(*ForExpr); ok {
			cps, _ := o.get("copy")
			_ = cps
			own.errorf(f.Pos, "BCP138", "For-expressions are not supported as top-level properties of a resource body.")
			continue
		}
		key := p.Key
		if p.KeyExpr != nil {
			key = toValueString(own.conv(p.KeyExpr))
		}
		o.set(key, own.value(p.Value))
	}
	m.emitDependsOn(o, m.resSymbol(r), own)
	if d := decorator(r.stmt.Decorators, "description"); d != nil && len(d.Args) == 1 {
		mergeMetadata(o, "description", rootCx(m).value(d.Args[0]))
	}
	return o
}

// condition is the if() of a declaration, or a loop's filter.
func (m *model) condition(cond Expr, loop *ForExpr) Expr {
	if cond != nil {
		return cond
	}
	return nil
}

func (m *model) scopeProperties(o *jObject, sd scopeData, c *cx, forResource bool) {
	if sd.level == "resource" && sd.res != nil {
		sr := sd.res
		sc := c.resourceContext(sr, nil)
		if sr.loop != nil && sd.resIndex != nil {
			base := rootCx(sr.m)
			sc = base.loopLocalsAt(sr.loop, c.conv(sd.resIndex), base)
		}
		o.set("scope", toValue(sc.resourceID(sr)))
		return
	}
	switch sd.level {
	case "tenant":
		if m.targetScope != "tenant" {
			o.set("scope", "/")
		}
	case "managementGroup":
		if sd.mg != nil {
			if m.targetScope != "tenant" && m.targetScope != "managementGroup" {
				o.set("scope", toValue(call("tenantResourceId", aStr("Microsoft.Management/managementGroups"), c.conv(sd.mg))))
			} else {
				o.set("scope", toValue(call("format", aStr("Microsoft.Management/managementGroups/{0}"), c.conv(sd.mg))))
			}
		}
	case "subscription":
		if sd.sub != nil {
			o.set("subscriptionId", c.value(sd.sub))
		} else if m.targetScope == "resourceGroup" {
			o.set("subscriptionId", toValue(withProps(call("subscription"), aStr("subscriptionId"))))
		}
	case "resourceGroup":
		if sd.sub != nil {
			o.set("subscriptionId", c.value(sd.sub))
		}
		if sd.rg != nil {
			o.set("resourceGroup", c.value(sd.rg))
		}
	}
}

func (m *model) emitDependsOn(o *jObject, s *symbol, own *cx) {
	targets := m.dependsOn(s)
	if len(targets) == 0 {
		return
	}
	var out []any
	seen := map[string]bool{}
	for _, t := range targets {
		var v any
		strict := own.with(nil)
		strict.strict = true
		switch t.sym.kind {
		case symResource:
			r := t.sym.res
			idx := t.index
			if idx != nil {
				strict.conv(idx)
				if strict.failed {
					idx = nil
				}
			}
			switch {
			case r.loop != nil && idx == nil:
				v = r.symName
			case m.symbolic:
				v = toValue(own.symbolicRef(r.symName, r.loop != nil, idx))
			default:
				v = toValue(own.resourceContext(r, idx).resourceID(r))
			}
		case symModule:
			mod := t.sym.mod
			idx := t.index
			if idx != nil {
				strict.conv(idx)
				if strict.failed {
					idx = nil
				}
			}
			switch {
			case mod.loop != nil && idx == nil:
				v = mod.stmt.Name
			case m.symbolic:
				v = toValue(own.symbolicRef(mod.stmt.Name, mod.loop != nil, idx))
			default:
				v = toValue(own.moduleID(mod, idx))
			}
		}
		key, _ := v.(string)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, v)
	}
	o.set("dependsOn", out)
}

// moduleJSON emits a module as a nested deployment with inner scope.
func (m *model) moduleJSON(mod *module) *jObject {
	o := newObj()
	own := rootCx(m)
	if mod.loop != nil {
		cp := newObj().set("name", mod.stmt.Name).set("count", toValue(call("length", own.conv(mod.loop.Iterable))))
		if d := decorator(mod.stmt.Decorators, "batchSize"); d != nil && len(d.Args) == 1 {
			cp.set("mode", "serial").set("batchSize", own.value(d.Args[0]))
		}
		o.set("copy", cp)
		own = own.loopLocals(mod.loop, "")
	}
	if mod.cond != nil {
		o.set("condition", own.value(mod.cond))
	}
	o.set("type", "Microsoft.Resources/deployments")
	o.set("apiVersion", nestedDeploymentAPIVersion)
	if mod.name == nil {
		o.set("name", toValue(own.moduleName(mod, nil)))
	}
	for _, p := range mod.body.Props {
		if p.KeyExpr != nil || p.Spread {
			continue
		}
		switch p.Key {
		case "params", "scope", "dependsOn", "extensionConfigs":
			continue
		}
		o.set(p.Key, own.value(p.Value))
	}
	m.scopeProperties(o, mod.scope, own, false)
	if mod.scope.level != "resourceGroup" {
		if m.targetScope == "resourceGroup" {
			o.set("location", toValue(withProps(call("resourceGroup"), aStr("location"))))
		} else {
			o.set("location", toValue(withProps(call("deployment"), aStr("location"))))
		}
	}
	props := newObj()
	props.set("expressionEvaluationOptions", newObj().set("scope", "inner"))
	props.set("mode", "Incremental")
	if pp := propOf(mod.body, "params"); pp != nil {
		if po, ok := pp.Value.(*ObjectLit); ok {
			params := newObj()
			for _, p := range po.Props {
				if p.KeyExpr != nil || p.Spread {
					own.errorf(p.Pos, "BCP360", "Module parameter names must be literal.")
					continue
				}
				params.set(p.Key, m.moduleParam(mod, p, own))
			}
			props.set("parameters", params)
		} else {
			own.errorf(pp.Value.Position(), "BCP036", "The property \"params\" expected a value of type object.")
		}
	}
	if mod.child != nil {
		props.set("template", m.c.template(mod.child))
	} else if mod.json != nil {
		props.set("template", mod.json)
	}
	o.set("properties", props)
	m.emitDependsOn(o, m.syms[mod.stmt.Name], own)
	if d := decorator(mod.stmt.Decorators, "description"); d != nil && len(d.Args) == 1 {
		mergeMetadata(o, "description", rootCx(m).value(d.Args[0]))
	}
	return o
}

func (m *model) moduleParam(mod *module, p *Property, own *cx) *jObject {
	// kv.getSecret('name') passes a Key Vault reference.
	if ce, ok := p.Value.(*CallExpr); ok && ce.Name == "getSecret" && ce.Receiver != nil {
		if r, idx := m.resourceRef(ce.Receiver); r != nil {
			ref := newObj().set("keyVault", newObj().set("id", toValue(own.resourceContext(r, idx).resourceID(r))))
			if len(ce.Args) >= 1 {
				ref.set("secretName", own.value(ce.Args[0]))
			}
			if len(ce.Args) == 2 {
				ref.set("secretVersion", own.value(ce.Args[1]))
			}
			return newObj().set("reference", ref)
		}
	}
	if f, ok := p.Value.(*ForExpr); ok {
		cp := own.copyObject("value", f, "value")
		return newObj().set("copy", []any{cp})
	}
	// a resource passed to a resource-typed parameter is passed as its id
	if r, idx := m.resourceRef(p.Value); r != nil && mod.child != nil {
		for _, cp := range mod.child.params {
			if cp.Name == p.Key {
				if _, ok := cp.Type.(*TypeResource); ok {
					return newObj().set("value", toValue(own.resourceContext(r, idx).resourceID(r)))
				}
			}
		}
	}
	return newObj().set("value", own.value(p.Value))
}

// usesWholeCollection: a resource or module collection is used as a value
// (map(workers, w => w.id)), which compiles to references() and needs
// symbolic names.
func (m *model) usesWholeCollection() bool {
	found := false
	visit := func(d dep) {
		if d.index != nil || d.weak {
			return
		}
		switch d.sym.kind {
		case symResource:
			found = found || d.sym.res.loop != nil
		case symModule:
			found = found || d.sym.mod.loop != nil
		}
	}
	body := func(obj *ObjectLit, loop *ForExpr) {
		var locals map[string]bool
		if loop != nil {
			m.walkRefs(loop.Iterable, nil, nil, visit)
			locals = copyLocals(nil, loop.Item, loop.Index)
		}
		for _, p := range obj.Props {
			if p.Key == "dependsOn" || p.Key == "parent" || p.Key == "scope" {
				continue
			}
			m.walkRefs(p.Value, locals, nil, visit)
		}
	}
	for _, v := range m.vars {
		m.walkRefs(v.Value, nil, nil, visit)
	}
	for _, o := range m.outputs {
		m.walkRefs(o.Value, nil, nil, visit)
	}
	for _, r := range m.resources {
		body(r.body, r.loop)
	}
	for _, mod := range m.modules {
		body(mod.body, mod.loop)
	}
	return found
}
