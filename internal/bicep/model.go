package bicep

import (
	"fmt"
	"sort"
	"strings"
)

// The binder: one model per compiled file, holding its symbols and what
// each declaration depends on.

type symKind int

const (
	symParam symKind = iota + 1
	symVar
	symResource
	symModule
	symOutput
	symType
	symFunc
	symNamespace // import * as ns
	symMetadata
)

func (k symKind) String() string {
	return [...]string{"", "parameter", "variable", "resource", "module", "output", "type", "function", "namespace", "metadata"}[k]
}

type symbol struct {
	kind  symKind
	name  string
	pos   Pos
	param *ParamStmt
	v     *VarStmt
	res   *resource
	mod   *module
	typ   *TypeStmt
	fn    *FuncStmt
	ns    *model
	// from is the model an imported type, variable or function is
	// declared in (nil for the current file).
	from *model
}

type scopeData struct {
	level    string // resourceGroup, subscription, managementGroup, tenant, resource
	sub, rg  Expr   // subscription id / resource group name, nil when current
	mg       Expr   // management group name, nil when current
	res      *resource
	resIndex Expr
	explicit bool
}

type resource struct {
	stmt       *ResourceStmt
	symName    string // parent::child for nested resources
	fullType   string
	apiVersion string
	body       *ObjectLit
	cond       Expr
	loop       *ForExpr
	parent     *resource
	parentIdx  Expr
	nested     bool
	name       Expr
	scope      scopeData
	existing   bool
	m          *model
}

type module struct {
	stmt  *ModuleStmt
	body  *ObjectLit
	cond  Expr
	loop  *ForExpr
	child *model
	json  any // a JSON module's template
	scope scopeData
	name  Expr // nil: generated name
}

type dep struct {
	sym   *symbol
	index Expr
	weak  bool
}

type model struct {
	c           *compiler
	file        *File
	path        string
	targetScope string
	syms        map[string]*symbol
	order       []*symbol // declaration order
	params      []*ParamStmt
	vars        []*VarStmt
	resources   []*resource
	modules     []*module
	outputs     []*OutputStmt
	types       []*TypeStmt
	funcs       []*FuncStmt
	metadata    []*MetadataStmt
	imports     []*ImportStmt
	importedSym []*symbol      // types/vars/funcs brought in by import {...}
	closure     []*importDecl  // everything the imports bring into the template
	names       map[any]string // template names of imported declarations
	symbolic    bool
	inline      map[*VarStmt]bool
	deps        map[*symbol][]dep
	diags       *diagList
	convDepth   int // nesting of conversions across contexts, bounded
}

func (m *model) errorf(p Pos, code, format string, args ...any) {
	m.diags.add(m.path, p, SeverityError, code, format, args...)
}

func (m *model) warnf(p Pos, code, format string, args ...any) {
	m.diags.add(m.path, p, SeverityWarning, code, format, args...)
}

var reservedNames = map[string]bool{"az": true, "sys": true}

func (m *model) declare(s *symbol) {
	if s.name == "" {
		return
	}
	if prev, ok := m.syms[s.name]; ok {
		m.errorf(s.pos, "BCP028", "Identifier %q is declared multiple times. Remove or rename the duplicates.", s.name)
		_ = prev
		return
	}
	if reservedNames[s.name] && s.kind != symOutput {
		m.errorf(s.pos, "BCP084", "The symbolic name %q is reserved. Please use a different symbolic name. Reserved namespaces are \"az\", \"sys\".", s.name)
	}
	m.syms[s.name] = s
	m.order = append(m.order, s)
}

