package sqlstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// benchBackends are the stores the benchmarks compare.
var benchBackends = []struct {
	name string
	open func(testing.TB) *sqlstore.Store
}{
	{"sqlite", func(tb testing.TB) *sqlstore.Store { return openSQLite(tb) }},
	{"postgres", func(tb testing.TB) *sqlstore.Store { return openPostgres(tb) }},
}

// createIdentity is the write path of `keyless identity create`: one
// transaction creating the service principal and the user-assigned identity
// resource that owns it.
func createIdentity(b *testing.B, s store.Store, n int64) error {
	ctx := b.Context()
	name := fmt.Sprintf("identity-%d", n)
	id := "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/Bench/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
	principalID := fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	now := time.Now()
	_, err := s.Update(ctx, func(tx store.Tx) error {
		err := tx.CreatePrincipal(ctx, store.Principal{
			ObjectID: principalID, AppID: fmt.Sprintf("10000000-0000-4000-8000-%012d", n), DisplayName: name,
			Kind: store.PrincipalUserAssigned, ResourceID: id, CreatedAt: now,
		})
		if err != nil {
			return err
		}
		_, err = tx.PutResource(ctx, store.Resource{
			ID: id, SubscriptionID: "0b1f6471-1bf0-4dda-aec3-cb9272f09590", ResourceGroup: "Bench",
			Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Name: name, Location: "westeurope",
			Body:        []byte(`{"tags":{"team":"payments","env":"prod"},"properties":{"isolationScope":"None"}}`),
			PrincipalID: principalID, CreatedAt: now, UpdatedAt: now, CreatedBy: "admin", UpdatedBy: "admin",
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("create identity %d: %w", n, err)
	}
	return nil
}

func BenchmarkWritePath(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend.name, func(b *testing.B) {
			s := backend.open(b)
			var n int64
			for b.Loop() {
				n++
				if err := createIdentity(b, s, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWritePathParallel(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend.name, func(b *testing.B) {
			s := backend.open(b)
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// b.Fatal must not be called from these goroutines.
					if err := createIdentity(b, s, n.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchScope is the resource group the deployment benchmarks deploy to.
const benchScope = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/Bench"

func putDeployment(b *testing.B, s store.Store, name, state string) {
	b.Helper()
	ctx := b.Context()
	now := time.Now()
	_, err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutDeployment(ctx, store.Deployment{Scope: benchScope, Name: name, State: state,
			Document: []byte(`{"properties":{"mode":"Incremental"}}`), Template: make([]byte, 64<<10),
			CreatedAt: now, UpdatedAt: now, CreatedBy: "admin", UpdatedBy: "admin"})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDeploymentOperations800 writes the operations of a template of
// 800 resources (Azure's limit) in one batch, as the engine does when they
// all change state at once.
func BenchmarkDeploymentOperations800(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend.name, func(b *testing.B) {
			s := backend.open(b)
			putDeployment(b, s, "main", store.DeploymentRunning)
			ops := make([]store.DeploymentOperation, 800)
			for i := range ops {
				ops[i] = store.DeploymentOperation{OperationID: fmt.Sprintf("%016X", i),
					Document: []byte(`{"properties":{"provisioningState":"Succeeded","targetResource":{"id":"/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/Bench/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"}}}`)}
			}
			ctx := b.Context()
			for b.Loop() {
				now := time.Now()
				for i := range ops {
					ops[i].UpdatedAt = now
				}
				_, err := s.Update(ctx, func(tx store.Tx) error { return tx.PutDeploymentOperations(ctx, benchScope, "main", ops) })
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrimDeploymentsAt800 is the steady state of a busy scope: each
// finished deployment pushes one out of a history of 800.
func BenchmarkTrimDeploymentsAt800(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend.name, func(b *testing.B) {
			s := backend.open(b)
			for i := range 800 {
				putDeployment(b, s, fmt.Sprintf("old-%d", i), store.DeploymentSucceeded)
			}
			ctx := b.Context()
			var n int
			for b.Loop() {
				n++
				putDeployment(b, s, fmt.Sprintf("new-%d", n), store.DeploymentSucceeded)
				var trimmed int
				_, err := s.Update(ctx, func(tx store.Tx) (err error) {
					trimmed, err = tx.TrimDeployments(ctx, benchScope, 800)
					return err
				})
				if err != nil || trimmed != 1 {
					b.Fatalf("trimmed %d, %v", trimmed, err)
				}
			}
		})
	}
}
