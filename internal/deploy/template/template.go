package template

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// Azure's template limits ("Template limits", learn.microsoft.com).
const (
	MaxTemplateSize = 4 << 20
	MaxParameters   = 256
	MaxVariables    = 256
	MaxResources    = 800
	MaxOutputs      = 64
	MaxCopyCount    = 800
)

// Template is a parsed and validated template document. It is immutable:
// one Template may be bound many times, concurrently.
type Template struct {
	src  *source  // the text of the outermost document, for positions; nil for a computed template
	base jsonPath // where this template sits in doc (nested templates)
	root *expr.Object

	// Schema, ContentVersion and LanguageVersion are as the document gives
	// them ("" when absent).
	Schema          string
	ContentVersion  string
	LanguageVersion string

	params     []*paramDecl
	paramIndex map[string]*paramDecl
	types      *typeParser
	funcs      *expr.UserFunctions
	vars       []*varDecl
	varIndex   map[string]*varDecl
	resources  []*resourceDecl
	outputs    []*outputDecl
	symbolic   bool // resources declared as an object of symbolic names
	loopNames  map[string]bool

	exprs *exprCache
}

type paramDecl struct {
	decl       *expr.Object
	name       string
	path       jsonPath
	spec       *typeSpec
	def        any
	hasDefault bool
}

type varDecl struct {
	name  string
	path  jsonPath
	value any
	copy  *copySpec // a variable built by the top-level variables copy
}

type outputDecl struct {
	name      string
	path      jsonPath
	spec      *typeSpec
	value     any
	condition any
	hasCond   bool
	copy      *copySpec
}

// copySpec is a copy element: a resource's, a property's, a variable's or
// an output's loop.
type copySpec struct {
	path      jsonPath
	name      string
	count     any
	mode      string // "parallel" or "serial"
	batchSize any
	input     any
}

var contentVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)

// Parse reads and validates a template document: its JSON, every section,
// the syntax of every expression and where each function may be used.
// Nothing is evaluated. Errors are *Error with Azure's codes and wording.
func Parse(doc []byte) (*Template, error) {
	if len(doc) > MaxTemplateSize {
		return nil, &Error{Code: CodeInvalidTemplate, Message: validationFailed(fmt.Sprintf(
			"The template size '%d' bytes exceeds the limit of '%d' bytes (4 MB). Please see %s for usage details.", len(doc), MaxTemplateSize, helpLimits))}
	}
	v, objPos, err := decodeWithPositions(doc, true)
	if err != nil {
		return nil, parseFailed(doc, err)
	}
	root, ok := v.(*expr.Object)
	if !ok {
		return nil, &Error{Code: CodeInvalidTemplate, Message: "Deployment template parse failed: 'The template must be a JSON object.'.", Line: 1, Column: 1}
	}
	return parseTemplate(newSource(doc, objPos), nil, root, newExprCache())
}

// parseValue parses a template given as a value (a nested deployment's
// template computed by an expression); errors have no line and column.
func parseValue(v any, cache *exprCache) (*Template, error) {
	root, ok := v.(*expr.Object)
	if !ok {
		return nil, &Error{Code: CodeInvalidTemplate, Message: validationFailed(fmt.Sprintf("The nested template must be an object, not '%s'.", expr.TypeName(v)))}
	}
	return parseTemplate(nil, nil, root, cache)
}

