package resources

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/keyless-io/keyless/internal/store"
)

// IsolationScope values of a user-assigned identity (reference §8.1).
const (
	IsolationScopeNone     = "None"
	IsolationScopeRegional = "Regional"
)

// UserAssignedIdentityID is the ID of a user-assigned identity as Azure
// returns it: with a lower-case "resourcegroups" segment whatever casing the
// request used (reference §8.1; xms_mirid uses the same form).
func UserAssignedIdentityID(subscriptionID, resourceGroup, name string) string {
	return "/subscriptions/" + subscriptionID + "/resourcegroups/" + resourceGroup +
		"/providers/" + UserAssignedIdentityType + "/" + name
}

// IdentityRef names a user-assigned identity by its parts.
type IdentityRef struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
}

// UserAssignedIdentitySpec is the document of a user-assigned identity.
type UserAssignedIdentitySpec struct {
	IdentityRef
	// Location is required on create and immutable; empty when absent.
	Location string
	// Tags is nil when absent (PUT: no tags; PATCH: unchanged).
	Tags map[string]string
	// IsolationScope is "None" or "Regional"; empty when absent.
	IsolationScope string
}

func parseIsolationScope(v string) (string, error) {
	switch {
	case strings.EqualFold(v, IsolationScopeNone):
		return IsolationScopeNone, nil
	case strings.EqualFold(v, IsolationScopeRegional):
		return IsolationScopeRegional, nil
	}
	return "", invalid(CodeInvalidParameter, "properties.isolationScope",
		"The isolation scope '%s' is invalid. The supported values are 'None' and 'Regional'.", v)
}

// IdentityIsolationScope returns the isolation scope kept in a user-assigned
// identity's body.
func IdentityIsolationScope(body []byte) string {
	var doc struct {
		Properties struct{ IsolationScope string }
	}
	_ = json.Unmarshal(body, &doc)
	if doc.Properties.IsolationScope == "" {
		return IsolationScopeNone
	}
	return doc.Properties.IsolationScope
}

func identityBody(tags map[string]string, isolationScope string) []byte {
	m := map[string]json.RawMessage{}
	setTags(m, tags)
	props, _ := json.Marshal(map[string]string{"isolationScope": isolationScope})
	m["properties"] = props
	return encodeBody(m)
}

