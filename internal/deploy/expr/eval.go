package expr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Host is what the deployment engine provides to evaluation: the values
// and objects that depend on the deployment being run. Each method answers
// one deployment-context function. A method that cannot answer in the
// current template location (reference() in a variable, say) returns an
// error worded for the user; expr adds the function name and position.
// Return an error wrapping ErrNotFound from Parameter and Variable for an
// unknown name and expr words it as ARM does.
//
// Implementations must be safe for concurrent use if the same Context is
// used from several goroutines. Embed NoHost to get a clear error for every
// method not implemented. A method returning an *Error has its Message
// used verbatim; any other error is prefixed "Unable to evaluate template
// language function 'name': ". Either way the host's error stays reachable
// with errors.As/errors.Is on the *Error evaluation returns.
type Host interface {
	// Scope is where the deployment runs; resourceId() and its variants
	// build IDs from it.
	Scope() Scope
	// Parameter is parameters(name): the parameter's effective value.
	Parameter(name string) (any, error)
	// Variable is variables(name).
	Variable(name string) (any, error)
	// CopyIndex is the current iteration of the named copy loop, or of
	// the innermost one when loop is "". expr adds copyIndex's offset.
	CopyIndex(loop string) (int64, error)
	// Deployment is deployment().
	Deployment() (any, error)
	// Deployer is deployer(): the principal running the deployment.
	Deployer() (any, error)
	// Environment is environment(): the cloud's endpoints and suffixes.
	Environment() (any, error)
	// ResourceGroup is resourceGroup().
	ResourceGroup() (any, error)
	// Subscription is subscription().
	Subscription() (any, error)
	// Tenant is tenant().
	Tenant() (any, error)
	// ManagementGroup is managementGroup().
	ManagementGroup() (any, error)
	// Reference is reference(target, [apiVersion], ['Full']). target is a
	// resource ID or, in languageVersion 2.0, a symbolic resource name;
	// apiVersion is "" when not given.
	Reference(target, apiVersion string, full bool) (any, error)
	// References is references(symbolicName, ['Full']) (languageVersion
	// 2.0): one reference() value per resource of a copy-loop collection.
	References(collection string, full bool) (any, error)
	// List is any list*() function (listKeys, listSecrets, ...): the POST
	// action function on resourceID. body is nil when not given.
	List(function, resourceID, apiVersion string, body any) (any, error)
	// Providers is providers(namespace, [resourceType]); resourceType is
	// "" when not given.
	Providers(namespace, resourceType string) (any, error)
	// PickZones is pickZones(namespace, type, location, [count], [offset]).
	PickZones(namespace, resourceType, location string, count, offset int64) (any, error)
}

// ErrNotFound is what a Host wraps to say a parameter or variable does not
// exist; expr turns it into ARM's message.
var ErrNotFound = errors.New("not found")

// NoHost answers every Host method with an error saying the function is not
// available here. Embed it in a Host to implement only some methods, or use
// it alone where no deployment context exists.
type NoHost struct{ ScopeValue Scope }

func unavailable(fn string) error {
	return fmt.Errorf("the template function '%s' is not available in this context: %w", fn, ErrNotSupported)
}

func (h NoHost) Scope() Scope                { return h.ScopeValue }
func (NoHost) Parameter(string) (any, error) { return nil, ErrNotFound }
func (NoHost) Variable(string) (any, error)  { return nil, ErrNotFound }
func (NoHost) CopyIndex(string) (int64, error) {
	return 0, errors.New("The template function 'copyIndex' is not expected at this location. Please see https://aka.ms/arm-copy for usage details.")
}
func (NoHost) Deployment() (any, error)                    { return nil, unavailable("deployment") }
func (NoHost) Deployer() (any, error)                      { return nil, unavailable("deployer") }
func (NoHost) Environment() (any, error)                   { return nil, unavailable("environment") }
func (NoHost) ResourceGroup() (any, error)                 { return nil, unavailable("resourceGroup") }
func (NoHost) Subscription() (any, error)                  { return nil, unavailable("subscription") }
func (NoHost) Tenant() (any, error)                        { return nil, unavailable("tenant") }
func (NoHost) ManagementGroup() (any, error)               { return nil, unavailable("managementGroup") }
func (NoHost) Reference(string, string, bool) (any, error) { return nil, unavailable("reference") }
func (NoHost) References(string, bool) (any, error)        { return nil, unavailable("references") }
func (NoHost) List(fn, _, _ string, _ any) (any, error)    { return nil, unavailable(fn) }
func (NoHost) Providers(string, string) (any, error)       { return nil, unavailable("providers") }
func (NoHost) PickZones(string, string, string, int64, int64) (any, error) {
	return nil, unavailable("pickZones")
}

