// Package resources owns the ARM resource model of keyless: subscriptions
// (read), resource groups, generic resources with their identity block,
// user-assigned identities, their federated identity credentials, and the
// lifecycle rules that make managed identities managed.
//
// Every write is one store.Update, so a request either happens completely or
// not at all: enabling SystemAssigned creates a principal in the same
// transaction as the resource; disabling it, deleting the resource or deleting
// its resource group deletes that principal and every role assignment it
// holds; deleting a user-assigned identity detaches it from every resource that
// holds it and deletes its credentials, assignments and principal. No orphans
// (DESIGN.md, "Lifecycle rules").
//
// This package never speaks HTTP and never decides authorization itself: the
// front door (internal/arm) authorizes the request and hands in a CanAssign
// callback for the one check that only the transaction can scope (which
// user-assigned identities a write newly attaches). Errors are typed
// (NotFoundError, ValidationError, ConflictError, LinkedAuthorizationError) and
// are turned into ARM error bodies once, by the front door.
package resources
