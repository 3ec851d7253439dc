package rbacapi

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// guidPattern is the canonical 8-4-4-4-12 form ARM requires for role
// definition and role assignment names.
var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidPattern.MatchString(s) }

// cleanScope gives a scope one leading slash and no empty segments, keeping
// the caller's casing ("/" for the root).
func cleanScope(s string) string {
	return "/" + strings.Join(splitPath(s), "/")
}

func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// subscriptionPrefix is "/subscriptions/{id}" when scope lies in a
// subscription, else "". Role definition IDs carry it: ARM returns
// subscription-prefixed IDs for everything at or below a subscription and
// the tenant form (/providers/...) otherwise (reference §11.1).
func subscriptionPrefix(scope string) string {
	segs := splitPath(scope)
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return "/subscriptions/" + segs[1]
	}
	return ""
}

// roleDefinitionID is the full ID of a role definition as seen from scope.
func roleDefinitionID(scope, guid string) string {
	return subscriptionPrefix(scope) + roleDefinitionsPath + "/" + guid
}

// roleAssignmentID is the full ID of an assignment: its scope plus the
// extension suffix.
func roleAssignmentID(scope, name string) string {
	if s := cleanScope(scope); s != "/" {
		return s + roleAssignmentsPath + "/" + name
	}
	return roleAssignmentsPath + "/" + name
}

// parseRoleDefinitionRef accepts a role definition GUID or any full ID
// ending in /providers/Microsoft.Authorization/roleDefinitions/{guid}, as
// clients copy roleDefinitionId between subscriptions and the tenant form.
func parseRoleDefinitionRef(ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if isGUID(ref) {
		return ref, true
	}
	segs := splitPath(ref)
	n := len(segs)
	if n < 4 || !strings.EqualFold(segs[n-4], "providers") || !strings.EqualFold(segs[n-3], "Microsoft.Authorization") ||
		!strings.EqualFold(segs[n-2], "roleDefinitions") || !isGUID(segs[n-1]) {
		return "", false
	}
	// What precedes must be the root or a subscription (the two forms ARM
	// hands out), or a management group (the form tools build for an
	// assignment at one).
	if n != 4 && !(n == 6 && strings.EqualFold(segs[0], "subscriptions")) && classifyScopeKind(segs[:n-4]) != scopeManagementGroup {
		return "", false
	}
	return segs[n-1], true
}

// scopeKind classifies a scope for existence checks and messages.
type scopeKind int

const (
	scopeInvalid scopeKind = iota
	scopeRoot
	scopeManagementGroup
	scopeSubscription
	scopeResourceGroup
	scopeResource
)

// classifyScope recognises the scopes keyless has: the root, a management
// group, a subscription, a resource group and a resource (possibly a child,
// or an extension of one).
func classifyScope(scope string) (scopeKind, []string) {
	segs := splitPath(scope)
	return classifyScopeKind(segs), segs
}

func classifyScopeKind(segs []string) scopeKind {
	switch {
	case len(segs) == 0:
		return scopeRoot
	case len(segs) == 4 && strings.EqualFold(segs[0], "providers") && strings.EqualFold(segs[1], "Microsoft.Management") &&
		strings.EqualFold(segs[2], "managementGroups"):
		return scopeManagementGroup
	case !strings.EqualFold(segs[0], "subscriptions") || len(segs) < 2:
		return scopeInvalid
	case len(segs) == 2:
		return scopeSubscription
	case !strings.EqualFold(segs[2], "resourceGroups") || len(segs) < 4:
		return scopeInvalid
	case len(segs) == 4:
		return scopeResourceGroup
	case strings.EqualFold(segs[4], "providers") && len(segs) >= 8:
		return scopeResource
	}
	return scopeInvalid
}

// checkScopeExists answers 404 with ARM's code for the missing container,
// or 400 for a path that is not a scope at all. The root always exists.
func checkScopeExists(ctx context.Context, tx store.Tx, scope string) error {
	kind, segs := classifyScope(scope)
	var err error
	switch kind {
	case scopeRoot:
		return nil
	case scopeInvalid:
		return arm.Errorf(http.StatusBadRequest, "InvalidScope", "scope",
			"The scope '%s' is not valid. Scopes are '/', '/providers/Microsoft.Management/managementGroups/{name}', '/subscriptions/{id}', '/subscriptions/{id}/resourceGroups/{name}' or a resource ID.", scope)
	case scopeManagementGroup:
		_, err := tx.GetManagementGroup(ctx, segs[3])
		if errors.Is(err, store.ErrNotFound) {
			return arm.Errorf(http.StatusNotFound, "ManagementGroupNotFound", "", "The management group '%s' could not be found.", segs[3])
		}
		return err
	}
	if _, err = tx.GetSubscription(ctx, segs[1]); errors.Is(err, store.ErrNotFound) {
		return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "", "The subscription '%s' could not be found.", segs[1])
	} else if err != nil || kind == scopeSubscription {
		return err
	}
	if _, err = tx.GetResourceGroup(ctx, segs[1], segs[3]); errors.Is(err, store.ErrNotFound) {
		return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "", "Resource group '%s' could not be found.", segs[3])
	} else if err != nil || kind == scopeResourceGroup {
		return err
	}
	// A resource, a child resource, or an extension scope under one: the
	// longest prefix that is a stored resource must be the whole scope, or
	// an extension ("/providers/...") of it.
	for n := len(segs); n >= 8; n-- {
		parent, err := tx.GetResource(ctx, "/"+strings.Join(segs[:n], "/"))
		if err == nil {
			if n == len(segs) || strings.EqualFold(segs[n], "providers") {
				return nil
			}
			// Key Vault secrets are kept apart from the resource table;
			// a secret's scope exists while the secret is live.
			if n+2 == len(segs) && strings.EqualFold(segs[n], "secrets") && strings.EqualFold(parent.Type, "Microsoft.KeyVault/vaults") {
				if _, st, err := tx.GetVaultSecret(ctx, parent.ID, segs[n+1], ""); err == nil && st.DeletedAt.IsZero() {
					return nil
				} else if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			// Federated identity credentials are child resources kept
			// apart from the resource table.
			if n+2 == len(segs) && strings.EqualFold(segs[n], "federatedIdentityCredentials") &&
				strings.EqualFold(parent.Type, "Microsoft.ManagedIdentity/userAssignedIdentities") {
				if _, err := tx.GetFederatedCredential(ctx, parent.ID, segs[n+1]); err == nil {
					return nil
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "",
		"The Resource '%s' under resource group '%s' was not found.", strings.Join(segs[5:], "/"), segs[3])
}

// sameScope compares scopes as ARM does: case-insensitively, ignoring
// empty segments.
func sameScope(a, b string) bool {
	return authz.NormalizeScope(a) == authz.NormalizeScope(b)
}

// related reports whether one scope is at or below the other, management
// groups included.
func (h *handlers) related(a, b string) bool {
	return h.cfg.Engine.Covers(a, b) || h.cfg.Engine.Covers(b, a)
}

// ancestors lists the strict ancestors of scope, root first, in the
// caller's casing.
func ancestors(scope string) []string {
	segs := splitPath(scope)
	out := []string{"/"}
	for i := 1; i < len(segs); i++ {
		out = append(out, "/"+strings.Join(segs[:i], "/"))
	}
	if len(segs) == 0 {
		return nil
	}
	return out
}
