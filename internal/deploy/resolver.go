package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/keyless-io/keyless/internal/deploy/expr"
	"github.com/keyless-io/keyless/internal/deploy/template"
)

// frontDoorError is a failed in-process ARM request, with the front
// door's own status, code and message.
type frontDoorError struct {
	status  int
	code    string
	message string
	details []*ErrorDetail
}

func (e *frontDoorError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.code, e.status, e.message)
}

func (e *frontDoorError) detail() *ErrorDetail {
	return &ErrorDetail{Code: e.code, Message: e.message, Details: e.details}
}

func decodeFrontDoorError(status int, body []byte) *frontDoorError {
	var doc struct {
		Error *ErrorDetail `json:"error"`
	}
	fe := &frontDoorError{status: status, code: http.StatusText(status), message: strings.TrimSpace(string(body))}
	if json.Unmarshal(body, &doc) == nil && doc.Error != nil {
		fe.code, fe.message, fe.details = doc.Error.Code, doc.Error.Message, doc.Error.Details
	}
	return fe
}

// resolver answers the template functions that read ARM — reference(),
// list*(), providers() — through the front door as the caller. In a
// what-if it answers reference() of resources the same template creates
// from their predicted state.
type resolver struct {
	engine        *Engine
	caller        Caller
	ctx           context.Context
	scope         Scope
	correlationID string
	plan          *template.Plan
	whatIf        bool

	mu        sync.Mutex
	predicted map[string]any // lower-case ID -> predicted envelope (what-if)
}

var _ template.Resolver = (*resolver)(nil)

// call dispatches one request and decodes a JSON answer.
func (r *resolver) call(method, path, apiVersion string, body []byte) (any, error) {
	status, resp, err := r.engine.cfg.Dispatch.Do(r.ctx, r.caller, method, path, apiVersion, body, r.correlationID)
	if err != nil {
		return nil, err
	}
	if status >= 400 {
		return nil, decodeFrontDoorError(status, resp)
	}
	if len(resp) == 0 {
		return nil, nil
	}
	v, err := expr.DecodeJSON(resp)
	if err != nil {
		return nil, fmt.Errorf("%s %s answered invalid JSON: %w", method, path, err)
	}
	return v, nil
}

// get reads a resource; in a what-if, a resource the deployment creates
// reads as predicted.
func (r *resolver) get(path, apiVersion string) (any, error) {
	if r.whatIf {
		r.mu.Lock()
		p, ok := r.predicted[strings.ToLower(path)]
		r.mu.Unlock()
		if ok {
			return p, nil
		}
	}
	return r.call(http.MethodGet, path, apiVersion, nil)
}

// apiVersionFor is the api-version of a resource in the plan, else a
// version the front door accepts for any type.
func (r *resolver) apiVersionFor(id string) string {
	if r.plan != nil {
		for _, res := range r.plan.Resources {
			if strings.EqualFold(res.ID, id) && res.APIVersion != "" {
				return res.APIVersion
			}
		}
	}
	return resourcesAPIVersion
}

// Reference returns what reference() returns: the resource's properties
// (with provisioningState, which keyless adds to every resource), or with
// full the whole envelope including the identity keyless minted. A
// property keyless does not have is then missing, and the expression's
// property access fails as ARM's does.
func (r *resolver) Reference(id, apiVersion string, full bool) (any, error) {
	if r.whatIf {
		r.mu.Lock()
		p, ok := r.predicted[strings.ToLower(id)]
		r.mu.Unlock()
		if ok {
			return pick(p, full), nil
		}
	}
	if apiVersion == "" {
		apiVersion = r.apiVersionFor(id)
	}
	v, err := r.get(id, apiVersion)
	if err != nil {
		if fe, ok := err.(*frontDoorError); ok && fe.status == http.StatusNotFound {
			return nil, fmt.Errorf("The Resource '%s' was not found. reference() can only read resources that exist or that this deployment creates before it.", id)
		}
		return nil, err
	}
	return pick(v, full), nil
}

func pick(envelope any, full bool) any {
	if full {
		return envelope
	}
	if o, ok := envelope.(*expr.Object); ok {
		if p, ok := o.Get("properties"); ok {
			return p
		}
		return expr.NewObject(0)
	}
	return envelope
}

// List is a list*() function: the POST action on the resource. A type
// whose action keyless does not implement fails with the front door's
// answer; nothing is made up.
func (r *resolver) List(function, id, apiVersion string, body any) (any, error) {
	if r.whatIf {
		return nil, fmt.Errorf("The template function '%s' cannot be evaluated by what-if: it would call an action on '%s'.", function, id)
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(expr.ToPlain(body)); err != nil {
			return nil, err
		}
	}
	v, err := r.call(http.MethodPost, strings.TrimSuffix(id, "/")+"/"+function, apiVersion, b)
	if err != nil {
		if fe, ok := err.(*frontDoorError); ok && (fe.status == http.StatusNotFound || fe.status == http.StatusMethodNotAllowed) {
			return nil, fmt.Errorf("The resource '%s' does not support the action '%s': keyless stores resources of this type without their service, so it has no such action to call.", id, function)
		}
		return nil, err
	}
	return v, nil
}

// Providers is providers(namespace, [type]) from the front door's provider
// metadata.
func (r *resolver) Providers(namespace, resourceType string) (any, error) {
	if r.scope.SubscriptionID == "" {
		return nil, fmt.Errorf("The template function 'providers' needs a subscription: it is not available at this scope.")
	}
	v, err := r.get("/subscriptions/"+r.scope.SubscriptionID+"/providers/"+namespace, resourcesAPIVersion)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*expr.Object)
	if !ok {
		return v, nil
	}
	if resourceType == "" {
		return o, nil
	}
	types, _ := o.Get("resourceTypes")
	list, _ := types.([]any)
	for _, t := range list {
		if to, ok := t.(*expr.Object); ok {
			if name, _ := to.Get("resourceType"); strings.EqualFold(fmt.Sprint(name), resourceType) {
				return to, nil
			}
		}
	}
	return nil, fmt.Errorf("The resource type '%s' was not found in the namespace '%s'.", resourceType, namespace)
}

// predict records what-if's view of a resource the template creates.
func (r *resolver) predict(id string, envelope any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.predicted == nil {
		r.predicted = map[string]any{}
	}
	r.predicted[strings.ToLower(id)] = envelope
}
