package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/governanceapi"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

// makeOld backdates a principal so the review judges it by its use.
func makeOld(t *testing.T, env *testenv.Env, objectID string) {
	t.Helper()
	ctx := context.Background()
	rev, err := env.Server.Installation().Store.Update(ctx, func(tx store.Tx) error {
		return tx.UpdatePrincipal(ctx, objectID, func(p store.Principal) (store.Principal, error) {
			p.CreatedAt = time.Now().Add(-180 * 24 * time.Hour)
			return p, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
}

func reviewOf(t *testing.T, env *testenv.Env, scope string) []review.Finding {
	t.Helper()
	status, body := rawARM(t, env, env.AdminCredential(t), http.MethodGet, scope+governanceapi.ReviewPath, url.Values{"api-version": {governanceapi.APIVersion}}, nil)
	if status != http.StatusOK {
		t.Fatalf("review: %d %s", status, body)
	}
	var res governanceapi.ReviewResult
	decodeJSON(t, body, &res)
	return res.Findings
}

// TestReviewAdvisesTheRoleAPrincipalActuallyUses: a service principal with
// Owner on a group that, through the SDK, only ever read is advised Reader;
// one that never authenticated is unused; both through usage the server
// recorded itself, on both stores.
func TestReviewAdvisesTheRoleAPrincipalActuallyUses(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		createGroup(t, env, "rg-app")
		scope := "/subscriptions/" + env.Creds.SubscriptionID + "/resourceGroups/rg-app"
		reader := newRBACPrincipal(t, env, "reads-only")
		idle := newRBACPrincipal(t, env, "never-signs-in")
		grant(t, env, scope, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", reader.ObjectID) // Owner
		grant(t, env, scope, readerRoleID, idle.ObjectID)
		makeOld(t, env, reader.ObjectID)
		makeOld(t, env, idle.ObjectID)

		generic, _ := armresources.NewClient(env.Creds.SubscriptionID, reader.Cred, env.ARMOptions())
		groups, _ := armresources.NewResourceGroupsClient(env.Creds.SubscriptionID, reader.Cred, env.ARMOptions())
		if _, err := groups.Get(ctx, "rg-app", nil); err != nil {
			t.Fatal(err)
		}
		drain(t, generic.NewListByResourceGroupPager("rg-app", nil), func(r armresources.ClientListByResourceGroupResponse) []*armresources.GenericResourceExpanded {
			return r.Value
		})
		if err := env.Server.FlushUsage(ctx); err != nil {
			t.Fatal(err)
		}

		fs := reviewOf(t, env, scope)
		var excess, unused bool
		for _, f := range fs {
			switch {
			case f.Rule == review.RuleExcessPermissions && f.PrincipalID == reader.ObjectID:
				excess = strings.Contains(f.Recommendation, "with Reader") && strings.Contains(f.Fix, "--role "+readerRoleID)
			case f.Rule == review.RuleUnusedIdentity && f.PrincipalID == idle.ObjectID:
				unused = true
			case f.Rule == review.RuleUnusedIdentity && f.PrincipalID == reader.ObjectID:
				t.Errorf("the principal that read was reported unused")
			}
		}
		if !excess || !unused {
			t.Fatalf("excess-permissions→Reader %v, unused-identity %v; findings %+v", excess, unused, fs)
		}
	})
}
