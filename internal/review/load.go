package review

import (
	"context"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/usage"
)

// Sources are the server's in-memory indexes, read instead of the store
// where they hold the same facts: at 100,000 identities and a million
// assignments the store read alone would take longer than the whole
// review may. Either may be nil, and the store is read instead.
type Sources struct {
	// Principals lists every principal, with each service principal's
	// credentials (the directory).
	Principals interface {
		Principals() ([]store.Principal, map[string][]store.Credential)
	}
	// Assignments lists the role assignments by principal ID (the RBAC
	// engine).
	Assignments interface {
		GrantsByPrincipal() map[string][]store.AssignmentGrant
	}
}

// Load reads the facts of a review: what the in-memory sources hold from
// them, concurrently with the rest from the store. The
// window start bounds the usage read. The indexes follow the store's
// change feed, so the facts are as current as any read the server serves.
func Load(ctx context.Context, st store.Store, since time.Time, src Sources) (*Facts, error) {
	f := &Facts{Credentials: map[string][]store.Credential{}, FederatedCredentials: map[string][]store.FederatedCredential{},
		GroupsOf: map[string][]string{}, FederationUse: map[string]time.Time{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if src.Assignments != nil {
			f.Assigned = src.Assignments.GrantsByPrincipal()
		}
		if src.Principals != nil {
			f.Principals, f.Credentials = src.Principals.Principals()
		}
	}()
	// The attachment graph is the largest store read; it runs in a view of
	// its own beside the rest (the in-memory indexes are not of the same
	// snapshot either: all of them follow the same change feed).
	attached := make(chan error, 1)
	go func() {
		attached <- st.View(ctx, func(tx store.Tx) error {
			return tx.EachAttachment(ctx, func(a store.Attachment) error {
				f.Attachments = append(f.Attachments, a)
				return nil
			})
		})
	}()
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		if src.Principals == nil {
			if f.Principals, err = tx.ListPrincipals(ctx, store.PrincipalFilter{}); err != nil {
				return err
			}
			for _, p := range f.Principals {
				if p.Kind == store.PrincipalServicePrincipal {
					if f.Credentials[p.ObjectID], err = tx.ListCredentials(ctx, p.ObjectID); err != nil {
						return err
					}
				}
			}
		}
		groups, err := tx.ListPrincipals(ctx, store.PrincipalFilter{Kind: store.PrincipalGroup})
		if err != nil {
			return err
		}
		members := map[string][]string{} // group -> direct members
		for _, g := range groups {
			if members[g.ObjectID], err = tx.ListGroupMembers(ctx, g.ObjectID); err != nil {
				return err
			}
		}
		f.GroupsOf = transitiveGroups(members)
		fics, err := tx.ListFederatedCredentials(ctx, "")
		if err != nil {
			return err
		}
		for _, c := range fics {
			k := strings.ToLower(c.IdentityID)
			f.FederatedCredentials[k] = append(f.FederatedCredentials[k], c)
		}
		if src.Assignments == nil {
			if f.Assignments, err = tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{ScopePrefix: "/"}); err != nil {
				return err
			}
		}
		if f.Roles, err = tx.ListRoleDefinitions(ctx); err != nil {
			return err
		}
		f.Usage, err = tx.ListUsage(ctx, store.UsageFilter{Since: since})
		return err
	})
	<-done
	if aerr := <-attached; err == nil {
		err = aerr
	}
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
