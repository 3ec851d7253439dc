package template

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// Output is one evaluated output, as the deployment's "outputs" shows it:
// {"type": Type, "value": Value}. Secure outputs (securestring,
// secureObject) are never returned by a deployment GET, only by
// listOutputsWithSecureValues; the engine must honour Secure.
type Output struct {
	Type   string
	Value  any
	Secure bool
}

// OutputNames are the declared outputs in document order (Outputs' map
// has none).
func (p *Plan) OutputNames() []string {
	out := make([]string, len(p.b.t.outputs))
	for i, o := range p.b.t.outputs {
		out[i] = o.name
	}
	return out
}

// Outputs evaluates the outputs once the resources are deployed: an output
// whose condition is false is left out, a copy output is an array. A
// failure is DeploymentOutputEvaluationFailed with the output's error in
// Details.
func (p *Plan) Outputs() (map[string]Output, error) {
	b := p.b
	out := make(map[string]Output, len(b.t.outputs))
	for _, o := range b.t.outputs {
		v, include, err := b.evalOutput(o)
		if err != nil {
			return nil, err
		}
		if include {
			out[o.name] = Output{Type: DisplayType(o.spec.baseType()), Value: v, Secure: o.spec.isSecure()}
		}
	}
	return out, nil
}

func (b *binding) evalOutput(o *outputDecl) (any, bool, error) {
	h := b.host(ctxRuntime, nil)
	fail := func(at jsonPath, err error) error {
		sub, cause := splitPlace(err)
		pl := b.t.at(append(at, sub...))
		detail := &Error{
			Code:    CodeDeploymentOutputEvaluationFailed,
			Message: fmt.Sprintf("The template output '%s' is not valid: %s Please see %s for usage details.", o.name, sentence(causeMessage(cause)), expr.FunctionsHelp),
			Target:  o.name,
			Path:    pl.path.String(),
			Line:    pl.line,
			Column:  pl.col,
			Err:     cause,
		}
		return &Error{
			Code:    CodeDeploymentOutputEvaluationFailed,
			Message: fmt.Sprintf("Unable to evaluate template outputs: '%s'. Please see error details and deployment operations. Please see %s for usage details.", o.name, helpDebug),
			Target:  o.name,
			Path:    detail.Path,
			Line:    detail.Line,
			Column:  detail.Column,
			Details: []*Error{detail},
			Err:     cause,
		}
	}
	if o.hasCond {
		cv, err := h.evalTree(o.condition, 0)
		if err != nil {
			return nil, false, fail(o.path.key("condition"), err)
		}
		c, ok := cv.(bool)
		if !ok {
			if s, isStr := cv.(string); isStr {
				if pb, perr := strconv.ParseBool(s); perr == nil {
					c, ok = pb, true
				}
			}
		}
		if !ok {
			return nil, false, fail(o.path.key("condition"), fmt.Errorf("The condition must evaluate to a boolean, not a value of type '%s'.", expr.TypeName(cv)))
		}
		if !c {
			return nil, false, nil
		}
	}
	var v any
	var err error
	if o.copy != nil {
		v, err = h.evalLoop(propertyLoop{name: o.copy.name, count: o.copy.count, input: o.copy.input}, 0)
		if err != nil {
			return nil, false, fail(o.copy.path, err)
		}
	} else {
		v, err = h.evalTree(o.value, 0)
		if err != nil {
			return nil, false, fail(o.path.key("value"), err)
		}
	}
	if reason := o.spec.check(v, "", 0); reason != "" {
		return nil, false, fail(o.path, errors.New(reason))
	}
	return v, true, nil
}
