package arm

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

const (
	actionIdentityRead   = "Microsoft.ManagedIdentity/userAssignedIdentities/read"
	actionIdentityWrite  = "Microsoft.ManagedIdentity/userAssignedIdentities/write"
	actionIdentityDelete = "Microsoft.ManagedIdentity/userAssignedIdentities/delete"
	actionFICRead        = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read"
	actionFICWrite       = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"
	actionFICDelete      = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete"
	actionSystemIdentity = "Microsoft.ManagedIdentity/identities/read"

	federatedCredentialType = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
)

// userAssignedIdentityWire is armmsi.Identity (reference §8.1).
type userAssignedIdentityWire struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Location   string                   `json:"location"`
	Tags       map[string]string        `json:"tags"`
	Properties userAssignedIdentityProp `json:"properties"`
	SystemData *systemData              `json:"systemData,omitempty"`
}

type userAssignedIdentityProp struct {
	TenantID       string `json:"tenantId"`
	PrincipalID    string `json:"principalId"`
	ClientID       string `json:"clientId"`
	IsolationScope string `json:"isolationScope"`
}

func (s *Server) userAssignedIdentityOf(v resources.ResourceView) userAssignedIdentityWire {
	w := userAssignedIdentityWire{
		ID:         v.ID,
		Name:       v.Name,
		Type:       resources.UserAssignedIdentityType,
		Location:   v.Location,
		Tags:       resources.BodyTags(v.Body),
		Properties: userAssignedIdentityProp{TenantID: s.tenantID, PrincipalID: v.PrincipalID, IsolationScope: resources.IdentityIsolationScope(v.Body)},
		SystemData: newSystemData(v.CreatedBy, v.CreatedAt, v.UpdatedBy, v.UpdatedAt),
	}
	if v.Principal != nil {
		w.Properties.ClientID = v.Principal.AppID
	}
	return w
}

// userAssignedIdentityRequest is armmsi.Identity / IdentityUpdate as sent.
type userAssignedIdentityRequest struct {
	Location   *string         `json:"location"`
	Tags       json.RawMessage `json:"tags"`
	Properties *struct {
		IsolationScope *string `json:"isolationScope"`
	} `json:"properties"`
}

func (c *Call) identityRef() resources.IdentityRef {
	return resources.IdentityRef{
		SubscriptionID: c.Params["subscriptionId"],
		ResourceGroup:  c.Params["resourceGroupName"],
		Name:           c.Params["resourceName"],
	}
}

func (c *Call) decodeIdentitySpec(r *http.Request) (resources.UserAssignedIdentitySpec, error) {
	spec := resources.UserAssignedIdentitySpec{IdentityRef: c.identityRef()}
	var req userAssignedIdentityRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return spec, err
	}
	tags, err := decodeTags(req.Tags)
	if err != nil {
		return spec, err
	}
	spec.Tags = tags
	if req.Location != nil {
		spec.Location = *req.Location
	}
	if req.Properties != nil && req.Properties.IsolationScope != nil {
		spec.IsolationScope = *req.Properties.IsolationScope
	}
	return spec, nil
}

func (s *Server) putUserAssignedIdentity(w http.ResponseWriter, r *http.Request, c *Call) error {
	spec, err := c.decodeIdentitySpec(r)
	if err != nil {
		return err
	}
	v, created, err := s.resources.PutUserAssignedIdentity(r.Context(), c.Caller.ObjectID, spec)
	if err != nil {
		return err
	}
	WriteJSON(w, createdStatus(created), s.userAssignedIdentityOf(v))
	return nil
}

func (s *Server) patchUserAssignedIdentity(w http.ResponseWriter, r *http.Request, c *Call) error {
	spec, err := c.decodeIdentitySpec(r)
	if err != nil {
		return err
	}
	v, err := s.resources.PatchUserAssignedIdentity(r.Context(), c.Caller.ObjectID, spec)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.userAssignedIdentityOf(v))
	return nil
}

func (s *Server) getUserAssignedIdentity(w http.ResponseWriter, r *http.Request, c *Call) error {
	v, err := s.resources.GetUserAssignedIdentity(r.Context(), c.identityRef())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.userAssignedIdentityOf(v))
	return nil
}

