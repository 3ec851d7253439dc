package review

import (
	"context"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/usage"
)

// AssignmentSource lists role assignments from memory (the RBAC engine).
type AssignmentSource interface {
	Assignments() []store.RoleAssignment
}

// Load reads the facts of a review from the store in one snapshot. The
// window start bounds the usage read. With assignments, the role
// assignments come from that in-memory index instead of a scan of the
// store (at a million assignments the scan alone takes seconds).
func Load(ctx context.Context, st store.Store, since time.Time, assignments ...AssignmentSource) (*Facts, error) {
	f := &Facts{Credentials: map[string][]store.Credential{}, FederatedCredentials: map[string][]store.FederatedCredential{},
		GroupsOf: map[string][]string{}, FederationUse: map[string]time.Time{}}
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		if f.Principals, err = tx.ListPrincipals(ctx, store.PrincipalFilter{}); err != nil {
			return err
		}
		members := map[string][]string{} // group -> direct members
		for _, p := range f.Principals {
			switch p.Kind {
			case store.PrincipalServicePrincipal:
				if f.Credentials[p.ObjectID], err = tx.ListCredentials(ctx, p.ObjectID); err != nil {
					return err
				}
			case store.PrincipalGroup:
				if members[p.ObjectID], err = tx.ListGroupMembers(ctx, p.ObjectID); err != nil {
					return err
				}
			}
		}
		fics, err := tx.ListFederatedCredentials(ctx, "")
		if err != nil {
			return err
		}
		for _, c := range fics {
			k := strings.ToLower(c.IdentityID)
			f.FederatedCredentials[k] = append(f.FederatedCredentials[k], c)
		}
		f.GroupsOf = transitiveGroups(members)
		if f.Resources, err = tx.ListResources(ctx, store.ResourceFilter{}); err != nil {
			return err
		}
		if len(assignments) > 0 && assignments[0] != nil {
			f.Assignments = assignments[0].Assignments()
		} else if f.Assignments, err = tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{ScopePrefix: "/"}); err != nil {
			return err
		}
		if f.Roles, err = tx.ListRoleDefinitions(ctx); err != nil {
			return err
		}
		f.Usage, err = tx.ListUsage(ctx, store.UsageFilter{Since: since})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, a := range f.Usage.Actions {
		if !strings.EqualFold(a.Action, usage.ActionFederatedExchange) || a.Denied {
			continue
		}
		// The scope is the credential's ID: {identity}/federatedIdentityCredentials/{name}.
		i := strings.LastIndex(strings.ToLower(a.Scope), "/federatedidentitycredentials/")
		if i < 0 {
			continue
		}
		key := strings.ToLower(a.Scope[:i] + "/" + a.Scope[i+len("/federatedIdentityCredentials/"):])
		if a.Last.After(f.FederationUse[key]) {
			f.FederationUse[key] = a.Last
		}
	}
	return f, nil
}

// transitiveGroups inverts group memberships: for each member, every group
// it belongs to directly or through nested groups.
func transitiveGroups(members map[string][]string) map[string][]string {
	parents := map[string][]string{}
	for g, ms := range members {
		for _, m := range ms {
			parents[m] = append(parents[m], g)
		}
	}
	out := map[string][]string{}
	for m := range parents {
		seen := map[string]bool{}
		stack := append([]string(nil), parents[m]...)
		for len(stack) > 0 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[g] {
				continue
			}
			seen[g] = true
			out[m] = append(out[m], g)
			stack = append(stack, parents[g]...)
		}
	}
	return out
}
