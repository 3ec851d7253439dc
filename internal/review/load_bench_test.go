package review_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// BenchmarkLoadFacts reads a review's facts from a SQLite store holding
// n user-assigned identities (each attached to a site) and ten role
// assignments each: the store read that comes before Evaluate.
func BenchmarkLoadFacts(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "keyless.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Update(ctx, func(tx store.Tx) error {
				for _, d := range authz.BuiltinRoles() {
					if _, err := tx.PutRoleDefinition(ctx, d); err != nil {
						return err
					}
				}
				return tx.CreateSubscription(ctx, store.Subscription{ID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "Default", State: "Enabled", CreatedAt: old})
			}); err != nil {
				b.Fatal(err)
			}
			const batch = 2000
			for lo := 0; lo < n; lo += batch {
				if _, err := st.Update(ctx, func(tx store.Tx) error {
					for i := lo; i < min(lo+batch, n); i++ {
						if i%100 == 0 {
							if _, err := tx.PutResourceGroup(ctx, store.ResourceGroup{SubscriptionID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", Name: fmt.Sprintf("rg-%d", i/100), Location: "westus", CreatedAt: old, UpdatedAt: old}); err != nil {
								return err
							}
						}
						group := fmt.Sprintf("%s/resourceGroups/rg-%d", sub, i/100)
						oid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
						id := fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", group, i)
						if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: oid, AppID: "app-" + oid, Kind: store.PrincipalUserAssigned, ResourceID: id, DisplayName: fmt.Sprintf("id-%d", i), CreatedAt: old}); err != nil {
							return err
						}
						if _, err := tx.PutResource(ctx, store.Resource{ID: id, SubscriptionID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", ResourceGroup: fmt.Sprintf("rg-%d", i/100),
							Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Name: fmt.Sprintf("id-%d", i), Location: "westus", PrincipalID: oid, CreatedAt: old, UpdatedAt: old}); err != nil {
							return err
						}
						for k := 0; k < 10; k++ {
							if err := tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: fmt.Sprintf("a-%d-%d", i, k), PrincipalID: oid,
								RoleDefinitionID: authz.RoleReader, Scope: fmt.Sprintf("%s/providers/Microsoft.Web/sites/web-%d-%d", group, i, k), CreatedAt: old, UpdatedAt: old}); err != nil {
								return err
							}
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			engine := authz.New()
			if err := engine.LoadFrom(ctx, st); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start, runs := cpuSeconds(), 0
			for b.Loop() {
				runs++
				f, err := review.Load(ctx, st, time.Now().Add(-90*24*time.Hour), engine)
				if err != nil || len(f.Principals) < n || len(f.Assignments) != 10*n {
					b.Fatalf("%v, %d principals, %d assignments", err, len(f.Principals), len(f.Assignments))
				}
			}
			b.ReportMetric((cpuSeconds()-start)/float64(runs), "cpu-s/op")
		})
	}
}