// Scope is the deployment scope. Exactly the fields of its level are set:
// a resource group deployment has SubscriptionID and ResourceGroup, a
// subscription deployment SubscriptionID, a management group deployment
// ManagementGroup, a tenant deployment none of them. TenantID is always set.
type Scope struct {
	TenantID        string
	SubscriptionID  string
	ResourceGroup   string
	ManagementGroup string
}

// ScopeLevel is the level a deployment targets.
type ScopeLevel int

const (
	TenantLevel ScopeLevel = iota
	ManagementGroupLevel
	SubscriptionLevel
	ResourceGroupLevel
)

// Level reports the scope's level from the fields that are set.
func (s Scope) Level() ScopeLevel {
	switch {
	case s.ResourceGroup != "":
		return ResourceGroupLevel
	case s.SubscriptionID != "":
		return SubscriptionLevel
	case s.ManagementGroup != "":
		return ManagementGroupLevel
	}
	return TenantLevel
}

// ID is the scope's resource ID, "" for the tenant, so that a child's ID
// is always ID() + "/providers/...".
func (s Scope) ID() string {
	switch s.Level() {
	case ResourceGroupLevel:
		return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + s.ResourceGroup
	case SubscriptionLevel:
		return "/subscriptions/" + s.SubscriptionID
	case ManagementGroupLevel:
		return "/providers/Microsoft.Management/managementGroups/" + s.ManagementGroup
	}
	return ""
}

// DefaultBudget is the work one evaluation may do when Context.Budget is 0:
// about one unit per function call or property access plus one per array
// element or string byte produced. Real templates use a tiny fraction.
const DefaultBudget = 64 << 20

// maxCallDepth bounds user-defined function and lambda nesting at run time.
const maxCallDepth = 64

// Context configures an evaluation. It is read-only during evaluation, so
// one Context may serve many concurrent evaluations if its Host allows.
type Context struct {
	Host Host
	// Functions are the template's user-defined functions; nil if none.
	Functions *UserFunctions
	// Now is the clock for utcNow(); nil makes utcNow() fail. The template
	// layer allows utcNow only in parameter defaults (see Info).
	Now func() time.Time
	// NewGUID returns a random GUID for newGuid(); nil makes it fail.
	NewGUID func() string
	// Budget bounds the work of one evaluation; 0 means DefaultBudget.
	Budget int64
}

// evaluator is the state of one evaluation.
type evaluator struct {
	ctx    *Context
	host   Host
	text   string // expression text for error positions
	used   int64
	budget int64
	depth  int
	frames *lambdaFrame
	udf    *udfFrame
}

type lambdaFrame struct {
	name  string
	value any
	up    *lambdaFrame
}

type udfFrame struct {
	fn     *UserFunction
	params *Object
}

// Lambda is the value of lambda(...): parameter names and a body evaluated
// with lambdaVariables() bound. It is only valid as an argument to the
// lambda functions (filter, map, reduce, sort, toObject, groupBy,
// mapValues) and never appears in a result.
type Lambda struct {
	Params []string
	Body   Node
	text   string
	frames *lambdaFrame
	udf    *udfFrame
}

var errBudget = errors.New("The template language expression is too costly to evaluate: it exceeds the work and memory keyless allows for one expression.")

func (ev *evaluator) charge(n int64) error {
	ev.used += n
	if ev.used > ev.budget {
		return errBudget
	}
	return nil
}

func newEvaluator(ctx *Context, text string) *evaluator {
	if ctx == nil {
		ctx = &Context{}
	}
	ev := &evaluator{ctx: ctx, host: ctx.Host, text: text, budget: ctx.Budget}
	if ev.host == nil {
		ev.host = NoHost{}
	}
	if ev.budget <= 0 {
		ev.budget = DefaultBudget
	}
	return ev
}

