package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Deployment scopes of every kind ARM deploys at, in mixed case.
const (
	subScope    = "/subscriptions/" + subID
	mgScope     = "/providers/Microsoft.Management/managementGroups/Contoso-Prod"
	tenantScope = "/"
)

func deployment(scope, name, state string) store.Deployment {
	return store.Deployment{
		Scope:         scope,
		Name:          name,
		State:         state,
		Document:      []byte(`{"properties": {"mode": "Incremental", "outputs": {"n": {"type": "String", "value": "` + name + `"}}}}`),
		Template:      []byte(`{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "resources": []}`),
		CorrelationID: "correlation-" + name,
		CreatedAt:     t0,
		UpdatedAt:     t0,
		CreatedBy:     "creator",
		UpdatedBy:     "creator",
	}
}

func operation(id string, at time.Time) store.DeploymentOperation {
	return store.DeploymentOperation{
		OperationID: id,
		Document:    []byte(`{"properties": {"provisioningState": "Succeeded", "operationId": "` + id + `"}}`),
		UpdatedAt:   at,
	}
}

// putDeployments writes ds in one Update.
func putDeployments(t *testing.T, s store.Store, ds ...store.Deployment) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, d := range ds {
			if _, err := tx.PutDeployment(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// deploymentNames lists deployments matching f and returns their names.
func deploymentNames(t *testing.T, s store.Store, f store.DeploymentFilter) []string {
	t.Helper()
	var names []string
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		ds, err := tx.ListDeployments(ctx, f)
		wantErr(t, "ListDeployments", err, nil)
		for _, d := range ds {
			names = append(names, d.Name)
		}
		return nil
	})
	return names
}

// operationIDs lists the operations of a deployment and returns their IDs.
func operationIDs(t *testing.T, s store.Store, scope, name string) []string {
	t.Helper()
	var ids []string
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		ops, err := tx.ListDeploymentOperations(ctx, scope, name)
		wantErr(t, "ListDeploymentOperations", err, nil)
		for _, op := range ops {
			ids = append(ids, op.OperationID)
		}
		return nil
	})
	return ids
}

