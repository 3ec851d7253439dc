package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// This file is the one place that knows which DeploymentsClient and
// DeploymentOperationsClient method serves which scope: az calls the
// resource-group methods for `deployment group`, the ...AtSubscriptionScope
// ones for `deployment sub`, and so on; so does keyless.

type scopeKind int

const (
	groupScope scopeKind = iota
	subscriptionScope
	managementGroupScope
	tenantScope
)

// deploymentScope is where a deployment lives.
type deploymentScope struct {
	kind            scopeKind
	subscriptionID  string
	resourceGroup   string
	managementGroup string
}

// String names the scope in progress lines: "resource group 'rg-app'".
func (s deploymentScope) String() string {
	switch s.kind {
	case groupScope:
		return "resource group '" + s.resourceGroup + "'"
	case subscriptionScope:
		return "subscription '" + s.subscriptionID + "'"
	case managementGroupScope:
		return "management group '" + s.managementGroup + "'"
	}
	return "the tenant"
}

// deploymentTarget calls the deployment API at one scope.
type deploymentTarget struct {
	scope      deploymentScope
	client     *armdeploy.DeploymentsClient
	operations *armdeploy.DeploymentOperationsClient
}

func newDeploymentTarget(conn *Connection, scope deploymentScope) (*deploymentTarget, error) {
	opts := *conn.Options
	opts.PerCallPolicies = append(append([]policy.Policy{}, opts.PerCallPolicies...), templateTextPolicy{})
	client, err := armdeploy.NewDeploymentsClient(scope.subscriptionID, conn.Credential, &opts)
	if err != nil {
		return nil, err
	}
	ops, err := armdeploy.NewDeploymentOperationsClient(scope.subscriptionID, conn.Credential, &opts)
	if err != nil {
		return nil, err
	}
	return &deploymentTarget{scope: scope, client: client, operations: ops}, nil
}

// deploymentRequest is what create, validate and what-if send.
type deploymentRequest struct {
	name     string
	location string
	template *deploymentTemplate
	params   map[string]any
	mode     armdeploy.DeploymentMode
	onError  *armdeploy.OnErrorDeployment
	// resultFormat is what-if's --what-if-result-format.
	resultFormat armdeploy.WhatIfResultFormat
}

func (r deploymentRequest) properties() *armdeploy.DeploymentProperties {
	return &armdeploy.DeploymentProperties{Mode: to.Ptr(r.mode), Template: r.template.doc, Parameters: r.params, OnErrorDeployment: r.onError}
}

func (r deploymentRequest) whatIfProperties() *armdeploy.DeploymentWhatIfProperties {
	p := &armdeploy.DeploymentWhatIfProperties{Mode: to.Ptr(r.mode), Template: r.template.doc, Parameters: r.params, OnErrorDeployment: r.onError}
	if r.resultFormat != "" {
		p.WhatIfSettings = &armdeploy.DeploymentWhatIfSettings{ResultFormat: to.Ptr(r.resultFormat)}
	}
	return p
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return to.Ptr(s)
}

// deploymentPoller is a create's long-running operation, whatever the
// scope's response type.
type deploymentPoller interface {
	Done() bool
	Poll(ctx context.Context) error
	Result(ctx context.Context) (armdeploy.DeploymentExtended, error)
}

type sdkPoller[T any] struct {
	p      *runtime.Poller[T]
	result func(T) armdeploy.DeploymentExtended
}

func (s sdkPoller[T]) Done() bool { return s.p.Done() }

func (s sdkPoller[T]) Poll(ctx context.Context) error {
	_, err := s.p.Poll(ctx)
	return err
}

func (s sdkPoller[T]) Result(ctx context.Context) (armdeploy.DeploymentExtended, error) {
	r, err := s.p.Result(ctx)
	return s.result(r), err
}

