package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

var hostBehaviours = []behaviour{
	{"hosts/expired join tokens and launch grants are deleted, live ones kept", func(t *testing.T, s store.Store) {
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, j := range []store.JoinToken{{TokenHash: "old", ResourceID: "/r", ExpiresAt: past, CreatedAt: t0}, {TokenHash: "live", ResourceID: "/r", ExpiresAt: future, CreatedAt: t0}} {
				if err := tx.CreateJoinToken(ctx, j); err != nil {
					return err
				}
			}
			for _, g := range []store.LaunchGrant{{ID: "old", ResourceID: "/r", SecretHash: []byte("h"), ExpiresAt: past, CreatedAt: t0}, {ID: "live", ResourceID: "/r", SecretHash: []byte("h"), ExpiresAt: future, CreatedAt: t0}} {
				if err := tx.CreateLaunchGrant(ctx, g); err != nil {
					return err
				}
			}
			return nil
		})
		before, _ := s.Revision(t.Context())
		var n int
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			var err error
			n, err = tx.DeleteExpired(ctx, time.Now())
			return err
		})
		if n != 2 || rev != before+1 {
			t.Fatalf("deleted %d (want 2), revision %d -> %d", n, before, rev)
		}
		changes, err := s.Changes(t.Context(), before, 0)
		if err != nil || len(changes) != 2 {
			t.Fatalf("change feed %v %+v", err, changes)
		}
		_ = s.View(t.Context(), func(tx store.Tx) error {
			if _, err := tx.GetLaunchGrant(t.Context(), "old"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expired grant kept: %v", err)
			}
			if _, err := tx.GetLaunchGrant(t.Context(), "live"); err != nil {
				t.Errorf("live grant deleted: %v", err)
			}
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ConsumeJoinToken(ctx, "live"); err != nil {
				t.Errorf("live join token deleted: %v", err)
			}
			return nil
		})
	}},
	{"agents/create, get, list, update and delete", func(t *testing.T, s store.Store) {
		vm := resource("Microsoft.Compute/virtualMachines", "vm").ID
		a1 := store.Agent{ID: "agent-2", ResourceID: vm, CertificateSerial: "01", CertNotAfter: t0.Add(24 * time.Hour), CreatedAt: t0}
		a2 := store.Agent{ID: "agent-1", ResourceID: vm, CertificateSerial: "02", CreatedAt: t0}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create a1", tx.CreateAgent(ctx, a1), nil)
			wantErr(t, "create a2", tx.CreateAgent(ctx, a2), nil)
			wantErr(t, "create a1 again", tx.CreateAgent(ctx, a1), store.ErrAlreadyExists)
			return nil
		})
		seen := t0.Add(time.Minute)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "update missing", tx.UpdateAgent(ctx, "nope", func(a store.Agent) (store.Agent, error) { return a, nil }), store.ErrNotFound)
			return tx.UpdateAgent(ctx, "agent-2", func(a store.Agent) (store.Agent, error) {
				a.LastSeenAt, a.CertificateSerial = seen, "03"
				return a, nil
			})
		})
		a1.LastSeenAt, a1.CertificateSerial = seen, "03"
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetAgent(ctx, "agent-2")
			wantErr(t, "GetAgent", err, nil)
			wantEqual(t, "agent", got, a1)
			all, err := tx.ListAgents(ctx)
			wantErr(t, "ListAgents", err, nil)
			wantEqual(t, "agents", all, []store.Agent{a2, a1})
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteAgent(ctx, "agent-1"), nil)
			wantErr(t, "delete again", tx.DeleteAgent(ctx, "agent-1"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetAgent(ctx, "agent-1")
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
	{"join tokens/a token is consumed once", func(t *testing.T, s store.Store) {
		token := store.JoinToken{TokenHash: "hash-1", ResourceID: resource("Microsoft.Compute/virtualMachines", "vm").ID,
			ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, CreatedBy: "admin"}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create", tx.CreateJoinToken(ctx, token), nil)
			wantErr(t, "create again", tx.CreateJoinToken(ctx, token), store.ErrAlreadyExists)
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ConsumeJoinToken(ctx, "hash-1")
			wantErr(t, "consume", err, nil)
			wantEqual(t, "token", got, token)
			_, err = tx.ConsumeJoinToken(ctx, "hash-1")
			wantErr(t, "consume again in the same transaction", err, store.ErrNotFound)
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ConsumeJoinToken(ctx, "hash-1")
			wantErr(t, "consume again later", err, store.ErrNotFound)
			return nil
		})
	}},
	{"join tokens/racing consumers get the token once", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreateJoinToken(ctx, store.JoinToken{TokenHash: "hash-1", ResourceID: "vm"})
		})
		const racers = 4
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			winners  int
			failures []error
		)
		for range racers {
			wg.Go(func() {
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					_, err := tx.ConsumeJoinToken(t.Context(), "hash-1")
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners++
				case !errors.Is(err, store.ErrNotFound):
					failures = append(failures, err)
				}
			})
		}
		wg.Wait()
		if len(failures) > 0 || winners != 1 {
			t.Fatalf("%d consumers won (want 1), unexpected errors: %v", winners, failures)
		}
	}},
	{"launch grants/create, get and delete", func(t *testing.T, s store.Store) {
		g := store.LaunchGrant{ID: "grant-1", ResourceID: resource("Microsoft.Web/sites", "app").ID, SecretHash: []byte("hash"),
			ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, CreatedBy: "admin"}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "create", tx.CreateLaunchGrant(ctx, g), nil)
			wantErr(t, "create again", tx.CreateLaunchGrant(ctx, g), store.ErrAlreadyExists)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetLaunchGrant(ctx, "grant-1")
			wantErr(t, "GetLaunchGrant", err, nil)
			wantEqual(t, "grant", got, g)
			return nil
		})
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteLaunchGrant(ctx, "grant-1"), nil)
			wantErr(t, "delete again", tx.DeleteLaunchGrant(ctx, "grant-1"), store.ErrNotFound)
			return nil
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetLaunchGrant(ctx, "grant-1")
			wantErr(t, "get deleted", err, store.ErrNotFound)
			return nil
		})
	}},
}
