package template

import (
	"fmt"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// resourceDecl is one resource declaration as written, before copy
// expansion.
type resourceDecl struct {
	path       jsonPath
	symbol     string
	raw        *expr.Object
	typ        string // as written (a nested child may give a short type)
	fullType   string // the fully qualified type
	apiVersion any
	name       any
	condition  any
	hasCond    bool
	copy       *copySpec
	dependsOn  []any
	scope      any
	existing   bool
	parent     *resourceDecl
	children   []*resourceDecl

	// Nested deployments (Microsoft.Resources/deployments).
	deployment     bool
	subscriptionID any
	resourceGroup  any
	innerScope     bool      // expressionEvaluationOptions.scope is inner
	nested         *Template // the inline template, when given as a literal object
	linked         bool      // templateLink instead of template
}

// label is how messages name a declaration: its name as written.
func (r *resourceDecl) label() string {
	if s, ok := r.name.(string); ok {
		return s
	}
	if r.symbol != "" {
		return r.symbol
	}
	return r.fullType
}

// bodyExcluded are the resource members that steer the deployment rather
// than form the ARM request body.
var bodyExcluded = map[string]bool{
	"type": true, "apiversion": true, "name": true, "dependson": true, "copy": true,
	"condition": true, "scope": true, "comments": true, "existing": true, "resources": true,
	"subscriptionid": true, "resourcegroup": true,
	// Bicep writes a resource's @description as metadata; ARM neither
	// evaluates nor sends it.
	"metadata": true,
}

const deploymentsType = "Microsoft.Resources/deployments"

func (t *Template) parseResources() error {
	rv, _ := t.root.Get("resources")
	path := t.base.key("resources")
	switch rs := rv.(type) {
	case nil:
	case []any:
		for i, r := range rs {
			d, err := t.parseResource(r, path.idx(i), "", nil)
			if err != nil {
				return err
			}
			t.resources = append(t.resources, d)
		}
	case *expr.Object:
		if t.LanguageVersion != "2.0" {
			return invalid(t.at(path), nil, "The template 'resources' section must be an array: resources declared by symbolic name require languageVersion '2.0'. Please see %s for usage details.", helpResources)
		}
		t.symbolic = true
		for i := 0; i < rs.Len(); i++ {
			sym, r := rs.At(i)
			d, err := t.parseResource(r, path.key(sym), sym, nil)
			if err != nil {
				return err
			}
			t.resources = append(t.resources, d)
		}
	default:
		return invalid(t.at(path), nil, "The template 'resources' section must be an array. Please see %s for usage details.", helpResources)
	}
	return nil
}

func (t *Template) parseResource(v any, path jsonPath, symbol string, parent *resourceDecl) (*resourceDecl, error) {
	o, ok := v.(*expr.Object)
	if !ok {
		p := t.at(path)
		return nil, invalid(p, nil, "The template resource%s must be an object. Please see %s for usage details.", p.lc(), helpResources)
	}
	d := &resourceDecl{path: path, symbol: symbol, raw: o, parent: parent}
	label := symbol
	if n, ok := o.Get("name"); ok {
		if s, isStr := n.(string); isStr {
			label = s
		}
	}
	fail := func(at jsonPath, format string, args ...any) *Error {
		return resourceInvalid(t.at(path), label, nil, format, args...)
	}
	onErr := func(pl place, msg string, cause error) *Error {
		rp := t.at(path)
		e := resourceInvalid(rp, label, cause, "%s", msg)
		e.Path, e.Line, e.Column = pl.path.String(), pl.line, pl.col
		return e
	}

	tv, _ := o.Get("type")
	typ, isStr := tv.(string)
	switch {
	case !isStr || typ == "":
		return nil, fail(path, "The resource must have a 'type' that is a string.")
	case expr.IsExpression(typ):
		return nil, fail(path, "The type property cannot be an expression.")
	}
	d.typ = typ
	switch {
	case parent == nil:
		if !strings.Contains(typ, "/") || strings.HasPrefix(typ, "/") || strings.HasSuffix(typ, "/") {
			return nil, fail(path, "The resource type '%s' is not a fully qualified resource type: it must be '{namespace}/{type}'.", typ)
		}
		d.fullType = typ
	case strings.Contains(typ, "/"):
		d.fullType = typ // a child written with its full type and name
	default:
		d.fullType = parent.fullType + "/" + typ
	}
	for _, seg := range strings.Split(d.fullType, "/") {
		if seg == "" {
			return nil, fail(path, "The resource type '%s' has an empty segment.", typ)
		}
	}
	d.deployment = strings.EqualFold(d.fullType, deploymentsType)

	av, ok := o.Get("apiVersion")
	if !ok {
		return nil, fail(path, "The resource must have an 'apiVersion'; keyless does not support apiProfile.")
	}
	if _, isStr := av.(string); !isStr {
		return nil, fail(path, "The 'apiVersion' must be a string.")
	}
	d.apiVersion = av
	nv, ok := o.Get("name")
	if !ok {
		return nil, fail(path, "The resource must have a 'name'.")
	}
	if _, isStr := nv.(string); !isStr {
		return nil, fail(path, "The 'name' must be a string.")
	}
	d.name = nv

	bind := func(key string) error {
		v, ok := o.Get(key)
		if !ok {
			return nil
		}
		return t.compile(v, path.key(key), ctxBind, onErr)
	}
	for _, key := range []string{"apiVersion", "name", "condition", "dependsOn", "scope", "subscriptionId", "resourceGroup"} {
		if err := bind(key); err != nil {
			return nil, err
		}
	}
	if cv, ok := o.Get("condition"); ok {
		switch cv.(type) {
		case bool, string:
		default:
			return nil, fail(path, "The 'condition' must be a boolean or an expression.")
		}
		d.condition, d.hasCond = cv, true
	}
	if cv, ok := o.Get("copy"); ok {
		if parent != nil {
			return nil, fail(path.key("copy"), "A copy loop is not supported on a nested child resource: declare the child at the top level with its full type and name. Please see %s for usage details.", helpCopy)
		}
		cs, err := t.parseCopy(cv, path.key("copy"), false, onErr)
		if err != nil {
			return nil, err
		}
		if cs.name == "" {
			return nil, fail(path.key("copy"), "The copy element must have a 'name'. Please see %s for usage details.", helpCopy)
		}
		if t.loopNames[strings.ToLower(cs.name)] {
			return nil, fail(path.key("copy"), "The copy name '%s' is used by more than one loop; copy names must be unique in a template. Please see %s for usage details.", cs.name, helpCopy)
		}
		t.loopNames[strings.ToLower(cs.name)] = true
		if err := t.compile(cs.count, cs.path.key("count"), ctxBind, onErr); err != nil {
			return nil, err
		}
		if err := t.compile(cs.batchSize, cs.path.key("batchSize"), ctxBind, onErr); err != nil {
			return nil, err
		}
		d.copy = cs
	}
	if dv, ok := o.Get("dependsOn"); ok && dv != nil {
		arr, isArr := dv.([]any)
		if !isArr {
			return nil, fail(path.key("dependsOn"), "The 'dependsOn' property must be an array of strings.")
		}
		for _, e := range arr {
			if _, isStr := e.(string); !isStr {
				return nil, fail(path.key("dependsOn"), "The 'dependsOn' property must be an array of strings.")
			}
		}
		d.dependsOn = arr
	}
	if sv, ok := o.Get("scope"); ok && sv != nil {
		if _, isStr := sv.(string); !isStr {
			return nil, fail(path.key("scope"), "The 'scope' property must be a string: the resource ID of the resource to extend.")
		}
		if parent != nil {
			return nil, fail(path.key("scope"), "A nested child resource cannot have a 'scope'.")
		}
		d.scope = sv
	}
	if ev, ok := o.Get("existing"); ok {
		b, isBool := ev.(bool)
		if !isBool {
			return nil, fail(path.key("existing"), "The 'existing' property must be a boolean literal.")
		}
		if b && t.LanguageVersion != "2.0" {
			return nil, fail(path.key("existing"), "Existing resources require languageVersion '2.0'.")
		}
		d.existing = b
	}
	if o.Has("import") {
		return nil, &Error{Code: CodeInvalidTemplate, Err: ErrNotSupported, Path: path.key("import").String(),
			Message: validationFailed(fmt.Sprintf("The template resource '%s' uses a Bicep extension ('import'), which keyless does not support.", label))}
	}
	for _, key := range []string{"subscriptionId", "resourceGroup"} {
		if v, ok := o.Get(key); ok && v != nil {
			if !d.deployment && !d.existing {
				return nil, fail(path.key(key), "Only a nested deployment (%s) or an existing resource may set '%s'.", deploymentsType, key)
			}
			if _, isStr := v.(string); !isStr {
				return nil, fail(path.key(key), "The '%s' property must be a string.", key)
			}
			if key == "subscriptionId" {
				d.subscriptionID = v
			} else {
				d.resourceGroup = v
			}
		}
	}

	// The body: everything else, evaluated once the resource's
	// dependencies are deployed.
	for i := 0; i < o.Len(); i++ {
		k, v := o.At(i)
		if bodyExcluded[strings.ToLower(k)] {
			continue
		}
		if d.deployment && strings.EqualFold(k, "properties") {
			if err := t.parseDeploymentProperties(d, v, path.key(k), onErr); err != nil {
				return nil, err
			}
			continue
		}
		if err := t.compile(v, path.key(k), ctxRuntime, onErr); err != nil {
			return nil, err
		}
	}

	if cv, ok := o.Get("resources"); ok && cv != nil {
		arr, isArr := cv.([]any)
		if !isArr {
			return nil, fail(path.key("resources"), "The nested 'resources' of a resource must be an array.")
		}
		for i, c := range arr {
			cd, err := t.parseResource(c, path.key("resources").idx(i), "", d)
			if err != nil {
				return nil, err
			}
			d.children = append(d.children, cd)
		}
	}
	return d, nil
}

// parseDeploymentProperties reads a nested deployment's properties: the
// evaluation scope, the inline template (parsed as a template of its own)
// or the templateLink, and compiles the rest.
func (t *Template) parseDeploymentProperties(d *resourceDecl, v any, path jsonPath, onErr func(place, string, error) *Error) error {
	props, ok := v.(*expr.Object)
	if !ok {
		return t.compile(v, path, ctxRuntime, onErr)
	}
	if eo, ok := props.Get("expressionEvaluationOptions"); ok {
		if eoo, ok := eo.(*expr.Object); ok {
			if sv, ok := eoo.Get("scope"); ok {
				s, _ := sv.(string)
				switch strings.ToLower(s) {
				case "inner":
					d.innerScope = true
				case "outer", "notspecified", "":
				default:
					return onErr(t.at(path.key("expressionEvaluationOptions").key("scope")), fmt.Sprintf("the expression evaluation scope '%s' is not valid: it must be 'inner' or 'outer'", displayValue(sv)), nil)
				}
			}
		}
	}
	for i := 0; i < props.Len(); i++ {
		k, pv := props.At(i)
		switch strings.ToLower(k) {
		case "template":
			if to, ok := pv.(*expr.Object); ok {
				nt, err := parseTemplate(t.src, path.key(k), to, t.exprs)
				if err != nil {
					return err
				}
				d.nested = nt
				continue
			}
			// A template computed by an expression is parsed when bound.
		case "templatelink":
			d.linked = true
		}
		if err := t.compile(pv, path.key(k), ctxRuntime, onErr); err != nil {
			return err
		}
	}
	return nil
}
