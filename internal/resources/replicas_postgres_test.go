package resources_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

// revisionLog is every revision the Updates of some stores returned, so
// that the change feed can be compared with what the writers were told.
type revisionLog struct {
	mu   sync.Mutex
	revs map[int64]bool
}

// recordingStore notes its Updates' revisions in a shared log.
type recordingStore struct {
	store.Store
	log *revisionLog
}

func (r *recordingStore) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	rev, err := r.Store.Update(ctx, fn)
	if err == nil {
		r.log.mu.Lock()
		r.log.revs[rev] = true
		r.log.mu.Unlock()
	}
	return rev, err
}

// replicaWorld is the shared naming of the randomized test: few names, so
// that concurrent operations keep landing on the same entities.
type replicaWorld struct {
	sub    string
	groups []string
	vms    []string // names, in every group
	uamis  []string // names, in every group
	sp     string   // a bystander service principal
}

func (w replicaWorld) vmID(group, name string) string {
	return "/subscriptions/" + w.sub + "/resourceGroups/" + group + "/providers/Microsoft.Compute/virtualMachines/" + name
}

func (w replicaWorld) uamiID(group, name string) string {
	return resources.UserAssignedIdentityID(w.sub, group, name)
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// TestPostgresReplicasKeepTheLifecycleRules drives two replicas (two stores
// on one schema) from many goroutines through the same domain calls the ARM
// handlers make: resources with system-assigned identities, user-assigned
// identities attached to them, deletes of both and of whole groups, and
// role assignments held by those principals or scoped at those resources.
// Afterwards nothing may be orphaned (DESIGN.md, lifecycle rules) and the
// change feed must hold exactly the revisions the writers were given, in
// order, as a follower polling during the run saw them.
func TestPostgresReplicasKeepTheLifecycleRules(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	w := replicaWorld{
		sub:    "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
		groups: []string{"rg-a", "rg-b"},
		vms:    []string{"vm-0", "vm-1", "vm-2", "vm-3", "vm-4"},
		uamis:  []string{"id-0", "id-1", "id-2", "id-3"},
		sp:     uuid.NewString(),
	}
	log := &revisionLog{revs: map[int64]bool{}}
	var stores [2]*recordingStore
	var svcs [2]*resources.Service
	for i := range stores {
		st, err := sqlstore.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stores[i] = &recordingStore{Store: st, log: log}
		svcs[i] = resources.New(resources.Config{Store: stores[i], TenantID: tenantID, FederatedCredentialLimit: resources.DefaultFederatedCredentialLimit})
	}
	setup := func(fn func(tx store.Tx) error) {
		t.Helper()
		if _, err := stores[0].Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	setup(func(tx store.Tx) error {
		if err := tx.CreateSubscription(ctx, store.Subscription{ID: w.sub, DisplayName: "Default", State: "Enabled", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.CreatePrincipal(ctx, store.Principal{ObjectID: w.sp, AppID: uuid.NewString(), Kind: store.PrincipalServicePrincipal, DisplayName: "bystander"})
	})
	for _, g := range w.groups {
		if _, _, err := svcs[0].PutResourceGroup(ctx, resources.ResourceGroupSpec{SubscriptionID: w.sub, Name: g, Location: "westus"}); err != nil {
			t.Fatal(err)
		}
	}

	follower := startFollower(ctx, stores[1].Store)

	const workersPerReplica, opsPerWorker = 6, 70
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for r := range 2 {
		for wk := range workersPerReplica {
			rng := rand.New(rand.NewPCG(uint64(r), uint64(wk)))
			wg.Go(func() {
				for range opsPerWorker {
					op, err := replicaOp(ctx, rng, w, svcs[r], stores[r])
					outcome := "ok"
					if err != nil {
						outcome = "refused"
						if !expectedRefusal(err) {
							outcome = "failed"
							t.Errorf("%s on replica %d: %v", op, r, err)
						}
					}
					mu.Lock()
					counts[op+" "+outcome]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	t.Logf("operations: %v", counts)

	wantNoOrphans(t, stores[0], w)
	wantNoOrphans(t, stores[1], w)
	wantFeedMatches(t, stores[0].Store, log.revs, follower)
}

// replicaOp runs one random operation and names it.
func replicaOp(ctx context.Context, rng *rand.Rand, w replicaWorld, svc *resources.Service, st store.Store) (string, error) {
	group := pick(rng, w.groups)
	opt := resources.WriteOptions{Actor: actor}
	switch n := rng.IntN(100); {
	case n < 25:
		spec := &resources.IdentitySpec{}
		system := rng.IntN(10) < 7
		user := map[string]bool{}
		for range rng.IntN(3) {
			user[w.uamiID(pick(rng, w.groups), pick(rng, w.uamis))] = true
		}
		spec.Type = resources.IdentityType(system, len(user) > 0)
		if len(user) > 0 {
			spec.UserAssigned = user
		}
		_, _, err := svc.PutResource(ctx, resources.ResourceSpec{ID: w.vmID(group, pick(rng, w.vms)), Location: "westus", Identity: spec}, opt)
		return "put resource", err
	case n < 40:
		_, _, err := svc.PutUserAssignedIdentity(ctx, actor, resources.UserAssignedIdentitySpec{
			IdentityRef: resources.IdentityRef{SubscriptionID: w.sub, ResourceGroup: group, Name: pick(rng, w.uamis)}, Location: "westus",
		})
		return "put identity", err
	case n < 50:
		_, err := svc.PatchResource(ctx, resources.ResourceSpec{ID: w.vmID(group, pick(rng, w.vms)), Identity: &resources.IdentitySpec{
			Type: "SystemAssigned, UserAssigned", UserAssigned: map[string]bool{w.uamiID(pick(rng, w.groups), pick(rng, w.uamis)): true},
		}}, opt)
		return "attach identity", err
	case n < 58:
		_, err := svc.DeleteResource(ctx, actor, w.vmID(group, pick(rng, w.vms)))
		return "delete resource", err
	case n < 66:
		_, err := svc.DeleteUserAssignedIdentity(ctx, actor, resources.IdentityRef{SubscriptionID: w.sub, ResourceGroup: group, Name: pick(rng, w.uamis)})
		return "delete identity", err
	case n < 96:
		// A client reads a principal ID, then assigns it a role at some
		// scope: a resource, an identity or a group.
		holder := w.vmID(group, pick(rng, w.vms))
		if rng.IntN(2) == 0 {
			holder = w.uamiID(group, pick(rng, w.uamis))
		}
		principal := w.sp
		if rng.IntN(4) != 0 {
			v, err := svc.GetResource(ctx, holder)
			if err != nil || v.PrincipalID == "" {
				return "assign role", errNothingToAssign
			}
			principal = v.PrincipalID
		}
		scope := resources.ResourceGroupID(w.sub, pick(rng, w.groups))
		switch rng.IntN(3) {
		case 0:
			scope = w.vmID(pick(rng, w.groups), pick(rng, w.vms))
		case 1:
			scope = w.uamiID(pick(rng, w.groups), pick(rng, w.uamis))
		}
		return "assign role", assignRole(ctx, st, w, principal, scope)
	case n < 98:
		return "delete group", svc.DeleteResourceGroup(ctx, actor, w.sub, group)
	default:
		_, _, err := svc.PutResourceGroup(ctx, resources.ResourceGroupSpec{SubscriptionID: w.sub, Name: group, Location: "westus"})
		return "put group", err
	}
}

var errNothingToAssign = errors.New("no principal to assign")

// assignRole makes a role assignment the way rbacapi's PUT does: in one
// transaction, the scope must exist, the principal must exist, and no
// assignment of the role to it at the scope may.
func assignRole(ctx context.Context, st store.Store, w replicaWorld, principalID, scope string) error {
	const reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	_, err := st.Update(ctx, func(tx store.Tx) error {
		segs := strings.Split(strings.Trim(scope, "/"), "/")
		if _, err := tx.GetResourceGroup(ctx, w.sub, segs[3]); err != nil {
			return err
		}
		if len(segs) > 4 {
			if _, err := tx.GetResource(ctx, scope); err != nil {
				return err
			}
		}
		if _, err := tx.GetPrincipal(ctx, principalID); err != nil {
			return err
		}
		dups, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{PrincipalID: principalID, RoleDefinitionID: reader, Scope: scope})
		if err != nil || len(dups) > 0 {
			return cmpErr(err, store.ErrAlreadyExists)
		}
		now := time.Now()
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{
			Name: uuid.NewString(), Scope: scope, RoleDefinitionID: reader, PrincipalID: principalID,
			PrincipalType: "ServicePrincipal", CreatedAt: now, UpdatedAt: now, CreatedBy: actor, UpdatedBy: actor,
		})
	})
	return err
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// expectedRefusal reports whether err is an answer ARM would give a client
// racing with others (the thing it names is gone or not there yet), as
// opposed to a failure of the store.
func expectedRefusal(err error) bool {
	var (
		nf *resources.NotFoundError
		ve *resources.ValidationError
		ce *resources.ConflictError
	)
	return errors.As(err, &nf) || errors.As(err, &ve) || errors.As(err, &ce) ||
		errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) || errors.Is(err, errNothingToAssign)
}

// wantNoOrphans checks the lifecycle rules on the final state, as seen
// through st: every invariant the fixture tests check, and, as this
// world's groups and scopes are known, that no resource or role assignment
// outlived its group and that each assignment's resource scope exists.
func wantNoOrphans(t *testing.T, st store.Store, w replicaWorld) {
	t.Helper()
	ctx := context.Background()
	err := st.View(ctx, func(tx store.Tx) error {
		problems, err := lifecycleProblems(ctx, tx)
		if err != nil {
			return err
		}
		for _, p := range problems {
			t.Errorf("invariant violated: %s", p)
		}
		groups := map[string]bool{}
		gs, err := tx.ListResourceGroups(ctx, w.sub)
		if err != nil {
			return err
		}
		for _, g := range gs {
			groups[strings.ToLower(g.Name)] = true
		}
		all, err := tx.ListResources(ctx, store.ResourceFilter{})
		if err != nil {
			return err
		}
		byID := map[string]bool{}
		for _, r := range all {
			byID[strings.ToLower(r.ID)] = true
			if !groups[strings.ToLower(r.ResourceGroup)] {
				t.Errorf("resource %s outlived its group", r.ID)
			}
		}
		assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{})
		if err != nil {
			return err
		}
		for _, a := range assignments {
			segs := strings.Split(strings.Trim(a.Scope, "/"), "/")
			if !groups[strings.ToLower(segs[3])] {
				t.Errorf("role assignment %s outlived its group scope %s", a.Name, a.Scope)
			}
			if len(segs) > 4 && !byID[strings.ToLower(a.Scope)] {
				t.Errorf("role assignment %s outlived its resource scope %s", a.Name, a.Scope)
			}
		}
		t.Logf("final state: %d groups, %d resources, %d role assignments, %d lifecycle problems", len(gs), len(all), len(assignments), len(problems))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// follower polls the change feed the way an index does (revision > the last
// applied) and remembers what it saw, until stopped.
type follower struct {
	stop func() ([]int64, error)
}

func startFollower(ctx context.Context, st store.Store) follower {
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		seen []int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var seen []int64
		var last int64
		poll := func() error {
			cs, err := st.Changes(context.Background(), last, 50)
			for _, c := range cs {
				if c.Revision != last {
					seen = append(seen, c.Revision)
					last = c.Revision
				}
			}
			return err
		}
		for ctx.Err() == nil {
			if err := poll(); err != nil {
				done <- result{err: err}
				return
			}
			time.Sleep(time.Millisecond)
		}
		// The writers are done: catch up with the head.
		for {
			n := len(seen)
			if err := poll(); err != nil || len(seen) == n {
				done <- result{seen, err}
				return
			}
		}
	}()
	return follower{stop: func() ([]int64, error) {
		cancel()
		r := <-done
		return r.seen, r.err
	}}
}

// wantFeedMatches checks that the feed holds, in strictly increasing order,
// exactly the revisions Update returned, ending at Revision(), and that the
// follower saw every one of them.
func wantFeedMatches(t *testing.T, st store.Store, returned map[int64]bool, f follower) {
	t.Helper()
	ctx := context.Background()
	seen, err := f.stop()
	if err != nil {
		t.Fatalf("follower: %v", err)
	}
	var feed []int64
	var last int64
	for {
		cs, err := st.Changes(ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			if c.Revision < last {
				t.Fatalf("change feed goes back from %d to %d", last, c.Revision)
			}
			if c.Revision != last {
				feed = append(feed, c.Revision)
				last = c.Revision
			}
		}
	}
	head, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head != last {
		t.Errorf("Revision() = %d, the feed ends at %d", head, last)
	}
	var want []int64
	for rev := range returned {
		if rev != 0 {
			want = append(want, rev)
		}
	}
	slices.Sort(want)
	if !slices.Equal(feed, want) {
		t.Errorf("the feed holds %d revisions, Update returned %d distinct ones; first difference: %s", len(feed), len(want), firstDiff(feed, want))
	}
	if !slices.Equal(seen, feed) {
		t.Errorf("a follower polling during the writes saw %d revisions, the feed holds %d; first difference: %s", len(seen), len(feed), firstDiff(seen, feed))
	}
	gaps := 0
	for i := 1; i < len(feed); i++ {
		gaps += int(feed[i] - feed[i-1] - 1)
	}
	t.Logf("feed: %d revisions up to %d, %d numbers drawn by transactions that then failed", len(feed), last, gaps)
}

func firstDiff(a, b []int64) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at index %d: %d vs %d", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d)", len(a), len(b))
}
