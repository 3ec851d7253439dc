package e2e

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
)

const readerRoleID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

// twoReplicas starts two servers sharing one PostgreSQL schema, one master
// key and one public URL, as replicas behind a load balancer do.
func twoReplicas(t testing.TB) (a, b *testenv.Env) {
	dsn := pgtest.DSN(t)
	master := keyring.EncodeKey(keyring.Generate())
	a = testenv.Start(t, testenv.Options{StoreDSN: dsn, MasterKey: master})
	b = testenv.Start(t, testenv.Options{StoreDSN: dsn, MasterKey: master, PublicURL: a.Server.BaseURL()})
	b.Creds = a.Creds
	return a, b
}

// grantReader stores a Reader assignment on replica a's store.
func grantReader(t testing.TB, a *testenv.Env, principalID, scope string) string {
	name := uuid.NewString()
	_, err := a.Server.Installation().Store.Update(context.Background(), func(tx store.Tx) error {
		return tx.CreateRoleAssignment(context.Background(), store.RoleAssignment{Name: name, Scope: scope,
			RoleDefinitionID: readerRoleID, PrincipalID: principalID, PrincipalType: "ServicePrincipal"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func TestTwoReplicasFollowEachOther(t *testing.T) {
	a, b := twoReplicas(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst := a.Server.Installation()
	created, err := directory.CreateServicePrincipal(ctx, inst.Store, inst.Keyring, directory.NewServicePrincipal{DisplayName: "reader"})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := armresources.NewResourceGroupsClient(a.Creds.SubscriptionID, a.AdminCredential(t), a.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(ctx, "rg-shared", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + a.Creds.SubscriptionID + "/resourceGroups/rg-shared"
	grantReader(t, a, created.Principal.ObjectID, scope)

	// Through replica b only: the principal authenticates (b's directory
	// followed a's write) and reads the group (b's RBAC engine did too).
	opts := viaReplica(a, b)
	cred := secretCredential(t, a.Creds.TenantID, created.Principal.AppID, created.Secret, opts)
	onB, err := armresources.NewResourceGroupsClient(a.Creds.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = onB.Get(ctx, "rg-shared", nil)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("replica b never allowed the read: %v", err)
	}

	// Deleting the principal on a stops its tokens on b.
	if _, err := inst.Store.Update(ctx, func(tx store.Tx) error {
		return directory.DeletePrincipal(ctx, tx, created.Principal.ObjectID)
	}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err = secretCredential(t, a.Creds.TenantID, created.Principal.AppID, created.Secret, opts).GetToken(ctx,
			policy.TokenRequestOptions{Scopes: []string{"api://replica-" + uuid.NewString() + "/.default"}})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("replica b still issues tokens to a deleted principal: %v", err)
	}
}

// viaReplica are client options for the installation's public URL whose
// connections all land on replica target, as a load balancer would send
// them.
func viaReplica(public, target *testenv.Env) policy.ClientOptions {
	addr := strings.TrimPrefix(target.URL, "https://")
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: public.CAPool, ServerName: "127.0.0.1"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	return policy.ClientOptions{Cloud: public.Cloud(), Transport: &http.Client{Transport: tr}}
}

func secretCredential(t *testing.T, tenant, clientID, secret string, opts policy.ClientOptions) *azidentity.ClientSecretCredential {
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// BenchmarkReplicaVisibility measures the time from a role-assignment
// commit on replica a to the decision changing on replica b (PostgreSQL
// NOTIFY, change feed, engine update).
func BenchmarkReplicaVisibility(b *testing.B) {
	ra, rb := twoReplicas(b)
	sub := ra.Creds.SubscriptionID
	var total, worst time.Duration
	for i := 0; b.Loop(); i++ {
		principal := uuid.NewString()
		scope := "/subscriptions/" + sub + "/resourceGroups/rg-" + principal[:8]
		start := time.Now()
		grantReader(b, ra, principal, scope)
		for !rb.Server.Engine().Allowed(principal, "Microsoft.Resources/subscriptions/resourceGroups/read", scope) {
			if time.Since(start) > 10*time.Second {
				b.Fatal("never visible on replica b")
			}
			time.Sleep(100 * time.Microsecond)
		}
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-mean")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
}
