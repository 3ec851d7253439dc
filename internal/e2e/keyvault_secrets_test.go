package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directoryapi"
	"github.com/keyless-io/keyless/internal/testenv"
)

// TestKeyVaultSecretsThroughAzsecrets drives every secrets operation
// through azsecrets with its default options, as a Key Vault Secrets
// Officer: set, get latest and by version, list secrets and versions over
// several pages, update attributes, delete, get and list deleted, recover,
// purge, backup and restore; then soft delete and purge protection as the
// vault's properties say.
func TestKeyVaultSecretsThroughAzsecrets(t *testing.T) {
	env := startHostModeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ensureGroup(t, env, "rg-kv")
	vaultID, vaultURI := createVault(t, env, "rg-kv", "kv-ops", map[string]any{"softDeleteRetentionInDays": 7})
	if !strings.HasPrefix(vaultURI, "https://kv-ops."+vaultHostSuffix+":") {
		t.Fatalf("vaultUri %s", vaultURI)
	}
	officer := newRBACPrincipal(t, env, "officer")
	grant(t, env, vaultID, roleKeyVaultSecretsOfficer, officer.ObjectID)
	c := secretsClient(t, env, vaultURI, officer.Cred)

	t.Run("set and get, latest and by version", func(t *testing.T) {
		v1, err := c.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("one")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		exp, nbf := time.Now().Add(time.Hour).Truncate(time.Second), time.Now().Add(-time.Minute).Truncate(time.Second)
		v2, err := c.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("two"), ContentType: to.Ptr("text/plain"),
			Tags: map[string]*string{"env": to.Ptr("prod")}, SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp, NotBefore: &nbf}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v1.ID.Version() == v2.ID.Version() || v2.ID.Name() != "db" || !strings.HasPrefix(string(*v2.ID), vaultURI+"secrets/db/") {
			t.Fatalf("versions %s %s", *v1.ID, *v2.ID)
		}
		got, err := c.GetSecret(ctx, "db", "", nil)
		if err != nil || *got.Value != "two" || *got.ContentType != "text/plain" || *got.Tags["env"] != "prod" ||
			!got.Attributes.Expires.Equal(exp) || !got.Attributes.NotBefore.Equal(nbf) || *got.ID != *v2.ID {
			t.Fatalf("latest %+v %v", got, err)
		}
		if *got.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" || *got.Attributes.RecoverableDays != 7 {
			t.Fatalf("recovery %s %d", *got.Attributes.RecoveryLevel, *got.Attributes.RecoverableDays)
		}
		old, err := c.GetSecret(ctx, "DB", v1.ID.Version(), nil)
		if err != nil || *old.Value != "one" {
			t.Fatalf("by version %+v %v", old, err)
		}
		_, err = c.GetSecret(ctx, "db", "0123456789abcdef0123456789abcdef", nil)
		wantKVError(t, err, 404, "SecretNotFound", "db/0123456789abcdef0123456789abcdef")
		_, err = c.GetSecret(ctx, "nope", "", nil)
		wantKVError(t, err, 404, "SecretNotFound", "nope")
	})

	t.Run("list secrets and versions page by page", func(t *testing.T) {
		for i := range 30 {
			if _, err := c.SetSecret(ctx, fmt.Sprintf("bulk-%02d", i), azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
				t.Fatal(err)
			}
		}
		pages, names := 0, map[string]bool{}
		for p := c.NewListSecretPropertiesPager(nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range page.Value {
				if s.ID.Version() != "" || s.Attributes == nil || s.Attributes.Created == nil {
					t.Fatalf("item %+v", s)
				}
				names[s.ID.Name()] = true
			}
		}
		if pages != 2 || len(names) != 31 || !names["db"] || !names["bulk-29"] {
			t.Fatalf("%d pages, %d secrets", pages, len(names))
		}
		for range 26 {
			if _, err := c.SetSecret(ctx, "rotated", azsecrets.SetSecretParameters{Value: to.Ptr(uuid.NewString())}, nil); err != nil {
				t.Fatal(err)
			}
		}
		pages, versions := 0, map[string]bool{}
		for p := c.NewListSecretPropertiesVersionsPager("rotated", nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range page.Value {
				versions[s.ID.Version()] = true
			}
		}
		if pages != 2 || len(versions) != 26 {
			t.Fatalf("%d pages, %d versions", pages, len(versions))
		}
	})

	t.Run("update attributes: disabled, not yet valid and expired versions give no value", func(t *testing.T) {
		cur, _ := c.GetSecret(ctx, "db", "", nil)
		upd, err := c.UpdateSecretProperties(ctx, "db", cur.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
			ContentType: to.Ptr("application/json"), Tags: map[string]*string{"owner": to.Ptr("team-a")},
			SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil)
		if err != nil || *upd.Attributes.Enabled || *upd.ContentType != "application/json" || *upd.Tags["owner"] != "team-a" || upd.Value != nil {
			t.Fatalf("update %+v %v", upd, err)
		}
		_, err = c.GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 403, "Forbidden", "disabled")
		future := time.Now().Add(time.Hour)
		if _, err := c.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{
			SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true), NotBefore: &future}}, nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 403, "Forbidden")
		past := time.Now().Add(-time.Hour)
		if _, err := c.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{
			SecretAttributes: &azsecrets.SecretAttributes{NotBefore: &past, Expires: &past}}, nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 403, "Forbidden")
		later := time.Now().Add(time.Hour)
		if _, err := c.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{
			SecretAttributes: &azsecrets.SecretAttributes{Expires: &later}}, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := c.GetSecret(ctx, "db", "", nil); err != nil || *got.Value != "two" {
			t.Fatalf("re-enabled %v", err)
		}
		_, err = c.UpdateSecretProperties(ctx, "nope", "", azsecrets.UpdateSecretPropertiesParameters{}, nil)
		wantKVError(t, err, 404, "SecretNotFound")
	})

	t.Run("delete, get and list deleted, recover, purge", func(t *testing.T) {
		if _, err := c.SetSecret(ctx, "tmp", azsecrets.SetSecretParameters{Value: to.Ptr("t1")}, nil); err != nil {
			t.Fatal(err)
		}
		del, err := c.DeleteSecret(ctx, "tmp", nil)
		if err != nil || *del.RecoveryID != vaultURI+"deletedsecrets/tmp" || del.DeletedDate == nil ||
			del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 7*24*time.Hour {
			t.Fatalf("delete %+v %v", del, err)
		}
		_, err = c.GetSecret(ctx, "tmp", "", nil)
		wantKVError(t, err, 404, "SecretNotFound")
		_, err = c.SetSecret(ctx, "tmp", azsecrets.SetSecretParameters{Value: to.Ptr("t2")}, nil)
		wantKVError(t, err, 409, "Conflict", "deleted but recoverable")
		got, err := c.GetDeletedSecret(ctx, "tmp", nil)
		if err != nil || got.Value != nil || *got.RecoveryID != *del.RecoveryID {
			t.Fatalf("get deleted %+v %v", got, err)
		}
		found := false
		for p := c.NewListDeletedSecretPropertiesPager(nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.Value {
				found = found || *s.RecoveryID == *del.RecoveryID
			}
		}
		if !found {
			t.Fatal("the deleted secret is not listed")
		}
		if _, err := c.RecoverDeletedSecret(ctx, "tmp", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := c.GetSecret(ctx, "tmp", "", nil); err != nil || *got.Value != "t1" {
			t.Fatalf("recovered %v", err)
		}
		_, err = c.RecoverDeletedSecret(ctx, "tmp", nil)
		wantKVError(t, err, 404, "SecretNotFound")
		if _, err := c.DeleteSecret(ctx, "tmp", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PurgeDeletedSecret(ctx, "tmp", nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetDeletedSecret(ctx, "tmp", nil)
		wantKVError(t, err, 404, "SecretNotFound")
		_, err = c.PurgeDeletedSecret(ctx, "tmp", nil)
		wantKVError(t, err, 404, "SecretNotFound")
		if _, err := c.SetSecret(ctx, "tmp", azsecrets.SetSecretParameters{Value: to.Ptr("fresh")}, nil); err != nil {
			t.Fatalf("a purged name is free again: %v", err)
		}
	})

	t.Run("backup and restore keep every version", func(t *testing.T) {
		first, _ := c.SetSecret(ctx, "bk", azsecrets.SetSecretParameters{Value: to.Ptr("b1")}, nil)
		c.SetSecret(ctx, "bk", azsecrets.SetSecretParameters{Value: to.Ptr("b2"), Tags: map[string]*string{"k": to.Ptr("v")}}, nil)
		blob, err := c.BackupSecret(ctx, "bk", nil)
		if err != nil || len(blob.Value) == 0 || strings.Contains(string(blob.Value), "b2") {
			t.Fatalf("backup %v", err)
		}
		_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: blob.Value}, nil)
		wantKVError(t, err, 409, "Conflict")
		c.DeleteSecret(ctx, "bk", nil)
		c.PurgeDeletedSecret(ctx, "bk", nil)
		restored, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: blob.Value}, nil)
		if err != nil || *restored.Tags["k"] != "v" {
			t.Fatalf("restore %+v %v", restored, err)
		}
		if got, err := c.GetSecret(ctx, "bk", "", nil); err != nil || *got.Value != "b2" {
			t.Fatalf("restored latest %v", err)
		}
		if got, err := c.GetSecret(ctx, "bk", first.ID.Version(), nil); err != nil || *got.Value != "b1" {
			t.Fatalf("restored first version %v", err)
		}
		_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: []byte("not a backup blob at all, sorry")}, nil)
		wantKVError(t, err, 400, "BadParameter")
	})

	t.Run("purge protection refuses purging", func(t *testing.T) {
		id, uri := createVault(t, env, "rg-kv", "kv-protected", map[string]any{"enablePurgeProtection": true})
		grant(t, env, id, roleKeyVaultSecretsOfficer, officer.ObjectID)
		pc := secretsClient(t, env, uri, officer.Cred)
		pc.SetSecret(ctx, "keep", azsecrets.SetSecretParameters{Value: to.Ptr("k")}, nil)
		del, err := pc.DeleteSecret(ctx, "keep", nil)
		if err != nil || *del.Attributes.RecoveryLevel != "Recoverable+ProtectedSubscription" {
			t.Fatalf("%+v %v", del, err)
		}
		_, err = pc.PurgeDeletedSecret(ctx, "keep", nil)
		wantKVError(t, err, 403, "Forbidden", "purge protection")
		if _, err := pc.RecoverDeletedSecret(ctx, "keep", nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("without soft delete a delete is final", func(t *testing.T) {
		id, uri := createVault(t, env, "rg-kv", "kv-nosoft", map[string]any{"enableSoftDelete": false})
		grant(t, env, id, roleKeyVaultSecretsOfficer, officer.ObjectID)
		nc := secretsClient(t, env, uri, officer.Cred)
		nc.SetSecret(ctx, "gone", azsecrets.SetSecretParameters{Value: to.Ptr("g")}, nil)
		del, err := nc.DeleteSecret(ctx, "gone", nil)
		if err != nil || *del.Attributes.RecoveryLevel != "Purgeable" {
			t.Fatalf("%+v %v", del, err)
		}
		_, err = nc.GetDeletedSecret(ctx, "gone", nil)
		wantKVError(t, err, 400, "BadParameter", "soft delete")
		if _, err := nc.SetSecret(ctx, "gone", azsecrets.SetSecretParameters{Value: to.Ptr("again")}, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestKeyVaultRefusals: every way a request is refused, in Key Vault's
// shapes, and that role changes apply to the next request.
func TestKeyVaultRefusals(t *testing.T) {
	env := startHostModeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sub := env.Creds.SubscriptionID
	ensureGroup(t, env, "rg-kv")
	rgScope := "/subscriptions/" + sub + "/resourceGroups/rg-kv"
	vaultID, vaultURI := createVault(t, env, "rg-kv", "kv-refuse", nil)
	admin := newRBACPrincipal(t, env, "kv-admin")
	grant(t, env, vaultID, roleKeyVaultAdministrator, admin.ObjectID)
	ac := secretsClient(t, env, vaultURI, admin.Cred)
	for _, n := range []string{"db", "api-key"} {
		if _, err := ac.SetSecret(ctx, n, azsecrets.SetSecretParameters{Value: to.Ptr(n + "-value")}, nil); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Secrets User at the resource group reads and nothing more", func(t *testing.T) {
		user := newRBACPrincipal(t, env, "kv-user")
		grant(t, env, rgScope, roleKeyVaultSecretsUser, user.ObjectID)
		uc := secretsClient(t, env, vaultURI, user.Cred)
		if got, err := uc.GetSecret(ctx, "db", "", nil); err != nil || *got.Value != "db-value" {
			t.Fatalf("read %v", err)
		}
		if _, err := uc.NewListSecretPropertiesPager(nil).NextPage(ctx); err != nil {
			t.Fatalf("list %v", err)
		}
		for _, tc := range []struct {
			action string
			call   func() error
		}{
			{"Microsoft.KeyVault/vaults/secrets/setSecret/action", func() error {
				_, err := uc.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
				return err
			}},
			{"Microsoft.KeyVault/vaults/secrets/update/action", func() error {
				_, err := uc.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{}, nil)
				return err
			}},
			{"Microsoft.KeyVault/vaults/secrets/delete", func() error { _, err := uc.DeleteSecret(ctx, "db", nil); return err }},
			{"Microsoft.KeyVault/vaults/secrets/purge/action", func() error { _, err := uc.PurgeDeletedSecret(ctx, "db", nil); return err }},
			{"Microsoft.KeyVault/vaults/secrets/recover/action", func() error { _, err := uc.RecoverDeletedSecret(ctx, "db", nil); return err }},
			{"Microsoft.KeyVault/vaults/secrets/backup/action", func() error { _, err := uc.BackupSecret(ctx, "db", nil); return err }},
			{"Microsoft.KeyVault/vaults/secrets/restore/action", func() error {
				_, err := uc.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: []byte("x")}, nil)
				return err
			}},
		} {
			wantKVError(t, tc.call(), 403, "Forbidden", tc.action, user.ObjectID)
		}
	})

	t.Run("no role: refused, naming the data action and the secret", func(t *testing.T) {
		nobody := newRBACPrincipal(t, env, "kv-nobody")
		_, err := secretsClient(t, env, vaultURI, nobody.Cred).GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 403, "Forbidden", "Microsoft.KeyVault/vaults/secrets/getSecret/action", strings.ToLower(vaultID)+"/secrets/db")
	})

	t.Run("an assignment at one secret reaches that secret only, and is purged with it", func(t *testing.T) {
		one := newRBACPrincipal(t, env, "kv-one")
		grant(t, env, vaultID+"/secrets/api-key", roleKeyVaultSecretsUser, one.ObjectID)
		oc := secretsClient(t, env, vaultURI, one.Cred)
		if _, err := oc.GetSecret(ctx, "api-key", "", nil); err != nil {
			t.Fatal(err)
		}
		_, err := oc.GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 403, "Forbidden")
		if _, err := ac.DeleteSecret(ctx, "api-key", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ac.PurgeDeletedSecret(ctx, "api-key", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ac.SetSecret(ctx, "api-key", azsecrets.SetSecretParameters{Value: to.Ptr("new")}, nil); err != nil {
			t.Fatal(err)
		}
		_, err = oc.GetSecret(ctx, "api-key", "", nil)
		wantKVError(t, err, 403, "Forbidden", "getSecret/action")
		_, err = assignmentsClient(t, env, env.AdminCredential(t)).Create(ctx, vaultID+"/secrets/no-such-secret", uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
			Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(one.ObjectID), RoleDefinitionID: to.Ptr(roleDefID(sub, roleKeyVaultSecretsUser))}}, nil)
		wantARMError(t, err, 404, "ResourceNotFound")
	})

	t.Run("through a group, gone on the next request with the membership", func(t *testing.T) {
		member := newRBACPrincipal(t, env, "kv-member")
		var g directoryapi.Group
		if code := adminCall(t, env, http.MethodPost, "/providers/Keyless.Directory/groups", map[string]string{"displayName": "vault-readers"}, &g); code != http.StatusCreated {
			t.Fatalf("create group: %d", code)
		}
		adminCall(t, env, http.MethodPut, "/providers/Keyless.Directory/groups/"+g.Name+"/members/"+member.ObjectID, map[string]any{}, nil)
		ras := assignmentsClient(t, env, env.AdminCredential(t))
		if _, err := ras.Create(ctx, "/subscriptions/"+sub, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			PrincipalID: to.Ptr(g.Name), PrincipalType: to.Ptr(armauthorization.PrincipalTypeGroup),
			RoleDefinitionID: to.Ptr(roleDefID(sub, roleKeyVaultSecretsUser)),
		}}, nil); err != nil {
			t.Fatal(err)
		}
		mc := secretsClient(t, env, vaultURI, member.Cred)
		if _, err := mc.GetSecret(ctx, "db", "", nil); err != nil {
			t.Fatalf("a group member cannot read: %v", err)
		}
		adminCall(t, env, http.MethodDelete, "/providers/Keyless.Directory/groups/"+g.Name+"/members/"+member.ObjectID, nil, nil)
		_, err := mc.GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 403, "Forbidden", "getSecret/action")
	})

	t.Run("no token: 401 with the challenge; a token for another audience: 401", func(t *testing.T) {
		resp, err := env.HTTPClient.Get(vaultURI + "secrets/db?api-version=7.5")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ch := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != 401 || !strings.Contains(ch, `authorization="`+env.URL+"/"+env.Creds.TenantID+`"`) || !strings.Contains(ch, `resource="https://`) {
			t.Fatalf("%d %q", resp.StatusCode, ch)
		}
		armToken, err := admin.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, vaultURI+"secrets/db?api-version=7.5", nil)
		req.Header.Set("Authorization", "Bearer "+armToken.Token)
		resp, err = env.HTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body errorEnvelope
		_ = jsonDecode(resp, &body)
		resp.Body.Close()
		if resp.StatusCode != 401 || body.Error.Code != "Unauthorized" || !strings.Contains(body.Error.Message, "audience") {
			t.Fatalf("%d %+v", resp.StatusCode, body)
		}
	})

	t.Run("a vault that does not exist", func(t *testing.T) {
		_, err := secretsClient(t, env, strings.Replace(vaultURI, "kv-refuse", "kv-missing", 1), admin.Cred).GetSecret(ctx, "db", "", nil)
		wantKVError(t, err, 404, "VaultNotFound")
	})

	t.Run("ARM refuses access policies, the vault permission model, and a taken name", func(t *testing.T) {
		client, _ := armresources.NewClient(sub, env.AdminCredential(t), env.ARMOptions())
		for _, tc := range []struct {
			name  string
			props map[string]any
			want  string
		}{
			{"kv-policies", map[string]any{"accessPolicies": []any{map[string]any{"tenantId": env.Creds.TenantID, "objectId": admin.ObjectID, "permissions": map[string]any{"secrets": []string{"get"}}}}}, "accessPolicies"},
			{"kv-legacy", map[string]any{"enableRbacAuthorization": false}, "enableRbacAuthorization"},
		} {
			id := rgScope + "/providers/Microsoft.KeyVault/vaults/" + tc.name
			_, err := client.BeginCreateOrUpdateByID(ctx, id, vaultAPIVersion, armresources.GenericResource{Location: to.Ptr("westus"), Properties: tc.props}, nil)
			wantARMError(t, err, 400, "")
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		ensureGroup(t, env, "rg-other")
		_, err := client.BeginCreateOrUpdateByID(ctx, "/subscriptions/"+sub+"/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/KV-REFUSE",
			vaultAPIVersion, armresources.GenericResource{Location: to.Ptr("westus"), Properties: map[string]any{}}, nil)
		wantARMError(t, err, 409, "VaultAlreadyExists")
	})

	t.Run("requests are counted in usage, refusals apart", func(t *testing.T) {
		if err := env.Server.FlushUsage(ctx); err != nil {
			t.Fatal(err)
		}
		byID := readUsage(t, env, env.AdminCredential(t), rgScope, nil)
		u, ok := byID[admin.ObjectID]
		if !ok {
			t.Fatalf("no usage for the administrator: %v", byID)
		}
		wantAction(t, u.Properties, "Microsoft.KeyVault/vaults/secrets/setSecret/action", vaultID+"/secrets/db", "allowed")
	})
}