func wrapPoller[T any](p *runtime.Poller[T], err error, result func(T) armdeploy.DeploymentExtended) (deploymentPoller, error) {
	if err != nil {
		return nil, err
	}
	return sdkPoller[T]{p, result}, nil
}

// beginCreate starts a deployment.
func (t *deploymentTarget) beginCreate(ctx context.Context, r deploymentRequest) (deploymentPoller, error) {
	ctx = withTemplateText(ctx, r.template.text)
	s := t.scope
	switch s.kind {
	case groupScope:
		p, err := t.client.BeginCreateOrUpdate(ctx, s.resourceGroup, r.name, armdeploy.Deployment{Properties: r.properties()}, nil)
		return wrapPoller(p, err, func(v armdeploy.DeploymentsClientCreateOrUpdateResponse) armdeploy.DeploymentExtended {
			return v.DeploymentExtended
		})
	case subscriptionScope:
		p, err := t.client.BeginCreateOrUpdateAtSubscriptionScope(ctx, r.name, armdeploy.Deployment{Location: optionalString(r.location), Properties: r.properties()}, nil)
		return wrapPoller(p, err, func(v armdeploy.DeploymentsClientCreateOrUpdateAtSubscriptionScopeResponse) armdeploy.DeploymentExtended {
			return v.DeploymentExtended
		})
	case managementGroupScope:
		p, err := t.client.BeginCreateOrUpdateAtManagementGroupScope(ctx, s.managementGroup, r.name, armdeploy.ScopedDeployment{Location: optionalString(r.location), Properties: r.properties()}, nil)
		return wrapPoller(p, err, func(v armdeploy.DeploymentsClientCreateOrUpdateAtManagementGroupScopeResponse) armdeploy.DeploymentExtended {
			return v.DeploymentExtended
		})
	}
	p, err := t.client.BeginCreateOrUpdateAtTenantScope(ctx, r.name, armdeploy.ScopedDeployment{Location: optionalString(r.location), Properties: r.properties()}, nil)
	return wrapPoller(p, err, func(v armdeploy.DeploymentsClientCreateOrUpdateAtTenantScopeResponse) armdeploy.DeploymentExtended {
		return v.DeploymentExtended
	})
}