var deploymentBehaviours = []behaviour{
	{"deployments/create and get in any case keep the first casing of scope and name", func(t *testing.T, s store.Store) {
		d := deployment(rgID, "Main-Deploy", store.DeploymentAccepted)
		sameNameElsewhere := deployment(subScope, "main-deploy", store.DeploymentSucceeded)
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			if created, err = tx.PutDeployment(ctx, d); err != nil {
				return err
			}
			_, err = tx.PutDeployment(ctx, sameNameElsewhere)
			return err
		})
		wantEqual(t, "created", created, true)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetDeployment(ctx, upper(rgID), "MAIN-DEPLOY")
			wantErr(t, "GetDeployment", err, nil)
			wantEqual(t, "deployment", got, d)
			got, err = tx.GetDeployment(ctx, strings.ToLower(subScope), "Main-Deploy")
			wantErr(t, "GetDeployment at the subscription", err, nil)
			wantEqual(t, "same name at another scope", got, sameNameElsewhere)
			_, err = tx.GetDeployment(ctx, rgID, "nope")
			wantErr(t, "get missing", err, store.ErrNotFound)
			_, err = tx.GetDeployment(ctx, tenantScope, "main-deploy")
			wantErr(t, "get at a scope it is not at", err, store.ErrNotFound)
			return nil
		})
	}},
	{"deployments/put replaces everything but the creation time, creator and first casing", func(t *testing.T, s store.Store) {
		d := deployment(rgID, "Main-Deploy", store.DeploymentRunning)
		putDeployments(t, s, d)
		later := t0.Add(time.Hour)
		replacement := store.Deployment{
			Scope: strings.ToLower(rgID), Name: "MAIN-DEPLOY", State: store.DeploymentSucceeded,
			Document: []byte(`{"properties": {"outputs": {}}}`), Template: []byte(`{"resources": [{}]}`), CorrelationID: "second-run",
			CreatedAt: later, UpdatedAt: later, CreatedBy: "intruder", UpdatedBy: "updater",
		}
		var created bool
		update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			created, err = tx.PutDeployment(ctx, replacement)
			return err
		})
		wantEqual(t, "created on replace", created, false)
		want := replacement
		want.Scope, want.Name, want.CreatedAt, want.CreatedBy = d.Scope, d.Name, d.CreatedAt, d.CreatedBy
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetDeployment(ctx, rgID, "main-deploy")
			wantErr(t, "GetDeployment", err, nil)
			wantEqual(t, "replaced deployment", got, want)
			return nil
		})
	}},
	{"deployments/documents and templates are kept byte for byte, up to 4 MB", func(t *testing.T, s store.Store) {
		d := deployment(rgID, "big", store.DeploymentSucceeded)
		// Opaque bytes are not text: a NUL or invalid UTF-8 is theirs to hold.
		d.Document = []byte("{\"a\": \"\x00\xff\"}  ")
		d.Template = bytes.Repeat([]byte(`{"type": "Microsoft.ManagedIdentity/userAssignedIdentities"},`), 4<<20/60)
		putDeployments(t, s, d)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetDeployment(ctx, rgID, "big")
			wantErr(t, "GetDeployment", err, nil)
			wantEqual(t, "document", got.Document, d.Document)
			if !bytes.Equal(got.Template, d.Template) {
				t.Fatalf("template of %d bytes read back as %d different bytes", len(d.Template), len(got.Template))
			}
			return nil
		})
	}},
	{"deployments/list orders by lower-case scope, then lower-case name", func(t *testing.T, s store.Store) {
		putDeployments(t, s,
			deployment(rgID, "b", store.DeploymentSucceeded),
			deployment(upper(rgID), "A", store.DeploymentSucceeded), // same scope, other casing
			deployment(subScope, "c", store.DeploymentSucceeded),
			deployment(mgScope, "d", store.DeploymentSucceeded),
			deployment(tenantScope, "e", store.DeploymentSucceeded),
		)
		tests := []struct {
			name   string
			filter store.DeploymentFilter
			want   []string
		}{
			{"every scope, scope first", store.DeploymentFilter{}, []string{"e", "d", "c", "A", "b"}},
			{"resource group scope in any case", store.DeploymentFilter{Scope: strings.ToLower(rgID)}, []string{"A", "b"}},
			{"subscription scope is exact, not a prefix", store.DeploymentFilter{Scope: upper(subScope)}, []string{"c"}},
			{"management group scope", store.DeploymentFilter{Scope: strings.ToLower(mgScope)}, []string{"d"}},
			{"tenant scope", store.DeploymentFilter{Scope: tenantScope}, []string{"e"}},
			{"scope without deployments", store.DeploymentFilter{Scope: "/subscriptions/other"}, nil},
			{"limit without a scope", store.DeploymentFilter{Limit: 2}, []string{"e", "d"}},
		}
		for _, tc := range tests {
			wantEqual(t, tc.name, deploymentNames(t, s, tc.filter), tc.want)
		}
	}},
	{"deployments/list omits the template, which get returns", func(t *testing.T, s store.Store) {
		d := deployment(rgID, "Main", store.DeploymentSucceeded)
		putDeployments(t, s, d)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, f := range []store.DeploymentFilter{{}, {Scope: rgID}, {Scope: rgID, State: store.DeploymentSucceeded, Limit: 1}} {
				ds, err := tx.ListDeployments(ctx, f)
				wantErr(t, "ListDeployments", err, nil)
				want := d
				want.Template = nil
				wantEqual(t, fmt.Sprintf("list %+v", f), ds, []store.Deployment{want})
			}
			got, err := tx.GetDeployment(ctx, rgID, "main")
			wantErr(t, "GetDeployment", err, nil)
			wantEqual(t, "template from get", got.Template, d.Template)
			return nil
		})
	}},
	{"deployments/list filters by state", func(t *testing.T, s store.Store) {
		putDeployments(t, s,
			deployment(rgID, "ok", store.DeploymentSucceeded),
			deployment(rgID, "broken", store.DeploymentFailed),
			deployment(rgID, "busy", store.DeploymentRunning),
			deployment(subScope, "busy-too", store.DeploymentRunning),
			deployment(subScope, "queued", store.DeploymentAccepted),
		)
		tests := []struct {
			name   string
			filter store.DeploymentFilter
			want   []string
		}{
			{"any state", store.DeploymentFilter{Scope: rgID}, []string{"broken", "busy", "ok"}},
			{"failed at a scope", store.DeploymentFilter{Scope: rgID, State: store.DeploymentFailed}, []string{"broken"}},
			{"running at every scope", store.DeploymentFilter{State: store.DeploymentRunning}, []string{"busy-too", "busy"}},
			{"state nobody is in", store.DeploymentFilter{State: store.DeploymentCanceled}, nil},
		}
		for _, tc := range tests {
			wantEqual(t, tc.name, deploymentNames(t, s, tc.filter), tc.want)
		}
	}},
	{"deployments/list pages by lower-case name within a scope with After and Limit", func(t *testing.T, s store.Store) {
		names := []string{"e", "B", "a", "D", "c"}
		var ds []store.Deployment
		for _, n := range names {
			ds = append(ds, deployment(rgID, n, store.DeploymentSucceeded))
		}
		ds = append(ds, deployment(subScope, "b2", store.DeploymentSucceeded)) // another scope, between B and c
		putDeployments(t, s, ds...)
		var (
			got   []string
			after string
		)
		for page := 0; ; page++ {
			if page > len(names) {
				t.Fatalf("paging does not end: %v", got)
			}
			next := deploymentNames(t, s, store.DeploymentFilter{Scope: rgID, After: after, Limit: 2})
			if len(next) > 2 {
				t.Fatalf("page of %d, limit 2", len(next))
			}
			if len(next) == 0 {
				break
			}
			got = append(got, next...)
			after = upper(next[len(next)-1]) // After is case-insensitive too
		}
		wantEqual(t, "pages", got, []string{"a", "B", "c", "D", "e"})
	}},
	{"deployments/list refuses After without a Scope", func(t *testing.T, s store.Store) {
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ListDeployments(ctx, store.DeploymentFilter{After: "a"}); err == nil {
				t.Fatal("ListDeployments paged across scopes by name")
			}
			return nil
		})
	}},
	{"deployments/operations upsert in batches and list in operation ID order", func(t *testing.T, s store.Store) {
		d := deployment(rgID, "Main", store.DeploymentRunning)
		putDeployments(t, s, d)
		later := t0.Add(time.Minute)
		// More than one multi-row statement's worth, given out of order.
		var batch []store.DeploymentOperation
		for i := 1200; i > 0; i-- {
			batch = append(batch, operation(fmt.Sprintf("%08d", i), t0))
		}
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutDeploymentOperations(ctx, upper(rgID), "MAIN", batch)
		})
		replaced := operation("00000002", later)
		replaced.Document = []byte(`{"properties": {"provisioningState": "Failed"}}`)
		twice := operation("00000003", later)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutDeploymentOperations(ctx, rgID, "main", []store.DeploymentOperation{
				{Scope: upper(rgID), DeploymentName: "mAIN", OperationID: "00000003", Document: []byte(`{}`), UpdatedAt: t0},
				replaced,
				twice, // the same ID twice in one batch: the last wins
				operation("A-new", later),
			})
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			ops, err := tx.ListDeploymentOperations(ctx, strings.ToLower(rgID), "main")
			wantErr(t, "ListDeploymentOperations", err, nil)
			if len(ops) != 1201 {
				t.Fatalf("%d operations, want 1201", len(ops))
			}
			for i, op := range ops[:1200] {
				wantEqual(t, "operation order", op.OperationID, fmt.Sprintf("%08d", i+1))
			}
			first := operation("00000001", t0)
			first.Scope, first.DeploymentName = d.Scope, d.Name // read back as the deployment's own
			wantEqual(t, "untouched operation", ops[0], first)
			replaced.Scope, replaced.DeploymentName = d.Scope, d.Name
			wantEqual(t, "replaced operation", ops[1], replaced)
			twice.Scope, twice.DeploymentName = d.Scope, d.Name
			wantEqual(t, "operation given twice", ops[2], twice)
			wantEqual(t, "IDs compare as bytes: upper case after digits", ops[1200].OperationID, "A-new")
			return nil
		})
	}},
	{"deployments/operations of a missing deployment are ErrNotFound", func(t *testing.T, s store.Store) {
		putDeployments(t, s, deployment(rgID, "Main", store.DeploymentRunning))
		before := revision(t, s)
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.PutDeploymentOperations(t.Context(), subScope, "main", []store.DeploymentOperation{operation("1", t0)})
		})
		wantErr(t, "put at a scope without the deployment", err, store.ErrNotFound)
		wantNothingWritten(t, s, before)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ListDeploymentOperations(ctx, rgID, "nope")
			wantErr(t, "list of a missing deployment", err, store.ErrNotFound)
			ops, err := tx.ListDeploymentOperations(ctx, rgID, "main")
			wantErr(t, "list of a deployment without operations", err, nil)
			wantEqual(t, "operations", ops, []store.DeploymentOperation(nil))
			return nil
		})
	}},
	{"deployments/an operation naming another deployment is refused", func(t *testing.T, s store.Store) {
		putDeployments(t, s, deployment(rgID, "Main", store.DeploymentRunning), deployment(rgID, "other", store.DeploymentRunning))
		before := revision(t, s)
		for _, op := range []store.DeploymentOperation{
			{Scope: rgID, DeploymentName: "other", OperationID: "1"},
			{Scope: subScope, DeploymentName: "Main", OperationID: "1"},
			{OperationID: ""},
		} {
			_, err := s.Update(t.Context(), func(tx store.Tx) error {
				return tx.PutDeploymentOperations(t.Context(), rgID, "Main", []store.DeploymentOperation{op})
			})
			if err == nil {
				t.Fatalf("operation %+v written to Main", op)
			}
		}
		wantNothingWritten(t, s, before)
	}},
	{"deployments/delete removes its operations and is ErrNotFound when absent", func(t *testing.T, s store.Store) {
		d, kept := deployment(rgID, "Main", store.DeploymentSucceeded), deployment(rgID, "kept", store.DeploymentSucceeded)
		putDeployments(t, s, d, kept)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.PutDeploymentOperations(ctx, rgID, "Main", []store.DeploymentOperation{operation("1", t0), operation("2", t0)}); err != nil {
				return err
			}
			return tx.PutDeploymentOperations(ctx, rgID, "kept", []store.DeploymentOperation{operation("1", t0)})
		})
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, "delete", tx.DeleteDeployment(ctx, upper(rgID), "MAIN"), nil)
			wantErr(t, "delete again", tx.DeleteDeployment(ctx, rgID, "main"), store.ErrNotFound)
			wantErr(t, "delete at a scope it is not at", tx.DeleteDeployment(ctx, subScope, "kept"), store.ErrNotFound)
			return nil
		})
		wantEqual(t, "changes of the delete", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindDeployment, strings.ToLower(rgID) + "|main", store.OpDelete},
		})
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetDeployment(ctx, rgID, "Main")
			wantErr(t, "get deleted", err, store.ErrNotFound)
			_, err = tx.ListDeploymentOperations(ctx, rgID, "Main")
			wantErr(t, "operations of the deleted", err, store.ErrNotFound)
			return nil
		})
		wantEqual(t, "operations of the other deployment", operationIDs(t, s, rgID, "kept"), []string{"1"})
		putDeployments(t, s, d)
		wantEqual(t, "operations of a recreated deployment", operationIDs(t, s, rgID, "Main"), []string(nil))
	}},
	{"deployments/trim keeps running ones and the newest, deleting the oldest finished with their operations", func(t *testing.T, s store.Store) {
		at := func(d store.Deployment, offset time.Duration) store.Deployment {
			d.UpdatedAt = t0.Add(offset)
			return d
		}
		putDeployments(t, s,
			at(deployment(rgID, "running", store.DeploymentRunning), -2*time.Hour), // oldest of all
			at(deployment(rgID, "accepted", store.DeploymentAccepted), -time.Hour),
			at(deployment(rgID, "B-tie", store.DeploymentFailed), 0), // same time: lower-case name decides
			at(deployment(rgID, "a-tie", store.DeploymentSucceeded), 0),
			at(deployment(rgID, "canceled", store.DeploymentCanceled), time.Hour),
			at(deployment(rgID, "newest", store.DeploymentSucceeded), 2*time.Hour),
			at(deployment(subScope, "elsewhere", store.DeploymentSucceeded), -3*time.Hour),
		)
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutDeploymentOperations(ctx, rgID, "a-tie", []store.DeploymentOperation{operation("1", t0)})
		})
		trim := func(scope string, keep int) (int, int64) {
			t.Helper()
			var n int
			rev := update(t, s, func(ctx context.Context, tx store.Tx) (err error) {
				n, err = tx.TrimDeployments(ctx, scope, keep)
				return err
			})
			return n, rev
		}

		before := revision(t, s)
		n, rev := trim(upper(rgID), 3)
		wantEqual(t, "trimmed", n, 3)
		wantEqual(t, "left at the scope: the unfinished count toward keep", deploymentNames(t, s, store.DeploymentFilter{Scope: rgID}),
			[]string{"accepted", "newest", "running"})
		wantEqual(t, "other scopes untouched", deploymentNames(t, s, store.DeploymentFilter{Scope: subScope}), []string{"elsewhere"})
		key := func(name string) string { return strings.ToLower(rgID) + "|" + name }
		wantEqual(t, "changes of the trim", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindDeployment, key("a-tie"), store.OpDelete},
			{rev, store.KindDeployment, key("b-tie"), store.OpDelete},
			{rev, store.KindDeployment, key("canceled"), store.OpDelete},
		})
		putDeployments(t, s, deployment(rgID, "a-tie", store.DeploymentSucceeded))
		wantEqual(t, "operations of a trimmed deployment are gone", operationIDs(t, s, rgID, "a-tie"), []string(nil))

		before = revision(t, s)
		n, _ = trim(rgID, 4)
		wantEqual(t, "trimmed at the limit", n, 0)
		wantNothingWritten(t, s, before)

		n, _ = trim(rgID, 0)
		wantEqual(t, "trimmed to nothing", n, 2)
		wantEqual(t, "never a running one", deploymentNames(t, s, store.DeploymentFilter{Scope: rgID}), []string{"accepted", "running"})

		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.TrimDeployments(t.Context(), rgID, -1)
			return err
		})
		if err == nil {
			t.Fatal("TrimDeployments accepted a negative keep")
		}
	}},
	{"deployments/a NUL in a text field is refused with ErrInvalidText and nothing is written", func(t *testing.T, s store.Store) {
		putDeployments(t, s, deployment(rgID, "Main", store.DeploymentRunning))
		put := func(mutate func(*store.Deployment)) func(ctx context.Context, tx store.Tx) error {
			return func(ctx context.Context, tx store.Tx) error {
				d := deployment(rgID, "text", store.DeploymentRunning)
				mutate(&d)
				_, err := tx.PutDeployment(ctx, d)
				return err
			}
		}
		cases := []struct {
			name  string
			write func(ctx context.Context, tx store.Tx) error
		}{
			{"name", put(func(d *store.Deployment) { d.Name = "te\x00xt" })},
			{"scope", put(func(d *store.Deployment) { d.Scope = rgID + "\x00" })},
			{"state", put(func(d *store.Deployment) { d.State = "Running\x00" })},
			{"correlation ID", put(func(d *store.Deployment) { d.CorrelationID = "\x00" })},
			{"updated by, invalid UTF-8", put(func(d *store.Deployment) { d.UpdatedBy = "who\xff" })},
			{"operation ID", func(ctx context.Context, tx store.Tx) error {
				return tx.PutDeploymentOperations(ctx, rgID, "Main", []store.DeploymentOperation{operation("op\x00", t0)})
			}},
			{"trim scope", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.TrimDeployments(ctx, rgID+"\x00", 0)
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := revision(t, s)
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					if err := tx.PutMeta(t.Context(), "text-probe", []byte("x")); err != nil {
						return err
					}
					return tc.write(t.Context(), tx)
				})
				wantErr(t, "write", err, store.ErrInvalidText)
				wantNothingWritten(t, s, before)
			})
		}
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetDeployment(ctx, rgID, "Main\x00")
			wantErr(t, "get", err, store.ErrInvalidText)
			_, err = tx.ListDeployments(ctx, store.DeploymentFilter{State: "\x00"})
			wantErr(t, "list", err, store.ErrInvalidText)
			return nil
		})
	}},
	{"deployments/one revision per writing update, one change per deployment key", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			d := deployment(rgID, "Main", store.DeploymentAccepted)
			if _, err := tx.PutDeployment(ctx, d); err != nil {
				return err
			}
			if err := tx.PutDeploymentOperations(ctx, rgID, "main", []store.DeploymentOperation{operation("1", t0)}); err != nil {
				return err
			}
			d.State = store.DeploymentRunning
			if _, err := tx.PutDeployment(ctx, d); err != nil {
				return err
			}
			if _, err := tx.PutDeployment(ctx, deployment(mgScope, "Nested", store.DeploymentRunning)); err != nil {
				return err
			}
			return tx.PutDeploymentOperations(ctx, mgScope, "nested", nil) // writes nothing
		})
		wantEqual(t, "committed revision", rev, before+1)
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindDeployment, strings.ToLower(rgID) + "|main", store.OpPut},
			{rev, store.KindDeployment, "/providers/microsoft.management/managementgroups/contoso-prod|nested", store.OpPut},
		})
		before = revision(t, s)
		rev = update(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutDeploymentOperations(ctx, upper(rgID), "MAIN", []store.DeploymentOperation{operation("2", t0)})
		})
		wantEqual(t, "an operations write records the deployment's key", stripTimes(changes(t, s, before)), []change{
			{rev, store.KindDeployment, strings.ToLower(rgID) + "|main", store.OpPut},
		})
	}},
	{"deployments/an error after writes leaves nothing", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			ctx := t.Context()
			if _, err := tx.PutDeployment(ctx, deployment(rgID, "Main", store.DeploymentRunning)); err != nil {
				return err
			}
			if err := tx.PutDeploymentOperations(ctx, rgID, "Main", []store.DeploymentOperation{operation("1", t0)}); err != nil {
				return err
			}
			return tx.PutDeploymentOperations(ctx, rgID, "missing", []store.DeploymentOperation{operation("1", t0)})
		})
		wantErr(t, "Update", err, store.ErrNotFound)
		wantNothingWritten(t, s, before)
		view(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetDeployment(ctx, rgID, "Main")
			wantErr(t, "GetDeployment", err, store.ErrNotFound)
			return nil
		})
	}},
	{"deployments/a refused write does not spoil the rest of the transaction", func(t *testing.T, s store.Store) {
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			err := tx.PutDeploymentOperations(ctx, rgID, "missing", []store.DeploymentOperation{operation("1", t0)})
			wantErr(t, "operations of a missing deployment", err, store.ErrNotFound)
			wantErr(t, "delete missing", tx.DeleteDeployment(ctx, rgID, "missing"), store.ErrNotFound)
			if _, err := tx.PutDeployment(ctx, deployment(rgID, "Main", store.DeploymentRunning)); err != nil {
				return err
			}
			return tx.PutDeploymentOperations(ctx, rgID, "Main", []store.DeploymentOperation{operation("1", t0)})
		})
		wantEqual(t, "operations written after the refusals", operationIDs(t, s, rgID, "Main"), []string{"1"})
	}},
}
