package template

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// Error codes, as ARM returns them in error.code.
const (
	// CodeInvalidTemplate is every template syntax, validation and
	// binding error (parameters, limits, dependsOn, expressions), and
	// ARM's code for an expression that fails while a resource deploys.
	CodeInvalidTemplate = "InvalidTemplate"
	// CodeDeploymentOutputEvaluationFailed is an output that cannot be
	// evaluated after the resources deployed.
	CodeDeploymentOutputEvaluationFailed = "DeploymentOutputEvaluationFailed"
	// CodeInvalidContentLink is a linked template (templateLink) keyless
	// cannot fetch.
	CodeInvalidContentLink = "InvalidContentLink"
	// CodeInternal is a Deployment the engine filled with a value that is
	// not JSON (a bug in the caller, never the user's template).
	CodeInternal = "InternalServerError"
)

// Help links ARM appends to its messages.
const (
	helpResources  = "https://aka.ms/arm-syntax-resources"
	helpTemplate   = "https://aka.ms/arm-template"
	helpParameters = "https://aka.ms/arm-syntax-parameters"
	helpParamFile  = "https://aka.ms/arm-create-parameter-file"
	helpPassParams = "https://aka.ms/arm-pass-parameter-values"
	helpCopy       = "https://aka.ms/arm-copy"
	helpExprs      = "https://aka.ms/arm-template-expressions"
	helpVariables  = "https://aka.ms/arm-syntax-variables"
	helpOutputs    = "https://aka.ms/arm-syntax-outputs"
	helpLimits     = "https://aka.ms/arm-template/#template-limits"
	helpDebug      = "https://aka.ms/arm-debug"
)

// ErrNotSupported marks template features keyless recognises but does not
// implement; errors.Is(err, ErrNotSupported) finds it. It is expr's
// sentinel, so unsupported functions and features test alike.
var ErrNotSupported = expr.ErrNotSupported

// Error is every error this package returns. The engine maps it to ARM's
// error body: {"code": Code, "message": Message, "target": Target,
// "details": Details, "additionalInfo": [{"type": "TemplateViolation",
// "info": {"lineNumber": Line, "linePosition": Column, "path": Path}}]}.
// Path is relative to the template document ("resources[0].name"); the
// engine prefixes "properties.template." when the template came inline in
// a deployment request, as ARM does. Line and Column are 0 when the error
// has no place in the template text (a parameter value, a limit).
type Error struct {
	Code    string
	Message string
	Target  string
	Path    string
	Line    int
	Column  int
	Details []*Error
	// Err is the underlying cause (an *expr.Error, a Resolver error,
	// ErrNotSupported), for errors.Is/As.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// validationFailed wraps a message the way ARM words template validation
// errors.
func validationFailed(msg string) string {
	return "Deployment template validation failed: '" + msg + "'."
}

// sentence ends a message with a single period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "'") {
		return s
	}
	return s + "."
}

// causeMessage is the message of an underlying error as ARM quotes it.
func causeMessage(err error) string {
	var ee *expr.Error
	if errors.As(err, &ee) {
		return ee.Message
	}
	var te *Error
	if errors.As(err, &te) {
		return te.Message
	}
	return err.Error()
}

// place records where in the template an error is.
type place struct {
	path jsonPath
	line int
	col  int
}

// at finds the line and column of path in the template text.
func (t *Template) at(path jsonPath) place {
	p := place{path: path}
	if t != nil && t.src != nil {
		if end, ok := locate(t.src.text, path); ok {
			p.line, p.col = t.src.lineCol(end)
		}
	}
	return p
}

// atObject is at for a value known to be an object of the document,
// located without scanning the text.
func (t *Template) atObject(o *expr.Object, path jsonPath) place {
	if t != nil && t.src != nil {
		if off, ok := t.src.objPos[o]; ok {
			p := place{path: path}
			p.line, p.col = t.src.lineCol(off)
			return p
		}
	}
	return t.at(path)
}

// lc renders "at line 'l' and column 'c'" or "" without a position.
func (p place) lc() string {
	if p.line == 0 {
		return ""
	}
	return fmt.Sprintf(" at line '%d' and column '%d'", p.line, p.col)
}

// invalid is an InvalidTemplate validation error at a place.
func invalid(p place, cause error, format string, args ...any) *Error {
	return &Error{
		Code:    CodeInvalidTemplate,
		Message: validationFailed(fmt.Sprintf(format, args...)),
		Path:    p.path.String(),
		Line:    p.line,
		Column:  p.col,
		Err:     cause,
	}
}

// resourceInvalid is ARM's "The template resource 'x' at line .. is not
// valid: ..." form.
func resourceInvalid(p place, name string, cause error, format string, args ...any) *Error {
	return invalid(p, cause, "The template resource '%s'%s is not valid: %s Please see %s for usage details.",
		name, p.lc(), sentence(fmt.Sprintf(format, args...)), helpResources)
}

// parseFailed is ARM's error for text that is not JSON.
func parseFailed(data []byte, err error) *Error {
	var se *syntaxError
	if errors.As(err, &se) {
		l, c := lineCol(data, se.offset+1)
		return &Error{
			Code:    CodeInvalidTemplate,
			Message: fmt.Sprintf("Deployment template parse failed: '%s Line %d, position %d.'.", se.msg, l, c),
			Line:    l,
			Column:  c,
			Err:     err,
		}
	}
	return &Error{Code: CodeInvalidTemplate, Message: fmt.Sprintf("Deployment template parse failed: '%s'.", err.Error()), Err: err}
}
