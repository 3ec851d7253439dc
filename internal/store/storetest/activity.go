package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// activityBehaviours pin the activity log: batches of events appended
// without a revision, appends retried without duplicates, newest-first
// pages that resume from a cursor, every filter, retention and the text
// every backend refuses.
var activityBehaviours = []behaviour{
	{"activity/a batch reads back newest first with every field, and bumps no revision", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		older := activityEvent("e-1", t0, rgID)
		newer := activityEvent("e-2", t0.Add(time.Second), rgID+"/providers/"+identityType+"/id1")
		newer.Status, newer.HTTPStatus, newer.ErrorCode, newer.Method = "Failed", 403, "AuthorizationFailed", "DELETE"
		if added := appendActivity(t, s, older, newer); added != 2 {
			t.Fatalf("added %d, want 2", added)
		}
		wantNothingWritten(t, s, before)
		wantEqual(t, "list", listActivity(t, s, store.ActivityFilter{}), []store.ActivityEvent{newer, older})
	}},
	{"activity/an append retried after an ambiguous commit adds nothing twice", func(t *testing.T, s store.Store) {
		e := activityEvent("e-1", t0, rgID)
		appendActivity(t, s, e)
		changed := e
		changed.Status = "Failed"
		if added := appendActivity(t, s, changed, activityEvent("e-2", t0, rgID), activityEvent("e-2", t0, rgID)); added != 1 {
			t.Fatalf("added %d, want 1 (e-1 is stored, e-2 is given twice)", added)
		}
		got := listActivity(t, s, store.ActivityFilter{})
		if len(got) != 2 || got[1].ID != "e-1" || got[1].Status != "Succeeded" {
			t.Fatalf("after the retry: %+v, want e-2 and the first e-1", got)
		}
	}},
	{"activity/a large batch pages newest first from a cursor, ties ordered by ID", func(t *testing.T, s store.Store) {
		// 300 events, three per second: more than one insert statement and
		// several pages, with ties on time.
		var batch []store.ActivityEvent
		for i := range 300 {
			batch = append(batch, activityEvent(fmt.Sprintf("e-%03d", i), t0.Add(time.Duration(i/3)*time.Second), rgID))
		}
		if added := appendActivity(t, s, batch...); added != 300 {
			t.Fatalf("added %d, want 300", added)
		}
		var got []string
		f := store.ActivityFilter{Limit: 70}
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			page := listActivity(t, s, f)
			for _, e := range page {
				got = append(got, e.ID)
			}
			if len(page) < f.Limit {
				break
			}
			last := page[len(page)-1]
			f.After = store.ActivityCursor{Time: last.Time, ID: last.ID}
		}
		if len(got) != 300 {
			t.Fatalf("paged through %d events, want 300", len(got))
		}
		for i, id := range got {
			if want := fmt.Sprintf("e-%03d", 299-i); id != want {
				t.Fatalf("event %d is %s, want %s", i, id, want)
			}
		}
		if n := len(listActivity(t, s, store.ActivityFilter{})); n != 300 {
			t.Fatalf("a list without a limit returned %d", n)
		}
	}},
	{"activity/filters match case-insensitively and combine", func(t *testing.T, s store.Store) {
		const otherSub = "9c1a4e34-0a4f-4d3b-8a53-0d1c9e5a1f00"
		id1 := rgID + "/providers/" + identityType + "/id1"
		id10 := rgID + "/providers/" + identityType + "/id10"
		fic := id1 + "/federatedIdentityCredentials/gh"
		group := activityEvent("group", t0, rgID)
		identity := activityEvent("identity", t0.Add(time.Second), id1)
		identity.ResourceProvider, identity.ResourceType = "Microsoft.ManagedIdentity", identityType
		child := activityEvent("child", t0.Add(2*time.Second), fic)
		child.ResourceProvider, child.ResourceType = "Microsoft.ManagedIdentity", identityType+"/federatedIdentityCredentials"
		sibling := activityEvent("sibling", t0.Add(3*time.Second), id10)
		sibling.ResourceProvider = "Microsoft.ManagedIdentity"
		sibling.CorrelationID = "Corr-2"
		sibling.CallerObjectID, sibling.CallerAppID = "oid-2", "app-2"
		sibling.Status = "Failed"
		elsewhere := activityEvent("elsewhere", t0.Add(4*time.Second), "/subscriptions/"+otherSub+"/resourceGroups/Rg-One")
		elsewhere.SubscriptionID = otherSub
		root := activityEvent("root", t0.Add(5*time.Second), "/providers/Microsoft.Authorization/roleDefinitions/r1")
		root.SubscriptionID, root.ResourceGroup = "", ""
		appendActivity(t, s, group, identity, child, sibling, elsewhere, root)

		tests := []struct {
			name string
			f    store.ActivityFilter
			want []string
		}{
			{"everything", store.ActivityFilter{}, []string{"root", "elsewhere", "sibling", "child", "identity", "group"}},
			{"subscription, in other casing", store.ActivityFilter{SubscriptionID: "0B1F6471-1BF0-4DDA-AEC3-CB9272F09590"}, []string{"sibling", "child", "identity", "group"}},
			{"time range, both ends inclusive", store.ActivityFilter{From: t0.Add(time.Second), To: t0.Add(3 * time.Second)}, []string{"sibling", "child", "identity"}},
			{"only a start", store.ActivityFilter{From: t0.Add(4 * time.Second)}, []string{"root", "elsewhere"}},
			{"resource group of one subscription", store.ActivityFilter{SubscriptionID: subID, ResourceGroup: "RG-ONE"}, []string{"sibling", "child", "identity", "group"}},
			{"resource group across subscriptions", store.ActivityFilter{ResourceGroup: "rg-one"}, []string{"elsewhere", "sibling", "child", "identity", "group"}},
			{"a resource and what is below it, not its namesakes", store.ActivityFilter{ResourceID: lowerASCII(id1)}, []string{"child", "identity"}},
			{"a resource ID with a trailing slash", store.ActivityFilter{ResourceID: id1 + "/"}, []string{"child", "identity"}},
			{"provider", store.ActivityFilter{ResourceProvider: "microsoft.managedidentity"}, []string{"sibling", "child", "identity"}},
			{"correlation ID", store.ActivityFilter{CorrelationID: "corr-2"}, []string{"sibling"}},
			{"caller by object ID", store.ActivityFilter{Caller: "OID-2"}, []string{"sibling"}},
			{"caller by application ID", store.ActivityFilter{Caller: "app-2"}, []string{"sibling"}},
			{"status", store.ActivityFilter{Status: "failed"}, []string{"sibling"}},
			{"combined", store.ActivityFilter{SubscriptionID: subID, ResourceProvider: "Microsoft.ManagedIdentity", Caller: "oid-1", From: t0.Add(2 * time.Second)}, []string{"child"}},
			{"no match", store.ActivityFilter{CorrelationID: "none"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				for _, e := range listActivity(t, s, tc.f) {
					got = append(got, e.ID)
				}
				wantEqual(t, "events", got, tc.want)
			})
		}
	}},
	{"activity/compaction deletes events older than the retention, and bumps no revision", func(t *testing.T, s store.Store) {
		appendActivity(t, s, activityEvent("old", t0, rgID), activityEvent("edge", t0.Add(time.Hour), rgID), activityEvent("new", t0.Add(2*time.Hour), rgID))
		before := revision(t, s)
		var n int
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			n, err = tx.CompactActivity(ctx, t0.Add(time.Hour))
			return err
		})
		if n != 1 {
			t.Fatalf("compacted %d, want 1", n)
		}
		wantNothingWritten(t, s, before)
		got := listActivity(t, s, store.ActivityFilter{})
		if len(got) != 2 || got[0].ID != "new" || got[1].ID != "edge" {
			t.Fatalf("after compaction: %+v", got)
		}
	}},
	{"activity/a NUL in a text field is refused with ErrInvalidText and nothing is written", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		bad := activityEvent("bad", t0, rgID+"/providers/x/y/a\x00b")
		_, err := s.Update(ctx, func(tx store.Tx) error {
			_, err := tx.AppendActivity(ctx, []store.ActivityEvent{activityEvent("good", t0, rgID), bad})
			return err
		})
		wantErr(t, "append", err, store.ErrInvalidText)
		if got := listActivity(t, s, store.ActivityFilter{}); len(got) != 0 {
			t.Fatalf("the batch was partly written: %+v", got)
		}
		err = s.View(ctx, func(tx store.Tx) error {
			_, err := tx.ListActivity(ctx, store.ActivityFilter{Caller: "a\x00"})
			return err
		})
		wantErr(t, "list", err, store.ErrInvalidText)
	}},
	{"activity/writes are refused inside View, and events need an ID and a time", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.AppendActivity(ctx, []store.ActivityEvent{activityEvent("e", t0, rgID)})
			return err
		})
		wantErr(t, "append in View", err, store.ErrReadOnly)
		err = s.View(ctx, func(tx store.Tx) error {
			_, err := tx.CompactActivity(ctx, t0)
			return err
		})
		wantErr(t, "compact in View", err, store.ErrReadOnly)
		for _, e := range []store.ActivityEvent{activityEvent("", t0, rgID), activityEvent("e", time.Time{}, rgID)} {
			_, err := s.Update(ctx, func(tx store.Tx) error {
				_, err := tx.AppendActivity(ctx, []store.ActivityEvent{e})
				return err
			})
			if err == nil {
				t.Fatalf("appended %+v", e)
			}
		}
	}},
}