// PutUserAssignedIdentity creates or replaces a user-assigned identity. On
// create it makes the identity's principal (new principalId and clientId);
// both stay for the identity's life whatever later writes say.
func (s *Service) PutUserAssignedIdentity(ctx context.Context, actor string, spec UserAssignedIdentitySpec) (ResourceView, bool, error) {
	if err := ValidateUserAssignedIdentityName(spec.Name); err != nil {
		return ResourceView{}, false, err
	}
	if NormalizeLocation(spec.Location) == "" {
		return ResourceView{}, false, invalid(CodeLocationRequired, "location", "The location property is required for this definition.")
	}
	if err := validateTags(spec.Tags); err != nil {
		return ResourceView{}, false, err
	}
	scope := IsolationScopeNone
	if spec.IsolationScope != "" {
		var err error
		if scope, err = parseIsolationScope(spec.IsolationScope); err != nil {
			return ResourceView{}, false, err
		}
	}
	var (
		view    ResourceView
		created bool
	)
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		g, err := tx.GetResourceGroup(ctx, spec.SubscriptionID, spec.ResourceGroup)
		if isNotFound(err) {
			return resourceGroupNotFound(spec.ResourceGroup)
		}
		if err != nil {
			return err
		}
		now := s.timestamp()
		id := UserAssignedIdentityID(spec.SubscriptionID, g.Name, spec.Name)
		r := store.Resource{
			ID:             id,
			SubscriptionID: spec.SubscriptionID,
			ResourceGroup:  g.Name,
			Type:           UserAssignedIdentityType,
			Name:           spec.Name,
			Location:       NormalizeLocation(spec.Location),
			Body:           identityBody(spec.Tags, scope),
			CreatedAt:      now,
			CreatedBy:      actor,
			UpdatedAt:      now,
			UpdatedBy:      actor,
		}
		old, err := tx.GetResource(ctx, id)
		switch {
		case err == nil:
			if !isUserAssignedIdentityType(old.Type) {
				return &ConflictError{Code: CodeInvalidResourceType, Message: "A resource of type '" + old.Type + "' already exists at '" + old.ID + "'."}
			}
			if r.Location != old.Location {
				return &ConflictError{Code: CodeInvalidResourceLocation, Message: "The resource '" + UserAssignedIdentityType + "/" + old.Name +
					"' already exists in location '" + old.Location + "' in resource group '" + g.Name +
					"'. A resource with the same name cannot be created in location '" + r.Location + "'. Please select a new resource name."}
			}
			r.ID, r.Name, r.PrincipalID = old.ID, old.Name, old.PrincipalID
			r.CreatedAt, r.CreatedBy = old.CreatedAt, old.CreatedBy
		case isNotFound(err):
			created = true
			p, err := s.newPrincipal(ctx, tx, store.PrincipalUserAssigned, id, spec.Name)
			if err != nil {
				return err
			}
			r.PrincipalID = p.ObjectID
			if _, err := tx.PutResource(ctx, r); err != nil {
				return err
			}
			// The principal was made just now: no need to read it back.
			view = ResourceView{Resource: r, Principal: &p}
			return nil
		default:
			return err
		}
		if _, err := tx.PutResource(ctx, r); err != nil {
			return err
		}
		view, err = s.view(ctx, tx, r)
		return err
	})
	return view, created, err
}

// PatchUserAssignedIdentity updates tags and/or the isolation scope. A
// location, when given, must be the identity's own.
func (s *Service) PatchUserAssignedIdentity(ctx context.Context, actor string, spec UserAssignedIdentitySpec) (ResourceView, error) {
	if err := validateTags(spec.Tags); err != nil {
		return ResourceView{}, err
	}
	scope := ""
	if spec.IsolationScope != "" {
		var err error
		if scope, err = parseIsolationScope(spec.IsolationScope); err != nil {
			return ResourceView{}, err
		}
	}
	var view ResourceView
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		r, err := getIdentity(ctx, tx, spec.IdentityRef)
		if err != nil {
			return err
		}
		if loc := NormalizeLocation(spec.Location); loc != "" && loc != r.Location {
			return &ConflictError{Code: CodeInvalidResourceLocation, Message: "The location of user-assigned identity '" + r.Name +
				"' is '" + r.Location + "' and cannot be changed to '" + loc + "'."}
		}
		tags := BodyTags(r.Body)
		if spec.Tags != nil {
			tags = spec.Tags
		}
		if scope == "" {
			scope = IdentityIsolationScope(r.Body)
		}
		r.Body = identityBody(tags, scope)
		r.UpdatedAt, r.UpdatedBy = s.timestamp(), actor
		if _, err := tx.PutResource(ctx, r); err != nil {
			return err
		}
		view, err = s.view(ctx, tx, r)
		return err
	})
	return view, err
}

// getIdentity reads a user-assigned identity, reporting a missing group or
// identity as ARM does.
func getIdentity(ctx context.Context, tx store.Tx, ref IdentityRef) (store.Resource, error) {
	r, err := tx.GetResource(ctx, UserAssignedIdentityID(ref.SubscriptionID, ref.ResourceGroup, ref.Name))
	if err == nil && isUserAssignedIdentityType(r.Type) {
		return r, nil
	}
	if err != nil && !isNotFound(err) {
		return r, err
	}
	if _, gerr := tx.GetResourceGroup(ctx, ref.SubscriptionID, ref.ResourceGroup); isNotFound(gerr) {
		return r, resourceGroupNotFound(ref.ResourceGroup)
	}
	return r, notFound(CodeResourceNotFound, "The Resource '%s/%s' under resource group '%s' was not found.",
		UserAssignedIdentityType, ref.Name, ref.ResourceGroup)
}

