package template

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// BoundParameter is a parameter's value as bound: given, defaulted or null.
// Secure values are included; the engine must redact them.
type BoundParameter struct {
	Type   string // String, SecureString, Int, Bool, Object, SecureObject, Array
	Value  any
	Secure bool
}

// decodeParameters reads the request's parameters object.
func decodeParameters(data []byte) (*expr.Object, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return expr.NewObject(0), nil
	}
	v, err := decodeDocument(data)
	if err != nil {
		return nil, &Error{Code: "InvalidRequestContent", Message: "The request content was invalid and could not be deserialized: the deployment parameters are not valid JSON: " + err.Error(), Err: err}
	}
	o, ok := v.(*expr.Object)
	if !ok {
		if v == nil {
			return expr.NewObject(0), nil
		}
		return nil, &Error{Code: "InvalidRequestContent", Message: "The request content was invalid and could not be deserialized: the deployment parameters must be an object."}
	}
	// A whole parameters file, as `az deployment` users pass with @file.
	if sv, ok := o.Get("$schema"); ok {
		if s, _ := sv.(string); strings.Contains(strings.ToLower(s), "deploymentparameters.json") {
			pv, _ := o.Get("parameters")
			inner, ok := pv.(*expr.Object)
			if !ok {
				return expr.NewObject(0), nil
			}
			return inner, nil
		}
	}
	return o, nil
}

// bindParameters checks the given parameters against the declarations
// and binds every parameter: given, default or null.
func (b *binding) bindParameters(provided *expr.Object) error {
	t := b.t
	var unknown []string
	for i := 0; i < provided.Len(); i++ {
		name, _ := provided.At(i)
		if _, ok := t.paramIndex[strings.ToLower(name)]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		names := make([]string, len(t.params))
		for i, p := range t.params {
			names[i] = p.name
		}
		return &Error{Code: CodeInvalidTemplate, Target: strings.Join(unknown, ", "), Message: validationFailed(fmt.Sprintf(
			"The template parameters '%s' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '%s'. Please see %s for usage details.",
			strings.Join(unknown, ", "), strings.Join(names, ", "), helpPassParams))}
	}
	b.provided = provided
	for _, p := range t.params {
		if _, err := b.resolveParam(strings.ToLower(p.name)); err != nil {
			return err
		}
	}
	return nil
}

