package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/testenv"
)

// activityLogs lists every event matching filter through armmonitor's
// ActivityLogsClient, as cred.
func activityLogs(t *testing.T, env *testenv.Env, cred azcore.TokenCredential, filter string, opts *armmonitor.ActivityLogsClientListOptions) ([]*armmonitor.EventData, int, error) {
	t.Helper()
	client, err := armmonitor.NewActivityLogsClient(env.Creds.SubscriptionID, cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	var out []*armmonitor.EventData
	pages := 0
	for p := client.NewListPager(filter, opts); p.More(); {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return nil, pages, err
		}
		pages++
		out = append(out, page.Value...)
	}
	return out, pages, nil
}

// since is a filter over the last hour, in the form armmonitor's callers
// write it.
func since(start time.Time, more ...string) string {
	f := fmt.Sprintf("eventTimestamp ge '%s' and eventTimestamp le '%s'",
		start.Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	for _, m := range more {
		f += " and " + m
	}
	return f
}

func operations(events []*armmonitor.EventData) []string {
	var out []string
	for _, e := range events {
		out = append(out, *e.OperationName.Value+" "+*e.Status.Value)
	}
	return out
}

// TestActivityLogThroughArmmonitor: control-plane changes and refusals
// are read back through armmonitor's ActivityLogsClient in the Activity
// Log's shape, filtered as Azure filters them, and a Reader of one group
// sees that group's events only; on both stores.
func TestActivityLogThroughArmmonitor(t *testing.T) {
	eachStore(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		start := time.Now()
		sub := env.Creds.SubscriptionID
		admin := env.AdminCredential(t)
		groups, _ := armresources.NewResourceGroupsClient(sub, admin, env.ARMOptions())
		for _, g := range []string{"rg-a", "rg-b"} {
			if _, err := groups.CreateOrUpdate(ctx, g, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
				t.Fatal(err)
			}
		}
		ids, _ := armmsi.NewUserAssignedIdentitiesClient(sub, admin, env.ARMOptions())
		uami, err := ids.CreateOrUpdate(ctx, "rg-a", "id-a", armmsi.Identity{Location: to.Ptr("westus")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rgA := "/subscriptions/" + sub + "/resourceGroups/rg-a"
		reader := newRBACPrincipal(t, env, "reader-a")
		grant(t, env, rgA, readerRoleID, reader.ObjectID)
		readerIDs, _ := armmsi.NewUserAssignedIdentitiesClient(sub, reader.Cred, env.ARMOptions())
		_, err = readerIDs.CreateOrUpdate(ctx, "rg-a", "id-denied", armmsi.Identity{Location: to.Ptr("westus")}, nil)
		wantARMError(t, err, http.StatusForbidden, "AuthorizationFailed")
		// A read is not audited, so it is not in the log.
		if _, err := groups.Get(ctx, "rg-b", nil); err != nil {
			t.Fatal(err)
		}

		all, _, err := activityLogs(t, env, admin, since(start), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantOps := []string{
			"Microsoft.ManagedIdentity/userAssignedIdentities/write Failed",
			"Microsoft.Authorization/roleAssignments/write Succeeded",
			"Microsoft.ManagedIdentity/userAssignedIdentities/write Succeeded",
			"Microsoft.Resources/subscriptions/resourceGroups/write Succeeded",
			"Microsoft.Resources/subscriptions/resourceGroups/write Succeeded",
		}
		if got := operations(all); !slices.Equal(got, wantOps) {
			t.Fatalf("events, newest first:\n got  %q\n want %q", got, wantOps)
		}

		t.Run("a refusal in the Activity Log's shape", func(t *testing.T) {
			e := all[0]
			deniedID := rgA + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-denied"
			checks := []struct{ what, got, want string }{
				{"caller", *e.Caller, reader.ObjectID},
				{"level", string(*e.Level), "Error"},
				{"category", *e.Category.Value, "Administrative"},
				{"eventName", *e.EventName.Value, "EndRequest"},
				{"subStatus", *e.SubStatus.Value, "Forbidden"},
				{"subStatus text", *e.SubStatus.LocalizedValue, "Forbidden (HTTP Status Code: 403)"},
				{"resourceId", *e.ResourceID, deniedID},
				{"resourceGroupName", *e.ResourceGroupName, "rg-a"},
				{"resourceProviderName", *e.ResourceProviderName.Value, "Microsoft.ManagedIdentity"},
				{"resourceType", *e.ResourceType.Value, "Microsoft.ManagedIdentity/userAssignedIdentities"},
				{"authorization.action", *e.Authorization.Action, "Microsoft.ManagedIdentity/userAssignedIdentities/write"},
				{"authorization.scope", *e.Authorization.Scope, deniedID},
				{"subscriptionId", *e.SubscriptionID, sub},
				{"tenantId", *e.TenantID, env.Creds.TenantID},
				{"appid claim", *e.Claims["appid"], reader.AppID},
				{"oid claim", *e.Claims["http://schemas.microsoft.com/identity/claims/objectidentifier"], reader.ObjectID},
				{"httpRequest.method", *e.HTTPRequest.Method, "PUT"},
				{"httpRequest.clientIpAddress", *e.HTTPRequest.ClientIPAddress, "127.0.0.1"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if e.EventTimestamp == nil || e.EventTimestamp.Before(start.Add(-time.Second)) || e.SubmissionTimestamp == nil || e.SubmissionTimestamp.Before(*e.EventTimestamp) {
				t.Errorf("timestamps: event %v, submission %v", e.EventTimestamp, e.SubmissionTimestamp)
			}
			if *e.CorrelationID == "" || *e.EventDataID == "" || *e.OperationID == "" || !strings.HasPrefix(*e.ID, deniedID+"/events/"+*e.EventDataID+"/ticks/") {
				t.Errorf("ids: correlation %q, eventDataId %q, operationId %q, id %q", *e.CorrelationID, *e.EventDataID, *e.OperationID, *e.ID)
			}
			if got := all[4]; *got.SubStatus.Value != "Created" || string(*got.Level) != "Informational" || *got.Caller != env.Creds.ClientID && *got.Claims["appid"] != env.Creds.ClientID {
				t.Errorf("the first group's creation: subStatus %s, level %s, appid %s", *got.SubStatus.Value, *got.Level, *got.Claims["appid"])
			}
		})

		t.Run("filters", func(t *testing.T) {
			tests := []struct {
				name, filter string
				want         []string
			}{
				{"resource group", "resourceGroupName eq 'RG-A'", wantOps[:4]},
				{"a resource and what is below it", "resourceUri eq '" + *uami.ID + "'", wantOps[2:3]},
				{"provider", "resourceProvider eq 'Microsoft.ManagedIdentity'", []string{wantOps[0], wantOps[2]}},
				{"caller", "caller eq '" + reader.ObjectID + "'", wantOps[:1]},
				{"correlation ID", "correlationId eq '" + *all[2].CorrelationID + "'", wantOps[2:3]},
				{"status", "status eq 'Failed'", wantOps[:1]},
				{"combined", "resourceGroupName eq 'rg-a' and resourceProvider eq 'Microsoft.Authorization'", wantOps[1:2]},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, _, err := activityLogs(t, env, admin, since(start, tc.filter), nil)
					if err != nil {
						t.Fatal(err)
					}
					if ops := operations(got); !slices.Equal(ops, tc.want) {
						t.Fatalf("%s:\n got  %q\n want %q", tc.filter, ops, tc.want)
					}
				})
			}
			before, _, err := activityLogs(t, env, admin, fmt.Sprintf("eventTimestamp ge '%s' and eventTimestamp le '%s'",
				start.Add(-time.Hour).UTC().Format(time.RFC3339), start.Add(-time.Minute).UTC().Format(time.RFC3339)), nil)
			if err != nil || len(before) != 0 {
				t.Fatalf("events before the test began: %d, %v", len(before), err)
			}
		})

		t.Run("$select keeps the members named", func(t *testing.T) {
			got, _, err := activityLogs(t, env, admin, since(start), &armmonitor.ActivityLogsClientListOptions{Select: to.Ptr("eventTimestamp, operationName,status")})
			if err != nil {
				t.Fatal(err)
			}
			e := got[0]
			if len(got) != len(all) || e.EventTimestamp == nil || e.OperationName == nil || e.Status == nil ||
				e.Caller != nil || e.Claims != nil || e.ResourceID != nil || e.Authorization != nil {
				t.Fatalf("selected event: %+v", e)
			}
		})

		t.Run("a Reader of one group sees that group's events only", func(t *testing.T) {
			got, _, err := activityLogs(t, env, reader.Cred, since(start), nil)
			if err != nil {
				t.Fatal(err)
			}
			if ops := operations(got); !slices.Equal(ops, wantOps[:4]) {
				t.Fatalf("the Reader of rg-a sees:\n got  %q\n want %q", ops, wantOps[:4])
			}
			for _, e := range got {
				if !strings.EqualFold(*e.ResourceGroupName, "rg-a") {
					t.Fatalf("the Reader of rg-a sees an event of %q", *e.ResourceGroupName)
				}
			}
			other, _, err := activityLogs(t, env, reader.Cred, since(start, "resourceGroupName eq 'rg-b'"), nil)
			if err != nil || len(other) != 0 {
				t.Fatalf("the Reader of rg-a listing rg-b: %d events, %v", len(other), err)
			}
		})

		t.Run("a filter without the start of the time range is refused as ARM refuses it", func(t *testing.T) {
			for _, f := range []string{"resourceGroupName eq 'rg-a'", "eventTimestamp le '2030-01-01T00:00:00Z'", "eventTimestamp ge 'yesterday'", "resourceGroupName ne 'x' and eventTimestamp ge '2020-01-01'"} {
				_, _, err := activityLogs(t, env, admin, f, nil)
				wantARMError(t, err, http.StatusBadRequest, "BadRequest")
			}
		})

		t.Run("many events page through nextLink", func(t *testing.T) {
			// Events written straight to the store, an hour before the
			// test's own, to page through without making 450 requests.
			base := start.Add(-2 * time.Hour)
			var batch []store.ActivityEvent
			for i := range 450 {
				batch = append(batch, store.ActivityEvent{ID: fmt.Sprintf("bulk-%03d", i), Time: base.Add(time.Duration(i) * time.Second),
					SubscriptionID: sub, ResourceGroup: "rg-b", ResourceID: "/subscriptions/" + sub + "/resourceGroups/rg-b",
					ResourceProvider: "Microsoft.Resources", ResourceType: "Microsoft.Resources/subscriptions/resourceGroups",
					Action: "Microsoft.Resources/subscriptions/resourceGroups/write", Status: "Succeeded", HTTPStatus: 200})
			}
			_, err := env.Server.Installation().Store.Update(ctx, func(tx store.Tx) error {
				_, err := tx.AppendActivity(ctx, batch)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			f := fmt.Sprintf("eventTimestamp ge '%s' and eventTimestamp le '%s'", base.UTC().Format(time.RFC3339Nano), base.Add(time.Hour).UTC().Format(time.RFC3339Nano))
			got, pages, err := activityLogs(t, env, admin, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 450 || pages != 3 || *got[0].EventDataID != "bulk-449" || *got[449].EventDataID != "bulk-000" {
				t.Fatalf("paged %d events in %d pages, first %s", len(got), pages, *got[0].EventDataID)
			}
			// The Reader of rg-a sees none of them, and its pages end.
			mine, _, err := activityLogs(t, env, reader.Cred, f, nil)
			if err != nil || len(mine) != 0 {
				t.Fatalf("the Reader of rg-a sees %d of rg-b's events, %v", len(mine), err)
			}
		})
	})
}
