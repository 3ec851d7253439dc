package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
)

// TestKeyVaultSecretReadByManagedIdentityThroughKeylessRun is the story
// issue 15 asks for, with unchanged clients on both stores: a gateway's
// user-assigned identity is created and granted Key Vault Secrets User on
// a vault before the gateway exists (pre-authorization); the gateway is
// created with it attached, runs under `keyless run` and reads its
// certificate with ManagedIdentityCredential and azsecrets with default
// options. The same program is refused with 403 naming the data action
// before the grant, and after the identity is detached even though it
// still holds a token.
func TestKeyVaultSecretReadByManagedIdentityThroughKeylessRun(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			opts := testenv.Options{}
			if backend == "postgres" {
				opts.StoreDSN = pgtest.DSN(t)
			}
			testKeyVaultStory(t, testenv.Start(t, opts))
		})
	}
}

func testKeyVaultStory(t *testing.T, env *testenv.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub := env.Creds.SubscriptionID
	admin := env.AdminCredential(t)
	ensureGroup(t, env, "rg-gw")
	vaultID, vaultURI := createVault(t, env, "rg-gw", "kv-gateway", map[string]any{"enableRbacAuthorization": true})

	// An operator with Key Vault Secrets Officer stores the certificate.
	officer := newRBACPrincipal(t, env, "kv-officer")
	grant(t, env, vaultID, roleKeyVaultSecretsOfficer, officer.ObjectID)
	const certPEM = "-----BEGIN CERTIFICATE-----\nMIIB...gateway\n-----END CERTIFICATE-----\n"
	if _, err := secretsClient(t, env, vaultURI, officer.Cred).SetSecret(ctx, "gateway-cert",
		azsecrets.SetSecretParameters{Value: to.Ptr(certPEM), ContentType: to.Ptr("application/x-pem-file")}, nil); err != nil {
		t.Fatal(err)
	}

	// The identity first, granted nothing yet.
	ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, admin, env.ARMOptions())
	made, err := ids.CreateOrUpdate(ctx, "rg-gw", "id-gateway", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	uami := made.Identity
	resources, _ := armresources.NewClient(sub, admin, env.ARMOptions())
	putSite := func(name string, attach bool) string {
		t.Helper()
		id := "/subscriptions/" + sub + "/resourceGroups/rg-gw/providers/Microsoft.Web/sites/" + name
		res := armresources.GenericResource{Location: to.Ptr("westus"), Properties: map[string]any{}}
		if attach {
			res.Identity = &armresources.Identity{Type: to.Ptr(armresources.ResourceIdentityTypeUserAssigned),
				UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{*uami.ID: {}}}
		}
		poller, err := resources.BeginCreateOrUpdateByID(ctx, id, "2022-03-01", res, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := poller.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Before the grant: the program, run as the gateway, is refused with
	// the data action named.
	gateway := putSite("gateway", true)
	program := startProgram(t, env, vaultURI, gateway)
	program.want(t, "gateway-cert", "err 403 Forbidden", "Microsoft.KeyVault/vaults/secrets/getSecret/action")

	// The grant takes effect on the running program's next request.
	grant(t, env, vaultID, roleKeyVaultSecretsUser, *uami.Properties.PrincipalID)
	program.want(t, "gateway-cert", "ok "+strconv.Quote(certPEM))

	// Pre-authorization: a resource created after the grant with the
	// identity attached reads at its first start.
	second := startProgram(t, env, vaultURI, putSite("gateway-2", true))
	second.want(t, "gateway-cert", "ok "+strconv.Quote(certPEM))

	// Detached: the program still holds a valid token for the identity,
	// and is refused all the same.
	putSite("gateway", false)
	program.want(t, "gateway-cert", "err 403 Forbidden", "Microsoft.KeyVault/vaults/secrets/getSecret/action", "no longer holds")
	second.want(t, "gateway-cert", "ok "+strconv.Quote(certPEM))
}