// bind collects the declarations of the file and resolves resource
// metadata (types, parents, scopes) and module files.
func (m *model) bind() {
	m.syms = map[string]*symbol{}
	m.targetScope = "resourceGroup"
	for _, st := range m.file.Statements {
		switch s := st.(type) {
		case *TargetScopeStmt:
			lit, ok := s.Value.(*StringLit)
			valid := map[string]bool{"resourceGroup": true, "subscription": true, "managementGroup": true, "tenant": true}
			if !ok || !valid[lit.Value] {
				m.errorf(s.Value.Position(), "BCP033", "Expected a value of type \"'managementGroup' | 'resourceGroup' | 'subscription' | 'tenant'\".")
				continue
			}
			m.targetScope = lit.Value
		case *MetadataStmt:
			m.metadata = append(m.metadata, s)
		case *ParamStmt:
			m.params = append(m.params, s)
			m.declare(&symbol{kind: symParam, name: s.Name, pos: s.NamePos, param: s})
		case *VarStmt:
			m.vars = append(m.vars, s)
			m.declare(&symbol{kind: symVar, name: s.Name, pos: s.NamePos, v: s})
		case *ResourceStmt:
			m.addResource(s, nil)
		case *ModuleStmt:
			mod := &module{stmt: s}
			m.modules = append(m.modules, mod)
			m.declare(&symbol{kind: symModule, name: s.Name, pos: s.NamePos, mod: mod})
		case *OutputStmt:
			m.outputs = append(m.outputs, s)
		case *TypeStmt:
			m.types = append(m.types, s)
			m.declare(&symbol{kind: symType, name: s.Name, pos: s.NamePos, typ: s})
		case *FuncStmt:
			m.funcs = append(m.funcs, s)
			m.declare(&symbol{kind: symFunc, name: s.Name, pos: s.NamePos, fn: s})
		case *ImportStmt:
			m.imports = append(m.imports, s)
		case *UsingStmt:
			if !m.file.Params {
				m.errorf(s.Pos, "BCP256", "The using declaration is only allowed in a .bicepparam file.")
			}
		}
	}
	seenOutputs := map[string]bool{}
	for _, o := range m.outputs {
		if seenOutputs[o.Name] {
			m.errorf(o.NamePos, "BCP145", "Output %q is declared multiple times. Remove or rename the duplicates.", o.Name)
		}
		seenOutputs[o.Name] = true
	}
	m.bindImports()
	for _, r := range m.resources {
		m.bindResource(r)
	}
	for _, mod := range m.modules {
		m.bindModule(mod)
	}
}

func (m *model) addResource(s *ResourceStmt, parent *resource) {
	r := &resource{stmt: s, existing: s.Existing, m: m}
	if parent != nil {
		r.parent = parent
		r.nested = true
		r.symName = parent.symName + "::" + s.Name
	} else {
		r.symName = s.Name
		m.declare(&symbol{kind: symResource, name: s.Name, pos: s.NamePos, res: r})
	}
	m.resources = append(m.resources, r)
	// type and API version
	typ, api, hasAPI := strings.Cut(s.Type, "@")
	if parent != nil && !strings.Contains(typ, "/") {
		r.fullType = parent.fullType + "/" + typ
		r.apiVersion = parent.apiVersion
		if hasAPI {
			r.apiVersion = api
		}
	} else {
		r.fullType, r.apiVersion = typ, api
		if s.TypePos.Line == 0 {
			// the parser already reported the missing type string
		} else if !hasAPI || api == "" || strings.Count(typ, "/") < 1 {
			m.errorf(s.TypePos, "BCP029", "The resource type is not valid. Specify a valid resource type of format \"<type-name>@<apiVersion>\".")
		}
		if parent != nil {
			m.errorf(s.TypePos, "BCP156", "The resource type segment %q is invalid. Nested resources must specify a single type segment, and optionally can specify an api version using the format \"<type>@<apiVersion>\".", s.Type)
		}
	}
	body := s.Value
	if f, ok := body.(*ForExpr); ok {
		r.loop = f
		body = f.Body
	}
	if c, ok := body.(*IfExpr); ok {
		r.cond = c.Cond
		body = c.Body
	}
	obj, ok := body.(*ObjectLit)
	if !ok {
		if _, bad := body.(*BadExpr); !bad && body != nil {
			m.errorf(body.Position(), "BCP167", "Expected the \"{\" character or the \"if\" keyword at this location.")
		}
		obj = &ObjectLit{exprBase: exprBase{s.Pos}}
	}
	r.body = obj
	for _, child := range obj.Resources {
		if r.loop != nil {
			m.errorf(child.Pos, "BCP160", "A nested resource cannot appear inside of a resource with a for-expression.")
			continue
		}
		m.addResource(child, r)
	}
}

