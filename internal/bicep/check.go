package bicep

import (
	"strings"
)

// The type checker: what can be checked without Azure's resource type
// library — declared types of parameters and outputs against literal
// values, decorator targets, the members of resource and module bodies
// keyless gives meaning to, module parameters against the module's
// declarations, and where loops and batch sizes may appear.

var decoratorTargets = map[string]string{
	"description": "any", "metadata": "any", "secure": "param,output,type", "allowed": "param",
	"minLength": "param,output,type", "maxLength": "param,output,type", "minValue": "param,output,type",
	"maxValue": "param,output,type", "sealed": "param,output,type", "discriminator": "param,output,type",
	"export": "var,type,func", "batchSize": "resource,module", "onlyIfNotExists": "resource", "retryOn": "resource",
}

func (m *model) checkDecorators(ds []*Decorator, target string, t TypeExpr, looped bool) {
	for _, d := range ds {
		if d.Namespace != "" && d.Namespace != "sys" && d.Namespace != "az" {
			m.errorf(d.Pos, "BCP057", "The name %q does not exist in the current context.", d.Namespace)
			continue
		}
		allowed, ok := decoratorTargets[d.Name]
		if !ok {
			m.errorf(d.Pos, "BCP057", "The name %q does not exist in the current context.", d.Name)
			continue
		}
		if allowed != "any" && !strings.Contains(allowed, target) {
			m.errorf(d.Pos, "BCP126", "Function %q cannot be used as a %s decorator.", d.Name, target)
			continue
		}
		if d.Name != "secure" && d.Name != "sealed" && d.Name != "export" && d.Name != "onlyIfNotExists" && len(d.Args) != 1 {
			if !(d.Name == "discriminator" || d.Name == "retryOn") {
				m.errorf(d.Pos, "BCP071", "Expected 1 argument, but got %d.", len(d.Args))
				continue
			}
		}
		prim := primitiveOf(m, t)
		switch d.Name {
		case "batchSize":
			if !looped {
				m.errorf(d.Pos, "BCP154", "Expected a batch size of at least 1 but the specified value was \"0\"; @batchSize applies only to resource and module loops.")
			} else if lit, ok := d.Args[0].(*IntLit); !ok || lit.Value < 1 {
				m.errorf(d.Args[0].Position(), "BCP154", "Expected a batch size of at least 1.")
			}
		case "secure":
			if prim != "" && prim != "string" && prim != "object" {
				m.errorf(d.Pos, "BCP124", "The decorator \"secure\" can only be attached to targets of type \"object | string\", but the target has type %q.", prim)
			}
		case "minLength", "maxLength":
			if prim != "" && prim != "string" && prim != "array" {
				m.errorf(d.Pos, "BCP124", "The decorator %q can only be attached to targets of type \"array | string\", but the target has type %q.", d.Name, prim)
			}
			if len(d.Args) == 1 {
				if _, ok := d.Args[0].(*IntLit); !ok {
					m.errorf(d.Args[0].Position(), "BCP070", "Argument of type %q is not assignable to parameter of type \"int\".", exprKind(d.Args[0]))
				}
			}
		case "minValue", "maxValue":
			if prim != "" && prim != "int" {
				m.errorf(d.Pos, "BCP124", "The decorator %q can only be attached to targets of type \"int\", but the target has type %q.", d.Name, prim)
			}
		case "description":
			if len(d.Args) == 1 {
				if k := exprKind(d.Args[0]); k != "string" {
					m.errorf(d.Args[0].Position(), "BCP070", "Argument of type %q is not assignable to parameter of type \"string\".", k)
				}
			}
		case "allowed":
			if len(d.Args) == 1 {
				if _, ok := d.Args[0].(*ArrayLit); !ok {
					m.errorf(d.Args[0].Position(), "BCP070", "Argument of type %q is not assignable to parameter of type \"array\".", exprKind(d.Args[0]))
				}
			}
		}
	}
}

// primitiveOf is the ARM primitive type of a declared type, or "" when it
// is not known without resolving further.
func primitiveOf(m *model, t TypeExpr) string { return primitiveAt(m, t, 0) }

