package bicep

import (
	"strconv"
	"strings"
)

// maxDepth bounds expression nesting so hostile input fails with a
// diagnostic instead of exhausting the stack.
const maxDepth = 200

type parser struct {
	file    string
	toks    []token
	i       int
	diags   *diagList
	nl      []bool // top: newlines are insignificant (inside parentheses)
	depth   int
	params  bool
	lastErr int
}

// Parse parses a .bicep or .bicepparam file (by its extension) into a
// syntax tree. Diagnostics describe every syntax error; the tree is
// always returned, with BadExpr where the parser could not read an
// expression.
func Parse(file string, src []byte) (*File, []Diagnostic) {
	var diags diagList
	f := parse(file, string(src), &diags)
	return f, diags.result()
}

func parse(file, src string, diags *diagList) *File {
	p := &parser{file: file, toks: lex(file, src, diags), diags: diags, nl: []bool{false}, lastErr: -1}
	p.params = strings.HasSuffix(strings.ToLower(file), ".bicepparam")
	f := &File{Path: file, Params: p.params}
	for {
		p.skipNewlines()
		if p.cur().kind == tEOF {
			break
		}
		start := p.i
		st := p.statement()
		if st != nil {
			f.Statements = append(f.Statements, st)
		}
		if t := p.cur(); t.kind != tNewline && t.kind != tEOF && !p.declarationStart() {
			p.errorf(t.pos, "BCP019", "Expected a new line character at this location.")
			p.skipLine()
		}
		if p.i == start {
			p.i++ // always make progress
		}
	}
	return f
}

func (p *parser) cur() token {
	if p.nl[len(p.nl)-1] {
		for p.i < len(p.toks) && p.toks[p.i].kind == tNewline {
			p.i++
		}
	}
	if p.i >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.i]
}

func (p *parser) peekAt(n int) token {
	j := p.i
	skip := p.nl[len(p.nl)-1]
	for {
		for skip && j < len(p.toks) && p.toks[j].kind == tNewline {
			j++
		}
		if j >= len(p.toks) {
			return p.toks[len(p.toks)-1]
		}
		if n == 0 {
			return p.toks[j]
		}
		n--
		j++
	}
}

func (p *parser) next() token {
	t := p.cur()
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) is(sym string) bool {
	t := p.cur()
	return t.kind == tSymbol && t.value == sym
}

func (p *parser) isKeyword(kw string) bool {
	t := p.cur()
	return t.kind == tIdent && t.value == kw
}

func (p *parser) accept(sym string) bool {
	if p.is(sym) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(sym, code string) bool {
	if p.accept(sym) {
		return true
	}
	t := p.cur()
	p.errorf(t.pos, code, "Expected the %q character at this location.", sym)
	return false
}

func (p *parser) errorf(pos Pos, code, format string, args ...any) {
	if pos.Offset == p.lastErr {
		return
	}
	p.lastErr = pos.Offset
	p.diags.add(p.file, pos, SeverityError, code, format, args...)
}

func (p *parser) skipNewlines() {
	for p.i < len(p.toks) && (p.toks[p.i].kind == tNewline || p.toks[p.i].kind == tDirective) {
		if t := p.toks[p.i]; t.kind == tDirective {
			p.directive(t)
		}
		p.i++
	}
}

func (p *parser) directive(t token) {
	fields := strings.Fields(t.value)
	if len(fields) == 0 {
		return
	}
	switch fields[0] {
	case "#disable-next-line":
		if len(fields) == 1 {
			p.diags.add(p.file, t.pos, SeverityError, "BCP226", "Expected at least one diagnostic code at this location. Valid format is \"#disable-next-line diagnosticCode1 diagnosticCode2 ...\"")
			return
		}
		p.diags.suppress(p.file, t.pos.Line+1, fields[1:])
	case "#disable-diagnostics", "#restore-diagnostics":
		// Range suppression is recognised; only #disable-next-line suppresses.
	default:
		p.diags.add(p.file, t.pos, SeverityError, "BCP224", "The directive %q is not recognized.", fields[0])
	}
}

// skipLine skips to the next newline outside brackets, for recovery.
func (p *parser) skipLine() {
	depth := 0
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind == tEOF {
			return
		}
		if t.kind == tNewline && depth <= 0 {
			return
		}
		if t.kind == tSymbol {
			switch t.value {
			case "{", "[", "(":
				depth++
			case "}", "]", ")":
				if depth == 0 && len(p.nl) > 1 {
					// the closer of the enclosing literal: stop before it
					return
				}
				depth--
			}
		}
		p.i++
	}
}

