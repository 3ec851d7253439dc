package bicep

import (
	"sort"
	"strconv"
	"strings"
)

// importDecl is one declaration in the import closure of a template: a
// type, variable or function declared in another file, emitted into the
// importing template under name (the import's name for symbols imported
// by name, "_N.name" for everything else, as the official compiler's
// ImportClosureInfo names them: N numbers the source templates in the
// order of their "<template>_<symbol>" keys).
type importDecl struct {
	kind symKind
	src  *model // the file that declares it
	orig string // its name there
	typ  *TypeStmt
	v    *VarStmt
	fn   *FuncStmt
	name string
}

func (d *importDecl) key() any {
	switch d.kind {
	case symType:
		return d.typ
	case symVar:
		return d.v
	}
	return d.fn
}

// declKey identifies the declaration a symbol stands for.
func declKey(s *symbol) any {
	switch s.kind {
	case symType:
		return s.typ
	case symVar:
		return s.v
	case symFunc:
		return s.fn
	}
	return nil
}

// nameOf is the name a type, variable or function symbol has in the
// template being emitted.
func (m *model) nameOf(s *symbol) string {
	if m.names != nil {
		if n, ok := m.names[declKey(s)]; ok {
			return n
		}
	}
	return s.name
}

// asEmitting runs f while src emits names as m's template has them.
func (m *model) asEmitting(src *model, f func()) {
	saved := src.names
	src.names = m.names
	defer func() { src.names = saved }()
	f()
}

// exported lists the exported declarations of a file, as a wildcard
// import brings them in.
func exportedSyms(src *model) []*symbol {
	var out []*symbol
	for _, s := range src.order {
		if s.from == nil && (s.kind == symType || s.kind == symVar || s.kind == symFunc) && isExported(s) {
			out = append(out, s)
		}
	}
	return out
}

// computeClosure finds every declaration the file's imports bring in:
// what is imported by name, every export of a wildcard import, and what
// those refer to, transitively.
func (m *model) computeClosure() {
	m.names = map[any]string{}
	m.closure = nil
	byKey := map[any]*importDecl{}
	type item struct {
		s   *symbol
		src *model
	}
	var queue []item
	for _, s := range m.importedSym {
		queue = append(queue, item{s, s.from})
	}
	for _, im := range m.imports {
		if im.Wildcard == "" {
			continue
		}
		if ns := m.syms[im.Wildcard]; ns != nil && ns.kind == symNamespace && ns.ns != nil {
			for _, s := range exportedSyms(ns.ns) {
				queue = append(queue, item{s, ns.ns})
			}
		}
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		src := it.src
		if it.s.from != nil && it.s.from != m {
			src = it.s.from
		}
		k := declKey(it.s)
		if k == nil || byKey[k] != nil {
			continue
		}
		orig := it.s.name
		switch it.s.kind {
		case symType:
			orig = it.s.typ.Name
		case symVar:
			orig = it.s.v.Name
		case symFunc:
			orig = it.s.fn.Name
		}
		d := &importDecl{kind: it.s.kind, src: src, orig: orig, typ: it.s.typ, v: it.s.v, fn: it.s.fn}
		byKey[k] = d
		m.closure = append(m.closure, d)
		for _, n := range declRefs(d) {
			t := src.syms[n]
			if t == nil {
				continue
			}
			switch t.kind {
			case symType, symVar, symFunc:
				queue = append(queue, item{t, src})
			case symNamespace:
				if t.ns != nil {
					for _, e := range exportedSyms(t.ns) {
						queue = append(queue, item{e, t.ns})
					}
				}
			case symParam, symResource, symModule:
				if d.kind == symVar {
					m.errorf(it.s.pos, "BCP360", "The imported variable refers to %q, which is not a type, variable or function.", n)
				}
			}
		}
	}
	// names imported by name keep them
	for _, s := range m.importedSym {
		m.names[declKey(s)] = s.name
	}
	tmplKey := func(d *importDecl) string { return relPath(m.path, d.src.path) }
	sorted := append([]*importDecl(nil), m.closure...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return collateLess(tmplKey(sorted[i])+"_"+sorted[i].orig, tmplKey(sorted[j])+"_"+sorted[j].orig)
	})
	ids := map[string]int{}
	next := 1
	for _, d := range sorted {
		if n, ok := m.names[d.key()]; ok {
			d.name = n
			continue
		}
		id, ok := ids[tmplKey(d)]
		if !ok {
			id = next
			ids[tmplKey(d)] = id
			next++
		}
		d.name = "_" + strconv.Itoa(id) + "." + d.orig
		m.names[d.key()] = d.name
	}
	sort.SliceStable(m.closure, func(i, j int) bool {
		return collateLess(memberName(m.closure[i]), memberName(m.closure[j]))
	})
}

