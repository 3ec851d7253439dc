package resources_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

// TestLifecycleInvariantsUnderRandomOperations runs random sequences of
// lifecycle operations (fixed seeds, so failures reproduce) and checks the
// invariants after every step. Operations on things that do not exist are
// expected to fail with a typed domain error; any other error (a store
// constraint violation, for instance) is a bug.
func TestLifecycleInvariantsUnderRandomOperations(t *testing.T) {
	steps := 250
	if testing.Short() {
		steps = 60
	}
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			f := newFixture(t)
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			groups := []string{"rg0", "rg1", "rg2"}
			identityNames := []string{"id0", "id1", "id2", "id3"}
			paths := []string{
				"Microsoft.Compute/virtualMachines/vm0",
				"Microsoft.Compute/virtualMachines/vm0/extensions/ext0",
				"Microsoft.Web/sites/app0",
				"Microsoft.Web/sites/app0/slots/staging",
				"Microsoft.Web/sites/app00",
			}
			pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
			// existing lists stored resources, identities or not; picking
			// mostly among them keeps the sequence from being all failures.
			existing := func(identities bool) []string {
				var out []string
				f.view(func(tx store.Tx) error {
					all, err := tx.ListResources(f.ctx, store.ResourceFilter{})
					for _, r := range all {
						if (r.Type == resources.UserAssignedIdentityType) == identities {
							out = append(out, r.ID)
						}
					}
					return err
				})
				return out
			}
			identityID := func() string {
				if ids := existing(true); len(ids) > 0 && rng.IntN(10) < 8 {
					return pick(ids)
				}
				return resources.UserAssignedIdentityID(f.sub, pick(groups), pick(identityNames))
			}
			resourceID := func() string {
				if ids := existing(false); len(ids) > 0 && rng.IntN(10) < 7 {
					return pick(ids)
				}
				return f.resourceID(pick(groups), pick(paths))
			}
			randomIdentity := func(patch bool) *resources.IdentitySpec {
				types := []string{"None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned"}
				if patch {
					types = append(types, "")
				}
				spec := &resources.IdentitySpec{Type: pick(types)}
				if rng.IntN(4) == 0 {
					return nil
				}
				if n := rng.IntN(3); n > 0 {
					spec.UserAssigned = map[string]bool{}
					for range n {
						spec.UserAssigned[identityID()] = !patch || rng.IntN(3) > 0
					}
				}
				return spec
			}
			principals := func() []string {
				var out []string
				f.view(func(tx store.Tx) error {
					ps, err := tx.ListPrincipals(f.ctx, store.PrincipalFilter{})
					for _, p := range ps {
						out = append(out, p.ObjectID)
					}
					return err
				})
				return out
			}
			ops := []struct {
				name string
				do   func() (string, error)
			}{
				{"put group", func() (string, error) {
					g := pick(groups)
					_, _, err := f.svc.PutResourceGroup(f.ctx, resources.ResourceGroupSpec{SubscriptionID: f.sub, Name: g, Location: "westus"})
					return g, err
				}},
				{"delete group", func() (string, error) {
					g := pick(groups)
					return g, f.svc.DeleteResourceGroup(f.ctx, actor, f.sub, g)
				}},
				{"put identity", func() (string, error) {
					g, n := pick(groups), pick(identityNames)
					_, _, err := f.svc.PutUserAssignedIdentity(f.ctx, actor, resources.UserAssignedIdentitySpec{
						IdentityRef: resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: g, Name: n}, Location: "westus"})
					return g + "/" + n, err
				}},
				{"delete identity", func() (string, error) {
					g, n := pick(groups), pick(identityNames)
					_, err := f.svc.DeleteUserAssignedIdentity(f.ctx, actor, resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: g, Name: n})
					return g + "/" + n, err
				}},
				{"put resource", func() (string, error) {
					id := f.resourceID(pick(groups), pick(paths))
					_, _, err := f.svc.PutResource(f.ctx, resources.ResourceSpec{ID: id, Location: "westus", Identity: randomIdentity(false)}, resources.WriteOptions{Actor: actor})
					return id, err
				}},
				{"patch resource", func() (string, error) {
					id := resourceID()
					_, err := f.svc.PatchResource(f.ctx, resources.ResourceSpec{ID: id, Identity: randomIdentity(true)}, resources.WriteOptions{Actor: actor})
					return id, err
				}},
				{"delete resource", func() (string, error) {
					id := resourceID()
					_, err := f.svc.DeleteResource(f.ctx, actor, id)
					return id, err
				}},
				{"assign role", func() (string, error) {
					ps := principals()
					if len(ps) == 0 {
						return "", nil
					}
					g := pick(groups)
					_, groupErr := f.svc.GetResourceGroup(f.ctx, f.sub, g)
					candidates := []struct {
						scope  string
						exists bool
					}{
						{"/", true},
						{"/subscriptions/" + f.sub, true},
						{resources.ResourceGroupID(f.sub, g), groupErr == nil},
					}
					for _, id := range []string{f.resourceID(pick(groups), pick(paths)), identityID()} {
						candidates = append(candidates, struct {
							scope  string
							exists bool
						}{id, f.resourceExists(id)})
					}
					c := candidates[rng.IntN(len(candidates))]
					// Assignments are only made at scopes that exist, as the
					// RBAC API will insist; a duplicate is refused by the store.
					if !c.exists {
						return c.scope, nil
					}
					_, err := f.st.Update(f.ctx, func(tx store.Tx) error {
						return tx.CreateRoleAssignment(f.ctx, store.RoleAssignment{
							Name: fmt.Sprintf("ra-%d", rng.Uint64()), Scope: c.scope, RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
							PrincipalID: pick(ps), PrincipalType: "ServicePrincipal",
						})
					})
					if errors.Is(err, store.ErrAlreadyExists) {
						err = nil
					}
					return c.scope, err
				}},
				{"put federated credential", func() (string, error) {
					g, n := pick(groups), pick(identityNames)
					if ids := existing(true); len(ids) > 0 && rng.IntN(10) < 8 {
						segs := strings.Split(pick(ids), "/")
						g, n = segs[4], segs[8]
					}
					_, _, err := f.svc.PutFederatedCredential(f.ctx, resources.FederatedCredentialSpec{
						Identity: resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: g, Name: n},
						Name:     fmt.Sprintf("fic%d", rng.IntN(3)), Issuer: "https://issuer.example", Subject: fmt.Sprintf("s%d", rng.IntN(5)),
						Audiences: []string{"api://AzureADTokenExchange"},
					})
					return g + "/" + n, err
				}},
			}
			// Group deletion wipes out most state; make it rarer than writes.
			weights := map[string]int{"put group": 3, "delete group": 1, "put identity": 3, "delete identity": 1,
				"put resource": 5, "patch resource": 5, "delete resource": 2, "assign role": 3, "put federated credential": 2}
			var weighted []int
			for i, op := range ops {
				for range weights[op.name] {
					weighted = append(weighted, i)
				}
			}
			succeeded := map[string]int{}
			sawAttachment, sawSystem := false, false
			for step := range steps {
				op := ops[weighted[rng.IntN(len(weighted))]]
				target, err := op.do()
				if err == nil {
					succeeded[op.name]++
				}
				if err != nil && !isDomainError(err) {
					t.Fatalf("step %d %s %s: unexpected error: %v", step, op.name, target, err)
				}
				f.checkInvariants()
				f.view(func(tx store.Tx) error {
					all, err := tx.ListResources(f.ctx, store.ResourceFilter{})
					for _, r := range all {
						sawAttachment = sawAttachment || len(r.UserAssignedIdentities) > 0
						sawSystem = sawSystem || (r.PrincipalID != "" && r.Type != resources.UserAssignedIdentityType)
					}
					return err
				})
				if t.Failed() {
					t.Fatalf("step %d %s %s broke an invariant (err %v)", step, op.name, target, err)
				}
			}
			// The sequence must actually exercise every operation.
			for _, op := range ops {
				if succeeded[op.name] == 0 {
					t.Errorf("operation %q never succeeded; the random sequence does not exercise it", op.name)
				}
			}
			if !sawAttachment || !sawSystem {
				t.Errorf("the sequence never attached an identity (%v) or enabled a system-assigned one (%v)", sawAttachment, sawSystem)
			}
			t.Logf("successful operations: %v", succeeded)
		})
	}
}

func isDomainError(err error) bool {
	var (
		nf *resources.NotFoundError
		ve *resources.ValidationError
		ce *resources.ConflictError
		le *resources.LinkedAuthorizationError
	)
	return errors.As(err, &nf) || errors.As(err, &ve) || errors.As(err, &ce) || errors.As(err, &le)
}
