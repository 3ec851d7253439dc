// Package deployapi serves Microsoft.Resources/deployments on the ARM front
// door at every scope (resource group, subscription, management group,
// tenant): create (a real long-running operation), get, check existence,
// list, delete, cancel, validate, what-if, export and the deployment
// operations, as armresources' DeploymentsClient (api-version 2021-04-01)
// and armdeployments (2025-04-01) send them. It decodes, calls the deploy
// engine and encodes; it runs nothing itself.
package deployapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/deploy"
)

// Versions are the Microsoft.Resources versions that carry deployments.
var Versions = arm.VersionPolicy{Versions: []string{
	"2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-09-01", "2021-04-01",
	"2021-01-01", "2020-10-01", "2020-06-01", "2019-10-01", "2019-08-01", "2019-07-01", "2019-05-10",
	"2019-05-01", "2019-03-01", "2018-05-01", "2018-02-01", "2017-05-10", "2016-09-01",
}}

// RBAC actions.
const (
	ActionRead          = "Microsoft.Resources/deployments/read"
	ActionWrite         = "Microsoft.Resources/deployments/write"
	ActionDelete        = "Microsoft.Resources/deployments/delete"
	ActionCancel        = "Microsoft.Resources/deployments/cancel/action"
	ActionValidate      = "Microsoft.Resources/deployments/validate/action"
	ActionWhatIf        = "Microsoft.Resources/deployments/whatIf/action"
	ActionExport        = "Microsoft.Resources/deployments/exportTemplate/action"
	ActionOperationRead = "Microsoft.Resources/deployments/operations/read"
	ActionStatusRead    = "Microsoft.Resources/deployments/operationstatuses/read"
)

// Config wires the routes.
type Config struct {
	Engine *deploy.Engine
	// BaseURL is the external https origin for Azure-AsyncOperation URLs.
	BaseURL string
	// PageSize is the list page size (0: 100).
	PageSize int
}

type handlers struct{ cfg Config }

const (
	deployments = "/providers/Microsoft.Resources/deployments"
	sampleGroup = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1"
)

// Register adds the routes to the front door. Every route is a {scope...}
// route whose Bind admits only the four deployment scopes; they outrank the
// generic-resource fallback, which used to store a deployment as an inert
// resource and answer Succeeded for work nobody did.
func Register(s *arm.Server, cfg Config) {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	h := &handlers{cfg: cfg}
	get, put, del, head, post := []string{http.MethodGet}, []string{http.MethodPut}, []string{http.MethodDelete}, []string{http.MethodHead}, []string{http.MethodPost}
	const (
		scope = "/{scope...}"
		one   = scope + deployments + "/{deploymentName}"
	)
	sample := sampleGroup + deployments + "/d1"
	for _, r := range []arm.Route{
		{Name: "Deployments_CreateOrUpdate", Methods: put, Pattern: one, Action: ActionWrite, Handler: h.put},
		{Name: "Deployments_Get", Methods: get, Pattern: one, Action: ActionRead, Handler: h.get},
		{Name: "Deployments_CheckExistence", Methods: head, Pattern: one, Action: ActionRead, Handler: h.head},
		{Name: "Deployments_Delete", Methods: del, Pattern: one, Action: ActionDelete, Handler: h.delete},
		{Name: "Deployments_List", Methods: get, Pattern: scope + deployments, Action: ActionRead, Handler: h.list, Sample: sampleGroup + deployments},
		{Name: "Deployments_Cancel", Methods: post, Pattern: one + "/cancel", Action: ActionCancel, Handler: h.cancel, Sample: sample + "/cancel"},
		{Name: "Deployments_Validate", Methods: post, Pattern: one + "/validate", Action: ActionValidate, Handler: h.validate, Sample: sample + "/validate"},
		{Name: "Deployments_WhatIf", Methods: post, Pattern: one + "/whatIf", Action: ActionWhatIf, Handler: h.whatIf, Sample: sample + "/whatIf"},
		{Name: "Deployments_ExportTemplate", Methods: post, Pattern: one + "/exportTemplate", Action: ActionExport, Handler: h.export, Sample: sample + "/exportTemplate"},
		{Name: "Deployments_OperationStatus", Methods: get, Pattern: one + "/operationStatuses/{operationId}", Action: ActionStatusRead, Handler: h.status, Sample: sample + "/operationStatuses/x"},
		{Name: "DeploymentOperations_List", Methods: get, Pattern: one + "/operations", Action: ActionOperationRead, Handler: h.operations, Sample: sample + "/operations"},
		{Name: "DeploymentOperations_Get", Methods: get, Pattern: one + "/operations/{operationId}", Action: ActionOperationRead, Handler: h.operation, Sample: sample + "/operations/x"},
		// Resource-group deployment operations as the SDKs send them: no
		// providers/Microsoft.Resources segment.
		{Name: "DeploymentOperations_ListAtResourceGroup", Methods: get, Pattern: "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/deployments/{deploymentName}/operations",
			Action: ActionOperationRead, Handler: h.operations, Sample: sampleGroup + "/deployments/d1/operations"},
		{Name: "DeploymentOperations_GetAtResourceGroup", Methods: get, Pattern: "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/deployments/{deploymentName}/operations/{operationId}",
			Action: ActionOperationRead, Handler: h.operation, Sample: sampleGroup + "/deployments/d1/operations/x"},
	} {
		r.APIVersions = Versions
		if r.Sample == "" {
			r.Sample = sample
		}
		if strings.HasPrefix(r.Pattern, scope) {
			r.Bind = bindScope
			r.Scope = "{deploymentScope}"
		} else {
			r.Bind = bindGroupScope
			r.Scope = "{deploymentScope}"
		}
		s.Handle(r)
	}
}

