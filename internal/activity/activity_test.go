package activity_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/activity"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

const sub = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"

func TestLocate(t *testing.T) {
	rg := "/subscriptions/" + sub + "/resourceGroups/rg1"
	uami := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	tests := []struct {
		name, method, path string
		want               activity.Location
	}{
		{"a resource group", "PUT", rg, activity.Location{sub, "rg1", rg, "Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups"}},
		{"the group in lower case, with empty segments", "DELETE", "//subscriptions/" + sub + "/resourcegroups/rg1/", activity.Location{sub, "rg1", "/subscriptions/" + sub + "/resourcegroups/rg1", "Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups"}},
		{"a subscription", "PATCH", "/subscriptions/" + sub, activity.Location{sub, "", "/subscriptions/" + sub, "Microsoft.Resources", "Microsoft.Resources/subscriptions"}},
		{"a user-assigned identity", "PUT", uami, activity.Location{sub, "rg1", uami, "Microsoft.ManagedIdentity", "Microsoft.ManagedIdentity/userAssignedIdentities"}},
		{"a child resource", "PUT", uami + "/federatedIdentityCredentials/gh", activity.Location{sub, "rg1", uami + "/federatedIdentityCredentials/gh", "Microsoft.ManagedIdentity", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"}},
		{"an extension resource is its own provider's", "PUT", uami + "/providers/Microsoft.Authorization/roleAssignments/a1", activity.Location{sub, "rg1", uami + "/providers/Microsoft.Authorization/roleAssignments/a1", "Microsoft.Authorization", "Microsoft.Authorization/roleAssignments"}},
		{"a POST names an action on the resource before it", "POST", rg + "/providers/Microsoft.Resources/deployments/d1/validate", activity.Location{sub, "rg1", rg + "/providers/Microsoft.Resources/deployments/d1", "Microsoft.Resources", "Microsoft.Resources/deployments"}},
		{"a role definition at the root", "PUT", "/providers/Microsoft.Authorization/roleDefinitions/r1", activity.Location{"", "", "/providers/Microsoft.Authorization/roleDefinitions/r1", "Microsoft.Authorization", "Microsoft.Authorization/roleDefinitions"}},
		{"a management group", "PUT", "/providers/Microsoft.Management/managementGroups/mg1", activity.Location{"", "", "/providers/Microsoft.Management/managementGroups/mg1", "Microsoft.Management", "Microsoft.Management/managementGroups"}},
		{"the root", "GET", "/", activity.Location{ResourceID: "/"}},
		{"a path ending in providers", "PUT", rg + "/providers", activity.Location{sub, "rg1", rg + "/providers", "Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := activity.Locate(tc.method, tc.path); got != tc.want {
				t.Fatalf("Locate(%s %s)\n got  %+v\n want %+v", tc.method, tc.path, got, tc.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[int]string{200: "Succeeded", 201: "Succeeded", 204: "Succeeded", 202: "Started", 400: "Failed", 403: "Failed", 409: "Failed", 500: "Failed"} {
		if got := activity.StatusOf(code); got != want {
			t.Errorf("StatusOf(%d) = %s, want %s", code, got, want)
		}
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func event(id string, at time.Time) store.ActivityEvent {
	return store.ActivityEvent{ID: id, Time: at, SubscriptionID: sub, ResourceID: "/subscriptions/" + sub,
		Action: "Microsoft.Resources/subscriptions/resourceGroups/write", Status: "Succeeded", HTTPStatus: 201}
}

func list(t *testing.T, s store.Store) []store.ActivityEvent {
	t.Helper()
	var out []store.ActivityEvent
	err := s.View(t.Context(), func(tx store.Tx) (err error) {
		out, err = tx.ListActivity(t.Context(), store.ActivityFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func TestRecordWritesNothingUntilAFlush(t *testing.T) {
	s := openStore(t)
	l := &activity.Log{Store: s, Now: func() time.Time { return t0.Add(time.Minute) }}
	l.Record(event("e1", t0))
	l.Record(event("e2", t0.Add(time.Second)))
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("recorded events reached the store before a flush: %+v", got)
	}
	rev, _ := s.Revision(t.Context())
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := list(t, s)
	if len(got) != 2 || got[0].ID != "e2" || !got[0].SubmittedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after the flush: %+v", got)
	}
	if after, _ := s.Revision(t.Context()); after != rev {
		t.Fatalf("a flush moved the revision from %d to %d", rev, after)
	}
	if l.Buffered() != 0 {
		t.Fatalf("%d events still buffered", l.Buffered())
	}
	// Nothing to write: no transaction.
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// failingStore refuses the next n Updates, as a store that is down does.
type failingStore struct {
	store.Store
	failures atomic.Int32
}

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	if f.failures.Add(-1) >= 0 {
		return 0, errors.New("store unavailable")
	}
	return f.Store.Update(ctx, fn)
}

func TestAFailedFlushKeepsTheEventsForTheNext(t *testing.T) {
	s := &failingStore{Store: openStore(t)}
	s.failures.Store(1)
	l := &activity.Log{Store: s}
	l.Record(event("e1", t0))
	if err := l.Flush(t.Context()); err == nil {
		t.Fatal("the flush to a failing store reported no error")
	}
	l.Record(event("e2", t0.Add(time.Second)))
	if l.Buffered() != 2 {
		t.Fatalf("%d buffered after the failure, want 2", l.Buffered())
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := list(t, s); len(got) != 2 {
		t.Fatalf("after the retry: %+v", got)
	}
}

func TestTheBufferIsBoundedAndDropsTheOldest(t *testing.T) {
	s := &failingStore{Store: openStore(t)}
	s.failures.Store(1)
	l := &activity.Log{Store: s, MaxBuffered: 3}
	for i := range 5 {
		l.Record(event(fmt.Sprintf("e%d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	if l.Buffered() != 3 {
		t.Fatalf("%d buffered, want the bound 3", l.Buffered())
	}
	_ = l.Flush(t.Context())
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range list(t, s) {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "e4,e3,e2" {
		t.Fatalf("kept %v, want the newest three", ids)
	}
}

func TestTextNoStoreCanKeepIsReplacedNotRefused(t *testing.T) {
	s := openStore(t)
	l := &activity.Log{Store: s}
	odd := event("e1", t0)
	odd.ResourceID = "/subscriptions/" + sub + "/resourceGroups/a\x00b\xffc"
	odd.ClientRequestID = strings.Repeat("x", 10_000)
	l.Record(odd)
	l.Record(event("e2", t0))
	if err := l.Flush(t.Context()); err != nil {
		t.Fatalf("one odd event failed the batch: %v", err)
	}
	got := list(t, s)
	if len(got) != 2 {
		t.Fatalf("stored %d events, want 2", len(got))
	}
	for _, e := range got {
		if e.ID == "e1" && (e.ResourceID != "/subscriptions/"+sub+"/resourceGroups/a\uFFFDb\uFFFDc" || len(e.ClientRequestID) > 2048) {
			t.Fatalf("odd event stored as %q, client request ID of %d bytes", e.ResourceID, len(e.ClientRequestID))
		}
	}
}

func TestCompactDeletesEventsOlderThanTheRetention(t *testing.T) {
	s := openStore(t)
	now := t0.Add(100 * 24 * time.Hour)
	l := &activity.Log{Store: s, Now: func() time.Time { return now }}
	l.Record(event("old", now.Add(-91*24*time.Hour)))
	l.Record(event("recent", now.Add(-89*24*time.Hour)))
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := l.Compact(t.Context(), 0)
	if err != nil || n != 1 {
		t.Fatalf("Compact with the default retention: %d %v, want 1", n, err)
	}
	if got := list(t, s); len(got) != 1 || got[0].ID != "recent" {
		t.Fatalf("after compaction: %+v", got)
	}
}

func TestRunFlushesEveryInterval(t *testing.T) {
	s := openStore(t)
	l := &activity.Log{Store: s, Interval: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	l.Record(event("e1", t0))
	deadline := time.Now().Add(5 * time.Second)
	for len(list(t, s)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