func propOf(obj *ObjectLit, name string) *Property {
	if obj == nil {
		return nil
	}
	for _, p := range obj.Props {
		if !p.Spread && p.KeyExpr == nil && p.Key == name {
			return p
		}
	}
	return nil
}

func (m *model) bindResource(r *resource) {
	if p := propOf(r.body, "name"); p != nil {
		r.name = p.Value
	} else {
		m.errorf(r.stmt.NamePos, "BCP035", "The specified \"resource\" declaration is missing the following required properties: \"name\".")
		r.name = &StringLit{exprBase: exprBase{r.stmt.Pos}}
	}
	if p := propOf(r.body, "parent"); p != nil {
		if r.nested {
			m.errorf(p.Pos, "BCP164", "A child resource's parent is determined by its enclosing resource; remove the \"parent\" property.")
		} else {
			target, idx := m.resourceRef(p.Value)
			if target == nil {
				m.errorf(p.Value.Position(), "BCP036", "The property \"parent\" expected a value of type resource reference.")
			} else {
				r.parent, r.parentIdx = target, idx
				if !strings.HasPrefix(strings.ToLower(r.fullType), strings.ToLower(target.fullType)+"/") || strings.Count(r.fullType, "/") != strings.Count(target.fullType, "/")+1 {
					m.errorf(p.Value.Position(), "BCP171", "Resource type %q is not a valid child resource of parent %q.", r.fullType, target.fullType)
				}
			}
		}
	}
	// a cycle through parent properties
	seen := map[*resource]bool{}
	for a := r; a != nil; a = a.parent {
		if seen[a] {
			m.errorf(r.stmt.NamePos, "BCP080", "The expression is involved in a cycle (\"%s\").", r.symName)
			r.parent = nil
			break
		}
		seen[a] = true
	}
	r.scope = scopeData{level: m.targetScope}
	if p := propOf(r.body, "scope"); p != nil {
		r.scope = m.scopeOf(p.Value, true)
		if r.parent != nil {
			m.errorf(p.Pos, "BCP165", "A resource's computed scope must match that of the Bicep file for it to be deployable. This resource's scope is computed from the \"scope\" property value assigned to ancestor resource %q.", r.parent.symName)
		}
		switch r.scope.level {
		case "resourceGroup", "subscription", "managementGroup", "tenant":
			if !r.existing && (r.scope.sub != nil || r.scope.rg != nil || r.scope.mg != nil || r.scope.level != m.targetScope) {
				if r.scope.level != "tenant" {
					m.errorf(p.Value.Position(), "BCP139", "A resource's scope must match the scope of the Bicep file for it to be deployable. You must use modules to deploy resources to a different scope.")
				}
			}
		}
	} else if r.parent != nil {
		r.scope = r.parent.scope
	}
}

// resourceRef resolves an expression naming a resource (x, x[i], a::b).
func (m *model) resourceRef(e Expr) (*resource, Expr) {
	switch x := e.(type) {
	case *Ident:
		if s := m.syms[x.Name]; s != nil && s.kind == symResource {
			return s.res, nil
		}
	case *IndexAccess:
		if r, idx := m.resourceRef(x.X); r != nil && idx == nil && r.loop != nil {
			return r, x.Index
		}
	case *ResourceAccess:
		if r, idx := m.resourceRef(x.X); r != nil && idx == nil {
			for _, c := range m.resources {
				if c.parent == r && c.nested && c.stmt.Name == x.Name {
					return c, nil
				}
			}
		}
	case *ParenExpr:
		return m.resourceRef(x.X)
	case *NonNullAssert:
		return m.resourceRef(x.X)
	}
	return nil, nil
}

