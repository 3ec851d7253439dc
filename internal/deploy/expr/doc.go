// Package expr owns the ARM template expression language: recognising an
// expression string ("[...]"), lexing and parsing it into an AST, evaluating
// the AST, and the whole built-in function library (array, comparison, date,
// deployment, lambda, logical, numeric, object, resource, scope, string and
// CIDR functions) together with invocation of a template's user-defined
// functions.
//
// The package is pure. It must never do I/O, read the clock or a random
// source except through the hooks in Context, touch a store, or import any
// other keyless package. Everything that depends on a deployment — parameter
// and variable values, copy loops, the deployment/subscription/resource
// group/tenant/management group objects, reference(), list*(), providers()
// and pickZones() — is asked of the caller through the Host interface; the
// deployment engine implements it. Resource IDs (resourceId and its scoped
// variants) are computed here from the Scope the Host reports, so the
// engine and what-if agree on every ID.
//
// # Values
//
// Evaluation works on JSON values:
//
//	nil        JSON null
//	bool       true / false
//	int64      ARM integers (64-bit)
//	float64    only numbers that are not integers (json('1.5'), float())
//	string
//	[]any      arrays
//	*Object    objects: insertion-ordered, case-insensitive lookup
//
// ARM looks object properties up case-insensitively (".Properties" finds
// "properties") while keeping the key's spelling, and its string() and
// outputs keep property order; *Object does both. Use DecodeJSON to read
// JSON text into these values preserving order, FromJSON to convert what
// encoding/json produced, and ToPlain or json.Marshal to go back. Values are
// immutable once built: functions never modify their arguments, so the host
// may hand out the same parameter value to many evaluations.
//
// # Errors and limits
//
// Every error is an *Error carrying the character position in the
// expression text and a message worded like ARM's; the template layer adds
// the JSON path, line and column. Expressions longer than
// MaxExpressionLength (24,576 characters, Azure's documented limit) are
// rejected, nesting deeper than MaxDepth is rejected instead of overflowing
// the stack, and Context.Budget bounds the work and memory a single
// evaluation may use so hostile templates fail instead of exhausting the
// server.
package expr
