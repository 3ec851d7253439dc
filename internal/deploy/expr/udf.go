package expr

import (
	"errors"
	"fmt"
	"strings"
)

// UserFunction is one member of a template's "functions" section:
//
//	"functions": [{"namespace": "ns", "members": {"fn": {
//	    "parameters": [{"name": "p", "type": "string"}],
//	    "output": {"type": "string", "value": "[...]"}}}}]
//
// Inside its output only its own parameters (through parameters()) and other
// user-defined functions are visible: variables(), reference() and list*()
// fail, as ARM rules.
type UserFunction struct {
	Namespace  string
	Name       string
	Parameters []FunctionParameter
	OutputType string // "" when the output declares a $ref type instead
	Output     any    // the output value, usually an expression string
}

// FunctionParameter is a user-defined function's parameter. Type is ""
// when the parameter declares a $ref type; such values are not checked here.
type FunctionParameter struct {
	Name     string
	Type     string
	Nullable bool
}

// UserFunctions is a template's set of user-defined functions, looked up
// case-insensitively by namespace and name.
type UserFunctions struct {
	byName map[string]*UserFunction
}

func udfKey(ns, name string) string { return strings.ToLower(ns) + "." + strings.ToLower(name) }

// NewUserFunctions indexes functions; a duplicate name is an error.
func NewUserFunctions(fns ...*UserFunction) (*UserFunctions, error) {
	u := &UserFunctions{byName: make(map[string]*UserFunction, len(fns))}
	for _, f := range fns {
		k := udfKey(f.Namespace, f.Name)
		if _, dup := u.byName[k]; dup {
			return nil, fmt.Errorf("The template function '%s.%s' is defined more than once.", f.Namespace, f.Name)
		}
		u.byName[k] = f
	}
	return u, nil
}

// Lookup finds a function.
func (u *UserFunctions) Lookup(namespace, name string) (*UserFunction, bool) {
	if u == nil {
		return nil, false
	}
	f, ok := u.byName[udfKey(namespace, name)]
	return f, ok
}

// ParseFunctions reads a template's "functions" section (as decoded by
// DecodeJSON or FromJSON) into a function set, parsing every output
// expression so errors show before any evaluation.
func ParseFunctions(section any) (*UserFunctions, error) {
	if section == nil {
		return NewUserFunctions()
	}
	list, ok := section.([]any)
	if !ok {
		return nil, errors.New("The template 'functions' section must be an array.")
	}
	var fns []*UserFunction
	for i, nsv := range list {
		nso, ok := nsv.(*Object)
		if !ok {
			return nil, fmt.Errorf("The template function namespace at index '%d' must be an object.", i)
		}
		ns, _ := getString(nso, "namespace")
		if ns == "" {
			return nil, fmt.Errorf("The template function namespace at index '%d' has no 'namespace'.", i)
		}
		membersV, _ := nso.Get("members")
		members, ok := membersV.(*Object)
		if !ok {
			return nil, fmt.Errorf("The template function namespace '%s' must have a 'members' object.", ns)
		}
		for j, name := range members.keys {
			def, ok := members.vals[j].(*Object)
			if !ok {
				return nil, fmt.Errorf("The template function '%s.%s' must be an object.", ns, name)
			}
			f := &UserFunction{Namespace: ns, Name: name}
			if pv, ok := def.Get("parameters"); ok && pv != nil {
				plist, ok := pv.([]any)
				if !ok {
					return nil, fmt.Errorf("The parameters of template function '%s.%s' must be an array.", ns, name)
				}
				for _, p := range plist {
					po, ok := p.(*Object)
					if !ok {
						return nil, fmt.Errorf("A parameter of template function '%s.%s' must be an object.", ns, name)
					}
					pn, _ := getString(po, "name")
					pt, _ := getString(po, "type")
					if pn == "" {
						return nil, fmt.Errorf("A parameter of template function '%s.%s' has no name.", ns, name)
					}
					if po.Has("defaultValue") {
						return nil, fmt.Errorf("The parameter '%s' of template function '%s.%s' can't have a default value.", pn, ns, name)
					}
					nullable, _ := po.Get("nullable")
					f.Parameters = append(f.Parameters, FunctionParameter{Name: pn, Type: pt, Nullable: nullable == true})
				}
			}
			ov, _ := def.Get("output")
			out, ok := ov.(*Object)
			if !ok {
				return nil, fmt.Errorf("The template function '%s.%s' must have an 'output' object.", ns, name)
			}
			f.OutputType, _ = getString(out, "type")
			f.Output, _ = out.Get("value")
			if err := validateExpressions(f.Output, 0); err != nil {
				return nil, fmt.Errorf("The template function '%s.%s' is not valid: %w", ns, name, err)
			}
			fns = append(fns, f)
		}
	}
	return NewUserFunctions(fns...)
}