// declarationStart reports whether the current token starts a top-level
// declaration (a keyword in the first column followed by its name): an
// unclosed object or array ends there, so that one missing bracket does
// not swallow the rest of the file.
func (p *parser) declarationStart() bool {
	t := p.cur()
	if t.kind != tIdent || t.pos.Column != 1 {
		return false
	}
	switch t.value {
	case "param", "var", "resource", "module", "output", "type", "func", "import", "metadata":
		n := p.peekAt(1)
		return n.kind == tIdent || (t.value == "import" && n.kind == tSymbol && (n.value == "{" || n.value == "*"))
	case "targetScope":
		n := p.peekAt(1)
		return n.kind == tSymbol && n.value == "="
	}
	return false
}

func (p *parser) identName(code, what string) (string, Pos, bool) {
	t := p.cur()
	if t.kind != tIdent {
		p.errorf(t.pos, code, "Expected %s at this location.", what)
		return "", t.pos, false
	}
	p.next()
	return t.value, t.pos, true
}

func (p *parser) decorators() []*Decorator {
	var out []*Decorator
	for p.is("@") {
		at := p.next()
		d := &Decorator{Pos: at.pos}
		name, _, ok := p.identName("BCP123", "a namespace or decorator name")
		if !ok {
			p.skipLine()
			p.skipNewlines()
			continue
		}
		if p.accept(".") {
			d.Namespace = name
			name, _, _ = p.identName("BCP123", "a decorator name")
		}
		d.Name = name
		if p.is("(") {
			d.Args = p.callArgs()
		} else {
			p.errorf(p.cur().pos, "BCP018", "Expected the \"(\" character at this location.")
		}
		out = append(out, d)
		p.skipNewlines()
	}
	return out
}

func (p *parser) statement() Stmt {
	decos := p.decorators()
	t := p.cur()
	if t.kind != tIdent {
		p.errorf(t.pos, "BCP007", "This declaration type is not recognized. Specify a metadata, parameter, variable, resource, or output declaration.")
		p.skipLine()
		return nil
	}
	base := stmtBase{Pos: t.pos, Decorators: decos}
	if len(decos) > 0 {
		base.Pos = decos[0].Pos
	}
	kw := t.value
	switch kw {
	case "targetScope":
		p.next()
		p.expect("=", "BCP018")
		return &TargetScopeStmt{stmtBase: base, Value: p.expression()}
	case "metadata":
		p.next()
		name, npos, _ := p.identName("BCP344", "a metadata identifier")
		base.NamePos = npos
		p.expect("=", "BCP018")
		return &MetadataStmt{stmtBase: base, Name: name, Value: p.expression()}
	case "param":
		p.next()
		name, npos, _ := p.identName("BCP013", "a parameter identifier")
		base.NamePos = npos
		st := &ParamStmt{stmtBase: base, Name: name}
		if p.params {
			p.expect("=", "BCP018")
			st.Default = p.expression()
			return st
		}
		st.Type = p.typeExpr()
		if p.accept("=") {
			st.Default = p.expression()
		}
		return st
	case "var":
		p.next()
		name, npos, _ := p.identName("BCP015", "a variable identifier")
		base.NamePos = npos
		st := &VarStmt{stmtBase: base, Name: name}
		if !p.is("=") {
			st.Type = p.typeExpr()
		}
		p.expect("=", "BCP018")
		st.Value = p.expression()
		return st
	case "resource":
		return p.resource(base)
	case "module":
		p.next()
		name, npos, _ := p.identName("BCP097", "a module identifier")
		base.NamePos = npos
		st := &ModuleStmt{stmtBase: base, Name: name}
		pt := p.cur()
		if pt.kind != tString {
			p.errorf(pt.pos, "BCP090", "This module declaration is missing a file path reference.")
			p.skipLine()
			return st
		}
		p.next()
		st.Path, st.PathPos = pt.value, pt.pos
		p.expect("=", "BCP018")
		st.Value = p.declBody(true, false)
		return st
	case "output":
		p.next()
		name, npos, _ := p.identName("BCP016", "an output identifier")
		base.NamePos = npos
		st := &OutputStmt{stmtBase: base, Name: name}
		st.Type = p.typeExpr()
		p.expect("=", "BCP018")
		st.Value = p.expression()
		return st
	case "type":
		p.next()
		name, npos, _ := p.identName("BCP301", "a type identifier")
		base.NamePos = npos
		p.expect("=", "BCP018")
		return &TypeStmt{stmtBase: base, Name: name, Value: p.typeExpr()}
	case "func":
		return p.function(base)
	case "import", "extension", "provider":
		return p.importStmt(base)
	case "using":
		p.next()
		st := &UsingStmt{stmtBase: base}
		pt := p.cur()
		if pt.kind == tIdent && pt.value == "none" {
			p.next()
			st.None = true
			return st
		}
		if pt.kind != tString {
			p.errorf(pt.pos, "BCP261", "A using declaration must be present in this parameters file.")
			p.skipLine()
			return st
		}
		p.next()
		st.Path, st.PathPos = pt.value, pt.pos
		return st
	case "assert", "test":
		p.next()
		p.errorf(t.pos, "BCP343", "%q declarations are an experimental feature that keyless does not compile.", kw)
		p.skipLine()
		return &UnsupportedStmt{stmtBase: base, Keyword: kw}
	}
	p.errorf(t.pos, "BCP007", "This declaration type is not recognized. Specify a metadata, parameter, variable, resource, or output declaration.")
	p.skipLine()
	return nil
}

