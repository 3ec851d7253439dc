package expr

import (
	"sort"
)

// Lambda functions. lambda('x', body) evaluates to a *Lambda closing over
// the lambda variables in scope, and lambdaVariables('x') reads them; the
// higher-order functions invoke it per element.

func init() {
	lazyFn("lambda", "lambda", 1, -1, fnLambda)
	fn("lambda", "lambdaVariables", 1, 1, fnLambdaVariables)
	for _, b := range []*builtin{
		fn("lambda", "filter", 2, 2, fnFilter),
		fn("lambda", "map", 2, 2, fnMap),
		fn("lambda", "reduce", 3, 3, fnReduce),
		fn("lambda", "sort", 2, 2, fnSort),
		fn("lambda", "toObject", 2, 3, fnToObject),
		fn("lambda", "groupBy", 2, 2, fnGroupBy),
		fn("lambda", "mapValues", 2, 2, fnMapValues),
	} {
		b.takesLambda = true
	}
}

func fnLambda(ev *evaluator, c *Call) (any, error) {
	params := make([]string, 0, len(c.Args)-1)
	for i, a := range c.Args[:len(c.Args)-1] {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, errorf("The template language function 'lambda' expects its parameter names to be non-empty strings; the %s parameter is of type '%s'.", ordinal(i), TypeName(v))
		}
		params = append(params, s)
	}
	return &Lambda{Params: params, Body: c.Args[len(c.Args)-1], text: ev.text, frames: ev.frames, udf: ev.udf}, nil
}

func fnLambdaVariables(ev *evaluator, name string, args []any) (any, error) {
	v, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	for f := ev.frames; f != nil; f = f.up {
		if f.name == v {
			return f.value, nil
		}
	}
	return nil, errorf("The template language function 'lambdaVariables' refers to '%s', which is not a parameter of an enclosing lambda function.", v)
}

func fnFilter(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	l, err := argLambda(name, 1, args[1], 2)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for i, e := range arr {
		r, err := ev.invoke(l, e, int64(i))
		if err != nil {
			return nil, err
		}
		keep, ok := r.(bool)
		if !ok {
			return nil, errorf("The lambda function passed to 'filter' must return a boolean; it returned a value of type '%s'.", TypeName(r))
		}
		if keep {
			out = append(out, e)
		}
	}
	return out, nil
}

func fnMap(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	l, err := argLambda(name, 1, args[1], 2)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		r, err := ev.invoke(l, e, int64(i))
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, ev.charge(int64(len(out)))
}

func fnReduce(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	l, err := argLambda(name, 2, args[2], 3)
	if err != nil {
		return nil, err
	}
	acc := args[1]
	for i, e := range arr {
		if acc, err = ev.invoke(l, acc, e, int64(i)); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// fnSort orders by a lambda(a, b) that is true when a comes before b.
func fnSort(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	l, err := argLambda(name, 1, args[1], 2)
	if err != nil {
		return nil, err
	}
	out := append([]any(nil), arr...)
	var firstErr error
	sort.SliceStable(out, func(i, j int) bool {
		if firstErr != nil {
			return false
		}
		r, err := ev.invoke(l, out[i], out[j])
		if err != nil {
			firstErr = err
			return false
		}
		b, ok := r.(bool)
		if !ok {
			firstErr = errorf("The lambda function passed to 'sort' must return a boolean; it returned a value of type '%s'.", TypeName(r))
			return false
		}
		return b
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if out == nil {
		out = []any{}
	}
	return out, ev.charge(int64(len(out)))
}

func fnToObject(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	keyFn, err := argLambda(name, 1, args[1], 1)
	if err != nil {
		return nil, err
	}
	var valFn *Lambda
	if len(args) > 2 {
		if valFn, err = argLambda(name, 2, args[2], 1); err != nil {
			return nil, err
		}
	}
	out := NewObject(len(arr))
	for _, e := range arr {
		k, err := ev.invoke(keyFn, e)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, errorf("The key lambda function passed to 'toObject' must return a string; it returned a value of type '%s'.", TypeName(k))
		}
		v := e
		if valFn != nil {
			if v, err = ev.invoke(valFn, e); err != nil {
				return nil, err
			}
		}
		out.Set(ks, v)
	}
	return out, ev.charge(int64(out.Len()))
}

func fnGroupBy(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	keyFn, err := argLambda(name, 1, args[1], 1)
	if err != nil {
		return nil, err
	}
	out := NewObject(4)
	for _, e := range arr {
		k, err := ev.invoke(keyFn, e)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, errorf("The lambda function passed to 'groupBy' must return a string; it returned a value of type '%s'.", TypeName(k))
		}
		cur, _ := out.Get(ks)
		group, _ := cur.([]any)
		out.Set(ks, append(group, e))
	}
	return out, ev.charge(int64(len(arr)))
}

func fnMapValues(ev *evaluator, name string, args []any) (any, error) {
	o, err := argObject(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	l, err := argLambda(name, 1, args[1], 1)
	if err != nil {
		return nil, err
	}
	out := NewObject(o.Len())
	for i, k := range o.keys {
		v, err := ev.invoke(l, o.vals[i])
		if err != nil {
			return nil, err
		}
		out.Set(k, v)
	}
	return out, ev.charge(int64(out.Len()))
}
