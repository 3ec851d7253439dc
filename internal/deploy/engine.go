// Package deploy runs ARM template deployments: it binds a template to its
// parameters (internal/deploy/template), deploys the resources in dependency
// order, independent ones in parallel, computes what-if, and keeps each
// deployment's record (status, operations, outputs) in the store so that it
// survives restarts and is readable from every replica.
//
// The engine never writes a resource to the store itself. Every resource
// write, every reference() and every list*() is one ARM request dispatched
// in process through the same route table, domain code and RBAC checks as a
// direct call, acting as the deploying caller (Dispatcher). So a deployment
// can do nothing its caller could not do, and every rule keyless enforces
// (linked authorization for identities, lifecycle cascades, read-your-writes,
// audit) holds for deployed resources with no second code path. The only
// store writes here are the deployment's own record and operations.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/deploy/expr"
	"github.com/keyless-io/keyless/internal/store"
)

// Caller is the principal a deployment acts as.
type Caller struct {
	ObjectID    string
	AppID       string
	TenantID    string
	DisplayName string
}

// Dispatcher sends one ARM request in process, as caller, through the
// front door (routing, api-version, RBAC, validation, audit) and returns
// its status and body. correlationID ties the request to its deployment in
// the audit log, as ARM does.
type Dispatcher interface {
	Do(ctx context.Context, caller Caller, method, path, apiVersion string, body []byte, correlationID string) (status int, respBody []byte, err error)
}

// Limits Azure enforces on deployments.
const (
	// MaxTemplateBytes is the template size limit (4 MB).
	MaxTemplateBytes = 4 << 20
	// HistoryLimit is how many finished deployments a scope keeps; the
	// oldest are deleted beyond it, as Azure does.
	HistoryLimit = 800
	// parallelism bounds concurrent resource requests of one deployment.
	parallelism = 8
	// heartbeat is how often a running deployment touches its record, so
	// that other replicas can tell a live run from an abandoned one.
	heartbeat = 10 * time.Second
	// abandonedAfter marks a Running record Failed when its heartbeat
	// stopped this long ago (the replica running it died).
	abandonedAfter = 6 * heartbeat
)

// Config wires an Engine.
type Config struct {
	Store    store.Store
	Dispatch Dispatcher
	TenantID string
	// Environment is environment(): keyless's own cloud description.
	Environment any
	Logger      *slog.Logger
	Now         func() time.Time
	// SingleReplica says no other process shares the store (SQLite): at
	// start every Running deployment is known to be abandoned.
	SingleReplica bool
	// Allowed is the RBAC decision the front door makes. The engine asks
	// it only for what it does without a request of its own: a nested
	// deployment's Microsoft.Resources/deployments/write at its target
	// scope (its resources then go through the front door one by one).
	Allowed func(principalID, action, scope string) bool
}

// Engine runs deployments.
type Engine struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	running map[string]*run // by recordKey
	wg      sync.WaitGroup
	stop    context.CancelFunc
	base    context.Context
}

// New builds an engine. Call Recover once the server can serve requests,
// and Close at shutdown.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{cfg: cfg, log: cfg.Logger, running: map[string]*run{}, base: ctx, stop: cancel}
}

// Close stops every running deployment (each is marked Failed with a clear
// error) and waits for them.
func (e *Engine) Close() {
	e.stop()
	e.wg.Wait()
}

// Scope is where a deployment runs.
type Scope = expr.Scope

// ScopeID renders a scope as ARM writes it: the tenant is "/".
func ScopeID(s Scope) string {
	if id := s.ID(); id != "" {
		return id
	}
	return "/"
}

// DeploymentID is the resource ID of a deployment.
func DeploymentID(s Scope, name string) string {
	return s.ID() + "/providers/Microsoft.Resources/deployments/" + name
}

// recordKey names a deployment in the running map: its scope ID and name,
// case-folded, as isLocal looks it up from a stored record.
func recordKey(scope Scope, name string) string {
	return strings.ToLower(ScopeID(scope) + "|" + name)
}

// Request is one deployment as the API received it.
type Request struct {
	Scope    Scope
	Name     string
	Location string
	Tags     map[string]string
	// Template is the inline template; TemplateLink is refused (keyless
	// cannot fetch remote content) with InvalidContentLink.
	Template       json.RawMessage
	TemplateLink   json.RawMessage
	Parameters     json.RawMessage
	ParametersLink json.RawMessage
	Mode           string // Incremental (default) or Complete
	OnError        *OnError
	DebugSetting   json.RawMessage
	CorrelationID  string
	// Parent is set for a nested deployment started by another one.
	Parent string
}

// OnError is onErrorDeployment.
type OnError struct {
	Type           string `json:"type"`
	DeploymentName string `json:"deploymentName,omitempty"`
}