// activityEvent is a successful write at resourceID in the fixture group.
func activityEvent(id string, at time.Time, resourceID string) store.ActivityEvent {
	return store.ActivityEvent{
		ID:               id,
		Time:             at,
		SubmittedAt:      at.Add(time.Second),
		SubscriptionID:   subID,
		ResourceGroup:    "Rg-One",
		ResourceID:       resourceID,
		ResourceProvider: "Microsoft.Resources",
		ResourceType:     "Microsoft.Resources/subscriptions/resourceGroups",
		Action:           "Microsoft.Resources/subscriptions/resourceGroups/write",
		Scope:            resourceID,
		Method:           "PUT",
		Status:           "Succeeded",
		HTTPStatus:       201,
		CorrelationID:    "Corr-1",
		RequestID:        "req-" + id,
		ClientRequestID:  "client-" + id,
		ClientAddress:    "127.0.0.1",
		CallerObjectID:   "oid-1",
		CallerAppID:      "app-1",
		CallerTenantID:   "tenant-1",
	}
}

// appendActivity appends a batch in one Update and returns how many were added.
func appendActivity(t *testing.T, s store.Store, events ...store.ActivityEvent) int {
	t.Helper()
	var added int
	update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		added, err = tx.AppendActivity(ctx, events)
		return err
	})
	return added
}

func listActivity(t *testing.T, s store.Store, f store.ActivityFilter) []store.ActivityEvent {
	t.Helper()
	var out []store.ActivityEvent
	view(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.ListActivity(ctx, f)
		return err
	})
	return out
}
