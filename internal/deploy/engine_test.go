package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/deploy"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

const (
	tenant = "7f3c1a52-0b6e-4d7a-9c1e-2a4b5c6d7e8f"
	sub    = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
)

var (
	caller = deploy.Caller{ObjectID: "aaaaaaaa-0000-0000-0000-000000000001"}
	rg     = deploy.Scope{SubscriptionID: sub, ResourceGroup: "rg1"}
)

// fakeFrontDoor stands in for the ARM front door: it keeps what is PUT,
// answers GETs from it, and lets a test hold or fail chosen resources.
type fakeFrontDoor struct {
	mu        sync.Mutex
	resources map[string][]byte
	order     []string
	inFlight  int
	maxFlight int
	hold      map[string]chan struct{} // name suffix -> released when closed
	fail      map[string]bool
	started   chan string
}

func newFake() *fakeFrontDoor {
	return &fakeFrontDoor{resources: map[string][]byte{}, hold: map[string]chan struct{}{}, fail: map[string]bool{}, started: make(chan string, 1000)}
}

func (f *fakeFrontDoor) Do(ctx context.Context, c deploy.Caller, method, path, apiVersion string, body []byte, corr string) (int, []byte, error) {
	key := strings.ToLower(strings.SplitN(path, "?", 2)[0])
	switch method {
	case http.MethodGet:
		if key == strings.ToLower(deploy.ScopeID(rg)) {
			return 200, []byte(`{"id":"` + deploy.ScopeID(rg) + `","name":"rg1","location":"westus","properties":{"provisioningState":"Succeeded"}}`), nil
		}
		if strings.HasSuffix(key, "/resources") {
			return 200, []byte(`{"value":[]}`), nil
		}
		f.mu.Lock()
		b, ok := f.resources[key]
		f.mu.Unlock()
		if !ok {
			return 404, []byte(`{"error":{"code":"ResourceNotFound","message":"not found"}}`), nil
		}
		return 200, b, nil
	case http.MethodPut:
		f.mu.Lock()
		f.inFlight++
		f.maxFlight = max(f.maxFlight, f.inFlight)
		var hold chan struct{}
		for suffix, ch := range f.hold {
			if strings.HasSuffix(key, strings.ToLower(suffix)) {
				hold = ch
			}
		}
		failing := false
		for suffix := range f.fail {
			failing = failing || strings.HasSuffix(key, strings.ToLower(suffix))
		}
		f.mu.Unlock()
		f.started <- key
		defer func() {
			f.mu.Lock()
			f.inFlight--
			f.mu.Unlock()
		}()
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			}
		} else {
			time.Sleep(2 * time.Millisecond) // long enough for overlaps to show
		}
		if failing {
			return 400, []byte(`{"error":{"code":"BadThing","message":"this resource fails"}}`), nil
		}
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		props, _ := doc["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		props["provisioningState"] = "Succeeded"
		doc["properties"], doc["id"] = props, path
		b, _ := json.Marshal(doc)
		f.mu.Lock()
		f.resources[key] = b
		f.order = append(f.order, key)
		f.mu.Unlock()
		return 201, b, nil
	}
	return 405, []byte(`{"error":{"code":"MethodNotAllowed","message":"no"}}`), nil
}