// Error is a deployment failure in ARM's shape: a status for the API, a
// code, a message, and nested details.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Target  string         `json:"target,omitempty"`
	Details []*ErrorDetail `json:"details,omitempty"`
}

// ErrorDetail is one nested ARM error.
type ErrorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Target  string         `json:"target,omitempty"`
	Details []*ErrorDetail `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is a deployment that does not exist.
var ErrNotFound = errors.New("deploy: deployment not found")

// Start validates the request (a template or parameter error is refused
// here, before anything is accepted, as ARM does), records the deployment
// as Accepted and runs it in the background. It returns the record.
func (e *Engine) Start(ctx context.Context, caller Caller, req Request) (Record, error) {
	if req.CorrelationID == "" {
		req.CorrelationID = uuid.NewString()
	}
	prepared, err := e.prepare(ctx, caller, req, false)
	if err != nil {
		return Record{}, err
	}
	key := recordKey(req.Scope, req.Name)
	e.mu.Lock()
	if _, busy := e.running[key]; busy {
		e.mu.Unlock()
		return Record{}, errorf(http.StatusConflict, "DeploymentActive",
			"The deployment '%s' is still running; wait for it to finish or cancel it before deploying again under the same name.", req.Name)
	}
	e.mu.Unlock()
	if existing, err := e.Get(ctx, req.Scope, req.Name); err == nil && isActive(existing.Properties.ProvisioningState) {
		return Record{}, errorf(http.StatusConflict, "DeploymentActive",
			"The deployment '%s' is still running; wait for it to finish or cancel it before deploying again under the same name.", req.Name)
	}

	runCtx, cancel := context.WithCancel(e.base)
	r, err := e.newRun(ctx, caller, prepared, cancel)
	if err != nil {
		cancel()
		return Record{}, err
	}
	rec := r.rec
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer cancel()
		r.executeAndRelease(runCtx)
	}()
	return rec, nil
}

// newRun records a prepared deployment as Accepted and registers its run,
// so that Recover never takes it for abandoned.
func (e *Engine) newRun(ctx context.Context, caller Caller, p *prepared, cancel context.CancelFunc) (*run, error) {
	now := e.cfg.Now().UTC()
	rec := p.record(now, "Accepted")
	if err := e.save(ctx, caller, p.req, rec, p.templateDoc, true); err != nil {
		return nil, err
	}
	key := recordKey(p.req.Scope, p.req.Name)
	r := &run{engine: e, caller: caller, req: p.req, prep: p, rec: rec, cancel: cancel, key: key, started: now, done: make(chan struct{})}
	e.mu.Lock()
	e.running[key] = r
	e.mu.Unlock()
	return r, nil
}

func (r *run) executeAndRelease(ctx context.Context) {
	r.execute(ctx)
	r.engine.mu.Lock()
	delete(r.engine.running, r.key)
	r.engine.mu.Unlock()
	close(r.done)
}

// Wait blocks until the named deployment, if it runs in this process, has
// finished (tests and nested deployments use it).
func (e *Engine) Wait(ctx context.Context, scope Scope, name string) error {
	e.mu.Lock()
	r := e.running[recordKey(scope, name)]
	e.mu.Unlock()
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isActive(state string) bool { return state == "Accepted" || state == "Running" }

// Cancel stops a running deployment: resources already deployed stay, as in
// Azure. A deployment that is not running cannot be canceled (409).
func (e *Engine) Cancel(ctx context.Context, caller Caller, scope Scope, name string) error {
	rec, err := e.Get(ctx, scope, name)
	if err != nil {
		return err
	}
	if !isActive(rec.Properties.ProvisioningState) {
		return errorf(http.StatusConflict, "DeploymentCannotBeCanceled",
			"The deployment '%s' cannot be canceled: its provisioning state is '%s'. Only a deployment that is Accepted or Running can be.", name, rec.Properties.ProvisioningState)
	}
	e.mu.Lock()
	r := e.running[recordKey(scope, name)]
	e.mu.Unlock()
	if r != nil {
		r.requestCancel()
		<-r.done
		return nil
	}
	// Another replica runs it: mark the record; that replica sees the
	// state at its next check and stops.
	_, err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		d, err := tx.GetDeployment(ctx, ScopeID(scope), name)
		if err != nil {
			return err
		}
		var doc Record
		if err := json.Unmarshal(d.Document, &doc); err != nil {
			return err
		}
		if !isActive(doc.Properties.ProvisioningState) {
			return nil
		}
		doc.Properties.ProvisioningState = "Canceled"
		d.State = "Canceled"
		d.Document, _ = json.Marshal(doc)
		d.UpdatedAt, d.UpdatedBy = e.cfg.Now().UTC(), caller.ObjectID
		_, err = tx.PutDeployment(ctx, d)
		return err
	})
	return mapStoreErr(err)
}

// Get reads a deployment's record.
func (e *Engine) Get(ctx context.Context, scope Scope, name string) (Record, error) {
	var rec Record
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		d, err := tx.GetDeployment(ctx, ScopeID(scope), name)
		if err != nil {
			return err
		}
		rec, err = decodeRecord(d)
		return err
	})
	return rec, mapStoreErr(err)
}

// Template returns the template a deployment ran, for exportTemplate.
func (e *Engine) Template(ctx context.Context, scope Scope, name string) (json.RawMessage, error) {
	var tpl json.RawMessage
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		d, err := tx.GetDeployment(ctx, ScopeID(scope), name)
		tpl = d.Template
		return err
	})
	return tpl, mapStoreErr(err)
}

// List reads the deployments at a scope, filtered by provisioning state,
// after a name cursor, at most limit.
func (e *Engine) List(ctx context.Context, scope Scope, state, after string, limit int) ([]Record, error) {
	var out []Record
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		ds, err := tx.ListDeployments(ctx, store.DeploymentFilter{Scope: ScopeID(scope), State: state, After: after, Limit: limit})
		if err != nil {
			return err
		}
		for _, d := range ds {
			rec, err := decodeRecord(d)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// Operations reads a deployment's operations.
func (e *Engine) Operations(ctx context.Context, scope Scope, name string) ([]Operation, error) {
	var out []Operation
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetDeployment(ctx, ScopeID(scope), name); err != nil {
			return err
		}
		ops, err := tx.ListDeploymentOperations(ctx, ScopeID(scope), name)
		if err != nil {
			return err
		}
		for _, o := range ops {
			var op Operation
			if err := json.Unmarshal(o.Document, &op); err != nil {
				return fmt.Errorf("deployment operation %s: %w", o.OperationID, err)
			}
			out = append(out, op)
		}
		return nil
	})
	return out, mapStoreErr(err)
}

// Delete removes a deployment's record (the resources it deployed stay, as
// in Azure). A running deployment cannot be deleted.
func (e *Engine) Delete(ctx context.Context, scope Scope, name string) (existed bool, err error) {
	rec, err := e.Get(ctx, scope, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if isActive(rec.Properties.ProvisioningState) {
		return false, errorf(http.StatusConflict, "DeploymentActive",
			"The deployment '%s' is still running and cannot be deleted; cancel it first.", name)
	}
	_, err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteDeployment(ctx, ScopeID(scope), name)
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, mapStoreErr(err)
}

// Recover marks deployments that were running when their server stopped as
// Failed, with a clear error: never left Running. With one replica
// (SQLite) every Running record is abandoned; with several, those whose
// heartbeat stopped. Call it at start and periodically.
func (e *Engine) Recover(ctx context.Context) (int, error) {
	now := e.cfg.Now().UTC()
	n := 0
	_, err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		n = 0
		for _, state := range []string{"Accepted", "Running"} {
			ds, err := tx.ListDeployments(ctx, store.DeploymentFilter{State: state})
			if err != nil {
				return err
			}
			for _, d := range ds {
				if e.isLocal(d.Scope, d.Name) || !e.cfg.SingleReplica && now.Sub(d.UpdatedAt) < abandonedAfter {
					continue
				}
				full, err := tx.GetDeployment(ctx, d.Scope, d.Name)
				if err != nil {
					return err
				}
				rec, err := decodeRecord(full)
				if err != nil {
					return err
				}
				rec.Properties.ProvisioningState = "Failed"
				rec.Properties.Error = &Error{Code: "DeploymentInterrupted",
					Message: "The deployment was interrupted: the keyless server running it stopped before it finished. Resources deployed before the stop remain; deploy again to finish."}
				full.State, full.UpdatedAt = "Failed", now
				full.Document, _ = json.Marshal(rec)
				if _, err := tx.PutDeployment(ctx, full); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, mapStoreErr(err)
}

func (e *Engine) isLocal(scopeID, name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.running[strings.ToLower(scopeID+"|"+name)]
	return ok
}

func mapStoreErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// Validate checks the request as Start would, through the same reads of
// the scope, and returns the record a deployment would start with, its
// validatedResources listing the resources it would deploy. Nothing is
// written.
func (e *Engine) Validate(ctx context.Context, caller Caller, req Request) (Record, error) {
	if req.CorrelationID == "" {
		req.CorrelationID = uuid.NewString()
	}
	p, err := e.prepare(ctx, caller, req, false)
	if err != nil {
		return Record{}, err
	}
	rec := p.record(e.cfg.Now().UTC(), "Succeeded")
	for _, r := range p.plan.Resources {
		rec.Properties.ValidatedResources = append(rec.Properties.ValidatedResources, ResourceRef{ID: r.ID})
	}
	return rec, nil
}