func (m *model) moduleRef(e Expr) (*module, Expr) {
	switch x := e.(type) {
	case *Ident:
		if s := m.syms[x.Name]; s != nil && s.kind == symModule {
			return s.mod, nil
		}
	case *IndexAccess:
		if mod, idx := m.moduleRef(x.X); mod != nil && idx == nil && mod.loop != nil {
			return mod, x.Index
		}
	case *NonNullAssert:
		return m.moduleRef(x.X)
	}
	return nil, nil
}

// scopeOf reads a scope: property value: resourceGroup(...),
// subscription(...), managementGroup(...), tenant(), or a resource.
func (m *model) scopeOf(e Expr, forResource bool) scopeData {
	if c, ok := e.(*CallExpr); ok && (c.Receiver == nil || isNamespace(c.Receiver, "az")) {
		switch c.Name {
		case "resourceGroup":
			sd := scopeData{level: "resourceGroup", explicit: true}
			switch len(c.Args) {
			case 1:
				sd.rg = c.Args[0]
			case 2:
				sd.sub, sd.rg = c.Args[0], c.Args[1]
			}
			return sd
		case "subscription":
			sd := scopeData{level: "subscription", explicit: true}
			if len(c.Args) == 1 {
				sd.sub = c.Args[0]
			}
			return sd
		case "managementGroup":
			sd := scopeData{level: "managementGroup", explicit: true}
			if len(c.Args) == 1 {
				sd.mg = c.Args[0]
			}
			return sd
		case "tenant":
			return scopeData{level: "tenant", explicit: true}
		}
	}
	if r, idx := m.resourceRef(e); r != nil {
		switch strings.ToLower(r.fullType) {
		case "microsoft.resources/resourcegroups":
			sd := scopeData{level: "resourceGroup", explicit: true, rg: &PropertyAccess{exprBase: exprBase{e.Position()}, X: e, Name: "name"}}
			if r.scope.sub != nil {
				sd.sub = r.scope.sub
			}
			return sd
		case "microsoft.management/managementgroups":
			return scopeData{level: "managementGroup", explicit: true, mg: &PropertyAccess{exprBase: exprBase{e.Position()}, X: e, Name: "name"}}
		}
		if !forResource {
			m.errorf(e.Position(), "BCP134", "A module's scope must be a resource group, subscription, management group or tenant.")
		}
		return scopeData{level: "resource", res: r, resIndex: idx, explicit: true}
	}
	m.errorf(e.Position(), "BCP036", "The property \"scope\" expected a value of type \"resource | tenant | managementGroup | subscription | resourceGroup\".")
	return scopeData{level: m.targetScope}
}

func isNamespace(e Expr, name string) bool {
	id, ok := e.(*Ident)
	return ok && id.Name == name
}