func getString(o *Object, key string) (string, bool) {
	v, ok := o.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

// validateExpressions parses every expression string in a value tree.
func validateExpressions(v any, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("the value is nested too deeply")
	}
	switch t := v.(type) {
	case string:
		if IsExpression(t) {
			_, err := Parse(t)
			return err
		}
	case []any:
		for _, e := range t {
			if err := validateExpressions(e, depth+1); err != nil {
				return err
			}
		}
	case *Object:
		for i, k := range t.keys {
			if IsExpression(k) {
				if _, err := Parse(k); err != nil {
					return err
				}
			}
			if err := validateExpressions(t.vals[i], depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ev *evaluator) callUser(c *Call) (any, error) {
	fn, ok := ev.ctx.Functions.Lookup(c.Namespace, c.Name)
	if !ok {
		return nil, ev.wrap(c, errorf("The template function '%s.%s' is not valid. Please see %s for usage details.", c.Namespace, c.Name, FunctionsHelp))
	}
	if len(c.Args) != len(fn.Parameters) {
		return nil, ev.wrap(c, errorf("The template language function '%s.%s' expects exactly '%d' parameter(s). The function was invoked with '%d' parameter(s).", c.Namespace, c.Name, len(fn.Parameters), len(c.Args)))
	}
	params := NewObject(len(fn.Parameters))
	for i, a := range c.Args {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		p := fn.Parameters[i]
		if !(v == nil && p.Nullable) && !matchesType(v, p.Type) {
			return nil, ev.wrap(c, errorf("The template language function '%s.%s' expects its parameter '%s' to be of type '%s'. The provided value is of type '%s'.", c.Namespace, c.Name, p.Name, p.Type, TypeName(v)))
		}
		params.Set(p.Name, v)
	}
	if ev.depth >= maxCallDepth {
		return nil, ev.wrap(c, errorf("The template language expression nests lambda and user-defined function calls more than '%d' levels deep.", maxCallDepth))
	}
	saveFrames, saveUDF, saveText := ev.frames, ev.udf, ev.text
	ev.frames, ev.udf = nil, &udfFrame{fn: fn, params: params}
	ev.depth++
	v, err := ev.evalUserValue(fn.Output, 0)
	ev.depth--
	ev.frames, ev.udf, ev.text = saveFrames, saveUDF, saveText
	if err != nil {
		var placed *Error
		if errors.As(err, &placed) {
			return nil, &Error{Expression: ev.text, Position: ev.pos(c), Message: fmt.Sprintf("The template function '%s.%s' failed: %s", c.Namespace, c.Name, placed.Message), Err: placed}
		}
		return nil, ev.wrap(c, err)
	}
	if !matchesType(v, fn.OutputType) {
		return nil, ev.wrap(c, errorf("The output of template function '%s.%s' is of type '%s' but is declared as '%s'.", c.Namespace, c.Name, TypeName(v), fn.OutputType))
	}
	return v, nil
}

// evalUserValue evaluates a user function's output value tree within the
// function's scope (ev.udf).
func (ev *evaluator) evalUserValue(v any, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("The template value is nested too deeply.")
	}
	switch t := v.(type) {
	case string:
		if !IsExpression(t) {
			return Literal(t), nil
		}
		e, err := Parse(t)
		if err != nil {
			return nil, err
		}
		ev.text = e.Text
		r, err := ev.eval(e.Root)
		if err != nil {
			return nil, err
		}
		if _, ok := r.(*Lambda); ok {
			return nil, ev.wrap(e.Root, errorf("The template language function 'lambda' can only be used as a parameter of the functions filter, map, reduce, sort, toObject, groupBy and mapValues."))
		}
		return r, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := ev.evalUserValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case *Object:
		out := NewObject(t.Len())
		for i, k := range t.keys {
			key := k
			if IsExpression(k) || strings.HasPrefix(k, "[[") {
				kv, err := ev.evalUserValue(k, depth+1)
				if err != nil {
					return nil, err
				}
				ks, ok := kv.(string)
				if !ok {
					return nil, fmt.Errorf("The template property name '%s' must evaluate to a string, not '%s'.", k, TypeName(kv))
				}
				key = ks
			}
			r, err := ev.evalUserValue(t.vals[i], depth+1)
			if err != nil {
				return nil, err
			}
			out.Set(key, r)
		}
		return out, nil
	default:
		return v, nil
	}
}

// matchesType checks a value against a template type name (string, int,
// bool, array, object, securestring, secureObject); "" matches anything.
func matchesType(v any, typ string) bool {
	switch strings.ToLower(typ) {
	case "":
		return true
	case "string", "securestring":
		_, ok := v.(string)
		return ok
	case "int":
		_, ok := v.(int64)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object", "secureobject":
		_, ok := v.(*Object)
		return ok
	case "any":
		return true
	}
	return true // unknown type names are the template layer's to validate
}