// resolveParam binds one parameter, evaluating its default (which may
// refer to other parameters) on first use.
func (b *binding) resolveParam(k string) (any, error) {
	switch b.paramState[k] {
	case 2:
		return b.params[k], nil
	case 1:
		p := b.t.paramIndex[k]
		pl := b.t.at(p.path)
		return nil, invalid(pl, nil, "The template parameter '%s'%s is not valid: its default value refers to itself through other parameters. Please see %s for usage details.", p.name, pl.lc(), helpParameters)
	}
	p := b.t.paramIndex[k]
	b.paramState[k] = 1
	pl := b.t.atObject(p.decl, p.path)
	var v any
	given := false
	if b.provided != nil {
		if ev, ok := b.provided.Get(p.name); ok {
			entry, isObj := ev.(*expr.Object)
			switch {
			case !isObj:
				return nil, &Error{Code: CodeInvalidTemplate, Target: p.name, Message: validationFailed(fmt.Sprintf(
					"The parameter '%s' in the parameters file must be an object with a 'value'. Please see %s for usage details.", p.name, helpParamFile))}
			case entry.Has("reference"):
				return nil, &Error{Code: CodeInvalidTemplate, Target: p.name, Err: ErrNotSupported, Message: validationFailed(fmt.Sprintf(
					"The value of the template parameter '%s' is a Key Vault reference, which keyless does not support: give the value itself.", p.name))}
			case !entry.Has("value"):
				return nil, &Error{Code: CodeInvalidTemplate, Target: p.name, Message: validationFailed(fmt.Sprintf(
					"The parameter '%s' in the parameters file must have a 'value'. Please see %s for usage details.", p.name, helpParamFile))}
			}
			v, _ = entry.Get("value")
			given = true
		}
	}
	if !given {
		switch {
		case p.hasDefault:
			h := b.host(ctxParamDefault, nil)
			dv, err := h.evalTree(p.def, 0)
			if err != nil {
				sub, cause := splitPlace(err)
				var te *Error
				if errors.As(cause, &te) {
					return nil, te // a parameter this default uses failed: report that one
				}
				at := b.t.at(append(p.path.key("defaultValue"), sub...))
				e := invalid(pl, cause, "The template parameter '%s'%s is not valid: %s Please see %s for usage details.", p.name, pl.lc(), sentence(causeMessage(cause)), helpParameters)
				e.Path, e.Line, e.Column = at.path.String(), at.line, at.col
				return nil, e
			}
			v = dv
		case p.spec.isNullable():
			v = nil
		default:
			e := invalid(pl, nil, "The value for the template parameter '%s'%s is not provided. Please see %s for usage details.", p.name, pl.lc(), helpParamFile)
			e.Target = p.name
			return nil, e
		}
	}
	if reason := p.spec.check(v, "", 0); reason != "" {
		shown := ""
		if !p.spec.isSecure() && strings.HasPrefix(reason, "The parameter value is not part of the allowed") {
			shown = " '" + displayValue(v) + "'"
		}
		e := invalid(pl, nil, "The provided value%s for the template parameter '%s'%s is not valid. %s Please see %s for usage details.", shown, p.name, pl.lc(), reason, helpParamFile)
		e.Target = p.name
		return nil, e
	}
	b.params[k] = v
	b.paramState[k] = 2
	return v, nil
}

// boundParameters reports the parameters as bound, by declared name.
func (b *binding) boundParameters() map[string]BoundParameter {
	out := make(map[string]BoundParameter, len(b.t.params))
	for _, p := range b.t.params {
		out[p.name] = BoundParameter{Type: DisplayType(p.spec.baseType()), Value: b.params[strings.ToLower(p.name)], Secure: p.spec.isSecure()}
	}
	return out
}

// bindVariables evaluates every variable (ARM evaluates them all, used or
// not, so a broken variable fails the deployment before anything runs).
func (b *binding) bindVariables() error {
	for _, v := range b.t.vars {
		if _, err := b.resolveVar(strings.ToLower(v.name)); err != nil {
			return err
		}
	}
	return nil
}

func (b *binding) resolveVar(k string) (any, error) {
	d := b.t.varIndex[k]
	pl := b.t.at(d.path)
	switch b.varState[k] {
	case 2:
		return b.vars[k], nil
	case 1:
		return nil, invalid(pl, nil, "The template variable '%s'%s is not valid: it refers to itself through other variables. Please see %s for usage details.", d.name, pl.lc(), helpVariables)
	}
	b.varState[k] = 1
	h := b.host(ctxVariable, nil)
	var v any
	var err error
	var sub jsonPath
	if d.copy != nil {
		v, err = h.evalLoop(propertyLoop{name: d.copy.name, count: d.copy.count, input: d.copy.input}, 0)
	} else {
		v, err = h.evalTree(d.value, 0)
	}
	if err != nil {
		var cause error
		sub, cause = splitPlace(err)
		var te *Error
		if errors.As(cause, &te) {
			return nil, te // a variable this one uses failed: report that one
		}
		at := b.t.at(append(d.path, sub...))
		e := invalid(pl, cause, "The template variable '%s'%s is not valid: %s Please see %s for usage details.", d.name, pl.lc(), sentence(causeMessage(cause)), helpVariables)
		e.Path, e.Line, e.Column = at.path.String(), at.line, at.col
		return nil, e
	}
	b.vars[k] = v
	b.varState[k] = 2
	return v, nil
}

// sortedKeys is used for stable messages.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
