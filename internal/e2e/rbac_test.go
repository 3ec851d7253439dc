package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/rbacapi"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

// rbacFixture is a running server with a resource group, a user-assigned
// identity and a generic resource in it, made by the admin through the SDK.
type rbacFixture struct {
	env                       *testenv.Env
	sub, subScope             string
	group, groupScope         string
	identityID, identityPrinc string
	resourceID                string
	groups                    *armresources.ResourceGroupsClient
	resources                 *armresources.Client
	identities                *armmsi.UserAssignedIdentitiesClient
	adminAssignments          *armauthorization.RoleAssignmentsClient
	adminDefinitions          *armauthorization.RoleDefinitionsClient
	adminObjectID             string
	ctx                       context.Context
}

func newRBACFixture(t *testing.T, group string) *rbacFixture {
	t.Helper()
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	admin := env.AdminCredential(t)
	f := &rbacFixture{env: env, ctx: ctx, sub: env.Creds.SubscriptionID, group: group,
		adminObjectID: env.Server.Installation().AdminObjectID}
	f.subScope = "/subscriptions/" + f.sub
	f.groupScope = f.subScope + "/resourceGroups/" + group
	var err error
	if f.groups, err = armresources.NewResourceGroupsClient(f.sub, admin, env.ARMOptions()); err != nil {
		t.Fatal(err)
	}
	if f.resources, err = armresources.NewClient(f.sub, admin, env.ARMOptions()); err != nil {
		t.Fatal(err)
	}
	if f.identities, err = armmsi.NewUserAssignedIdentitiesClient(f.sub, admin, env.ARMOptions()); err != nil {
		t.Fatal(err)
	}
	f.adminAssignments = assignmentsClient(t, env, admin)
	f.adminDefinitions = definitionsClient(t, env, admin)
	f.createGroup(t, group)
	id, err := f.identities.CreateOrUpdate(ctx, group, "id1", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.identityID, f.identityPrinc = *id.ID, *id.Properties.PrincipalID
	f.resourceID = f.createResource(t, group, "vm1", false)
	return f
}

func (f *rbacFixture) createGroup(t *testing.T, name string) {
	t.Helper()
	if _, err := f.groups.CreateOrUpdate(f.ctx, name, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
}

// createResource makes a Microsoft.Compute/virtualMachines entry and
// returns its ID; with systemAssigned it gets its own identity.
func (f *rbacFixture) createResource(t *testing.T, group, name string, systemAssigned bool) string {
	t.Helper()
	id := "/subscriptions/" + f.sub + "/resourceGroups/" + group + "/providers/Microsoft.Compute/virtualMachines/" + name
	res := armresources.GenericResource{Location: to.Ptr("westus"), Properties: map[string]any{"hardwareProfile": map[string]any{"vmSize": "Standard_B1s"}}}
	if systemAssigned {
		res.Identity = &armresources.Identity{Type: to.Ptr(armresources.ResourceIdentityTypeSystemAssigned)}
	}
	p, err := f.resources.BeginCreateOrUpdateByID(f.ctx, id, "2024-07-01", res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(f.ctx, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *rbacFixture) params(principalID, roleGUID string) armauthorization.RoleAssignmentCreateParameters {
	return armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(principalID), RoleDefinitionID: to.Ptr(roleDefID(f.sub, roleGUID)),
		PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}
}

func forScope(r armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
	return r.Value
}

func forSubscription(r armauthorization.RoleAssignmentsClientListForSubscriptionResponse) []*armauthorization.RoleAssignment {
	return r.Value
}

func forGroup(r armauthorization.RoleAssignmentsClientListForResourceGroupResponse) []*armauthorization.RoleAssignment {
	return r.Value
}

func forResource(r armauthorization.RoleAssignmentsClientListForResourceResponse) []*armauthorization.RoleAssignment {
	return r.Value
}

func definitions(r armauthorization.RoleDefinitionsClientListResponse) []*armauthorization.RoleDefinition {
	return r.Value
}

func TestRoleDefinitionsWithTheSDK(t *testing.T) {
	f := newRBACFixture(t, "rg-defs")
	ctx, defs := f.ctx, f.adminDefinitions

	t.Run("built-ins are listed with subscription-prefixed IDs", func(t *testing.T) {
		all := drain(t, defs.NewListPager(f.subScope, nil), definitions)
		var reader *armauthorization.RoleDefinition
		for _, d := range all {
			if *d.Name == authz.RoleReader {
				reader = d
			}
		}
		if reader == nil {
			t.Fatalf("Reader not listed among %d roles", len(all))
		}
		if *reader.ID != roleDefID(f.sub, authz.RoleReader) || *reader.Type != "Microsoft.Authorization/roleDefinitions" ||
			*reader.Properties.RoleType != "BuiltInRole" || *reader.Properties.AssignableScopes[0] != "/" ||
			*reader.Properties.Permissions[0].Actions[0] != "*/read" {
			t.Fatalf("Reader as listed: %s %+v", *reader.ID, *reader.Properties)
		}
	})

	t.Run("filters by roleName and type", func(t *testing.T) {
		got := drain(t, defs.NewListPager(f.subScope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Reader'")}), definitions)
		if len(got) != 1 || *got[0].Name != authz.RoleReader {
			t.Fatalf("roleName filter: %d roles", len(got))
		}
		got = drain(t, defs.NewListPager(f.groupScope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'BuiltInRole'")}), definitions)
		if len(got) != len(authz.BuiltinRoles()) {
			t.Fatalf("type filter: %d roles, want %d", len(got), len(authz.BuiltinRoles()))
		}
		_, err := defs.NewListPager(f.subScope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("color eq 'blue'")}).NextPage(ctx)
		wantARMError(t, err, http.StatusBadRequest, "InvalidFilterInQueryString")
	})

	t.Run("get by scope and by ID in both forms", func(t *testing.T) {
		got, err := defs.GetByID(ctx, "/providers/Microsoft.Authorization/roleDefinitions/"+authz.RoleOwner, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *got.ID != "/providers/Microsoft.Authorization/roleDefinitions/"+authz.RoleOwner || *got.Properties.RoleName != "Owner" {
			t.Fatalf("tenant form: %s %s", *got.ID, *got.Properties.RoleName)
		}
		got2, err := defs.GetByID(ctx, roleDefID(f.sub, authz.RoleContributor), nil)
		if err != nil {
			t.Fatal(err)
		}
		if *got2.ID != roleDefID(f.sub, authz.RoleContributor) {
			t.Fatalf("subscription form: %s", *got2.ID)
		}
		_, err = defs.Get(ctx, f.groupScope, uuid.NewString(), nil)
		wantARMError(t, err, http.StatusNotFound, "RoleDefinitionDoesNotExist")
	})

	customID := uuid.NewString()
	custom := armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("VM Restarter"), RoleType: to.Ptr("CustomRole"), Description: to.Ptr("restart VMs"),
		AssignableScopes: []*string{to.Ptr(f.subScope)},
		Permissions: []*armauthorization.Permission{{Actions: []*string{
			to.Ptr("Microsoft.Compute/virtualMachines/read"), to.Ptr("Microsoft.Compute/virtualMachines/restart/action"),
		}}},
	}}

	t.Run("custom role create and update both answer 201", func(t *testing.T) {
		var raw *http.Response
		got, err := defs.CreateOrUpdate(runtime.WithCaptureResponse(ctx, &raw), f.subScope, customID, custom, nil)
		if err != nil {
			t.Fatal(err)
		}
		if raw.StatusCode != http.StatusCreated || *got.ID != roleDefID(f.sub, customID) || *got.Properties.RoleType != "CustomRole" {
			t.Fatalf("create: %d %s %s", raw.StatusCode, *got.ID, *got.Properties.RoleType)
		}
		custom.Properties.Description = to.Ptr("restart and read VMs")
		if _, err := defs.CreateOrUpdate(runtime.WithCaptureResponse(ctx, &raw), f.subScope, customID, custom, nil); err != nil {
			t.Fatal(err)
		}
		if raw.StatusCode != http.StatusCreated {
			t.Fatalf("update answered %d", raw.StatusCode)
		}
		again, err := defs.Get(ctx, f.groupScope, customID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *again.Properties.Description != "restart and read VMs" {
			t.Fatalf("description after update: %q", *again.Properties.Description)
		}
		listed := drain(t, defs.NewListPager(f.groupScope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'CustomRole'")}), definitions)
		if len(listed) != 1 || *listed[0].Name != customID {
			t.Fatalf("custom roles at the group: %d", len(listed))
		}
		// Custom roles are not seen in a subscription they are not for.
		elsewhere := drain(t, defs.NewListPager("/", &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'CustomRole'")}), definitions)
		if len(elsewhere) != 1 {
			t.Fatalf("custom roles at the root: %d", len(elsewhere))
		}
	})

	t.Run("invalid custom roles are refused", func(t *testing.T) {
		dup := custom
		props := *custom.Properties
		props.RoleName = to.Ptr("vm restarter")
		dup.Properties = &props
		_, err := defs.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), dup, nil)
		wantARMError(t, err, http.StatusConflict, "RoleDefinitionWithSameNameExists")

		props2 := *custom.Properties
		props2.RoleName = to.Ptr("Reader")
		_, err = defs.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), armauthorization.RoleDefinition{Properties: &props2}, nil)
		wantARMError(t, err, http.StatusConflict, "RoleDefinitionWithSameNameExists")

		_, err = defs.CreateOrUpdate(ctx, f.subScope, "not-a-guid", custom, nil)
		wantARMError(t, err, http.StatusBadRequest, "InvalidRoleDefinitionId")

		props3 := *custom.Properties
		props3.RoleName, props3.AssignableScopes = to.Ptr("No scopes"), nil
		_, err = defs.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), armauthorization.RoleDefinition{Properties: &props3}, nil)
		wantARMError(t, err, http.StatusBadRequest, "InvalidRoleDefinition")

		props4 := *custom.Properties
		props4.RoleName, props4.AssignableScopes = to.Ptr("Missing group"), []*string{to.Ptr(f.subScope + "/resourceGroups/rg-nope")}
		_, err = defs.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), armauthorization.RoleDefinition{Properties: &props4}, nil)
		wantARMError(t, err, http.StatusNotFound, "ResourceGroupNotFound")

		props5 := *custom.Properties
		props5.RoleName = to.Ptr("Bad action")
		props5.Permissions = []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Compute/virtual machines/read")}}}
		_, err = defs.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), armauthorization.RoleDefinition{Properties: &props5}, nil)
		wantARMError(t, err, http.StatusBadRequest, "InvalidRoleDefinition")
	})

	t.Run("built-in roles are read-only", func(t *testing.T) {
		_, err := defs.CreateOrUpdate(ctx, f.subScope, authz.RoleReader, custom, nil)
		wantARMError(t, err, http.StatusForbidden, "BuiltInRoleDefinitionReadOnly")
		_, err = defs.Delete(ctx, f.subScope, authz.RoleOwner, nil)
		wantARMError(t, err, http.StatusForbidden, "BuiltInRoleDefinitionReadOnly")
	})

	t.Run("a principal cannot define a role with more than it holds", func(t *testing.T) {
		uaa := newRBACPrincipal(t, f.env, "uaa")
		grant(t, f.env, f.subScope, authz.RoleUserAccessAdministrator, uaa.ObjectID)
		own := definitionsClient(t, f.env, uaa.Cred)
		everything := armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
			RoleName: to.Ptr("Everything"), AssignableScopes: []*string{to.Ptr(f.subScope)},
			Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("*")}}},
		}}
		_, err := own.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), everything, nil)
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		// Nor rewrite an existing role into one.
		widened := custom
		props := *custom.Properties
		props.Permissions = everything.Properties.Permissions
		widened.Properties = &props
		_, err = own.CreateOrUpdate(ctx, f.subScope, customID, widened, nil)
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		readers := armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
			RoleName: to.Ptr("Role readers"), AssignableScopes: []*string{to.Ptr(f.subScope)},
			Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Authorization/*/read")}}},
		}}
		if _, err := own.CreateOrUpdate(ctx, f.subScope, uuid.NewString(), readers, nil); err != nil {
			t.Fatalf("a role within what the caller holds: %v", err)
		}
	})

	t.Run("a custom role in use cannot be deleted or narrowed", func(t *testing.T) {
		sp := newRBACPrincipal(t, f.env, "restarter")
		name := uuid.NewString()
		if _, err := f.adminAssignments.Create(ctx, f.groupScope, name, f.params(sp.ObjectID, customID), nil); err != nil {
			t.Fatal(err)
		}
		_, err := defs.Delete(ctx, f.subScope, customID, nil)
		wantARMError(t, err, http.StatusConflict, "RoleDefinitionHasAssignments")
		f.createGroup(t, "rg-other")
		narrowed := custom
		props := *custom.Properties
		props.AssignableScopes = []*string{to.Ptr(f.subScope + "/resourceGroups/rg-other")}
		narrowed.Properties = &props
		_, err = defs.CreateOrUpdate(ctx, f.subScope, customID, narrowed, nil)
		wantARMError(t, err, http.StatusConflict, "RoleDefinitionHasAssignments")

		if _, err := f.adminAssignments.Delete(ctx, f.groupScope, name, nil); err != nil {
			t.Fatal(err)
		}
		var raw *http.Response
		deleted, err := defs.Delete(runtime.WithCaptureResponse(ctx, &raw), f.subScope, customID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if raw.StatusCode != http.StatusOK || deleted.Name == nil || *deleted.Name != customID {
			t.Fatalf("delete: %d %v", raw.StatusCode, deleted.Name)
		}
		if _, err := defs.Delete(runtime.WithCaptureResponse(ctx, &raw), f.subScope, customID, nil); err != nil || raw.StatusCode != http.StatusNoContent {
			t.Fatalf("second delete: %v %d", err, raw.StatusCode)
		}
		_, err = defs.Get(ctx, f.subScope, customID, nil)
		wantARMError(t, err, http.StatusNotFound, "RoleDefinitionDoesNotExist")
	})
}

func TestRoleAssignmentsWithTheSDK(t *testing.T) {
	f := newRBACFixture(t, "rg-ra")
	ctx, ra := f.ctx, f.adminAssignments
	sp := newRBACPrincipal(t, f.env, "assignee")
	name := uuid.NewString()
	readerParams := f.params(sp.ObjectID, authz.RoleReader)

	t.Run("create answers 201 with the assignment", func(t *testing.T) {
		var raw *http.Response
		got, err := ra.Create(runtime.WithCaptureResponse(ctx, &raw), f.groupScope, name, readerParams, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := got.Properties
		if raw.StatusCode != http.StatusCreated ||
			*got.ID != f.groupScope+"/providers/Microsoft.Authorization/roleAssignments/"+name || *got.Name != name ||
			*got.Type != "Microsoft.Authorization/roleAssignments" || *p.Scope != f.groupScope ||
			*p.PrincipalID != sp.ObjectID || *p.PrincipalType != armauthorization.PrincipalTypeServicePrincipal ||
			*p.RoleDefinitionID != roleDefID(f.sub, authz.RoleReader) || p.CreatedOn == nil || *p.CreatedBy != f.adminObjectID {
			t.Fatalf("create: %d %s %+v", raw.StatusCode, *got.ID, *p)
		}
	})

	t.Run("the same PUT again answers 200, by name and by ID", func(t *testing.T) {
		var raw *http.Response
		if _, err := ra.Create(runtime.WithCaptureResponse(ctx, &raw), f.groupScope, name, readerParams, nil); err != nil || raw.StatusCode != http.StatusOK {
			t.Fatalf("repeat: %v %d", err, raw.StatusCode)
		}
		id := f.groupScope + "/providers/Microsoft.Authorization/roleAssignments/" + name
		if _, err := ra.CreateByID(runtime.WithCaptureResponse(ctx, &raw), id, readerParams, nil); err != nil || raw.StatusCode != http.StatusOK {
			t.Fatalf("repeat by ID: %v %d", err, raw.StatusCode)
		}
	})

	t.Run("the description may change", func(t *testing.T) {
		before, err := ra.Get(ctx, f.groupScope, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		described := f.params(sp.ObjectID, authz.RoleReader)
		described.Properties.Description = to.Ptr("read the app's group")
		var raw *http.Response
		got, err := ra.Create(runtime.WithCaptureResponse(ctx, &raw), f.groupScope, name, described, nil)
		if err != nil || raw.StatusCode != http.StatusOK {
			t.Fatalf("description update: %v %d", err, raw.StatusCode)
		}
		if *got.Properties.Description != "read the app's group" || !got.Properties.CreatedOn.Equal(*before.Properties.CreatedOn) {
			t.Fatalf("after a description update: %+v", *got.Properties)
		}
		// The assignment still grants: the engine followed the replacement.
		perms, err := armauthorization.NewPermissionsClient(f.sub, sp.Cred, f.env.ARMOptions())
		if err != nil {
			t.Fatal(err)
		}
		page, err := perms.NewListForResourceGroupPager(f.group, nil).NextPage(ctx)
		if err != nil || len(page.Value) != 1 {
			t.Fatalf("permissions after a description update: %v %d", err, len(page.Value))
		}
		if _, err := ra.Create(ctx, f.groupScope, name, readerParams, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("conflicts", func(t *testing.T) {
		_, err := ra.Create(ctx, f.groupScope, name, f.params(sp.ObjectID, authz.RoleContributor), nil)
		wantARMError(t, err, http.StatusConflict, "RoleAssignmentUpdateNotPermitted")
		_, err = ra.Create(ctx, f.groupScope, uuid.NewString(), readerParams, nil)
		wantARMError(t, err, http.StatusConflict, "RoleAssignmentExists")
		if !strings.Contains(err.Error(), strings.ReplaceAll(name, "-", "")) {
			t.Fatalf("RoleAssignmentExists does not name the existing assignment: %v", err)
		}
	})

	t.Run("invalid requests", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			scope  string
			ra     string
			params armauthorization.RoleAssignmentCreateParameters
			status int
			code   string
		}{
			{"principal that does not exist, whatever principalType says", f.groupScope, uuid.NewString(), f.params(uuid.NewString(), authz.RoleReader), 400, "PrincipalNotFound"},
			{"principalType that does not match the directory", f.groupScope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
				PrincipalID: to.Ptr(sp.ObjectID), RoleDefinitionID: to.Ptr(roleDefID(f.sub, authz.RoleContributor)), PrincipalType: to.Ptr(armauthorization.PrincipalTypeUser)}}, 400, "UnmatchedPrincipalType"},
			{"name that is not a GUID", f.groupScope, "reader-for-sp", f.params(sp.ObjectID, authz.RoleContributor), 400, "InvalidRoleAssignmentId"},
			{"role that does not exist", f.groupScope, uuid.NewString(), f.params(sp.ObjectID, uuid.NewString()), 400, "RoleDefinitionDoesNotExist"},
			{"resource group that does not exist", f.subScope + "/resourceGroups/rg-nope", uuid.NewString(), f.params(sp.ObjectID, authz.RoleReader), 404, "ResourceGroupNotFound"},
			{"resource that does not exist", f.groupScope + "/providers/Microsoft.Compute/virtualMachines/nope", uuid.NewString(), f.params(sp.ObjectID, authz.RoleReader), 404, "ResourceNotFound"},
			{"subscription that does not exist", "/subscriptions/" + uuid.NewString(), uuid.NewString(), f.params(sp.ObjectID, authz.RoleReader), 404, "SubscriptionNotFound"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := ra.Create(ctx, tc.scope, tc.ra, tc.params, nil)
				wantARMError(t, err, tc.status, tc.code)
			})
		}
	})

	t.Run("get by name and by ID, only at its own scope", func(t *testing.T) {
		got, err := ra.Get(ctx, f.groupScope, name, nil)
		if err != nil || *got.Name != name {
			t.Fatalf("get: %v", err)
		}
		byID, err := ra.GetByID(ctx, *got.ID, nil)
		if err != nil || *byID.Properties.PrincipalID != sp.ObjectID {
			t.Fatalf("get by ID: %v", err)
		}
		_, err = ra.Get(ctx, f.subScope, name, nil)
		wantARMError(t, err, http.StatusNotFound, "RoleAssignmentNotFound")
	})

	// A group holding Contributor at the group, with sp as a member of a
	// member group: assignedTo follows memberships transitively.
	st := f.env.Server.Installation().Store
	outer, inner := uuid.NewString(), uuid.NewString()
	rev, err := st.Update(ctx, func(tx store.Tx) error {
		for _, g := range []string{outer, inner} {
			if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: g, DisplayName: "group " + g[:4], Kind: store.PrincipalGroup, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		if err := tx.AddGroupMember(ctx, outer, inner); err != nil {
			return err
		}
		return tx.AddGroupMember(ctx, inner, sp.ObjectID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.env.Server.WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
	groupName := uuid.NewString()
	if _, err := ra.Create(ctx, f.groupScope, groupName, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(outer), RoleDefinitionID: to.Ptr(roleDefID(f.sub, authz.RoleContributor)), PrincipalType: to.Ptr(armauthorization.PrincipalTypeGroup)}}, nil); err != nil {
		t.Fatal(err)
	}
	resourceName := uuid.NewString()
	if _, err := ra.Create(ctx, f.resourceID, resourceName, f.params(sp.ObjectID, authz.RoleContributor), nil); err != nil {
		t.Fatal(err)
	}
	rootOwner := func(as []*armauthorization.RoleAssignment) bool {
		return slices.ContainsFunc(as, func(a *armauthorization.RoleAssignment) bool {
			return *a.Properties.Scope == "/" && *a.Properties.PrincipalID == f.adminObjectID
		})
	}

	t.Run("lists and pre-encoded filters", func(t *testing.T) {
		sameSet := func(t *testing.T, what string, got []*armauthorization.RoleAssignment, want ...string) {
			t.Helper()
			g := names(got)
			slices.Sort(g)
			w := slices.Clone(want)
			for i := range w {
				w[i] = strings.ToLower(w[i])
			}
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Fatalf("%s: got %v, want %v", what, g, w)
			}
		}
		all := drain(t, ra.NewListForResourceGroupPager(f.group, nil), forGroup)
		if !rootOwner(all) || !slices.Contains(names(all), strings.ToLower(name)) || !slices.Contains(names(all), strings.ToLower(resourceName)) {
			t.Fatalf("group list (at, above, below): %v", names(all))
		}
		atScope := drain(t, ra.NewListForResourceGroupPager(f.group, &armauthorization.RoleAssignmentsClientListForResourceGroupOptions{Filter: encodeFilter("atScope()")}), forGroup)
		if !rootOwner(atScope) || slices.Contains(names(atScope), strings.ToLower(resourceName)) {
			t.Fatalf("atScope() at the group: %v", names(atScope))
		}
		sameSet(t, "principalId eq at the subscription",
			drain(t, ra.NewListForSubscriptionPager(&armauthorization.RoleAssignmentsClientListForSubscriptionOptions{Filter: encodeFilter("principalId eq '" + sp.ObjectID + "'")}), forSubscription),
			name, resourceName)
		sameSet(t, "principalId eq with '+' for spaces",
			drain(t, ra.NewListForScopePager(f.subScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId+eq+'" + strings.ToUpper(sp.ObjectID) + "'")}), forScope),
			name, resourceName)
		sameSet(t, "assignedTo follows groups",
			drain(t, ra.NewListForScopePager(f.subScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: encodeFilter("assignedTo('" + sp.ObjectID + "')")}), forScope),
			name, resourceName, groupName)
		sameSet(t, "atScope() and assignedTo at the group",
			drain(t, ra.NewListForResourceGroupPager(f.group, &armauthorization.RoleAssignmentsClientListForResourceGroupOptions{Filter: encodeFilter("atScope() and assignedTo('" + sp.ObjectID + "')")}), forGroup),
			name, groupName)
		sameSet(t, "atScope() and assignedTo at the subscription",
			drain(t, ra.NewListForSubscriptionPager(&armauthorization.RoleAssignmentsClientListForSubscriptionOptions{Filter: encodeFilter("atScope() and assignedTo('" + sp.ObjectID + "')")}), forSubscription))
		onResource := drain(t, ra.NewListForResourcePager(f.group, "Microsoft.Compute", "virtualMachines", "vm1", nil), forResource)
		if !slices.Contains(names(onResource), strings.ToLower(name)) || !slices.Contains(names(onResource), strings.ToLower(resourceName)) || !rootOwner(onResource) {
			t.Fatalf("resource list (inherited included): %v", names(onResource))
		}
		for _, bad := range []string{"principalId eq " + sp.ObjectID, "roleDefinitionId eq 'x'", "atScope() or assignedTo('" + sp.ObjectID + "')"} {
			_, err := ra.NewListForScopePager(f.groupScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: encodeFilter(bad)}).NextPage(ctx)
			wantARMError(t, err, http.StatusBadRequest, "InvalidFilterInQueryString")
			if !strings.Contains(err.Error(), "assignedTo") {
				t.Fatalf("the 400 does not list the supported filters: %v", err)
			}
		}
	})

	t.Run("pages follow nextLink with the filter kept", func(t *testing.T) {
		for _, role := range []string{authz.RoleManagedIdentityOperator, authz.RoleKeyVaultSecretsUser, authz.RoleStorageBlobDataReader} {
			if _, err := ra.Create(ctx, f.groupScope, uuid.NewString(), f.params(sp.ObjectID, role), nil); err != nil {
				t.Fatal(err)
			}
		}
		opts := f.env.ARMOptions()
		pages := 0
		opts.PerCallPolicies = append(opts.PerCallPolicies, policyFunc(func(req *policy.Request) (*http.Response, error) {
			if !strings.Contains(req.Raw().URL.RawQuery, "top") {
				req.Raw().URL.RawQuery += "&%24top=2"
			}
			pages++
			return req.Next()
		}))
		paged, err := armauthorization.NewRoleAssignmentsClient(f.sub, f.env.AdminCredential(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, paged.NewListForScopePager(f.groupScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: encodeFilter("principalId eq '" + sp.ObjectID + "'")}), forScope)
		if len(got) != 5 || pages != 3 {
			t.Fatalf("%d assignments in %d pages, want 5 in 3", len(got), pages)
		}
	})

	t.Run("delete answers 200 with the assignment, then 204", func(t *testing.T) {
		var raw *http.Response
		got, err := ra.Delete(runtime.WithCaptureResponse(ctx, &raw), f.groupScope, name, nil)
		if err != nil || raw.StatusCode != http.StatusOK || *got.Name != name {
			t.Fatalf("delete: %v %d", err, raw.StatusCode)
		}
		if _, err := ra.Delete(runtime.WithCaptureResponse(ctx, &raw), f.groupScope, name, nil); err != nil || raw.StatusCode != http.StatusNoContent {
			t.Fatalf("second delete: %v %d", err, raw.StatusCode)
		}
		if _, err := ra.DeleteByID(runtime.WithCaptureResponse(ctx, &raw), f.groupScope+"/providers/Microsoft.Authorization/roleAssignments/"+groupName, nil); err != nil || raw.StatusCode != http.StatusOK {
			t.Fatalf("delete by ID: %v %d", err, raw.StatusCode)
		}
		_, err = ra.GetByID(ctx, f.groupScope+"/providers/Microsoft.Authorization/roleAssignments/"+name, nil)
		wantARMError(t, err, http.StatusNotFound, "RoleAssignmentNotFound")
	})
}

// policyFunc adapts a function to policy.Policy.
type policyFunc func(*policy.Request) (*http.Response, error)

func (f policyFunc) Do(req *policy.Request) (*http.Response, error) { return f(req) }

// TestRoleAssignmentEscalationGuard: holding roleAssignments/write is not
// enough; a principal grants only what it holds itself.
func TestRoleAssignmentEscalationGuard(t *testing.T) {
	f := newRBACFixture(t, "rg-guard")
	ctx := f.ctx
	target := newRBACPrincipal(t, f.env, "target")
	for _, tc := range []struct {
		name    string
		role    string // the granter's role at the group
		grant   string // the role it tries to grant there
		allowed bool
	}{
		{"RBAC Administrator cannot grant Owner", authz.RoleRBACAdministrator, authz.RoleOwner, false},
		{"RBAC Administrator cannot grant Contributor", authz.RoleRBACAdministrator, authz.RoleContributor, false},
		{"RBAC Administrator can grant Reader", authz.RoleRBACAdministrator, authz.RoleReader, true},
		{"User Access Administrator cannot grant Owner", authz.RoleUserAccessAdministrator, authz.RoleOwner, false},
		{"User Access Administrator cannot grant a data role", authz.RoleUserAccessAdministrator, authz.RoleStorageBlobDataReader, false},
		{"Contributor cannot write assignments at all", authz.RoleContributor, authz.RoleReader, false},
		{"Owner can grant Owner", authz.RoleOwner, authz.RoleOwner, true},
		{"Owner can grant a data role", authz.RoleOwner, authz.RoleKeyVaultSecretsUser, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			granter := newRBACPrincipal(t, f.env, "granter")
			grant(t, f.env, f.groupScope, tc.role, granter.ObjectID)
			_, err := assignmentsClient(t, f.env, granter.Cred).Create(ctx, f.groupScope, uuid.NewString(), f.params(target.ObjectID, tc.grant), nil)
			if tc.allowed {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		})
	}
}

func TestPermissionsWithTheSDK(t *testing.T) {
	f := newRBACFixture(t, "rg-perm")
	sp := newRBACPrincipal(t, f.env, "reader")
	grant(t, f.env, f.groupScope, authz.RoleReader, sp.ObjectID)
	f.createGroup(t, "rg-perm-other")
	perms, err := armauthorization.NewPermissionsClient(f.sub, sp.Cred, f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	values := func(r armauthorization.PermissionsClientListForResourceGroupResponse) []*armauthorization.Permission {
		return r.Value
	}
	got := drain(t, perms.NewListForResourceGroupPager(f.group, nil), values)
	if len(got) != 1 || len(got[0].Actions) != 1 || *got[0].Actions[0] != "*/read" || got[0].NotActions == nil {
		t.Fatalf("permissions at the group: %+v", got)
	}
	onResource := drain(t, perms.NewListForResourcePager(f.group, "Microsoft.Compute", "", "virtualMachines", "vm1", nil),
		func(r armauthorization.PermissionsClientListForResourceResponse) []*armauthorization.Permission {
			return r.Value
		})
	if len(onResource) != 1 || *onResource[0].Actions[0] != "*/read" {
		t.Fatalf("permissions at the resource: %+v", onResource)
	}
	if other := drain(t, perms.NewListForResourceGroupPager("rg-perm-other", nil), values); len(other) != 0 {
		t.Fatalf("permissions at another group: %+v", other)
	}
}

