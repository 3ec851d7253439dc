package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/subscription/armsubscription"

	"github.com/keyless-io/keyless/internal/testenv"
)

// Subscriptions are added the way Azure adds them: an alias, through the
// official armsubscription client.
func TestSubscriptionAliases(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cred := env.AdminCredential(t)
	aliases, err := armsubscription.NewAliasClient(cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, props armsubscription.PutAliasRequestProperties) (armsubscription.AliasResponse, error) {
		poller, err := aliases.BeginCreate(ctx, name, armsubscription.PutAliasRequest{Properties: &props}, nil)
		if err != nil {
			return armsubscription.AliasResponse{}, err
		}
		res, err := poller.PollUntilDone(ctx, nil)
		return res.AliasResponse, err
	}
	created, err := create("team-a", armsubscription.PutAliasRequestProperties{DisplayName: to.Ptr("Team A"), Workload: to.Ptr(armsubscription.WorkloadProduction)})
	if err != nil {
		t.Fatal(err)
	}
	newSub := *created.Properties.SubscriptionID
	if newSub == env.Creds.SubscriptionID || *created.Properties.ProvisioningState != armsubscription.ProvisioningStateSucceeded {
		t.Fatalf("alias %+v", created.Properties)
	}
	again, err := create("team-a", armsubscription.PutAliasRequestProperties{DisplayName: to.Ptr("Team A")})
	if err != nil || *again.Properties.SubscriptionID != newSub {
		t.Fatalf("creating the alias again must answer the same subscription: %v", err)
	}
	if _, err := create("bad", armsubscription.PutAliasRequestProperties{}); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("alias without a display name: %v", err)
	}

	subs, err := armsubscriptions.NewClient(cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, err := subs.Get(ctx, newSub, nil)
	if err != nil || *got.DisplayName != "Team A" {
		t.Fatalf("the new subscription: %v", err)
	}
	var n int
	for pager := subs.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 2 {
		t.Fatalf("%d subscriptions listed, want 2", n)
	}
	// Owner at "/" works in the new subscription at once.
	groups, err := armresources.NewResourceGroupsClient(newSub, cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(ctx, "rg-team-a", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	// Deleting the alias keeps the subscription, as in Azure.
	if _, err := aliases.Delete(ctx, "team-a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := aliases.Get(ctx, "team-a", nil); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("deleted alias: %v", err)
	}
	if _, err := subs.Get(ctx, newSub, nil); err != nil {
		t.Fatalf("the subscription went with its alias: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}