// memberName is what the official compiler orders imported declarations
// by: the name, and for functions the member name within its namespace.
func memberName(d *importDecl) string {
	if d.kind == symFunc {
		_, mem := funcNamespace(d.name)
		return mem
	}
	return d.name
}

// funcNamespace splits a function's template name: "_2.f" is member f of
// namespace _2; anything else is in __bicep.
func funcNamespace(name string) (string, string) {
	if strings.HasPrefix(name, "_") {
		if ns, mem, ok := strings.Cut(name, "."); ok {
			return ns, mem
		}
	}
	return "__bicep", name
}

// collateLess approximates .NET's culture-sensitive string order, which
// the official compiler sorts imported names with: punctuation before
// digits before letters, case only breaking ties (lower case first).
func collateLess(a, b string) bool {
	ka, kb := collateKey(a), collateKey(b)
	if ka != kb {
		return ka < kb
	}
	return a > b
}

func collateKey(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case '_':
			sb.WriteByte(1)
		case '-':
			sb.WriteByte(2)
		case '.':
			sb.WriteByte(3)
		case '/':
			sb.WriteByte(4)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// declRefs lists the names a declaration refers to (identifiers, called
// functions, namespaces, type names).
func declRefs(d *importDecl) []string {
	var names []string
	add := func(n string) { names = append(names, n) }
	switch d.kind {
	case symType:
		typeRefs(d.typ.Value, add)
	case symVar:
		if d.v.Type != nil {
			typeRefs(d.v.Type, add)
		}
		exprRefs(d.v.Value, add)
	case symFunc:
		for _, p := range d.fn.Params {
			typeRefs(p.Type, add)
		}
		typeRefs(d.fn.Output, add)
		exprRefs(d.fn.Body, add)
	}
	return names
}

func typeRefs(t TypeExpr, visit func(string)) {
	switch x := t.(type) {
	case *TypeRef:
		if x.Namespace == "" {
			visit(x.Name)
		} else if x.Namespace != "sys" {
			visit(x.Namespace)
		}
	case *TypeParen:
		typeRefs(x.X, visit)
	case *TypeAccess:
		typeRefs(x.X, visit)
	case *TypeNonNull:
		typeRefs(x.X, visit)
	case *TypeNullable:
		typeRefs(x.X, visit)
	case *TypeArray:
		typeRefs(x.Elem, visit)
	case *TypeTuple:
		for _, it := range x.Items {
			typeRefs(it, visit)
		}
	case *TypeObject:
		for _, p := range x.Props {
			typeRefs(p.Type, visit)
		}
		if x.Additional != nil {
			typeRefs(x.Additional, visit)
		}
	case *TypeUnion:
		for _, mem := range x.Members {
			typeRefs(mem, visit)
		}
	}
}

func exprRefs(e Expr, visit func(string)) {
	var walk func(e Expr, locals map[string]bool)
	walk = func(e Expr, locals map[string]bool) {
		switch x := e.(type) {
		case *Ident:
			if !locals[x.Name] {
				visit(x.Name)
			}
		case *CallExpr:
			if x.Receiver == nil && !locals[x.Name] {
				visit(x.Name)
			}
		}
		eachChild(e, func(c Expr, binds ...string) {
			if len(binds) > 0 {
				walk(c, copyLocals(locals, binds...))
				return
			}
			walk(c, locals)
		})
	}
	walk(e, map[string]bool{})
}