// Eval evaluates the expression.
func (e *Expression) Eval(ctx *Context) (any, error) {
	ev := newEvaluator(ctx, e.Text)
	return ev.top(e.Root)
}

// Eval evaluates a parsed node. Error positions are byte offsets into the
// text the node was parsed from; prefer Expression.Eval, which reports
// character positions and quotes the expression.
func Eval(n Node, ctx *Context) (any, error) {
	ev := newEvaluator(ctx, "")
	return ev.top(n)
}

func (ev *evaluator) top(n Node) (any, error) {
	v, err := ev.eval(n)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(*Lambda); ok {
		return nil, ev.wrap(n, errorf("The template language function 'lambda' can only be used as a parameter of the functions filter, map, reduce, sort, toObject, groupBy and mapValues."))
	}
	return v, nil
}

// EvalString evaluates a JSON string value from a template: an expression
// is parsed and evaluated, any other string is returned as its literal
// value ("[[" unescaped).
func EvalString(s string, ctx *Context) (any, error) {
	if !IsExpression(s) {
		return Literal(s), nil
	}
	e, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return e.Eval(ctx)
}

// EvalValue evaluates every expression in a JSON value tree: strings,
// array elements, object member values and object keys (a key that is an
// expression must evaluate to a string). The input is not modified.
func EvalValue(v any, ctx *Context) (any, error) {
	return evalValue(v, ctx, 0)
}

func evalValue(v any, ctx *Context, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("The template value is nested too deeply.")
	}
	switch t := v.(type) {
	case string:
		return EvalString(t, ctx)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := evalValue(e, ctx, depth+1)
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
				kv, err := EvalString(k, ctx)
				if err != nil {
					return nil, err
				}
				ks, ok := kv.(string)
				if !ok {
					return nil, fmt.Errorf("The template property name '%s' must evaluate to a string, not '%s'.", k, TypeName(kv))
				}
				key = ks
			}
			r, err := evalValue(t.vals[i], ctx, depth+1)
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

// wrap places an error at node n, unless it is already placed.
func (ev *evaluator) wrap(n Node, err error) error {
	if placed, ok := err.(*Error); ok {
		return placed
	}
	e := &Error{Expression: ev.text, Position: ev.pos(n), Message: err.Error()}
	if ee, ok := err.(*evalError); ok {
		e.Err = ee.err
	} else if err != errBudget {
		e.Err = err
	}
	return e
}

func (ev *evaluator) pos(n Node) int {
	if ev.text == "" {
		return n.Pos()
	}
	return charPos(ev.text, n.Pos())
}