// validate checks a deployment without running it. A template ARM refuses
// is an error; so is a 400 result that the SDK hands back as a
// DeploymentValidateResult carrying the error.
func (t *deploymentTarget) validate(ctx context.Context, r deploymentRequest) (armdeploy.DeploymentValidateResult, error) {
	ctx = withTemplateText(ctx, r.template.text)
	var res armdeploy.DeploymentValidateResult
	var err error
	s := t.scope
	switch s.kind {
	case groupScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientValidateResponse]
		if p, err = t.client.BeginValidate(ctx, s.resourceGroup, r.name, armdeploy.Deployment{Properties: r.properties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientValidateResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.DeploymentValidateResult
		}
	case subscriptionScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientValidateAtSubscriptionScopeResponse]
		if p, err = t.client.BeginValidateAtSubscriptionScope(ctx, r.name, armdeploy.Deployment{Location: optionalString(r.location), Properties: r.properties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientValidateAtSubscriptionScopeResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.DeploymentValidateResult
		}
	case managementGroupScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientValidateAtManagementGroupScopeResponse]
		if p, err = t.client.BeginValidateAtManagementGroupScope(ctx, s.managementGroup, r.name, armdeploy.ScopedDeployment{Location: optionalString(r.location), Properties: r.properties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientValidateAtManagementGroupScopeResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.DeploymentValidateResult
		}
	default:
		var p *runtime.Poller[armdeploy.DeploymentsClientValidateAtTenantScopeResponse]
		if p, err = t.client.BeginValidateAtTenantScope(ctx, r.name, armdeploy.ScopedDeployment{Location: optionalString(r.location), Properties: r.properties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientValidateAtTenantScopeResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.DeploymentValidateResult
		}
	}
	if err != nil {
		return res, err
	}
	if res.Error != nil {
		return res, &deploymentError{err: res.Error}
	}
	return res, nil
}

// whatIfResult is the SDK's WhatIfOperationResult and the raw document it
// was read from, which also carries keyless's properties.accessChanges
// (the SDK model has no field for it).
type whatIfResult struct {
	armdeploy.WhatIfOperationResult
	raw map[string]any
}

// accessChanges are keyless's access summary; ok is false when the server
// sent none (it is not keyless).
func (w whatIfResult) accessChanges() (changes []accessChange, ok bool) {
	props, _ := w.raw["properties"].(map[string]any)
	list, ok := props["accessChanges"].([]any)
	if !ok {
		return nil, false
	}
	for _, item := range list {
		m, _ := item.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		changes = append(changes, accessChange{
			changeType: str("changeType"), principalID: str("principalId"), identity: str("identity"),
			roleDefinitionID: str("roleDefinitionId"), roleName: str("roleName"), scope: str("scope"), resourceID: str("resourceId"),
		})
	}
	return changes, true
}

// accessChange is one entry of properties.accessChanges.
type accessChange struct {
	changeType, principalID, identity, roleDefinitionID, roleName, scope, resourceID string
}

// whatIf predicts what a deployment would change.
func (t *deploymentTarget) whatIf(ctx context.Context, r deploymentRequest) (whatIfResult, error) {
	ctx = withTemplateText(ctx, r.template.text)
	// The last response the pipeline saw is the one the result was read
	// from.
	var last *http.Response
	ctx = runtime.WithCaptureResponse(ctx, &last)
	var res armdeploy.WhatIfOperationResult
	var err error
	s := t.scope
	switch s.kind {
	case groupScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientWhatIfResponse]
		if p, err = t.client.BeginWhatIf(ctx, s.resourceGroup, r.name, armdeploy.DeploymentWhatIf{Properties: r.whatIfProperties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientWhatIfResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.WhatIfOperationResult
		}
	case subscriptionScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientWhatIfAtSubscriptionScopeResponse]
		if p, err = t.client.BeginWhatIfAtSubscriptionScope(ctx, r.name, armdeploy.DeploymentWhatIf{Location: optionalString(r.location), Properties: r.whatIfProperties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientWhatIfAtSubscriptionScopeResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.WhatIfOperationResult
		}
	case managementGroupScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientWhatIfAtManagementGroupScopeResponse]
		if p, err = t.client.BeginWhatIfAtManagementGroupScope(ctx, s.managementGroup, r.name, armdeploy.ScopedDeploymentWhatIf{Location: optionalString(r.location), Properties: r.whatIfProperties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientWhatIfAtManagementGroupScopeResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.WhatIfOperationResult
		}
	default:
		var p *runtime.Poller[armdeploy.DeploymentsClientWhatIfAtTenantScopeResponse]
		if p, err = t.client.BeginWhatIfAtTenantScope(ctx, r.name, armdeploy.ScopedDeploymentWhatIf{Location: optionalString(r.location), Properties: r.whatIfProperties()}, nil); err == nil {
			var v armdeploy.DeploymentsClientWhatIfAtTenantScopeResponse
			v, err = p.PollUntilDone(ctx, pollOptions)
			res = v.WhatIfOperationResult
		}
	}
	if err != nil {
		return whatIfResult{}, err
	}
	if res.Error != nil {
		return whatIfResult{}, &deploymentError{err: res.Error}
	}
	out := whatIfResult{WhatIfOperationResult: res}
	if last != nil {
		if body, err := runtime.Payload(last); err == nil {
			var raw map[string]any
			if decodeJSONNumbers(body, &raw) == nil && raw["properties"] != nil {
				out.raw = raw
			}
		}
	}
	return out, nil
}

// get reads a deployment.
func (t *deploymentTarget) get(ctx context.Context, name string) (armdeploy.DeploymentExtended, error) {
	s := t.scope
	switch s.kind {
	case groupScope:
		r, err := t.client.Get(ctx, s.resourceGroup, name, nil)
		return r.DeploymentExtended, err
	case subscriptionScope:
		r, err := t.client.GetAtSubscriptionScope(ctx, name, nil)
		return r.DeploymentExtended, err
	case managementGroupScope:
		r, err := t.client.GetAtManagementGroupScope(ctx, s.managementGroup, name, nil)
		return r.DeploymentExtended, err
	}
	r, err := t.client.GetAtTenantScope(ctx, name, nil)
	return r.DeploymentExtended, err
}

// list reads the scope's deployments, every page.
func (t *deploymentTarget) list(ctx context.Context, filter string, top int32) ([]*armdeploy.DeploymentExtended, error) {
	f, n := optionalString(filter), (*int32)(nil)
	if top > 0 {
		n = to.Ptr(top)
	}
	s := t.scope
	switch s.kind {
	case groupScope:
		return drainPages(ctx, t.client.NewListByResourceGroupPager(s.resourceGroup, &armdeploy.DeploymentsClientListByResourceGroupOptions{Filter: f, Top: n}),
			func(p armdeploy.DeploymentsClientListByResourceGroupResponse) []*armdeploy.DeploymentExtended {
				return p.Value
			}, top)
	case subscriptionScope:
		return drainPages(ctx, t.client.NewListAtSubscriptionScopePager(&armdeploy.DeploymentsClientListAtSubscriptionScopeOptions{Filter: f, Top: n}),
			func(p armdeploy.DeploymentsClientListAtSubscriptionScopeResponse) []*armdeploy.DeploymentExtended {
				return p.Value
			}, top)
	case managementGroupScope:
		return drainPages(ctx, t.client.NewListAtManagementGroupScopePager(s.managementGroup, &armdeploy.DeploymentsClientListAtManagementGroupScopeOptions{Filter: f, Top: n}),
			func(p armdeploy.DeploymentsClientListAtManagementGroupScopeResponse) []*armdeploy.DeploymentExtended {
				return p.Value
			}, top)
	}
	return drainPages(ctx, t.client.NewListAtTenantScopePager(&armdeploy.DeploymentsClientListAtTenantScopeOptions{Filter: f, Top: n}),
		func(p armdeploy.DeploymentsClientListAtTenantScopeResponse) []*armdeploy.DeploymentExtended {
			return p.Value
		}, top)
}

// drainPages reads every page; with top > 0 it stops once it has top
// items ($top is a page size to ARM, and az's --top is a total).
func drainPages[P any, T any](ctx context.Context, pager *runtime.Pager[P], items func(P) []*T, top int32) ([]*T, error) {
	out := []*T{}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, items(page)...)
		if top > 0 && len(out) >= int(top) {
			return out[:top], nil
		}
	}
	return out, nil
}

