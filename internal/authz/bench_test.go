package authz_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/authz/authztest"
	"github.com/keyless-io/keyless/internal/store"
)

// Benchmarks run at the size DESIGN.md budgets for (10^6 assignments over
// 10^5 principals, a five-level scope tree). Building that world takes
// seconds, so it happens only when a benchmark asks for it, once per
// process; plain `go test` never pays for it.
//
//	go test ./internal/authz -run '^$' -bench . -benchtime 1x        # smoke
//	go test ./internal/authz -run '^$' -bench 'Allowed$' -benchtime 2s
//	go test ./internal/authz -run '^$' -bench Latency -benchtime 1000000x

type benchWorld struct {
	ds     authztest.Dataset
	engine *authz.Engine
}

var (
	worldsMu sync.Mutex
	worlds   = map[authztest.Config]*benchWorld{}
)

func world(b *testing.B, c authztest.Config) *benchWorld {
	b.Helper()
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if w := worlds[c]; w != nil {
		return w
	}
	start := time.Now()
	ds := authztest.Generate(c)
	e := authz.New()
	e.Load(ds.Roles, ds.Assignments, ds.GroupMembers)
	b.Logf("built a world of %d assignments in %v", len(ds.Assignments), time.Since(start).Round(time.Millisecond))
	w := &benchWorld{ds: ds, engine: e}
	worlds[c] = w
	return w
}

var sizes = []struct {
	name string
	cfg  authztest.Config
}{
	{"assignments=10k", authztest.Scaled(100)},
	{"assignments=1M", authztest.Realistic()},
}

// BenchmarkAllowed measures one check. The two sizes differ by 100x in
// assignments; the time per check should not.
func BenchmarkAllowed(b *testing.B) {
	for _, size := range sizes {
		b.Run(size.name, func(b *testing.B) {
			w := world(b, size.cfg)
			qs := w.ds.Queries
			allowed := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				q := &qs[i%len(qs)]
				if w.engine.Allowed(q.PrincipalID, q.Action, q.Scope) {
					allowed++
				}
			}
			b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
		})
	}
}

// BenchmarkAllowedParallel shows the read lock does not serialise checks.
func BenchmarkAllowedParallel(b *testing.B) {
	w := world(b, authztest.Realistic())
	qs := w.ds.Queries
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			q := &qs[(i*7919)%len(qs)]
			w.engine.Allowed(q.PrincipalID, q.Action, q.Scope)
		}
	})
}

// BenchmarkAllowedLatency times every call and reports percentiles, since
// an average hides the slow paths (a denial walks every ancestor of the
// scope for the principal and each of its groups). Run it with a fixed
// count, e.g. -benchtime 1000000x. The numbers include the cost of reading
// the clock twice, reported as timer-ns.
func BenchmarkAllowedLatency(b *testing.B) {
	w := world(b, authztest.Realistic())
	qs := w.ds.Queries
	const bucketNS = 10
	hist := make([]int, 10_000) // 10 ns buckets up to 100 µs
	var overflow []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := &qs[i%len(qs)]
		t0 := time.Now()
		w.engine.Allowed(q.PrincipalID, q.Action, q.Scope)
		d := time.Since(t0)
		if k := int(d / bucketNS); k < len(hist) {
			hist[k]++
		} else {
			overflow = append(overflow, d)
		}
	}
	b.StopTimer()
	percentile := func(p float64) float64 {
		rank := int(p * float64(b.N))
		seen := 0
		for k, n := range hist {
			if seen += n; seen > rank {
				return float64((k + 1) * bucketNS)
			}
		}
		slices.Sort(overflow)
		if i := rank - seen; i < len(overflow) {
			return float64(overflow[i])
		}
		return float64(overflow[len(overflow)-1])
	}
	b.ReportMetric(percentile(0.50), "p50-ns")
	b.ReportMetric(percentile(0.99), "p99-ns")
	b.ReportMetric(percentile(0.999), "p99.9-ns")

	var empty []time.Duration
	for range 10_000 {
		t0 := time.Now()
		empty = append(empty, time.Since(t0))
	}
	slices.Sort(empty)
	b.ReportMetric(float64(empty[len(empty)/2]), "timer-ns")
}

