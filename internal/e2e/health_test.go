package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/keyless-io/keyless/internal/testenv"
)

func TestHealthAndCloudMetadata(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, path := range []string{"/healthz/live", "/healthz/ready"} {
		resp, err := env.HTTPClient.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	tests := []struct {
		apiVersion string
		list       bool
	}{
		{"2019-05-01", false},
		{"2022-09-01", true},
	}
	for _, tc := range tests {
		t.Run(tc.apiVersion, func(t *testing.T) {
			resp, err := env.HTTPClient.Get(env.URL + "/metadata/endpoints?api-version=" + tc.apiVersion)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
				t.Fatal(err)
			}
			var cloud map[string]any
			if tc.list {
				var clouds []map[string]any
				if err := json.Unmarshal(raw, &clouds); err != nil || len(clouds) != 1 {
					t.Fatalf("want a list of one cloud: %s", raw)
				}
				cloud = clouds[0]
			} else if err := json.Unmarshal(raw, &cloud); err != nil {
				t.Fatalf("want one cloud: %s", raw)
			}
			auth, _ := cloud["authentication"].(map[string]any)
			if cloud["resourceManager"] != env.URL+"/" || auth["loginEndpoint"] != env.URL+"/" {
				t.Fatalf("metadata %s", raw)
			}
		})
	}
}