func primitiveAt(m *model, t TypeExpr, depth int) string {
	if depth > 64 { // a type alias cycle, reported as BCP298
		return ""
	}
	switch x := t.(type) {
	case *TypeRef:
		if x.Namespace == "" || x.Namespace == "sys" {
			if primitiveTypes[x.Name] {
				return x.Name
			}
			if s := m.syms[x.Name]; s != nil && s.kind == symType && s.typ != nil {
				return primitiveAt(m, s.typ.Value, depth+1)
			}
		}
	case *TypeNullable:
		return primitiveAt(m, x.X, depth+1)
	case *TypeParen:
		return primitiveAt(m, x.X, depth+1)
	case *TypeArray, *TypeTuple:
		return "array"
	case *TypeObject:
		return "object"
	case *TypeLiteral:
		return exprKind(x.Value)
	case *TypeUnion:
		if len(x.Members) > 0 {
			return primitiveAt(m, x.Members[0], depth+1)
		}
	}
	return ""
}

// exprKind is the type of a literal expression, "" when not literal.
func exprKind(e Expr) string {
	switch x := e.(type) {
	case *StringLit, *InterpString:
		return "string"
	case *IntLit:
		return "int"
	case *UnaryExpr:
		if _, ok := x.X.(*IntLit); ok && x.Op == "-" {
			return "int"
		}
	case *BoolLit:
		return "bool"
	case *ObjectLit:
		return "object"
	case *ArrayLit, *ForExpr:
		return "array"
	case *NullLit:
		return "null"
	case *ParenExpr:
		return exprKind(x.X)
	}
	return ""
}

func (m *model) checkAssignable(e Expr, t TypeExpr, what string) {
	want := primitiveOf(m, t)
	got := exprKind(e)
	if want == "" || want == "any" || got == "" {
		return
	}
	if got == "null" {
		if _, ok := t.(*TypeNullable); ok {
			return
		}
	}
	if got != want {
		m.errorf(e.Position(), "BCP033", "Expected a value of type %q but the provided value is of type %q.", want, got)
		return
	}
	// literal unions: the value must be one of them
	if u, ok := unparen(t).(*TypeUnion); ok {
		if lit, ok := e.(*StringLit); ok {
			for _, mem := range u.Members {
				if tl, ok := unparen(mem).(*TypeLiteral); ok {
					if s, ok := tl.Value.(*StringLit); ok && s.Value == lit.Value {
						return
					}
				} else {
					return
				}
			}
			m.errorf(e.Position(), "BCP033", "The %s value %q is not one of the values the type allows.", what, lit.Value)
		}
	}
}

func (m *model) check() {
	if m.file.Params {
		return
	}
	for _, st := range m.file.Statements {
		switch s := st.(type) {
		case *ParamStmt:
			m.checkDecorators(s.Decorators, "param", s.Type, false)
			if s.Default != nil {
				m.checkAssignable(s.Default, s.Type, "parameter default")
				if d := decorator(s.Decorators, "allowed"); d != nil && len(d.Args) == 1 {
					if arr, ok := d.Args[0].(*ArrayLit); ok {
						if lit, ok := s.Default.(*StringLit); ok {
							found := false
							for _, it := range arr.Items {
								if sl, ok := it.(*StringLit); ok && sl.Value == lit.Value {
									found = true
								}
								if _, ok := it.(*StringLit); !ok {
									found = true
								}
							}
							if !found {
								m.errorf(s.Default.Position(), "BCP027", "The parameter expects a default value of one of the allowed values.")
							}
						}
					}
				}
			}
		case *VarStmt:
			m.checkDecorators(s.Decorators, "var", s.Type, false)
			if s.Type != nil {
				m.checkAssignable(s.Value, s.Type, "variable")
			}
		case *OutputStmt:
			m.checkDecorators(s.Decorators, "output", s.Type, false)
			if _, ok := s.Value.(*ForExpr); ok {
				if p := primitiveOf(m, s.Type); p != "" && p != "array" {
					m.errorf(s.Value.Position(), "BCP033", "Expected a value of type %q but the provided value is of type \"array\".", p)
				}
			} else {
				m.checkAssignable(s.Value, s.Type, "output")
			}
		case *TypeStmt:
			m.checkDecorators(s.Decorators, "type", s.Value, false)
			m.checkTypeRefs(s.Value, map[string]bool{s.Name: true})
		case *FuncStmt:
			m.checkDecorators(s.Decorators, "func", nil, false)
		case *ModuleStmt:
			m.checkDecorators(s.Decorators, "module", nil, isFor(s.Value))
		case *MetadataStmt:
			if len(s.Decorators) > 0 {
				m.errorf(s.Decorators[0].Pos, "BCP130", "Decorators are not allowed here.")
			}
		}
	}
	for _, r := range m.resources {
		m.checkDecorators(r.stmt.Decorators, "resource", nil, r.loop != nil)
		m.checkResourceBody(r)
	}
	for _, mod := range m.modules {
		m.checkModule(mod)
	}
}

