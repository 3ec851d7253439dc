package keyvault

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

// TestChallengeResourcePassesTheSDKCheck: for every vault URI keyless
// makes, the challenge resource's host is one the Azure SDKs accept
// without DisableChallengeResourceVerification: the vault URL's host
// (port included) ends with "." + the resource's host.
func TestChallengeResourcePassesTheSDKCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ep       Endpoints
		uri, res string
	}{
		{"loopback", Endpoints{BaseURL: "https://127.0.0.1:8443"}, "https://127.0.0.1:8443/keyvault/kv1/", "https://0.0.1:8443"},
		{"a dotted host", Endpoints{BaseURL: "https://keyless.example.com:8443"}, "https://keyless.example.com:8443/keyvault/kv1/", "https://example.com:8443"},
		{"host mode", Endpoints{BaseURL: "https://keyless.example.com:8443", HostSuffix: "vault.keyless.example.com"},
			"https://kv1.vault.keyless.example.com:8443/", "https://vault.keyless.example.com:8443"},
		{"host mode on 443", Endpoints{BaseURL: "https://keyless.example.com", HostSuffix: "vault.example.com"},
			"https://kv1.vault.example.com/", "https://vault.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri, res := tc.ep.VaultURI("KV1"), tc.ep.Resource()
			if uri != tc.uri || res != tc.res {
				t.Fatalf("uri %s resource %s, want %s %s", uri, res, tc.uri, tc.res)
			}
			vaultHost := strings.SplitN(strings.TrimPrefix(uri, "https://"), "/", 2)[0]
			if !strings.HasSuffix(vaultHost, "."+strings.TrimPrefix(res, "https://")) {
				t.Fatalf("%s does not end with .%s", vaultHost, res)
			}
		})
	}
}

func TestVaultOfHost(t *testing.T) {
	ep := Endpoints{BaseURL: "https://k.example:8443", HostSuffix: "vault.k.example"}
	for host, want := range map[string]string{
		"kv1.vault.k.example:8443": "kv1", "KV1.VAULT.K.EXAMPLE": "kv1",
		"vault.k.example:8443": "", "a.b.vault.k.example": "", "k.example:8443": "", "127.0.0.1:8443": "",
	} {
		got, ok := ep.VaultOfHost(host)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", host, got, ok, want)
		}
	}
	if _, ok := (Endpoints{BaseURL: "https://k.example"}).VaultOfHost("kv1.vault.k.example"); ok {
		t.Error("path mode matched a host")
	}
}

func TestVaultPropertiesAndRecoveryLevel(t *testing.T) {
	for _, tc := range []struct {
		props string
		want  Vault
		level string
	}{
		{`{}`, Vault{SoftDelete: true, RetentionDays: 90}, "Recoverable+Purgeable"},
		{`{"softDeleteRetentionInDays": 7}`, Vault{SoftDelete: true, RetentionDays: 7}, "CustomizedRecoverable+Purgeable"},
		{`{"enablePurgeProtection": true}`, Vault{SoftDelete: true, RetentionDays: 90, PurgeProtection: true}, "Recoverable+ProtectedSubscription"},
		{`{"enableSoftDelete": false, "enablePurgeProtection": true}`, Vault{RetentionDays: 90}, "Purgeable"},
	} {
		v := VaultOf(store.Resource{Body: []byte(`{"properties":` + tc.props + `}`)})
		if v != tc.want || v.RecoveryLevel() != tc.level {
			t.Errorf("%s: %+v %s, want %+v %s", tc.props, v, v.RecoveryLevel(), tc.want, tc.level)
		}
	}
}

// fakeTx serves the one list prepareVault makes.
type fakeTx struct {
	store.Tx
	vaults []store.Resource
}

func (f fakeTx) ListResources(context.Context, store.ResourceFilter) ([]store.Resource, error) {
	return f.vaults, nil
}

func TestPrepareVaultSetsOwnedPropertiesAndRefusesWhatKeylessDoesNotServe(t *testing.T) {
	ep := Endpoints{BaseURL: "https://127.0.0.1:8443", TenantID: "t1"}
	other := store.Resource{ID: "/subscriptions/s/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/taken", Name: "taken"}
	for _, tc := range []struct {
		name, vault, props string
		want               string // a refusal's target or code; "" for success
	}{
		{"defaults", "kv1", `{"sku":{"name":"standard"},"vaultUri":"https://elsewhere/"}`, ""},
		{"access policies", "kv1", `{"accessPolicies":[{"objectId":"x"}]}`, "properties.accessPolicies"},
		{"the access policy model", "kv1", `{"enableRbacAuthorization":false}`, "properties.enableRbacAuthorization"},
		{"retention out of range", "kv1", `{"softDeleteRetentionInDays":3}`, "properties.softDeleteRetentionInDays"},
		{"a name another vault holds", "TAKEN", `{}`, "VaultAlreadyExists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := store.Resource{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + tc.vault, Name: tc.vault,
				Body: []byte(`{"properties":` + tc.props + `}`)}
			err := ep.prepareVault(t.Context(), fakeTx{vaults: []store.Resource{other}}, &r)
			var ve *resources.ValidationError
			var ce *resources.ConflictError
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				var body struct{ Properties map[string]any }
				_ = json.Unmarshal(r.Body, &body)
				p := body.Properties
				if p["vaultUri"] != "https://127.0.0.1:8443/keyvault/kv1/" || p["enableRbacAuthorization"] != true || p["tenantId"] != "t1" ||
					p["enableSoftDelete"] != true || p["softDeleteRetentionInDays"] != float64(90) || p["sku"] == nil {
					t.Fatalf("properties %v", p)
				}
			case errors.As(err, &ve) && ve.Target == tc.want, errors.As(err, &ce) && ce.Code == tc.want:
			default:
				t.Fatalf("err %v, want %s", err, tc.want)
			}
		})
	}
}