func (f *fakeFrontDoor) deployedOrder() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.order...)
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.CreateSubscription(context.Background(), store.Subscription{ID: sub, DisplayName: "Default", State: "Enabled", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func newEngine(t *testing.T, st store.Store, fd deploy.Dispatcher) *deploy.Engine {
	t.Helper()
	e := deploy.New(deploy.Config{Store: st, Dispatch: fd, TenantID: tenant, SingleReplica: true})
	t.Cleanup(e.Close)
	return e
}

// identities is a template of n identities; each after the first depends
// on the one before when chained.
func identities(n int, chained bool, extra string) string {
	var rs []string
	for i := 0; i < n; i++ {
		dep := ""
		if chained && i > 0 {
			dep = fmt.Sprintf(`,"dependsOn":["id%d"]`, i-1)
		}
		rs = append(rs, fmt.Sprintf(`{"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id%d","location":"westus"%s}`, i, dep))
	}
	return `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",` +
		extra + `"resources":[` + strings.Join(rs, ",") + `]}`
}

func start(t *testing.T, e *deploy.Engine, name, tpl, params string) deploy.Record {
	t.Helper()
	req := deploy.Request{Scope: rg, Name: name, Template: json.RawMessage(tpl)}
	if params != "" {
		req.Parameters = json.RawMessage(params)
	}
	rec, err := e.Start(context.Background(), caller, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return rec
}

func wait(t *testing.T, e *deploy.Engine, name string) deploy.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Wait(ctx, rg, name); err != nil {
		t.Fatal(err)
	}
	rec, err := e.Get(ctx, rg, name)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestDependenciesComeFirstAndIndependentResourcesRunInParallel(t *testing.T) {
	fd := newFake()
	e := newEngine(t, openStore(t), fd)
	start(t, e, "chain", identities(5, true, ""), "")
	if rec := wait(t, e, "chain"); rec.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("chain: %+v", rec.Properties.Error)
	}
	for i, id := range fd.deployedOrder() {
		if !strings.HasSuffix(id, fmt.Sprintf("/id%d", i)) {
			t.Fatalf("deployed out of dependency order: %v", fd.deployedOrder())
		}
	}
	if fd.maxFlight != 1 {
		t.Fatalf("a chain ran %d at once", fd.maxFlight)
	}
	fd2 := newFake()
	e2 := newEngine(t, openStore(t), fd2)
	start(t, e2, "wide", identities(20, false, ""), "")
	wait(t, e2, "wide")
	if fd2.maxFlight < 2 {
		t.Fatalf("20 independent resources never overlapped (max %d in flight)", fd2.maxFlight)
	}
}

func TestAFailureBlocksDependentsAndKeepsWhatSucceeded(t *testing.T) {
	fd := newFake()
	fd.fail["/id1"] = true
	e := newEngine(t, openStore(t), fd)
	// id0 <- id1 (fails) <- id2; id3 independent.
	tpl := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id0","location":"westus"},
	 {"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id1","location":"westus","dependsOn":["id0"]},
	 {"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id2","location":"westus","dependsOn":["id1"]},
	 {"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"id3","location":"westus"}]}`
	start(t, e, "d", tpl, "")
	rec := wait(t, e, "d")
	if rec.Properties.ProvisioningState != "Failed" || rec.Properties.Error.Code != "DeploymentFailed" ||
		len(rec.Properties.Error.Details) != 1 || rec.Properties.Error.Details[0].Code != "BadThing" {
		t.Fatalf("record %+v", rec.Properties)
	}
	got := strings.Join(fd.deployedOrder(), " ")
	if !strings.Contains(got, "/id0") || !strings.Contains(got, "/id3") || strings.Contains(got, "/id2") {
		t.Fatalf("deployed %s: want id0 and id3, never id2", got)
	}
	ops, err := e.Operations(context.Background(), rg, "d")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, op := range ops {
		states[op.Properties.TargetResource.ResourceName] = op.Properties.ProvisioningState
	}
	if states["id0"] != "Succeeded" || states["id1"] != "Failed" || states["id3"] != "Succeeded" || states["id2"] != "" {
		t.Fatalf("operations %v", states)
	}
}

func TestSerialCopyRunsOneBatchAtATime(t *testing.T) {
	fd := newFake()
	e := newEngine(t, openStore(t), fd)
	tpl := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.ManagedIdentity/userAssignedIdentities","apiVersion":"2023-01-31","name":"[format('id{0}', copyIndex())]","location":"westus",
	  "copy":{"name":"ids","count":6,"mode":"serial","batchSize":2}}]}`
	start(t, e, "serial", tpl, "")
	if rec := wait(t, e, "serial"); rec.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("%+v", rec.Properties.Error)
	}
	if fd.maxFlight > 2 {
		t.Fatalf("batchSize 2 ran %d at once", fd.maxFlight)
	}
	order := fd.deployedOrder()
	batch := func(id string) int { return int(id[len(id)-1]-'0') / 2 }
	for i := 1; i < len(order); i++ {
		if batch(order[i]) < batch(order[i-1]) {
			t.Fatalf("a later batch finished before an earlier one: %v", order)
		}
	}
}

// A server that stops mid-deployment never leaves it Running: the engine
// marks it Failed as it closes, and Recover marks a record whose replica
// died (SQLite: any Running record at start).
func TestInterruptedDeploymentsAreMarkedFailed(t *testing.T) {
	st := openStore(t)
	fd := newFake()
	fd.hold["/id1"] = make(chan struct{})
	e := deploy.New(deploy.Config{Store: st, Dispatch: fd, TenantID: tenant, SingleReplica: true})
	start(t, e, "stopped", identities(3, true, ""), "")
	for k := range fd.started {
		if strings.HasSuffix(k, "/id1") {
			break
		}
	}
	e.Close()
	rec, err := e.Get(context.Background(), rg, "stopped")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Properties.ProvisioningState != "Failed" || rec.Properties.Error == nil || rec.Properties.Error.Code != "DeploymentInterrupted" {
		t.Fatalf("after the engine closed: %s %+v", rec.Properties.ProvisioningState, rec.Properties.Error)
	}

	// A record left Running by a process that died without closing.
	doc, _ := json.Marshal(deploy.Record{Properties: deploy.Properties{ProvisioningState: "Running", Mode: "Incremental"}})
	if _, err := st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PutDeployment(context.Background(), store.Deployment{Scope: deploy.ScopeID(rg), Name: "orphan", State: "Running",
			Document: doc, Template: []byte(`{}`), CreatedAt: time.Now(), UpdatedAt: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, st, fd)
	n, err := e2.Recover(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	rec, _ = e2.Get(context.Background(), rg, "orphan")
	if rec.Properties.ProvisioningState != "Failed" || rec.Properties.Error.Code != "DeploymentInterrupted" {
		t.Fatalf("orphan: %+v", rec.Properties)
	}

	// With several replicas a record is only abandoned once its heartbeat
	// stopped.
	if _, err := st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PutDeployment(context.Background(), store.Deployment{Scope: deploy.ScopeID(rg), Name: "elsewhere", State: "Running",
			Document: doc, Template: []byte(`{}`), CreatedAt: time.Now(), UpdatedAt: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	shared := deploy.New(deploy.Config{Store: st, Dispatch: fd, TenantID: tenant})
	defer shared.Close()
	if n, err := shared.Recover(context.Background()); err != nil || n != 0 {
		t.Fatalf("a live replica's deployment was marked abandoned: %d %v", n, err)
	}
}

func TestCancelStopsTheRunAndKeepsWhatWasDeployed(t *testing.T) {
	fd := newFake()
	fd.hold["/id2"] = make(chan struct{})
	e := newEngine(t, openStore(t), fd)
	start(t, e, "c", identities(4, true, ""), "")
	for k := range fd.started {
		if strings.HasSuffix(k, "/id2") {
			break
		}
	}
	if err := e.Cancel(context.Background(), caller, rg, "c"); err != nil {
		t.Fatal(err)
	}
	rec := wait(t, e, "c")
	if rec.Properties.ProvisioningState != "Canceled" {
		t.Fatalf("state %s", rec.Properties.ProvisioningState)
	}
	if got := fd.deployedOrder(); len(got) != 2 {
		t.Fatalf("deployed %v, want id0 and id1 only", got)
	}
	err := e.Cancel(context.Background(), caller, rg, "c")
	if de, ok := err.(*deploy.Error); !ok || de.Code != "DeploymentCannotBeCanceled" {
		t.Fatalf("cancel of a finished deployment: %v", err)
	}
}

// Secure parameter values reach the resource that asks for them and
// nothing else: not the record, its operations, or any store row.
func TestSecureParametersAreNeverStored(t *testing.T) {
	st := openStore(t)
	fd := newFake()
	e := newEngine(t, st, fd)
	const secret = "correct-horse-battery-staple-9931"
	tpl := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	 "parameters":{"pw":{"type":"securestring"},"cfg":{"type":"secureObject"}},
	 "resources":[{"type":"Microsoft.Web/sites","apiVersion":"2022-03-01","name":"web1","location":"westus",
	   "properties":{"password":"[parameters('pw')]","conn":"[parameters('cfg').conn]"}}],
	 "outputs":{"leak":{"type":"securestring","value":"[parameters('pw')]"}}}`
	start(t, e, "s", tpl, `{"pw":{"value":"`+secret+`"},"cfg":{"value":{"conn":"`+secret+`-conn"}}}`)
	rec := wait(t, e, "s")
	if rec.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("%+v", rec.Properties.Error)
	}
	if !bytes.Contains(fd.resources[strings.ToLower(deploy.ScopeID(rg)+"/providers/Microsoft.Web/sites/web1")], []byte(secret)) {
		t.Fatal("the resource did not get the secure value it asked for")
	}
	var rows [][]byte
	if err := st.View(context.Background(), func(tx store.Tx) error {
		d, err := tx.GetDeployment(context.Background(), deploy.ScopeID(rg), "s")
		if err != nil {
			return err
		}
		rows = append(rows, d.Document, d.Template)
		ops, err := tx.ListDeploymentOperations(context.Background(), deploy.ScopeID(rg), "s")
		for _, op := range ops {
			rows = append(rows, op.Document)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if bytes.Contains(row, []byte(secret)) {
			t.Fatalf("a secure value is in the store: %s", row)
		}
	}
	if p := rec.Properties.Parameters["pw"]; p.Type != "SecureString" || p.Value != nil {
		t.Fatalf("parameter shown as %+v", p)
	}
	if o := rec.Properties.Outputs["leak"]; o.Value != nil {
		t.Fatalf("secure output shown: %+v", o)
	}
}
