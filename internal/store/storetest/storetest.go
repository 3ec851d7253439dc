// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's test hands RunConformance a constructor; each behaviour
// runs as its own subtest against a fresh, empty store.
//
// The suite pins down what the interface comments promise and what callers
// rely on beyond them: sentinel errors, case-insensitive ARM IDs that keep
// their first casing, the attachment index, the management group tree, the
// deployment history and its trimming, one revision per writing Update,
// the change feed, rollback on error and panic, serialized writers, and
// the usage aggregates replicas flush and reads merge, the activity log,
// and Graph's applications, group owners and directory roles. It
// must stay backend-neutral: no SQL, no driver types.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// RunConformance runs every behaviour against stores made by open. open
// must return a fresh, empty store and close it when the subtest ends
// (t.Cleanup); a subtest may already have closed it, so Close must tolerate
// a second call.
func RunConformance(t *testing.T, open func(t *testing.T) store.Store) {
	groups := [][]behaviour{
		metaAndKeyBehaviours,
		directoryBehaviours,
		graphBehaviours,
		resourceBehaviours,
		rbacBehaviours,
		managementGroupBehaviours,
		deploymentBehaviours,
		hostBehaviours,
		transactionBehaviours,
		compactionBehaviours,
		textBehaviours,
		usageBehaviours,
		activityBehaviours,
		vaultSecretBehaviours,
		bulkBehaviours,
	}
	for _, group := range groups {
		for _, b := range group {
			t.Run(b.name, func(t *testing.T) {
				b.run(t, open(t))
			})
		}
	}
}

// behaviour is one subtest: a name saying what it proves and its body.
type behaviour struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// t0 is a fixture time at the microsecond precision every backend keeps.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) int64 {
	t.Helper()
	ctx := t.Context()
	rev, err := s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return rev
}

// view runs fn in a View and fails the test on error.
func view(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.View(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantErr fails unless errors.Is(err, target); target nil wants no error.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantEqual fails unless got and want are deeply equal.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// revision reads the current revision.
func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// changes reads every change after since.
func changes(t *testing.T, s store.Store, since int64) []store.Change {
	t.Helper()
	cs, err := s.Changes(t.Context(), since, 0)
	if err != nil {
		t.Fatalf("Changes(%d): %v", since, err)
	}
	return cs
}

// change is a store.Change without its time, for comparisons.
type change struct {
	Revision int64
	Kind     store.Kind
	Key      string
	Op       store.Op
}

func stripTimes(cs []store.Change) []change {
	out := make([]change, len(cs))
	for i, c := range cs {
		out[i] = change{c.Revision, c.Kind, c.Key, c.Op}
	}
	return out
}

// wantNothingWritten fails unless the store is still at revision rev with
// no changes after it.
func wantNothingWritten(t *testing.T, s store.Store, rev int64) {
	t.Helper()
	if got := revision(t, s); got != rev {
		t.Fatalf("revision = %d, want %d (unchanged)", got, rev)
	}
	if cs := changes(t, s, rev); len(cs) != 0 {
		t.Fatalf("changes after %d = %+v, want none", rev, cs)
	}
}

// Fixtures. IDs deliberately mix case where ARM compares case-insensitively.

const (
	subID = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	rgID  = "/subscriptions/" + subID + "/resourceGroups/Rg-One"
)

func principal(objectID, appID string) store.Principal {
	return store.Principal{
		ObjectID:    objectID,
		AppID:       appID,
		DisplayName: "principal " + objectID,
		Kind:        store.PrincipalServicePrincipal,
		CreatedAt:   t0,
	}
}

func resource(typ, name string) store.Resource {
	return store.Resource{
		ID:             rgID + "/providers/" + typ + "/" + name,
		SubscriptionID: subID,
		ResourceGroup:  "Rg-One",
		Type:           typ,
		Name:           name,
		Location:       "westeurope",
		Body:           []byte(`{"properties": {"b": 1, "a": [2, 1]},  "tags": {}}`),
		CreatedAt:      t0,
		UpdatedAt:      t0,
		CreatedBy:      "creator",
		UpdatedBy:      "creator",
	}
}

const identityType = "Microsoft.ManagedIdentity/userAssignedIdentities"

func identity(name string) store.Resource {
	r := resource(identityType, name)
	r.PrincipalID = "principal-of-" + name
	return r
}

func roleAssignment(name, scope, roleID, principalID string) store.RoleAssignment {
	return store.RoleAssignment{
		Name:             name,
		Scope:            scope,
		RoleDefinitionID: roleID,
		PrincipalID:      principalID,
		PrincipalType:    "ServicePrincipal",
		CreatedAt:        t0,
		UpdatedAt:        t0,
		CreatedBy:        "creator",
		UpdatedBy:        "creator",
	}
}