func parseTemplate(src *source, base jsonPath, root *expr.Object, cache *exprCache) (*Template, error) {
	t := &Template{src: src, base: base, root: root, exprs: cache, paramIndex: map[string]*paramDecl{}, varIndex: map[string]*varDecl{}, loopNames: map[string]bool{}}
	t.types = &typeParser{t: t, defs: map[string]*typeSpec{}}
	str := func(key string) (string, error) {
		v, ok := root.Get(key)
		if !ok || v == nil {
			return "", nil
		}
		s, isStr := v.(string)
		if !isStr {
			return "", invalid(t.at(base.key(key)), nil, "The template property '%s' must be a string. Please see %s for usage details.", key, helpTemplate)
		}
		return s, nil
	}
	var err error
	if t.Schema, err = str("$schema"); err != nil {
		return nil, err
	}
	if strings.Contains(strings.ToLower(t.Schema), "deploymentparameters.json") {
		return nil, invalid(t.at(base.key("$schema")), nil, "The template's $schema '%s' is the schema of a parameters file, not of a template. Please see %s for usage details.", t.Schema, helpTemplate)
	}
	if t.ContentVersion, err = str("contentVersion"); err != nil {
		return nil, err
	}
	if t.ContentVersion != "" && !contentVersionRE.MatchString(t.ContentVersion) {
		return nil, invalid(t.at(base.key("contentVersion")), nil, "The template contentVersion '%s' is not valid: it must be a version of four numbers such as '1.0.0.0'. Please see %s for usage details.", t.ContentVersion, helpTemplate)
	}
	if t.LanguageVersion, err = str("languageVersion"); err != nil {
		return nil, err
	}
	switch t.LanguageVersion {
	case "", "1.0", "2.0":
	default:
		return nil, &Error{Code: CodeInvalidTemplate, Path: base.key("languageVersion").String(), Err: ErrNotSupported,
			Message: validationFailed(fmt.Sprintf("The template languageVersion '%s' is not supported: keyless runs languageVersion '2.0' and templates without a languageVersion. Please see %s for usage details.", t.LanguageVersion, helpTemplate))}
	}
	for _, key := range []string{"imports", "extensions", "asserts"} {
		if root.Has(key) {
			p := t.at(base.key(key))
			return nil, &Error{Code: CodeInvalidTemplate, Path: p.path.String(), Line: p.line, Column: p.col, Err: ErrNotSupported,
				Message: validationFailed(fmt.Sprintf("The template section '%s'%s is not supported by keyless (Bicep extensibility and assertions are experimental Azure features).", key, p.lc()))}
		}
	}

	defs, _ := root.Get("definitions")
	if defs != nil && t.LanguageVersion != "2.0" {
		return nil, invalid(t.at(base.key("definitions")), nil, "The template section 'definitions' requires languageVersion '2.0'. Please see %s for usage details.", helpTemplate)
	}
	if err := t.types.parseDefinitions(defs, base.key("definitions")); err != nil {
		return nil, err
	}
	// Functions first: parameter defaults, variables, resources and
	// outputs may all call them.
	if fv, ok := root.Get("functions"); ok && fv != nil {
		fns, err := expr.ParseFunctions(fv)
		if err != nil {
			p := t.at(base.key("functions"))
			return nil, invalid(p, err, "The template 'functions' section%s is not valid: %s Please see %s for usage details.", p.lc(), sentence(causeMessage(err)), "https://aka.ms/arm-syntax-functions")
		}
		t.funcs = fns
	}
	if err := t.parseParameters(); err != nil {
		return nil, err
	}
	if err := t.parseVariables(); err != nil {
		return nil, err
	}
	if err := t.parseResources(); err != nil {
		return nil, err
	}
	if err := t.parseOutputs(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) parseParameters() error {
	pv, _ := t.root.Get("parameters")
	if pv == nil {
		return nil
	}
	path := t.base.key("parameters")
	o, ok := pv.(*expr.Object)
	if !ok {
		return invalid(t.at(path), nil, "The template 'parameters' section must be an object. Please see %s for usage details.", helpParameters)
	}
	if o.Len() > MaxParameters {
		return invalid(t.at(path), nil, "The number of template parameters limit exceeded. Limit: '%d' and actual: '%d'. Please see %s for usage details.", MaxParameters, o.Len(), helpLimits)
	}
	for i := 0; i < o.Len(); i++ {
		name, decl := o.At(i)
		ppath := path.key(name)
		what := "parameter '" + name + "'"
		spec, err := t.types.parse(decl, ppath, what)
		if err != nil {
			return err
		}
		do := decl.(*expr.Object)
		p := &paramDecl{decl: do, name: name, path: ppath, spec: spec}
		if dv, ok := do.Get("defaultValue"); ok {
			p.def, p.hasDefault = dv, true
			if err := t.compile(dv, ppath.key("defaultValue"), ctxParamDefault, func(pl place, msg string, cause error) *Error {
				return invalid(pl, cause, "The template parameter '%s'%s is not valid: %s Please see %s for usage details.", name, pl.lc(), sentence(msg), helpParameters)
			}); err != nil {
				return err
			}
		}
		t.params = append(t.params, p)
		t.paramIndex[strings.ToLower(name)] = p
	}
	return nil
}

func (t *Template) parseVariables() error {
	vv, _ := t.root.Get("variables")
	if vv == nil {
		return nil
	}
	path := t.base.key("variables")
	o, ok := vv.(*expr.Object)
	if !ok {
		return invalid(t.at(path), nil, "The template 'variables' section must be an object. Please see %s for usage details.", helpVariables)
	}
	add := func(d *varDecl) error {
		k := strings.ToLower(d.name)
		if _, dup := t.varIndex[k]; dup {
			p := t.at(d.path)
			return invalid(p, nil, "The template variable '%s'%s is defined more than once. Please see %s for usage details.", d.name, p.lc(), helpVariables)
		}
		t.vars = append(t.vars, d)
		t.varIndex[k] = d
		return nil
	}
	for i := 0; i < o.Len(); i++ {
		name, value := o.At(i)
		vpath := path.key(name)
		onErr := func(pl place, msg string, cause error) *Error {
			return invalid(pl, cause, "The template variable '%s'%s is not valid: %s Please see %s for usage details.", name, pl.lc(), sentence(msg), helpVariables)
		}
		if strings.EqualFold(name, "copy") {
			arr, ok := value.([]any)
			if !ok {
				return onErr(t.at(vpath), "the variables 'copy' element must be an array of loops", nil)
			}
			for j, lv := range arr {
				cs, err := t.parseCopy(lv, vpath.idx(j), true, onErr)
				if err != nil {
					return err
				}
				if err := t.compile(cs.count, cs.path.key("count"), ctxVariable, onErr); err != nil {
					return err
				}
				if err := t.compile(cs.input, cs.path.key("input"), ctxVariable, onErr); err != nil {
					return err
				}
				if err := add(&varDecl{name: cs.name, path: cs.path, copy: cs}); err != nil {
					return err
				}
			}
			continue
		}
		if err := t.compile(value, vpath, ctxVariable, onErr); err != nil {
			return err
		}
		if err := add(&varDecl{name: name, path: vpath, value: value}); err != nil {
			return err
		}
	}
	if len(t.vars) > MaxVariables {
		return invalid(t.at(path), nil, "The number of template variables limit exceeded. Limit: '%d' and actual: '%d'. Please see %s for usage details.", MaxVariables, len(t.vars), helpLimits)
	}
	return nil
}

// parseCopy reads a copy element. needInput is true for property,
// variable and output loops.
func (t *Template) parseCopy(v any, path jsonPath, needInput bool, onErr func(place, string, error) *Error) (*copySpec, error) {
	o, ok := v.(*expr.Object)
	if !ok {
		return nil, onErr(t.at(path), "the copy element must be an object", nil)
	}
	cs := &copySpec{path: path, mode: "parallel"}
	if nv, ok := o.Get("name"); ok {
		s, isStr := nv.(string)
		if !isStr || s == "" || expr.IsExpression(s) {
			return nil, onErr(t.at(path.key("name")), "the copy name must be a non-empty literal string", nil)
		}
		cs.name = s
	}
	cv, ok := o.Get("count")
	if !ok {
		return nil, onErr(t.at(path), "the copy element must have a 'count'. Please see "+helpCopy+" for usage details", nil)
	}
	cs.count = cv
	if mv, ok := o.Get("mode"); ok {
		s, _ := mv.(string)
		switch strings.ToLower(s) {
		case "parallel", "serial":
			cs.mode = strings.ToLower(s)
		default:
			return nil, onErr(t.at(path.key("mode")), fmt.Sprintf("the copy mode '%v' is not valid: it must be 'Parallel' or 'Serial'", displayValue(mv)), nil)
		}
	}
	if bv, ok := o.Get("batchSize"); ok {
		cs.batchSize = bv
	}
	if iv, ok := o.Get("input"); ok {
		cs.input = iv
	} else if needInput {
		return nil, onErr(t.at(path), "the copy element must have an 'input'. Please see "+helpCopy+" for usage details", nil)
	}
	return cs, nil
}

func (t *Template) parseOutputs() error {
	ov, _ := t.root.Get("outputs")
	if ov == nil {
		return nil
	}
	path := t.base.key("outputs")
	o, ok := ov.(*expr.Object)
	if !ok {
		return invalid(t.at(path), nil, "The template 'outputs' section must be an object. Please see %s for usage details.", helpOutputs)
	}
	if o.Len() > MaxOutputs {
		return invalid(t.at(path), nil, "The number of template outputs limit exceeded. Limit: '%d' and actual: '%d'. Please see %s for usage details.", MaxOutputs, o.Len(), helpLimits)
	}
	for i := 0; i < o.Len(); i++ {
		name, decl := o.At(i)
		opath := path.key(name)
		onErr := func(pl place, msg string, cause error) *Error {
			return invalid(pl, cause, "The template output '%s'%s is not valid: %s Please see %s for usage details.", name, pl.lc(), sentence(msg), helpOutputs)
		}
		spec, err := t.types.parse(decl, opath, "output '"+name+"'")
		if err != nil {
			return err
		}
		od := &outputDecl{name: name, path: opath, spec: spec}
		do := decl.(*expr.Object)
		if cv, ok := do.Get("condition"); ok {
			od.condition, od.hasCond = cv, true
			if err := t.compile(cv, opath.key("condition"), ctxRuntime, onErr); err != nil {
				return err
			}
		}
		if cv, ok := do.Get("copy"); ok {
			cs, err := t.parseCopy(cv, opath.key("copy"), true, onErr)
			if err != nil {
				return err
			}
			if spec.baseType() != "array" {
				return onErr(t.at(opath.key("copy")), "an output with a copy loop must be of type 'array'", nil)
			}
			if err := t.compile(cs.count, cs.path.key("count"), ctxRuntime, onErr); err != nil {
				return err
			}
			if err := t.compile(cs.input, cs.path.key("input"), ctxRuntime, onErr); err != nil {
				return err
			}
			od.copy = cs
		} else {
			vv, ok := do.Get("value")
			if !ok {
				return onErr(t.at(opath), "the output has no 'value'", nil)
			}
			od.value = vv
			if err := t.compile(vv, opath.key("value"), ctxRuntime, onErr); err != nil {
				return err
			}
		}
		t.outputs = append(t.outputs, od)
	}
	return nil
}

// ParameterInfo describes a declared parameter, for callers that prompt
// for values or render what-if.
type ParameterInfo struct {
	Name       string
	Type       string // as ARM displays it: String, SecureString, Int, ...; "" for a $ref without a base type
	Secure     bool
	HasDefault bool
	Nullable   bool
}

// Parameters lists the declared parameters in document order.
func (t *Template) Parameters() []ParameterInfo {
	out := make([]ParameterInfo, len(t.params))
	for i, p := range t.params {
		out[i] = ParameterInfo{Name: p.name, Type: DisplayType(p.spec.baseType()), Secure: p.spec.isSecure(), HasDefault: p.hasDefault, Nullable: p.spec.isNullable()}
	}
	return out
}

// Root is the template document as decoded (members in document order);
// callers must not modify it.
func (t *Template) Root() *expr.Object { return t.root }