func (m *model) bindModule(mod *module) {
	s := mod.stmt
	body := s.Value
	if f, ok := body.(*ForExpr); ok {
		mod.loop = f
		body = f.Body
	}
	if c, ok := body.(*IfExpr); ok {
		mod.cond = c.Cond
		body = c.Body
	}
	obj, ok := body.(*ObjectLit)
	if !ok {
		obj = &ObjectLit{exprBase: exprBase{s.Pos}}
	}
	mod.body = obj
	if p := propOf(obj, "name"); p != nil {
		mod.name = p.Value
	}
	if s.PathPos.Line > 0 { // else the parser reported the missing path
		mod.child, mod.json = m.c.loadModule(m, s.Path, s.PathPos)
	}
	childScope := "resourceGroup"
	if mod.child != nil {
		childScope = mod.child.targetScope
	} else if mod.json != nil {
		childScope = jsonTemplateScope(mod.json)
	}
	mod.scope = scopeData{level: m.targetScope}
	if p := propOf(obj, "scope"); p != nil {
		mod.scope = m.scopeOf(p.Value, false)
	} else if childScope != m.targetScope {
		switch {
		case m.targetScope == "subscription" && childScope == "resourceGroup":
			m.errorf(s.NamePos, "BCP134", "Scope %q is not valid for this module. Permitted scopes: %q.", quoteScope(m.targetScope), quoteScope(childScope))
		case childScope == "tenant":
			mod.scope = scopeData{level: "tenant"}
		default:
			m.errorf(s.NamePos, "BCP134", "Scope %q is not valid for this module. Permitted scopes: %q.", quoteScope(m.targetScope), quoteScope(childScope))
		}
	}
	if mod.scope.level != childScope && mod.scope.level != "resource" {
		if p := propOf(obj, "scope"); p != nil {
			m.errorf(p.Value.Position(), "BCP134", "Scope %q is not valid for this module. Permitted scopes: %q.", quoteScope(mod.scope.level), quoteScope(childScope))
		}
	}
}

func quoteScope(s string) string { return s }

// resolveIdent finds what a name refers to; locals shadow globals.
func (m *model) lookup(name string) *symbol { return m.syms[name] }

// ---- dependencies ----

// walkRefs calls visit for every reference to a resource, module or
// variable in e, skipping names bound by loops and lambdas.
func (m *model) walkRefs(e Expr, locals map[string]bool, weakTop *Property, visit func(d dep)) {
	var walk func(e Expr, locals map[string]bool, parent Expr)
	walk = func(e Expr, locals map[string]bool, parent Expr) {
		if e == nil {
			return
		}
		switch x := e.(type) {
		case *Ident:
			if locals[x.Name] {
				return
			}
			s := m.syms[x.Name]
			if s == nil {
				return
			}
			switch s.kind {
			case symResource:
				d := dep{sym: s}
				if ia, ok := parent.(*IndexAccess); ok && ia.X == e && s.res.loop != nil {
					d.index = ia.Index
				}
				d.weak = isWeakParent(parent, e)
				visit(d)
			case symModule:
				d := dep{sym: s}
				if ia, ok := parent.(*IndexAccess); ok && ia.X == e && s.mod.loop != nil {
					d.index = ia.Index
				}
				visit(d)
			case symVar:
				visit(dep{sym: s})
			}
		case *ResourceAccess:
			if r, _ := m.resourceRef(x); r != nil {
				// a::b depends on b (and through it on a)
				visit(dep{sym: &symbol{kind: symResource, name: r.symName, res: r}, weak: isWeakParent(parent, e)})
				return
			}
			walk(x.X, locals, e)
		case *StringLit, *IntLit, *BoolLit, *NullLit, *BadExpr:
		case *InterpString:
			for _, s := range x.Exprs {
				walk(s, locals, e)
			}
		case *ObjectLit:
			for _, p := range x.Props {
				walk(p.KeyExpr, locals, e)
				walk(p.Value, locals, e)
			}
		case *ArrayLit:
			for _, it := range x.Items {
				walk(it, locals, e)
			}
		case *SpreadExpr:
			walk(x.X, locals, e)
		case *ForExpr:
			walk(x.Iterable, locals, e)
			inner := copyLocals(locals, x.Item, x.Index)
			walk(x.Body, inner, e)
		case *IfExpr:
			walk(x.Cond, locals, e)
			walk(x.Body, locals, e)
		case *UnaryExpr:
			walk(x.X, locals, e)
		case *BinaryExpr:
			walk(x.X, locals, e)
			walk(x.Y, locals, e)
		case *TernaryExpr:
			walk(x.Cond, locals, e)
			walk(x.Then, locals, e)
			walk(x.Else, locals, e)
		case *PropertyAccess:
			walk(x.X, locals, e)
		case *IndexAccess:
			walk(x.X, locals, e)
			walk(x.Index, locals, e)
		case *NonNullAssert:
			walk(x.X, locals, parent)
		case *CallExpr:
			walk(x.Receiver, locals, e)
			for _, a := range x.Args {
				walk(a, locals, e)
			}
		case *LambdaExpr:
			walk(x.Body, copyLocals(locals, x.Params...), e)
		case *ParenExpr:
			walk(x.X, locals, parent)
		}
	}
	walk(e, locals, nil)
}

