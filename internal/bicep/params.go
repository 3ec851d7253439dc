package bicep

import (
	"encoding/json"
	"io/fs"
	"path"
	"strings"

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
			importParamValues(c, pm, s)
		default:
			pm.errorf(st.Position(), "BCP337", "This declaration type is not valid for a Bicep Parameters file. Specify a \"using\", \"param\" or \"var\" declaration.")
		}
	}
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
	host := &paramsHost{m: pm, values: map[string]any{}, busy: map[string]bool{}}
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
	h := &paramsHost{m: m, values: map[string]any{}, busy: map[string]bool{}}
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

// paramsHost evaluates .bicepparam values: variables of the file are
// available, deployment context is not.
type paramsHost struct {
	expr.NoHost
	m      *model
	values map[string]any
	busy   map[string]bool
}

func (h *paramsHost) Variable(name string) (any, error) {
	if v, ok := h.values[name]; ok {
		return v, nil
	}
	s := h.m.syms[name]
	if s == nil || s.kind != symVar || h.busy[name] {
		return nil, expr.ErrNotFound
	}
	if s.from != nil {
		// An imported variable is evaluated in its own file, where its
		// value's references mean what they say.
		sub := &paramsHost{m: s.from, values: map[string]any{}, busy: map[string]bool{}}
		v, err := sub.Variable(s.v.Name)
		if err == nil {
			h.values[name] = v
		}
		return v, err
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

func (h *paramsHost) eval(e Expr) (any, bool) {
	v := rootCx(h.m).value(e)
	data := marshalTemplate(v)
	tv, err := expr.DecodeJSON(data)
	if err != nil {
		h.m.errorf(e.Position(), "BCP032", "The value must be a compile-time constant: %v.", err)
		return nil, false
	}
	out, err := expr.EvalValue(tv, &expr.Context{Host: h})
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
	out, err := expr.EvalString("["+serialize(x)+"]", &expr.Context{Host: h})
	if err != nil {
		h.m.errorf(p, "BCP032", "The value must be a compile-time constant: %v.", err)
		return nil, false
	}
	raw, _ := json.Marshal(out)
	v, err := decodeOrdered(raw)
	return v, err == nil
}

// importParamValues declares the variables a .bicepparam file imports by
// name (from a .bicep file or an ARM JSON template), so parameter values
// can use them; their values are evaluated in their own file at compile
// time. Importing types is allowed and has no effect on values; wildcard
// imports and imported functions are refused with a diagnostic.
func importParamValues(c *compiler, pm *model, im *ImportStmt) {
	if im.Wildcard != "" {
		pm.errorf(im.Pos, "BCP395", "Wildcard imports in .bicepparam files are not supported by keyless; import the variables by name (import {x} from '...').")
		return
	}
	var src *model
	if strings.HasSuffix(strings.ToLower(im.From), ".json") {
		src = c.loadTemplateImport(pm, im.From, im.FromPos)
	} else {
		src, _ = c.loadModule(pm, im.From, im.FromPos)
	}
	if src == nil {
		return
	}
	for _, it := range im.Items {
		s := src.syms[it.Name]
		if s == nil || !isExported(s) {
			pm.errorf(it.Pos, "BCP360", "The %q symbol was not found in (or was not exported by) the imported template.", it.Name)
			continue
		}
		name := it.Name
		if it.Alias != "" {
			name = it.Alias
		}
		switch s.kind {
		case symVar:
			from := src
			if s.from != nil {
				from = s.from
			}
			pm.declare(&symbol{kind: symVar, name: name, pos: it.Pos, v: s.v, from: from})
		case symType:
			// Types constrain templates, not parameter values.
		default:
			pm.errorf(it.Pos, "BCP395", "Importing the function %q into a .bicepparam file is not supported by keyless; import variables by name.", it.Name)
		}
	}
}
