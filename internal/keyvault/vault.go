// Package keyvault owns Key Vault's secrets data plane model: the vault
// properties keyless sets and honours (vaultUri, the RBAC permission model,
// soft delete, purge protection), secrets and their versions sealed under
// the installation's master key, soft delete, recovery, purge, backup and
// restore, and what deleting a vault does to its secrets.
//
// It never speaks HTTP and never decides authorization (the front door,
// internal/keyvaultapi, asks the RBAC engine through the public verify
// package), and it never logs or returns a secret value except to the
// caller that asked for it.
package keyvault

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

// VaultType is the ARM type of a vault.
const VaultType = "Microsoft.KeyVault/vaults"

// Vault is what the data plane needs of a vault resource.
type Vault struct {
	ID   string
	Name string
	// SoftDelete keeps deleted secrets for RetentionDays; PurgeProtection
	// refuses purging them before then.
	SoftDelete      bool
	RetentionDays   int
	PurgeProtection bool
}

// vaultProperties are the members of properties keyless reads or sets.
type vaultProperties struct {
	EnableSoftDelete          *bool           `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays *int            `json:"softDeleteRetentionInDays"`
	EnablePurgeProtection     *bool           `json:"enablePurgeProtection"`
	EnableRbacAuthorization   *bool           `json:"enableRbacAuthorization"`
	AccessPolicies            json.RawMessage `json:"accessPolicies"`
}

// VaultOf reads a vault resource's properties (defaults as Azure's).
func VaultOf(r store.Resource) Vault {
	v := Vault{ID: r.ID, Name: r.Name, SoftDelete: true, RetentionDays: 90}
	var body struct {
		Properties vaultProperties `json:"properties"`
	}
	_ = json.Unmarshal(r.Body, &body)
	p := body.Properties
	if p.EnableSoftDelete != nil {
		v.SoftDelete = *p.EnableSoftDelete
	}
	if p.SoftDeleteRetentionInDays != nil {
		v.RetentionDays = *p.SoftDeleteRetentionInDays
	}
	if p.EnablePurgeProtection != nil {
		v.PurgeProtection = *p.EnablePurgeProtection && v.SoftDelete
	}
	return v
}

// RecoveryLevel is Key Vault's attributes.recoveryLevel for the vault.
func (v Vault) RecoveryLevel() string {
	if !v.SoftDelete {
		return "Purgeable"
	}
	level := "Recoverable+Purgeable"
	if v.PurgeProtection {
		level = "Recoverable+ProtectedSubscription"
	}
	if v.RetentionDays < 90 {
		level = "Customized" + level
	}
	return level
}

// Endpoints says where vaults are served. With HostSuffix (say
// "vault.keyless.example", with a wildcard DNS record pointing at the
// server) a vault is served at https://{name}.{HostSuffix}[:port]/, as
// Azure serves https://{name}.vault.azure.net/, and secret IDs parse as the
// SDKs expect. Without, at BaseURL + "/keyvault/" + name + "/", which needs
// no DNS (a loopback address, a laptop) but gives IDs whose first path
// segments are not /secrets/{name}/{version}: azsecrets' ID.Name and
// ID.Version misread them (the requests themselves all work).
type Endpoints struct {
	BaseURL    string
	HostSuffix string
	// TenantID goes into the challenge's authorization URI and into
	// properties.tenantId.
	TenantID string
}

// VaultURI is the properties.vaultUri keyless sets for a vault.
func (e Endpoints) VaultURI(name string) string {
	if e.HostSuffix != "" {
		return "https://" + strings.ToLower(name) + "." + e.HostSuffix + e.port() + "/"
	}
	return strings.TrimSuffix(e.BaseURL, "/") + "/keyvault/" + strings.ToLower(name) + "/"
}

// port is ":port" of BaseURL, or "" for the default port.
func (e Endpoints) port() string {
	u, err := url.Parse(e.BaseURL)
	if err != nil || u.Port() == "" || u.Port() == "443" {
		return ""
	}
	return ":" + u.Port()
}

// VaultOfHost returns the vault name a request's Host names in host mode.
func (e Endpoints) VaultOfHost(host string) (string, bool) {
	if e.HostSuffix == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, ok := strings.CutSuffix(strings.ToLower(host), "."+strings.ToLower(e.HostSuffix))
	if !ok || name == "" || strings.Contains(name, ".") {
		return "", false
	}
	return name, true
}

// Resource is the audience of tokens the data plane accepts, and the
// resource its 401 challenge names. In host mode it is
// https://{HostSuffix}[:port], as https://vault.azure.net is Azure's. The Azure SDKs check that the vault
// URL's host ends with "." + the challenge resource's host (port included),
// the check Azure itself passes with vault hosts under vault.azure.net. For
// a data plane on the keyless host that means the host less its first
// label: for https://127.0.0.1:8443 the resource is https://0.0.1:8443; for
// https://keyless.example.com:8443, https://example.com:8443. A host with no
// dot (localhost) has no such suffix: the resource is then the host
// itself, and clients need DisableChallengeResourceVerification.
func (e Endpoints) Resource() string {
	if e.HostSuffix != "" {
		return "https://" + e.HostSuffix + e.port()
	}
	u, err := url.Parse(e.BaseURL)
	if err != nil {
		return e.BaseURL
	}
	host := u.Host
	if _, rest, ok := strings.Cut(host, "."); ok && !strings.HasPrefix(host, "[") {
		host = rest
	}
	return "https://" + host
}

// Hook keeps vault resources and their secrets in step (resources.TypeHook).
func (e Endpoints) Hook(now func() time.Time) resources.TypeHook {
	return resources.TypeHook{
		Write: func(ctx context.Context, tx store.Tx, r *store.Resource) error { return e.prepareVault(ctx, tx, r) },
		Delete: func(ctx context.Context, tx store.Tx, r store.Resource) error {
			return deleteVaultSecrets(ctx, tx, VaultOf(r), now().UTC())
		},
	}
}

// prepareVault sets the properties keyless owns and refuses what it does
// not serve: access policies (keyless authorizes by RBAC data actions
// only) and vault names another vault holds (vault names are global, as
// their host names are in Azure).
func (e Endpoints) prepareVault(ctx context.Context, tx store.Tx, r *store.Resource) error {
	body := map[string]json.RawMessage{}
	_ = json.Unmarshal(r.Body, &body)
	props := map[string]json.RawMessage{}
	if raw, ok := body["properties"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &props); err != nil {
			return resources.Invalid("InvalidRequestContent", "properties", "The vault's properties must be an object.")
		}
	}
	var p vaultProperties
	pb, _ := json.Marshal(props)
	if err := json.Unmarshal(pb, &p); err != nil {
		return resources.Invalid("InvalidRequestContent", "properties", "The vault's properties are malformed: "+err.Error())
	}
	if p.EnableRbacAuthorization != nil && !*p.EnableRbacAuthorization {
		return resources.Invalid("BadRequest", "properties.enableRbacAuthorization",
			"keyless serves Key Vault with the Azure role-based access control permission model only: set properties.enableRbacAuthorization to true (or leave it out) and grant Key Vault roles (Key Vault Secrets User, Key Vault Secrets Officer, Key Vault Administrator).")
	}
	if len(p.AccessPolicies) > 0 && string(p.AccessPolicies) != "null" && string(p.AccessPolicies) != "[]" {
		return resources.Invalid("BadRequest", "properties.accessPolicies",
			"keyless does not support vault access policies: authorization is by RBAC data actions only. Remove properties.accessPolicies and grant Key Vault roles instead.")
	}
	if p.SoftDeleteRetentionInDays != nil && (*p.SoftDeleteRetentionInDays < 7 || *p.SoftDeleteRetentionInDays > 90) {
		return resources.Invalid("BadRequest", "properties.softDeleteRetentionInDays", "softDeleteRetentionInDays must be between 7 and 90.")
	}
	others, err := tx.ListResources(ctx, store.ResourceFilter{Type: VaultType})
	if err != nil {
		return err
	}
	for _, o := range others {
		if strings.EqualFold(o.Name, r.Name) && !strings.EqualFold(o.ID, r.ID) {
			return &resources.ConflictError{Code: "VaultAlreadyExists",
				Message: "The vault name '" + r.Name + "' is already in use. Vault names are unique in an installation, as their URIs are: choose another name."}
		}
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		props[k] = b
	}
	set("vaultUri", e.VaultURI(r.Name))
	set("enableRbacAuthorization", true)
	if _, ok := props["tenantId"]; !ok {
		set("tenantId", e.TenantID)
	}
	if p.EnableSoftDelete == nil {
		set("enableSoftDelete", true)
	}
	if p.SoftDeleteRetentionInDays == nil {
		set("softDeleteRetentionInDays", 90)
	}
	pbody, _ := json.Marshal(props)
	body["properties"] = pbody
	r.Body, _ = json.Marshal(body)
	return nil
}

// deleteVaultSecrets is what deleting a vault does to its secrets, in the
// same transaction: with soft delete each live secret becomes a deleted
// secret due for purging after the retention period (recoverable if a
// vault of that name is created again in its place); without, every
// secret is purged.
func deleteVaultSecrets(ctx context.Context, tx store.Tx, v Vault, now time.Time) error {
	for _, deleted := range []bool{false, true} {
		secrets, _, err := tx.ListVaultSecrets(ctx, store.VaultSecretFilter{VaultID: v.ID, Deleted: deleted})
		if err != nil {
			return err
		}
		for _, s := range secrets {
			switch {
			case deleted && v.SoftDelete:
				// Already deleted: its purge date stands.
			case v.SoftDelete:
				err = tx.DeleteVaultSecret(ctx, v.ID, s.Name, now, now.AddDate(0, 0, v.RetentionDays))
			default:
				err = tx.PurgeVaultSecret(ctx, v.ID, s.Name)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}
