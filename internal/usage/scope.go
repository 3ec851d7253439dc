package usage

import (
	"context"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// PrincipalsUnder returns the principals whose usage belongs to scope: at
// the root every service principal and managed identity; elsewhere the
// managed identities whose identity resource (the resource of a
// system-assigned identity, the user-assigned identity itself) lies at or
// under scope, and the principals holding a role assignment at or under
// it. Groups and users get no tokens of their own and are left out. The
// result is ordered by object ID, as the store lists principals.
func PrincipalsUnder(ctx context.Context, st store.Store, scope string) ([]store.Principal, error) {
	scope = "/" + strings.Trim(scope, "/")
	var out []store.Principal
	err := st.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListPrincipals(ctx, store.PrincipalFilter{})
		if err != nil {
			return err
		}
		assigned := map[string]bool{}
		if scope != "/" {
			as, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{ScopePrefix: scope})
			if err != nil {
				return err
			}
			for _, a := range as {
				assigned[a.PrincipalID] = true
			}
		}
		for _, p := range all {
			switch p.Kind {
			case store.PrincipalGroup, store.PrincipalUser:
				continue
			}
			if scope == "/" || assigned[p.ObjectID] || p.ResourceID != "" && Within(p.ResourceID, scope) {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// Within reports whether id is scope or lies under it, comparing
// case-insensitively at segment boundaries, as ARM scopes inherit.
func Within(id, scope string) bool {
	id, scope = strings.TrimSuffix(id, "/"), strings.TrimSuffix(scope, "/")
	if scope == "" {
		return true
	}
	if len(id) < len(scope) || !strings.EqualFold(id[:len(scope)], scope) {
		return false
	}
	return len(id) == len(scope) || id[len(scope)] == '/'
}