// delete removes a deployment's record (its resources stay).
func (t *deploymentTarget) delete(ctx context.Context, name string, noWait bool) error {
	var err error
	var wait func() error
	s := t.scope
	switch s.kind {
	case groupScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientDeleteResponse]
		p, err = t.client.BeginDelete(ctx, s.resourceGroup, name, nil)
		wait = func() error { _, err := p.PollUntilDone(ctx, pollOptions); return err }
	case subscriptionScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientDeleteAtSubscriptionScopeResponse]
		p, err = t.client.BeginDeleteAtSubscriptionScope(ctx, name, nil)
		wait = func() error { _, err := p.PollUntilDone(ctx, pollOptions); return err }
	case managementGroupScope:
		var p *runtime.Poller[armdeploy.DeploymentsClientDeleteAtManagementGroupScopeResponse]
		p, err = t.client.BeginDeleteAtManagementGroupScope(ctx, s.managementGroup, name, nil)
		wait = func() error { _, err := p.PollUntilDone(ctx, pollOptions); return err }
	default:
		var p *runtime.Poller[armdeploy.DeploymentsClientDeleteAtTenantScopeResponse]
		p, err = t.client.BeginDeleteAtTenantScope(ctx, name, nil)
		wait = func() error { _, err := p.PollUntilDone(ctx, pollOptions); return err }
	}
	if err != nil || noWait {
		return err
	}
	return wait()
}

