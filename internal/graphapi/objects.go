package graphapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
)

// Wire shapes of the directory objects, as Microsoft Graph v1.0 writes
// them. Every declared property is written (null or empty when unset), so
// $filter and $select know the type's properties from any instance.

type passwordCredential struct {
	CustomKeyIdentifier *string    `json:"customKeyIdentifier"`
	DisplayName         *string    `json:"displayName"`
	EndDateTime         *time.Time `json:"endDateTime"`
	Hint                string     `json:"hint"`
	KeyID               string     `json:"keyId"`
	// SecretText is the secret itself, only in the answer that made it.
	SecretText    *string   `json:"secretText"`
	StartDateTime time.Time `json:"startDateTime"`
}

type keyCredential struct {
	CustomKeyIdentifier string     `json:"customKeyIdentifier"`
	DisplayName         *string    `json:"displayName"`
	EndDateTime         *time.Time `json:"endDateTime"`
	Key                 *string    `json:"key"`
	KeyID               string     `json:"keyId"`
	StartDateTime       time.Time  `json:"startDateTime"`
	Type                string     `json:"type"`
	Usage               string     `json:"usage"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func passwordWire(c store.Credential) passwordCredential {
	return passwordCredential{DisplayName: optional(c.DisplayName), EndDateTime: optionalTime(c.NotAfter),
		Hint: c.Hint, KeyID: c.ID, StartDateTime: c.NotBefore}
}

func keyWire(c store.Credential) keyCredential {
	return keyCredential{
		// Graph shows the SHA-1 thumbprint as the custom key identifier.
		CustomKeyIdentifier: strings.ToUpper(hexOf(c.ThumbprintSHA1)),
		DisplayName:         optional(c.DisplayName), EndDateTime: optionalTime(c.NotAfter),
		KeyID: c.ID, StartDateTime: c.NotBefore, Type: "AsymmetricX509Cert", Usage: "Verify",
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func credentialsWire(creds []store.Credential) ([]passwordCredential, []keyCredential) {
	passwords, keys := []passwordCredential{}, []keyCredential{}
	for _, c := range creds {
		switch c.Kind {
		case store.CredentialSecret:
			passwords = append(passwords, passwordWire(c))
		case store.CredentialCertificate:
			keys = append(keys, keyWire(c))
		}
	}
	return passwords, keys
}

// applicationWire is what keyless itself decides of an application;
// the properties kept verbatim (applicationKept) are laid over it.
type applicationWire struct {
	ODataType           string               `json:"@odata.type"`
	ID                  string               `json:"id"`
	AppID               string               `json:"appId"`
	DisplayName         string               `json:"displayName"`
	CreatedDateTime     time.Time            `json:"createdDateTime"`
	DeletedDateTime     *time.Time           `json:"deletedDateTime"`
	PublisherDomain     string               `json:"publisherDomain"`
	PasswordCredentials []passwordCredential `json:"passwordCredentials"`
	KeyCredentials      []keyCredential      `json:"keyCredentials"`
}

// applicationKept are the application properties keyless keeps as the
// caller wrote them, with the value Graph shows when unset. keyless does
// not interpret them (no redirect URIs are followed, no consent is asked).
var applicationKept = map[string]any{
	"description":                nil,
	"notes":                      nil,
	"signInAudience":             "AzureADMyOrg",
	"identifierUris":             []any{},
	"tags":                       []any{},
	"groupMembershipClaims":      nil,
	"isFallbackPublicClient":     nil,
	"serviceManagementReference": nil,
	"web":                        nil,
	"spa":                        nil,
	"publicClient":               nil,
	"api":                        nil,
	"appRoles":                   []any{},
	"info":                       nil,
	"optionalClaims":             nil,
	"requiredResourceAccess":     []any{},
}

// readOnly are properties a write may send back as it read them; they
// are ignored rather than refused, as Graph does for the SDKs' round trips.
var applicationReadOnly = map[string]bool{"id": true, "appId": true, "createdDateTime": true, "deletedDateTime": true,
	"publisherDomain": true, "passwordCredentials": true}

func (s *Service) publisherDomain() string {
	host := strings.TrimPrefix(s.cfg.BaseURL, "https://")
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	return host
}

func (s *Service) applicationObject(a store.Application) object {
	w := applicationWire{ODataType: "#microsoft.graph.application", ID: a.ObjectID, AppID: a.AppID, DisplayName: a.DisplayName,
		CreatedDateTime: a.CreatedAt, PublisherDomain: s.publisherDomain()}
	w.PasswordCredentials, w.KeyCredentials = credentialsWire(a.Credentials)
	o := toObject(w)
	var kept map[string]any
	_ = json.Unmarshal(a.Document, &kept)
	for k, def := range applicationKept {
		if v, ok := kept[k]; ok {
			o[k] = v
		} else {
			o[k] = def
		}
	}
	return o
}

type servicePrincipalWire struct {
	ODataType              string               `json:"@odata.type"`
	ID                     string               `json:"id"`
	AppID                  string               `json:"appId"`
	DisplayName            string               `json:"displayName"`
	AppDisplayName         *string              `json:"appDisplayName"`
	AppOwnerOrganizationID *string              `json:"appOwnerOrganizationId"`
	AccountEnabled         bool                 `json:"accountEnabled"`
	AlternativeNames       []string             `json:"alternativeNames"`
	ServicePrincipalNames  []string             `json:"servicePrincipalNames"`
	ServicePrincipalType   string               `json:"servicePrincipalType"`
	SignInAudience         *string              `json:"signInAudience"`
	Tags                   []string             `json:"tags"`
	Description            *string              `json:"description"`
	Notes                  *string              `json:"notes"`
	DeletedDateTime        *time.Time           `json:"deletedDateTime"`
	PasswordCredentials    []passwordCredential `json:"passwordCredentials"`
	KeyCredentials         []keyCredential      `json:"keyCredentials"`
}

// isManagedIdentity says whether the principal is a managed identity's,
// which Graph shows as read-only.
func isManagedIdentity(p store.Principal) bool {
	return p.Kind == store.PrincipalSystemAssigned || p.Kind == store.PrincipalUserAssigned
}

func isServicePrincipal(p store.Principal) bool {
	return p.Kind == store.PrincipalServicePrincipal || isManagedIdentity(p)
}

func (s *Service) servicePrincipalObject(p store.Principal, creds []store.Credential) object {
	w := servicePrincipalWire{ODataType: "#microsoft.graph.servicePrincipal", ID: p.ObjectID, AppID: p.AppID,
		DisplayName: p.DisplayName, AppDisplayName: optional(p.DisplayName), AccountEnabled: true,
		AlternativeNames: []string{}, ServicePrincipalNames: []string{p.AppID}, ServicePrincipalType: "Application",
		Tags: []string{}}
	if isManagedIdentity(p) {
		// As Entra shows them: whether the identity is user-assigned,
		// then the resource that owns it.
		w.ServicePrincipalType = "ManagedIdentity"
		w.AlternativeNames = []string{"isExplicit=" + map[bool]string{true: "True", false: "False"}[p.Kind == store.PrincipalUserAssigned], p.ResourceID}
		w.AppDisplayName = nil
	} else {
		w.AppOwnerOrganizationID = &s.cfg.TenantID
		aud := "AzureADMyOrg"
		w.SignInAudience = &aud
		if a, ok := s.cfg.Directory.Application(p.AppID); ok {
			w.AppDisplayName = optional(a.DisplayName)
		}
	}
	w.PasswordCredentials, w.KeyCredentials = credentialsWire(creds)
	return toObject(w)
}

type groupWire struct {
	ODataType          string     `json:"@odata.type"`
	ID                 string     `json:"id"`
	DisplayName        string     `json:"displayName"`
	Description        *string    `json:"description"`
	MailEnabled        bool       `json:"mailEnabled"`
	MailNickname       string     `json:"mailNickname"`
	Mail               *string    `json:"mail"`
	SecurityEnabled    bool       `json:"securityEnabled"`
	GroupTypes         []string   `json:"groupTypes"`
	IsAssignableToRole *bool      `json:"isAssignableToRole"`
	Visibility         *string    `json:"visibility"`
	CreatedDateTime    time.Time  `json:"createdDateTime"`
	DeletedDateTime    *time.Time `json:"deletedDateTime"`
}

var notNickname = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// groupObject shows a group. keyless keeps a group's display name only:
// the mail nickname Graph requires at creation is derived from it.
func groupObject(p store.Principal) object {
	return toObject(groupWire{ODataType: "#microsoft.graph.group", ID: p.ObjectID, DisplayName: p.DisplayName,
		MailNickname: notNickname.ReplaceAllString(p.DisplayName, ""), SecurityEnabled: true, GroupTypes: []string{},
		CreatedDateTime: p.CreatedAt})
}

func (s *Service) principalObject(p store.Principal, creds []store.Credential) object {
	if p.Kind == store.PrincipalGroup {
		return groupObject(p)
	}
	return s.servicePrincipalObject(p, creds)
}

type directoryRoleWire struct {
	ODataType       string     `json:"@odata.type"`
	ID              string     `json:"id"`
	DisplayName     string     `json:"displayName"`
	Description     string     `json:"description"`
	RoleTemplateID  string     `json:"roleTemplateId"`
	DeletedDateTime *time.Time `json:"deletedDateTime"`
}

// directoryRoleObject shows a role of the catalogue; every role is
// activated, with the template ID as its ID.
func directoryRoleObject(r directory.DirectoryRole) object {
	return toObject(directoryRoleWire{ODataType: "#microsoft.graph.directoryRole", ID: r.TemplateID,
		DisplayName: r.DisplayName, Description: r.Description, RoleTemplateID: r.TemplateID})
}

type roleDefinitionWire struct {
	ODataType       string   `json:"@odata.type"`
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName"`
	Description     string   `json:"description"`
	IsBuiltIn       bool     `json:"isBuiltIn"`
	IsEnabled       bool     `json:"isEnabled"`
	TemplateID      string   `json:"templateId"`
	Version         *string  `json:"version"`
	ResourceScopes  []string `json:"resourceScopes"`
	RolePermissions []any    `json:"rolePermissions"`
}

