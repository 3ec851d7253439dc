// Package bicep owns the Bicep language: lexing and parsing .bicep and
// .bicepparam files into a syntax tree that keeps every position, binding
// names to symbols (parameters, variables, resources, modules, types,
// functions, imports, loop and lambda locals), checking what can be checked
// without Azure's resource-type library, and emitting the ARM template JSON
// the official Bicep compiler emits for the same file, so that deploying
// either gives the same resources, identities and role assignments.
//
// The package is pure: it reads source files only through the fs.FS it is
// given (modules and imports resolve relative to the importing file inside
// that file system), never the network, the clock or a store, and it never
// panics on bad input — every problem is a Diagnostic with file, line,
// column, severity, a BCP code (or linter rule name) and a message.
//
// # Entry points
//
//	Compile(fsys, path, opts)       .bicep      -> ARM template JSON
//	CompileParams(fsys, path, opts) .bicepparam -> deploymentParameters JSON
//	Lint(fsys, path, opts)          diagnostics only, linter rules included
//	Parse(file, src)                syntax tree for tools and tests
//
// # How symbolic references compile
//
// As in the official compiler, a template uses languageVersion 2.0 (resources
// as an object keyed by symbolic name) only when something needs it:
// user-defined types or functions, typed variables, nullable or inline
// object/array/union types, compile-time imports, optional module names, an
// existing resource with an explicit dependsOn. Otherwise resources are an
// array and references are spelled with resourceId():
//
//	uami.id                      resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'name')
//	uami.name, .type, .apiVersion the declared value, inlined
//	uami.properties.principalId  reference(resourceId(...), '2023-01-31').principalId
//	site.identity.principalId    reference(resourceId(...), '2022-09-01', 'full').identity.principalId
//	mod.outputs.x                reference(resourceId('Microsoft.Resources/deployments', 'n'), '2025-04-01').outputs.x.value
//
// and with symbolic names reference('uami'), reference('site', '2022-09-01',
// 'full') and reference('mod'). A resource or module collection used as a
// whole is references('workers', 'full') / references('mods'), which turns
// languageVersion 2.0 on; x.?member of a conditional resource is guarded,
// if(condition, ..., null()). Every reference to a resource or module
// adds it to dependsOn (through variables, and through existing resources
// to what they depend on), sorted by symbolic name.
//
// # Modules
//
// A module path that is a relative file path ('./x.bicep', 'x.json')
// resolves against the directory of the referencing file in fsys and is
// compiled into a Microsoft.Resources/deployments nested deployment with
// expressionEvaluationOptions scope inner. Registry references (br:,
// br/public:, ts:) cannot be restored without a network; they resolve from
// Options.ModuleCache when set, laid out as
//
//	<ModuleCache>/br/<registry>/<repository path>/<tag>/main.json   (or main.bicep)
//	<ModuleCache>/ts/<subscription>/<resource group>/<name>/<version>/main.json
//
// (br/public:x:v is br:mcr.microsoft.com/bicep/x:v, as in bicepconfig's
// default alias) and otherwise fail with BCP192.
//
// # What differs from the official compiler
//
// metadata._generator.version is "keyless" and templateHash is keyless's
// own hash of the emitted template (the official value comes from a
// closed-source hash; ARM does not check it). Resource bodies are not
// checked against Azure's type library: unknown types and API versions are
// accepted and only the members keyless gives meaning to are checked.
package bicep
