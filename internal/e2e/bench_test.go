package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
)

// BenchmarkCreateIdentity measures the ARM write path end to end: a
// user-assigned identity PUT over HTTPS with a real bearer token, through
// the official armmsi client, on each store.
func BenchmarkCreateIdentity(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			opts := testenv.Options{}
			if backend == "postgres" {
				opts.StoreDSN = pgtest.DSN(b)
			}
			env := testenv.Start(b, opts)
			ctx := context.Background()
			cred := env.AdminCredential(b)
			groups, err := armresources.NewResourceGroupsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := groups.CreateOrUpdate(ctx, "bench", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
				b.Fatal(err)
			}
			client, err := armmsi.NewUserAssignedIdentitiesClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					name := fmt.Sprintf("id-%d", n.Add(1))
					if _, err := client.CreateOrUpdate(ctx, "bench", name, armmsi.Identity{Location: to.Ptr("westus")}, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
