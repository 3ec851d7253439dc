package review_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/inventory"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// seeded is a SQLite store holding n user-assigned identities (each
// attached to a site, one in ten used within the window) and ten role
// assignments each, with the RBAC engine and the directory loaded from it.
func seeded(b *testing.B, n int) (store.Store, review.Sources) {
	b.Helper()
	ctx := context.Background()
	// KEYLESS_BENCH_DIR keeps the seeded store between runs (seeding
	// 100,000 identities takes a minute); by default it is a temporary one.
	dir, keep := os.LookupEnv("KEYLESS_BENCH_DIR")
	if !keep {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("review-%d.db", n))
	if _, err := os.Stat(path); err == nil && keep {
		st, err := sqlstore.OpenSQLite(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		return st, loaded(b, st)
	}
	// Seeded under another name and renamed when complete, so that an
	// interrupted seed is never taken for a finished one.
	partial := path + ".partial"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(partial + suffix)
	}
	st, err := sqlstore.OpenSQLite(ctx, partial)
	if err != nil {
		b.Fatal(err)
	}
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
				site := fmt.Sprintf("%s/providers/Microsoft.Web/sites/web-%d", group, i)
				if _, err := tx.PutResource(ctx, store.Resource{ID: site, SubscriptionID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", ResourceGroup: fmt.Sprintf("rg-%d", i/100),
					Type: "Microsoft.Web/sites", Name: fmt.Sprintf("web-%d", i), Location: "westus", UserAssignedIdentities: []string{id}, CreatedAt: old, UpdatedAt: old}); err != nil {
					return err
				}
				if i%10 == 0 {
					batch := store.UsageBatch{Replica: "bench", Seq: int64(i + 1),
						Tokens:  []store.TokenUsage{{PrincipalID: oid, Audience: "https://management.azure.com/", Day: recent.Truncate(24 * time.Hour), Count: 1, First: recent, Last: recent}},
						Actions: []store.ActionUsage{{PrincipalID: oid, Action: "Microsoft.Web/sites/read", Scope: site, Count: 1, First: recent, Last: recent}}}
					if _, err := tx.MergeUsage(ctx, batch); err != nil {
						return err
					}
				}
				for k := 0; k < 10; k++ {
					if err := tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, k), PrincipalID: oid,
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
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm", ""} { // the database last
		if err := os.Rename(partial+suffix, path+suffix); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
	}
	if st, err = sqlstore.OpenSQLite(ctx, path); err != nil {
		b.Fatal(err)
	}
	return st, loaded(b, st)
}

// loaded is the server's in-memory indexes over st.
func loaded(b *testing.B, st store.Store) review.Sources {
	ctx := context.Background()
	engine := authz.New()
	if err := engine.LoadFrom(ctx, st); err != nil {
		b.Fatal(err)
	}
	dir := directory.New(st, nil)
	if err := dir.Reload(ctx); err != nil {
		b.Fatal(err)
	}
	return review.Sources{Principals: dir, Assignments: engine}
}

// BenchmarkLoadFacts reads a review's facts: from the store only
// (source=store), and as the server reads them, principals and role
// assignments from its in-memory indexes (source=memory).
func BenchmarkLoadFacts(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		st, mem := seeded(b, n)
		for _, src := range []struct {
			name string
			s    review.Sources
		}{{"store", review.Sources{}}, {"memory", mem}} {
			b.Run(fmt.Sprintf("identities=%d/source=%s", n, src.name), func(b *testing.B) {
				start, runs := cpuSeconds(), 0
				for b.Loop() {
					runs++
					f, err := review.Load(context.Background(), st, now.Add(-90*24*time.Hour), src.s)
					if err != nil || len(f.Principals) < n || len(f.ByPrincipal()) != n || len(f.Attachments) != n {
						b.Fatalf("%v, %d principals, %d assignees, %d attachments", err, len(f.Principals), len(f.ByPrincipal()), len(f.Attachments))
					}
				}
				b.ReportMetric((cpuSeconds()-start)/float64(runs), "cpu-s/op")
			})
		}
		st.Close()
	}
}

// BenchmarkEndToEnd100k is a review and an inventory of the whole tenant
// at 100,000 identities and 1,000,000 assignments as the server does one:
// the facts read (from memory where the server holds them) and evaluated.
func BenchmarkEndToEnd100k(b *testing.B) {
	st, src := seeded(b, 100_000)
	defer st.Close()
	ctx := context.Background()
	since := now.Add(-90 * 24 * time.Hour)
	// run reads the facts and hands them to use, once per iteration.
	run := func(b *testing.B, use func(*review.Facts)) {
		start, runs := cpuSeconds(), 0
		for b.Loop() {
			runs++
			f, err := review.Load(ctx, st, since, src)
			if err != nil {
				b.Fatal(err)
			}
			use(f)
		}
		b.ReportMetric((cpuSeconds()-start)/float64(runs), "cpu-s/op")
	}
	b.Run("review", func(b *testing.B) {
		run(b, func(f *review.Facts) {
			if got := review.Evaluate(f, review.Options{Scope: "/", Now: now}); len(got) < 100_000 {
				b.Fatalf("%d findings", len(got))
			}
		})
	})
	// What the access review route adds: the answer encoded as JSON, as
	// the server writes it (≈350,000 findings).
	b.Run("review+json", func(b *testing.B) {
		var size int64
		run(b, func(f *review.Facts) {
			w := &countingWriter{}
			if err := json.NewEncoder(w).Encode(map[string]any{"scope": "/", "findings": review.Evaluate(f, review.Options{Scope: "/", Now: now})}); err != nil {
				b.Fatal(err)
			}
			size = w.n
		})
		b.ReportMetric(float64(size)/(1<<20), "MiB")
	})
	b.Run("inventory", func(b *testing.B) {
		run(b, func(f *review.Facts) {
			if inv := inventory.Build(f, "/", now); len(inv.Identities) != 100_000 {
				b.Fatalf("%d identities", len(inv.Identities))
			}
		})
	})
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
