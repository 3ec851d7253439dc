package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/keyless-io/keyless/internal/store/pgtest"
)

// TestKill9LosesNoAcknowledgedWrite: writers create identities through
// armmsi as fast as they can, the server is killed with SIGKILL in the
// middle of it, and after a restart every identity whose create was
// acknowledged is there with the principal it was acknowledged with,
// on both stores.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name  string
		extra func(t *testing.T) []string
	}{
		{"sqlite", func(*testing.T) []string { return nil }},
		{"postgres", func(t *testing.T) []string { return []string{"--store", pgtest.DSN(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			extra := tc.extra(t)
			cmd, creds, logs := startServer(t, bin, dataDir, extra...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			groups, identities := armClients(t, creds)
			if _, err := groups.CreateOrUpdate(ctx, "rg-durable", armresources.ResourceGroup{Location: ptr("westus")}, nil); err != nil {
				t.Fatal(err)
			}
			type acked struct{ principalID, clientID string }
			var (
				mu    sync.Mutex
				done  = map[string]acked{}
				wg    sync.WaitGroup
				stop  = make(chan struct{})
				first = make(chan struct{}, 1)
			)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						name := fmt.Sprintf("id-%d-%d", w, i)
						r, err := identities.CreateOrUpdate(ctx, "rg-durable", name, armmsi.Identity{Location: ptr("westus")}, nil)
						if err != nil {
							return // the server is gone
						}
						mu.Lock()
						done[name] = acked{*r.Properties.PrincipalID, *r.Properties.ClientID}
						n := len(done)
						mu.Unlock()
						if n == 200 {
							first <- struct{}{}
						}
					}
				}()
			}
			select {
			case <-first:
			case <-ctx.Done():
				t.Fatalf("fewer than 200 creates acknowledged; logs:\n%s", logs.String())
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			close(stop)
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()

			_, again, _ := startServer(t, bin, dataDir, extra...)
			_, identities = armClients(t, again)
			for name, want := range done {
				r, err := identities.Get(ctx, "rg-durable", name, nil)
				if err != nil {
					t.Errorf("%s was acknowledged before the kill and is gone: %v", name, err)
					continue
				}
				if *r.Properties.PrincipalID != want.principalID || *r.Properties.ClientID != want.clientID {
					t.Errorf("%s: principal %s / client %s after the kill, %s / %s acknowledged", name,
						*r.Properties.PrincipalID, *r.Properties.ClientID, want.principalID, want.clientID)
				}
			}
			t.Logf("%d acknowledged creates, all there after SIGKILL and restart", len(done))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// armClients are the resource group and identity clients a user's Go
// program makes from the credentials file.
func armClients(t *testing.T, c credentialsFile) (*armresources.ResourceGroupsClient, *armmsi.UserAssignedIdentitiesClient) {
	t.Helper()
	transport := trustingCA(t, c)
	cfg := cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityHost, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: c.ResourceManagerEndpoint, Audience: c.ResourceManagerAudience},
	}}
	opts := policy.ClientOptions{Cloud: cfg, Transport: transport, Retry: policy.RetryOptions{MaxRetries: -1}}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: opts, DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := armresources.NewResourceGroupsClient(c.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	identities, err := armmsi.NewUserAssignedIdentitiesClient(c.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	return groups, identities
}
