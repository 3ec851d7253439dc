package arm_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

var stableVersion = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// TestProviderCatalogue: every common namespace lists its resource types
// with api-versions newest first (az takes the first stable one when a
// command has no --api-version), locations and capabilities, through
// armresources' ProvidersClient as az reads it.
func TestProviderCatalogue(t *testing.T) {
	e := newEnv(t)
	sub := "/subscriptions/" + subscriptionID
	if resp, body := e.do("PUT", sub+"/resourcegroups/rg1?api-version=2021-04-01", adminToken, `{"location":"westus"}`); resp.StatusCode >= 300 {
		t.Fatalf("group: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do("PUT", sub+"/resourceGroups/rg1/providers/Microsoft.Web/widgets/w1?api-version=2022-03-01", adminToken, `{"location":"westus"}`); resp.StatusCode >= 300 {
		t.Fatalf("stored type: %d %s", resp.StatusCode, body)
	}
	client, err := armresources.NewProvidersClient(subscriptionID, adminCred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		namespace, resourceType, capability string
	}{
		{"Microsoft.Web", "sites", "SystemAssignedResourceIdentity"},
		{"Microsoft.Web", "serverFarms", "SupportsLocation"},
		{"Microsoft.Compute", "virtualMachines", "SystemAssignedResourceIdentity"},
		{"Microsoft.Storage", "storageAccounts", "SupportsTags"},
		{"Microsoft.Storage", "storageAccounts/blobServices/containers", "None"},
		{"Microsoft.KeyVault", "vaults", "SupportsTags"},
		{"Microsoft.ContainerRegistry", "registries", "SupportsTags"},
		{"Microsoft.ContainerService", "managedClusters", "SupportsTags"},
		{"Microsoft.Network", "virtualNetworks", "SupportsTags"},
		{"Microsoft.Sql", "servers", "SupportsTags"},
		{"Microsoft.DocumentDB", "databaseAccounts", "SupportsTags"},
		{"Microsoft.ServiceBus", "namespaces", "SupportsTags"},
		{"Microsoft.EventHub", "namespaces", "SupportsTags"},
		{"Microsoft.App", "containerApps", "SupportsTags"},
		{"Microsoft.AppConfiguration", "configurationStores", "SupportsTags"},
		{"Microsoft.Insights", "components", "SupportsTags"},
		{"Microsoft.Insights", "diagnosticSettings", "SupportsExtension"},
		{"Microsoft.OperationalInsights", "workspaces", "SupportsTags"},
		{"Microsoft.ManagedIdentity", "userAssignedIdentities", ""},
		{"Microsoft.Authorization", "roleAssignments", "SupportsExtension"},
		{"Microsoft.Resources", "resourceGroups", ""},
		// A type a caller stored is listed beside the catalogue's.
		{"Microsoft.Web", "widgets", "SupportsTags"},
	}
	for _, tc := range cases {
		t.Run(tc.namespace+"/"+tc.resourceType, func(t *testing.T) {
			p, err := client.Get(e.ctx, tc.namespace, nil)
			if err != nil {
				t.Fatal(err)
			}
			var found *armresources.ProviderResourceType
			for _, rt := range p.ResourceTypes {
				if strings.EqualFold(*rt.ResourceType, tc.resourceType) {
					found = rt
				}
			}
			if found == nil {
				t.Fatalf("%s lacks %s", tc.namespace, tc.resourceType)
			}
			var versions []string
			for _, v := range found.APIVersions {
				versions = append(versions, *v)
			}
			if len(versions) == 0 {
				t.Fatal("no apiVersions")
			}
			if !hasStable(versions) {
				t.Errorf("no stable api-version in %v", versions)
			}
			for i := 1; i < len(versions); i++ {
				if versions[i][:10] > versions[i-1][:10] {
					t.Errorf("api-versions not newest first: %s after %s", versions[i], versions[i-1])
				}
			}
			if tc.capability != "" && (found.Capabilities == nil || !strings.Contains(*found.Capabilities, tc.capability)) {
				t.Errorf("capabilities %v lack %s", found.Capabilities, tc.capability)
			}
		})
	}
	// The raw body carries the fields az reads, for every type.
	_, body := e.do("GET", sub+"/providers/Microsoft.Web?api-version=2021-04-01", adminToken, "")
	var raw struct {
		ResourceTypes []map[string]any `json:"resourceTypes"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, rt := range raw.ResourceTypes {
		for _, k := range []string{"resourceType", "apiVersions", "locations", "capabilities"} {
			if _, ok := rt[k]; !ok {
				t.Errorf("%v lacks %s", rt["resourceType"], k)
			}
		}
	}
}

func hasStable(versions []string) bool {
	for _, v := range versions {
		if stableVersion.MatchString(v) {
			return true
		}
	}
	return false
}
