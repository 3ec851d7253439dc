package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/deploy/expr"
	"github.com/keyless-io/keyless/internal/deploy/template"
	"github.com/keyless-io/keyless/internal/store"
)

// run is one deployment executing in this process.
type run struct {
	engine  *Engine
	caller  Caller
	req     Request
	prep    *prepared
	rec     Record
	key     string
	started time.Time
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	canceled bool
	ops      map[string]*Operation // by operation ID
	dirtyOps map[string]bool
	failures []*ErrorDetail
	deployed []ResourceRef
}

func (r *run) requestCancel() {
	r.mu.Lock()
	r.canceled = true
	r.mu.Unlock()
	r.cancel()
}

func (r *run) isCanceled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.canceled
}

// execute deploys the plan and records the outcome. It never returns with
// the record left Accepted or Running.
func (r *run) execute(ctx context.Context) {
	e := r.engine
	r.ops, r.dirtyOps = map[string]*Operation{}, map[string]bool{}
	r.prep.resolver.ctx = ctx
	r.rec.Properties.ProvisioningState = "Running"
	// Record writes use a context of their own: a canceled run must still
	// be able to say so.
	recCtx := context.WithoutCancel(ctx)
	if err := e.save(recCtx, r.caller, r.req, r.rec, nil, false); err != nil {
		e.log.Error("deployment: record Running", "deployment", r.req.Name, "err", err)
	}

	hbDone, hbExited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hbExited)
		r.heartbeat(ctx, hbDone)
	}()
	r.deployAll(ctx)
	close(hbDone)
	<-hbExited // the record is the run's alone from here

	props := &r.rec.Properties
	var outputs map[string]Param
	failed := len(r.failures) > 0
	if !failed && !r.isCanceled() && ctx.Err() == nil && r.prep.mode == "Complete" {
		r.completeMode(ctx)
		failed = len(r.failures) > 0
	}
	if !failed && !r.isCanceled() && ctx.Err() == nil {
		outs, err := r.prep.plan.Outputs()
		if err != nil {
			r.fail(&ErrorDetail{Code: "DeploymentOutputEvaluationFailed", Message: templateError(err).(*Error).Message})
			failed = true
		} else {
			outputs = map[string]Param{}
			for name, o := range outs {
				p := Param{Type: canonicalType(o.Type)}
				if !isSecureType(o.Type) {
					p.Value = expr.ToPlain(o.Value)
				}
				outputs[name] = p
			}
		}
	}
	switch {
	case r.isCanceled() || errors.Is(ctx.Err(), context.Canceled) && !r.stoppedByServer():
		props.ProvisioningState = "Canceled"
	case r.stoppedByServer():
		props.ProvisioningState = "Failed"
		props.Error = &Error{Code: "DeploymentInterrupted",
			Message: "The deployment was interrupted: the keyless server running it shut down before it finished. Resources deployed before the stop remain; deploy again to finish."}
	case failed:
		props.ProvisioningState = "Failed"
		props.Error = &Error{Code: "DeploymentFailed",
			Message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
			Details: r.failures}
	default:
		props.ProvisioningState = "Succeeded"
		props.Outputs = outputs
	}
	sort.Slice(r.deployed, func(i, j int) bool { return strings.ToLower(r.deployed[i].ID) < strings.ToLower(r.deployed[j].ID) })
	props.OutputResources = r.deployed
	props.Duration = isoDuration(e.cfg.Now().Sub(r.started))
	props.Timestamp = e.cfg.Now().UTC()

	if props.ProvisioningState == "Failed" && r.req.OnError != nil && !r.stoppedByServer() {
		props.OnErrorDeployment.ProvisioningState = r.rollback(recCtx)
	}
	r.flushOps(recCtx, true)
	if err := e.save(recCtx, r.caller, r.req, r.rec, nil, false); err != nil {
		e.log.Error("deployment: record outcome", "deployment", r.req.Name, "err", err)
	}
	e.log.Info("deployment finished", "deployment", r.req.Name, "scope", ScopeID(r.req.Scope),
		"state", props.ProvisioningState, "duration", props.Duration, "resources", len(r.prep.plan.Resources))
}

