package template

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// NestedDeployment is a Microsoft.Resources/deployments resource of a
// plan: a deployment the engine runs as part of this one.
type NestedDeployment struct {
	// Scope is where the nested deployment runs: the parent's scope, or
	// the subscriptionId / resourceGroup / scope the resource names.
	Scope expr.Scope
	// InnerScope is expressionEvaluationOptions.scope "inner": the nested
	// template evaluates its own parameters and variables. Otherwise
	// ("outer", the default) its expressions see the parent's parameters,
	// variables, deployment() and scope functions (resourceGroup() and
	// resourceId() are the parent's even when Scope is another resource
	// group), while its resources are placed at Scope.
	InnerScope bool
	// Template is the inline template when the document gives it as an
	// object; nil when an expression computes it (Bind parses it then) or
	// when TemplateLink is set.
	Template *Template
	// TemplateLink is set when the deployment links its template by URI,
	// which keyless does not fetch: Bind returns InvalidContentLink.
	TemplateLink bool

	r *Resource
}

// Bind evaluates the nested deployment's properties in its parent (mode,
// parameters for inner scope, a computed template) and binds the nested
// template to d, which the engine fills for Scope (resource group info of
// the target group, deployment name, resolver). Call it when the nested
// deployment resource's DependsOn are deployed, as for Body: parameter
// values may call reference(). d.Parameters is ignored: the parameters are
// the ones the parent passes. The plan's Mode is the nested deployment's.
func (n *NestedDeployment) Bind(d Deployment) (*Plan, error) {
	r := n.r
	pb := r.b
	h := pb.host(ctxRuntime, r.loops)
	propsV, _ := r.decl.raw.Get("properties")
	props, _ := propsV.(*expr.Object)
	if props == nil {
		return nil, pb.runtimeErr(r, r.decl.path.key("properties"), errors.New("A nested deployment must have 'properties' with a 'template'."))
	}
	propsPath := r.decl.path.key("properties")
	get := func(key string) (any, bool, error) {
		k, ok := props.Key(key)
		if !ok {
			return nil, false, nil
		}
		v, _ := props.Get(k)
		ev, err := h.evalTree(v, 1)
		if err != nil {
			return nil, true, pb.runtimeErr(r, propsPath.key(k), err)
		}
		return ev, true, nil
	}
	if n.TemplateLink {
		lv, _, err := get("templateLink")
		if err != nil {
			return nil, err
		}
		uri := ""
		if lo, ok := lv.(*expr.Object); ok {
			if u, ok := lo.Get("uri"); ok {
				uri, _ = u.(string)
			}
		}
		return nil, &Error{Code: CodeInvalidContentLink, Target: r.ID, Err: ErrNotSupported,
			Message: fmt.Sprintf("Unable to download deployment content from '%s': keyless does not fetch linked templates (templateLink). Give the template inline in 'template'.", uri)}
	}
	mode := "Incremental"
	if mv, ok, err := get("mode"); err != nil {
		return nil, err
	} else if ok && mv != nil {
		s, _ := mv.(string)
		switch strings.ToLower(s) {
		case "incremental":
			mode = "Incremental"
		case "complete":
			mode = "Complete"
		default:
			return nil, pb.runtimeErr(r, propsPath.key("mode"), fmt.Errorf("The deployment mode '%s' is not valid: it must be 'Incremental' or 'Complete'.", displayValue(mv)))
		}
	}
	d.Mode = mode
	tmpl := n.Template
	if tmpl == nil {
		tv, ok, err := get("template")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, pb.runtimeErr(r, propsPath, errors.New("A nested deployment must have a 'template' or a 'templateLink'."))
		}
		if tmpl, err = parseValue(tv, pb.t.exprs); err != nil {
			return nil, err
		}
	}
	nb, err := newBinding(tmpl, &d)
	if err != nil {
		return nil, err
	}
	pv, hasParams, err := get("parameters")
	if err != nil {
		return nil, err
	}
	if !n.InnerScope {
		if po, ok := pv.(*expr.Object); hasParams && ok && po.Len() > 0 {
			return nil, pb.runtimeErr(r, propsPath.key("parameters"), errors.New("A nested deployment with outer expression evaluation scope cannot have parameters: its template reads the parent's. Set expressionEvaluationOptions.scope to 'inner' to pass parameters."))
		}
		nb.env = pb.env
		nb.parent = pb
		nb.outerLoops = append(append([]loopFrame(nil), pb.outerLoops...), r.loops...)
		return nb.expand()
	}
	provided, ok := pv.(*expr.Object)
	if !ok {
		if hasParams && pv != nil {
			return nil, pb.runtimeErr(r, propsPath.key("parameters"), fmt.Errorf("The nested deployment 'parameters' must be an object, not a value of type '%s'.", expr.TypeName(pv)))
		}
		provided = expr.NewObject(0)
	}
	return nb.bind(provided)
}
