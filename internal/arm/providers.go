package arm

import (
	"net/http"
	"sort"
	"strings"
)

// Provider describes a resource provider namespace for the providers
// endpoints (reference §10.4): tools that resolve api-versions read
// resourceTypes[].apiVersions from it.
type Provider struct {
	Namespace     string
	ResourceTypes []ProviderResourceType
}

// ProviderResourceType is one resource type of a Provider.
type ProviderResourceType struct {
	ResourceType string
	// APIVersions are newest first: az takes the first stable one.
	APIVersions []string
	Locations   []string
	// Capabilities is Azure's comma-separated list ("SupportsTags,
	// SupportsLocation", "SupportsExtension", "None"); empty means "None".
	Capabilities string
}

// genericAPIVersions are advertised for resource types keyless stores
// generically; any date version is accepted for them.
var genericAPIVersions = []string{"2024-01-01"}

// RegisterProvider adds a provider to the catalogue (packages that register
// routes for a namespace describe it here too). Types already listed for
// the namespace are kept unless p lists them again, so that a package
// serving one type does not hide the catalogue's others.
func (s *Server) RegisterProvider(p Provider) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(p.Namespace)
	if old, ok := s.providers[key]; ok {
		p.ResourceTypes = mergeTypes(old.ResourceTypes, p.ResourceTypes)
	}
	s.providers[key] = p
}

func builtinProviders() []Provider {
	return append(catalogueProviders(), []Provider{
		{Namespace: "Microsoft.Resources", ResourceTypes: []ProviderResourceType{
			{ResourceType: "resourceGroups", APIVersions: ResourcesVersions.Versions},
			{ResourceType: "resources", APIVersions: ResourcesVersions.Versions},
			{ResourceType: "subscriptions", APIVersions: SubscriptionsVersions.Versions},
			{ResourceType: "providers", APIVersions: ResourcesVersions.Versions},
			{ResourceType: "operationresults", APIVersions: ResourcesVersions.Versions},
		}},
		{Namespace: "Microsoft.ManagedIdentity", ResourceTypes: []ProviderResourceType{
			{ResourceType: "userAssignedIdentities", APIVersions: ManagedIdentityVersions.Versions},
			{ResourceType: "userAssignedIdentities/federatedIdentityCredentials", APIVersions: FederatedCredentialVersions.Versions},
			{ResourceType: "identities", APIVersions: ManagedIdentityVersions.Versions},
			{ResourceType: "operations", APIVersions: ManagedIdentityVersions.Versions},
		}},
	}...)
}

// providerWire is armresources.Provider. Every namespace is Registered:
// keyless never answers MissingSubscriptionRegistration, so azcore's
// registration policy never has to run (reference §7.10).
type providerWire struct {
	ID                 string                 `json:"id"`
	Namespace          string                 `json:"namespace"`
	RegistrationState  string                 `json:"registrationState"`
	RegistrationPolicy string                 `json:"registrationPolicy"`
	ResourceTypes      []providerResourceWire `json:"resourceTypes"`
}

type providerResourceWire struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
	Capabilities string   `json:"capabilities"`
}

// providerOf describes namespace, adding the generic types stored in the
// subscription that the catalogue does not list.
func (s *Server) providerOf(idPrefix, namespace string, storedTypes []string) providerWire {
	s.mu.RLock()
	p, known := s.providers[strings.ToLower(namespace)]
	s.mu.RUnlock()
	if known {
		namespace = p.Namespace
	}
	w := providerWire{
		ID: idPrefix + "/providers/" + namespace, Namespace: namespace,
		RegistrationState: "Registered", RegistrationPolicy: "RegistrationRequired",
		ResourceTypes: []providerResourceWire{},
	}
	seen := map[string]bool{}
	for _, t := range p.ResourceTypes {
		seen[strings.ToLower(t.ResourceType)] = true
		caps := t.Capabilities
		if caps == "" {
			caps = capChild
		}
		w.ResourceTypes = append(w.ResourceTypes, providerResourceWire{ResourceType: t.ResourceType, Locations: nonNil(t.Locations), APIVersions: nonNil(t.APIVersions), Capabilities: caps})
	}
	for _, full := range storedTypes {
		ns, typ, ok := strings.Cut(full, "/")
		if !ok || !strings.EqualFold(ns, namespace) || seen[strings.ToLower(typ)] {
			continue
		}
		seen[strings.ToLower(typ)] = true
		w.ResourceTypes = append(w.ResourceTypes, providerResourceWire{ResourceType: typ, Locations: []string{}, APIVersions: genericAPIVersions, Capabilities: capTracked})
	}
	return w
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func (s *Server) getProvider(w http.ResponseWriter, r *http.Request, c *Call) error {
	sub := c.Params["subscriptionId"]
	types, err := s.resources.ResourceTypes(r.Context(), sub)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.providerOf("/subscriptions/"+sub, c.Params["resourceProviderNamespace"], types))
	return nil
}

func (s *Server) getTenantProvider(w http.ResponseWriter, r *http.Request, c *Call) error {
	WriteJSON(w, http.StatusOK, s.providerOf("", c.Params["resourceProviderNamespace"], nil))
	return nil
}

func (s *Server) listProviders(w http.ResponseWriter, r *http.Request, c *Call) error {
	sub := c.Params["subscriptionId"]
	types, err := s.resources.ResourceTypes(r.Context(), sub)
	if err != nil {
		return err
	}
	namespaces := map[string]string{}
	s.mu.RLock()
	for k, p := range s.providers {
		namespaces[k] = p.Namespace
	}
	s.mu.RUnlock()
	for _, t := range types {
		ns, _, _ := strings.Cut(t, "/")
		if _, ok := namespaces[strings.ToLower(ns)]; !ok {
			namespaces[strings.ToLower(ns)] = ns
		}
	}
	keys := make([]string, 0, len(namespaces))
	for k := range namespaces {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := page[providerWire]{Value: []providerWire{}}
	for _, k := range keys {
		out.Value = append(out.Value, s.providerOf("/subscriptions/"+sub, namespaces[k], types))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// registerProvider answers POST .../providers/{ns}/register: already
// registered, whatever the namespace.
func (s *Server) registerProvider(w http.ResponseWriter, r *http.Request, c *Call) error {
	return s.getProvider(w, r, c)
}