// stoppedByServer reports that the engine itself is shutting down.
func (r *run) stoppedByServer() bool { return r.engine.base.Err() != nil }

// heartbeat touches the record while the run lasts (other replicas treat a
// silent Running record as abandoned) and notices a cancel recorded by
// another replica.
func (r *run) heartbeat(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	fast := time.NewTicker(250 * time.Millisecond)
	defer fast.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-fast.C:
			r.flushOps(ctx, false)
		case <-t.C:
			rec, err := r.engine.Get(ctx, r.req.Scope, r.req.Name)
			if err == nil && rec.Properties.ProvisioningState == "Canceled" {
				r.requestCancel()
				return
			}
			_ = r.engine.save(ctx, r.caller, r.req, r.rec, nil, false)
		}
	}
}

// deployAll runs the plan's resources in dependency order, at most
// parallelism at a time. A failed resource fails its dependents (never
// started); independent ones go on, as in Azure.
func (r *run) deployAll(ctx context.Context) {
	plan := r.prep.plan
	n := len(plan.Resources)
	if n == 0 {
		return
	}
	index := make(map[*template.Resource]int, n)
	for i, res := range plan.Resources {
		index[res] = i
	}
	deps := make([][]int, n)
	for i, res := range plan.Resources {
		for _, d := range res.DependsOn {
			if j, ok := index[d]; ok {
				deps[i] = append(deps[i], j)
			}
		}
	}
	dependents := make([][]int, n)
	waiting := make([]int, n)
	for i, ds := range deps {
		waiting[i] = len(ds)
		for _, j := range ds {
			dependents[j] = append(dependents[j], i)
		}
	}

	type result struct {
		i  int
		ok bool
	}
	results := make(chan result, n)
	sem := make(chan struct{}, parallelism)
	inFlight, finished := 0, 0
	blocked := make([]bool, n)
	ready := []int{}
	for i := range waiting {
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	start := func(i int) {
		inFlight++
		go func() {
			sem <- struct{}{}
			ok := r.deployOne(ctx, plan.Resources[i])
			<-sem
			results <- result{i, ok}
		}()
	}
	for finished < n {
		for len(ready) > 0 && ctx.Err() == nil && !r.isCanceled() {
			i := ready[0]
			ready = ready[1:]
			start(i)
		}
		if inFlight == 0 {
			break // canceled, or everything left is blocked by a failure
		}
		res := <-results
		inFlight--
		finished++
		// release tells the dependents of i that it is done; a failed or
		// never-run resource blocks them (and theirs) instead.
		var release func(i int, ok bool)
		release = func(i int, ok bool) {
			for _, d := range dependents[i] {
				if !ok {
					blocked[d] = true
				}
				waiting[d]--
				if waiting[d] > 0 {
					continue
				}
				if blocked[d] {
					finished++
					release(d, false)
					continue
				}
				ready = append(ready, d)
			}
		}
		release(res.i, res.ok)
	}
}

func newOperationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// deployOne deploys one resource and records its operation.
func (r *run) deployOne(ctx context.Context, res *template.Resource) bool {
	e := r.engine
	op := &Operation{OperationID: newOperationID()}
	op.Properties = OperationProperties{
		ProvisioningOperation: "Create", ProvisioningState: "Running", Timestamp: e.cfg.Now().UTC(), Duration: "PT0S",
		TargetResource: &TargetResource{ID: res.ID, ResourceName: res.Name, ResourceType: res.Type},
	}
	if res.Existing {
		op.Properties.ProvisioningOperation = "Read"
	}
	r.putOp(op)
	began := e.cfg.Now()
	status, err := r.apply(ctx, res)
	op.Properties.Duration = isoDuration(e.cfg.Now().Sub(began))
	op.Properties.Timestamp = e.cfg.Now().UTC()
	if status != 0 {
		op.Properties.StatusCode = statusName(status)
	}
	if err != nil {
		detail := failureDetail(err)
		op.Properties.ProvisioningState = "Failed"
		op.Properties.StatusMessage = &StatusMessage{Status: "Failed", Error: &Error{Code: detail.Code, Message: detail.Message, Details: detail.Details}}
		if ctx.Err() != nil && r.isCanceled() {
			op.Properties.ProvisioningState = "Canceled"
		} else {
			r.fail(detail)
		}
		r.putOp(op)
		return false
	}
	op.Properties.ProvisioningState = "Succeeded"
	r.putOp(op)
	if !res.Existing {
		r.mu.Lock()
		r.deployed = append(r.deployed, ResourceRef{ID: res.ID})
		r.mu.Unlock()
	}
	return true
}

// apply sends the resource's request through the front door as the
// caller: a GET for an existing resource, a nested deployment for
// Microsoft.Resources/deployments, a PUT for everything else.
func (r *run) apply(ctx context.Context, res *template.Resource) (int, error) {
	d := r.engine.cfg.Dispatch
	if res.Existing {
		status, body, err := d.Do(ctx, r.caller, http.MethodGet, res.ID, res.APIVersion, nil, r.req.CorrelationID)
		if err != nil {
			return 0, err
		}
		if status >= 400 {
			return status, decodeFrontDoorError(status, body)
		}
		return status, nil
	}
	if res.Nested != nil {
		return r.applyNested(ctx, res)
	}
	obj, err := res.Body()
	if err != nil {
		return 0, templateError(err)
	}
	body, err := json.Marshal(expr.ToPlain(obj))
	if err != nil {
		return 0, err
	}
	status, resp, err := d.Do(ctx, r.caller, http.MethodPut, res.ID, res.APIVersion, body, r.req.CorrelationID)
	if err != nil {
		return 0, err
	}
	if status >= 400 {
		return status, decodeFrontDoorError(status, resp)
	}
	return status, nil
}

// applyNested deploys a nested deployment as ARM does: as a deployment of
// its own at its target scope (a record in that scope's history, readable
// with reference() and the deployment API), which needs
// Microsoft.Resources/deployments/write there, and whose resources go
// through the front door as the caller like any other.
func (r *run) applyNested(ctx context.Context, res *template.Resource) (int, error) {
	e := r.engine
	n := res.Nested
	target := ScopeID(n.Scope)
	if e.cfg.Allowed != nil && !e.cfg.Allowed(r.caller.ObjectID, "Microsoft.Resources/deployments/write", target) {
		return http.StatusForbidden, &frontDoorError{status: http.StatusForbidden, code: "AuthorizationFailed",
			message: fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action 'Microsoft.Resources/deployments/write' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
				callerName(r.caller), r.caller.ObjectID, target)}
	}
	p, err := e.prepareNested(ctx, r.caller, r.req, res, false, nil)
	if err != nil {
		return 0, err
	}
	child, err := e.newRun(ctx, r.caller, p, func() {})
	if err != nil {
		return 0, err
	}
	child.executeAndRelease(ctx)
	state := child.rec.Properties.ProvisioningState
	if state != "Succeeded" {
		detail := &ErrorDetail{Code: "DeploymentFailed", Message: fmt.Sprintf("The nested deployment '%s' ended %s.", res.Name, state)}
		if pe := child.rec.Properties.Error; pe != nil {
			detail = &ErrorDetail{Code: pe.Code, Message: pe.Message, Details: pe.Details}
		}
		return http.StatusOK, &frontDoorError{status: http.StatusBadRequest, code: detail.Code, message: detail.Message, details: detail.Details}
	}
	return http.StatusCreated, nil
}

