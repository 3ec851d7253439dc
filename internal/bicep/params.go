package bicep

import (
	"encoding/json"
	"io/fs"
	"path"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// CompileParams compiles a .bicepparam file into a deploymentParameters
// JSON document, and the template its using declaration names. Values are
// evaluated at compile time, as the official compiler does: literals,
// the file's own variables and every pure function (string, array,
// object, numeric, logical, uniqueString, guid, ...); az.getSecret()
// becomes a Key Vault reference. Parameters are checked against the
// template's declarations (unknown names, missing required values,
// literal types).
func CompileParams(fsys fs.FS, file string, opts Options) (*ParamsResult, error) {
	c := newCompiler(fsys, opts)
	file = path.Clean(file)
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	f := parse(file, string(src), &c.diags)
	f.Params = true
	pm := &model{c: c, file: f, path: file, diags: &c.diags, syms: map[string]*symbol{}}
	res := &ParamsResult{}
	var using *UsingStmt
	var params []*ParamStmt
	for _, st := range f.Statements {
		switch s := st.(type) {
		case *UsingStmt:
			if using != nil {
				pm.errorf(s.Pos, "BCP258", "The using declaration is declared multiple times.")
			}
			using = s
		case *ParamStmt:
			params = append(params, s)
			pm.declare(&symbol{kind: symParam, name: s.Name, pos: s.NamePos, param: s})
		case *VarStmt:
			pm.vars = append(pm.vars, s)
			pm.declare(&symbol{kind: symVar, name: s.Name, pos: s.NamePos, v: s})
		case *ImportStmt:
			pm.imports = append(pm.imports, s)
		default:
			pm.errorf(st.Position(), "BCP337", "This declaration type is not valid for a Bicep Parameters file. Specify a \"using\", \"param\" or \"var\" declaration.")
		}
	}
	// Imports bind as in a .bicep file, import closure included: the
	// closure's functions are what the file's values may call.
	pm.bindImports()
	var tm *model
	if using == nil {
		pm.errorf(Pos{Line: 1, Column: 1}, "BCP261", "A using declaration must be present in this parameters file.")
	} else if !using.None {
		if isRegistryRef(using.Path) {
			if cp, ok := c.cachePath(using.Path); ok {
				tm, _ = c.loadModuleFile(pm, opts.ModuleCache, cp, using.PathPos, true)
			} else {
				pm.errorf(using.PathPos, "BCP192", "Unable to restore the module with reference %q: keyless compiles without network access. Put it in the local module cache as %s.", using.Path, cacheLayoutHint(using.Path))
			}
		} else {
			tm, _ = c.loadModule(pm, using.Path, using.PathPos)
		}
	}
	pm.computeDeps()
	pm.computeInline()
	given := map[string]bool{}
	out := newObj()
	host := newParamsHost(pm)
	for _, p := range params {
		given[p.Name] = true
		if tm != nil {
			decl := findParam(tm, p.Name)
			if decl == nil {
				pm.errorf(p.NamePos, "BCP259", "The parameter %q is assigned in the params file without being declared in the Bicep file.", p.Name)
				continue
			}
			tm.checkAssignableFrom(pm, p.Default, decl.Type)
		}
		if ref := pm.keyVaultReference(p.Default); ref != nil {
			out.set(p.Name, newObj().set("reference", ref))
			continue
		}
		v, ok := host.eval(p.Default)
		if ok {
			out.set(p.Name, newObj().set("value", v))
		}
	}
	if tm != nil {
		for _, decl := range tm.params {
			if decl.Default == nil && !given[decl.Name] {
				if _, nullable := decl.Type.(*TypeNullable); !nullable {
					pm.errorf(using.PathPos, "BCP258", "The following parameters are declared in the Bicep file but are missing an assignment in the params file: %q.", decl.Name)
				}
			}
		}
		if !c.diags.hasErrors() {
			t := c.template(tm)
			if !c.diags.hasErrors() {
				res.Template = marshalTemplate(t)
			}
		}
	}
	doc := newObj()
	doc.set("$schema", "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#")
	doc.set("contentVersion", "1.0.0.0")
	doc.set("parameters", out)
	if !c.diags.hasErrors() {
		res.Parameters = marshalTemplate(doc)
	} else {
		res.Template = nil
	}
	res.Diagnostics = c.diags.result()
	return res, nil
}

func findParam(m *model, name string) *ParamStmt {
	for _, p := range m.params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// keyVaultReference: az.getSecret(sub, rg, vault, secret[, version]).
func (m *model) keyVaultReference(e Expr) *jObject {
	c, ok := e.(*CallExpr)
	if !ok || c.Name != "getSecret" || (c.Receiver != nil && !isNamespace(c.Receiver, "az")) {
		return nil
	}
	if len(c.Args) < 4 || len(c.Args) > 5 {
		m.errorf(c.Pos, "BCP071", "Expected 4 to 5 arguments, but got %d.", len(c.Args))
		return nil
	}
	root := rootCx(m)
	id := call("resourceId", root.conv(c.Args[0]), root.conv(c.Args[1]), aStr("Microsoft.KeyVault/vaults"), root.conv(c.Args[2]))
	h := newParamsHost(m)
	idv, ok := h.evalARM(id, c.Pos)
	if !ok {
		return nil
	}
	ref := newObj().set("keyVault", newObj().set("id", idv))
	if v, ok := h.eval(c.Args[3]); ok {
		ref.set("secretName", v)
	}
	if len(c.Args) == 5 {
		if v, ok := h.eval(c.Args[4]); ok {
			ref.set("secretVersion", v)
		}
	}
	return ref
}

// paramsHost evaluates .bicepparam values at compile time, as the
// official compiler does: variables of the file are available, deployment
// context is not. Everything imported is evaluated in the file that
// declares it (its own host), where its references mean what they say;
// the file's user-defined functions are its import closure's, emitted as
// a template would have them, so a call evaluates as ARM would evaluate it.
type paramsHost struct {
	expr.NoHost
	m      *model
	values map[string]any
	busy   map[string]bool
	fns    *expr.UserFunctions
	fnsOK  bool
	hosts  map[*model]*paramsHost // shared by every host of a compilation
}

func newParamsHost(m *model) *paramsHost {
	h := &paramsHost{m: m, values: map[string]any{}, busy: map[string]bool{}, hosts: map[*model]*paramsHost{}}
	h.hosts[m] = h
	return h
}

// hostFor is the host evaluating in file src.
func (h *paramsHost) hostFor(src *model) *paramsHost {
	if sub, ok := h.hosts[src]; ok {
		return sub
	}
	sub := &paramsHost{m: src, values: map[string]any{}, busy: map[string]bool{}, hosts: h.hosts}
	h.hosts[src] = sub
	return sub
}

// functions parses the file's functions section once.
func (h *paramsHost) functions() *expr.UserFunctions {
	if h.fnsOK {
		return h.fns
	}
	h.fnsOK = true
	section := h.m.functionsSection()
	if section == nil {
		return nil
	}
	v, err := expr.DecodeJSON(marshalTemplate(section))
	if err == nil {
		h.fns, err = expr.ParseFunctions(v)
	}
	if err != nil {
		h.m.errorf(Pos{Line: 1, Column: 1}, "BCP032", "The file's functions cannot be evaluated: %v.", err)
		h.fns = nil
	}
	return h.fns
}

func (h *paramsHost) context() *expr.Context {
	return &expr.Context{Host: h, Functions: h.functions()}
}

func (h *paramsHost) Variable(name string) (any, error) {
	if v, ok := h.values[name]; ok {
		return v, nil
	}
	s := h.m.syms[name]
	if s == nil {
		// a variable of the import closure, by its template name (_N.x
		// for ns.x of a wildcard import)
		for _, d := range h.m.closure {
			if d.kind == symVar && d.name == name {
				return h.imported(name, d.src, d.orig)
			}
		}
		return nil, expr.ErrNotFound
	}
	if s.kind != symVar || h.busy[name] {
		return nil, expr.ErrNotFound
	}
	if s.from != nil {
		return h.imported(name, s.from, s.v.Name)
	}
	h.busy[name] = true
	defer delete(h.busy, name)
	v, ok := h.eval(s.v.Value)
	if !ok {
		return nil, expr.ErrNotFound
	}
	data := marshalTemplate(v)
	ev, err := expr.DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	h.values[name] = ev
	return ev, nil
}

// imported is variable orig of file src, known here as name.
func (h *paramsHost) imported(name string, src *model, orig string) (any, error) {
	if h.busy[name] {
		return nil, expr.ErrNotFound
	}
	h.busy[name] = true
	defer delete(h.busy, name)
	v, err := h.hostFor(src).Variable(orig)
	if err == nil {
		h.values[name] = v
	}
	return v, err
}

func (h *paramsHost) eval(e Expr) (any, bool) {
	v := rootCx(h.m).value(e)
	data := marshalTemplate(v)
	tv, err := expr.DecodeJSON(data)
	if err != nil {
		h.m.errorf(e.Position(), "BCP032", "The value must be a compile-time constant: %v.", err)
		return nil, false
	}
	out, err := expr.EvalValue(tv, h.context())
	if err != nil {
		h.m.errorf(e.Position(), "BCP032", "The value must be a compile-time constant: %v.", err)
		return nil, false
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, false
	}
	ov, err := decodeOrdered(raw)
	if err != nil {
		return nil, false
	}
	return ov, true
}

func (h *paramsHost) evalARM(x aexpr, p Pos) (any, bool) {
	out, err := expr.EvalString("["+serialize(x)+"]", h.context())
	if err != nil {
		h.m.errorf(p, "BCP032", "The value must be a compile-time constant: %v.", err)
		return nil, false
	}
	raw, _ := json.Marshal(out)
	v, err := decodeOrdered(raw)
	return v, err == nil
}