func roleDefinitionObject(r directory.DirectoryRole) object {
	return toObject(roleDefinitionWire{ODataType: "#microsoft.graph.unifiedRoleDefinition", ID: r.TemplateID,
		DisplayName: r.DisplayName, Description: r.Description, IsBuiltIn: true, IsEnabled: true,
		TemplateID: r.TemplateID, ResourceScopes: []string{"/"}, RolePermissions: []any{}})
}

type roleAssignmentWire struct {
	ODataType        string `json:"@odata.type"`
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

func roleAssignmentObject(a store.DirectoryRoleAssignment) object {
	return toObject(roleAssignmentWire{ODataType: "#microsoft.graph.unifiedRoleAssignment", ID: a.ID,
		PrincipalID: a.PrincipalID, RoleDefinitionID: a.RoleDefinitionID, DirectoryScopeID: a.DirectoryScopeID})
}

type federatedCredentialWire struct {
	ODataType   string   `json:"@odata.type"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Description *string  `json:"description"`
	Audiences   []string `json:"audiences"`
}

func federatedCredentialObject(f store.ApplicationFederatedCredential) object {
	aud := f.Audiences
	if aud == nil {
		aud = []string{}
	}
	return toObject(federatedCredentialWire{ODataType: "#microsoft.graph.federatedIdentityCredential", ID: f.ID, Name: f.Name,
		Issuer: f.Issuer, Subject: f.Subject, Description: optional(f.Description), Audiences: aud})
}

// toObject turns a wire struct into the object filters read: JSON's own
// types (string, float64, bool, []any, map[string]any, nil).
func toObject(v any) object {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // wire structs always encode
	}
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		panic(err)
	}
	return o
}