// prepareNested binds a nested deployment for its own run (or what-if):
// its scope's context read through the front door, its template bound to
// the parameters the parent passes (inner scope) or to the parent's own
// (outer scope).
func (e *Engine) prepareNested(ctx context.Context, caller Caller, parent Request, res *template.Resource, whatIf bool, predicted map[string]any) (*prepared, error) {
	n := res.Nested
	loc := parent.Location
	d, resolver, err := e.deploymentContext(ctx, caller, n.Scope, res.Name, loc, parent.CorrelationID, whatIf, predicted)
	if err != nil {
		return nil, err
	}
	plan, err := n.Bind(d)
	if err != nil {
		return nil, templateError(err)
	}
	resolver.plan = plan
	var doc []byte
	if n.Template != nil {
		doc, _ = n.Template.Document()
	}
	req := Request{Scope: n.Scope, Name: res.Name, Location: loc, Mode: plan.Mode, CorrelationID: parent.CorrelationID,
		Parent: DeploymentID(parent.Scope, parent.Name)}
	p := &prepared{req: req, templateDoc: doc, plan: plan, resolver: resolver, hash: templateHash(doc), mode: plan.Mode,
		params: recordedParameters(plan)}
	if p.mode == "" {
		p.mode = "Incremental"
	}
	return p, nil
}

