package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

func groupID(name string) string { return "/providers/Microsoft.Management/managementGroups/" + name }

// mgClients are the two armmanagementgroups clients, as one credential.
type mgClients struct {
	groups *armmanagementgroups.Client
	subs   *armmanagementgroups.ManagementGroupSubscriptionsClient
}

func newMGClients(t *testing.T, env *testenv.Env, p rbacPrincipal) mgClients {
	t.Helper()
	groups, err := armmanagementgroups.NewClient(p.Cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	subs, err := armmanagementgroups.NewManagementGroupSubscriptionsClient(p.Cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return mgClients{groups, subs}
}

var fastPoll = &runtime.PollUntilDoneOptions{Frequency: time.Second}

// create makes a group under parent through the long-running
// BeginCreateOrUpdate, as Terraform and az do.
func (c mgClients) create(ctx context.Context, name, displayName, parent string) (armmanagementgroups.ManagementGroup, error) {
	poller, err := c.groups.BeginCreateOrUpdate(ctx, name, armmanagementgroups.CreateManagementGroupRequest{
		Properties: &armmanagementgroups.CreateManagementGroupProperties{
			DisplayName: to.Ptr(displayName),
			Details:     &armmanagementgroups.CreateManagementGroupDetails{Parent: &armmanagementgroups.CreateParentGroupInfo{ID: to.Ptr(groupID(parent))}},
		},
	}, nil)
	if err != nil {
		return armmanagementgroups.ManagementGroup{}, err
	}
	res, err := poller.PollUntilDone(ctx, fastPoll)
	return res.ManagementGroup, err
}

func (c mgClients) delete(ctx context.Context, name string) error {
	poller, err := c.groups.BeginDelete(ctx, name, nil)
	if err != nil {
		return err
	}
	res, err := poller.PollUntilDone(ctx, fastPoll)
	if err == nil && (res.Status == nil || *res.Status != "Succeeded") {
		return fmt.Errorf("delete finished with status %v, want Succeeded", res.Status)
	}
	return err
}

// TestManagementGroupsThroughTheSDK drives Microsoft.Management through
// armmanagementgroups on both stores: the tenant root group made at first
// start, groups created, renamed, listed, read with their children, path
// and ancestors, a subscription moved under a group and back, and deletes
// refused while a group has children.
func TestManagementGroupsThroughTheSDK(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tenant, sub := env.Creds.TenantID, env.Creds.SubscriptionID
		admin := newMGClients(t, env, rbacPrincipal{Cred: env.AdminCredential(t)})

		root, err := admin.groups.Get(ctx, tenant, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *root.Name != tenant || *root.ID != groupID(tenant) || *root.Type != "Microsoft.Management/managementGroups" ||
			*root.Properties.DisplayName != "Tenant Root Group" || *root.Properties.TenantID != tenant || root.Properties.Details.Parent != nil {
			t.Fatalf("tenant root group: %+v %+v", root.ManagementGroup, root.Properties.Details)
		}

		corp, err := admin.create(ctx, "Corp", "Corporate", tenant)
		if err != nil {
			t.Fatal(err)
		}
		if p := corp.Properties.Details.Parent; *corp.ID != groupID("Corp") || p == nil || *p.ID != groupID(tenant) ||
			*p.DisplayName != "Tenant Root Group" || *corp.Properties.TenantID != tenant {
			t.Fatalf("created group: %+v, parent %+v", corp, p)
		}
		if _, err := admin.create(ctx, "prod", "Production", "corp"); err != nil {
			t.Fatal(err)
		}
		again, err := admin.create(ctx, "corp", "Corp", tenant)
		if err != nil || *again.Name != "Corp" || *again.Properties.DisplayName != "Corp" {
			t.Fatalf("create again renames and keeps the first casing: %+v, %v", again, err)
		}
		renamed, err := admin.groups.Update(ctx, "prod", armmanagementgroups.PatchManagementGroupRequest{DisplayName: to.Ptr("Prod")}, nil)
		if err != nil || *renamed.Properties.DisplayName != "Prod" || *renamed.Properties.Details.Parent.Name != "Corp" {
			t.Fatalf("PATCH displayName: %+v, %v", renamed, err)
		}
		if _, err := admin.create(ctx, "loop", "Loop", "prod"); err != nil {
			t.Fatal(err)
		}
		_, err = admin.groups.Update(ctx, "corp", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(groupID("loop"))}, nil)
		wantARMError(t, err, http.StatusBadRequest, "InvalidRequestContent")

		var listed []string
		for _, g := range drain(t, admin.groups.NewListPager(nil), func(p armmanagementgroups.ClientListResponse) []*armmanagementgroups.ManagementGroupInfo {
			return p.Value
		}) {
			listed = append(listed, *g.Name)
		}
		if want := []string{"Corp", "loop", "prod", tenant}; !sameSet(listed, want) {
			t.Fatalf("list: %v, want %v", listed, want)
		}

		moved, err := admin.subs.Create(ctx, "prod", sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *moved.ID != groupID("prod")+"/subscriptions/"+sub || *moved.Properties.Parent.ID != groupID("prod") || *moved.Properties.Tenant != tenant {
			t.Fatalf("subscription under the group: %+v", moved.Properties)
		}
		if got, err := admin.subs.GetSubscription(ctx, "prod", sub, nil); err != nil || *got.Name != sub {
			t.Fatalf("GetSubscription: %+v, %v", got, err)
		}
		under := drain(t, admin.subs.NewGetSubscriptionsUnderManagementGroupPager("prod", nil),
			func(p armmanagementgroups.ManagementGroupSubscriptionsClientGetSubscriptionsUnderManagementGroupResponse) []*armmanagementgroups.SubscriptionUnderManagementGroup {
				return p.Value
			})
		if len(under) != 1 || *under[0].Name != sub {
			t.Fatalf("subscriptions under prod: %v", under)
		}

		tree, err := admin.groups.Get(ctx, "corp", &armmanagementgroups.ClientGetOptions{
			Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeChildren), Recurse: to.Ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if c := tree.Properties.Children; len(c) != 1 || *c[0].Name != "prod" || len(c[0].Children) != 2 ||
			*c[0].Children[0].Name != "loop" || *c[0].Children[1].Type != armmanagementgroups.ManagementGroupChildTypeSubscriptions ||
			*c[0].Children[1].ID != "/subscriptions/"+sub {
			t.Fatalf("corp with $expand=children&$recurse=true: %s", dump(tree.Properties.Children))
		}
		shallow, err := admin.groups.Get(ctx, "prod", &armmanagementgroups.ClientGetOptions{
			Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeChildren), Filter: to.Ptr("children.childType ne Subscription")})
		if err != nil || len(shallow.Properties.Children) != 1 || shallow.Properties.Children[0].Children != nil {
			t.Fatalf("prod with children, subscriptions filtered out: %s, %v", dump(shallow.Properties.Children), err)
		}
		ancestors, err := admin.groups.Get(ctx, "loop", &armmanagementgroups.ClientGetOptions{Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeAncestors)})
		if err != nil {
			t.Fatal(err)
		}
		var chain []string
		for _, a := range ancestors.Properties.Details.ManagementGroupAncestorsChain {
			chain = append(chain, *a.Name)
		}
		if want := []string{"prod", "Corp", tenant}; !slices.Equal(chain, want) {
			t.Fatalf("ancestors of loop: %v, want %v", chain, want)
		}
		path, err := admin.groups.Get(ctx, "loop", &armmanagementgroups.ClientGetOptions{Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypePath)})
		if err != nil || len(path.Properties.Details.Path) != 3 || *path.Properties.Details.Path[0].DisplayName != "Tenant Root Group" {
			t.Fatalf("path of loop: %s, %v", dump(path.Properties.Details.Path), err)
		}
		var below []string
		for _, d := range drain(t, admin.groups.NewGetDescendantsPager("corp", nil), func(p armmanagementgroups.ClientGetDescendantsResponse) []*armmanagementgroups.DescendantInfo {
			return p.Value
		}) {
			below = append(below, *d.Name)
		}
		if want := []string{"prod", "loop", sub}; !slices.Equal(below, want) {
			t.Fatalf("descendants of corp: %v, want %v", below, want)
		}

		// Deletes are refused while anything is under the group.
		for _, name := range []string{"corp", "prod"} {
			wantARMError(t, admin.delete(ctx, name), http.StatusBadRequest, "BadRequest")
		}
		wantARMError(t, admin.delete(ctx, tenant), http.StatusBadRequest, "BadRequest")

		if _, err := admin.subs.Delete(ctx, "prod", sub, nil); err != nil {
			t.Fatal(err)
		}
		_, err = admin.subs.GetSubscription(ctx, "prod", sub, nil)
		wantARMError(t, err, http.StatusNotFound, "SubscriptionNotFound")
		if got, err := admin.subs.GetSubscription(ctx, tenant, sub, nil); err != nil || *got.Properties.Parent.ID != groupID(tenant) {
			t.Fatalf("the subscription is back under the root: %+v, %v", got, err)
		}
		for _, name := range []string{"loop", "prod", "corp"} {
			if err := admin.delete(ctx, name); err != nil {
				t.Fatalf("delete %s: %v", name, err)
			}
			_, err := admin.groups.Get(ctx, name, nil)
			wantARMError(t, err, http.StatusNotFound, "ManagementGroupNotFound")
		}
		if status, body := rawARM(t, env, env.AdminCredential(t), http.MethodDelete, groupID("corp"), apiVersion("2021-04-01"), nil); status != http.StatusNoContent {
			t.Fatalf("deleting a group that is gone: %d %s, want 204", status, body)
		}
	})
}