func isFor(e Expr) bool { _, ok := e.(*ForExpr); return ok }

// checkTypeRefs reports type declarations that refer to themselves
// without an array or object in between (BCP298).
func (m *model) checkTypeRefs(t TypeExpr, path map[string]bool) {
	switch x := t.(type) {
	case *TypeRef:
		if x.Namespace != "" {
			return
		}
		if path[x.Name] {
			m.errorf(x.Pos, "BCP298", "This type definition includes itself as required component, which creates a constraint that cannot be fulfilled.")
			return
		}
		if s := m.syms[x.Name]; s != nil && s.kind == symType && s.typ != nil && s.from == nil {
			np := copyLocals(path, x.Name)
			m.checkTypeRefs(s.typ.Value, np)
		}
	case *TypeParen:
		m.checkTypeRefs(x.X, path)
	case *TypeUnion:
		for _, mem := range x.Members {
			m.checkTypeRefs(mem, path)
		}
	}
}

var resourceMemberKinds = map[string]string{
	"name": "string", "location": "string", "tags": "object", "identity": "object", "properties": "object",
	"dependsOn": "array", "sku": "object", "kind": "string",
}

func (m *model) checkResourceBody(r *resource) {
	for _, p := range r.body.Props {
		if p.Spread || p.KeyExpr != nil {
			continue
		}
		if want, ok := resourceMemberKinds[p.Key]; ok {
			if got := exprKind(p.Value); got != "" && got != want && got != "null" {
				m.errorf(p.Value.Position(), "BCP036", "The property %q expected a value of type %q but the provided value is of type %q.", p.Key, want, got)
			}
		}
		if p.Key == "identity" {
			m.checkIdentity(p.Value)
		}
		if r.existing {
			switch p.Key {
			case "name", "scope", "parent", "dependsOn":
			default:
				m.warnf(p.Pos, "BCP073", "The property %q is read-only. Expressions cannot be assigned to read-only properties.", p.Key)
			}
		}
		if p.Key == "dependsOn" {
			if arr, ok := p.Value.(*ArrayLit); ok {
				for _, it := range arr.Items {
					if r2, _ := m.resourceRef(it); r2 == nil {
						if mod, _ := m.moduleRef(it); mod == nil {
							m.errorf(it.Position(), "BCP034", "The enclosing array expected an item of type \"module[] | (resource | module) | resource[]\".")
						}
					}
				}
			}
		}
	}
}

// checkIdentity checks the identity block keyless acts on: its type and
// the shape of userAssignedIdentities.
func (m *model) checkIdentity(e Expr) {
	obj, ok := e.(*ObjectLit)
	if !ok {
		return
	}
	if p := propOf(obj, "type"); p != nil {
		if lit, ok := p.Value.(*StringLit); ok {
			valid := false
			for _, v := range []string{"None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned", "SystemAssigned, UserAssigned"} {
				if strings.EqualFold(lit.Value, v) {
					valid = true
				}
			}
			if !valid {
				m.warnf(lit.Pos, "BCP036", "The property \"type\" expected a value of type \"'None' | 'SystemAssigned' | 'SystemAssigned,UserAssigned' | 'UserAssigned'\" but the provided value is %q.", lit.Value)
			}
		}
	}
	if p := propOf(obj, "userAssignedIdentities"); p != nil {
		if k := exprKind(p.Value); k != "" && k != "object" && k != "null" {
			m.errorf(p.Value.Position(), "BCP036", "The property \"userAssignedIdentities\" expected a value of type \"object\" but the provided value is of type %q.", k)
		}
	}
}

