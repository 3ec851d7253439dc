package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Record is a deployment as it is kept and shown. It is persisted as the
// store's opaque Document and is already in ARM's DeploymentExtended
// vocabulary (the front door adds id, name and type), because ARM's record
// is exactly what the engine has to remember.
type Record struct {
	Scope      Scope             `json:"-"`
	Name       string            `json:"-"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties Properties        `json:"properties"`
}

// Properties are DeploymentPropertiesExtended.
type Properties struct {
	ProvisioningState  string           `json:"provisioningState"`
	CorrelationID      string           `json:"correlationId,omitempty"`
	Timestamp          time.Time        `json:"timestamp"`
	Duration           string           `json:"duration"`
	Mode               string           `json:"mode"`
	TemplateHash       string           `json:"templateHash,omitempty"`
	TemplateLink       json.RawMessage  `json:"templateLink,omitempty"`
	ParametersLink     json.RawMessage  `json:"parametersLink,omitempty"`
	DebugSetting       json.RawMessage  `json:"debugSetting,omitempty"`
	Parameters         map[string]Param `json:"parameters,omitempty"`
	Outputs            map[string]Param `json:"outputs,omitempty"`
	OutputResources    []ResourceRef    `json:"outputResources,omitempty"`
	ValidatedResources []ResourceRef    `json:"validatedResources,omitempty"`
	Dependencies       []Dependency     `json:"dependencies,omitempty"`
	Providers          []Provider       `json:"providers,omitempty"`
	OnErrorDeployment  *OnErrorExtended `json:"onErrorDeployment,omitempty"`
	Error              *Error           `json:"error,omitempty"`
}

// Param is a parameter or output value as ARM shows it: a secure one has
// its type and no value.
type Param struct {
	Type  string `json:"type"`
	Value any    `json:"value,omitempty"`
}

// ResourceRef is a resource the deployment names.
type ResourceRef struct {
	ID string `json:"id"`
}

// Dependency is one entry of properties.dependencies.
type Dependency struct {
	ID           string          `json:"id"`
	ResourceType string          `json:"resourceType"`
	ResourceName string          `json:"resourceName"`
	DependsOn    []BasicDependee `json:"dependsOn"`
}

// BasicDependee is a dependency target.
type BasicDependee struct {
	ID           string `json:"id"`
	ResourceType string `json:"resourceType"`
	ResourceName string `json:"resourceName"`
}

// Provider is one entry of properties.providers.
type Provider struct {
	Namespace     string         `json:"namespace"`
	ResourceTypes []ProviderType `json:"resourceTypes"`
}

// ProviderType is a resource type the deployment used.
type ProviderType struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
}

// OnErrorExtended is onErrorDeployment as reported.
type OnErrorExtended struct {
	Type              string `json:"type"`
	DeploymentName    string `json:"deploymentName,omitempty"`
	ProvisioningState string `json:"provisioningState,omitempty"`
}

// Operation is one deployment operation (a resource's deployment).
type Operation struct {
	OperationID string              `json:"operationId"`
	Properties  OperationProperties `json:"properties"`
}

// OperationProperties are DeploymentOperationProperties.
type OperationProperties struct {
	ProvisioningOperation string          `json:"provisioningOperation"`
	ProvisioningState     string          `json:"provisioningState"`
	Timestamp             time.Time       `json:"timestamp"`
	Duration              string          `json:"duration"`
	ServiceRequestID      string          `json:"serviceRequestId,omitempty"`
	StatusCode            string          `json:"statusCode,omitempty"`
	StatusMessage         *StatusMessage  `json:"statusMessage,omitempty"`
	TargetResource        *TargetResource `json:"targetResource,omitempty"`
}

// StatusMessage carries a failed operation's error.
type StatusMessage struct {
	Status string `json:"status,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// TargetResource is what an operation deployed.
type TargetResource struct {
	ID           string `json:"id"`
	ResourceName string `json:"resourceName"`
	ResourceType string `json:"resourceType"`
}

// isoDuration renders a duration as ARM does ("PT4.18S").
func isoDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := fmt.Sprintf("PT%.7fS", d.Seconds())
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if !strings.HasSuffix(s, "S") {
		s += "S"
	}
	if s == "PTS" {
		s = "PT0S"
	}
	return s
}

func decodeRecord(d store.Deployment) (Record, error) {
	var rec Record
	if err := json.Unmarshal(d.Document, &rec); err != nil {
		return Record{}, fmt.Errorf("deployment %s/%s: %w", d.Scope, d.Name, err)
	}
	rec.Scope = ParseScope(d.Scope)
	rec.Name = d.Name
	return rec, nil
}

// ParseScope reads a scope ID back ("/", a management group, a
// subscription or a resource group).
func ParseScope(id string) Scope {
	segs := strings.FieldsFunc(id, func(r rune) bool { return r == '/' })
	var s Scope
	switch {
	case len(segs) >= 4 && strings.EqualFold(segs[0], "subscriptions") && strings.EqualFold(segs[2], "resourceGroups"):
		s.SubscriptionID, s.ResourceGroup = segs[1], segs[3]
	case len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions"):
		s.SubscriptionID = segs[1]
	case len(segs) >= 4 && strings.EqualFold(segs[2], "managementGroups"):
		s.ManagementGroup = segs[3]
	}
	return s
}

// save writes the record (and, when given, the template), trimming the
// scope's history past HistoryLimit.
func (e *Engine) save(ctx context.Context, caller Caller, req Request, rec Record, template []byte, trim bool) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	now := e.cfg.Now().UTC()
	_, err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		d := store.Deployment{
			Scope: ScopeID(req.Scope), Name: req.Name, State: rec.Properties.ProvisioningState,
			Document: doc, Template: template, CorrelationID: rec.Properties.CorrelationID,
			CreatedAt: now, UpdatedAt: now, CreatedBy: caller.ObjectID, UpdatedBy: caller.ObjectID,
		}
		if template == nil {
			old, err := tx.GetDeployment(ctx, d.Scope, d.Name)
			if err != nil {
				return err
			}
			d.Template = old.Template
		}
		if _, err := tx.PutDeployment(ctx, d); err != nil {
			return err
		}
		if trim {
			_, err := tx.TrimDeployments(ctx, d.Scope, HistoryLimit)
			return err
		}
		return nil
	})
	return err
}