// cancel stops a running deployment.
func (t *deploymentTarget) cancel(ctx context.Context, name string) error {
	s := t.scope
	var err error
	switch s.kind {
	case groupScope:
		_, err = t.client.Cancel(ctx, s.resourceGroup, name, nil)
	case subscriptionScope:
		_, err = t.client.CancelAtSubscriptionScope(ctx, name, nil)
	case managementGroupScope:
		_, err = t.client.CancelAtManagementGroupScope(ctx, s.managementGroup, name, nil)
	default:
		_, err = t.client.CancelAtTenantScope(ctx, name, nil)
	}
	return err
}

// exportTemplate reads the template a deployment ran.
func (t *deploymentTarget) exportTemplate(ctx context.Context, name string) (any, error) {
	s := t.scope
	switch s.kind {
	case groupScope:
		r, err := t.client.ExportTemplate(ctx, s.resourceGroup, name, nil)
		return r.Template, err
	case subscriptionScope:
		r, err := t.client.ExportTemplateAtSubscriptionScope(ctx, name, nil)
		return r.Template, err
	case managementGroupScope:
		r, err := t.client.ExportTemplateAtManagementGroupScope(ctx, s.managementGroup, name, nil)
		return r.Template, err
	}
	r, err := t.client.ExportTemplateAtTenantScope(ctx, name, nil)
	return r.Template, err
}

// listOperations reads a deployment's operations, one per resource.
func (t *deploymentTarget) listOperations(ctx context.Context, name string) ([]*armdeploy.DeploymentOperation, error) {
	s := t.scope
	switch s.kind {
	case groupScope:
		return drainPages(ctx, t.operations.NewListPager(s.resourceGroup, name, nil),
			func(p armdeploy.DeploymentOperationsClientListResponse) []*armdeploy.DeploymentOperation {
				return p.Value
			}, 0)
	case subscriptionScope:
		return drainPages(ctx, t.operations.NewListAtSubscriptionScopePager(name, nil),
			func(p armdeploy.DeploymentOperationsClientListAtSubscriptionScopeResponse) []*armdeploy.DeploymentOperation {
				return p.Value
			}, 0)
	case managementGroupScope:
		return drainPages(ctx, t.operations.NewListAtManagementGroupScopePager(s.managementGroup, name, nil),
			func(p armdeploy.DeploymentOperationsClientListAtManagementGroupScopeResponse) []*armdeploy.DeploymentOperation {
				return p.Value
			}, 0)
	}
	return drainPages(ctx, t.operations.NewListAtTenantScopePager(name, nil),
		func(p armdeploy.DeploymentOperationsClientListAtTenantScopeResponse) []*armdeploy.DeploymentOperation {
			return p.Value
		}, 0)
}

// ---- Sending the template as written ----------------------------------

type templateTextKey struct{}

func withTemplateText(ctx context.Context, text []byte) context.Context {
	return context.WithValue(ctx, templateTextKey{}, text)
}

// templateTextPolicy puts the template file's own text in place of the
// SDK's re-encoding of it in properties.template, so that line and column
// in the server's template errors are the file's. az does the same with
// its JsonCTemplatePolicy. Any body it cannot take apart is sent as the
// SDK made it.
type templateTextPolicy struct{}

