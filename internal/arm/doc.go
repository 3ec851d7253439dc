// Package arm is the Azure Resource Manager front door of keyless: the HTTP
// surface that the official Azure SDK for Go ARM clients (armresources,
// armmsi, armsubscriptions, and through Handle the RBAC and directory
// routes) talk to unchanged.
//
// It owns what ARM does before and after a resource provider runs:
// authentication (an Authenticator), routing by a declarative route table
// (case-insensitive fixed segments, cleaned paths), api-version validation
// per route family, authorization of every route by the RBAC action and
// scope it declares (an Authorizer), list filtering per item, the body cap,
// paging with nextLink, synchronous completion of long-running operations in
// the shapes azcore's pollers accept, the request and correlation IDs, and
// the ARM error body — produced in one place, writeError, from the typed
// errors of the domain.
//
// It must never hold resource rules itself (internal/resources does: this
// package decodes, calls one domain function, encodes), never write to the
// store except through the domain, and never let a request reach a handler
// unauthenticated or, for AccessCheck routes, unauthorized.
package arm
