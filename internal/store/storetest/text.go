package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// textBehaviours pin what a backend does with text it cannot hold alike
// with every other: a NUL character (PostgreSQL refuses it in text and as
// \u0000 in jsonb; SQLite would keep both) or invalid UTF-8. Every backend
// refuses the write with ErrInvalidText and keeps nothing of the
// transaction; a read given such text fails with ErrInvalidText too.
var textBehaviours = []behaviour{
	{"text/every write of text a backend cannot hold is refused alike, and nothing is written", func(t *testing.T, s store.Store) {
		u := identity("Id-One")
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutResource(ctx, u)
			return err
		})
		group := func(mutate func(*store.ResourceGroup)) func(ctx context.Context, tx store.Tx) error {
			return func(ctx context.Context, tx store.Tx) error {
				g := store.ResourceGroup{SubscriptionID: subID, Name: "rg-text", Location: "westus", CreatedAt: t0, UpdatedAt: t0}
				mutate(&g)
				_, err := tx.PutResourceGroup(ctx, g)
				return err
			}
		}
		cases := []struct {
			name  string
			write func(ctx context.Context, tx store.Tx) error
		}{
			{"group tag value", group(func(g *store.ResourceGroup) { g.Tags = map[string]string{"k": "a\x00b"} })},
			{"group tag name", group(func(g *store.ResourceGroup) { g.Tags = map[string]string{"k\x00": "v"} })},
			{"group location", group(func(g *store.ResourceGroup) { g.Location = "west\x00us" })},
			{"group name, invalid UTF-8", group(func(g *store.ResourceGroup) { g.Name = "rg\xff" })},
			{"federated credential subject", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutFederatedCredential(ctx, store.FederatedCredential{IdentityID: u.ID, Name: "fic", Issuer: "https://issuer",
					Subject: "repo:a\x00b", Audiences: []string{"api://AzureADTokenExchange"}, CreatedAt: t0, UpdatedAt: t0})
				return err
			}},
			{"custom role name", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutRoleDefinition(ctx, store.RoleDefinition{ID: "7d0a4f5e-0000-4000-8000-000000000001", RoleName: "role\x00",
					RoleType: "CustomRole", Permissions: []store.Permission{{Actions: []string{"*/read"}}}, AssignableScopes: []string{"/"},
					Scope: "/", CreatedAt: t0, UpdatedAt: t0})
				return err
			}},
			{"role assignment description", func(ctx context.Context, tx store.Tx) error {
				a := roleAssignment("assignment-text", rgID, readerRole, "p1")
				a.Description = "why\x00"
				return tx.CreateRoleAssignment(ctx, a)
			}},
			{"service principal display name", func(ctx context.Context, tx store.Tx) error {
				p := principal("op-text", "app-text")
				p.DisplayName = "sp\x00"
				return tx.CreatePrincipal(ctx, p)
			}},
			{"directory group display name", func(ctx context.Context, tx store.Tx) error {
				p := principal("group-text", "")
				p.Kind, p.DisplayName = store.PrincipalGroup, "group\x00"
				return tx.CreatePrincipal(ctx, p)
			}},
			{"subscription display name", func(ctx context.Context, tx store.Tx) error {
				return tx.CreateSubscription(ctx, store.Subscription{ID: "5e1b2c3d-0000-4000-8000-000000000002", DisplayName: "sub\x00", State: "Enabled", CreatedAt: t0})
			}},
			{"launch grant resource ID", func(ctx context.Context, tx store.Tx) error {
				return tx.CreateLaunchGrant(ctx, store.LaunchGrant{ID: "grant-text", ResourceID: "/r\x00", SecretHash: []byte("h"),
					ExpiresAt: time.Now().Add(time.Hour), CreatedAt: t0})
			}},
			{"resource provider namespace", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutResource(ctx, resource("Foo\x00Bar/things", "x"))
				return err
			}},
			{"resource type", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.PutResource(ctx, resource("Microsoft.Web/si\x00tes", "x"))
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := revision(t, s)
				// A good write first: the refusal must take the whole
				// transaction with it.
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					if err := tx.PutMeta(t.Context(), "text-probe", []byte("x")); err != nil {
						return err
					}
					return tc.write(t.Context(), tx)
				})
				if !errors.Is(err, store.ErrInvalidText) {
					t.Fatalf("write: err = %v, want ErrInvalidText", err)
				}
				wantNothingWritten(t, s, before)
			})
		}
	}},
	{"text/a read given text no backend holds is refused alike", func(t *testing.T, s store.Store) {
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetResourceGroup(ctx, subID, "rg\x00")
			wantErr(t, "group", err, store.ErrInvalidText)
			_, err = tx.GetResource(ctx, rgID+"/providers/Foo\x00/x/y")
			wantErr(t, "resource", err, store.ErrInvalidText)
			_, err = tx.GetPrincipal(ctx, "p\xff")
			wantErr(t, "principal", err, store.ErrInvalidText)
			_, err = tx.ListResources(ctx, store.ResourceFilter{SubscriptionID: subID, Type: "a\x00"})
			wantErr(t, "list", err, store.ErrInvalidText)
			return nil
		})
	}},
}
