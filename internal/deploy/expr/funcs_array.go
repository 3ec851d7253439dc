package expr

import (
	"sort"
	"strings"
	"unicode"
)

// Array, object and comparison functions. Several (concat, contains,
// empty, first, last, indexOf, lastIndexOf, length, skip, take) accept
// strings too, as ARM's do.

func init() {
	fn("array", "array", 1, 1, fnArray)
	fn("array", "concat", 0, -1, fnConcat)
	fn("array", "contains", 2, 2, fnContains)
	fn("array", "createArray", 0, -1, fnCreateArray)
	fn("array", "empty", 1, 1, fnEmpty)
	fn("array", "first", 1, 1, fnFirst)
	fn("array", "last", 1, 1, fnLast)
	fn("array", "flatten", 1, 1, fnFlatten)
	fn("array", "indexOf", 2, 2, fnIndexOf)
	fn("array", "lastIndexOf", 2, 2, fnLastIndexOf)
	fn("array", "intersection", 2, -1, fnIntersection)
	fn("array", "length", 1, 1, fnLength)
	fn("array", "range", 2, 2, fnRange)
	fn("array", "skip", 2, 2, fnSkip)
	fn("array", "take", 2, 2, fnTake)
	fn("array", "union", 2, -1, fnUnion)
	fn("object", "items", 1, 1, fnItems)
	fn("object", "createObject", 0, -1, fnCreateObject)
	fn("object", "null", 0, 0, func(*evaluator, string, []any) (any, error) { return nil, nil })
	fn("object", "objectKeys", 1, 1, fnObjectKeys)
	fn("object", "shallowMerge", 1, 1, fnShallowMerge)
	fn("object", "tryGet", 2, -1, fnTryGet)
	lazyFn("comparison", "coalesce", 1, -1, fnCoalesce)
	fn("comparison", "equals", 2, 2, func(_ *evaluator, _ string, a []any) (any, error) { return deepEqual(a[0], a[1]), nil })
	fn("comparison", "greater", 2, 2, comparison(func(c int) bool { return c > 0 }))
	fn("comparison", "greaterOrEquals", 2, 2, comparison(func(c int) bool { return c >= 0 }))
	fn("comparison", "less", 2, 2, comparison(func(c int) bool { return c < 0 }))
	fn("comparison", "lessOrEquals", 2, 2, comparison(func(c int) bool { return c <= 0 }))
}

// maxRange is ARM's limit on range()'s count.
const maxRange = 10000

func fnArray(ev *evaluator, name string, args []any) (any, error) {
	if a, ok := args[0].([]any); ok {
		return a, nil
	}
	return []any{args[0]}, nil
}

func fnCreateArray(ev *evaluator, name string, args []any) (any, error) {
	out := make([]any, len(args))
	copy(out, args)
	return out, ev.charge(int64(len(out)))
}