func isWeakParent(parent, e Expr) bool {
	switch p := parent.(type) {
	case *PropertyAccess:
		switch p.Name {
		case "id", "name", "type", "apiVersion":
			return true
		}
	case *CallExpr:
		return p.Receiver == e
	}
	return false
}

func copyLocals(locals map[string]bool, names ...string) map[string]bool {
	out := make(map[string]bool, len(locals)+len(names))
	for k := range locals {
		out[k] = true
	}
	for _, n := range names {
		if n != "" {
			out[n] = true
		}
	}
	return out
}

// computeDeps records the direct references of every resource, module and
// variable, and reports cycles.
func (m *model) computeDeps() {
	m.deps = map[*symbol][]dep{}
	for _, s := range m.order {
		switch s.kind {
		case symVar:
			var ds []dep
			m.walkRefs(s.v.Value, nil, nil, func(d dep) { ds = append(ds, d) })
			m.deps[s] = ds
		case symModule:
			var ds []dep
			m.walkRefs(s.mod.stmt.Value, nil, nil, func(d dep) { ds = append(ds, d) })
			m.deps[s] = ds
		}
	}
	for _, r := range m.resources {
		s := m.resSymbol(r)
		var ds []dep
		if r.parent != nil {
			ds = append(ds, dep{sym: m.resSymbol(r.parent), index: r.parentIdx, weak: true})
		}
		var walkBody func(e Expr, locals map[string]bool)
		// nested resource declarations are not part of the parent's body
		walkBody = func(e Expr, locals map[string]bool) {
			m.walkRefs(e, locals, nil, func(d dep) {
				if d.sym.kind == symResource && d.sym.res == r {
					m.errorf(r.stmt.NamePos, "BCP079", "This expression is referencing its own declaration, which is not allowed.")
					return
				}
				if pp := propOf(r.body, "parent"); pp != nil && d.sym.kind == symResource && d.sym.res == r.parent {
					d.weak = true
				}
				ds = append(ds, d)
			})
		}
		if r.loop != nil {
			walkBody(r.loop.Iterable, nil)
		}
		locals := map[string]bool{}
		if r.loop != nil {
			locals = copyLocals(nil, r.loop.Item, r.loop.Index)
		}
		walkBody(r.cond, locals)
		for _, p := range r.body.Props {
			if p.Key == "parent" && p.KeyExpr == nil {
				continue
			}
			if p.Key == "scope" && p.KeyExpr == nil {
				// a reference that only names the scope is weak: it does
				// not make an existing resource a dependency
				m.walkRefs(p.Value, locals, nil, func(d dep) {
					if d.sym.kind == symResource {
						d.weak = true
					}
					ds = append(ds, d)
				})
				continue
			}
			walkBody(p.KeyExpr, locals)
			walkBody(p.Value, locals)
		}
		m.deps[s] = ds
	}
	// cycles among variables, resources and modules
	state := map[*symbol]int{}
	var visit func(s *symbol, path []string)
	visit = func(s *symbol, path []string) {
		if state[s] != 0 {
			return
		}
		state[s] = 1
		for _, d := range m.deps[s] {
			t := m.canon(d.sym)
			if t == s {
				m.errorf(s.pos, "BCP079", "This expression is referencing its own declaration, which is not allowed.")
				continue
			}
			switch state[t] {
			case 0:
				visit(t, append(path, t.name))
			case 1:
				m.errorf(s.pos, "BCP080", "The expression is involved in a cycle (\"%s\").", strings.Join(append(path, t.name), "\" -> \""))
			}
		}
		state[s] = 2
	}
	for _, s := range m.order {
		if s.kind == symVar || s.kind == symResource || s.kind == symModule {
			visit(s, []string{s.name})
		}
	}
	for _, r := range m.resources {
		if r.nested {
			visit(m.resSymbol(r), []string{r.symName})
		}
	}
}

