package workload_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workload/workloadtest"
)

func openStore(t *testing.T) workloadtest.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return workloadtest.Store{St: st}
}

func resolve(t *testing.T, ws workloadtest.Store, resourceID string, sel workload.Selector) (workload.Identity, error) {
	t.Helper()
	var id workload.Identity
	err := ws.St.View(context.Background(), func(tx store.Tx) error {
		var err error
		id, err = workload.Resolve(context.Background(), tx, resourceID, sel)
		return err
	})
	return id, err
}

func TestResolveSelectionRules(t *testing.T) {
	ws := openStore(t)
	u1 := ws.UAMI(t, "rg1", "id1")
	u2 := ws.UAMI(t, "rg1", "id2")
	stranger := ws.UAMI(t, "rg1", "stranger")
	both := ws.Compute(t, "rg1", "Microsoft.Web/sites", "both", true, u1, u2)
	oneUser := ws.Compute(t, "rg1", "Microsoft.Web/sites", "oneuser", false, u1)
	twoUsers := ws.Compute(t, "rg1", "Microsoft.Web/sites", "twousers", false, u1, u2)
	none := ws.Compute(t, "rg1", "Microsoft.Web/sites", "none", false)

	cases := []struct {
		name     string
		resource string
		sel      workload.Selector
		wantOID  string
		wantCode workload.Code
	}{
		{"no selector picks system-assigned when enabled", both.ID, workload.Selector{}, both.System.ObjectID, ""},
		{"no selector picks the only user-assigned identity", oneUser.ID, workload.Selector{}, u1.ObjectID, ""},
		{"no selector with two user-assigned identities is ambiguous", twoUsers.ID, workload.Selector{}, "", workload.CodeAmbiguousIdentity},
		{"no selector and no identity is not found", none.ID, workload.Selector{}, "", workload.CodeIdentityNotFound},
		{"client_id of an attached identity", both.ID, workload.Selector{Kind: workload.SelectClientID, Value: u2.ClientID}, u2.ObjectID, ""},
		{"client_id compares case-insensitively", both.ID, workload.Selector{Kind: workload.SelectClientID, Value: strings.ToUpper(u2.ClientID)}, u2.ObjectID, ""},
		{"object_id of an attached identity", both.ID, workload.Selector{Kind: workload.SelectObjectID, Value: u1.ObjectID}, u1.ObjectID, ""},
		{"client_id of the system-assigned identity", both.ID, workload.Selector{Kind: workload.SelectClientID, Value: both.System.ClientID}, both.System.ObjectID, ""},
		{"resource ID with other casing", both.ID, workload.Selector{Kind: workload.SelectResourceID, Value: strings.Replace(u1.ResourceID, "resourceGroups", "resourcegroups", 1)}, u1.ObjectID, ""},
		{"client_id of an identity not attached here", both.ID, workload.Selector{Kind: workload.SelectClientID, Value: stranger.ClientID}, "", workload.CodeIdentityNotFound},
		{"object_id of an identity not attached here", both.ID, workload.Selector{Kind: workload.SelectObjectID, Value: stranger.ObjectID}, "", workload.CodeIdentityNotFound},
		{"resource ID of an identity not attached here", both.ID, workload.Selector{Kind: workload.SelectResourceID, Value: stranger.ResourceID}, "", workload.CodeIdentityNotFound},
		{"system-assigned of another resource", oneUser.ID, workload.Selector{Kind: workload.SelectObjectID, Value: both.System.ObjectID}, "", workload.CodeIdentityNotFound},
		{"unknown client_id", both.ID, workload.Selector{Kind: workload.SelectClientID, Value: "00000000-0000-0000-0000-000000000000"}, "", workload.CodeIdentityNotFound},
		{"unknown resource", both.ID + "x", workload.Selector{}, "", workload.CodeResourceNotFound},
		{"a user-assigned identity is not its own system identity", u1.ResourceID, workload.Selector{}, "", workload.CodeIdentityNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := resolve(t, ws, tc.resource, tc.sel)
			if tc.wantCode != "" {
				if workload.CodeOf(err) != tc.wantCode {
					t.Fatalf("err = %v (code %q), want code %q", err, workload.CodeOf(err), tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.ObjectID != tc.wantOID {
				t.Fatalf("selected %s, want %s", id.ObjectID, tc.wantOID)
			}
		})
	}
}

func TestResolveSeesDetachAtOnce(t *testing.T) {
	ws := openStore(t)
	u1 := ws.UAMI(t, "rg1", "id1")
	r := ws.Compute(t, "rg1", "Microsoft.Compute/virtualMachines", "vm1", true, u1)
	sel := workload.Selector{Kind: workload.SelectClientID, Value: u1.ClientID}
	if _, err := resolve(t, ws, r.ID, sel); err != nil {
		t.Fatal(err)
	}
	ws.Detach(t, r.ID, u1.ResourceID)
	if _, err := resolve(t, ws, r.ID, sel); !errorsIs(err, workload.ErrIdentityNotFound) {
		t.Fatalf("after detach: %v", err)
	}
	ws.DisableSystem(t, r.ID)
	if _, err := resolve(t, ws, r.ID, workload.Selector{}); !errorsIs(err, workload.ErrIdentityNotFound) {
		t.Fatalf("after disabling system-assigned: %v", err)
	}
	ws.Delete(t, r.ID)
	if _, err := resolve(t, ws, r.ID, workload.Selector{}); !errorsIs(err, workload.ErrResourceNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestParseSelector(t *testing.T) {
	cases := []struct {
		query   string
		want    workload.Selector
		wantErr bool
	}{
		{"resource=x", workload.Selector{}, false},
		{"client_id=abc", workload.Selector{Kind: workload.SelectClientID, Value: "abc"}, false},
		{"object_id=abc", workload.Selector{Kind: workload.SelectObjectID, Value: "abc"}, false},
		{"principal_id=abc", workload.Selector{Kind: workload.SelectObjectID, Value: "abc"}, false},
		{"mi_res_id=%2Fa", workload.Selector{Kind: workload.SelectResourceID, Value: "/a"}, false},
		{"msi_res_id=%2Fa", workload.Selector{Kind: workload.SelectResourceID, Value: "/a"}, false},
		{"client_id=a&object_id=b", workload.Selector{}, true},
		{"client_id=a&client_id=b", workload.Selector{}, true},
		{"client_id=", workload.Selector{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := workload.ParseSelector(q)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseSelector(%q) = %+v, %v", tc.query, got, err)
			}
		})
	}
}

func errorsIs(err, target error) bool {
	return err != nil && workload.CodeOf(err) == workload.CodeOf(target)
}
