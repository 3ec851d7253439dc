package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/testenv"
)

func TestFederatedCredentialLimitIsASetting(t *testing.T) {
	tests := []struct {
		name    string
		setting int
		allowed int // how many are created before one is refused; -1: none refused
		try     int
	}{
		{"Azure's default of 20", 0, 20, 21},
		{"a lower limit", 2, 2, 3},
		{"no limit", -1, -1, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{FederatedCredentialLimit: tc.setting})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cred, sub := env.AdminCredential(t), env.Creds.SubscriptionID
			groups, _ := armresources.NewResourceGroupsClient(sub, cred, env.ARMOptions())
			if _, err := groups.CreateOrUpdate(ctx, "rg", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
				t.Fatal(err)
			}
			ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, cred, env.ARMOptions())
			if _, err := ids.CreateOrUpdate(ctx, "rg", "id1", armmsi.Identity{Location: to.Ptr("westus")}, nil); err != nil {
				t.Fatal(err)
			}
			fics, _ := armmsi.NewFederatedIdentityCredentialsClient(sub, cred, env.ARMOptions())
			for i := 1; i <= tc.try; i++ {
				_, err := fics.CreateOrUpdate(ctx, "rg", "id1", fmt.Sprintf("fic%d", i), armmsi.FederatedIdentityCredential{
					Properties: &armmsi.FederatedIdentityCredentialProperties{
						Issuer: to.Ptr("https://issuer.example"), Subject: to.Ptr(fmt.Sprintf("sub-%d", i)),
						Audiences: []*string{to.Ptr("api://AzureADTokenExchange")},
					}}, nil)
				switch {
				case tc.allowed >= 0 && i > tc.allowed:
					if !isStatus(err, http.StatusBadRequest) {
						t.Fatalf("credential %d past the limit: %v", i, err)
					}
				case err != nil:
					t.Fatalf("credential %d: %v", i, err)
				}
			}
		})
	}
}