func callerName(c Caller) string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.ObjectID
}

func failureDetail(err error) *ErrorDetail {
	var fe *frontDoorError
	var de *Error
	switch {
	case errors.As(err, &fe):
		return fe.detail()
	case errors.As(err, &de):
		return &ErrorDetail{Code: de.Code, Message: de.Message, Details: de.Details}
	case errors.Is(err, context.Canceled):
		return &ErrorDetail{Code: "DeploymentCanceled", Message: "The deployment was canceled before this resource was deployed."}
	}
	return &ErrorDetail{Code: "ResourceDeploymentFailure", Message: err.Error()}
}

func statusName(status int) string {
	switch status {
	case http.StatusOK:
		return "OK"
	case http.StatusCreated:
		return "Created"
	case http.StatusAccepted:
		return "Accepted"
	case http.StatusNoContent:
		return "NoContent"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

func (r *run) fail(d *ErrorDetail) {
	r.mu.Lock()
	r.failures = append(r.failures, d)
	r.mu.Unlock()
}

func (r *run) putOp(op *Operation) {
	r.mu.Lock()
	cp := *op
	r.ops[op.OperationID] = &cp
	r.dirtyOps[op.OperationID] = true
	r.mu.Unlock()
}

// flushOps writes changed operations in one store transaction: never a
// write per operation, so that an 800-resource deployment costs a few
// transactions of its own beside its resources'.
func (r *run) flushOps(ctx context.Context, final bool) {
	r.mu.Lock()
	if len(r.dirtyOps) == 0 {
		r.mu.Unlock()
		return
	}
	now := r.engine.cfg.Now().UTC()
	batch := make([]store.DeploymentOperation, 0, len(r.dirtyOps))
	for id := range r.dirtyOps {
		doc, err := json.Marshal(r.ops[id])
		if err != nil {
			continue
		}
		batch = append(batch, store.DeploymentOperation{Scope: ScopeID(r.req.Scope), DeploymentName: r.req.Name, OperationID: id, Document: doc, UpdatedAt: now})
	}
	r.dirtyOps = map[string]bool{}
	r.mu.Unlock()
	_, err := r.engine.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return tx.PutDeploymentOperations(ctx, ScopeID(r.req.Scope), r.req.Name, batch)
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		r.engine.log.Warn("deployment: record operations", "deployment", r.req.Name, "err", err, "final", final)
		r.mu.Lock()
		for _, o := range batch {
			r.dirtyOps[o.OperationID] = true
		}
		r.mu.Unlock()
	}
}
