package expr

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// FunctionsHelp is the link ARM appends to template function errors.
const FunctionsHelp = "https://aka.ms/arm-functions"

// Error is a parse or evaluation error. Message reads like ARM's; Position
// is the 0-based character offset of the offending token or call in
// Expression, the full expression text including its brackets. The
// template layer prefixes the JSON path, line and column.
type Error struct {
	Expression string
	Position   int
	Message    string
	// Err is an underlying error reported by the Host, if any; Message
	// already includes its text.
	Err error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the host error the evaluation failed on, so callers can
// test for their own sentinel errors with errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// charPos converts a byte offset in s to a character offset.
func charPos(s string, byteOff int) int {
	if byteOff > len(s) {
		byteOff = len(s)
	}
	if byteOff < 0 {
		return 0
	}
	return utf8.RuneCountInString(s[:byteOff])
}

// evalError is what built-in functions return: a message, later placed at
// the position of the call that failed.
type evalError struct {
	msg string
	err error
}

func (e *evalError) Error() string { return e.msg }
func (e *evalError) Unwrap() error { return e.err }

func errorf(format string, args ...any) error {
	return &evalError{msg: fmt.Sprintf(format, args...)}
}

// fnError is ARM's "Unable to evaluate template language function" form.
func fnError(name, format string, args ...any) error {
	return &evalError{msg: fmt.Sprintf("Unable to evaluate template language function '%s': %s", name, fmt.Sprintf(format, args...))}
}

// typeError is ARM's wording for an argument of the wrong type.
func typeError(name string, argIndex int, want string, got any) error {
	return &evalError{msg: fmt.Sprintf("The template language function '%s' expects its %s parameter to be of type '%s'. The provided value is of type '%s'. Please see %s for usage details.",
		name, ordinal(argIndex), want, TypeName(got), FunctionsHelp)}
}

func ordinal(i int) string {
	names := []string{"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("%dth", i+1)
}

// ErrNotSupported marks functions keyless recognises but cannot evaluate
// faithfully; errors.Is(err, ErrNotSupported) finds it.
var ErrNotSupported = errors.New("not supported")