func fnConcat(ev *evaluator, name string, args []any) (any, error) {
	if len(args) == 0 {
		return "", nil
	}
	if _, ok := args[0].([]any); ok {
		var out []any
		for i, a := range args {
			switch t := a.(type) {
			case []any:
				out = append(out, t...)
			case nil:
			default:
				return nil, errorf("The template language function 'concat' expects its parameters to be either all arrays or all strings, integers and booleans. The %s parameter is of type '%s'. Please see %s for usage details.", ordinal(i), TypeName(a), FunctionsHelp)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, ev.charge(int64(len(out)))
	}
	var b strings.Builder
	for i, a := range args {
		s, err := concatString(name, i, a)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	out := b.String()
	return out, ev.chargeString(out)
}

func fnContains(ev *evaluator, name string, args []any) (any, error) {
	switch t := args[0].(type) {
	case string:
		s, err := concatString(name, 1, args[1])
		if err != nil {
			return nil, err
		}
		return strings.Contains(t, s), nil
	case []any:
		for _, e := range t {
			if deepEqual(e, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case *Object:
		k, ok := args[1].(string)
		if !ok {
			return nil, typeError(name, 1, "String", args[1])
		}
		return t.Has(k), nil
	}
	return nil, errorf("The template language function 'contains' expects its first parameter to be an array, an object or a string. The provided value is of type '%s'. Please see %s for usage details.", TypeName(args[0]), FunctionsHelp)
}

func fnEmpty(ev *evaluator, name string, args []any) (any, error) {
	switch t := args[0].(type) {
	case nil:
		return true, nil
	case string:
		return t == "", nil
	case []any:
		return len(t) == 0, nil
	case *Object:
		return t.Len() == 0, nil
	}
	return nil, errorf("The template language function 'empty' expects its parameter to be an array, an object, a string or null. The provided value is of type '%s'. Please see %s for usage details.", TypeName(args[0]), FunctionsHelp)
}

func firstLast(name string, v any, last bool) (any, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		if t == "" {
			return "", nil
		}
		n := utf16Len(t)
		if last {
			return lastChar(t, n), nil
		}
		return firstChar16(t), nil
	case []any:
		if len(t) == 0 {
			return nil, nil
		}
		if last {
			return t[len(t)-1], nil
		}
		return t[0], nil
	}
	return nil, errorf("The template language function '%s' expects its parameter to be an array or a string. The provided value is of type '%s'. Please see %s for usage details.", name, TypeName(v), FunctionsHelp)
}

// firstChar16 and lastChar return one UTF-16 code unit as a string, as
// .NET's s[0].ToString() does (a lone surrogate becomes U+FFFD here).
func firstChar16(s string) string     { return utf16Slice(s, 0, 1) }
func lastChar(s string, n int) string { return utf16Slice(s, n-1, n) }

func fnFirst(ev *evaluator, name string, args []any) (any, error) {
	return firstLast(name, args[0], false)
}
func fnLast(ev *evaluator, name string, args []any) (any, error) {
	return firstLast(name, args[0], true)
}

func fnFlatten(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	out := []any{}
	for i, e := range arr {
		inner, ok := e.([]any)
		if !ok {
			return nil, errorf("The template language function 'flatten' expects its parameter to be an array of arrays; the element at index '%d' is of type '%s'.", i, TypeName(e))
		}
		out = append(out, inner...)
	}
	return out, ev.charge(int64(len(out)))
}

func indexOf(name string, args []any, last bool) (any, error) {
	switch t := args[0].(type) {
	case string:
		s, err := argString(name, 1, args[1])
		if err != nil {
			return nil, err
		}
		return int64(indexFold(t, s, last)), nil
	case []any:
		if last {
			for i := len(t) - 1; i >= 0; i-- {
				if deepEqual(t[i], args[1]) {
					return int64(i), nil
				}
			}
			return int64(-1), nil
		}
		for i, e := range t {
			if deepEqual(e, args[1]) {
				return int64(i), nil
			}
		}
		return int64(-1), nil
	}
	return nil, errorf("The template language function '%s' expects its first parameter to be an array or a string. The provided value is of type '%s'. Please see %s for usage details.", name, TypeName(args[0]), FunctionsHelp)
}

func fnIndexOf(ev *evaluator, name string, args []any) (any, error) {
	return indexOf(name, args, false)
}
func fnLastIndexOf(ev *evaluator, name string, args []any) (any, error) {
	return indexOf(name, args, true)
}

// fnIntersection keeps the elements (arrays) or members with equal values
// (objects) present in every argument, in the first argument's order.
func fnIntersection(ev *evaluator, name string, args []any) (any, error) {
	switch first := args[0].(type) {
	case []any:
		rest := make([][]any, len(args)-1)
		for i, a := range args[1:] {
			arr, err := argArray(name, i+1, a)
			if err != nil {
				return nil, err
			}
			rest[i] = arr
		}
		if err := ev.charge(int64(len(first) * len(args))); err != nil {
			return nil, err
		}
		out := []any{}
	elements:
		for _, e := range first {
			for _, o := range out {
				if deepEqual(o, e) {
					continue elements
				}
			}
			for _, r := range rest {
				if !containsValue(r, e) {
					continue elements
				}
			}
			out = append(out, e)
		}
		return out, nil
	case *Object:
		rest := make([]*Object, len(args)-1)
		for i, a := range args[1:] {
			o, err := argObject(name, i+1, a)
			if err != nil {
				return nil, err
			}
			rest[i] = o
		}
		out := NewObject(first.Len())
	members:
		for i, k := range first.keys {
			for _, r := range rest {
				v, ok := r.Get(k)
				if !ok || !deepEqual(v, first.vals[i]) {
					continue members
				}
			}
			out.Set(k, first.vals[i])
		}
		return out, nil
	}
	return nil, errorf("The template language function 'intersection' expects its parameters to be all arrays or all objects. The first parameter is of type '%s'. Please see %s for usage details.", TypeName(args[0]), FunctionsHelp)
}

func containsValue(arr []any, v any) bool {
	for _, e := range arr {
		if deepEqual(e, v) {
			return true
		}
	}
	return false
}

func fnLength(ev *evaluator, name string, args []any) (any, error) {
	switch t := args[0].(type) {
	case string:
		return int64(utf16Len(t)), nil
	case []any:
		return int64(len(t)), nil
	case *Object:
		return int64(t.Len()), nil
	}
	return nil, errorf("The template language function 'length' expects its parameter to be an array, an object or a string. The provided value is of type '%s'. Please see %s for usage details.", TypeName(args[0]), FunctionsHelp)
}

func fnRange(ev *evaluator, name string, args []any) (any, error) {
	start, err := argInt(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	count, err := argInt(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	if count < 0 || count > maxRange {
		return nil, fnError(name, "the count '%d' must be a non-negative integer no greater than '%d'. Please see https://aka.ms/arm-functions#range for usage details.", count, maxRange)
	}
	if start+count > 2147483647 || start < -2147483648 {
		return nil, fnError(name, "the sum of the start index '%d' and the count '%d' must not exceed '2147483647'. Please see https://aka.ms/arm-functions#range for usage details.", start, count)
	}
	if err := ev.charge(count); err != nil {
		return nil, err
	}
	out := make([]any, count)
	for i := range out {
		out[i] = start + int64(i)
	}
	return out, nil
}

func skipTake(ev *evaluator, name string, args []any, take bool) (any, error) {
	n, err := argInt(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	switch t := args[0].(type) {
	case string:
		l := int64(utf16Len(t))
		n = clamp(n, 0, l)
		if take {
			return utf16Slice(t, 0, int(n)), nil
		}
		return utf16Slice(t, int(n), int(l)), nil
	case []any:
		n = clamp(n, 0, int64(len(t)))
		if take {
			return t[:n:n], nil
		}
		return t[n:], nil
	case nil:
		return nil, nil
	}
	return nil, errorf("The template language function '%s' expects its first parameter to be an array or a string. The provided value is of type '%s'. Please see %s for usage details.", name, TypeName(args[0]), FunctionsHelp)
}

func clamp(n, lo, hi int64) int64 {
	if n < lo {
		return lo
	}
	if n > hi {
		return hi
	}
	return n
}

func fnSkip(ev *evaluator, name string, args []any) (any, error) {
	return skipTake(ev, name, args, false)
}
func fnTake(ev *evaluator, name string, args []any) (any, error) {
	return skipTake(ev, name, args, true)
}

// fnUnion joins arrays without duplicates, or merges objects: later
// arguments win, and members that are objects on both sides are merged
// recursively (ARM: "merges not only the top-level elements but also
// recursively merges any nested objects").
func fnUnion(ev *evaluator, name string, args []any) (any, error) {
	switch args[0].(type) {
	case []any:
		out := []any{}
		for i, a := range args {
			arr, err := argArray(name, i, a)
			if err != nil {
				return nil, err
			}
			if err := ev.charge(int64(len(arr) * (len(out) + 1))); err != nil {
				return nil, err
			}
			for _, e := range arr {
				if !containsValue(out, e) {
					out = append(out, e)
				}
			}
		}
		return out, nil
	case *Object:
		var out *Object
		for i, a := range args {
			o, err := argObject(name, i, a)
			if err != nil {
				return nil, err
			}
			if err := ev.charge(int64(o.Len())); err != nil {
				return nil, err
			}
			if out == nil {
				out = o.Clone()
				continue
			}
			out = mergeDeep(out, o, 0)
		}
		return out, nil
	}
	return nil, errorf("The template language function 'union' expects its parameters to be all arrays or all objects. The first parameter is of type '%s'. Please see %s for usage details.", TypeName(args[0]), FunctionsHelp)
}

func mergeDeep(dst, src *Object, depth int) *Object {
	out := dst.Clone()
	for i, k := range src.keys {
		v := src.vals[i]
		if so, ok := v.(*Object); ok && depth < maxJSONDepth {
			if cur, ok := out.Get(k); ok {
				if co, ok := cur.(*Object); ok {
					out.Set(k, mergeDeep(co, so, depth+1))
					continue
				}
			}
		}
		out.Set(k, v)
	}
	return out
}

// fnItems turns an object into [{key, value}] sorted by key, as ARM's
// items() does ("sorts the objects in alphabetical order").
func fnItems(ev *evaluator, name string, args []any) (any, error) {
	o, err := argObject(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	idx := make([]int, o.Len())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return cultureCompare(o.keys[idx[a]], o.keys[idx[b]]) < 0 })
	out := make([]any, len(idx))
	for j, i := range idx {
		out[j] = ObjectOf("key", o.keys[i], "value", o.vals[i])
	}
	return out, ev.charge(int64(len(out)))
}

func fnCreateObject(ev *evaluator, name string, args []any) (any, error) {
	if len(args)%2 != 0 {
		return nil, fnError(name, "the function requires an even number of parameters: property names alternating with their values. Please see https://aka.ms/arm-functions#createobject for usage details.")
	}
	o := NewObject(len(args) / 2)
	for i := 0; i < len(args); i += 2 {
		k, ok := args[i].(string)
		if !ok {
			return nil, errorf("The template language function 'createObject' expects its property names to be strings; the %s parameter is of type '%s'.", ordinal(i), TypeName(args[i]))
		}
		o.Set(k, args[i+1])
	}
	return o, ev.charge(int64(o.Len()))
}

func fnObjectKeys(ev *evaluator, name string, args []any) (any, error) {
	o, err := argObject(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	out := make([]any, o.Len())
	for i, k := range o.keys {
		out[i] = k
	}
	return out, ev.charge(int64(len(out)))
}

func fnShallowMerge(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	out := NewObject(4)
	for i, e := range arr {
		o, ok := e.(*Object)
		if !ok {
			return nil, errorf("The template language function 'shallowMerge' expects an array of objects; the element at index '%d' is of type '%s'.", i, TypeName(e))
		}
		if err := ev.charge(int64(o.Len())); err != nil {
			return nil, err
		}
		for j, k := range o.keys {
			out.Set(k, o.vals[j])
		}
	}
	return out, nil
}

// fnTryGet is tryGet(itemToTest, keyOrIndex, ...): the value at the path, or
// null when any step is missing (compiled Bicep's ".?" safe dereference).
func fnTryGet(ev *evaluator, name string, args []any) (any, error) {
	cur := args[0]
	for i, k := range args[1:] {
		switch t := cur.(type) {
		case nil:
			return nil, nil
		case *Object:
			ks, ok := k.(string)
			if !ok {
				return nil, errorf("The template language function 'tryGet' expects its %s parameter to be a string to look up in an object. The provided value is of type '%s'.", ordinal(i+1), TypeName(k))
			}
			v, ok := t.Get(ks)
			if !ok {
				return nil, nil
			}
			cur = v
		case []any:
			ki, ok := k.(int64)
			if !ok {
				return nil, errorf("The template language function 'tryGet' expects its %s parameter to be an integer to index an array. The provided value is of type '%s'.", ordinal(i+1), TypeName(k))
			}
			if ki < 0 || ki >= int64(len(t)) {
				return nil, nil
			}
			cur = t[ki]
		default:
			return nil, errorf("The template language function 'tryGet' expects its first parameter to be an object or an array. The provided value is of type '%s'.", TypeName(cur))
		}
	}
	return cur, nil
}

// fnCoalesce returns the first argument that is not null, evaluating no
// further arguments.
func fnCoalesce(ev *evaluator, c *Call) (any, error) {
	for _, a := range c.Args {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		if v != nil {
			return v, nil
		}
	}
	return nil, nil
}

// comparison builds greater/less functions: integers and doubles compare
// by value, strings with the invariant culture (case-insensitive first,
// then lower case before upper case, so greater('A', 'a') is true as the
// Azure docs example shows).
func comparison(ok func(int) bool) func(*evaluator, string, []any) (any, error) {
	return func(ev *evaluator, name string, args []any) (any, error) {
		a, b := args[0], args[1]
		switch x := a.(type) {
		case int64, float64:
			xf := toFloat(x)
			switch y := b.(type) {
			case int64:
				if xi, isInt := x.(int64); isInt {
					return ok(cmpInt(xi, y)), nil
				}
				return ok(cmpFloat(xf, float64(y))), nil
			case float64:
				return ok(cmpFloat(xf, y)), nil
			}
		case string:
			if y, isStr := b.(string); isStr {
				return ok(cultureCompare(x, y)), nil
			}
		}
		return nil, errorf("The template language function '%s' expects two parameters of the same type, both integers or both strings. The provided values are of type '%s' and '%s'. Please see %s for usage details.", name, TypeName(a), TypeName(b), FunctionsHelp)
	}
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case float64:
		return t
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cultureCompare approximates .NET's invariant-culture string comparison:
// letters compare alphabetically ignoring case, and only when two strings
// are equal ignoring case does case decide, lower before upper.
func cultureCompare(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		la, lb := unicode.ToLower(ra[i]), unicode.ToLower(rb[i])
		if la != lb {
			return cmpInt(int64(la), int64(lb))
		}
	}
	if len(ra) != len(rb) {
		return cmpInt(int64(len(ra)), int64(len(rb)))
	}
	for i := range ra {
		if ra[i] != rb[i] {
			if unicode.IsLower(ra[i]) {
				return -1
			}
			return 1
		}
	}
	return 0
}