func (ev *evaluator) eval(n Node) (any, error) {
	if err := ev.charge(1); err != nil {
		return nil, ev.wrap(n, err)
	}
	switch t := n.(type) {
	case *StringLit:
		return t.Value, nil
	case *IntLit:
		return t.Value, nil
	case *Call:
		return ev.call(t)
	case *Property:
		target, err := ev.eval(t.Target)
		if err != nil {
			return nil, err
		}
		v, err := property(target, t.Name)
		if err != nil {
			return nil, ev.wrap(n, err)
		}
		return v, nil
	case *Index:
		target, err := ev.eval(t.Target)
		if err != nil {
			return nil, err
		}
		idx, err := ev.eval(t.Index)
		if err != nil {
			return nil, err
		}
		v, err := index(target, idx)
		if err != nil {
			return nil, ev.wrap(n, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("expr: unknown node %T", n)
}

// property is ".name" access: case-insensitive on objects.
func property(target any, name string) (any, error) {
	switch t := target.(type) {
	case *Object:
		if v, ok := t.Get(name); ok {
			return v, nil
		}
		return nil, errorf("The language expression property '%s' doesn't exist, available properties are '%s'.", name, strings.Join(t.keys, ", "))
	case nil:
		return nil, errorf("The language expression property '%s' can't be evaluated because the value is null. Use the safe-dereference function tryGet() for optional values.", name)
	default:
		return nil, errorf("The language expression property '%s' can't be evaluated, property selection is not supported on values of type '%s'.", name, TypeName(target))
	}
}

// index is "[x]" access: an integer into an array, a string into an object.
func index(target, idx any) (any, error) {
	switch t := target.(type) {
	case []any:
		i, ok := idx.(int64)
		if !ok {
			return nil, errorf("The language expression property array index must be an integer, not '%s'.", TypeName(idx))
		}
		if i < 0 || i >= int64(len(t)) {
			return nil, errorf("The language expression property array index '%d' is out of bounds.", i)
		}
		return t[i], nil
	case *Object:
		name, ok := idx.(string)
		if !ok {
			return nil, errorf("The language expression property '%v' can't be evaluated, property name must be a string.", display(idx))
		}
		return property(t, name)
	case nil:
		return nil, errorf("The language expression property '%v' can't be evaluated because the value is null. Use the safe-dereference function tryGet() for optional values.", display(idx))
	default:
		return nil, errorf("The language expression property '%v' can't be evaluated, property selection is not supported on values of type '%s'.", display(idx), TypeName(target))
	}
}

func display(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := appendJSON(nil, v, false, 0)
	if err != nil {
		return TypeName(v)
	}
	return string(b)
}

func (ev *evaluator) call(c *Call) (any, error) {
	if c.Namespace != "" {
		return ev.callUser(c)
	}
	fn := lookupBuiltin(c.Name)
	if fn == nil {
		if isListFunction(c.Name) {
			fn = listBuiltin
		} else {
			return nil, ev.wrap(c, errorf("The template function '%s' is not valid. Please see %s for usage details.", c.Name, FunctionsHelp))
		}
	}
	if err := checkArity(fn, c); err != nil {
		return nil, ev.wrap(c, err)
	}
	if fn.lazy != nil {
		v, err := fn.lazy(ev, c)
		if err != nil {
			return nil, ev.wrap(c, err)
		}
		return v, nil
	}
	args := make([]any, len(c.Args))
	for i, a := range c.Args {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		if l, ok := v.(*Lambda); ok && !fn.takesLambda {
			_ = l
			return nil, ev.wrap(a, errorf("The template language function 'lambda' can only be used as a parameter of the functions filter, map, reduce, sort, toObject, groupBy and mapValues."))
		}
		args[i] = v
	}
	v, err := fn.eager(ev, c.Name, args)
	if err != nil {
		return nil, ev.wrap(c, err)
	}
	return v, nil
}

func checkArity(fn *builtin, c *Call) error {
	n := len(c.Args)
	if n >= fn.min && (fn.max < 0 || n <= fn.max) {
		return nil
	}
	var want string
	switch {
	case fn.max == fn.min:
		want = fmt.Sprintf("exactly '%d'", fn.min)
	case fn.max < 0:
		want = fmt.Sprintf("at least '%d'", fn.min)
	default:
		want = fmt.Sprintf("between '%d' and '%d'", fn.min, fn.max)
	}
	return errorf("The template language function '%s' expects %s parameter(s). The function was invoked with '%d' parameter(s). Please see %s for usage details.", c.Name, want, n, FunctionsHelp)
}

// invoke calls a lambda with its arguments bound.
func (ev *evaluator) invoke(l *Lambda, args ...any) (any, error) {
	if ev.depth >= maxCallDepth {
		return nil, errorf("The template language expression nests lambda and user-defined function calls more than '%d' levels deep.", maxCallDepth)
	}
	saveFrames, saveUDF, saveText := ev.frames, ev.udf, ev.text
	frames := l.frames
	for i, p := range l.Params {
		var v any
		if i < len(args) {
			v = args[i]
		}
		frames = &lambdaFrame{name: p, value: v, up: frames}
	}
	ev.frames, ev.udf, ev.text = frames, l.udf, l.text
	ev.depth++
	v, err := ev.eval(l.Body)
	ev.depth--
	ev.frames, ev.udf, ev.text = saveFrames, saveUDF, saveText
	if err != nil {
		return nil, err
	}
	if _, ok := v.(*Lambda); ok {
		return nil, errorf("A lambda function can't return a lambda function.")
	}
	return v, nil
}