// BenchmarkLoad1M measures a bulk load of a million assignments (server
// start, full resync) and what the engine then keeps in memory per
// assignment: everything it retains, strings included, after the input is
// dropped.
func BenchmarkLoad1M(b *testing.B) {
	cfg := authztest.Realistic()
	runtime.GC()
	base := heapAlloc()
	ds := authztest.Generate(cfg)
	var e *authz.Engine
	b.ResetTimer()
	for b.Loop() {
		e = authz.New()
		e.Load(ds.Roles, ds.Assignments, ds.GroupMembers)
	}
	b.StopTimer()
	if st := e.Stats(); st.Assignments != cfg.Assignments {
		b.Fatalf("loaded %+v", st)
	}
	ds = authztest.Dataset{}
	runtime.GC()
	runtime.GC()
	retained := heapAlloc() - base
	runtime.KeepAlive(e)
	b.ReportMetric(float64(retained)/float64(cfg.Assignments), "bytes/assignment")
	b.ReportMetric(float64(retained)/(1<<20), "MiB-retained")
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkExplain is the cost of the `role check` / 403-message path.
func BenchmarkExplain(b *testing.B) {
	w := world(b, authztest.Scaled(100))
	qs := w.ds.Queries
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q := &qs[i%len(qs)]
		_ = w.engine.Explain(q.PrincipalID, q.Action, q.Scope)
	}
}

func ExampleEngine_Explain() {
	e := authz.New()
	e.SetGroupMembers("ops", []string{"app-identity"})
	e.PutAssignment(store.RoleAssignment{
		Name: "ra-1", PrincipalID: "ops", RoleDefinitionID: authz.RoleReader, Scope: "/subscriptions/s1",
	})
	fmt.Println(e.Explain("app-identity", "Microsoft.Web/sites/read", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app"))
	fmt.Println(e.Explain("app-identity", "Microsoft.Web/sites/write", "/subscriptions/s1"))
	// Output:
	// action "Microsoft.Web/sites/read" allowed at /subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app by role assignment ra-1 (Reader at /subscriptions/s1, through group ops)
	// action "Microsoft.Web/sites/write" denied at /subscriptions/s1: no role assignment of principal app-identity grants it
}

// treeWorlds are the benchmark worlds with management groups above their
// subscriptions, built once per size.
var treeWorlds = map[authztest.Config]*authz.Engine{}

// treeWorld is world(c) with a management group tree (root, two groups,
// four leaf groups; nine subscriptions under the leaves, one under the
// root) and the assignments made at subscriptions (1 %) moved to the group
// above each subscription, or the one above that, so that those principals
// reach their subscriptions only through the tree.
func treeWorld(b *testing.B, c authztest.Config) *authz.Engine {
	b.Helper()
	w := world(b, c)
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if e := treeWorlds[c]; e != nil {
		return e
	}
	groups := []store.ManagementGroup{{Name: "tenant"}}
	for _, g := range []string{"g0", "g1"} {
		groups = append(groups, store.ManagementGroup{Name: g, ParentName: "tenant"},
			store.ManagementGroup{Name: g + "a", ParentName: g}, store.ManagementGroup{Name: g + "b", ParentName: g})
	}
	leaves := []string{"g0a", "g0b", "g1a", "g1b"}
	var subs []store.Subscription
	groupOf := map[string]store.ManagementGroup{}
	for _, scope := range w.ds.Scopes {
		id, ok := strings.CutPrefix(scope, "/subscriptions/")
		if !ok || strings.Contains(id, "/") {
			continue
		}
		s := store.Subscription{ID: id}
		if len(subs) < 9 {
			s.ManagementGroupName = leaves[len(subs)%len(leaves)]
		}
		subs = append(subs, s)
		if s.ManagementGroupName != "" {
			groupOf[strings.ToLower(scope)] = store.ManagementGroup{Name: s.ManagementGroupName, ParentName: s.ManagementGroupName[:2]}
		}
	}
	assignments := slices.Clone(w.ds.Assignments)
	moved := 0
	for i := range assignments {
		if g, ok := groupOf[strings.ToLower(assignments[i].Scope)]; ok {
			name := g.Name
			if moved%2 == 1 {
				name = g.ParentName
			}
			assignments[i].Scope = authz.ManagementGroupScope(name)
			moved++
		}
	}
	e := authz.New()
	e.Load(w.ds.Roles, assignments, w.ds.GroupMembers)
	e.SetManagementGroups(groups, subs)
	b.Logf("moved %d assignments to management groups above %d subscriptions", moved, len(subs))
	treeWorlds[c] = e
	return e
}

// BenchmarkAllowedWithManagementGroups is BenchmarkAllowed once some
// assignments sit at management groups, so every check of a subscription
// scope also walks the groups above it.
func BenchmarkAllowedWithManagementGroups(b *testing.B) {
	for _, size := range sizes {
		b.Run(size.name, func(b *testing.B) {
			e := treeWorld(b, size.cfg)
			qs := world(b, size.cfg).ds.Queries
			allowed := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				q := &qs[i%len(qs)]
				if e.Allowed(q.PrincipalID, q.Action, q.Scope) {
					allowed++
				}
			}
			b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
		})
	}
}
