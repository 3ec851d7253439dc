package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/directoryapi"
	"github.com/keyless-io/keyless/internal/testenv"
)

// adminCall makes a keyless-specific ARM call through azcore's pipeline.
func adminCall(t *testing.T, env *testenv.Env, method, path string, body any, out any) int {
	t.Helper()
	client, err := arm.NewClient("e2e", "v0.1.0", env.AdminCredential(t), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(context.Background(), method, runtime.JoinPaths(client.Endpoint(), path))
	if err != nil {
		t.Fatal(err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", directoryapi.APIVersion)
	req.Raw().URL.RawQuery = q.Encode()
	if body != nil {
		_ = runtime.MarshalAsJSON(req, body)
	}
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A role assigned to a group reaches members of nested groups, and is lost
// the moment the membership goes.
func TestGroupRoleAssignmentsAreTransitive(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst := env.Server.Installation()
	sp, err := directory.CreateServicePrincipal(ctx, inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: "member"})
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner directoryapi.Group
	if code := adminCall(t, env, http.MethodPost, "/providers/Keyless.Directory/groups", map[string]string{"displayName": "readers"}, &outer); code != http.StatusCreated {
		t.Fatalf("create group: %d", code)
	}
	adminCall(t, env, http.MethodPost, "/providers/Keyless.Directory/groups", map[string]string{"displayName": "team"}, &inner)
	for _, m := range [][2]string{{outer.Name, inner.Name}, {inner.Name, sp.Principal.ObjectID}} {
		if code := adminCall(t, env, http.MethodPut, "/providers/Keyless.Directory/groups/"+m[0]+"/members/"+m[1], map[string]any{}, nil); code != http.StatusCreated {
			t.Fatalf("add member: %d", code)
		}
	}
	if code := adminCall(t, env, http.MethodPut, "/providers/Keyless.Directory/groups/"+inner.Name+"/members/"+uuid.NewString(), map[string]any{}, nil); code != http.StatusBadRequest {
		t.Fatalf("unknown member: %d", code)
	}

	sub := env.Creds.SubscriptionID
	groups, _ := armresources.NewResourceGroupsClient(sub, env.AdminCredential(t), env.ARMOptions())
	if _, err := groups.CreateOrUpdate(ctx, "rg-g", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + sub + "/resourceGroups/rg-g"
	ras, _ := armauthorization.NewRoleAssignmentsClient(sub, env.AdminCredential(t), env.ARMOptions())
	if _, err := ras.Create(ctx, scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(outer.Name), PrincipalType: to.Ptr(armauthorization.PrincipalTypeGroup),
		RoleDefinitionID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID),
	}}, nil); err != nil {
		t.Fatal(err)
	}
	asMember, _ := armresources.NewResourceGroupsClient(sub, env.SecretCredential(t, sp.Principal.AppID, sp.Secret), env.ARMOptions())
	if _, err := asMember.Get(ctx, "rg-g", nil); err != nil {
		t.Fatalf("a member of a member of the group cannot read: %v", err)
	}
	adminCall(t, env, http.MethodDelete, "/providers/Keyless.Directory/groups/"+inner.Name+"/members/"+sp.Principal.ObjectID, nil, nil)
	if _, err := asMember.Get(ctx, "rg-g", nil); err == nil || !strings.Contains(err.Error(), "AuthorizationFailed") {
		t.Fatalf("access survived leaving the group: %v", err)
	}
	// Deleting the group deletes its assignment.
	if code := adminCall(t, env, http.MethodDelete, "/providers/Keyless.Directory/groups/"+outer.Name, nil, nil); code != http.StatusOK {
		t.Fatalf("delete group: %d", code)
	}
	pager := ras.NewListForScopePager(scope, nil)
	page, err := pager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range page.Value {
		if *a.Properties.PrincipalID == outer.Name {
			t.Fatal("the deleted group's assignment survived")
		}
	}
}
