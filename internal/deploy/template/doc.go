// Package template owns the ARM template document: reading it (JSON with
// comments, ≤ 4 MB, positions of every value for errors), validating every
// section (parameters, user-defined types in definitions, user-defined
// functions, variables, resources as an array or as symbolic names in
// languageVersion 2.0, outputs) and every expression's syntax and
// placement, and binding it to one deployment: parameter values checked
// against their declarations, variables evaluated, resources expanded
// (conditions, copy loops, names, nested child resources, extension
// resources, existing resources, nested deployments) with their resource
// IDs and resolved dependsOn.
//
// The deployment engine consumes a Plan: it deploys Plan.Resources in
// DependsOn order, calling Resource.Body for each request body once its
// dependencies exist (bodies may call reference()), NestedDeployment.Bind
// for Microsoft.Resources/deployments, and Plan.Outputs at the end. The
// engine never reads template syntax; this package never performs I/O,
// touches a store or dispatches a request: everything that depends on
// deployed resources is asked of the engine's Resolver.
//
// Expressions are parsed and evaluated by package expr; this package adds
// the document's context to its errors (Azure's codes and wording, the
// JSON path, line and column).
//
// Where keyless deliberately differs from Azure: a nested child resource
// depends on its parent implicitly (Azure requires dependsOn; ordering the
// child after its parent only removes a failure), allowedValues compare
// strings without regard to case, and the names of a resource whose
// condition is false are evaluated when they can be (to list it in
// Skipped) but a failure there is not an error.
package template
