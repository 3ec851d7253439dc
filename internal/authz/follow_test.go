package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// following starts a follower on s and waits for its initial load.
func following(t *testing.T, s *fakeStore, e *Engine) (ctx context.Context, errs func() []error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var seen []error
	done := make(chan error, 1)
	go func() {
		done <- e.Follow(ctx, s, func(err error) {
			mu.Lock()
			seen = append(seen, err)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow returned %v, want context.Canceled", err)
		}
	})
	rev, _ := s.Revision(ctx)
	waitFor(t, e, rev)
	return ctx, func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), seen...)
	}
}

func waitFor(t *testing.T, e *Engine, rev int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitFor(ctx, rev); err != nil {
		t.Fatalf("WaitFor(%d): %v (applied %d)", rev, err, e.Revision())
	}
}

func update(t *testing.T, s *fakeStore, fn func(ctx context.Context, tx store.Tx) error) int64 {
	t.Helper()
	ctx := context.Background()
	rev, err := s.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestFollow(t *testing.T) {
	s := newFakeStore()
	const custom = "44444444-0000-0000-0000-000000000000"
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.PutRoleDefinition(ctx, store.RoleDefinition{ID: custom, RoleName: "Web reader",
			Permissions: []store.Permission{{Actions: []string{"Microsoft.Web/*/read"}}}}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: "group", Kind: store.PrincipalGroup}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: "alice", Kind: store.PrincipalUser}); err != nil {
			return err
		}
		if err := tx.AddGroupMember(ctx, "group", "alice"); err != nil {
			return err
		}
		if err := tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "a1", PrincipalID: "group", RoleDefinitionID: custom, Scope: rg1}); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "a2", PrincipalID: "bob", RoleDefinitionID: RoleReader, Scope: subA})
	})

	e := New()
	_, errs := following(t, s, e)
	check := func(step, principal, action, scope string, want bool) {
		t.Helper()
		if got := e.Allowed(principal, action, scope); got != want {
			t.Fatalf("%s: Allowed(%s, %s, %s) = %v, want %v", step, principal, action, scope, got, want)
		}
	}
	check("initial load: group role", "alice", actionSiteRead, site, true)
	check("initial load: direct role", "bob", actionVMRead, rg2, true)

	rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "a3", PrincipalID: "carol", RoleDefinitionID: RoleOwner, Scope: rg2})
	})
	waitFor(t, e, rev)
	check("assignment created", "carol", actionVMWrite, rg2, true)

	rev = update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteRoleAssignment(ctx, "a2") })
	waitFor(t, e, rev)
	check("assignment deleted", "bob", actionVMRead, rg2, false)

	rev = update(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PutRoleDefinition(ctx, store.RoleDefinition{ID: custom, RoleName: "Web writer",
			Permissions: []store.Permission{{Actions: []string{"Microsoft.Web/*/write"}}}})
		return err
	})
	waitFor(t, e, rev)
	check("role redefined", "alice", actionSiteRead, site, false)
	check("role redefined grants the new action", "alice", "Microsoft.Web/sites/write", site, true)

	rev = update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RemoveGroupMember(ctx, "group", "alice") })
	waitFor(t, e, rev)
	check("member removed", "alice", "Microsoft.Web/sites/write", site, false)

	rev = update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddGroupMember(ctx, "group", "alice") })
	waitFor(t, e, rev)
	check("member added back", "alice", "Microsoft.Web/sites/write", site, true)

	// The store drops memberships with the principal and records only the
	// principal's deletion (assignments are deleted by the caller first).
	rev = update(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteRoleAssignment(ctx, "a1"); err != nil {
			return err
		}
		if err := tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "a4", PrincipalID: "outer", RoleDefinitionID: RoleReader, Scope: "/"}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: "outer", Kind: store.PrincipalGroup}); err != nil {
			return err
		}
		return tx.AddGroupMember(ctx, "outer", "group")
	})
	waitFor(t, e, rev)
	check("nested group through the feed", "alice", actionVMRead, rg1, true)
	rev = update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeletePrincipal(ctx, "group") })
	waitFor(t, e, rev)
	check("middle group deleted", "alice", actionVMRead, rg1, false)

	rev = update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteRoleDefinition(ctx, custom) })
	waitFor(t, e, rev)
	if _, ok := e.Role(custom); ok {
		t.Error("deleted role still known")
	}
	if errs := errs(); len(errs) != 0 {
		t.Errorf("follower reported %v", errs)
	}
}

func TestFollowRevisionLargerThanAPage(t *testing.T) {
	s := newFakeStore()
	e := New()
	following(t, s, e)
	n := changePage*2 + 500
	rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.CreateRoleAssignment(ctx, store.RoleAssignment{
				Name: fmt.Sprintf("big-%d", i), PrincipalID: fmt.Sprintf("p%d", i), RoleDefinitionID: RoleReader, Scope: rg1,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	// A second, small revision after the big one must not be skipped
	// either.
	rev2 := update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "small", PrincipalID: "q", RoleDefinitionID: RoleReader, Scope: rg1})
	})
	if rev2 != rev+1 {
		t.Fatalf("revisions %d, %d", rev, rev2)
	}
	waitFor(t, e, rev2)
	if got := e.Stats().Assignments; got != n+1 {
		t.Fatalf("%d assignments applied, want %d", got, n+1)
	}
	if !e.Allowed(fmt.Sprintf("p%d", n-1), actionVMRead, rg1) || !e.Allowed("q", actionVMRead, rg1) {
		t.Error("the last assignments are missing")
	}
}

func TestWaitForTriggersCatchUp(t *testing.T) {
	s := newFakeStore()
	s.silent = true // no notifications at all
	e := New()
	e.poll = time.Hour // and no polling within the test's lifetime
	following(t, s, e)
	rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "x", PrincipalID: "p", RoleDefinitionID: RoleOwner, Scope: "/"})
	})
	waitFor(t, e, rev) // only WaitFor's own request can get it there
	if !e.Allowed("p", actionVMWrite, rg1) {
		t.Error("write not visible after WaitFor")
	}
}

func TestFollowRetriesInitialLoad(t *testing.T) {
	s := newFakeStore()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "x", PrincipalID: "p", RoleDefinitionID: RoleReader, Scope: "/"})
	})
	s.failViews = 2
	e := New()
	e.poll = 10 * time.Millisecond
	_, errs := following(t, s, e)
	if !e.Allowed("p", actionVMRead, rg1) {
		t.Error("not loaded after retries")
	}
	if got := errs(); len(got) != 2 || !errors.Is(got[0], errFakeView) {
		t.Errorf("onErr got %v, want the two load failures", got)
	}
}

func TestWaitForWithoutFollower(t *testing.T) {
	e := New()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := e.WaitFor(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor = %v, want deadline exceeded", err)
	}
	if err := e.WaitFor(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor(0) before any load = %v, want deadline exceeded", err)
	}
}

func TestFollowTwice(t *testing.T) {
	s := newFakeStore()
	e := New()
	ctx, _ := following(t, s, e)
	if err := e.Follow(ctx, s, nil); !errors.Is(err, ErrAlreadyFollowing) {
		t.Errorf("second Follow = %v", err)
	}
}