func declPos(s *symbol) Pos { return s.pos }

// resSymbol returns the symbol of a resource (nested ones get one too).
func (m *model) resSymbol(r *resource) *symbol {
	if !r.nested {
		if s := m.syms[r.stmt.Name]; s != nil && s.res == r {
			return s
		}
	}
	key := "::" + r.symName
	if s := m.syms[key]; s != nil {
		return s
	}
	s := &symbol{kind: symResource, name: r.symName, pos: r.stmt.NamePos, res: r}
	m.syms[key] = s
	return s
}

func (m *model) canon(s *symbol) *symbol {
	if s.kind == symResource {
		return m.resSymbol(s.res)
	}
	return s
}

type depTarget struct {
	sym   *symbol
	index Expr
}

// dependsOn resolves the dependencies of a resource or module to the
// resources and modules it must wait for: through variables, and through
// existing resources to what they depend on (unless symbolic names keep
// the existing resource and the reference is not weak).
func (m *model) dependsOn(s *symbol) []depTarget {
	var out []depTarget
	seen := map[*symbol]bool{}
	var follow func(ds []dep, first bool, guard map[*symbol]bool)
	follow = func(ds []dep, first bool, guard map[*symbol]bool) {
		for _, d := range ds {
			t := m.canon(d.sym)
			if guard[t] {
				continue
			}
			switch t.kind {
			case symModule:
				out = append(out, depTarget{t, indexIf(first, d.index)})
			case symResource:
				if !t.res.existing || (m.symbolic && !d.weak) {
					out = append(out, depTarget{t, indexIf(first, d.index)})
					continue
				}
				g := copyGuard(guard, t)
				follow(m.deps[t], false, g)
			case symVar:
				g := copyGuard(guard, t)
				follow(m.deps[t], false, g)
			}
		}
	}
	follow(m.deps[s], true, map[*symbol]bool{s: true})
	// a dependency on the whole collection absorbs indexed ones
	whole := map[*symbol]bool{}
	for _, t := range out {
		if t.index == nil {
			whole[t.sym] = true
		}
	}
	var res []depTarget
	seenIdx := map[string]bool{}
	for _, t := range out {
		if whole[t.sym] {
			if !seen[t.sym] {
				seen[t.sym] = true
				res = append(res, depTarget{t.sym, nil})
			}
			continue
		}
		key := t.sym.name + "[" + fmt.Sprintf("%p", t.index) + "]"
		if !seenIdx[key] {
			seenIdx[key] = true
			res = append(res, t)
		}
	}
	sort.SliceStable(res, func(i, j int) bool {
		return symKey(res[i].sym) < symKey(res[j].sym)
	})
	return res
}

func indexIf(ok bool, e Expr) Expr {
	if ok {
		return e
	}
	return nil
}

func copyGuard(g map[*symbol]bool, s *symbol) map[*symbol]bool {
	out := make(map[*symbol]bool, len(g)+1)
	for k := range g {
		out[k] = true
	}
	out[s] = true
	return out
}

// symKey orders dependencies the way the official compiler does (.NET's
// culture-aware comparison: case-insensitive first).
func symKey(s *symbol) string {
	name := s.name
	if s.kind == symResource {
		name = s.res.symName
	}
	return strings.ToLower(name) + "\x00" + name
}