// bindScope admits the four scopes a deployment can live at and records
// the scope for authorization (the deployment's own scope).
func bindScope(p arm.Params) bool {
	s, ok := parseScope(p["scope"])
	if !ok {
		return false
	}
	p["deploymentScope"] = deploy.ScopeID(s)
	return true
}

func bindGroupScope(p arm.Params) bool {
	s := deploy.Scope{SubscriptionID: p["subscriptionId"], ResourceGroup: p["resourceGroupName"]}
	p["deploymentScope"] = deploy.ScopeID(s)
	p["scope"] = strings.TrimPrefix(deploy.ScopeID(s), "/")
	return true
}

func parseScope(raw string) (deploy.Scope, bool) {
	segs := strings.FieldsFunc(raw, func(r rune) bool { return r == '/' })
	switch {
	case len(segs) == 0:
		return deploy.Scope{}, true
	case len(segs) == 2 && strings.EqualFold(segs[0], "subscriptions"):
		return deploy.Scope{SubscriptionID: segs[1]}, true
	case len(segs) == 4 && strings.EqualFold(segs[0], "subscriptions") && strings.EqualFold(segs[2], "resourceGroups"):
		return deploy.Scope{SubscriptionID: segs[1], ResourceGroup: segs[3]}, true
	case len(segs) == 4 && strings.EqualFold(segs[0], "providers") && strings.EqualFold(segs[1], "Microsoft.Management") && strings.EqualFold(segs[2], "managementGroups"):
		return deploy.Scope{ManagementGroup: segs[3]}, true
	}
	return deploy.Scope{}, false
}

func scopeOf(c *arm.Call) deploy.Scope {
	s, _ := parseScope(c.Params["scope"])
	return s
}

func callerOf(c *arm.Call) deploy.Caller {
	return deploy.Caller{ObjectID: c.Caller.ObjectID, AppID: c.Caller.AppID, TenantID: c.Caller.TenantID, DisplayName: c.Caller.DisplayName}
}

// deploymentWire is the request body (Deployment / ScopedDeployment).
type deploymentWire struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *propertiesWire   `json:"properties"`
}

type propertiesWire struct {
	Template                    json.RawMessage  `json:"template"`
	TemplateLink                json.RawMessage  `json:"templateLink"`
	Parameters                  json.RawMessage  `json:"parameters"`
	ParametersLink              json.RawMessage  `json:"parametersLink"`
	Mode                        string           `json:"mode"`
	OnErrorDeployment           *deploy.OnError  `json:"onErrorDeployment"`
	DebugSetting                json.RawMessage  `json:"debugSetting"`
	ExpressionEvaluationOptions *json.RawMessage `json:"expressionEvaluationOptions"`
	ValidationLevel             string           `json:"validationLevel"`
}

func (h *handlers) decode(r *http.Request, c *arm.Call) (deploy.Request, error) {
	var w deploymentWire
	if err := c.DecodeJSON(r, &w); err != nil {
		return deploy.Request{}, err
	}
	if w.Properties == nil {
		return deploy.Request{}, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties",
			"The request content was invalid and could not be deserialized: the deployment has no 'properties'.")
	}
	p := w.Properties
	return deploy.Request{
		Scope: scopeOf(c), Name: c.Params["deploymentName"], Location: w.Location, Tags: w.Tags,
		Template: p.Template, TemplateLink: p.TemplateLink, Parameters: p.Parameters, ParametersLink: p.ParametersLink,
		Mode: p.Mode, OnError: p.OnErrorDeployment, DebugSetting: p.DebugSetting, CorrelationID: c.CorrelationID,
	}, nil
}

