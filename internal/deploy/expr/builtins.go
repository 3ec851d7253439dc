package expr

import (
	"math"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Info describes a built-in function for the template layer, which decides
// where a function may appear (ARM allows utcNow() and newGuid() only in
// parameter default values, and reference()/list*() not in variables or
// resource names).
type Info struct {
	Name     string // canonical spelling, e.g. "uniqueString"
	Category string // as the Azure docs group them: array, comparison, date, ...
	// ParameterDefaultOnly functions (utcNow, newGuid) are nondeterministic
	// and valid only in a parameter's defaultValue.
	ParameterDefaultOnly bool
	// Runtime functions (reference, list*) read deployed resources, so
	// their value is known only once the resource is deployed.
	Runtime bool
}

type builtin struct {
	Info
	min, max    int // max < 0: no limit
	eager       func(ev *evaluator, name string, args []any) (any, error)
	lazy        func(ev *evaluator, c *Call) (any, error)
	takesLambda bool
}

var builtins = map[string]*builtin{}

func register(b *builtin) {
	builtins[strings.ToLower(b.Name)] = b
}

// fn registers an eagerly evaluated function.
func fn(category, name string, min, max int, f func(ev *evaluator, name string, args []any) (any, error)) *builtin {
	b := &builtin{Info: Info{Name: name, Category: category}, min: min, max: max, eager: f}
	register(b)
	return b
}

// lazyFn registers a function that evaluates its own arguments.
func lazyFn(category, name string, min, max int, f func(ev *evaluator, c *Call) (any, error)) *builtin {
	b := &builtin{Info: Info{Name: name, Category: category}, min: min, max: max, lazy: f}
	register(b)
	return b
}

func lookupBuiltin(name string) *builtin {
	if b, ok := builtins[name]; ok {
		return b
	}
	return builtins[strings.ToLower(name)]
}

// listBuiltin stands for every list*() function (listKeys, listSecrets, ...).
var listBuiltin = &builtin{Info: Info{Name: "list*", Category: "resource", Runtime: true}, min: 2, max: 3, eager: listFunction}

// isListFunction reports whether name is one of ARM's list* functions,
// which exist for any POST action named list...: listKeys, listSecrets,
// listAccountSas, ...
func isListFunction(name string) bool {
	if len(name) < 4 || !strings.EqualFold(name[:4], "list") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isIdentChar(name[i]) {
			return false
		}
	}
	return true
}

// FunctionInfo describes a built-in function, looked up case-insensitively.
// Every list* name is a runtime resource function.
func FunctionInfo(name string) (Info, bool) {
	if b := lookupBuiltin(name); b != nil {
		return b.Info, true
	}
	if isListFunction(name) {
		i := listBuiltin.Info
		i.Name = name
		return i, true
	}
	return Info{}, false
}

// Builtins lists every built-in function, sorted by name.
func Builtins() []Info {
	out := make([]Info, 0, len(builtins))
	for _, b := range builtins {
		out = append(out, b.Info)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// Walk calls visit for n and every node below it, depth first; visit
// returning false skips a node's children.
func Walk(n Node, visit func(Node) bool) {
	if n == nil || !visit(n) {
		return
	}
	switch t := n.(type) {
	case *Call:
		for _, a := range t.Args {
			Walk(a, visit)
		}
	case *Property:
		Walk(t.Target, visit)
	case *Index:
		Walk(t.Target, visit)
		Walk(t.Index, visit)
	}
}

// Calls lists the calls in an expression (for the template layer to find
// reference() dependencies or misplaced utcNow()).
func Calls(n Node) []*Call {
	var calls []*Call
	Walk(n, func(n Node) bool {
		if c, ok := n.(*Call); ok {
			calls = append(calls, c)
		}
		return true
	})
	return calls
}

// ---- argument helpers ----

func argString(name string, i int, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", typeError(name, i, "String", v)
	}
	return s, nil
}

func argInt(name string, i int, v any) (int64, error) {
	switch t := v.(type) {
	case int64:
		return t, nil
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 9.2e18 {
			return int64(t), nil
		}
	}
	return 0, typeError(name, i, "Integer", v)
}

func argBool(name string, i int, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, typeError(name, i, "Boolean", v)
	}
	return b, nil
}

func argArray(name string, i int, v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, typeError(name, i, "Array", v)
	}
	return a, nil
}

func argObject(name string, i int, v any) (*Object, error) {
	o, ok := v.(*Object)
	if !ok {
		return nil, typeError(name, i, "Object", v)
	}
	return o, nil
}

func argLambda(name string, i int, v any, params int) (*Lambda, error) {
	l, ok := v.(*Lambda)
	if !ok {
		return nil, errorf("The template language function '%s' expects its %s parameter to be a lambda function. The provided value is of type '%s'.", name, ordinal(i), TypeName(v))
	}
	if len(l.Params) > params || len(l.Params) == 0 {
		return nil, errorf("The lambda function passed to '%s' must have between 1 and %d parameter(s); it has '%d'.", name, params, len(l.Params))
	}
	return l, nil
}

// ---- UTF-16 string helpers: ARM strings are .NET strings, so length,
// indexes and substrings count UTF-16 code units. ----

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func utf16Len(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// utf16Slice returns s[from:to] counted in UTF-16 code units.
func utf16Slice(s string, from, to int) string {
	if isASCII(s) {
		return s[from:to]
	}
	u := utf16.Encode([]rune(s))
	return string(utf16.Decode(u[from:to]))
}

// utf16Index converts a byte offset in s to a UTF-16 offset.
func utf16Index(s string, byteOff int) int {
	if byteOff < 0 {
		return -1
	}
	return utf16Len(s[:byteOff])
}
