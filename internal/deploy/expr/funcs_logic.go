package expr

import (
	"math"
	"strconv"
	"strings"
)

// Logical and numeric functions. if(), and(), or() and coalesce() evaluate
// only the arguments they need: ARM evaluates only the taken branch of
// if(), so templates guard reference() and array indexes with it.

func init() {
	lazyFn("logical", "if", 3, 3, fnIf)
	lazyFn("logical", "and", 2, -1, fnAndOr(false))
	lazyFn("logical", "or", 2, -1, fnAndOr(true))
	fn("logical", "not", 1, 1, fnNot)
	fn("logical", "bool", 1, 1, fnBool)
	fn("logical", "true", 0, 0, func(*evaluator, string, []any) (any, error) { return true, nil })
	fn("logical", "false", 0, 0, func(*evaluator, string, []any) (any, error) { return false, nil })
	fn("logical", "fail", 1, 1, fnFail)

	fn("numeric", "add", 2, 2, arith('+'))
	fn("numeric", "sub", 2, 2, arith('-'))
	fn("numeric", "mul", 2, 2, arith('*'))
	fn("numeric", "div", 2, 2, arith('/'))
	fn("numeric", "mod", 2, 2, arith('%'))
	fn("numeric", "int", 1, 1, fnInt)
	fn("numeric", "float", 1, 1, fnFloat)
	fn("numeric", "max", 1, -1, minMax(true))
	fn("numeric", "min", 1, -1, minMax(false))
}

func fnIf(ev *evaluator, c *Call) (any, error) {
	cond, err := ev.eval(c.Args[0])
	if err != nil {
		return nil, err
	}
	b, ok := cond.(bool)
	if !ok {
		return nil, errorf("The template language function 'if' expects its first parameter to be of type 'Boolean'. The provided value is of type '%s'. Please see %s for usage details.", TypeName(cond), FunctionsHelp)
	}
	if b {
		return ev.eval(c.Args[1])
	}
	return ev.eval(c.Args[2])
}

// fnAndOr short-circuits: and() stops at the first false, or() at the
// first true.
func fnAndOr(isOr bool) func(*evaluator, *Call) (any, error) {
	return func(ev *evaluator, c *Call) (any, error) {
		for i, a := range c.Args {
			v, err := ev.eval(a)
			if err != nil {
				return nil, err
			}
			b, ok := v.(bool)
			if !ok {
				return nil, typeError(c.Name, i, "Boolean", v)
			}
			if b == isOr {
				return isOr, nil
			}
		}
		return !isOr, nil
	}
}

func fnNot(ev *evaluator, name string, args []any) (any, error) {
	b, err := argBool(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return !b, nil
}

// fnBool converts 'true'/'false' (any case), integers (0 is false) and
// booleans.
func fnBool(ev *evaluator, name string, args []any) (any, error) {
	switch t := args[0].(type) {
	case bool:
		return t, nil
	case int64:
		return t != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fnError(name, "the value '%s' is not a valid boolean. Please see https://aka.ms/arm-functions#bool for usage details.", t)
	}
	return nil, typeError(name, 0, "String", args[0])
}

// fnFail fails the deployment with the template's own message.
func fnFail(ev *evaluator, name string, args []any) (any, error) {
	msg, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return nil, errorf("%s", msg)
}

func arith(op byte) func(*evaluator, string, []any) (any, error) {
	return func(ev *evaluator, name string, args []any) (any, error) {
		a, aInt := args[0].(int64)
		b, bInt := args[1].(int64)
		if aInt && bInt {
			switch op {
			case '+':
				s := a + b
				if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
					return nil, fnError(name, "the result overflows a 64-bit integer.")
				}
				return s, nil
			case '-':
				s := a - b
				if (a >= 0 && b < 0 && s < 0) || (a < 0 && b > 0 && s >= 0) {
					return nil, fnError(name, "the result overflows a 64-bit integer.")
				}
				return s, nil
			case '*':
				if a != 0 && b != 0 {
					p := a * b
					if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
						return nil, fnError(name, "the result overflows a 64-bit integer.")
					}
					return p, nil
				}
				return int64(0), nil
			case '/', '%':
				if b == 0 {
					return nil, fnError(name, "Attempted to divide by zero.")
				}
				if a == math.MinInt64 && b == -1 {
					if op == '%' {
						return int64(0), nil
					}
					return nil, fnError(name, "the result overflows a 64-bit integer.")
				}
				if op == '/' {
					return a / b, nil // truncates toward zero, as .NET does
				}
				return a % b, nil
			}
		}
		for i, v := range args {
			switch v.(type) {
			case int64, float64:
			default:
				return nil, typeError(name, i, "Integer", v)
			}
		}
		x, y := toFloat(args[0]), toFloat(args[1])
		var r float64
		switch op {
		case '+':
			r = x + y
		case '-':
			r = x - y
		case '*':
			r = x * y
		case '/':
			if y == 0 {
				return nil, fnError(name, "Attempted to divide by zero.")
			}
			r = x / y
		case '%':
			if y == 0 {
				return nil, fnError(name, "Attempted to divide by zero.")
			}
			r = math.Mod(x, y)
		}
		return r, nil
	}
}

// fnInt converts strings and numbers to integers; doubles round to even as
// .NET's Convert.ToInt64 does.
func fnInt(ev *evaluator, name string, args []any) (any, error) {
	switch t := args[0].(type) {
	case int64:
		return t, nil
	case float64:
		r := math.RoundToEven(t)
		if math.IsNaN(r) || r > math.MaxInt64 || r < math.MinInt64 {
			return nil, fnError(name, "the value '%v' can't be converted to a 64-bit integer.", t)
		}
		return int64(r), nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		if err != nil {
			return nil, fnError(name, "the value '%s' is not a valid integer. Please see https://aka.ms/arm-functions#int for usage details.", t)
		}
		return i, nil
	}
	return nil, typeError(name, 0, "String", args[0])
}

func fnFloat(ev *evaluator, name string, args []any) (any, error) {
	switch t := args[0].(type) {
	case int64:
		return float64(t), nil
	case float64:
		return t, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil {
			return nil, fnError(name, "the value '%s' is not a valid floating point number.", t)
		}
		return f, nil
	}
	return nil, typeError(name, 0, "String", args[0])
}

// minMax is max()/min() over integer arguments or one array of integers.
func minMax(isMax bool) func(*evaluator, string, []any) (any, error) {
	return func(ev *evaluator, name string, args []any) (any, error) {
		vals := args
		if len(args) == 1 {
			arr, ok := args[0].([]any)
			if !ok {
				if _, num := args[0].(int64); !num {
					return nil, typeError(name, 0, "Array", args[0])
				}
			} else {
				vals = arr
			}
		}
		if len(vals) == 0 {
			return nil, fnError(name, "the array must not be empty.")
		}
		var best any
		for i, v := range vals {
			switch v.(type) {
			case int64, float64:
			default:
				return nil, errorf("The template language function '%s' expects integers; the %s value is of type '%s'. Please see %s for usage details.", name, ordinal(i), TypeName(v), FunctionsHelp)
			}
			if best == nil {
				best = v
				continue
			}
			c := cmpFloat(toFloat(v), toFloat(best))
			if bi, ok := best.(int64); ok {
				if vi, ok := v.(int64); ok {
					c = cmpInt(vi, bi)
				}
			}
			if isMax && c > 0 || !isMax && c < 0 {
				best = v
			}
		}
		return best, nil
	}
}