// TestManagementGroupRBACInheritance: Reader assigned at a management group
// through armauthorization reaches a subscription moved under one of its
// descendants, at once, and stops the moment the subscription is moved
// away; a move needs rights on the group and on the subscription.
func TestManagementGroupRBACInheritance(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tenant, sub := env.Creds.TenantID, env.Creds.SubscriptionID
		admin := newMGClients(t, env, rbacPrincipal{Cred: env.AdminCredential(t)})
		for _, g := range [][2]string{{"platform", tenant}, {"workloads", "platform"}, {"sandbox", tenant}} {
			if _, err := admin.create(ctx, g[0], g[0], g[1]); err != nil {
				t.Fatal(err)
			}
		}
		rgs, err := armresources.NewResourceGroupsClient(sub, env.AdminCredential(t), env.ARMOptions())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rgs.CreateOrUpdate(ctx, "rg-app", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
			t.Fatal(err)
		}

		reader := newRBACPrincipal(t, env, "mg-reader")
		assignment := grant(t, env, groupID("platform"), authz.RoleReader, reader.ObjectID)
		readerRGs, err := armresources.NewResourceGroupsClient(sub, reader.Cred, env.ARMOptions())
		if err != nil {
			t.Fatal(err)
		}
		canRead := func() bool {
			t.Helper()
			_, err := readerRGs.Get(ctx, "rg-app", nil)
			if err == nil {
				return true
			}
			wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
			return false
		}
		listed := func() int {
			t.Helper()
			return len(drain(t, readerRGs.NewListPager(nil), func(p armresources.ResourceGroupsClientListResponse) []*armresources.ResourceGroup { return p.Value }))
		}
		if canRead() || listed() != 0 {
			t.Fatal("Reader at a group reads a subscription that is not under it")
		}

		if _, err := admin.subs.Create(ctx, "workloads", sub, nil); err != nil {
			t.Fatal(err)
		}
		if !canRead() || listed() != 1 {
			t.Fatal("Reader at a group cannot read a subscription moved under its child group")
		}
		// The assignment is seen where it applies, as Azure lists inherited ones.
		assignments := assignmentsClient(t, env, env.AdminCredential(t))
		var atScope []string
		for _, a := range drain(t, assignments.NewListForScopePager("/subscriptions/"+sub+"/resourceGroups/rg-app",
			&armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")}),
			func(p armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
				return p.Value
			}) {
			atScope = append(atScope, *a.Name)
		}
		if !slices.Contains(atScope, assignment) {
			t.Fatalf("the group's assignment is not listed atScope() in the group's subscription: %v", atScope)
		}

		if _, err := admin.subs.Create(ctx, "sandbox", sub, nil); err != nil {
			t.Fatal(err)
		}
		if canRead() || listed() != 0 {
			t.Fatal("Reader at a group still reads a subscription moved out of it")
		}
		if _, err := admin.subs.Create(ctx, "workloads", sub, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.subs.Delete(ctx, "workloads", sub, nil); err != nil {
			t.Fatal(err)
		}
		if canRead() {
			t.Fatal("Reader at a group still reads a subscription moved back to the root")
		}

		// Moving needs subscriptions/write on the target group and
		// Owner on the subscription.
		mover := newRBACPrincipal(t, env, "mg-mover")
		moverClients := newMGClients(t, env, mover)
		grant(t, env, groupID("workloads"), authz.RoleOwner, mover.ObjectID)
		_, err = moverClients.subs.Create(ctx, "workloads", sub, nil)
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		_, err = moverClients.subs.Create(ctx, "sandbox", sub, nil)
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		grant(t, env, "/subscriptions/"+sub, authz.RoleOwner, mover.ObjectID)
		if _, err := moverClients.subs.Create(ctx, "workloads", sub, nil); err != nil {
			t.Fatalf("Owner of the group and of the subscription moves it: %v", err)
		}
		if !canRead() {
			t.Fatal("a move by a delegated owner did not take effect")
		}
		// Leaving workloads for sandbox needs subscriptions/delete on
		// workloads (held) and write on sandbox (not held).
		_, err = moverClients.subs.Create(ctx, "sandbox", sub, nil)
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		// Creating a group takes write at the tenant root group.
		_, err = moverClients.create(ctx, "workloads-child", "child", "workloads")
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")

		// A group's assignments go with it.
		if _, err := admin.subs.Delete(ctx, "workloads", sub, nil); err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{"workloads", "platform"} {
			if err := admin.delete(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		err = env.Server.Installation().Store.View(ctx, func(tx store.Tx) error {
			_, err := tx.GetRoleAssignment(ctx, assignment)
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the assignment at a deleted group is still stored: %v", err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	for _, s := range [][]string{a, b} {
		for i := range s {
			s[i] = strings.ToLower(s[i])
		}
		slices.Sort(s)
	}
	return slices.Equal(a, b)
}

// dump renders a value for a failure message.
func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