func (m *model) checkModule(mod *module) {
	for _, p := range mod.body.Props {
		if p.Spread || p.KeyExpr != nil {
			continue
		}
		switch p.Key {
		case "name", "params", "scope", "dependsOn", "identity", "extensionConfigs":
		default:
			m.errorf(p.Pos, "BCP037", "The property %q is not allowed on objects of type \"module\". Permitted properties include \"dependsOn\", \"name\", \"params\", \"scope\".", p.Key)
		}
	}
	if mod.child == nil {
		return
	}
	given := map[string]*Property{}
	if pp := propOf(mod.body, "params"); pp != nil {
		if po, ok := pp.Value.(*ObjectLit); ok {
			for _, p := range po.Props {
				if p.Spread || p.KeyExpr != nil {
					continue
				}
				given[p.Key] = p
			}
		}
	}
	declared := map[string]*ParamStmt{}
	for _, p := range mod.child.params {
		declared[p.Name] = p
	}
	for name, p := range given {
		dp, ok := declared[name]
		if !ok {
			m.errorf(p.Pos, "BCP037", "The property %q is not allowed on objects of type \"params\". No other properties are allowed.", name)
			continue
		}
		if _, isFor := p.Value.(*ForExpr); !isFor {
			mod.child.checkAssignableFrom(m, p.Value, dp.Type)
		}
	}
	var missing []string
	for _, p := range mod.child.params {
		if p.Default != nil || given[p.Name] != nil {
			continue
		}
		if _, ok := p.Type.(*TypeNullable); ok {
			continue
		}
		missing = append(missing, "\""+p.Name+"\"")
	}
	if len(missing) > 0 {
		m.errorf(mod.stmt.NamePos, "BCP035", "The specified \"module\" declaration is missing the following required properties: %s.", strings.Join(missing, ", "))
	}
}

// checkAssignableFrom checks a module argument written in another file
// against the parameter type declared here, reporting in the caller.
func (m *model) checkAssignableFrom(caller *model, e Expr, t TypeExpr) {
	want := primitiveOf(m, t)
	got := exprKind(e)
	if want == "" || want == "any" || got == "" || got == "null" {
		return
	}
	if got != want {
		caller.errorf(e.Position(), "BCP036", "The property expected a value of type %q but the provided value is of type %q.", want, got)
	}
}

// ---- linter ----

// lint runs the linter rules of the official compiler that need no
// configuration; findings are warnings named by rule.
func lint(m *model, diags *diagList) {
	used := map[string]bool{}
	mark := func(e Expr) {
		walkIdents(e, func(n string) { used[n] = true })
	}
	for _, st := range m.file.Statements {
		switch s := st.(type) {
		case *ParamStmt:
			mark(s.Default)
			markDecorators(s.Decorators, mark)
		case *VarStmt:
			mark(s.Value)
		case *OutputStmt:
			mark(s.Value)
		case *ModuleStmt:
			mark(s.Value)
		case *FuncStmt:
			mark(s.Body)
		case *MetadataStmt:
			mark(s.Value)
		}
	}
	for _, r := range m.resources {
		mark(r.stmt.Value)
	}
	for _, p := range m.params {
		if p.Name != "" && !used[p.Name] {
			diags.add(m.path, p.NamePos, SeverityWarning, "no-unused-params", "Parameter %q is declared but never used.", p.Name)
		}
	}
	for _, v := range m.vars {
		if v.Name != "" && !used[v.Name] && !hasDecorator(v.Decorators, "export") {
			diags.add(m.path, v.NamePos, SeverityWarning, "no-unused-vars", "Variable %q is declared but never used.", v.Name)
		}
	}
	for _, r := range m.resources {
		if r.existing && !r.nested && r.stmt.Name != "" && !used[r.stmt.Name] {
			diags.add(m.path, r.stmt.NamePos, SeverityWarning, "no-unused-existing-resources", "Existing resource %q is declared but never used.", r.stmt.Name)
		}
		if p := propOf(r.body, "location"); p != nil {
			if lit, ok := p.Value.(*StringLit); ok && !strings.EqualFold(lit.Value, "global") {
				diags.add(m.path, lit.Pos, SeverityWarning, "no-hardcoded-location", "A resource location should not use a hard-coded string or variable value. Please use a parameter value, an expression, or the string 'global'. Found: '%s'", lit.Value)
			}
		}
	}
	walkAll(m, func(e Expr) {
		if c, ok := e.(*CallExpr); ok && c.Receiver == nil && c.Name == "concat" {
			allStrings := len(c.Args) > 0
			for _, a := range c.Args {
				if k := exprKind(a); k != "string" && k != "" {
					allStrings = false
				}
				if _, ok := a.(*ArrayLit); ok {
					allStrings = false
				}
			}
			if allStrings {
				diags.add(m.path, c.Pos, SeverityWarning, "prefer-interpolation", "Use string interpolation instead of the concat function.")
			}
		}
	})
	for _, o := range m.outputs {
		if strings.Contains(strings.ToLower(o.Name), "password") || strings.Contains(strings.ToLower(o.Name), "secret") {
			if !hasDecorator(o.Decorators, "secure") {
				diags.add(m.path, o.NamePos, SeverityWarning, "outputs-should-not-contain-secrets", "Outputs should not contain secrets. Found possible secret: output name %q suggests a secret", o.Name)
			}
		}
	}
}

