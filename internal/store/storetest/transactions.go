package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// notifyWait bounds how long a test waits for a Notify wake-up.
const notifyWait = 10 * time.Second

var errInjected = errors.New("injected failure")

var transactionBehaviours = []behaviour{
	{"store/ping and backend name", func(t *testing.T, s store.Store) {
		wantErr(t, "Ping", s.Ping(t.Context()), nil)
		if s.Backend() == "" {
			t.Fatal("Backend() is empty")
		}
	}},
	{"revision/a writing update bumps it exactly once", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			for i := range 3 {
				if err := tx.CreatePrincipal(ctx, principal(fmt.Sprint("obj-", i), fmt.Sprint("app-", i))); err != nil {
					return err
				}
			}
			return nil
		})
		wantEqual(t, "committed revision", rev, before+1)
		wantEqual(t, "current revision", revision(t, s), rev)
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindPrincipal, "obj-0", store.OpPut},
			{rev, store.KindPrincipal, "obj-1", store.OpPut},
			{rev, store.KindPrincipal, "obj-2", store.OpPut},
		})
	}},
	{"revision/an update that only reads or fails to delete keeps it", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutMeta(ctx, "k", []byte("v")) })
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.GetMeta(ctx, "k"); err != nil {
				return err
			}
			wantErr(t, "delete missing agent", tx.DeleteAgent(ctx, "nope"), store.ErrNotFound)
			wantErr(t, "delete missing resource", tx.DeleteResource(ctx, "/nope"), store.ErrNotFound)
			wantErr(t, "delete missing principal", tx.DeletePrincipal(ctx, "nope"), store.ErrNotFound)
			_, err := tx.ConsumeJoinToken(ctx, "nope")
			wantErr(t, "consume missing token", err, store.ErrNotFound)
			return nil
		})
		wantEqual(t, "Update returns the current revision", rev, before)
		wantNothingWritten(t, s, before)
	}},
	{"changes/one per key with the last op, and writes carry their time", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		start := time.Now().Add(-time.Minute)
		vm := resource("Microsoft.Compute/virtualMachines", "VM")
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.CreatePrincipal(ctx, principal("obj", "app")); err != nil {
				return err
			}
			err := tx.UpdatePrincipal(ctx, "obj", func(p store.Principal) (store.Principal, error) {
				p.DisplayName = "renamed"
				return p, nil
			})
			if err != nil {
				return err
			}
			if err := tx.PutMeta(ctx, "k", nil); err != nil {
				return err
			}
			if _, err := tx.PutResourceGroup(ctx, store.ResourceGroup{SubscriptionID: subID, Name: "Rg-One"}); err != nil {
				return err
			}
			if _, err := tx.PutResource(ctx, vm); err != nil {
				return err
			}
			if err := tx.DeleteResource(ctx, upper(vm.ID)); err != nil {
				return err
			}
			return tx.DeletePrincipal(ctx, "obj")
		})
		got := changes(t, s, before)
		wantEqual(t, "changes", stripTimes(got), []change{
			{rev, store.KindPrincipal, "obj", store.OpDelete},
			{rev, store.KindMeta, "k", store.OpPut},
			{rev, store.KindResourceGroup, "/subscriptions/" + subID + "/resourcegroups/rg-one", store.OpPut},
			{rev, store.KindResource, strings.ToLower(vm.ID), store.OpDelete},
		})
		for _, c := range got {
			if c.At.Before(start) || c.At.After(time.Now().Add(time.Minute)) {
				t.Fatalf("change time %v is not about now", c.At)
			}
		}
	}},
	{"changes/listed oldest first after since, never splitting a revision", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		var revs []int64
		for i, n := range []int{2, 3, 1} {
			revs = append(revs, update(t, s, func(ctx context.Context, tx store.Tx) error {
				for j := range n {
					if err := tx.PutMeta(ctx, fmt.Sprintf("k%d-%d", i, j), nil); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		all := changes(t, s, before)
		if len(all) != 6 {
			t.Fatalf("got %d changes, want 6: %+v", len(all), all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Revision < all[i-1].Revision {
				t.Fatalf("changes out of order: %+v", all)
			}
		}
		ctx := t.Context()
		page, err := s.Changes(ctx, before, 1)
		wantErr(t, "Changes limit 1", err, nil)
		wantEqual(t, "a page cut inside revision 1 is completed", stripTimes(page), stripTimes(all[:2]))
		page, err = s.Changes(ctx, revs[0], 4)
		wantErr(t, "Changes limit 4", err, nil)
		wantEqual(t, "pages end at revision boundaries or at limit", stripTimes(page), stripTimes(all[2:]))
		page, err = s.Changes(ctx, revs[1], 10)
		wantErr(t, "Changes after revision 2", err, nil)
		wantEqual(t, "since excludes its revision", stripTimes(page), stripTimes(all[5:]))
		page, err = s.Changes(ctx, revs[2], 10)
		wantErr(t, "Changes at the head", err, nil)
		wantEqual(t, "nothing after the head", len(page), 0)
	}},
	{"notify/fires after a write", func(t *testing.T, s store.Store) {
		ch := s.Notify(t.Context())
		drain(ch)
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutMeta(ctx, "k", nil) })
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatal("Notify channel closed")
			}
		case <-time.After(notifyWait):
			t.Fatal("no notification after a write")
		}
	}},
	{"notify/coalesces and never blocks the writer", func(t *testing.T, s store.Store) {
		ch := s.Notify(t.Context())
		for i := range 20 {
			update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutMeta(ctx, strconv.Itoa(i), nil) })
		}
		select {
		case <-ch:
		case <-time.After(notifyWait):
			t.Fatal("no notification after 20 writes")
		}
	}},
	{"notify/closes when its context ends", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		ch := s.Notify(ctx)
		cancel()
		waitClosed(t, ch)
	}},
	{"notify/closes when the store closes", func(t *testing.T, s store.Store) {
		ch := s.Notify(t.Context())
		wantErr(t, "Close", s.Close(), nil)
		waitClosed(t, ch)
	}},
	{"view/every write method is ErrReadOnly", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		writes := map[string]func(ctx context.Context, tx store.Tx) error{
			"PutMeta": func(ctx context.Context, tx store.Tx) error { return tx.PutMeta(ctx, "k", nil) },
			"CreateSigningKey": func(ctx context.Context, tx store.Tx) error {
				return tx.CreateSigningKey(ctx, store.SigningKey{KID: "k"})
			},
			"UpdateSigningKey": func(ctx context.Context, tx store.Tx) error {
				return tx.UpdateSigningKey(ctx, "k", func(k store.SigningKey) (store.SigningKey, error) { return k, nil })
			},
			"DeleteSigningKey": func(ctx context.Context, tx store.Tx) error { return tx.DeleteSigningKey(ctx, "k") },
			"CreatePrincipal":  func(ctx context.Context, tx store.Tx) error { return tx.CreatePrincipal(ctx, principal("p", "a")) },
			"UpdatePrincipal": func(ctx context.Context, tx store.Tx) error {
				return tx.UpdatePrincipal(ctx, "p", func(p store.Principal) (store.Principal, error) { return p, nil })
			},
			"DeletePrincipal": func(ctx context.Context, tx store.Tx) error { return tx.DeletePrincipal(ctx, "p") },
			"CreateCredential": func(ctx context.Context, tx store.Tx) error {
				return tx.CreateCredential(ctx, store.Credential{ID: "c", PrincipalID: "p"})
			},
			"DeleteCredential":  func(ctx context.Context, tx store.Tx) error { return tx.DeleteCredential(ctx, "p", "c") },
			"AddGroupMember":    func(ctx context.Context, tx store.Tx) error { return tx.AddGroupMember(ctx, "g", "p") },
			"RemoveGroupMember": func(ctx context.Context, tx store.Tx) error { return tx.RemoveGroupMember(ctx, "g", "p") },
			"CreateSubscription": func(ctx context.Context, tx store.Tx) error {
				return tx.CreateSubscription(ctx, store.Subscription{ID: subID})
			},
			"UpdateSubscription": func(ctx context.Context, tx store.Tx) error {
				return tx.UpdateSubscription(ctx, subID, func(s store.Subscription) (store.Subscription, error) { return s, nil })
			},
			"PutResourceGroup": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutResourceGroup(ctx, store.ResourceGroup{SubscriptionID: subID, Name: "rg"})
				return err
			},
			"DeleteResourceGroup": func(ctx context.Context, tx store.Tx) error { return tx.DeleteResourceGroup(ctx, subID, "rg") },
			"PutResource": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutResource(ctx, identity("u"))
				return err
			},
			"DeleteResource": func(ctx context.Context, tx store.Tx) error { return tx.DeleteResource(ctx, identity("u").ID) },
			"PutFederatedCredential": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutFederatedCredential(ctx, store.FederatedCredential{IdentityID: identity("u").ID, Name: "f"})
				return err
			},
			"DeleteFederatedCredential": func(ctx context.Context, tx store.Tx) error {
				return tx.DeleteFederatedCredential(ctx, identity("u").ID, "f")
			},
			"PutRoleDefinition": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutRoleDefinition(ctx, store.RoleDefinition{ID: readerRole})
				return err
			},
			"DeleteRoleDefinition": func(ctx context.Context, tx store.Tx) error { return tx.DeleteRoleDefinition(ctx, readerRole) },
			"CreateRoleAssignment": func(ctx context.Context, tx store.Tx) error {
				return tx.CreateRoleAssignment(ctx, roleAssignment("a", "/", readerRole, "p"))
			},
			"DeleteRoleAssignment": func(ctx context.Context, tx store.Tx) error { return tx.DeleteRoleAssignment(ctx, "a") },
			"PutManagementGroup": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutManagementGroup(ctx, managementGroup(tenantID, ""))
				return err
			},
			"DeleteManagementGroup": func(ctx context.Context, tx store.Tx) error { return tx.DeleteManagementGroup(ctx, tenantID) },
			"PutDeployment": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutDeployment(ctx, deployment(rgID, "d", store.DeploymentRunning))
				return err
			},
			"DeleteDeployment": func(ctx context.Context, tx store.Tx) error { return tx.DeleteDeployment(ctx, rgID, "d") },
			"PutDeploymentOperations": func(ctx context.Context, tx store.Tx) error {
				return tx.PutDeploymentOperations(ctx, rgID, "d", []store.DeploymentOperation{operation("1", t0)})
			},
			"TrimDeployments": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.TrimDeployments(ctx, rgID, 0)
				return err
			},
			"CreateAgent": func(ctx context.Context, tx store.Tx) error { return tx.CreateAgent(ctx, store.Agent{ID: "a"}) },
			"UpdateAgent": func(ctx context.Context, tx store.Tx) error {
				return tx.UpdateAgent(ctx, "a", func(a store.Agent) (store.Agent, error) { return a, nil })
			},
			"DeleteAgent": func(ctx context.Context, tx store.Tx) error { return tx.DeleteAgent(ctx, "a") },
			"CreateJoinToken": func(ctx context.Context, tx store.Tx) error {
				return tx.CreateJoinToken(ctx, store.JoinToken{TokenHash: "h"})
			},
			"ConsumeJoinToken": func(ctx context.Context, tx store.Tx) error {
				_, err := tx.ConsumeJoinToken(ctx, "h")
				return err
			},
			"CreateLaunchGrant": func(ctx context.Context, tx store.Tx) error {
				return tx.CreateLaunchGrant(ctx, store.LaunchGrant{ID: "g"})
			},
			"DeleteLaunchGrant": func(ctx context.Context, tx store.Tx) error { return tx.DeleteLaunchGrant(ctx, "g") },
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			for name, write := range writes {
				wantErr(t, name, write(ctx, tx), store.ErrReadOnly)
			}
			return nil
		})
		wantNothingWritten(t, s, before)
	}},
	{"update/an error from fn is returned and nothing is kept", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.CreatePrincipal(t.Context(), principal("obj", "app")); err != nil {
				return err
			}
			return fmt.Errorf("caller: %w", errInjected)
		})
		wantErr(t, "Update", err, errInjected)
		wantNothingWritten(t, s, before)
		wantPrincipalAbsent(t, s, "obj")
	}},
	{"update/a panic in fn rolls back, re-panics and leaves the store usable", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		recovered := func() (r any) {
			defer func() { r = recover() }()
			_, _ = s.Update(t.Context(), func(tx store.Tx) error {
				if err := tx.CreatePrincipal(t.Context(), principal("obj", "app")); err != nil {
					return err
				}
				panic(errInjected)
			})
			return nil
		}()
		wantEqual(t, "recovered", recovered, any(errInjected))
		wantNothingWritten(t, s, before)
		wantPrincipalAbsent(t, s, "obj")
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreatePrincipal(ctx, principal("obj", "app")) })
		wantEqual(t, "next revision", rev, before+1)
	}},
	{"update/a constraint failure after a successful write leaves nothing", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreatePrincipal(ctx, principal("existing", "app-1"))
		})
		before := revision(t, s)
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			ctx := t.Context()
			if _, err := tx.PutResource(ctx, identity("u")); err != nil {
				return err
			}
			if err := tx.CreatePrincipal(ctx, principal("new", "app-2")); err != nil {
				return err
			}
			return tx.CreatePrincipal(ctx, principal("clash", "app-1"))
		})
		wantErr(t, "Update", err, store.ErrAlreadyExists)
		wantNothingWritten(t, s, before)
		wantPrincipalAbsent(t, s, "new")
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetResource(ctx, identity("u").ID)
			wantErr(t, "GetResource", err, store.ErrNotFound)
			return nil
		})
	}},
	{"update/ErrAlreadyExists does not spoil the rest of the transaction", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreatePrincipal(ctx, principal("existing", "app-1"))
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "duplicate", tx.CreatePrincipal(ctx, principal("existing", "app-1")), store.ErrAlreadyExists)
			wantErr(t, "dangling credential", tx.CreateCredential(ctx, store.Credential{ID: "c", PrincipalID: "ghost"}), store.ErrNotFound)
			return tx.CreatePrincipal(ctx, principal("next", "app-2"))
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetPrincipal(ctx, "next")
			wantErr(t, "GetPrincipal", err, nil)
			return nil
		})
	}},
	{"update/concurrent writers get strictly increasing gap-free revisions", func(t *testing.T, s store.Store) {
		const writers, perWriter = 6, 8
		before := revision(t, s)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			revs []int64
			errs []error
		)
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					rev, err := s.Update(t.Context(), func(tx store.Tx) error {
						return tx.CreatePrincipal(t.Context(), principal(fmt.Sprintf("obj-%d-%d", w, i), fmt.Sprintf("app-%d-%d", w, i)))
					})
					mu.Lock()
					revs = append(revs, rev)
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("concurrent updates failed: %v", errs)
		}
		slices.Sort(revs)
		for i, rev := range revs {
			if rev != before+int64(i)+1 {
				t.Fatalf("revisions %v are not gap-free from %d", revs, before+1)
			}
		}
		cs := changes(t, s, before)
		if len(cs) != writers*perWriter {
			t.Fatalf("got %d changes, want %d", len(cs), writers*perWriter)
		}
		for i, c := range cs {
			if c.Revision != revs[i] {
				t.Fatalf("change %d has revision %d, want %d", i, c.Revision, revs[i])
			}
		}
	}},
	{"update/concurrent read-modify-write loses no update", func(t *testing.T, s store.Store) {
		const writers, perWriter = 4, 5
		update(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutMeta(ctx, "counter", []byte("0")) })
		var wg sync.WaitGroup
		errs := make(chan error, writers*perWriter)
		for range writers {
			wg.Go(func() {
				for range perWriter {
					_, err := s.Update(t.Context(), func(tx store.Tx) error {
						ctx := t.Context()
						v, err := tx.GetMeta(ctx, "counter")
						if err != nil {
							return err
						}
						n, err := strconv.Atoi(string(v))
						if err != nil {
							return err
						}
						return tx.PutMeta(ctx, "counter", []byte(strconv.Itoa(n+1)))
					})
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			wantErr(t, "increment", err, nil)
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			v, err := tx.GetMeta(ctx, "counter")
			wantErr(t, "GetMeta", err, nil)
			wantEqual(t, "counter", string(v), strconv.Itoa(writers*perWriter))
			return nil
		})
	}},
}

func wantPrincipalAbsent(t *testing.T, s store.Store, objectID string) {
	t.Helper()
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetPrincipal(ctx, objectID)
		wantErr(t, "GetPrincipal "+objectID, err, store.ErrNotFound)
		return nil
	})
}

// drain empties a Notify channel of wake-ups from before the test acted.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// waitClosed waits for ch to be closed, skipping pending wake-ups.
func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(notifyWait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("Notify channel not closed")
		}
	}
}
