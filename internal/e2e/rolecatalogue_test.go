package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/testenv"
	"github.com/keyless-io/keyless/internal/testenv/shareddata"
)

// TestRoleCatalogueGrowsAnInstallation starts an installation with the
// compiled roles, gives it a custom role and assignments, then restarts it
// with Azure's whole catalogue (--role-catalogue): every role is there by
// GUID and by name, with its conditions, read-only, and the custom role and
// the assignments are kept.
func TestRoleCatalogueGrowsAnInstallation(t *testing.T) {
	catalogue := shareddata.AzureRoleCatalogue(t)
	azure, _, err := authz.ReadCatalogue(catalogue)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	env := testenv.Start(t, testenv.Options{DataDir: dataDir})
	sub := "/subscriptions/" + env.Creds.SubscriptionID
	p := newRBACPrincipal(t, env, "catalogue-reader")
	custom := uuid.NewString()
	defs := definitionsClient(t, env, env.AdminCredential(t))
	if _, err := defs.CreateOrUpdate(ctx, sub, custom, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Widget Reader"), RoleType: to.Ptr("CustomRole"), AssignableScopes: []*string{to.Ptr(sub)},
		Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Widgets/*/read")}}},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	customAssignment := grant(t, env, sub, custom, p.ObjectID)
	builtinAssignment := grant(t, env, sub, authz.RoleReader, p.ObjectID)
	env.Stop(t)

	env = testenv.Start(t, testenv.Options{DataDir: dataDir, RoleCatalogues: []string{catalogue}})
	defs = definitionsClient(t, env, env.AdminCredential(t))
	all := drain(t, defs.NewListPager(sub, nil), func(r armauthorization.RoleDefinitionsClientListResponse) []*armauthorization.RoleDefinition {
		return r.Value
	})
	byID := map[string]*armauthorization.RoleDefinition{}
	for _, d := range all {
		byID[*d.Name] = d
	}
	for _, r := range azure {
		if _, ok := byID[r.ID]; !ok {
			t.Errorf("%s (%s) is missing after loading the catalogue", r.RoleName, r.ID)
		}
	}
	if c, ok := byID[custom]; !ok || *c.Properties.RoleType != "CustomRole" {
		t.Fatalf("the custom role was lost: %+v", c)
	}

	t.Run("a conditional built-in keeps its condition on the wire", func(t *testing.T) {
		const kvDataAccessAdmin = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
		// armauthorization has no condition fields; az prints them.
		status, body := rawARM(t, env, env.AdminCredential(t), http.MethodGet, "/providers/Microsoft.Authorization/roleDefinitions/"+kvDataAccessAdmin, apiVersion("2022-04-01"), nil)
		var got struct {
			Properties struct {
				Permissions []struct {
					Condition, ConditionVersion string
				}
			}
		}
		decodeJSON(t, body, &got)
		if status != http.StatusOK || len(got.Properties.Permissions) == 0 {
			t.Fatalf("%d %s", status, body)
		}
		perm := got.Properties.Permissions[0]
		if !strings.Contains(perm.Condition, "ActionMatches") || perm.ConditionVersion != "2.0" {
			t.Fatalf("condition %q version %q", perm.Condition, perm.ConditionVersion)
		}
	})
	t.Run("roles are found by name as az finds them", func(t *testing.T) {
		for _, name := range []string{"AcrPull", "Key Vault Secrets User", "Azure Kubernetes Service Cluster User Role", "Cognitive Services OpenAI User"} {
			got := drain(t, defs.NewListPager(sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq '" + name + "'")}),
				func(r armauthorization.RoleDefinitionsClientListResponse) []*armauthorization.RoleDefinition {
					return r.Value
				})
			if len(got) != 1 || *got[0].Properties.RoleType != "BuiltInRole" {
				t.Errorf("%s: %d roles", name, len(got))
			}
		}
	})
	t.Run("catalogue roles are read-only", func(t *testing.T) {
		const acrDelete = "c2f4ef07-c644-48eb-af81-4b1b4947fb11"
		_, err := defs.CreateOrUpdate(ctx, sub, acrDelete, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
			RoleName: to.Ptr("AcrDelete"), AssignableScopes: []*string{to.Ptr(sub)},
			Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("*")}}},
		}}, nil)
		wantARMError(t, err, http.StatusForbidden, "BuiltInRoleDefinitionReadOnly")
		_, err = defs.Delete(ctx, sub, acrDelete, nil)
		wantARMError(t, err, http.StatusForbidden, "BuiltInRoleDefinitionReadOnly")
	})
	t.Run("assignments survive and a catalogue role can be assigned", func(t *testing.T) {
		as := assignmentsClient(t, env, env.AdminCredential(t))
		for _, name := range []string{customAssignment, builtinAssignment} {
			if _, err := as.Get(ctx, sub, name, nil); err != nil {
				t.Errorf("assignment %s: %v", name, err)
			}
		}
		const storageFileDataSMBShareReader = "aba4ae5f-2193-4029-9191-0cb91df5e314"
		grant(t, env, sub, storageFileDataSMBShareReader, p.ObjectID)
	})
}