func markDecorators(ds []*Decorator, mark func(Expr)) {
	for _, d := range ds {
		for _, a := range d.Args {
			mark(a)
		}
	}
}

func walkIdents(e Expr, visit func(string)) {
	walkExpr(e, func(x Expr) {
		switch v := x.(type) {
		case *Ident:
			visit(v.Name)
		case *CallExpr:
			if v.Receiver == nil {
				visit(v.Name)
			}
		}
	})
}

func walkAll(m *model, visit func(Expr)) {
	for _, st := range m.file.Statements {
		switch s := st.(type) {
		case *ParamStmt:
			walkExpr(s.Default, visit)
		case *VarStmt:
			walkExpr(s.Value, visit)
		case *OutputStmt:
			walkExpr(s.Value, visit)
		case *ModuleStmt:
			walkExpr(s.Value, visit)
		case *ResourceStmt:
			walkExpr(s.Value, visit)
		}
	}
}

// walkExpr visits e and every expression inside it, nested resource
// bodies included.
func walkExpr(e Expr, visit func(Expr)) {
	if e == nil {
		return
	}
	visit(e)
	eachChild(e, func(c Expr, _ ...string) { walkExpr(c, visit) })
	if o, ok := e.(*ObjectLit); ok {
		for _, r := range o.Resources {
			walkExpr(r.Value, visit)
		}
	}
}

// eachChild calls f on every expression directly inside e, with the names
// e binds for that child (a for loop's item and index, a lambda's
// parameters). Walkers that track scope and walkers that don't share this
// one list of what each expression holds, so a new node kind is taught to
// both at once. Children may be nil. Nested resource bodies are not
// children: they are declarations of their own, and only walkers that
// mean to cross into them do.
func eachChild(e Expr, f func(child Expr, binds ...string)) {
	switch x := e.(type) {
	case *InterpString:
		for _, s := range x.Exprs {
			f(s)
		}
	case *ObjectLit:
		for _, p := range x.Props {
			f(p.KeyExpr)
			f(p.Value)
		}
	case *ArrayLit:
		for _, it := range x.Items {
			f(it)
		}
	case *SpreadExpr:
		f(x.X)
	case *ForExpr:
		f(x.Iterable)
		f(x.Body, x.Item, x.Index)
	case *IfExpr:
		f(x.Cond)
		f(x.Body)
	case *UnaryExpr:
		f(x.X)
	case *BinaryExpr:
		f(x.X)
		f(x.Y)
	case *TernaryExpr:
		f(x.Cond)
		f(x.Then)
		f(x.Else)
	case *PropertyAccess:
		f(x.X)
	case *IndexAccess:
		f(x.X)
		f(x.Index)
	case *ResourceAccess:
		f(x.X)
	case *NonNullAssert:
		f(x.X)
	case *CallExpr:
		f(x.Receiver)
		for _, a := range x.Args {
			f(a)
		}
	case *LambdaExpr:
		f(x.Body, x.Params...)
	case *ParenExpr:
		f(x.X)
	}
}