func (p *parser) resource(base stmtBase) *ResourceStmt {
	p.next()
	name, npos, _ := p.identName("BCP017", "a resource identifier")
	base.NamePos = npos
	st := &ResourceStmt{stmtBase: base, Name: name}
	tt := p.cur()
	if tt.kind != tString {
		p.errorf(tt.pos, "BCP068", "Expected a resource type string. Specify a valid resource type of format \"<type-name>@<apiVersion>\".")
		p.skipLine()
		return st
	}
	p.next()
	st.Type, st.TypePos = tt.value, tt.pos
	if p.isKeyword("existing") {
		p.next()
		st.Existing = true
	}
	p.expect("=", "BCP018")
	st.Value = p.declBody(true, true)
	return st
}

// declBody parses the value of a resource or module: an object, if (c)
// object, or a for-expression whose body is one of those. Only a
// resource's body object may declare nested resources (res), as in the
// official grammar: anywhere else "resource" is just a property name.
func (p *parser) declBody(allowFor, res bool) Expr {
	p.skipNewlinesOnly()
	t := p.cur()
	switch {
	case t.kind == tSymbol && t.value == "{":
		return p.objectWith(res)
	case t.kind == tIdent && t.value == "if":
		p.next()
		p.expect("(", "BCP018")
		p.nl = append(p.nl, true)
		cond := p.expression()
		p.expect(")", "BCP018")
		p.nl = p.nl[:len(p.nl)-1]
		p.skipNewlinesOnly()
		body := p.objectWith(res)
		return &IfExpr{exprBase{t.pos}, cond, body}
	case t.kind == tSymbol && t.value == "[" && allowFor:
		return p.arrayWith(res)
	}
	p.errorf(t.pos, "BCP167", "Expected the \"{\" character or the \"if\" keyword at this location.")
	p.skipLine()
	return &BadExpr{exprBase{t.pos}}
}

func (p *parser) skipNewlinesOnly() {
	for p.i < len(p.toks) && p.toks[p.i].kind == tNewline {
		p.i++
	}
}

func (p *parser) function(base stmtBase) *FuncStmt {
	p.next()
	name, npos, _ := p.identName("BCP279", "a function identifier")
	base.NamePos = npos
	st := &FuncStmt{stmtBase: base, Name: name}
	if !p.expect("(", "BCP018") {
		p.skipLine()
		return st
	}
	p.nl = append(p.nl, true)
	for !p.is(")") && p.cur().kind != tEOF {
		pn, ppos, ok := p.identName("BCP280", "a parameter name")
		if !ok {
			break
		}
		st.Params = append(st.Params, &FuncParam{Pos: ppos, Name: pn, Type: p.typeExpr()})
		if !p.accept(",") {
			break
		}
	}
	p.expect(")", "BCP018")
	p.nl = p.nl[:len(p.nl)-1]
	st.Output = p.typeExpr()
	p.expect("=>", "BCP018")
	p.skipNewlinesOnly()
	st.Body = p.expression()
	return st
}