// GetUserAssignedIdentity returns one user-assigned identity.
func (s *Service) GetUserAssignedIdentity(ctx context.Context, ref IdentityRef) (ResourceView, error) {
	var view ResourceView
	err := s.store.View(ctx, func(tx store.Tx) error {
		r, err := getIdentity(ctx, tx, ref)
		if err != nil {
			return err
		}
		view, err = s.view(ctx, tx, r)
		return err
	})
	return view, err
}

// DeleteUserAssignedIdentity deletes an identity: it is detached from every
// resource holding it, and its federated credentials, role assignments and
// principal go with it. It reports whether the identity existed.
func (s *Service) DeleteUserAssignedIdentity(ctx context.Context, actor string, ref IdentityRef) (bool, error) {
	existed := false
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		r, err := getIdentity(ctx, tx, ref)
		var nf *NotFoundError
		if asNotFound(err, &nf) && nf.Code == CodeResourceNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		existed = true
		return s.purgeResourceTree(ctx, tx, r, actor)
	})
	return existed, err
}

// FederatedCredentialSpec is the document of a federated identity
// credential.
type FederatedCredentialSpec struct {
	Identity  IdentityRef
	Name      string
	Issuer    string
	Subject   string
	Audiences []string
}

// FederatedCredentialView is a stored credential with its identity's ID.
type FederatedCredentialView struct {
	store.FederatedCredential
	// IdentityID is the parent identity's ID as stored.
	IdentityID string
}

const maxFederatedCredentialField = 600

func validateFederatedCredential(spec FederatedCredentialSpec) error {
	if err := ValidateFederatedCredentialName(spec.Name); err != nil {
		return err
	}
	if spec.Issuer == "" || spec.Subject == "" || len(spec.Audiences) == 0 {
		return invalid(CodeBadRequest, "properties", "Federated Identity Credential '%s' has empty properties: issuer, subject and audiences are required.", spec.Name)
	}
	if len(spec.Audiences) != 1 {
		return invalid(CodeBadRequest, "properties.audiences", "Federated identity credentials must have exactly one audience.")
	}
	for field, v := range map[string]string{"issuer": spec.Issuer, "subject": spec.Subject, "audiences": spec.Audiences[0]} {
		if v == "" {
			return invalid(CodeBadRequest, "properties."+field, "Federated Identity Credential '%s' has empty properties: '%s' is empty.", spec.Name, field)
		}
		if utf8.RuneCountInString(v) > maxFederatedCredentialField {
			return invalid(CodeBadRequest, "properties."+field, "The federated identity credential %s must be at most %d characters long.", field, maxFederatedCredentialField)
		}
	}
	u, err := url.Parse(spec.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.TrimSpace(spec.Issuer) != spec.Issuer {
		return invalid(CodeBadRequest, "properties.issuer", "The issuer '%s' is invalid: it must be an https URL without leading or trailing whitespace.", spec.Issuer)
	}
	return nil
}

func parentIdentityNotFound() error {
	return notFound(CodeParentResourceNotFound, "The parent user-assigned identity doesn't exist.")
}

// getParentIdentity reads the identity a credential belongs to.
func getParentIdentity(ctx context.Context, tx store.Tx, ref IdentityRef) (store.Resource, error) {
	r, err := getIdentity(ctx, tx, ref)
	var nf *NotFoundError
	if asNotFound(err, &nf) && nf.Code == CodeResourceNotFound {
		return r, parentIdentityNotFound()
	}
	return r, err
}

// PutFederatedCredential creates or replaces a federated identity credential
// under the rules of reference §8.3.
func (s *Service) PutFederatedCredential(ctx context.Context, spec FederatedCredentialSpec) (FederatedCredentialView, bool, error) {
	if err := validateFederatedCredential(spec); err != nil {
		return FederatedCredentialView{}, false, err
	}
	var (
		view    FederatedCredentialView
		created bool
	)
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		identity, err := getParentIdentity(ctx, tx, spec.Identity)
		if err != nil {
			return err
		}
		existing, err := tx.ListFederatedCredentials(ctx, identity.ID)
		if err != nil {
			return err
		}
		now := s.timestamp()
		c := store.FederatedCredential{
			IdentityID: identity.ID,
			Name:       spec.Name,
			Issuer:     spec.Issuer,
			Subject:    spec.Subject,
			Audiences:  spec.Audiences,
			CreatedAt:  now,
			UpdatedAt:  now,
		}
		created = true
		for _, e := range existing {
			if strings.EqualFold(e.Name, spec.Name) {
				created = false
				c.Name, c.CreatedAt = e.Name, e.CreatedAt
				continue
			}
			// Matching is exact and case-sensitive (reference §8.3).
			if e.Issuer == spec.Issuer && e.Subject == spec.Subject {
				return invalid(CodeBadRequest, "properties", "Issuer and subject combination already exists for this Managed Identity.")
			}
		}
		if created && s.ficLimit > 0 && len(existing) >= s.ficLimit {
			return invalid(CodeFederatedCredentialLimit, "name",
				"The user-assigned identity '%s' already has the maximum of %d federated identity credentials.", identity.Name, s.ficLimit)
		}
		if _, err := tx.PutFederatedCredential(ctx, c); err != nil {
			return err
		}
		view = FederatedCredentialView{FederatedCredential: c, IdentityID: identity.ID}
		return nil
	})
	return view, created, err
}