// envelope is DeploymentExtended.
type envelope struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties deploy.Properties `json:"properties"`
}

func envelopeOf(rec deploy.Record) envelope {
	return envelope{ID: deploy.DeploymentID(rec.Scope, rec.Name), Name: rec.Name, Type: "Microsoft.Resources/deployments",
		Location: rec.Location, Tags: rec.Tags, Properties: rec.Properties}
}

func (h *handlers) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimSuffix(h.cfg.BaseURL, "/")
	}
	return "https://" + r.Host
}

// mapErr turns engine errors into ARM errors (errors cross once).
func mapErr(err error) error {
	var de *deploy.Error
	if errors.As(err, &de) {
		e := arm.Errorf(de.Status, de.Code, de.Target, "%s", de.Message)
		return e
	}
	if errors.Is(err, deploy.ErrNotFound) {
		return arm.Errorf(http.StatusNotFound, "DeploymentNotFound", "", "Deployment could not be found.")
	}
	return err
}

// put starts a deployment: 201 with the Accepted record and an
// Azure-AsyncOperation URL the SDK's poller follows to the end.
func (h *handlers) put(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	req, err := h.decode(r, c)
	if err != nil {
		return err
	}
	rec, err := h.cfg.Engine.Start(r.Context(), callerOf(c), req)
	if err != nil {
		return mapErr(err)
	}
	status := deploy.DeploymentID(rec.Scope, rec.Name) + "/operationStatuses/" + rec.Properties.CorrelationID
	w.Header().Set("Azure-AsyncOperation", h.baseURL(r)+status+"?api-version="+c.APIVersion)
	setRetryAfter(w)
	arm.WriteJSON(w, http.StatusCreated, envelopeOf(rec))
	return nil
}

// setRetryAfter asks pollers to come back soon: deployments usually finish
// in well under a second here. Retry-After is whole seconds (az, Python);
// the Go SDK reads Retry-After-Ms first.
func setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Retry-After-Ms", "100")
}

func (h *handlers) get(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	rec, err := h.cfg.Engine.Get(r.Context(), scopeOf(c), c.Params["deploymentName"])
	if err != nil {
		return mapErr(err)
	}
	arm.WriteJSON(w, http.StatusOK, envelopeOf(rec))
	return nil
}