func (p *parser) importStmt(base stmtBase) *ImportStmt {
	kw := p.next()
	st := &ImportStmt{stmtBase: base}
	if kw.value != "import" {
		st.Extension = true
		p.skipLine()
		return st
	}
	switch {
	case p.is("{"):
		p.next()
		p.nl = append(p.nl, true)
		for !p.is("}") && p.cur().kind != tEOF {
			it := p.cur()
			var item ImportItem
			item.Pos = it.pos
			switch it.kind {
			case tIdent:
				item.Name = it.value
			case tString:
				item.Name = it.value
			default:
				p.errorf(it.pos, "BCP360", "Expected an imported symbol name at this location.")
				p.nl = p.nl[:len(p.nl)-1]
				p.skipLine()
				return st
			}
			p.next()
			if p.isKeyword("as") {
				p.next()
				item.Alias, _, _ = p.identName("BCP017", "an identifier")
			}
			st.Items = append(st.Items, &item)
			if !p.accept(",") {
				break
			}
		}
		p.expect("}", "BCP018")
		p.nl = p.nl[:len(p.nl)-1]
	case p.is("*"):
		p.next()
		if !p.isKeyword("as") {
			p.errorf(p.cur().pos, "BCP358", "This declaration is missing a wildcard import alias clause.")
			p.skipLine()
			return st
		}
		p.next()
		st.Wildcard, _, _ = p.identName("BCP017", "an identifier")
	default:
		// import 'az@1.0.0' (legacy extension syntax)
		st.Extension = true
		p.skipLine()
		return st
	}
	if !p.isKeyword("from") {
		p.errorf(p.cur().pos, "BCP359", "This declaration is missing a compile-time import source clause.")
		p.skipLine()
		return st
	}
	p.next()
	ft := p.cur()
	if ft.kind != tString {
		p.errorf(ft.pos, "BCP085", "Expected a file path string at this location.")
		p.skipLine()
		return st
	}
	p.next()
	st.From, st.FromPos = ft.value, ft.pos
	return st
}

// ---- expressions ----

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		p.errorf(p.cur().pos, "BCP999", "The expression is nested more than %d levels deep.", maxDepth)
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

func (p *parser) expression() Expr {
	if !p.enter() {
		p.leave()
		t := p.cur()
		p.skipLine()
		return &BadExpr{exprBase{t.pos}}
	}
	defer p.leave()
	// lambda: ident => or (a, b) =>
	t := p.cur()
	if t.kind == tIdent && p.peekAt(1).kind == tSymbol && p.peekAt(1).value == "=>" {
		p.next()
		p.next()
		return &LambdaExpr{exprBase: exprBase{t.pos}, Params: []string{t.value}, ParamPos: []Pos{t.pos}, Body: p.expression()}
	}
	if t.kind == tSymbol && t.value == "(" && p.isLambdaParens() {
		p.next()
		p.nl = append(p.nl, true)
		l := &LambdaExpr{exprBase: exprBase{t.pos}}
		for !p.is(")") {
			n := p.next()
			l.Params = append(l.Params, n.value)
			l.ParamPos = append(l.ParamPos, n.pos)
			p.accept(",")
		}
		p.next()
		p.nl = p.nl[:len(p.nl)-1]
		p.expect("=>", "BCP018")
		l.Body = p.expression()
		return l
	}
	return p.ternary()
}

func (p *parser) isLambdaParens() bool {
	j := p.i + 1
	for j < len(p.toks) && p.toks[j].kind == tNewline {
		j++
	}
	for {
		for j < len(p.toks) && p.toks[j].kind == tNewline {
			j++
		}
		if j >= len(p.toks) {
			return false
		}
		t := p.toks[j]
		if t.kind == tSymbol && t.value == ")" {
			j++
			for j < len(p.toks) && p.toks[j].kind == tNewline {
				j++
			}
			return j < len(p.toks) && p.toks[j].kind == tSymbol && p.toks[j].value == "=>"
		}
		if t.kind != tIdent {
			return false
		}
		j++
		for j < len(p.toks) && p.toks[j].kind == tNewline {
			j++
		}
		if j < len(p.toks) && p.toks[j].kind == tSymbol && p.toks[j].value == "," {
			j++
		}
	}
}

func (p *parser) ternary() Expr {
	cond := p.binary(0)
	if p.is("?") {
		q := p.next()
		p.nl = append(p.nl, true)
		then := p.expression()
		p.expect(":", "BCP018")
		p.nl = p.nl[:len(p.nl)-1]
		els := p.expression()
		return &TernaryExpr{exprBase{q.pos}, cond, then, els}
	}
	return cond
}

var binaryLevels = [][]string{
	{"??"},
	{"||"},
	{"&&"},
	{"==", "!=", "=~", "!~"},
	{"<", "<=", ">", ">="},
	{"+", "-"},
	{"*", "/", "%"},
}