// GetFederatedCredential returns one credential.
func (s *Service) GetFederatedCredential(ctx context.Context, ref IdentityRef, name string) (FederatedCredentialView, error) {
	var view FederatedCredentialView
	err := s.store.View(ctx, func(tx store.Tx) error {
		identity, err := getParentIdentity(ctx, tx, ref)
		if err != nil {
			return err
		}
		c, err := tx.GetFederatedCredential(ctx, identity.ID, name)
		if isNotFound(err) {
			return notFound(CodeResourceNotFound, "The Resource '%s/%s/federatedIdentityCredentials/%s' under resource group '%s' was not found.",
				UserAssignedIdentityType, identity.Name, name, identity.ResourceGroup)
		}
		if err != nil {
			return err
		}
		view = FederatedCredentialView{FederatedCredential: c, IdentityID: identity.ID}
		return nil
	})
	return view, err
}

// DeleteFederatedCredential deletes one credential and reports whether it
// existed.
func (s *Service) DeleteFederatedCredential(ctx context.Context, ref IdentityRef, name string) (bool, error) {
	existed := false
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		identity, err := getParentIdentity(ctx, tx, ref)
		if err != nil {
			return err
		}
		err = tx.DeleteFederatedCredential(ctx, identity.ID, name)
		if isNotFound(err) {
			return nil
		}
		existed = err == nil
		return err
	})
	return existed, err
}

// ListFederatedCredentials returns the credentials of an identity ordered by
// lower-case name (the paging order).
func (s *Service) ListFederatedCredentials(ctx context.Context, ref IdentityRef) ([]FederatedCredentialView, error) {
	var out []FederatedCredentialView
	err := s.store.View(ctx, func(tx store.Tx) error {
		identity, err := getParentIdentity(ctx, tx, ref)
		if err != nil {
			return err
		}
		creds, err := tx.ListFederatedCredentials(ctx, identity.ID)
		if err != nil {
			return err
		}
		for _, c := range creds {
			out = append(out, FederatedCredentialView{FederatedCredential: c, IdentityID: identity.ID})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, err
}
