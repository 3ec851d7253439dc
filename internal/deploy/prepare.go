package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/deploy/expr"
	"github.com/keyless-io/keyless/internal/deploy/template"
	"github.com/keyless-io/keyless/internal/store"
)

// API versions the engine uses for its own reads.
const (
	resourcesAPIVersion = "2021-04-01"
)

// prepared is a request checked and bound: everything a run or a what-if
// needs.
type prepared struct {
	req         Request
	templateDoc []byte
	plan        *template.Plan
	resolver    *resolver
	hash        string
	params      map[string]Param
	mode        string
}

// prepare checks the request, reads the scope's context objects through
// the front door (so a caller who cannot read the resource group cannot
// deploy to it), parses the template and binds its parameters.
func (e *Engine) prepare(ctx context.Context, caller Caller, req Request, whatIf bool) (*prepared, error) {
	if len(req.TemplateLink) > 0 && len(req.Template) == 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidContentLink",
			"The template link cannot be followed: keyless does not fetch templates from remote locations (its network stays closed). Send the template inline in properties.template, or deploy a local file with the CLI.")
	}
	if len(req.ParametersLink) > 0 && len(req.Parameters) == 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidContentLink",
			"The parameters link cannot be followed: keyless does not fetch parameter files from remote locations. Send the parameters inline in properties.parameters.")
	}
	if len(req.Template) == 0 || bytes.Equal(bytes.TrimSpace(req.Template), []byte("null")) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequestContent", "The deployment properties must contain 'template' or 'templateLink'.")
	}
	if len(req.Template) > MaxTemplateBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, "RequestContentTooLarge",
			"The request content size '%d' exceeds the maximum size of '%d' bytes for a template.", len(req.Template), MaxTemplateBytes)
	}
	mode := req.Mode
	switch strings.ToLower(mode) {
	case "", "incremental":
		mode = "Incremental"
	case "complete":
		mode = "Complete"
		if req.Scope.Level() != expr.ResourceGroupLevel {
			return nil, errorf(http.StatusBadRequest, "InvalidDeploymentMode",
				"The deployment mode 'Complete' is only supported for deployments at resource group scope.")
		}
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidDeploymentMode", "The deployment mode '%s' is not valid. Allowed values are 'Incremental' and 'Complete'.", req.Mode)
	}
	if req.Scope.Level() != expr.ResourceGroupLevel && req.Location == "" {
		return nil, errorf(http.StatusBadRequest, "LocationRequired",
			"The location property is required for this definition: deployments at subscription, management group and tenant scope need a location to store their data.")
	}
	if req.OnError != nil {
		switch req.OnError.Type {
		case "LastSuccessful":
		case "SpecificDeployment":
			if req.OnError.DeploymentName == "" {
				return nil, errorf(http.StatusBadRequest, "InvalidOnErrorDeployment", "onErrorDeployment of type 'SpecificDeployment' needs a deploymentName.")
			}
		default:
			return nil, errorf(http.StatusBadRequest, "InvalidOnErrorDeployment", "The onErrorDeployment type '%s' is not valid. Allowed values are 'LastSuccessful' and 'SpecificDeployment'.", req.OnError.Type)
		}
	}

	d, res, err := e.deploymentContext(ctx, caller, req.Scope, req.Name, req.Location, req.CorrelationID, whatIf, nil)
	if err != nil {
		return nil, err
	}
	d.Parameters = req.Parameters
	d.Mode = mode
	tpl, err := template.Parse(req.Template)
	if err != nil {
		return nil, templateError(err)
	}
	plan, err := tpl.Bind(d)
	if err != nil {
		return nil, templateError(err)
	}
	res.plan = plan
	doc := compactJSON(req.Template)
	p := &prepared{req: req, templateDoc: doc, plan: plan, resolver: res, hash: templateHash(doc), mode: mode}
	p.params = recordedParameters(plan)
	return p, nil
}

// recordedParameters are the bound parameters as the record shows them:
// a secure one by its type only, never its value.
func recordedParameters(plan *template.Plan) map[string]Param {
	out := map[string]Param{}
	for name, bp := range plan.Parameters {
		if bp.Secure || isSecureType(bp.Type) {
			out[name] = Param{Type: canonicalType(bp.Type)}
			continue
		}
		out[name] = Param{Type: canonicalType(bp.Type), Value: expr.ToPlain(bp.Value)}
	}
	return out
}

