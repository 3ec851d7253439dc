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
