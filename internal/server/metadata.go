package server

import (
	"encoding/json"
	"net/http"
)

// handleMetadataEndpoints serves the cloud metadata document that
// `az cloud register --endpoint-resource-manager` and other tools read to
// learn the login endpoint and audiences of a custom cloud. From
// api-version 2022-09-01 ARM returns a list of clouds; before, one cloud.
func (s *Server) handleMetadataEndpoints(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL + "/"
	cloud := map[string]any{
		"name":            "keyless",
		"portal":          base,
		"resourceManager": base,
		"authentication": map[string]any{
			"loginEndpoint":    base,
			"audiences":        []string{"https://management.core.windows.net/", "https://management.azure.com/"},
			"tenant":           s.inst.TenantID,
			"identityProvider": "AAD",
		},
		"media": "", "graphAudience": "", "graph": "", "batch": "", "gallery": "",
		"sqlManagement": "", "vmImageAliasDoc": "", "activeDirectoryDataLake": "",
		"suffixes": map[string]any{"keyVaultDns": "", "storage": "", "acrLoginServer": "", "sqlServerHostname": ""},
		// The fields of the 2015-01-01 shape, which older tools still read.
		"galleryEndpoint": "", "graphEndpoint": "", "portalEndpoint": base,
	}
	var doc any = cloud
	if v := r.URL.Query().Get("api-version"); v >= "2022-09-01" {
		doc = []any{cloud}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(doc)
}