// deleteUserAssignedIdentity answers 200, or 204 when the identity did not
// exist (reference §8.1).
func (s *Server) deleteUserAssignedIdentity(w http.ResponseWriter, r *http.Request, c *Call) error {
	existed, err := s.resources.DeleteUserAssignedIdentity(r.Context(), c.Caller.ObjectID, c.identityRef())
	if err != nil {
		return err
	}
	WriteDeleted(w, existed)
	return nil
}

// listUserAssignedIdentities serves the by-group and by-subscription lists.
func (s *Server) listUserAssignedIdentities(w http.ResponseWriter, r *http.Request, c *Call) error {
	size, cursor, err := c.page(r)
	if err != nil {
		return err
	}
	p, err := s.resources.ListResources(r.Context(), resources.ResourceQuery{
		SubscriptionID: c.Params["subscriptionId"],
		ResourceGroup:  c.Params["resourceGroupName"],
		Type:           resources.UserAssignedIdentityType,
		After:          cursor,
		Limit:          size,
		Match:          func(res store.Resource) bool { return c.Allowed(actionIdentityRead, res.ID) },
	})
	if err != nil {
		return err
	}
	out := page[userAssignedIdentityWire]{Value: []userAssignedIdentityWire{}, NextLink: c.nextLink(r, p.Next)}
	for _, v := range p.Items {
		out.Value = append(out.Value, s.userAssignedIdentityOf(v))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// federatedCredentialWire is armmsi.FederatedIdentityCredential (reference
// §8.3); its id extends the identity's id.
type federatedCredentialWire struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Properties federatedCredentialProp `json:"properties"`
	SystemData *systemData             `json:"systemData,omitempty"`
}

type federatedCredentialProp struct {
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

func federatedCredentialOf(v resources.FederatedCredentialView) federatedCredentialWire {
	return federatedCredentialWire{
		ID:         v.IdentityID + "/federatedIdentityCredentials/" + v.Name,
		Name:       v.Name,
		Type:       federatedCredentialType,
		Properties: federatedCredentialProp{Issuer: v.Issuer, Subject: v.Subject, Audiences: v.Audiences},
		SystemData: &systemData{CreatedAt: timestamp(v.CreatedAt), LastModifiedAt: timestamp(v.UpdatedAt)},
	}
}

type federatedCredentialRequest struct {
	Properties *struct {
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	} `json:"properties"`
}

func (s *Server) putFederatedCredential(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req federatedCredentialRequest
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	spec := resources.FederatedCredentialSpec{Identity: c.identityRef(), Name: c.Params["federatedIdentityCredentialResourceName"]}
	if req.Properties != nil {
		spec.Issuer, spec.Subject, spec.Audiences = req.Properties.Issuer, req.Properties.Subject, req.Properties.Audiences
	}
	v, created, err := s.resources.PutFederatedCredential(r.Context(), spec)
	if err != nil {
		return err
	}
	WriteJSON(w, createdStatus(created), federatedCredentialOf(v))
	return nil
}

func (s *Server) getFederatedCredential(w http.ResponseWriter, r *http.Request, c *Call) error {
	v, err := s.resources.GetFederatedCredential(r.Context(), c.identityRef(), c.Params["federatedIdentityCredentialResourceName"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, federatedCredentialOf(v))
	return nil
}

func (s *Server) deleteFederatedCredential(w http.ResponseWriter, r *http.Request, c *Call) error {
	existed, err := s.resources.DeleteFederatedCredential(r.Context(), c.identityRef(), c.Params["federatedIdentityCredentialResourceName"])
	if err != nil {
		return err
	}
	WriteDeleted(w, existed)
	return nil
}

func (s *Server) listFederatedCredentials(w http.ResponseWriter, r *http.Request, c *Call) error {
	size, cursor, err := c.page(r)
	if err != nil {
		return err
	}
	creds, err := s.resources.ListFederatedCredentials(r.Context(), c.identityRef())
	if err != nil {
		return err
	}
	items, next := pageSlice(creds, func(v resources.FederatedCredentialView) string { return strings.ToLower(v.Name) }, cursor, size)
	out := page[federatedCredentialWire]{Value: []federatedCredentialWire{}, NextLink: c.nextLink(r, next)}
	for _, v := range items {
		out.Value = append(out.Value, federatedCredentialOf(v))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// systemAssignedIdentityWire is armmsi.SystemAssignedIdentity (reference
// §8.2). clientSecretUrl is Azure's internal credential endpoint and is
// omitted.
type systemAssignedIdentityWire struct {
	ID         string                     `json:"id"`
	Name       string                     `json:"name"`
	Type       string                     `json:"type"`
	Location   string                     `json:"location"`
	Tags       map[string]string          `json:"tags"`
	Properties systemAssignedIdentityProp `json:"properties"`
}

type systemAssignedIdentityProp struct {
	TenantID    string `json:"tenantId"`
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

func (s *Server) getSystemAssignedIdentity(w http.ResponseWriter, r *http.Request, c *Call) error {
	v, err := s.resources.GetSystemAssignedIdentity(r.Context(), "/"+c.Params["scope"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, systemAssignedIdentityWire{
		ID:       v.ID + "/providers/Microsoft.ManagedIdentity/identities/default",
		Name:     "default",
		Type:     "Microsoft.ManagedIdentity/identities",
		Location: v.Location,
		Tags:     resources.BodyTags(v.Body),
		Properties: systemAssignedIdentityProp{
			TenantID: s.tenantID, PrincipalID: v.Principal.ObjectID, ClientID: v.Principal.AppID,
		},
	})
	return nil
}

type operationWire struct {
	Name    string           `json:"name"`
	Display operationDisplay `json:"display"`
}

type operationDisplay struct {
	Provider    string `json:"provider"`
	Resource    string `json:"resource"`
	Operation   string `json:"operation"`
	Description string `json:"description"`
}

// managedIdentityOperations is what GET /providers/Microsoft.ManagedIdentity/
// operations lists: the provider's RBAC actions (reference §8.4).
var managedIdentityOperations = []operationWire{
	{actionIdentityRead, operationDisplay{"Managed Service Identity", "userAssignedIdentities", "Get/List User Assigned Identities", "Gets an existing user assigned identity"}},
	{actionIdentityWrite, operationDisplay{"Managed Service Identity", "userAssignedIdentities", "Create/Update User Assigned Identity", "Creates a new user assigned identity or updates the tags associated with an existing user assigned identity"}},
	{actionIdentityDelete, operationDisplay{"Managed Service Identity", "userAssignedIdentities", "Delete User Assigned Identity", "Deletes an existing user assigned identity"}},
	{actionAssignIdentity, operationDisplay{"Managed Service Identity", "userAssignedIdentities", "Assign User Assigned Identity", "RBAC action for assigning an existing user assigned identity to a resource"}},
	{actionFICRead, operationDisplay{"Managed Service Identity", "federatedIdentityCredentials", "Get/List Federated Identity Credentials", "Gets or lists federated identity credentials"}},
	{actionFICWrite, operationDisplay{"Managed Service Identity", "federatedIdentityCredentials", "Create/Update Federated Identity Credential", "Adds or updates a federated identity credential"}},
	{actionFICDelete, operationDisplay{"Managed Service Identity", "federatedIdentityCredentials", "Delete Federated Identity Credential", "Deletes a federated identity credential"}},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action", operationDisplay{"Managed Service Identity", "userAssignedIdentities", "Revoke Tokens", "Revokes the tokens issued to a user assigned identity"}},
	{actionSystemIdentity, operationDisplay{"Managed Service Identity", "identities", "Get System Assigned Identity", "Gets the system assigned identity of a resource"}},
	{"Microsoft.ManagedIdentity/operations/read", operationDisplay{"Managed Service Identity", "operations", "List Operations", "Lists the operations of the Microsoft.ManagedIdentity provider"}},
}

func (s *Server) listManagedIdentityOperations(w http.ResponseWriter, r *http.Request, c *Call) error {
	WriteJSON(w, http.StatusOK, page[operationWire]{Value: managedIdentityOperations})
	return nil
}