func (templateTextPolicy) Do(req *policy.Request) (*http.Response, error) {
	text, _ := req.Raw().Context().Value(templateTextKey{}).([]byte)
	if len(text) == 0 || req.Body() == nil || (req.Raw().Method != http.MethodPut && req.Raw().Method != http.MethodPost) {
		return req.Next()
	}
	body, err := io.ReadAll(req.Body())
	if err != nil {
		return nil, err
	}
	if err := req.RewindBody(); err != nil {
		return nil, err
	}
	if spliced, ok := spliceTemplate(body, text); ok {
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(spliced)), "application/json"); err != nil {
			return nil, err
		}
	}
	return req.Next()
}

// spliceTemplate rebuilds body with properties.template replaced by text.
func spliceTemplate(body, text []byte) ([]byte, bool) {
	top, ok := rawMembers(body)
	if !ok {
		return nil, false
	}
	for i := range top {
		if top[i].key != "properties" {
			continue
		}
		props, ok := rawMembers(top[i].value)
		if !ok {
			return nil, false
		}
		for j := range props {
			if props[j].key == "template" {
				props[j].value = text
				top[i].value = writeMembers(props)
				return writeMembers(top), true
			}
		}
	}
	return nil, false
}

type rawMember struct {
	key   string
	value []byte
}

// rawMembers splits a JSON object into its members, values byte for byte.
func rawMembers(obj []byte) ([]rawMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []rawMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, rawMember{key, v})
	}
	return out, true
}

func writeMembers(members []rawMember) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// ---- Errors -------------------------------------------------------------

// deploymentError is an ARM error document that came back as a result
// (validate's and what-if's error member) rather than as a failed call.
type deploymentError struct{ err *armdeploy.ErrorResponse }

func (e *deploymentError) Error() string {
	return "(" + derefString(e.err.Code) + ") " + oneLine(derefString(e.err.Message))
}

// armErrorTree is an ARM error with its nested details.
type armErrorTree struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Target  string          `json:"target"`
	Details []*armErrorTree `json:"details"`
}

func fromErrorResponse(e *armdeploy.ErrorResponse) *armErrorTree {
	if e == nil {
		return nil
	}
	t := &armErrorTree{Code: derefString(e.Code), Message: derefString(e.Message), Target: derefString(e.Target)}
	for _, d := range e.Details {
		if d != nil {
			t.Details = append(t.Details, fromErrorResponse(d))
		}
	}
	return t
}

// errorTreeOf reads the ARM error with its details out of err: a failed
// call's body ({"error": ...}, or a failed operation's status document,
// which has the same member) or a result's error member.
func errorTreeOf(err error) *armErrorTree {
	var de *deploymentError
	if errors.As(err, &de) {
		return fromErrorResponse(de.err)
	}
	body := responseBody(err)
	if body == nil {
		return nil
	}
	var doc struct {
		Error *armErrorTree `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Error == nil || doc.Error.Code == "" {
		return nil
	}
	return doc.Error
}

// responseBody is the body of a failed call's response, or nil.
func responseBody(err error) []byte {
	var respErr *azcore.ResponseError
	if !errors.As(err, &respErr) || respErr.RawResponse == nil {
		return nil
	}
	body, perr := runtime.Payload(respErr.RawResponse)
	if perr != nil {
		return nil
	}
	return body
}

// writeErrorTree prints an ARM error as the keyless binary prints one
// ("keyless: (Code) message"), then its details, each level indented two
// more spaces.
func writeErrorTree(w io.Writer, t *armErrorTree) {
	var walk func(t *armErrorTree, depth int)
	walk = func(t *armErrorTree, depth int) {
		line := "(" + t.Code + ") " + oneLine(t.Message)
		if t.Target != "" && !strings.Contains(t.Message, t.Target) {
			line += " (target: " + t.Target + ")"
		}
		if depth == 0 {
			io.WriteString(w, "keyless: "+line+"\n")
		} else {
			io.WriteString(w, strings.Repeat("  ", depth)+line+"\n")
		}
		for _, d := range t.Details {
			walk(d, depth+1)
		}
	}
	walk(t, 0)
}
