package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
)

// TestListPlansSeek pins SQLite's plans for the lists that must read no
// more than a page at any size: each is a search of an index in the
// order of the page, bounded where the filter allows, never a scan or a
// sort of every matching row.
func TestListPlansSeek(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const sub = "0B1C2D3E-4f50-6172-8394-a5b6c7d8e9f0"
	for _, tc := range []struct {
		name string
		f    store.ResourceFilter
		want string
	}{
		{"one type across a subscription", store.ResourceFilter{SubscriptionID: sub, Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Limit: 100},
			"USING INDEX resources_type (type_lower=? AND id_lower>? AND id_lower<?)"},
		{"the next page of it", store.ResourceFilter{SubscriptionID: sub, Type: "Microsoft.ManagedIdentity/userAssignedIdentities", After: "/subscriptions/x", Limit: 100},
			"USING INDEX resources_type (type_lower=? AND id_lower>? AND id_lower<?)"},
		{"one type in a group", store.ResourceFilter{SubscriptionID: sub, ResourceGroup: "RG1", Type: "Microsoft.Web/sites", Limit: 100},
			"(type_lower=? AND id_lower>? AND id_lower<?)"},
		{"everything in a group", store.ResourceFilter{SubscriptionID: sub, ResourceGroup: "RG1", Limit: 100},
			"USING INDEX resources_group (subscription_lower=? AND resource_group_lower=?"},
	} {
		q, args := resourcesPage(tc.f)
		rows, err := s.reader.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, tc.want) || strings.Contains(got, "TEMP B-TREE") || strings.HasPrefix(got, "SCAN") {
			t.Errorf("%s: plan %q, want a search %q without a sort", tc.name, got, tc.want)
		}
	}
}
