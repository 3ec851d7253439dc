package resources_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

const (
	tenantID = "7f3c1a52-0b6e-4d7a-9c1e-2a4b5c6d7e8f"
	actor    = "11111111-1111-1111-1111-111111111111"
)

// fixture is a Service on a fresh SQLite store with one subscription.
type fixture struct {
	t   testing.TB
	ctx context.Context
	st  store.Store
	svc *resources.Service
	sub string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{t: t, ctx: ctx, st: st, sub: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"}
	f.update(func(tx store.Tx) error {
		return tx.CreateSubscription(ctx, store.Subscription{ID: f.sub, DisplayName: "Default", State: "Enabled", CreatedAt: time.Now()})
	})
	f.svc = resources.New(resources.Config{Store: st, TenantID: tenantID, FederatedCredentialLimit: resources.DefaultFederatedCredentialLimit})
	return f
}

func (f *fixture) update(fn func(tx store.Tx) error) {
	f.t.Helper()
	if _, err := f.st.Update(f.ctx, fn); err != nil {
		f.t.Fatalf("store update: %v", err)
	}
}

func (f *fixture) view(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.st.View(f.ctx, fn); err != nil {
		f.t.Fatalf("store view: %v", err)
	}
}

func (f *fixture) group(name string) string {
	f.t.Helper()
	if _, _, err := f.svc.PutResourceGroup(f.ctx, resources.ResourceGroupSpec{SubscriptionID: f.sub, Name: name, Location: "westus"}); err != nil {
		f.t.Fatalf("PutResourceGroup %s: %v", name, err)
	}
	return resources.ResourceGroupID(f.sub, name)
}

func (f *fixture) identity(group, name string) resources.ResourceView {
	f.t.Helper()
	v, _, err := f.svc.PutUserAssignedIdentity(f.ctx, actor, resources.UserAssignedIdentitySpec{
		IdentityRef: resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: group, Name: name}, Location: "westus",
	})
	if err != nil {
		f.t.Fatalf("PutUserAssignedIdentity %s: %v", name, err)
	}
	return v
}

func (f *fixture) resourceID(group, path string) string {
	return "/subscriptions/" + f.sub + "/resourceGroups/" + group + "/providers/" + path
}

func (f *fixture) put(id string, identity *resources.IdentitySpec) resources.ResourceView {
	f.t.Helper()
	v, _, err := f.svc.PutResource(f.ctx, resources.ResourceSpec{ID: id, Location: "westus", Identity: identity}, resources.WriteOptions{Actor: actor})
	if err != nil {
		f.t.Fatalf("PutResource %s: %v", id, err)
	}
	return v
}

func (f *fixture) patch(id string, identity *resources.IdentitySpec) resources.ResourceView {
	f.t.Helper()
	v, err := f.svc.PatchResource(f.ctx, resources.ResourceSpec{ID: id, Identity: identity}, resources.WriteOptions{Actor: actor})
	if err != nil {
		f.t.Fatalf("PatchResource %s: %v", id, err)
	}
	return v
}

// assign grants a role directly through the store, as the RBAC API will.
func (f *fixture) assign(principalID, scope string) string {
	f.t.Helper()
	name := uuid.NewString()
	f.update(func(tx store.Tx) error {
		return tx.CreateRoleAssignment(f.ctx, store.RoleAssignment{
			Name: name, Scope: scope, RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
			PrincipalID: principalID, PrincipalType: "ServicePrincipal", CreatedAt: time.Now(), UpdatedAt: time.Now(),
		})
	})
	return name
}

// servicePrincipal creates an ordinary principal (no owner resource).
func (f *fixture) servicePrincipal() string {
	id := uuid.NewString()
	f.update(func(tx store.Tx) error {
		return tx.CreatePrincipal(f.ctx, store.Principal{ObjectID: id, AppID: uuid.NewString(), Kind: store.PrincipalServicePrincipal, DisplayName: "sp"})
	})
	return id
}