func (p *parser) binary(level int) Expr {
	if level == len(binaryLevels) {
		return p.unary()
	}
	x := p.binary(level + 1)
	for {
		t := p.cur()
		if t.kind != tSymbol || !contains(binaryLevels[level], t.value) {
			return x
		}
		if !p.enter() {
			p.leave()
			return x
		}
		p.next()
		y := p.binary(level + 1)
		p.leave()
		x = &BinaryExpr{exprBase{x.Position()}, t.value, x, y}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (p *parser) unary() Expr {
	t := p.cur()
	if t.kind == tSymbol && (t.value == "!" || t.value == "-" || t.value == "+") {
		if !p.enter() {
			p.leave()
			return &BadExpr{exprBase{t.pos}}
		}
		defer p.leave()
		p.next()
		return &UnaryExpr{exprBase{t.pos}, t.value, p.unary()}
	}
	return p.postfix(p.primary())
}

func (p *parser) postfix(x Expr) Expr {
	for {
		t := p.cur()
		if t.kind != tSymbol {
			return x
		}
		switch t.value {
		case ".", ".?":
			p.next()
			n := p.cur()
			if n.kind != tIdent {
				p.errorf(n.pos, "BCP020", "Expected a function or property name at this location.")
				return x
			}
			p.next()
			if t.value == "." && p.is("(") {
				x = &CallExpr{exprBase: exprBase{x.Position()}, Receiver: x, Name: n.value, NamePos: n.pos, Args: p.callArgs()}
				continue
			}
			x = &PropertyAccess{exprBase{x.Position()}, x, n.value, n.pos, t.value == ".?"}
		case "[":
			// An index must start on the same line; "[" on a new line is
			// the next array item.
			p.next()
			p.nl = append(p.nl, true)
			safe := p.accept("?")
			idx := p.expression()
			p.expect("]", "BCP018")
			p.nl = p.nl[:len(p.nl)-1]
			x = &IndexAccess{exprBase{x.Position()}, x, idx, safe}
		case "::":
			p.next()
			n, _, ok := p.identName("BCP167", "a nested resource name")
			if !ok {
				return x
			}
			x = &ResourceAccess{exprBase{x.Position()}, x, n}
		case "!":
			// x! is a non-null assertion only directly after an operand.
			prev := p.toks[p.i-1]
			if prev.end.Offset != t.pos.Offset {
				return x
			}
			p.next()
			x = &NonNullAssert{exprBase{x.Position()}, x}
		default:
			return x
		}
	}
}

func (p *parser) callArgs() []Expr {
	p.next() // (
	p.nl = append(p.nl, true)
	defer func() { p.nl = p.nl[:len(p.nl)-1] }()
	var args []Expr
	for !p.is(")") {
		if p.cur().kind == tEOF {
			p.errorf(p.cur().pos, "BCP018", "Expected the \")\" character at this location.")
			return args
		}
		start := p.i
		args = append(args, p.expression())
		if !p.accept(",") {
			break
		}
		if p.i == start {
			break
		}
	}
	p.expect(")", "BCP018")
	return args
}

func (p *parser) primary() Expr {
	t := p.cur()
	if p.declarationStart() {
		// the expression is missing: the next declaration starts here
		p.errorf(t.pos, "BCP009", "Expected a literal value, an array, an object, a parenthesized expression, or a function call at this location.")
		return &BadExpr{exprBase{t.pos}}
	}
	switch t.kind {
	case tInt:
		p.next()
		v, err := strconv.ParseInt(t.value, 10, 64)
		if err != nil {
			// 9223372036854775808 is valid only negated; keep the text.
			if t.value != "9223372036854775808" {
				p.errorf(t.pos, "BCP010", "Expected a valid 64-bit signed integer.")
			}
		}
		return &IntLit{exprBase{t.pos}, v, t.value}
	case tString:
		p.next()
		return &StringLit{exprBase{t.pos}, t.value}
	case tMultiline:
		p.next()
		return &StringLit{exprBase{t.pos}, t.value}
	case tStringLeft:
		return p.interpolated()
	case tIdent:
		switch t.value {
		case "true", "false":
			p.next()
			return &BoolLit{exprBase{t.pos}, t.value == "true"}
		case "null":
			p.next()
			return &NullLit{exprBase{t.pos}}
		}
		p.next()
		if p.is("(") {
			return &CallExpr{exprBase: exprBase{t.pos}, Name: t.value, NamePos: t.pos, Args: p.callArgs()}
		}
		return &Ident{exprBase{t.pos}, t.value}
	case tSymbol:
		switch t.value {
		case "(":
			p.next()
			p.nl = append(p.nl, true)
			x := p.expression()
			p.expect(")", "BCP018")
			p.nl = p.nl[:len(p.nl)-1]
			return &ParenExpr{exprBase{t.pos}, x}
		case "{":
			return p.object()
		case "[":
			return p.array()
		}
	}
	p.errorf(t.pos, "BCP009", "Expected a literal value, an array, an object, a parenthesized expression, or a function call at this location.")
	if t.kind != tNewline && t.kind != tEOF && !(t.kind == tSymbol && strings.Contains(")]}", t.value)) {
		p.next()
	}
	return &BadExpr{exprBase{t.pos}}
}

func (p *parser) interpolated() Expr {
	t := p.next()
	s := &InterpString{exprBase: exprBase{t.pos}, Segments: []string{t.value}}
	p.nl = append(p.nl, true)
	defer func() { p.nl = p.nl[:len(p.nl)-1] }()
	for {
		s.Exprs = append(s.Exprs, p.expression())
		n := p.cur()
		switch n.kind {
		case tStringMiddle:
			p.next()
			s.Segments = append(s.Segments, n.value)
		case tStringRight:
			p.next()
			s.Segments = append(s.Segments, n.value)
			return s
		default:
			p.errorf(n.pos, "BCP004", "The string at this location is not terminated.")
			s.Segments = append(s.Segments, "")
			return s
		}
	}
}

func (p *parser) object() Expr { return p.objectWith(false) }

// objectWith parses an object literal; res: it is a resource's body, where
// nested resource declarations are allowed.
func (p *parser) objectWith(res bool) Expr {
	open := p.cur()
	if !p.expect("{", "BCP018") {
		return &BadExpr{exprBase{open.pos}}
	}
	if !p.enter() {
		p.leave()
		p.skipLine()
		return &BadExpr{exprBase{open.pos}}
	}
	defer p.leave()
	p.nl = append(p.nl, false)
	defer func() { p.nl = p.nl[:len(p.nl)-1] }()
	obj := &ObjectLit{exprBase: exprBase{open.pos}}
	for {
		p.skipNewlines()
		t := p.cur()
		if t.kind == tSymbol && t.value == "}" {
			p.next()
			return obj
		}
		if t.kind == tEOF || p.declarationStart() {
			p.errorf(t.pos, "BCP018", "Expected the \"}\" character at this location.")
			return obj
		}
		start := p.i
		decos := p.decorators()
		t = p.cur()
		switch {
		case t.kind == tIdent && t.value == "resource" && p.peekAt(1).kind == tIdent:
			if !res {
				// The official parser reads "resource" as a property
				// name here and wants its colon; the declaration is
				// parsed only to step over it whole.
				p.errorf(p.peekAt(1).pos, "BCP018", "Expected the \":\" character at this location.")
				p.resource(stmtBase{Pos: t.pos, Decorators: decos})
				break
			}
			r := p.resource(stmtBase{Pos: t.pos, Decorators: decos})
			obj.Resources = append(obj.Resources, r)
		case t.kind == tSymbol && t.value == "...":
			p.next()
			obj.Props = append(obj.Props, &Property{Pos: t.pos, Spread: true, Value: p.expression()})
		case t.kind == tIdent || t.kind == tString || t.kind == tStringLeft:
			prop := &Property{Pos: t.pos, Decorators: decos}
			if t.kind == tStringLeft {
				prop.KeyExpr = p.interpolated()
			} else {
				p.next()
				prop.Key = t.value
			}
			if p.expect(":", "BCP018") {
				prop.Value = p.expression()
			} else {
				prop.Value = &BadExpr{exprBase{p.cur().pos}}
				p.skipLine()
			}
			obj.Props = append(obj.Props, prop)
		default:
			p.errorf(t.pos, "BCP022", "Expected a property name at this location.")
			p.skipLine()
		}
		p.memberEnd(start, "}")
	}
}

// memberEnd closes one member of an object, array, object type or tuple
// started at token start: a comma, a newline or the closing bracket must
// follow, and a member that consumed nothing is stepped over so a stray
// token cannot stall the loop.
func (p *parser) memberEnd(start int, closing string) {
	if !p.accept(",") {
		if c := p.cur(); c.kind != tNewline && c.kind != tDirective && !(c.kind == tSymbol && c.value == closing) && c.kind != tEOF {
			p.errorf(c.pos, "BCP019", "Expected a new line or comma character at this location.")
			p.skipLine()
		}
	}
	if p.i == start {
		p.next()
	}
}

func (p *parser) array() Expr { return p.arrayWith(false) }

// arrayWith parses an array or a for-expression; res: it is a resource's
// loop, whose body object may declare nested resources.
func (p *parser) arrayWith(res bool) Expr {
	open := p.cur()
	p.expect("[", "BCP018")
	if !p.enter() {
		p.leave()
		p.skipLine()
		return &BadExpr{exprBase{open.pos}}
	}
	defer p.leave()
	p.nl = append(p.nl, false)
	defer func() { p.nl = p.nl[:len(p.nl)-1] }()
	p.skipNewlines()
	if p.isKeyword("for") {
		return p.forExpr(open, res)
	}
	arr := &ArrayLit{exprBase: exprBase{open.pos}}
	for {
		p.skipNewlines()
		t := p.cur()
		if t.kind == tSymbol && t.value == "]" {
			p.next()
			return arr
		}
		if t.kind == tEOF || p.declarationStart() {
			p.errorf(t.pos, "BCP018", "Expected the \"]\" character at this location.")
			return arr
		}
		start := p.i
		if p.accept("...") {
			arr.Items = append(arr.Items, &SpreadExpr{exprBase{t.pos}, p.expression()})
		} else {
			arr.Items = append(arr.Items, p.expression())
		}
		p.memberEnd(start, "]")
	}
}

func (p *parser) forExpr(open token, res bool) Expr {
	p.next() // for
	f := &ForExpr{exprBase: exprBase{open.pos}}
	p.nl = append(p.nl, true)
	if p.accept("(") {
		f.Item, f.ItemPos, _ = p.identName("BCP162", "a loop item variable identifier")
		p.expect(",", "BCP018")
		f.Index, f.IndexPos, _ = p.identName("BCP162", "a loop index variable identifier")
		p.expect(")", "BCP018")
	} else {
		f.Item, f.ItemPos, _ = p.identName("BCP162", "a loop item variable identifier or \"(\"")
	}
	if !p.isKeyword("in") {
		p.errorf(p.cur().pos, "BCP164", "Expected the \"in\" keyword at this location.")
	} else {
		p.next()
	}
	f.Iterable = p.expression()
	p.expect(":", "BCP018")
	p.nl = p.nl[:len(p.nl)-1]
	p.skipNewlinesOnly()
	switch {
	case p.isKeyword("if"):
		f.Body = p.declBody(false, res)
	case res && p.is("{"):
		f.Body = p.objectWith(true)
	default:
		f.Body = p.expression()
	}
	p.skipNewlines()
	p.expect("]", "BCP018")
	return f
}

// ---- types ----

func (p *parser) typeExpr() TypeExpr {
	if !p.enter() {
		p.leave()
		t := p.cur()
		p.skipLine()
		return &TypeRef{typeBase: typeBase{t.pos}, Name: "any"}
	}
	defer p.leave()
	first := p.typeOperand()
	if !p.is("|") {
		return first
	}
	u := &TypeUnion{typeBase: typeBase{first.Position()}, Members: []TypeExpr{first}}
	for p.accept("|") {
		p.skipNewlinesOnly()
		u.Members = append(u.Members, p.typeOperand())
	}
	return u
}

func (p *parser) typeOperand() TypeExpr {
	t := p.typePrimary()
	for {
		switch {
		case p.is("[") && p.peekAt(1).kind == tSymbol && p.peekAt(1).value == "]":
			p.next()
			p.next()
			t = &TypeArray{typeBase{t.Position()}, t}
		case p.is("?"):
			p.next()
			t = &TypeNullable{typeBase{t.Position()}, t}
		case p.is("!"):
			p.next()
			t = &TypeNonNull{typeBase{t.Position()}, t}
		case p.is("["):
			// T[*] and T[n]; T[] was handled above
			n := p.peekAt(1)
			if n.kind == tSymbol && n.value == "*" {
				p.next()
				p.next()
				p.expect("]", "BCP018")
				t = &TypeAccess{typeBase: typeBase{t.Position()}, X: t, Kind: "[*]"}
				continue
			}
			if n.kind == tInt {
				p.next()
				p.next()
				v, _ := strconv.ParseInt(n.value, 10, 64)
				p.expect("]", "BCP018")
				t = &TypeAccess{typeBase: typeBase{t.Position()}, X: t, Kind: "[n]", Index: v}
				continue
			}
			return t
		case p.is("."):
			p.next()
			if p.accept("*") {
				t = &TypeAccess{typeBase: typeBase{t.Position()}, X: t, Kind: "*"}
				continue
			}
			n, _, ok := p.identName("BCP020", "a property name")
			if !ok {
				return t
			}
			if ref, isRef := t.(*TypeRef); isRef && ref.Namespace == "" {
				// ns.type or type.prop, told apart by the binder
				ref.Namespace, ref.Name = ref.Name, n
				continue
			}
			t = &TypeAccess{typeBase: typeBase{t.Position()}, X: t, Kind: "prop", Prop: n}
		default:
			return t
		}
	}
}

func (p *parser) typePrimary() TypeExpr {
	t := p.cur()
	switch t.kind {
	case tIdent:
		switch t.value {
		case "true", "false", "null":
			return &TypeLiteral{typeBase{t.pos}, p.primary()}
		case "resource", "resourceInput", "resourceOutput":
			if p.peekAt(1).kind == tSymbol && p.peekAt(1).value == "<" {
				p.next()
				p.next()
				p.nl = append(p.nl, true)
				defer func() { p.nl = p.nl[:len(p.nl)-1] }()
				s := p.cur()
				tr := &TypeResource{typeBase: typeBase{t.pos}, Keyword: t.value}
				if s.kind == tString {
					p.next()
					tr.Type = s.value
				}
				for !p.is(">") && p.cur().kind != tEOF {
					p.next()
				}
				p.expect(">", "BCP018")
				return tr
			}
		}
		if t.value == "sys" && p.peekAt(1).kind == tSymbol && p.peekAt(1).value == "." {
			if n := p.peekAt(2); n.kind == tIdent && (n.value == "resourceInput" || n.value == "resourceOutput" || n.value == "resource") {
				p.next()
				p.next()
				return p.typePrimary()
			}
		}
		p.next()
		return &TypeRef{typeBase: typeBase{t.pos}, Name: t.value}
	case tString, tInt:
		return &TypeLiteral{typeBase{t.pos}, p.primary()}
	case tSymbol:
		switch t.value {
		case "-":
			return &TypeLiteral{typeBase{t.pos}, p.unary()}
		case "(":
			p.next()
			p.nl = append(p.nl, true)
			x := p.typeExpr()
			p.expect(")", "BCP018")
			p.nl = p.nl[:len(p.nl)-1]
			return &TypeParen{typeBase{t.pos}, x}
		case "{":
			return p.objectType()
		case "[":
			return p.tupleType()
		}
	case tMultiline:
		return &TypeLiteral{typeBase{t.pos}, p.primary()}
	}
	p.errorf(t.pos, "BCP279", "Expected a type at this location. Please specify a valid type expression or one of the following types: \"array\", \"bool\", \"int\", \"object\", \"string\".")
	return &TypeRef{typeBase: typeBase{t.pos}, Name: "any"}
}

func (p *parser) objectType() TypeExpr {
	open := p.next()
	p.nl = append(p.nl, false)
	defer func() { p.nl = p.nl[:len(p.nl)-1] }()
	ot := &TypeObject{typeBase: typeBase{open.pos}}
	for {
		p.skipNewlines()
		if p.accept("}") {
			return ot
		}
		if p.cur().kind == tEOF || p.declarationStart() {
			p.errorf(p.cur().pos, "BCP018", "Expected the \"}\" character at this location.")
			return ot
		}
		start := p.i
		decos := p.decorators()
		t := p.cur()
		switch {
		case t.kind == tSymbol && t.value == "*":
			p.next()
			p.expect(":", "BCP018")
			ot.Additional = p.typeExpr()
			ot.AddDecos = decos
		case t.kind == tIdent || t.kind == tString:
			p.next()
			p.expect(":", "BCP018")
			ot.Props = append(ot.Props, &TypeProp{Pos: t.pos, Name: t.value, Type: p.typeExpr(), Decorators: decos})
		default:
			p.errorf(t.pos, "BCP022", "Expected a property name at this location.")
			p.skipLine()
		}
		p.memberEnd(start, "}")
	}
}

func (p *parser) tupleType() TypeExpr {
	open := p.next()
	p.nl = append(p.nl, false)
	defer func() { p.nl = p.nl[:len(p.nl)-1] }()
	tt := &TypeTuple{typeBase: typeBase{open.pos}}
	for {
		p.skipNewlines()
		if p.accept("]") {
			return tt
		}
		if p.cur().kind == tEOF {
			p.errorf(p.cur().pos, "BCP018", "Expected the \"]\" character at this location.")
			return tt
		}
		start := p.i
		decos := p.decorators()
		tt.Items = append(tt.Items, p.typeExpr())
		tt.Decos = append(tt.Decos, decos)
		p.memberEnd(start, "]")
	}
}