// TestReaderOnOneGroup is issue #5's acceptance: the admin grants a service
// principal Reader on one resource group with the SDK; with its own
// ClientSecretCredential it reads that group and nothing else, is refused
// writes with Azure's AuthorizationFailed message, and loses access the
// moment the assignment is deleted.
func TestReaderOnOneGroup(t *testing.T) {
	f := newRBACFixture(t, "rg-a")
	ctx := f.ctx
	f.createGroup(t, "rg-b")
	if _, err := f.identities.CreateOrUpdate(ctx, "rg-b", "id-b", armmsi.Identity{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	sp := newRBACPrincipal(t, f.env, "reader-of-a")
	name := grant(t, f.env, f.groupScope, authz.RoleReader, sp.ObjectID)

	groups, err := armresources.NewResourceGroupsClient(f.sub, sp.Cred, f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	identities, err := armmsi.NewUserAssignedIdentitiesClient(f.sub, sp.Cred, f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.Get(ctx, "rg-a", nil); err != nil {
		t.Fatalf("reading the granted group: %v", err)
	}
	_, err = groups.Get(ctx, "rg-b", nil)
	wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
	listGroups := func() []string {
		var out []string
		for _, g := range drain(t, groups.NewListPager(nil), func(r armresources.ResourceGroupsClientListResponse) []*armresources.ResourceGroup { return r.Value }) {
			out = append(out, *g.Name)
		}
		return out
	}
	if got := listGroups(); !slices.Equal(got, []string{"rg-a"}) {
		t.Fatalf("groups listed: %v", got)
	}
	ids := drain(t, identities.NewListBySubscriptionPager(nil), func(r armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse) []*armmsi.Identity {
		return r.Value
	})
	if len(ids) != 1 || *ids[0].Name != "id1" {
		t.Fatalf("identities listed: %d", len(ids))
	}

	_, err = groups.CreateOrUpdate(ctx, "rg-a", armresources.ResourceGroup{Location: to.Ptr("westus"), Tags: map[string]*string{"x": to.Ptr("y")}}, nil)
	wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
	want := "The client '" + sp.AppID + "' with object id '" + sp.ObjectID + "' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '" + f.groupScope + "' or the scope is invalid."
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("write refusal is not Azure's message:\n%v\nwant %q", err, want)
	}
	_, err = identities.CreateOrUpdate(ctx, "rg-a", "id-new", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")

	if _, err := f.adminAssignments.Delete(ctx, f.groupScope, name, nil); err != nil {
		t.Fatal(err)
	}
	_, err = groups.Get(ctx, "rg-a", nil)
	wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
	if got := listGroups(); len(got) != 0 {
		t.Fatalf("groups listed after revocation: %v", got)
	}
}

// TestAssignmentsFollowTheirPrincipalsAndScopes: no orphans. Deleting a
// resource, a group or a user-assigned identity, or turning a
// system-assigned identity off, deletes the assignments at that scope and
// those held by that identity; an identity can be granted roles before
// anything uses it.
func TestAssignmentsFollowTheirPrincipalsAndScopes(t *testing.T) {
	f := newRBACFixture(t, "rg-life")
	ctx, ra := f.ctx, f.adminAssignments
	sp := newRBACPrincipal(t, f.env, "bystander")
	gone := func(t *testing.T, scope, name string) {
		t.Helper()
		_, err := ra.Get(ctx, scope, name, nil)
		wantARMError(t, err, http.StatusNotFound, "RoleAssignmentNotFound")
	}
	present := func(t *testing.T, scope, name string) {
		t.Helper()
		if _, err := ra.Get(ctx, scope, name, nil); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("pre-authorized user-assigned identity", func(t *testing.T) {
		name := grant(t, f.env, f.groupScope, authz.RoleReader, f.identityPrinc)
		present(t, f.groupScope, name)
		status, body := rawARM(t, f.env, f.env.AdminCredential(t), http.MethodPost, f.groupScope+"/providers/Keyless.Authorization/explain",
			apiVersion(rbacapi.APIVersion), rbacapi.ExplainRequest{PrincipalID: f.identityPrinc, Action: "Microsoft.Resources/subscriptions/resourceGroups/read"})
		var d rbacapi.Decision
		decodeJSON(t, body, &d)
		if status != http.StatusOK || !d.Allowed || len(d.Grants) != 1 || d.Grants[0].RoleAssignmentName != name {
			t.Fatalf("explain for the identity: %d %s", status, body)
		}
		heldBy := grant(t, f.env, f.identityID, authz.RoleReader, sp.ObjectID)
		if _, err := f.identities.Delete(ctx, f.group, "id1", nil); err != nil {
			t.Fatal(err)
		}
		gone(t, f.groupScope, name)
		gone(t, f.identityID, heldBy)
	})

	t.Run("resource deletion", func(t *testing.T) {
		id := f.createResource(t, f.group, "vm-sys", true)
		res, err := f.resources.GetByID(ctx, id, "2024-07-01", nil)
		if err != nil {
			t.Fatal(err)
		}
		principal := *res.Identity.PrincipalID
		held := grant(t, f.env, f.groupScope, authz.RoleReader, principal)
		at := grant(t, f.env, id, authz.RoleReader, sp.ObjectID)
		p, err := f.resources.BeginDeleteByID(ctx, id, "2024-07-01", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gone(t, f.groupScope, held)
		gone(t, id, at)
	})

	t.Run("system-assigned identity turned off", func(t *testing.T) {
		id := f.createResource(t, f.group, "vm-off", true)
		res, err := f.resources.GetByID(ctx, id, "2024-07-01", nil)
		if err != nil {
			t.Fatal(err)
		}
		held := grant(t, f.env, f.groupScope, authz.RoleReader, *res.Identity.PrincipalID)
		at := grant(t, f.env, id, authz.RoleReader, sp.ObjectID)
		p, err := f.resources.BeginUpdateByID(ctx, id, "2024-07-01", armresources.GenericResource{
			Identity: &armresources.Identity{Type: to.Ptr(armresources.ResourceIdentityTypeNone)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gone(t, f.groupScope, held)
		present(t, id, at) // the resource is still there
	})

	t.Run("resource group deletion", func(t *testing.T) {
		at := grant(t, f.env, f.groupScope, authz.RoleReader, sp.ObjectID)
		below := grant(t, f.env, f.resourceID, authz.RoleReader, sp.ObjectID)
		p, err := f.groups.BeginDelete(ctx, f.group, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
		gone(t, f.groupScope, at)
		gone(t, f.resourceID, below)
	})
}

// TestCheckAccessForDataPlaneServices: a service that received a token asks
// keyless whether its bearer may perform a data action.
func TestCheckAccessForDataPlaneServices(t *testing.T) {
	f := newRBACFixture(t, "rg-data")
	ctx := f.ctx
	client := newRBACPrincipal(t, f.env, "blob-client")
	service := newRBACPrincipal(t, f.env, "blob-service")
	grant(t, f.env, f.groupScope, authz.RoleStorageBlobDataReader, client.ObjectID)

	checker := uuid.NewString()
	if _, err := f.adminDefinitions.CreateOrUpdate(ctx, f.subScope, checker, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Access Checker"), AssignableScopes: []*string{to.Ptr(f.subScope)},
		Permissions: []*armauthorization.Permission{{Actions: []*string{to.Ptr(rbacapi.ActionCheckAccess)}}},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	grant(t, f.env, f.subScope, checker, service.ObjectID)

	tok, err := client.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.example/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	container := f.groupScope + "/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default/containers/c1"
	check := func(t *testing.T, who rbacPrincipal, path string, req rbacapi.CheckAccessRequest) (int, rbacapi.CheckAccessResult, []byte) {
		t.Helper()
		status, body := rawARM(t, f.env, who.Cred, http.MethodPost, path, apiVersion(rbacapi.APIVersion), req)
		var res rbacapi.CheckAccessResult
		if status == http.StatusOK {
			decodeJSON(t, body, &res)
		}
		return status, res, body
	}
	const read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	const write = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"

	t.Run("allowed, with the granting assignment", func(t *testing.T) {
		status, res, body := check(t, service, f.subScope+"/providers/Keyless.Authorization/checkAccess",
			rbacapi.CheckAccessRequest{Token: tok.Token, DataAction: read, Scope: container, Audience: "https://storage.example/"})
		if status != http.StatusOK || !res.Allowed || !res.TokenValid || res.PrincipalID != client.ObjectID || res.AppID != client.AppID ||
			len(res.Grants) != 1 || res.Grants[0].RoleName != "Storage Blob Data Reader" {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("denied data action", func(t *testing.T) {
		status, res, body := check(t, service, container+"/providers/Keyless.Authorization/checkAccess",
			rbacapi.CheckAccessRequest{Token: "Bearer " + tok.Token, DataAction: write})
		if status != http.StatusOK || res.Allowed || !res.TokenValid || !strings.Contains(res.Reason, "denied") {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("control-plane action is not a data action", func(t *testing.T) {
		_, res, body := check(t, service, container+"/providers/Keyless.Authorization/checkAccess",
			rbacapi.CheckAccessRequest{Token: tok.Token, Action: read})
		if res.Allowed {
			t.Fatalf("a data role granted a control-plane action: %s", body)
		}
	})
	t.Run("invalid token and wrong audience", func(t *testing.T) {
		_, res, body := check(t, service, container+"/providers/Keyless.Authorization/checkAccess",
			rbacapi.CheckAccessRequest{Token: tok.Token[:len(tok.Token)-4] + "AAAA", DataAction: read})
		if res.Allowed || res.TokenValid {
			t.Fatalf("tampered token: %s", body)
		}
		_, res, body = check(t, service, container+"/providers/Keyless.Authorization/checkAccess",
			rbacapi.CheckAccessRequest{Token: tok.Token, DataAction: read, Audience: "https://vault.example"})
		if res.Allowed || res.TokenValid || !strings.Contains(res.Reason, "audience") {
			t.Fatalf("wrong audience: %s", body)
		}
	})
	t.Run("only callers holding checkAccess/action at the scope", func(t *testing.T) {
		status, _, body := check(t, client, container+"/providers/Keyless.Authorization/checkAccess", rbacapi.CheckAccessRequest{Token: tok.Token, DataAction: read})
		if status != http.StatusForbidden || errorCodeOf(body) != "AuthorizationFailed" {
			t.Fatalf("client calling checkAccess: %d %s", status, body)
		}
		status, _, body = check(t, service, "/providers/Keyless.Authorization/checkAccess", rbacapi.CheckAccessRequest{Token: tok.Token, DataAction: read})
		if status != http.StatusForbidden {
			t.Fatalf("service checking at the root: %d %s", status, body)
		}
		status, _, body = check(t, service, f.subScope+"/providers/Keyless.Authorization/checkAccess",
			rbacapi.CheckAccessRequest{Token: tok.Token, DataAction: read, Scope: "/subscriptions/" + uuid.NewString()})
		if status != http.StatusForbidden {
			t.Fatalf("service checking outside its scope through the body: %d %s", status, body)
		}
	})
	t.Run("explain needs roleAssignments/read and says why", func(t *testing.T) {
		status, body := rawARM(t, f.env, f.env.AdminCredential(t), http.MethodPost, container+"/providers/Keyless.Authorization/explain",
			apiVersion(rbacapi.APIVersion), rbacapi.ExplainRequest{PrincipalID: client.ObjectID, DataAction: read})
		var d rbacapi.Decision
		decodeJSON(t, body, &d)
		if status != http.StatusOK || !d.Allowed || d.Grants[0].Scope != f.groupScope || !strings.Contains(d.Reason, "Storage Blob Data Reader") {
			t.Fatalf("%d %s", status, body)
		}
		status, body = rawARM(t, f.env, client.Cred, http.MethodPost, container+"/providers/Keyless.Authorization/explain",
			apiVersion(rbacapi.APIVersion), rbacapi.ExplainRequest{DataAction: read})
		if status != http.StatusForbidden {
			t.Fatalf("explain without roleAssignments/read: %d %s", status, body)
		}
	})
	t.Run("principal lookup", func(t *testing.T) {
		status, body := rawARM(t, f.env, f.env.AdminCredential(t), http.MethodGet, "/providers/Keyless.Directory/principals",
			url.Values{"api-version": {rbacapi.APIVersion}, "assignee": {client.AppID}}, nil)
		var res struct{ Value []rbacapi.PrincipalInfo }
		decodeJSON(t, body, &res)
		if status != http.StatusOK || len(res.Value) != 1 || res.Value[0].ObjectID != client.ObjectID || res.Value[0].PrincipalType != "ServicePrincipal" {
			t.Fatalf("%d %s", status, body)
		}
		status, body = rawARM(t, f.env, f.env.AdminCredential(t), http.MethodGet, "/providers/Keyless.Directory/principals",
			url.Values{"api-version": {rbacapi.APIVersion}, "assignee": {f.identityID}}, nil)
		decodeJSON(t, body, &res)
		if status != http.StatusOK || len(res.Value) != 1 || res.Value[0].ObjectID != f.identityPrinc {
			t.Fatalf("by identity resource ID: %d %s", status, body)
		}
	})
}