func (f *fixture) principalExists(id string) bool {
	f.t.Helper()
	found := false
	f.view(func(tx store.Tx) error {
		_, err := tx.GetPrincipal(f.ctx, id)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return found
}

func (f *fixture) assignmentExists(name string) bool {
	f.t.Helper()
	found := false
	f.view(func(tx store.Tx) error {
		_, err := tx.GetRoleAssignment(f.ctx, name)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return found
}

func (f *fixture) resourceExists(id string) bool {
	f.t.Helper()
	found := false
	f.view(func(tx store.Tx) error {
		_, err := tx.GetResource(f.ctx, id)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return found
}

func (f *fixture) stored(id string) store.Resource {
	f.t.Helper()
	var r store.Resource
	f.view(func(tx store.Tx) error {
		var err error
		r, err = tx.GetResource(f.ctx, id)
		return err
	})
	return r
}

// checkInvariants asserts the lifecycle invariants of DESIGN.md over the
// whole store (see lifecycleProblems).
func (f *fixture) checkInvariants() {
	f.t.Helper()
	var problems []string
	f.view(func(tx store.Tx) error {
		var err error
		problems, err = lifecycleProblems(f.ctx, tx)
		return err
	})
	for _, p := range problems {
		f.t.Errorf("invariant violated: %s", p)
	}
}

// lifecycleProblems lists every violation of the lifecycle invariants of
// DESIGN.md in the store: no managed-identity principal without its owner
// resource, no owner resource without its principal, no role assignment
// without its principal or scoped under a deleted container, no attachment
// to a missing user-assigned identity (and the attachment index agreeing
// with the resources), no federated credential without its identity.
func lifecycleProblems(ctx context.Context, tx store.Tx) ([]string, error) {
	var problems []string
	all, err := tx.ListResources(ctx, store.ResourceFilter{})
	if err != nil {
		return nil, err
	}
	byID := map[string]store.Resource{}
	for _, r := range all {
		byID[strings.ToLower(r.ID)] = r
	}
	for _, kind := range []store.PrincipalKind{store.PrincipalSystemAssigned, store.PrincipalUserAssigned} {
		ps, err := tx.ListPrincipals(ctx, store.PrincipalFilter{Kind: kind})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			owner, ok := byID[strings.ToLower(p.ResourceID)]
			switch {
			case !ok:
				problems = append(problems, "principal "+p.ObjectID+" ("+string(kind)+") has no owner resource "+p.ResourceID)
			case owner.PrincipalID != p.ObjectID:
				problems = append(problems, "principal "+p.ObjectID+" is not the principal of its owner "+owner.ID)
			case (kind == store.PrincipalUserAssigned) != strings.EqualFold(owner.Type, resources.UserAssignedIdentityType):
				problems = append(problems, "principal "+p.ObjectID+" has the wrong kind for "+owner.ID)
			}
		}
	}
	for _, r := range all {
		if r.PrincipalID != "" {
			p, err := tx.GetPrincipal(ctx, r.PrincipalID)
			if err != nil || !strings.EqualFold(p.ResourceID, r.ID) {
				problems = append(problems, "resource "+r.ID+" has a missing or foreign principal "+r.PrincipalID)
			}
		}
		if strings.EqualFold(r.Type, resources.UserAssignedIdentityType) && r.PrincipalID == "" {
			problems = append(problems, "identity "+r.ID+" has no principal")
		}
		for _, id := range r.UserAssignedIdentities {
			u, ok := byID[strings.ToLower(id)]
			if !ok || !strings.EqualFold(u.Type, resources.UserAssignedIdentityType) {
				problems = append(problems, "resource "+r.ID+" holds missing identity "+id)
			}
		}
		if _, err := tx.GetResourceGroup(ctx, r.SubscriptionID, r.ResourceGroup); err != nil {
			problems = append(problems, "resource "+r.ID+" has no resource group")
		}
		if strings.EqualFold(r.Type, resources.UserAssignedIdentityType) {
			continue
		}
		segs := strings.Split(strings.Trim(r.ID, "/"), "/")
		if len(segs) > 8 {
			if _, ok := byID[strings.ToLower("/"+strings.Join(segs[:len(segs)-2], "/"))]; !ok {
				problems = append(problems, "child resource "+r.ID+" has no parent")
			}
		}
	}
	assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{})
	if err != nil {
		return nil, err
	}
	for _, a := range assignments {
		if _, err := tx.GetPrincipal(ctx, a.PrincipalID); err != nil {
			problems = append(problems, "assignment "+a.Name+" has no principal "+a.PrincipalID)
		}
		segs := strings.Split(strings.Trim(a.Scope, "/"), "/")
		if len(segs) >= 4 {
			if _, err := tx.GetResourceGroup(ctx, segs[1], segs[3]); err != nil {
				problems = append(problems, "assignment "+a.Name+" is scoped under a missing group: "+a.Scope)
			}
		}
		if len(segs) >= 8 {
			if _, ok := byID[strings.ToLower("/"+strings.Join(segs[:8], "/"))]; !ok {
				problems = append(problems, "assignment "+a.Name+" is scoped under a missing resource: "+a.Scope)
			}
		}
	}
	for _, r := range all {
		if !strings.EqualFold(r.Type, resources.UserAssignedIdentityType) {
			continue
		}
		if _, err := tx.ListFederatedCredentials(ctx, r.ID); err != nil {
			return nil, err
		}
		holders, err := tx.ListResources(ctx, store.ResourceFilter{AttachedIdentity: r.ID})
		if err != nil {
			return nil, err
		}
		for _, h := range holders {
			if !slices.ContainsFunc(h.UserAssignedIdentities, func(u string) bool { return strings.EqualFold(u, r.ID) }) {
				problems = append(problems, "the attachment index says "+h.ID+" holds "+r.ID+"; the resource does not")
			}
		}
	}
	return problems, nil
}

func ids(v resources.ResourceView) []string {
	var out []string
	for _, a := range v.UserAssigned {
		out = append(out, strings.ToLower(a.ID))
	}
	return out
}
