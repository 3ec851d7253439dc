package arm

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

const (
	actionResourceGroupRead   = "Microsoft.Resources/subscriptions/resourceGroups/read"
	actionResourceGroupWrite  = "Microsoft.Resources/subscriptions/resourceGroups/write"
	actionResourceGroupDelete = "Microsoft.Resources/subscriptions/resourceGroups/delete"
)

// resourceGroupWire is armresources.ResourceGroup; its id uses
// "resourceGroups" (reference §10.5).
type resourceGroupWire struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Location   string                  `json:"location"`
	ManagedBy  string                  `json:"managedBy,omitempty"`
	Tags       map[string]string       `json:"tags,omitempty"`
	Properties resourceGroupProperties `json:"properties"`
}

type resourceGroupProperties struct {
	ProvisioningState string `json:"provisioningState"`
}

func resourceGroupOf(g store.ResourceGroup) resourceGroupWire {
	return resourceGroupWire{
		ID:         resources.ResourceGroupID(g.SubscriptionID, g.Name),
		Name:       g.Name,
		Type:       "Microsoft.Resources/resourceGroups",
		Location:   g.Location,
		ManagedBy:  g.ManagedBy,
		Tags:       g.Tags,
		Properties: resourceGroupProperties{ProvisioningState: "Succeeded"},
	}
}

// resourceGroupRequest is the body of PUT and PATCH (ResourceGroup,
// ResourceGroupPatchable); tags stay raw to tell absent from null.
type resourceGroupRequest struct {
	Location  *string         `json:"location"`
	Tags      json.RawMessage `json:"tags"`
	ManagedBy *string         `json:"managedBy"`
}

func (s *Server) putResourceGroup(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req resourceGroupRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	tags, err := decodeTags(req.Tags)
	if err != nil {
		return err
	}
	spec := resources.ResourceGroupSpec{
		SubscriptionID: c.Params["subscriptionId"],
		Name:           c.Params["resourceGroupName"],
		Tags:           tags,
	}
	if req.Location != nil {
		spec.Location = *req.Location
	}
	if req.ManagedBy != nil {
		spec.ManagedBy = *req.ManagedBy
	}
	g, created, err := s.resources.PutResourceGroup(r.Context(), spec)
	if err != nil {
		return err
	}
	WriteJSON(w, createdStatus(created), resourceGroupOf(g))
	return nil
}

func (s *Server) patchResourceGroup(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req resourceGroupRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	tags, err := decodeTags(req.Tags)
	if err != nil {
		return err
	}
	g, err := s.resources.PatchResourceGroup(r.Context(), c.Params["subscriptionId"], c.Params["resourceGroupName"],
		resources.ResourceGroupPatch{Tags: tags, ManagedBy: req.ManagedBy})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, resourceGroupOf(g))
	return nil
}

func (s *Server) getResourceGroup(w http.ResponseWriter, r *http.Request, c *Call) error {
	g, err := s.resources.GetResourceGroup(r.Context(), c.Params["subscriptionId"], c.Params["resourceGroupName"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, resourceGroupOf(g))
	return nil
}

// headResourceGroup answers CheckExistence: 204 or 404, exactly what the
// SDK accepts (reference §1 item 8).
func (s *Server) headResourceGroup(w http.ResponseWriter, r *http.Request, c *Call) error {
	if _, err := s.resources.GetResourceGroup(r.Context(), c.Params["subscriptionId"], c.Params["resourceGroupName"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteResourceGroup deletes synchronously, then answers 202 with a
// Location whose first poll returns 200: ResourceGroupsClient.BeginDelete
// accepts only 200 or 202, and azcore's Location poller polls once at once
// when there is no Retry-After, so PollUntilDone returns without waiting
// (reference §7.8, §10.1).
func (s *Server) deleteResourceGroup(w http.ResponseWriter, r *http.Request, c *Call) error {
	sub, name := c.Params["subscriptionId"], c.Params["resourceGroupName"]
	if err := s.resources.DeleteResourceGroup(r.Context(), c.Caller.ObjectID, sub, name); err != nil {
		return err
	}
	token := operationToken{Operation: "ResourceGroupDelete", Target: name, ID: uuid.NewString()}.encode()
	w.Header().Set("Location", s.baseURL(r)+"/subscriptions/"+url.PathEscape(sub)+"/operationresults/"+token+"?api-version="+url.QueryEscape(c.APIVersion))
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// operationToken is the opaque part of an operation-results URL. Operations
// finish before the URL is handed out, so the token only has to be
// recognisable, not looked up.
type operationToken struct {
	Operation string `json:"op"`
	Target    string `json:"target"`
	ID        string `json:"id"`
}

func (t operationToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// getOperationResult answers the Location poll of a finished operation.
func (s *Server) getOperationResult(w http.ResponseWriter, r *http.Request, c *Call) error {
	var t operationToken
	b, err := base64.RawURLEncoding.DecodeString(c.Params["operationId"])
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Operation == "" {
		return Errorf(http.StatusNotFound, "OperationNotFound", "", "The operation '%s' was not found.", c.Params["operationId"])
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) listResourceGroups(w http.ResponseWriter, r *http.Request, c *Call) error {
	size, cursor, err := c.page(r)
	if err != nil {
		return err
	}
	filter, err := filterOf(r, "tagName", "tagValue")
	if err != nil {
		return err
	}
	sub := c.Params["subscriptionId"]
	groups, err := s.resources.ListResourceGroups(r.Context(), sub)
	if err != nil {
		return err
	}
	visible := groups[:0]
	for _, g := range groups {
		if filter.matchTags(g.Tags) && c.Allowed(actionResourceGroupRead, resources.ResourceGroupID(sub, g.Name)) {
			visible = append(visible, g)
		}
	}
	items, next := pageSlice(visible, func(g store.ResourceGroup) string { return strings.ToLower(g.Name) }, cursor, size)
	out := page[resourceGroupWire]{Value: []resourceGroupWire{}, NextLink: c.nextLink(r, next)}
	for _, g := range items {
		out.Value = append(out.Value, resourceGroupOf(g))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