// deploymentContext reads what the template functions of a deployment at
// scope need (resourceGroup(), subscription(), managementGroup()) through
// the front door as the caller: a caller who cannot read the resource
// group cannot deploy to it, and a missing one is ResourceGroupNotFound.
func (e *Engine) deploymentContext(ctx context.Context, caller Caller, scope Scope, name, location, correlationID string, whatIf bool, predicted map[string]any) (template.Deployment, *resolver, error) {
	res := &resolver{engine: e, caller: caller, ctx: ctx, scope: scope, correlationID: correlationID, whatIf: whatIf, predicted: predicted}
	scope.TenantID = e.cfg.TenantID
	d := template.Deployment{
		Scope: scope, Name: name, Location: location,
		Resolver: res, Now: func() time.Time { return e.cfg.Now().UTC() }, NewGUID: uuid.NewString,
		Environment: e.cfg.Environment,
		Deployer:    map[string]any{"objectId": caller.ObjectID, "tenantId": e.cfg.TenantID, "userPrincipalName": ""},
		TenantInfo:  map[string]any{"id": "/tenants/" + e.cfg.TenantID, "tenantId": e.cfg.TenantID, "countryCode": "", "displayName": ""},
	}
	if scope.SubscriptionID != "" {
		// subscription() is the deployment's context, not a read the caller
		// makes: a Contributor on one group may deploy there without
		// Microsoft.Resources/subscriptions/read, as in Azure.
		var sub store.Subscription
		err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
			var err error
			sub, err = tx.GetSubscription(ctx, scope.SubscriptionID)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return d, nil, errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", scope.SubscriptionID)
		}
		if err != nil {
			return d, nil, err
		}
		d.SubscriptionInfo = map[string]any{"id": "/subscriptions/" + sub.ID, "subscriptionId": sub.ID,
			"tenantId": e.cfg.TenantID, "displayName": sub.DisplayName}
	}
	if scope.ResourceGroup != "" {
		rg, err := res.get(ScopeID(scope), resourcesAPIVersion)
		if err != nil {
			return d, nil, scopeError(err, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", scope.ResourceGroup))
		}
		d.ResourceGroupInfo = rg
	}
	if scope.ManagementGroup != "" {
		mg, err := res.get(ScopeID(scope), "2023-04-01")
		if err != nil {
			return d, nil, scopeError(err, "ManagementGroupNotFound", fmt.Sprintf("The management group '%s' could not be found.", scope.ManagementGroup))
		}
		d.ManagementGroupInfo = mg
	}
	return d, res, nil
}

// record is the deployment record of a prepared request in state.
func (p *prepared) record(now time.Time, state string) Record {
	rec := Record{Scope: p.req.Scope, Name: p.req.Name, Location: p.req.Location, Tags: p.req.Tags}
	rec.Properties = Properties{
		ProvisioningState: state, CorrelationID: p.req.CorrelationID, Timestamp: now, Duration: "PT0S",
		Mode: p.mode, TemplateHash: p.hash, Parameters: p.params, DebugSetting: p.req.DebugSetting,
	}
	if p.req.OnError != nil {
		rec.Properties.OnErrorDeployment = &OnErrorExtended{Type: p.req.OnError.Type, DeploymentName: p.req.OnError.DeploymentName}
	}
	rec.Properties.Dependencies = dependencies(p.plan)
	rec.Properties.Providers = providers(p.plan)
	return rec
}

func isSecureType(t string) bool {
	return strings.EqualFold(t, "securestring") || strings.EqualFold(t, "secureobject")
}

// canonicalType is the type name as ARM reports it in deployment records.
func canonicalType(t string) string {
	switch strings.ToLower(t) {
	case "string":
		return "String"
	case "securestring":
		return "SecureString"
	case "int":
		return "Int"
	case "bool":
		return "Bool"
	case "object":
		return "Object"
	case "secureobject":
		return "SecureObject"
	case "array":
		return "Array"
	}
	return t
}

// templateHash identifies a template's content, given compacted (ARM's
// templateHash is an opaque decimal digest of the same kind).
func templateHash(doc []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(doc)
	return strconv.FormatUint(h.Sum64(), 10)
}

func compactJSON(doc []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return append([]byte(nil), doc...)
	}
	return b.Bytes()
}

func dependencies(plan *template.Plan) []Dependency {
	var out []Dependency
	for _, r := range plan.Resources {
		if len(r.DependsOn) == 0 {
			continue
		}
		d := Dependency{ID: r.ID, ResourceType: r.Type, ResourceName: r.Name}
		for _, dep := range r.DependsOn {
			d.DependsOn = append(d.DependsOn, BasicDependee{ID: dep.ID, ResourceType: dep.Type, ResourceName: dep.Name})
		}
		out = append(out, d)
	}
	return out
}

func providers(plan *template.Plan) []Provider {
	var out []Provider
	index := map[string]int{}
	seen := map[string]bool{}
	for _, r := range plan.Resources {
		ns, typ, ok := strings.Cut(r.Type, "/")
		if !ok {
			continue
		}
		i, found := index[strings.ToLower(ns)]
		if !found {
			i = len(out)
			index[strings.ToLower(ns)] = i
			out = append(out, Provider{Namespace: ns})
		}
		key := strings.ToLower(r.Type)
		if seen[key] {
			continue
		}
		seen[key] = true
		out[i].ResourceTypes = append(out[i].ResourceTypes, ProviderType{ResourceType: typ, Locations: []string{}})
	}
	return out
}

// templateError turns a template layer error into the deployment API's
// 400.
func templateError(err error) error {
	var te *template.Error
	if errors.As(err, &te) {
		code := te.Code
		if code == "" {
			code = "InvalidTemplate"
		}
		return &Error{Status: http.StatusBadRequest, Code: code, Message: te.Message, Target: te.Target}
	}
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	return &Error{Status: http.StatusBadRequest, Code: "InvalidTemplate", Message: err.Error()}
}

// scopeError explains why the deployment's scope could not be read: it
// does not exist, or the caller may not read it (the front door's own
// answer is kept).
func scopeError(err error, notFoundCode, notFoundMessage string) error {
	var fe *frontDoorError
	if errors.As(err, &fe) {
		if fe.status == http.StatusNotFound {
			return errorf(http.StatusNotFound, notFoundCode, "%s", notFoundMessage)
		}
		return &Error{Status: fe.status, Code: fe.code, Message: fe.message}
	}
	return err
}