// TestKeyVaultDeletingTheVaultSoftDeletesItsSecrets: deleting a vault, or
// its resource group, takes its secrets into the deleted state with the
// vault's retention, and a vault created again under that name can
// recover them.
func TestKeyVaultDeletingTheVaultSoftDeletesItsSecrets(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub := env.Creds.SubscriptionID
	ensureGroup(t, env, "rg-doomed")
	vaultID, vaultURI := createVault(t, env, "rg-doomed", "kv-doomed", nil)
	officer := newRBACPrincipal(t, env, "officer")
	grant(t, env, "/subscriptions/"+sub, roleKeyVaultSecretsOfficer, officer.ObjectID)
	c := secretsClient(t, env, vaultURI, officer.Cred)
	if _, err := c.SetSecret(ctx, "survivor", azsecrets.SetSecretParameters{Value: to.Ptr("s")}, nil); err != nil {
		t.Fatal(err)
	}
	groups, _ := armresources.NewResourceGroupsClient(sub, env.AdminCredential(t), env.ARMOptions())
	poller, err := groups.BeginDelete(ctx, "rg-doomed", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecret(ctx, "survivor", "", nil)
	wantKVError(t, err, 404, "VaultNotFound")

	ensureGroup(t, env, "rg-doomed")
	again, uri := createVault(t, env, "rg-doomed", "kv-doomed", nil)
	if again != vaultID || uri != vaultURI {
		t.Fatalf("recreated as %s %s", again, uri)
	}
	_, err = c.GetSecret(ctx, "survivor", "", nil)
	wantKVError(t, err, 404, "SecretNotFound")
	del, err := c.GetDeletedSecret(ctx, "survivor", nil)
	if err != nil || del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 90*24*time.Hour {
		t.Fatalf("deleted with the vault %+v %v", del, err)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "survivor", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetSecret(ctx, "survivor", "", nil); err != nil || *got.Value != "s" {
		t.Fatalf("recovered %v", err)
	}
}

// TestKeyVaultAuditsWhoReadWhichSecretAndNeverTheValue: every data-plane
// request is an audit record naming the caller, the data action and the
// secret; no value appears in the audit log, set or read.
func TestKeyVaultAuditsWhoReadWhichSecretAndNeverTheValue(t *testing.T) {
	var audit syncBuffer
	env := testenv.Start(t, testenv.Options{Audit: slog.New(slog.NewJSONHandler(&audit, nil))})
	ctx := context.Background()
	ensureGroup(t, env, "rg-audit")
	vaultID, vaultURI := createVault(t, env, "rg-audit", "kv-audit", nil)
	officer := newRBACPrincipal(t, env, "officer")
	grant(t, env, vaultID, roleKeyVaultSecretsOfficer, officer.ObjectID)
	reader := newRBACPrincipal(t, env, "reader")
	const value = "s3cr3t-value-that-must-never-be-logged"
	if _, err := secretsClient(t, env, vaultURI, officer.Cred).SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := secretsClient(t, env, vaultURI, reader.Cred).GetSecret(ctx, "db-password", "", nil)
	wantKVError(t, err, 403, "Forbidden")
	grant(t, env, vaultID, roleKeyVaultSecretsUser, reader.ObjectID)
	if _, err := secretsClient(t, env, vaultURI, reader.Cred).GetSecret(ctx, "db-password", "", nil); err != nil {
		t.Fatal(err)
	}
	log := audit.String()
	if strings.Contains(log, value) {
		t.Fatal("a secret value is in the audit log")
	}
	var reads, denied int
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "keyvault request" {
			continue
		}
		if rec["operation"] == "GetSecret" && rec["secret"] == "db-password" && rec["oid"] == reader.ObjectID &&
			rec["dataAction"] == "Microsoft.KeyVault/vaults/secrets/getSecret/action" {
			if rec["status"] == float64(200) && rec["version"] != "" {
				reads++
			}
			if rec["status"] == float64(403) {
				denied++
			}
		}
	}
	if reads != 1 || denied != 1 {
		t.Fatalf("audit: %d reads, %d refusals of the reader, want 1 and 1:\n%s", reads, denied, log)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
