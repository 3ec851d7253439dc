package bicep

import (
	"fmt"
	"os"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// cx is the context an expression is converted in: the model and what
// loop items, loop indexes, lambda and function parameters stand for.
type cx struct {
	m      *model
	locals map[string]aexpr
	// strict conversions fail (failed is set) on names bound by an
	// enclosing loop that is not in locals, for dependsOn indexes.
	strict bool
	failed bool
	// inFunc: inside a user-defined function, where only its parameters
	// and other functions are visible.
	inFunc bool
	// bound holds names bound by loops or lambdas that this context does
	// not replace (property loops outside strict contexts).
	depth int
	// modVars are lambda parameters standing for the modules of a whole
	// module collection: their .outputs.x is the output's value.
	modVars map[string]bool
}

func (c *cx) with(names map[string]aexpr) *cx {
	n := &cx{m: c.m, locals: make(map[string]aexpr, len(c.locals)+len(names)), strict: c.strict, inFunc: c.inFunc, depth: c.depth, modVars: c.modVars}
	for k, v := range c.locals {
		n.locals[k] = v
	}
	for k, v := range names {
		if k != "" {
			n.locals[k] = v
		}
	}
	return n
}

func rootCx(m *model) *cx { return &cx{m: m, locals: map[string]aexpr{}} }

// loopLocals binds a for-expression's item and index for copy loop name
// (empty: the resource, module or output copy loop, copyIndex()).
func (c *cx) loopLocals(f *ForExpr, copyName string) *cx {
	var idx aexpr
	if copyName == "" {
		idx = call("copyIndex")
	} else {
		idx = call("copyIndex", aStr(copyName))
	}
	return c.loopLocalsAt(f, idx, c)
}

// loopLocalsAt binds item and index of f to element idx; the iterable is
// converted in base.
func (c *cx) loopLocalsAt(f *ForExpr, idx aexpr, base *cx) *cx {
	iter := base.conv(f.Iterable)
	return c.with(map[string]aexpr{f.Item: withProps(iter, idx), f.Index: idx})
}

func (c *cx) errorf(p Pos, code, format string, args ...any) {
	c.m.errorf(p, code, format, args...)
}

// value converts e for a place in the template: literals, objects and
// arrays stay JSON, everything else becomes a "[...]" expression.
func (c *cx) value(e Expr) any {
	switch x := e.(type) {
	case *StringLit:
		return escapeLiteral(x.Value)
	case *IntLit:
		return x.Value
	case *BoolLit:
		return x.Value
	case *NullLit:
		return nil
	case *UnaryExpr:
		if lit, ok := x.X.(*IntLit); ok && x.Op == "-" {
			return -lit.Value
		}
	case *ParenExpr:
		return c.value(x.X)
	case *ObjectLit:
		if !hasSpread(x.Props) {
			return c.objectValue(x)
		}
	case *ArrayLit:
		if !hasSpreadItems(x.Items) {
			out := make([]any, 0, len(x.Items))
			for _, it := range x.Items {
				out = append(out, c.value(it))
			}
			return out
		}
	case *CallExpr:
		if x.Receiver == nil || isNamespace(x.Receiver, "sys") {
			if x.Name == "any" && len(x.Args) == 1 {
				return c.value(x.Args[0])
			}
			if lit := c.loadFunction(x); lit != nil {
				return c.value(lit)
			}
		}
	case *ForExpr:
		c.errorf(x.Pos, "BCP138", "For-expressions are not supported in this context. For-expressions may be used as values of resource, module, variable, and output declarations, or values of resource and module properties.")
		return nil
	}
	return toValue(c.conv(e))
}

func hasSpread(props []*Property) bool {
	for _, p := range props {
		if p.Spread {
			return true
		}
	}
	return false
}

func hasSpreadItems(items []Expr) bool {
	for _, it := range items {
		if _, ok := it.(*SpreadExpr); ok {
			return true
		}
	}
	return false
}

// objectValue emits an object literal; property loops become a copy
// array first, as ARM requires.
func (c *cx) objectValue(o *ObjectLit) *jObject {
	out := newObj()
	var copies []any
	for _, p := range o.Props {
		if f, ok := p.Value.(*ForExpr); ok {
			if p.KeyExpr != nil {
				c.errorf(p.Pos, "BCP142", "Property value for-expressions cannot be nested.")
				continue
			}
			copies = append(copies, c.copyObject(p.Key, f, p.Key))
		}
	}
	if len(copies) > 0 {
		out.set("copy", copies)
	}
	for _, p := range o.Props {
		if _, ok := p.Value.(*ForExpr); ok {
			continue
		}
		key := p.Key
		if p.KeyExpr != nil {
			key = toValueString(c.conv(p.KeyExpr))
		}
		out.set(key, c.value(p.Value))
	}
	return out
}

func toValueString(x aexpr) string {
	v := toValue(x)
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// copyObject is {"name", "count", "input"} of a copy loop; copyName names
// the loop for copyIndex (empty for copyIndex()).
func (c *cx) copyObject(name string, f *ForExpr, copyName string) *jObject {
	o := newObj()
	if name != "" {
		o.set("name", name)
	}
	o.set("count", toValue(call("length", c.conv(f.Iterable))))
	inner := c.loopLocals(f, copyName)
	body := f.Body
	if ie, ok := body.(*IfExpr); ok {
		// a filtered loop outside resources and modules: only the body counts
		c.errorf(ie.Pos, "BCP137", "Loop filters are only supported on resource and module loops.")
		body = ie.Body
	}
	o.set("input", inner.copyInput(body))
	return o
}

// copyInput: the deployment engine only accepts a string or an object as
// a copy loop's input, so everything else is an expression.
func (c *cx) copyInput(body Expr) any {
	switch b := body.(type) {
	case *ObjectLit:
		if !hasSpread(b.Props) {
			return c.objectValue(b)
		}
	case *StringLit:
		return escapeLiteral(b.Value)
	}
	x := c.conv(body)
	switch v := x.(type) {
	case aInt:
		x = call("int", v)
	case aStr:
		x = call("string", v)
	}
	return "[" + serialize(x) + "]"
}

// conv converts a Bicep expression into an ARM expression.
func (c *cx) conv(e Expr) aexpr {
	// Conversions nest across contexts (a reference converts the target's
	// name, which may reference another resource...); bound them all so
	// that no input can exhaust the stack.
	c.m.convDepth++
	defer func() { c.m.convDepth-- }()
	if c.m.convDepth > maxDepth*4 && e != nil {
		c.errorf(e.Position(), "BCP999", "The expression is nested too deeply to compile.")
		return call("null")
	}
	switch x := e.(type) {
	case nil:
		return call("null")
	case *StringLit:
		return aStr(x.Value)
	case *IntLit:
		return aInt(x.Value)
	case *BoolLit:
		if x.Value {
			return call("true")
		}
		return call("false")
	case *NullLit:
		return call("null")
	case *InterpString:
		var f strings.Builder
		args := []aexpr{nil}
		for i, seg := range x.Segments {
			f.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(seg))
			if i < len(x.Exprs) {
				fmt.Fprintf(&f, "{%d}", i)
				args = append(args, c.conv(x.Exprs[i]))
			}
		}
		args[0] = aStr(f.String())
		return call("format", args...)
	case *ParenExpr:
		return c.conv(x.X)
	case *NonNullAssert:
		return c.conv(x.X)
	case *ObjectLit:
		return c.convObject(x)
	case *ArrayLit:
		if hasSpreadItems(x.Items) {
			var groups []aexpr
			var cur []aexpr
			flush := func() {
				if cur != nil {
					groups = append(groups, call("createArray", cur...))
					cur = nil
				}
			}
			for _, it := range x.Items {
				if s, ok := it.(*SpreadExpr); ok {
					flush()
					groups = append(groups, c.conv(s.X))
					continue
				}
				cur = append(cur, c.conv(it))
			}
			flush()
			return call("flatten", call("createArray", groups...))
		}
		args := make([]aexpr, 0, len(x.Items))
		for _, it := range x.Items {
			args = append(args, c.conv(it))
		}
		return call("createArray", args...)
	case *UnaryExpr:
		switch x.Op {
		case "!":
			return call("not", c.conv(x.X))
		case "-":
			if lit, ok := x.X.(*IntLit); ok {
				return aInt(-lit.Value)
			}
			return call("sub", aInt(0), c.conv(x.X))
		}
		c.errorf(x.Pos, "BCP008", "Expected the %q operator to be followed by an operand it supports.", x.Op)
		return c.conv(x.X)
	case *BinaryExpr:
		a, b := c.conv(x.X), c.conv(x.Y)
		switch x.Op {
		case "||":
			return call("or", a, b)
		case "&&":
			return call("and", a, b)
		case "==":
			return call("equals", a, b)
		case "!=":
			return call("not", call("equals", a, b))
		case "=~":
			return call("equals", call("toLower", a), call("toLower", b))
		case "!~":
			return call("not", call("equals", call("toLower", a), call("toLower", b)))
		case "<":
			return call("less", a, b)
		case "<=":
			return call("lessOrEquals", a, b)
		case ">":
			return call("greater", a, b)
		case ">=":
			return call("greaterOrEquals", a, b)
		case "+":
			return call("add", a, b)
		case "-":
			return call("sub", a, b)
		case "*":
			return call("mul", a, b)
		case "/":
			return call("div", a, b)
		case "%":
			return call("mod", a, b)
		case "??":
			return call("coalesce", a, b)
		}
	case *TernaryExpr:
		return call("if", c.conv(x.Cond), c.conv(x.Then), c.conv(x.Else))
	case *Ident:
		return c.ident(x)
	case *PropertyAccess:
		return c.property(x)
	case *IndexAccess:
		return c.index(x)
	case *ResourceAccess:
		if r, _ := c.m.resourceRef(x); r != nil {
			return c.wholeResource(r, nil, x.Pos)
		}
		c.errorf(x.Pos, "BCP159", "The resource %q does not contain a nested resource named %q.", exprText(x.X), x.Name)
		return call("null")
	case *CallExpr:
		return c.callExpr(x)
	case *LambdaExpr:
		names := map[string]aexpr{}
		args := []aexpr{}
		for _, p := range x.Params {
			names[p] = call("lambdaVariables", aStr(p))
			args = append(args, aStr(p))
		}
		inner := c.with(names)
		args = append(args, inner.conv(x.Body))
		return call("lambda", args...)
	case *ForExpr:
		c.errorf(x.Pos, "BCP138", "For-expressions are not supported in this context. For-expressions may be used as values of resource, module, variable, and output declarations, or values of resource and module properties.")
		return call("null")
	case *IfExpr:
		c.errorf(x.Pos, "BCP243", "Conditions are only supported on resource and module declarations.")
		return call("null")
	case *SpreadExpr:
		c.errorf(x.Pos, "BCP396", "The spread operator \"...\" is only permitted in object and array literals.")
		return c.conv(x.X)
	case *BadExpr:
		return call("null")
	}
	c.errorf(e.Position(), "BCP009", "This expression cannot be compiled.")
	return call("null")
}

func (c *cx) convObject(x *ObjectLit) aexpr {
	if hasSpread(x.Props) {
		var parts []aexpr
		var cur []aexpr
		flush := func() {
			if cur != nil {
				parts = append(parts, call("createObject", cur...))
				cur = nil
			}
		}
		for _, p := range x.Props {
			if p.Spread {
				flush()
				parts = append(parts, c.conv(p.Value))
				continue
			}
			cur = append(cur, c.key(p), c.conv(p.Value))
		}
		flush()
		return call("shallowMerge", call("createArray", parts...))
	}
	args := make([]aexpr, 0, 2*len(x.Props))
	for _, p := range x.Props {
		if _, ok := p.Value.(*ForExpr); ok {
			c.errorf(p.Pos, "BCP138", "For-expressions are not supported in this context. For-expressions may be used as values of resource, module, variable, and output declarations, or values of resource and module properties.")
			continue
		}
		args = append(args, c.key(p), c.conv(p.Value))
	}
	return call("createObject", args...)
}

func (c *cx) key(p *Property) aexpr {
	if p.KeyExpr != nil {
		return c.conv(p.KeyExpr)
	}
	return aStr(p.Key)
}

func (c *cx) ident(x *Ident) aexpr {
	if v, ok := c.locals[x.Name]; ok {
		if v == nil {
			c.failed = true
			return call("null")
		}
		return v
	}
	s := c.m.syms[x.Name]
	if s == nil || (c.inFunc && s.kind != symFunc && s.kind != symType) {
		if c.strict {
			c.failed = true
			return call("null")
		}
		if s != nil {
			c.errorf(x.Pos, "BCP341", "User-defined functions cannot reference %s %q; only their own parameters and other functions.", s.kind, x.Name)
			return call("null")
		}
		c.errorf(x.Pos, "BCP057", "The name %q does not exist in the current context.", x.Name)
		return call("null")
	}
	switch s.kind {
	case symParam:
		return call("parameters", aStr(x.Name))
	case symVar:
		if s.from == nil && c.m.inline[s.v] {
			return rootCx(c.m).conv(s.v.Value)
		}
		return call("variables", aStr(c.m.nameOf(s)))
	case symResource:
		return c.wholeResource(s.res, nil, x.Pos)
	case symModule:
		return c.moduleReference(s.mod, nil)
	case symFunc:
		c.errorf(x.Pos, "BCP063", "The name %q is not a parameter, variable, resource or module.", x.Name)
	case symType:
		c.errorf(x.Pos, "BCP063", "The name %q is a type and cannot be used as a value.", x.Name)
	case symNamespace:
		c.errorf(x.Pos, "BCP063", "The name %q is a namespace and cannot be used as a value.", x.Name)
	}
	return call("null")
}

// wholeResource is a resource used as a value: its full reference.
func (c *cx) wholeResource(r *resource, idx Expr, p Pos) aexpr {
	if r.loop != nil && idx == nil {
		if c.m.symbolic && !c.strict {
			// the whole collection, as the official compiler emits it
			return call("references", aStr(r.symName), aStr("full"))
		}
		c.errorf(p, "BCP144", "Directly referencing a resource or module collection is not supported here. Apply an array indexer to the expression.")
		return call("null")
	}
	return c.reference(r, idx, true)
}

func (c *cx) index(x *IndexAccess) aexpr {
	if r, idx := c.m.resourceRef(x); r != nil && idx != nil {
		return c.wholeResource(r, idx, x.Pos)
	}
	if mod, idx := c.m.moduleRef(x); mod != nil && idx != nil {
		return c.moduleReference(mod, idx)
	}
	// mod.outputs['name']
	if pa, ok := x.X.(*PropertyAccess); ok && pa.Name == "outputs" {
		if mod, idx := c.m.moduleRef(pa.X); mod != nil {
			return withProps(c.moduleReference(mod, idx), aStr("outputs"), c.conv(x.Index), aStr("value"))
		}
	}
	base := c.conv(x.X)
	var key aexpr
	if s, ok := x.Index.(*StringLit); ok {
		key = aStr(s.Value)
	} else {
		key = c.conv(x.Index)
	}
	if x.Safe {
		return call("tryGet", base, key)
	}
	return withProps(base, key)
}

func (c *cx) property(x *PropertyAccess) aexpr {
	if r, idx := c.m.resourceRef(x.X); r != nil {
		return c.resourceProperty(r, idx, x)
	}
	if mod, idx := c.m.moduleRef(x.X); mod != nil {
		switch x.Name {
		case "name":
			return c.moduleName(mod, idx)
		case "outputs":
			if x.Safe {
				return call("tryGet", c.moduleReference(mod, idx), aStr("outputs"))
			}
			return withProps(c.moduleReference(mod, idx), aStr("outputs"))
		}
		c.errorf(x.NamePos, "BCP053", "The type \"module\" does not contain property %q. Available properties include \"name\", \"outputs\".", x.Name)
		return call("null")
	}
	// m.outputs.name of a lambda over a module collection
	if pa, ok := x.X.(*PropertyAccess); ok && pa.Name == "outputs" {
		if id, ok := pa.X.(*Ident); ok && c.modVars[id.Name] {
			if pa.Safe || x.Safe {
				return call("tryGet", c.conv(id), aStr("outputs"), aStr(x.Name), aStr("value"))
			}
			return withProps(c.conv(id), aStr("outputs"), aStr(x.Name), aStr("value"))
		}
	}
	// mod.outputs.name: the output's value
	if pa, ok := x.X.(*PropertyAccess); ok && pa.Name == "outputs" {
		if mod, idx := c.m.moduleRef(pa.X); mod != nil {
			c.checkModuleOutput(mod, x.Name, x.NamePos)
			base := c.moduleReference(mod, idx)
			if x.Safe || pa.Safe {
				return call("tryGet", base, aStr("outputs"), aStr(x.Name), aStr("value"))
			}
			return withProps(base, aStr("outputs"), aStr(x.Name), aStr("value"))
		}
	}
	// ns.variable of a wildcard import
	if id, ok := x.X.(*Ident); ok {
		if _, local := c.locals[id.Name]; !local {
			if s := c.m.syms[id.Name]; s != nil && s.kind == symNamespace {
				return c.importedValue(s, x.Name, x.NamePos)
			}
		}
	}
	base := c.conv(x.X)
	if x.Safe || c.guardedSafe(x.X) {
		if inner, ok := base.(*aCall); ok && inner.name == "tryGet" && len(inner.props) == 0 {
			return call("tryGet", append(append([]aexpr(nil), inner.args...), aStr(x.Name))...)
		}
		return call("tryGet", base, aStr(x.Name))
	}
	return withProps(base, aStr(x.Name))
}

// guardedSafe: e is a .? access on a conditional resource, whose members
// stay null-safe (r.?properties.x is tryGet(if(...), 'properties', 'x')).
func (c *cx) guardedSafe(e Expr) bool {
	for {
		pa, ok := e.(*PropertyAccess)
		if !ok {
			return false
		}
		if r, _ := c.m.resourceRef(pa.X); r != nil {
			return pa.Safe && r.cond != nil && pa.Name != "id" && pa.Name != "name" && pa.Name != "type" && pa.Name != "apiVersion"
		}
		e = pa.X
	}
}

func (c *cx) checkModuleOutput(mod *module, name string, p Pos) {
	if mod.child == nil {
		return
	}
	for _, o := range mod.child.outputs {
		if o.Name == name {
			return
		}
	}
	c.errorf(p, "BCP053", "The module does not contain output %q.", name)
}

// resourceContext is the context a resource's own expressions (name,
// scope) are converted in: its loop item and index stand for element idx
// (converted in the caller's context), or for copyIndex() when idx is nil.
func (c *cx) resourceContext(r *resource, idx Expr) *cx {
	base := rootCx(r.m)
	if r.loop == nil {
		return base
	}
	if idx == nil {
		return base.loopLocals(r.loop, "")
	}
	return base.loopLocalsAt(r.loop, c.conv(idx), base)
}

func (c *cx) resourceProperty(r *resource, idx Expr, x *PropertyAccess) aexpr {
	if r.loop != nil && idx == nil {
		c.errorf(x.Pos, "BCP144", "Directly referencing a resource or module collection is not supported here. Apply an array indexer to the expression.")
		return call("null")
	}
	rc := c.resourceContext(r, idx)
	if x.Safe && r.cond != nil {
		// .? on a conditional resource: guarded by its condition, as the
		// official compiler emits it
		guard := func(v aexpr) aexpr { return call("if", rc.conv(r.cond), v, call("null")) }
		switch x.Name {
		case "id":
			return guard(rc.resourceID(r))
		case "name":
			return guard(rc.conv(r.name))
		case "type":
			return aStr(r.fullType)
		case "apiVersion":
			return aStr(r.apiVersion)
		}
		return call("tryGet", guard(c.reference(r, idx, true)), aStr(x.Name))
	}
	switch x.Name {
	case "id":
		return rc.resourceID(r)
	case "name":
		return rc.conv(r.name)
	case "type":
		return aStr(r.fullType)
	case "apiVersion":
		return aStr(r.apiVersion)
	case "properties":
		if x.Safe {
			return call("tryGet", c.reference(r, idx, true), aStr("properties"))
		}
		return c.reference(r, idx, false)
	}
	if x.Safe {
		return call("tryGet", c.reference(r, idx, true), aStr(x.Name))
	}
	return withProps(c.reference(r, idx, true), aStr(x.Name))
}

// reference is reference() of a resource: by symbolic name in
// languageVersion 2.0, by resource ID otherwise; full for top-level
// members other than properties.
func (c *cx) reference(r *resource, idx Expr, full bool) aexpr {
	var target aexpr
	if c.m.symbolic {
		target = c.symbolicRef(r.symName, r.loop != nil, idx)
		if !full {
			return call("reference", target)
		}
	} else {
		target = c.resourceContext(r, idx).resourceID(r)
		if !full {
			return call("reference", target, aStr(r.apiVersion))
		}
	}
	return call("reference", target, aStr(r.apiVersion), aStr("full"))
}

func (c *cx) symbolicRef(name string, looped bool, idx Expr) aexpr {
	if !looped {
		return aStr(name)
	}
	var i aexpr
	if idx == nil {
		i = call("copyIndex")
	} else {
		i = c.conv(idx)
	}
	return call("format", aStr(name+"[{0}]"), i)
}

// ancestors returns the parents of r, outermost first.
func ancestors(r *resource) []*resource {
	var out []*resource
	for p := r.parent; p != nil; p = p.parent {
		out = append([]*resource{p}, out...)
		if len(out) > 64 {
			break
		}
	}
	return out
}

// nameSegments are the name arguments of resourceId() for r, converted in
// c (r's own context).
func (c *cx) nameSegments(r *resource) []aexpr {
	typeSegs := strings.Split(r.fullType, "/")
	after := len(typeSegs) - 1
	anc := ancestors(r)
	own := c.conv(r.name)
	if len(anc) == 0 {
		if after <= 1 {
			return []aexpr{own}
		}
		out := make([]aexpr, after)
		for i := range after {
			out[i] = withProps(call("split", own, aStr("/")), aInt(i))
		}
		return out
	}
	var out []aexpr
	firstLen := after - len(anc)
	for i, a := range anc {
		ac := c.ancestorContext(r, a)
		n := ac.conv(a.name)
		if i == 0 && firstLen > 1 {
			for k := range firstLen {
				out = append(out, withProps(call("split", n, aStr("/")), aInt(k)))
			}
			continue
		}
		out = append(out, n)
	}
	return append(out, own)
}

// ancestorContext converts a's name: through parent: x[i], the index is
// converted in the child's context.
func (c *cx) ancestorContext(r, a *resource) *cx {
	if r.parent == a && r.parentIdx != nil && a.loop != nil {
		base := rootCx(a.m)
		return base.loopLocalsAt(a.loop, c.conv(r.parentIdx), base)
	}
	if a.loop != nil {
		return rootCx(a.m).loopLocals(a.loop, "")
	}
	return rootCx(a.m)
}

// fullName is the name property of r: parent names joined with '/'.
func (c *cx) fullName(r *resource) aexpr {
	if len(ancestors(r)) == 0 {
		return c.conv(r.name)
	}
	segs := c.nameSegments(r)
	parts := make([]string, len(segs))
	for i := range segs {
		parts[i] = fmt.Sprintf("{%d}", i)
	}
	return call("format", append([]aexpr{aStr(strings.Join(parts, "/"))}, segs...)...)
}

func (c *cx) resourceID(r *resource) aexpr {
	return c.scopedID(r.scope, r.fullType, c.nameSegments(r))
}

func (c *cx) scopedID(sd scopeData, typ string, segs []aexpr) aexpr {
	args := func(prefix ...aexpr) []aexpr {
		return append(append(prefix, aStr(typ)), segs...)
	}
	switch sd.level {
	case "tenant":
		return call("tenantResourceId", args()...)
	case "subscription":
		if sd.sub != nil {
			return call("subscriptionResourceId", args(c.conv(sd.sub))...)
		}
		return call("subscriptionResourceId", args()...)
	case "managementGroup":
		var mg aexpr
		if sd.mg != nil {
			mg = call("tenantResourceId", aStr("Microsoft.Management/managementGroups"), c.conv(sd.mg))
		} else {
			mg = withProps(call("managementGroup"), aStr("id"))
		}
		return call("extensionResourceId", args(mg)...)
	case "resource":
		sr := sd.res
		var sc *cx
		if sr.loop != nil && sd.resIndex != nil {
			base := rootCx(sr.m)
			sc = base.loopLocalsAt(sr.loop, c.conv(sd.resIndex), base)
		} else {
			sc = c.resourceContext(sr, nil)
		}
		return call("extensionResourceId", args(sc.resourceID(sr))...)
	default: // resourceGroup
		if sd.sub == nil && sd.rg == nil {
			return call("resourceId", args()...)
		}
		var sub aexpr
		if sd.sub != nil {
			sub = c.conv(sd.sub)
		} else {
			sub = withProps(call("subscription"), aStr("subscriptionId"))
		}
		var rg aexpr
		if sd.rg != nil {
			rg = c.conv(sd.rg)
		} else {
			rg = withProps(call("resourceGroup"), aStr("name"))
		}
		return call("extensionResourceId", args(call("format", aStr("/subscriptions/{0}/resourceGroups/{1}"), sub, rg))...)
	}
}

// ---- modules ----

func (c *cx) moduleContext(mod *module, idx Expr) *cx {
	base := rootCx(c.m)
	if mod.loop == nil {
		return base
	}
	if idx == nil {
		return base.loopLocals(mod.loop, "")
	}
	return base.loopLocalsAt(mod.loop, c.conv(idx), base)
}

func (c *cx) moduleName(mod *module, idx Expr) aexpr {
	mc := c.moduleContext(mod, idx)
	if mod.name != nil {
		return mc.conv(mod.name)
	}
	name := mod.stmt.Name
	us := call("uniqueString", aStr(name), withProps(call("deployment"), aStr("name")))
	if mod.loop != nil {
		if len(name) > 44 {
			name = name[:44]
		}
		var i aexpr = call("copyIndex")
		if idx != nil {
			i = c.conv(idx)
		}
		return call("format", aStr(name+"-{0}-{1}"), i, us)
	}
	if len(name) > 50 {
		name = name[:50]
	}
	return call("format", aStr(name+"-{0}"), us)
}

func (c *cx) moduleID(mod *module, idx Expr) aexpr {
	mc := c.moduleContext(mod, idx)
	return mc.scopedID(mod.scope, "Microsoft.Resources/deployments", []aexpr{c.moduleName(mod, idx)})
}

func (c *cx) moduleReference(mod *module, idx Expr) aexpr {
	if mod.loop != nil && idx == nil {
		if c.m.symbolic && !c.strict {
			return call("references", aStr(mod.stmt.Name))
		}
		c.errorf(mod.stmt.NamePos, "BCP144", "Directly referencing a resource or module collection is not supported here. Apply an array indexer to the expression.")
		return call("null")
	}
	if c.m.symbolic {
		return call("reference", c.symbolicRef(mod.stmt.Name, mod.loop != nil, idx))
	}
	return call("reference", c.moduleID(mod, idx), aStr(nestedDeploymentAPIVersion))
}

const nestedDeploymentAPIVersion = "2025-04-01"

// ---- functions ----

// bicepOnlyFunctions are functions of the sys namespace that the compiler
// evaluates or rewrites; everything else maps to the ARM function of the
// same name.
var bicepOnlyFunctions = map[string]bool{
	"any": true, "loadTextContent": true, "loadJsonContent": true, "loadYamlContent": true,
	"loadFileAsBase64": true, "nameof": true, "readEnvironmentVariable": true,
	"loadResourceType": false,
}

// armOnlyNotInBicep lists ARM functions Bicep does not expose directly.
var armOnlyNotInBicep = map[string]string{
	"parameters": "parameters are referenced by name in Bicep", "variables": "variables are referenced by name in Bicep",
	"copyIndex": "use a for-expression's index instead", "concat": "",
}

func (c *cx) callExpr(x *CallExpr) aexpr {
	if x.Receiver != nil {
		if id, ok := x.Receiver.(*Ident); ok {
			_, local := c.locals[id.Name]
			s := c.m.syms[id.Name]
			switch {
			case !local && (id.Name == "az" || id.Name == "sys") && (s == nil):
				return c.builtin(x)
			case !local && s != nil && s.kind == symNamespace:
				return c.importedCall(s, x)
			}
		}
		if r, idx := c.m.resourceRef(x.Receiver); r != nil {
			return c.instanceCall(r, idx, x)
		}
		c.errorf(x.NamePos, "BCP109", "The type of %q does not contain a function named %q.", exprText(x.Receiver), x.Name)
		return call("null")
	}
	if _, local := c.locals[x.Name]; !local {
		if s := c.m.syms[x.Name]; s != nil {
			if s.kind == symFunc {
				return c.userCall(s, x)
			}
			c.errorf(x.NamePos, "BCP265", "The name %q is not a function.", x.Name)
			return call("null")
		}
	}
	return c.builtin(x)
}

func (c *cx) userCall(s *symbol, x *CallExpr) aexpr {
	fn := s.fn
	if len(x.Args) != len(fn.Params) {
		c.errorf(x.Pos, "BCP071", "Expected %d argument(s), but got %d.", len(fn.Params), len(x.Args))
	}
	args := make([]aexpr, 0, len(x.Args))
	for _, a := range x.Args {
		args = append(args, c.conv(a))
	}
	ns, mem := funcNamespace(c.m.nameOf(s))
	return call(ns+"."+mem, args...)
}

func (c *cx) builtin(x *CallExpr) aexpr {
	name := x.Name
	if lit := c.loadFunction(x); lit != nil {
		return c.conv(lit)
	}
	switch name {
	case "any":
		if len(x.Args) != 1 {
			c.errorf(x.Pos, "BCP071", "Expected 1 argument, but got %d.", len(x.Args))
			return call("null")
		}
		return c.conv(x.Args[0])
	case "nameof":
		if len(x.Args) == 1 {
			switch a := x.Args[0].(type) {
			case *Ident:
				return aStr(a.Name)
			case *PropertyAccess:
				return aStr(a.Name)
			}
		}
		c.errorf(x.Pos, "BCP377", "The nameof function expects a symbol or property access.")
		return call("null")
	case "loadTextContent", "loadJsonContent", "loadYamlContent", "loadFileAsBase64":
		return call("null") // diagnostic reported by loadFunction
	case "readEnvironmentVariable":
		return c.readEnvironmentVariable(x)
	case "parameters", "variables", "copyIndex":
		c.errorf(x.NamePos, "BCP082", "The name %q does not exist in the current context. %s.", name, armOnlyNotInBicep[name])
		return call("null")
	}
	info, ok := expr.FunctionInfo(name)
	if !ok {
		c.errorf(x.NamePos, "BCP057", "The name %q does not exist in the current context.", name)
		return call("null")
	}
	if info.Name != name {
		c.errorf(x.NamePos, "BCP082", "The name %q does not exist in the current context. Did you mean %q?", name, info.Name)
	}
	args := make([]aexpr, 0, len(x.Args))
	inner := c
	if len(x.Args) > 1 {
		if mod, idx := c.m.moduleRef(x.Args[0]); mod != nil && idx == nil && mod.loop != nil {
			// map(mods, m => m.outputs.x): m is a module
			inner = c.with(nil)
			inner.modVars = map[string]bool{}
			for k := range c.modVars {
				inner.modVars[k] = true
			}
			for _, a := range x.Args[1:] {
				if l, ok := a.(*LambdaExpr); ok && len(l.Params) > 0 {
					inner.modVars[l.Params[0]] = true
				}
			}
		}
	}
	for i, a := range x.Args {
		if i == 0 {
			args = append(args, c.conv(a))
			continue
		}
		args = append(args, inner.conv(a))
	}
	return call(info.Name, args...)
}

// instanceCall is resource.listKeys(...) and the other list* functions.
func (c *cx) instanceCall(r *resource, idx Expr, x *CallExpr) aexpr {
	if strings.HasPrefix(x.Name, "list") {
		rc := c.resourceContext(r, idx)
		id := rc.resourceID(r)
		api := aexpr(aStr(r.apiVersion))
		args := []aexpr{id, api}
		if len(x.Args) > 0 {
			args[1] = c.conv(x.Args[0])
			for _, a := range x.Args[1:] {
				args = append(args, c.conv(a))
			}
		}
		return call(x.Name, args...)
	}
	if x.Name == "getSecret" {
		c.errorf(x.NamePos, "BCP180", "Function \"getSecret\" is not valid at this location. It can only be used when directly assigning to a module parameter with a secure decorator.")
		return call("null")
	}
	c.errorf(x.NamePos, "BCP109", "The type %q does not contain a function named %q.", r.fullType, x.Name)
	return call("null")
}

func exprText(e Expr) string {
	switch x := e.(type) {
	case *Ident:
		return x.Name
	case *PropertyAccess:
		return exprText(x.X) + "." + x.Name
	case *ResourceAccess:
		return exprText(x.X) + "::" + x.Name
	case *IndexAccess:
		return exprText(x.X) + "[...]"
	}
	return "expression"
}

// readEnvironmentVariable('NAME'[, default]) in a .bicepparam file: the
// variable's value at compile time (Options.LookupEnv, else the process
// environment), or the default.
func (c *cx) readEnvironmentVariable(x *CallExpr) aexpr {
	if !c.m.file.Params {
		c.errorf(x.NamePos, "BCP057", "The name \"readEnvironmentVariable\" does not exist in the current context; it is available only in .bicepparam files.")
		return call("null")
	}
	if len(x.Args) < 1 || len(x.Args) > 2 {
		c.errorf(x.Pos, "BCP071", "Expected 1 to 2 arguments, but got %d.", len(x.Args))
		return call("null")
	}
	lit, ok := x.Args[0].(*StringLit)
	if !ok {
		c.errorf(x.Args[0].Position(), "BCP032", "The value must be a compile-time constant.")
		return call("null")
	}
	lookup := c.m.c.opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(lit.Value); ok {
		return aStr(v)
	}
	if len(x.Args) == 2 {
		return c.conv(x.Args[1])
	}
	c.errorf(x.Pos, "BCP338", "Failed to evaluate parameter: Environment variable %q does not exist, and no default value set.", lit.Value)
	return call("null")
}
