package template

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// exprCache holds every parsed expression of a document, keyed by its
// text, so each is parsed once however many copy instances evaluate it.
// Nested templates share their parent's cache.
type exprCache struct {
	mu sync.RWMutex
	m  map[string]*expr.Expression
}

func newExprCache() *exprCache { return &exprCache{m: map[string]*expr.Expression{}} }

func (c *exprCache) get(s string) (*expr.Expression, error) {
	c.mu.RLock()
	e, ok := c.m[s]
	c.mu.RUnlock()
	if ok {
		return e, nil
	}
	e, err := expr.Parse(s)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[s] = e
	c.mu.Unlock()
	return e, nil
}

// evalContext is where in a template an expression sits, which decides
// the functions it may call (ARM: utcNow and newGuid only in parameter
// defaults; reference and list* only where resources have been deployed).
type evalContext int

const (
	ctxParamDefault evalContext = iota
	ctxVariable
	ctxBind    // resource names, types, conditions, copy counts, dependsOn, scope
	ctxRuntime // resource bodies and outputs
)

func (c evalContext) allowsRuntime() bool { return c == ctxRuntime }
func (c evalContext) allowsNondet() bool  { return c == ctxParamDefault }

// compile parses every expression in a value tree and checks the
// functions each calls: that they exist and may be used here.
func (t *Template) compile(v any, path jsonPath, ctx evalContext, onErr func(place, string, error) *Error) error {
	return t.compileValue(v, path, ctx, onErr, 0)
}

func (t *Template) compileValue(v any, path jsonPath, ctx evalContext, onErr func(place, string, error) *Error, depth int) error {
	if depth > maxDocDepth {
		return onErr(t.at(path), "the value is nested too deeply", nil)
	}
	switch x := v.(type) {
	case string:
		return t.compileString(x, path, ctx, onErr)
	case []any:
		for i, e := range x {
			if err := t.compileValue(e, path.idx(i), ctx, onErr, depth+1); err != nil {
				return err
			}
		}
	case *expr.Object:
		for i := 0; i < x.Len(); i++ {
			k, e := x.At(i)
			if err := t.compileString(k, path.key(k), ctx, onErr); err != nil {
				return err
			}
			if err := t.compileValue(e, path.key(k), ctx, onErr, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Template) compileString(s string, path jsonPath, ctx evalContext, onErr func(place, string, error) *Error) error {
	if !expr.IsExpression(s) {
		return nil
	}
	e, err := t.exprs.get(s)
	if err != nil {
		return onErr(t.at(path), causeMessage(err), err)
	}
	var bad error
	expr.Walk(e.Root, func(n expr.Node) bool {
		if bad != nil {
			return false
		}
		c, ok := n.(*expr.Call)
		if !ok {
			return true
		}
		if c.Namespace != "" {
			if _, ok := t.funcs.Lookup(c.Namespace, c.Name); !ok {
				bad = fmt.Errorf("The template function '%s.%s' is not valid. Please see %s for usage details.", c.Namespace, c.Name, expr.FunctionsHelp)
			}
			return true
		}
		info, ok := expr.FunctionInfo(c.Name)
		switch {
		case !ok:
			bad = fmt.Errorf("The template function '%s' is not valid. Please see %s for usage details.", c.Name, expr.FunctionsHelp)
		case info.ParameterDefaultOnly && !ctx.allowsNondet():
			bad = fmt.Errorf("The template function '%s' is not expected at this location. The function can only be used with parameter default values. Please see %s for usage details.", info.Name, expr.FunctionsHelp)
		case info.Runtime && !ctx.allowsRuntime():
			bad = fmt.Errorf("The template function '%s' is not expected at this location. Please see %s for usage details.", c.Name, expr.FunctionsHelp)
		case ctx == ctxParamDefault && strings.EqualFold(c.Name, "variables"):
			bad = fmt.Errorf("The template function 'variables' is not expected at this location: a parameter's default value cannot use variables. Please see %s for usage details.", expr.FunctionsHelp)
		}
		return true
	})
	if bad != nil {
		return onErr(t.at(path), fmt.Sprintf("The template language expression '%s' is not valid: %s", strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), bad.Error()), bad)
	}
	return nil
}

// errPlace is where an evaluation failed: the path of the value whose
// expression failed, carried out of evalTree.
type errPlace struct {
	path jsonPath
	err  error
}

func (e *errPlace) Error() string { return e.err.Error() }
func (e *errPlace) Unwrap() error { return e.err }

// splitPlace separates an evaluation error from its path.
func splitPlace(err error) (jsonPath, error) {
	var ep *errPlace
	if errors.As(err, &ep) {
		return ep.path, ep.err
	}
	return nil, err
}