func (h *handlers) head(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	_, err := h.cfg.Engine.Get(r.Context(), scopeOf(c), c.Params["deploymentName"])
	switch {
	case errors.Is(err, deploy.ErrNotFound):
		w.WriteHeader(http.StatusNotFound)
	case err != nil:
		return mapErr(err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// delete removes the record: 204 whether or not it existed (the SDK's
// BeginDelete accepts 202 and 204).
func (h *handlers) delete(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	if _, err := h.cfg.Engine.Delete(r.Context(), scopeOf(c), c.Params["deploymentName"]); err != nil {
		return mapErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) list(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	q := r.URL.Query()
	size := h.cfg.PageSize
	if top := q.Get("$top"); top != "" {
		n, err := arm.ParseTop(top)
		if err != nil {
			return err
		}
		size = min(n, 1000)
	}
	state, err := stateFilter(q.Get("$filter"))
	if err != nil {
		return err
	}
	cursor, err := arm.SkipToken(q, "$skiptoken")
	if err != nil {
		return err
	}
	recs, err := h.cfg.Engine.List(r.Context(), scopeOf(c), state, cursor, size+1)
	if err != nil {
		return mapErr(err)
	}
	out := struct {
		Value    []envelope `json:"value"`
		NextLink string     `json:"nextLink,omitempty"`
	}{Value: []envelope{}}
	for i, rec := range recs {
		if i == size {
			next := q
			next.Del("$skiptoken")
			next.Del("$skipToken")
			next.Set("$skiptoken", arm.EncodeSkipToken(strings.ToLower(recs[size-1].Name)))
			out.NextLink = h.baseURL(r) + c.Path() + "?" + next.Encode()
			break
		}
		out.Value = append(out.Value, envelopeOf(rec))
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// stateFilter reads the one filter ARM supports on deployment lists:
// provisioningState eq '{state}'.
func stateFilter(f string) (string, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return "", nil
	}
	field, rest, ok := strings.Cut(f, " ")
	rest = strings.TrimSpace(rest)
	op, value, ok2 := strings.Cut(rest, " ")
	value = strings.TrimSpace(value)
	if !ok || !ok2 || !strings.EqualFold(field, "provisioningState") || !strings.EqualFold(op, "eq") ||
		len(value) < 2 || value[0] != '\'' || value[len(value)-1] != '\'' {
		return "", arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter",
			"The $filter '%s' is not supported. Deployments can be filtered by provisioningState eq '{state}' only.", f)
	}
	state := value[1 : len(value)-1]
	for _, s := range []string{"NotSpecified", "Accepted", "Running", "Ready", "Creating", "Created", "Deleting", "Deleted", "Canceled", "Failed", "Succeeded", "Updating"} {
		if strings.EqualFold(s, state) {
			return s, nil
		}
	}
	return "", arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "$filter", "The provisioning state '%s' is not valid.", state)
}

func (h *handlers) cancel(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	if err := h.cfg.Engine.Cancel(r.Context(), callerOf(c), scopeOf(c), c.Params["deploymentName"]); err != nil {
		return mapErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validate answers 200 with what would be deployed, or 400 with the
// template's error.
func (h *handlers) validate(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	req, err := h.decode(r, c)
	if err != nil {
		return err
	}
	rec, err := h.cfg.Engine.Validate(r.Context(), callerOf(c), req)
	if err != nil {
		return mapErr(err)
	}
	arm.WriteJSON(w, http.StatusOK, envelopeOf(rec))
	return nil
}

// whatIf answers the finished WhatIfOperationResult at once (200: the
// long-running operation completed in its first response, which the SDK's
// poller accepts).
func (h *handlers) whatIf(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	req, err := h.decode(r, c)
	if err != nil {
		return err
	}
	res, err := h.cfg.Engine.WhatIf(r.Context(), callerOf(c), req)
	if err != nil {
		return mapErr(err)
	}
	arm.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *handlers) export(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	tpl, err := h.cfg.Engine.Template(r.Context(), scopeOf(c), c.Params["deploymentName"])
	if err != nil {
		return mapErr(err)
	}
	arm.WriteJSON(w, http.StatusOK, struct {
		Template json.RawMessage `json:"template"`
	}{tpl})
	return nil
}

// status is the Azure-AsyncOperation document the SDK polls.
func (h *handlers) status(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	rec, err := h.cfg.Engine.Get(r.Context(), scopeOf(c), c.Params["deploymentName"])
	if err != nil {
		return mapErr(err)
	}
	doc := struct {
		Status string        `json:"status"`
		Error  *deploy.Error `json:"error,omitempty"`
	}{Status: rec.Properties.ProvisioningState, Error: rec.Properties.Error}
	if doc.Status == "Accepted" {
		doc.Status = "Running"
	}
	if doc.Status == "Running" {
		setRetryAfter(w)
	}
	arm.WriteJSON(w, http.StatusOK, doc)
	return nil
}

type operationWire struct {
	ID          string                     `json:"id"`
	OperationID string                     `json:"operationId"`
	Properties  deploy.OperationProperties `json:"properties"`
}

func (h *handlers) operationsOf(r *http.Request, c *arm.Call) ([]operationWire, error) {
	scope := scopeOf(c)
	name := c.Params["deploymentName"]
	ops, err := h.cfg.Engine.Operations(r.Context(), scope, name)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]operationWire, 0, len(ops))
	for _, op := range ops {
		out = append(out, operationWire{ID: deploy.DeploymentID(scope, name) + "/operations/" + op.OperationID,
			OperationID: op.OperationID, Properties: op.Properties})
	}
	return out, nil
}

func (h *handlers) operations(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	ops, err := h.operationsOf(r, c)
	if err != nil {
		return err
	}
	if top := r.URL.Query().Get("$top"); top != "" {
		n, err := arm.ParseTop(top)
		if err != nil {
			return err
		}
		if n < len(ops) {
			ops = ops[:n]
		}
	}
	arm.WriteJSON(w, http.StatusOK, struct {
		Value []operationWire `json:"value"`
	}{ops})
	return nil
}

func (h *handlers) operation(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	ops, err := h.operationsOf(r, c)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if strings.EqualFold(op.OperationID, c.Params["operationId"]) {
			arm.WriteJSON(w, http.StatusOK, op)
			return nil
		}
	}
	return arm.Errorf(http.StatusNotFound, "DeploymentOperationNotFound", "", "The deployment operation '%s' could not be found.", c.Params["operationId"])
}
