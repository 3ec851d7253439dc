// Package workloadtest builds resources with managed identities directly in
// the store, for the workload, launcher and agent tests, until those tests
// can create them through ARM. It mirrors what internal/resources writes:
// a principal per identity, the resource row naming its system-assigned
// principal and the user-assigned identities attached to it.
package workloadtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/workload"
)

// Store is what the helpers need: a store, and a way to wait until this
// replica's indexes reflect a revision (testenv's Server.WaitFor).
type Store struct {
	St      store.Store
	WaitFor func(ctx context.Context, rev int64) error
	// SubscriptionID defaults to a fixed GUID.
	SubscriptionID string
}

// Identity is a managed identity's principal with its resource.
type Identity struct {
	ResourceID string
	ObjectID   string
	ClientID   string
}

// Resource is a compute resource with its identities.
type Resource struct {
	ID     string
	System *Identity
	UAMIs  []Identity
}

func (s Store) sub() string {
	if s.SubscriptionID != "" {
		return s.SubscriptionID
	}
	return "00000000-0000-4000-8000-00000000cafe"
}

func (s Store) update(t testing.TB, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	rev, err := s.St.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
	if err != nil {
		t.Fatal(err)
	}
	if s.WaitFor != nil {
		if err := s.WaitFor(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
}

// UAMI creates a user-assigned identity in resource group rg.
func (s Store) UAMI(t testing.TB, rg, name string) Identity {
	t.Helper()
	id := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", s.sub(), rg, workload.UserAssignedIdentityType, name)
	p := store.Principal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: name, Kind: store.PrincipalUserAssigned, ResourceID: id}
	s.update(t, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		_, err := tx.PutResource(ctx, store.Resource{ID: id, SubscriptionID: s.sub(), ResourceGroup: rg,
			Type: workload.UserAssignedIdentityType, Name: name, Location: "westus", Body: []byte(`{}`), PrincipalID: p.ObjectID})
		return err
	})
	return Identity{ResourceID: id, ObjectID: p.ObjectID, ClientID: p.AppID}
}

// Compute creates a resource of type typ (e.g. Microsoft.Web/sites), with a
// system-assigned identity if system, and the given identities attached.
func (s Store) Compute(t testing.TB, rg, typ, name string, system bool, uamis ...Identity) Resource {
	t.Helper()
	r := Resource{ID: fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", s.sub(), rg, typ, name), UAMIs: uamis}
	row := store.Resource{ID: r.ID, SubscriptionID: s.sub(), ResourceGroup: rg, Type: typ, Name: name, Location: "westus", Body: []byte(`{}`)}
	for _, u := range uamis {
		row.UserAssignedIdentities = append(row.UserAssignedIdentities, u.ResourceID)
	}
	s.update(t, func(ctx context.Context, tx store.Tx) error {
		if system {
			p := store.Principal{ObjectID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: name, Kind: store.PrincipalSystemAssigned, ResourceID: r.ID}
			if err := tx.CreatePrincipal(ctx, p); err != nil {
				return err
			}
			row.PrincipalID = p.ObjectID
			r.System = &Identity{ResourceID: r.ID, ObjectID: p.ObjectID, ClientID: p.AppID}
		}
		_, err := tx.PutResource(ctx, row)
		return err
	})
	return r
}

// Detach removes a user-assigned identity from a resource.
func (s Store) Detach(t testing.TB, resourceID, identityID string) {
	t.Helper()
	s.modify(t, resourceID, func(ctx context.Context, tx store.Tx, r *store.Resource) error {
		var keep []string
		for _, id := range r.UserAssignedIdentities {
			if id != identityID {
				keep = append(keep, id)
			}
		}
		r.UserAssignedIdentities = keep
		return nil
	})
}

// Attach adds a user-assigned identity to a resource.
func (s Store) Attach(t testing.TB, resourceID, identityID string) {
	t.Helper()
	s.modify(t, resourceID, func(ctx context.Context, tx store.Tx, r *store.Resource) error {
		r.UserAssignedIdentities = append(r.UserAssignedIdentities, identityID)
		return nil
	})
}

// DisableSystem turns system-assigned off: its principal is deleted.
func (s Store) DisableSystem(t testing.TB, resourceID string) {
	t.Helper()
	s.modify(t, resourceID, func(ctx context.Context, tx store.Tx, r *store.Resource) error {
		pid := r.PrincipalID
		r.PrincipalID = ""
		if _, err := tx.PutResource(ctx, *r); err != nil {
			return err
		}
		return tx.DeletePrincipal(ctx, pid)
	})
}

// Delete deletes a resource and its system-assigned principal.
func (s Store) Delete(t testing.TB, resourceID string) {
	t.Helper()
	s.update(t, func(ctx context.Context, tx store.Tx) error {
		r, err := tx.GetResource(ctx, resourceID)
		if err != nil {
			return err
		}
		if err := tx.DeleteResource(ctx, resourceID); err != nil {
			return err
		}
		if r.PrincipalID != "" && r.Type != workload.UserAssignedIdentityType {
			return tx.DeletePrincipal(ctx, r.PrincipalID)
		}
		return nil
	})
}

func (s Store) modify(t testing.TB, resourceID string, fn func(ctx context.Context, tx store.Tx, r *store.Resource) error) {
	t.Helper()
	s.update(t, func(ctx context.Context, tx store.Tx) error {
		r, err := tx.GetResource(ctx, resourceID)
		if err != nil {
			return err
		}
		if err := fn(ctx, tx, &r); err != nil {
			return err
		}
		_, err = tx.PutResource(ctx, r)
		return err
	})
}
