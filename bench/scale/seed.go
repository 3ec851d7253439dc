package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

// The seeded estate: identities in resource groups of groupSize, each with
// perIdentity role assignments spread over the scopes real installations
// use (its group, the group's vault, a storage account shared by ten
// identities, its own site, and the identity itself for its deployer), so
// that the engine holds about two scopes per identity as well as the
// shared ones.
const (
	groupSize   = 1000
	perIdentity = 5
	seedBatch   = 5000
)

// seedRoles are the roles of an identity's assignments, by position.
var seedRoles = [perIdentity]string{
	authz.RoleReader, authz.RoleKeyVaultSecretsUser, authz.RoleStorageBlobDataReader,
	authz.RoleContributor, authz.RoleManagedIdentityOperator,
}

// guid renders a deterministic GUID from a kind nibble and a number, so that
// a seeded store is the same on every run and load phases can name any
// identity without reading the store.
func guid(kind, i int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8000-%012x", i, kind, kind, i)
}

func groupName(i int) string    { return fmt.Sprintf("scale-rg-%d", i/groupSize) }
func identityName(i int) string { return fmt.Sprintf("id-%d", i) }

// seed writes n user-assigned identities and m role assignments through the
// same store calls the ARM handlers make (CreatePrincipal, PutResource,
// PutResourceGroup, CreateRoleAssignment), in batches of seedBatch
// identities per transaction; m is at most perIdentity*n.
func seed(ctx context.Context, st store.Store, sub string, n, m int) error {
	start := time.Now()
	at := time.Now().UTC().Add(-30 * 24 * time.Hour)
	if m > perIdentity*n {
		return fmt.Errorf("at most %d assignments per identity", perIdentity)
	}
	perID := (m + n - 1) / max(n, 1)
	written := 0
	for lo := 0; lo < n; lo += seedBatch {
		hi := min(lo+seedBatch, n)
		if _, err := st.Update(ctx, func(tx store.Tx) error {
			for i := lo; i < hi; i++ {
				g := groupName(i)
				if i%groupSize == 0 {
					if _, err := tx.PutResourceGroup(ctx, store.ResourceGroup{SubscriptionID: sub, Name: g, Location: "westus", CreatedAt: at, UpdatedAt: at}); err != nil {
						return err
					}
				}
				oid := guid(1, i)
				id := resources.UserAssignedIdentityID(sub, g, identityName(i))
				if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: oid, AppID: guid(2, i), Kind: store.PrincipalUserAssigned,
					ResourceID: id, DisplayName: identityName(i), CreatedAt: at}); err != nil {
					return err
				}
				if _, err := tx.PutResource(ctx, store.Resource{ID: id, SubscriptionID: sub, ResourceGroup: g,
					Type: resources.UserAssignedIdentityType, Name: identityName(i), Location: "westus",
					Body: []byte(`{"properties":{"isolationScope":"None"}}`), PrincipalID: oid,
					CreatedAt: at, UpdatedAt: at, CreatedBy: "scale-seed", UpdatedBy: "scale-seed"}); err != nil {
					return err
				}
				for k := 0; k < perID && written < m; k++ {
					a := store.RoleAssignment{Name: guid(3+k, i), PrincipalID: oid, PrincipalType: "ServicePrincipal",
						RoleDefinitionID: seedRoles[k%perIdentity], Scope: seedScope(sub, i, k), CreatedAt: at, UpdatedAt: at, CreatedBy: "scale-seed", UpdatedBy: "scale-seed"}
					if err := tx.CreateRoleAssignment(ctx, a); err != nil {
						return err
					}
					written++
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("seed identities %d-%d: %w", lo, hi, err)
		}
		if hi%100_000 == 0 || hi == n {
			log.Printf("seeded %d/%d identities, %d assignments (%.0f identities/s)", hi, n, written, float64(hi)/time.Since(start).Seconds())
		}
	}
	return nil
}

// seedScope is the scope of identity i's k-th assignment.
func seedScope(sub string, i, k int) string {
	g := "/subscriptions/" + sub + "/resourceGroups/" + groupName(i)
	switch k % perIdentity {
	case 0:
		return g
	case 1:
		return g + "/providers/Microsoft.KeyVault/vaults/kv-" + groupName(i)
	case 2:
		return fmt.Sprintf("%s/providers/Microsoft.Storage/storageAccounts/sa%d", g, i/10)
	case 3:
		return fmt.Sprintf("%s/providers/Microsoft.Web/sites/web-%d", g, i)
	}
	return resources.UserAssignedIdentityID(sub, groupName(i), identityName(i))
}
