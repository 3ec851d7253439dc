package mgmtapi

import (
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// Wire types, as armmanagementgroups models them.

// groupWire is ManagementGroup.
type groupWire struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Properties groupProps `json:"properties"`
}

type groupProps struct {
	TenantID    string       `json:"tenantId"`
	DisplayName string       `json:"displayName"`
	Details     groupDetails `json:"details"`
	// Children is present only with $expand=children.
	Children *[]childWire `json:"children,omitempty"`
}

type groupDetails struct {
	UpdatedTime string      `json:"updatedTime,omitempty"`
	UpdatedBy   string      `json:"updatedBy,omitempty"`
	Parent      *parentWire `json:"parent"`
	Path        []pathWire  `json:"path,omitempty"`
	Ancestors   []string    `json:"managementGroupAncestors,omitempty"`
	Chain       []pathWire  `json:"managementGroupAncestorsChain,omitempty"`
}

// parentWire is ParentGroupInfo.
type parentWire struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// pathWire is ManagementGroupPathElement.
type pathWire struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// childWire is ManagementGroupChildInfo.
type childWire struct {
	Type        string       `json:"type"`
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	DisplayName string       `json:"displayName"`
	Children    *[]childWire `json:"children,omitempty"`
}

// infoWire is ManagementGroupInfo, a list item.
type infoWire struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	Properties infoProps `json:"properties"`
}

type infoProps struct {
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName"`
}

// descendantWire is DescendantInfo.
type descendantWire struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Properties descendantProps `json:"properties"`
}

type descendantProps struct {
	DisplayName string `json:"displayName"`
	Parent      idWire `json:"parent"`
}

type idWire struct {
	ID string `json:"id"`
}

// subscriptionWire is SubscriptionUnderManagementGroup.
type subscriptionWire struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Properties subscriptionProps `json:"properties"`
}

type subscriptionProps struct {
	Tenant      string `json:"tenant"`
	DisplayName string `json:"displayName"`
	Parent      idWire `json:"parent"`
	State       string `json:"state"`
}

// asyncResultWire is AzureAsyncOperationResults.
type asyncResultWire struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// createRequest is CreateManagementGroupRequest.
type createRequest struct {
	Properties *struct {
		DisplayName *string `json:"displayName"`
		Details     *struct {
			Parent *struct {
				ID *string `json:"id"`
			} `json:"parent"`
		} `json:"details"`
	} `json:"properties"`
}

func (r createRequest) displayName() *string {
	if r.Properties == nil {
		return nil
	}
	return r.Properties.DisplayName
}

func (r createRequest) parentID() *string {
	if r.Properties == nil || r.Properties.Details == nil || r.Properties.Details.Parent == nil {
		return nil
	}
	return r.Properties.Details.Parent.ID
}

// patchRequest is PatchManagementGroupRequest.
type patchRequest struct {
	DisplayName   *string `json:"displayName"`
	ParentGroupID *string `json:"parentGroupId"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (h *handlers) infoOf(g store.ManagementGroup) infoWire {
	return infoWire{ID: authz.ManagementGroupScope(g.Name), Type: groupType, Name: g.Name,
		Properties: infoProps{TenantID: h.cfg.TenantID, DisplayName: g.DisplayName}}
}

func (h *handlers) subscriptionOf(s store.Subscription, group store.ManagementGroup) subscriptionWire {
	return subscriptionWire{
		ID: authz.ManagementGroupScope(group.Name) + "/subscriptions/" + s.ID, Type: subscriptionRef, Name: s.ID,
		Properties: subscriptionProps{Tenant: h.cfg.TenantID, DisplayName: s.DisplayName,
			Parent: idWire{ID: authz.ManagementGroupScope(group.Name)}, State: s.State},
	}
}
