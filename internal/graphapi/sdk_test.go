package graphapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/directoryobjects"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store/pgtest"
	"github.com/keyless-io/keyless/internal/testenv"
)

const graphScope = "https://graph.microsoft.com/.default"

// graphClient is the official Graph SDK pointed at the keyless server:
// its base URL replaced, its transport trusting the installation's CA,
// and its tokens from an azidentity credential against keyless.
func graphClient(t *testing.T, env *testenv.Env, cred azcore.TokenCredential) *msgraphsdk.GraphServiceClient {
	t.Helper()
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{graphScope}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	httpClient := &http.Client{Timeout: 30 * time.Second,
		Transport: khttp.NewCustomTransportWithParentTransport(env.HTTPClient.Transport, msgraphcore.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(env.URL + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

// odataCode is the Graph error code and HTTP status of an SDK error.
func odataCode(t *testing.T, err error) (string, int) {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("want a Graph error, got %T: %v", err, err)
	}
	code := ""
	if main := oe.GetErrorEscaped(); main != nil && main.GetCode() != nil {
		code = *main.GetCode()
	}
	return code, oe.ResponseStatusCode
}

func wantGraphError(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %d %s", what, status, code)
	}
	if gotCode, gotStatus := odataCode(t, err); gotCode != code || gotStatus != status {
		t.Fatalf("%s: %d %s, want %d %s (%v)", what, gotStatus, gotCode, status, code, err)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			var oe *odataerrors.ODataError
			if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
				t.Fatalf("%s: %d %s: %s", what, oe.ResponseStatusCode, deref(oe.GetErrorEscaped().GetCode()), deref(oe.GetErrorEscaped().GetMessage()))
			}
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	must[struct{}](t, what)(struct{}{}, err)
}

// selfSigned makes a certificate and key for an application.
func selfSigned(t *testing.T, cn string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func (f fixture) certCredential(t *testing.T, appID string, cert *x509.Certificate, key *rsa.PrivateKey) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientCertificateCredential(f.env.Creds.TenantID, appID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: f.env.ClientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func getToken(ctx context.Context, cred azcore.TokenCredential, scope string) error {
	_, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	return err
}

type fixture struct {
	env   *testenv.Env
	admin *msgraphsdk.GraphServiceClient
}

// eachStore runs the suite against SQLite, and PostgreSQL when
// KEYLESS_TEST_POSTGRES is set.
func eachStore(t *testing.T, fn func(t *testing.T, f fixture)) {
	run := func(t *testing.T, opts testenv.Options) {
		env := testenv.Start(t, opts)
		fn(t, fixture{env: env, admin: graphClient(t, env, env.AdminCredential(t))})
	}
	t.Run("sqlite", func(t *testing.T) { run(t, testenv.Options{}) })
	if os.Getenv("KEYLESS_TEST_POSTGRES") != "" {
		t.Run("postgres", func(t *testing.T) { run(t, testenv.Options{StoreDSN: pgtest.DSN(t)}) })
	}
}

// TestGraphApplicationsSignInAtOnce: an application made through Graph,
// given a service principal and a password, gets tokens from the token
// service with azidentity at once; a certificate added with keyCredentials
// and rolled with addKey signs in too; removing either stops it; deleting
// the application deletes its service principal.
func TestGraphApplicationsSignInAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		app := models.NewApplication()
		app.SetDisplayName(to.Ptr("billing-api"))
		app.SetTags([]string{"team:billing"})
		app.SetIdentifierUris([]string{"api://billing"})
		created := must[models.Applicationable](t, "create application")(f.admin.Applications().Post(ctx, app, nil))
		appObjectID, appID := deref(created.GetId()), deref(created.GetAppId())
		if appObjectID == "" || appID == "" || appObjectID == appID {
			t.Fatalf("application IDs: object %q, app %q; want two distinct IDs", appObjectID, appID)
		}
		if got := deref(created.GetSignInAudience()); got != "AzureADMyOrg" {
			t.Errorf("signInAudience = %q", got)
		}

		got := must[models.Applicationable](t, "get application")(f.admin.Applications().ByApplicationId(appObjectID).Get(ctx, nil))
		if deref(got.GetDisplayName()) != "billing-api" || len(got.GetIdentifierUris()) != 1 || got.GetTags()[0] != "team:billing" {
			t.Fatalf("application read back: %q %v %v", deref(got.GetDisplayName()), got.GetIdentifierUris(), got.GetTags())
		}
		byAppID := must[models.Applicationable](t, "get by appId")(f.admin.ApplicationsWithAppId(&appID).Get(ctx, nil))
		if deref(byAppID.GetId()) != appObjectID {
			t.Fatalf("applications(appId=) found %q, want %q", deref(byAppID.GetId()), appObjectID)
		}
		patch := models.NewApplication()
		patch.SetDisplayName(to.Ptr("billing-api-v2"))
		ok(t, "patch application", func() error {
			_, err := f.admin.Applications().ByApplicationId(appObjectID).Patch(ctx, patch, nil)
			return err
		}())
		got = must[models.Applicationable](t, "get patched")(f.admin.Applications().ByApplicationId(appObjectID).Get(ctx, nil))
		if deref(got.GetDisplayName()) != "billing-api-v2" || len(got.GetIdentifierUris()) != 1 {
			t.Fatalf("patch changed more than the name: %q %v", deref(got.GetDisplayName()), got.GetIdentifierUris())
		}

		spBody := models.NewServicePrincipal()
		spBody.SetAppId(&appID)
		sp := must[models.ServicePrincipalable](t, "create service principal")(f.admin.ServicePrincipals().Post(ctx, spBody, nil))
		spID := deref(sp.GetId())
		if spID == appObjectID || deref(sp.GetAppId()) != appID || deref(sp.GetServicePrincipalType()) != "Application" {
			t.Fatalf("service principal: id %q app %q type %q", spID, deref(sp.GetAppId()), deref(sp.GetServicePrincipalType()))
		}
		_, err := f.admin.ServicePrincipals().Post(ctx, spBody, nil)
		wantGraphError(t, "second service principal", err, "Request_MultipleObjectsWithSameKeyValue", 409)

		pwBody := applications.NewItemAddPasswordPostRequestBody()
		pw := models.NewPasswordCredential()
		pw.SetDisplayName(to.Ptr("ci"))
		pwBody.SetPasswordCredential(pw)
		added := must[models.PasswordCredentialable](t, "addPassword")(f.admin.Applications().ByApplicationId(appObjectID).AddPassword().Post(ctx, pwBody, nil))
		secret := deref(added.GetSecretText())
		if !strings.HasPrefix(secret, directory.SecretPrefix) || deref(added.GetDisplayName()) != "ci" || added.GetKeyId() == nil {
			t.Fatalf("addPassword answered secret %q name %q", secret, deref(added.GetDisplayName()))
		}
		appCred := f.env.SecretCredential(t, appID, secret)
		for _, scope := range []string{graphScope, "https://management.azure.com/.default"} {
			ok(t, "token with the new password for "+scope, getToken(ctx, appCred, scope))
		}
		// The application reads the directory as a member of the tenant,
		// and cannot write it without a directory role.
		appClient := graphClient(t, f.env, appCred)
		_ = must[models.ApplicationCollectionResponseable](t, "list as the application")(appClient.Applications().Get(ctx, nil))
		denied := models.NewApplication()
		denied.SetDisplayName(to.Ptr("not-allowed"))
		_, err = appClient.Applications().Post(ctx, denied, nil)
		wantGraphError(t, "create without a directory role", err, "Authorization_RequestDenied", 403)

		// A certificate: the first through keyCredentials, the next with
		// addKey and a proof signed by the first.
		cert1, key1 := selfSigned(t, "billing-1")
		kc := models.NewKeyCredential()
		kc.SetTypeEscaped(to.Ptr("AsymmetricX509Cert"))
		kc.SetUsage(to.Ptr("Verify"))
		kc.SetKey(cert1.Raw)
		withKey := models.NewApplication()
		withKey.SetKeyCredentials([]models.KeyCredentialable{kc})
		ok(t, "keyCredentials", func() error {
			_, err := f.admin.Applications().ByApplicationId(appObjectID).Patch(ctx, withKey, nil)
			return err
		}())
		ok(t, "token with the first certificate", getToken(ctx, f.certCredential(t, appID, cert1, key1), graphScope))

		cert2, key2 := selfSigned(t, "billing-2")
		kc2 := models.NewKeyCredential()
		kc2.SetTypeEscaped(to.Ptr("AsymmetricX509Cert"))
		kc2.SetUsage(to.Ptr("Verify"))
		kc2.SetKey(cert2.Raw)
		addKey := applications.NewItemAddKeyPostRequestBody()
		addKey.SetKeyCredential(kc2)
		addKey.SetProof(to.Ptr("not a jwt"))
		_, err = f.admin.Applications().ByApplicationId(appObjectID).AddKey().Post(ctx, addKey, nil)
		wantGraphError(t, "addKey without a valid proof", err, "Request_BadRequest", 400)
		addKey.SetProof(to.Ptr(proof(t, key1, appObjectID)))
		addedKey := must[models.KeyCredentialable](t, "addKey")(f.admin.Applications().ByApplicationId(appObjectID).AddKey().Post(ctx, addKey, nil))
		cred2 := f.certCredential(t, appID, cert2, key2)
		ok(t, "token with the added certificate", getToken(ctx, cred2, graphScope))
		removeKey := applications.NewItemRemoveKeyPostRequestBody()
		removeKey.SetKeyId(addedKey.GetKeyId())
		removeKey.SetProof(to.Ptr(proof(t, key1, appObjectID)))
		ok(t, "removeKey", f.admin.Applications().ByApplicationId(appObjectID).RemoveKey().Post(ctx, removeKey, nil))
		if err := getToken(ctx, f.certCredential(t, appID, cert2, key2), graphScope); err == nil {
			t.Fatal("the removed certificate still signs in")
		}

		// Removing the password stops it at once.
		removePw := applications.NewItemRemovePasswordPostRequestBody()
		removePw.SetKeyId(added.GetKeyId())
		ok(t, "removePassword", f.admin.Applications().ByApplicationId(appObjectID).RemovePassword().Post(ctx, removePw, nil))
		if err := getToken(ctx, f.env.SecretCredential(t, appID, secret), graphScope); err == nil {
			t.Fatal("the removed password still signs in")
		}

		// The service principal's own password signs in too.
		spPw := must[models.PasswordCredentialable](t, "servicePrincipal addPassword")(
			f.admin.ServicePrincipals().ByServicePrincipalId(spID).AddPassword().Post(ctx, serviceprincipals.NewItemAddPasswordPostRequestBody(), nil))
		ok(t, "token with the service principal's password", getToken(ctx, f.env.SecretCredential(t, appID, deref(spPw.GetSecretText())), graphScope))

		// Deleting the application deletes its service principal.
		ok(t, "delete application", f.admin.Applications().ByApplicationId(appObjectID).Delete(ctx, nil))
		_, err = f.admin.ServicePrincipals().ByServicePrincipalId(spID).Get(ctx, nil)
		wantGraphError(t, "service principal of a deleted application", err, "Request_ResourceNotFound", 404)
		_, err = f.admin.Applications().ByApplicationId(appObjectID).Get(ctx, nil)
		wantGraphError(t, "deleted application", err, "Request_ResourceNotFound", 404)
		if err := getToken(ctx, f.env.SecretCredential(t, appID, deref(spPw.GetSecretText())), graphScope); err == nil {
			t.Fatal("a deleted application still signs in")
		}
	})
}

// proof is addKey's proof of possession, signed with the application's
// current key.
func proof(t *testing.T, key *rsa.PrivateKey, appObjectID string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: appObjectID, Audience: jwt.Audience{"00000002-0000-0000-c000-000000000000"},
		NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestGraphFederatedIdentityCredentials: create, list, get by ID and by
// name, update, refuse a duplicate name and a second audience, delete.
func TestGraphFederatedIdentityCredentials(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		app := models.NewApplication()
		app.SetDisplayName(to.Ptr("deployer"))
		a := must[models.Applicationable](t, "create")(f.admin.Applications().Post(ctx, app, nil))
		fics := f.admin.Applications().ByApplicationId(deref(a.GetId())).FederatedIdentityCredentials()
		fic := models.NewFederatedIdentityCredential()
		fic.SetName(to.Ptr("github-main"))
		fic.SetIssuer(to.Ptr("https://token.actions.githubusercontent.com"))
		fic.SetSubject(to.Ptr("repo:octo/app:ref:refs/heads/main"))
		fic.SetAudiences([]string{"api://AzureADTokenExchange"})
		fic.SetDescription(to.Ptr("main branch"))
		created := must[models.FederatedIdentityCredentialable](t, "create fic")(fics.Post(ctx, fic, nil))
		_, err := fics.Post(ctx, fic, nil)
		wantGraphError(t, "same name", err, "Request_MultipleObjectsWithSameKeyValue", 409)
		two := models.NewFederatedIdentityCredential()
		two.SetName(to.Ptr("two-audiences"))
		two.SetIssuer(to.Ptr("https://issuer.example"))
		two.SetSubject(to.Ptr("s"))
		two.SetAudiences([]string{"a", "b"})
		_, err = fics.Post(ctx, two, nil)
		wantGraphError(t, "two audiences", err, "Request_BadRequest", 400)

		list := must[models.FederatedIdentityCredentialCollectionResponseable](t, "list fics")(fics.Get(ctx, nil))
		if len(list.GetValue()) != 1 || deref(list.GetValue()[0].GetSubject()) != "repo:octo/app:ref:refs/heads/main" {
			t.Fatalf("fics listed: %d", len(list.GetValue()))
		}
		for _, key := range []string{deref(created.GetId()), "github-main"} {
			got := must[models.FederatedIdentityCredentialable](t, "get fic "+key)(fics.ByFederatedIdentityCredentialId(key).Get(ctx, nil))
			if deref(got.GetDescription()) != "main branch" || got.GetAudiences()[0] != "api://AzureADTokenExchange" {
				t.Fatalf("fic read back: %+v", got)
			}
		}
		update := models.NewFederatedIdentityCredential()
		update.SetSubject(to.Ptr("repo:octo/app:environment:prod"))
		ok(t, "patch fic", func() error {
			_, err := fics.ByFederatedIdentityCredentialId("github-main").Patch(ctx, update, nil)
			return err
		}())
		got := must[models.FederatedIdentityCredentialable](t, "get patched fic")(fics.ByFederatedIdentityCredentialId(deref(created.GetId())).Get(ctx, nil))
		if deref(got.GetSubject()) != "repo:octo/app:environment:prod" || deref(got.GetIssuer()) != "https://token.actions.githubusercontent.com" {
			t.Fatalf("patched fic: %q %q", deref(got.GetSubject()), deref(got.GetIssuer()))
		}
		ok(t, "delete fic", fics.ByFederatedIdentityCredentialId(deref(created.GetId())).Delete(ctx, nil))
		_, err = fics.ByFederatedIdentityCredentialId("github-main").Get(ctx, nil)
		wantGraphError(t, "deleted fic", err, "Request_ResourceNotFound", 404)
	})
}

// TestGraphServicePrincipalQueries: filters (eq, startswith, any(), and,
// or), $select, $top with @odata.nextLink paging through the SDK's page
// iterator, $count with ConsistencyLevel: eventual; managed identities
// are read-only service principals of type ManagedIdentity; legacy
// `keyless sp` principals are listed too.
func TestGraphServicePrincipalQueries(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		var appIDs []string
		for _, name := range []string{"web-a", "web-b", "web-c", "batch"} {
			app := models.NewApplication()
			app.SetDisplayName(&name)
			a := must[models.Applicationable](t, "create "+name)(f.admin.Applications().Post(ctx, app, nil))
			sp := models.NewServicePrincipal()
			sp.SetAppId(a.GetAppId())
			_ = must[models.ServicePrincipalable](t, "sp "+name)(f.admin.ServicePrincipals().Post(ctx, sp, nil))
			appIDs = append(appIDs, deref(a.GetAppId()))
		}
		sub := f.env.Creds.SubscriptionID
		armCred := f.env.AdminCredential(t)
		rgs := must[*armresources.ResourceGroupsClient](t, "rg client")(armresources.NewResourceGroupsClient(sub, armCred, f.env.ARMOptions()))
		_ = must[armresources.ResourceGroupsClientCreateOrUpdateResponse](t, "rg")(rgs.CreateOrUpdate(ctx, "rg-graph", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil))
		ids := must[*armmsi.UserAssignedIdentitiesClient](t, "msi client")(armmsi.NewUserAssignedIdentitiesClient(sub, armCred, f.env.ARMOptions()))
		uami := must[armmsi.UserAssignedIdentitiesClientCreateOrUpdateResponse](t, "uami")(ids.CreateOrUpdate(ctx, "rg-graph", "id-graph", armmsi.Identity{Location: to.Ptr("westus")}, nil))

		list := func(filter string, selects []string, top int32, count bool) models.ServicePrincipalCollectionResponseable {
			t.Helper()
			q := &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Select: selects}
			if filter != "" {
				q.Filter = &filter
			}
			if top > 0 {
				q.Top = &top
			}
			cfg := &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{QueryParameters: q}
			if count {
				q.Count = to.Ptr(true)
				cfg.Headers = abstractions.NewRequestHeaders()
				cfg.Headers.Add("ConsistencyLevel", "eventual")
			}
			return must[models.ServicePrincipalCollectionResponseable](t, "list "+filter)(f.admin.ServicePrincipals().Get(ctx, cfg))
		}
		names := func(r models.ServicePrincipalCollectionResponseable) string {
			var out []string
			for _, sp := range r.GetValue() {
				out = append(out, deref(sp.GetDisplayName()))
			}
			return strings.Join(out, ",")
		}
		sorted := func(s string) string {
			parts := strings.Split(s, ",")
			for i := range parts {
				for j := i + 1; j < len(parts); j++ {
					if parts[j] < parts[i] {
						parts[i], parts[j] = parts[j], parts[i]
					}
				}
			}
			return strings.Join(parts, ",")
		}
		for _, tc := range []struct{ name, filter, want string }{
			{"eq on appId", "appId eq '" + appIDs[1] + "'", "web-b"},
			{"startswith", "startswith(displayName,'web-')", "web-a,web-b,web-c"},
			{"any over servicePrincipalNames", "servicePrincipalNames/any(c:c eq '" + appIDs[3] + "')", "batch"},
			{"and, or", "startswith(displayName,'web') and (displayName eq 'web-a' or displayName eq 'WEB-C')", "web-a,web-c"},
			{"managed identities", "servicePrincipalType eq 'ManagedIdentity'", "id-graph"},
			{"alternativeNames of a managed identity", "alternativeNames/any(n:n eq '" + deref(uami.ID) + "')", "id-graph"},
			{"the administrator (a keyless sp principal)", "appId eq '" + f.env.Creds.ClientID + "'", "keyless-admin"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := sorted(names(list(tc.filter, nil, 0, false))); got != tc.want {
					t.Fatalf("$filter=%s: %q, want %q", tc.filter, got, tc.want)
				}
			})
		}

		t.Run("managed identity is read-only", func(t *testing.T) {
			mi := list("servicePrincipalType eq 'ManagedIdentity'", nil, 0, false).GetValue()[0]
			if deref(mi.GetId()) != deref(uami.Properties.PrincipalID) || deref(mi.GetAppId()) != deref(uami.Properties.ClientID) {
				t.Fatalf("managed identity's service principal %q/%q, want %q/%q", deref(mi.GetId()), deref(mi.GetAppId()),
					deref(uami.Properties.PrincipalID), deref(uami.Properties.ClientID))
			}
			if alt := mi.GetAlternativeNames(); len(alt) != 2 || alt[0] != "isExplicit=True" {
				t.Fatalf("alternativeNames = %v", alt)
			}
			err := f.admin.ServicePrincipals().ByServicePrincipalId(deref(mi.GetId())).Delete(ctx, nil)
			wantGraphError(t, "delete a managed identity", err, "Request_BadRequest", 400)
			_, err = f.admin.ServicePrincipals().ByServicePrincipalId(deref(mi.GetId())).AddPassword().Post(ctx, serviceprincipals.NewItemAddPasswordPostRequestBody(), nil)
			wantGraphError(t, "password on a managed identity", err, "Request_BadRequest", 400)
		})

		t.Run("$select", func(t *testing.T) {
			r := list("displayName eq 'batch'", []string{"id", "appId"}, 0, false)
			sp := r.GetValue()[0]
			if deref(sp.GetAppId()) != appIDs[3] || sp.GetDisplayName() != nil {
				t.Fatalf("$select=id,appId: appId %q displayName %v", deref(sp.GetAppId()), sp.GetDisplayName())
			}
		})

		t.Run("$top pages with @odata.nextLink", func(t *testing.T) {
			first := list("", nil, 2, false)
			if len(first.GetValue()) != 2 || first.GetOdataNextLink() == nil {
				t.Fatalf("first page: %d objects, nextLink %v", len(first.GetValue()), first.GetOdataNextLink())
			}
			it, err := msgraphcore.NewPageIterator[models.ServicePrincipalable](first, f.admin.GetAdapter(), models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			ok(t, "iterate", it.Iterate(ctx, func(sp models.ServicePrincipalable) bool {
				if seen[deref(sp.GetId())] {
					t.Errorf("%s listed twice", deref(sp.GetId()))
				}
				seen[deref(sp.GetId())] = true
				return true
			}))
			// 4 applications' principals, the managed identity, the administrator.
			if len(seen) != 6 {
				t.Fatalf("paged through %d service principals, want 6", len(seen))
			}
		})

		t.Run("$count with ConsistencyLevel eventual", func(t *testing.T) {
			r := list("startswith(displayName,'web')", nil, 1, true)
			if deref(r.GetOdataCount()) != 3 || len(r.GetValue()) != 1 {
				t.Fatalf("@odata.count = %d with %d on the page, want 3 and 1", deref(r.GetOdataCount()), len(r.GetValue()))
			}
			headers := abstractions.NewRequestHeaders()
			headers.Add("ConsistencyLevel", "eventual")
			n := must[*int32](t, "$count")(f.admin.ServicePrincipals().Count().Get(ctx, &serviceprincipals.CountRequestBuilderGetRequestConfiguration{Headers: headers}))
			if deref(n) != 6 {
				t.Fatalf("/servicePrincipals/$count = %d, want 6", deref(n))
			}
			_, err := f.admin.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Count: to.Ptr(true)}})
			wantGraphError(t, "$count without ConsistencyLevel", err, "Request_BadRequest", 400)
		})

		t.Run("bad filters are Graph errors", func(t *testing.T) {
			for _, filter := range []string{"displayName gt 'a'", "nickname eq 'a'", "startswith(displayName,'a'"} {
				_, err := f.admin.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
					QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: &filter}})
				if code, status := odataCode(t, err); status != 400 || (code != "Request_UnsupportedQuery" && code != "Request_BadRequest") {
					t.Errorf("$filter=%s: %d %s", filter, status, code)
				}
			}
		})

		t.Run("by appId", func(t *testing.T) {
			sp := must[models.ServicePrincipalable](t, "servicePrincipals(appId=)")(f.admin.ServicePrincipalsWithAppId(&appIDs[0]).Get(ctx, nil))
			if deref(sp.GetDisplayName()) != "web-a" {
				t.Fatalf("servicePrincipals(appId=) = %q", deref(sp.GetDisplayName()))
			}
		})
	})
}

// TestGraphGroupsAndDirectoryObjects: groups with members and owners
// ($ref), nested membership seen by checkMemberGroups and
// getMemberGroups, getByIds across types, organization and users.
func TestGraphGroupsAndDirectoryObjects(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		newGroup := func(name string) string {
			g := models.NewGroup()
			g.SetDisplayName(&name)
			g.SetMailNickname(&name)
			g.SetMailEnabled(to.Ptr(false))
			g.SetSecurityEnabled(to.Ptr(true))
			return deref(must[models.Groupable](t, "create group "+name)(f.admin.Groups().Post(ctx, g, nil)).GetId())
		}
		outer, inner := newGroup("platform"), newGroup("platform-ops")
		app := models.NewApplication()
		app.SetDisplayName(to.Ptr("ops-bot"))
		a := must[models.Applicationable](t, "app")(f.admin.Applications().Post(ctx, app, nil))
		spBody := models.NewServicePrincipal()
		spBody.SetAppId(a.GetAppId())
		spID := deref(must[models.ServicePrincipalable](t, "sp")(f.admin.ServicePrincipals().Post(ctx, spBody, nil)).GetId())

		ref := func(id string) models.ReferenceCreateable {
			r := models.NewReferenceCreate()
			r.SetOdataId(to.Ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + id))
			return r
		}
		ok(t, "inner in outer", f.admin.Groups().ByGroupId(outer).Members().Ref().Post(ctx, ref(inner), nil))
		ok(t, "sp in inner", f.admin.Groups().ByGroupId(inner).Members().Ref().Post(ctx, ref(spID), nil))
		err := f.admin.Groups().ByGroupId(inner).Members().Ref().Post(ctx, ref(spID), nil)
		wantGraphError(t, "member twice", err, "Request_BadRequest", 400)
		ok(t, "owner", f.admin.Groups().ByGroupId(outer).Owners().Ref().Post(ctx, ref(spID), nil))

		members := must[models.DirectoryObjectCollectionResponseable](t, "members")(f.admin.Groups().ByGroupId(inner).Members().Get(ctx, nil))
		if len(members.GetValue()) != 1 {
			t.Fatalf("members: %d", len(members.GetValue()))
		}
		if sp, isSP := members.GetValue()[0].(models.ServicePrincipalable); !isSP || deref(sp.GetDisplayName()) != "ops-bot" {
			t.Fatalf("member is %T, want the ops-bot service principal", members.GetValue()[0])
		}
		owners := must[models.DirectoryObjectCollectionResponseable](t, "owners")(f.admin.Groups().ByGroupId(outer).Owners().Get(ctx, nil))
		if len(owners.GetValue()) != 1 || deref(owners.GetValue()[0].GetId()) != spID {
			t.Fatalf("owners: %d", len(owners.GetValue()))
		}

		check := directoryobjects.NewItemCheckMemberGroupsPostRequestBody()
		check.SetGroupIds([]string{outer, inner, uuid.NewString()})
		in := must[directoryobjects.ItemCheckMemberGroupsPostResponseable](t, "checkMemberGroups")(
			f.admin.DirectoryObjects().ByDirectoryObjectId(spID).CheckMemberGroups().PostAsCheckMemberGroupsPostResponse(ctx, check, nil))
		if got := strings.Join(in.GetValue(), ","); got != outer+","+inner {
			t.Fatalf("checkMemberGroups = %s, want both groups (transitively)", got)
		}
		all := directoryobjects.NewItemGetMemberGroupsPostRequestBody()
		all.SetSecurityEnabledOnly(to.Ptr(false))
		mg := must[directoryobjects.ItemGetMemberGroupsPostResponseable](t, "getMemberGroups")(
			f.admin.DirectoryObjects().ByDirectoryObjectId(spID).GetMemberGroups().PostAsGetMemberGroupsPostResponse(ctx, all, nil))
		if len(mg.GetValue()) != 2 {
			t.Fatalf("getMemberGroups = %v", mg.GetValue())
		}

		byIDs := directoryobjects.NewGetByIdsPostRequestBody()
		byIDs.SetIds([]string{spID, outer, deref(a.GetId()), uuid.NewString()})
		found := must[directoryobjects.GetByIdsPostResponseable](t, "getByIds")(f.admin.DirectoryObjects().GetByIds().PostAsGetByIdsPostResponse(ctx, byIDs, nil))
		var kinds []string
		for _, o := range found.GetValue() {
			switch o.(type) {
			case models.ServicePrincipalable:
				kinds = append(kinds, "servicePrincipal")
			case models.Groupable:
				kinds = append(kinds, "group")
			case models.Applicationable:
				kinds = append(kinds, "application")
			default:
				kinds = append(kinds, "?")
			}
		}
		if strings.Join(kinds, ",") != "servicePrincipal,group,application" {
			t.Fatalf("getByIds types: %v", kinds)
		}
		byIDs.SetTypes([]string{"servicePrincipal"})
		found = must[directoryobjects.GetByIdsPostResponseable](t, "getByIds with types")(f.admin.DirectoryObjects().GetByIds().PostAsGetByIdsPostResponse(ctx, byIDs, nil))
		if len(found.GetValue()) != 1 {
			t.Fatalf("getByIds with types: %d objects", len(found.GetValue()))
		}

		ok(t, "remove member", f.admin.Groups().ByGroupId(inner).Members().ByDirectoryObjectId(spID).Ref().Delete(ctx, nil))
		in = must[directoryobjects.ItemCheckMemberGroupsPostResponseable](t, "checkMemberGroups after")(
			f.admin.DirectoryObjects().ByDirectoryObjectId(spID).CheckMemberGroups().PostAsCheckMemberGroupsPostResponse(ctx, check, nil))
		if len(in.GetValue()) != 0 {
			t.Fatalf("checkMemberGroups after removal = %v", in.GetValue())
		}
		ok(t, "remove owner", f.admin.Groups().ByGroupId(outer).Owners().ByDirectoryObjectId(spID).Ref().Delete(ctx, nil))

		filtered := must[models.GroupCollectionResponseable](t, "groups filtered")(f.admin.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: to.Ptr("startswith(displayName,'platform-')")}}))
		if len(filtered.GetValue()) != 1 || deref(filtered.GetValue()[0].GetId()) != inner {
			t.Fatalf("groups filtered: %d", len(filtered.GetValue()))
		}
		ok(t, "delete group", f.admin.Groups().ByGroupId(inner).Delete(ctx, nil))
		_, err = f.admin.Groups().ByGroupId(inner).Get(ctx, nil)
		wantGraphError(t, "deleted group", err, "Request_ResourceNotFound", 404)

		orgs := must[models.OrganizationCollectionResponseable](t, "organization")(f.admin.Organization().Get(ctx, nil))
		if len(orgs.GetValue()) != 1 || deref(orgs.GetValue()[0].GetId()) != f.env.Creds.TenantID {
			t.Fatalf("organization: %d", len(orgs.GetValue()))
		}
		users := must[models.UserCollectionResponseable](t, "users")(f.admin.Users().Get(ctx, nil))
		if len(users.GetValue()) != 0 {
			t.Fatalf("users: %d, want none", len(users.GetValue()))
		}
		_, err = f.admin.Users().ByUserId(uuid.NewString()).Get(ctx, nil)
		wantGraphError(t, "a user", err, "Request_ResourceNotFound", 404)
	})
}

// TestGraphDirectoryRoles: the administrator is a Global Administrator;
// a principal without a directory role cannot write; granting it
// Application Administrator (roleAssignments) lets it create applications
// at once, and revoking stops it; directoryRoles members $ref grants too;
// the last Global Administrator cannot be removed.
func TestGraphDirectoryRoles(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		ga := directory.GlobalAdministratorRoleID
		members := must[models.DirectoryObjectCollectionResponseable](t, "GA members")(f.admin.DirectoryRoles().ByDirectoryRoleId(ga).Members().Get(ctx, nil))
		if len(members.GetValue()) != 1 || deref(members.GetValue()[0].GetId()) != f.env.Server.Installation().AdminObjectID {
			t.Fatalf("Global Administrators: %d", len(members.GetValue()))
		}
		roles := must[models.DirectoryRoleCollectionResponseable](t, "directoryRoles")(f.admin.DirectoryRoles().Get(ctx, nil))
		if len(roles.GetValue()) < 3 {
			t.Fatalf("directoryRoles: %d", len(roles.GetValue()))
		}
		byTemplate := must[models.DirectoryRoleable](t, "by template")(f.admin.DirectoryRolesWithRoleTemplateId(to.Ptr(directory.ApplicationAdministratorRoleID)).Get(ctx, nil))
		if deref(byTemplate.GetDisplayName()) != "Application Administrator" {
			t.Fatalf("directoryRoles(roleTemplateId=) = %q", deref(byTemplate.GetDisplayName()))
		}

		app := models.NewApplication()
		app.SetDisplayName(to.Ptr("automation"))
		a := must[models.Applicationable](t, "app")(f.admin.Applications().Post(ctx, app, nil))
		spBody := models.NewServicePrincipal()
		spBody.SetAppId(a.GetAppId())
		spID := deref(must[models.ServicePrincipalable](t, "sp")(f.admin.ServicePrincipals().Post(ctx, spBody, nil)).GetId())
		pw := must[models.PasswordCredentialable](t, "password")(f.admin.Applications().ByApplicationId(deref(a.GetId())).AddPassword().Post(ctx, applications.NewItemAddPasswordPostRequestBody(), nil))
		automation := graphClient(t, f.env, f.env.SecretCredential(t, deref(a.GetAppId()), deref(pw.GetSecretText())))

		tryCreate := func() error {
			x := models.NewApplication()
			x.SetDisplayName(to.Ptr("made-by-automation"))
			_, err := automation.Applications().Post(ctx, x, nil)
			return err
		}
		wantGraphError(t, "create before the grant", tryCreate(), "Authorization_RequestDenied", 403)
		g := models.NewGroup()
		g.SetDisplayName(to.Ptr("nope"))
		_, err := automation.Groups().Post(ctx, g, nil)
		wantGraphError(t, "group without a role", err, "Authorization_RequestDenied", 403)

		assignment := models.NewUnifiedRoleAssignment()
		assignment.SetPrincipalId(&spID)
		assignment.SetRoleDefinitionId(to.Ptr(directory.ApplicationAdministratorRoleID))
		assignment.SetDirectoryScopeId(to.Ptr("/"))
		granted := must[models.UnifiedRoleAssignmentable](t, "grant")(f.admin.RoleManagement().Directory().RoleAssignments().Post(ctx, assignment, nil))
		ok(t, "create after the grant", tryCreate())
		_, err = automation.Groups().Post(ctx, g, nil)
		wantGraphError(t, "Application Administrator creating a group", err, "Authorization_RequestDenied", 403)

		listed := must[models.UnifiedRoleAssignmentCollectionResponseable](t, "roleAssignments")(f.admin.RoleManagement().Directory().RoleAssignments().Get(ctx,
			&rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
				Filter: to.Ptr("principalId eq '" + spID + "'")}}))
		if len(listed.GetValue()) != 1 || deref(listed.GetValue()[0].GetId()) != deref(granted.GetId()) {
			t.Fatalf("roleAssignments filtered by principal: %d", len(listed.GetValue()))
		}
		ok(t, "revoke", f.admin.RoleManagement().Directory().RoleAssignments().ByUnifiedRoleAssignmentId(deref(granted.GetId())).Delete(ctx, nil))
		wantGraphError(t, "create after the revocation", tryCreate(), "Authorization_RequestDenied", 403)

		// The automation cannot grant itself a role.
		_, err = automation.RoleManagement().Directory().RoleAssignments().Post(ctx, assignment, nil)
		wantGraphError(t, "self-grant", err, "Authorization_RequestDenied", 403)

		// directoryRoles/{id}/members/$ref grants as well.
		r := models.NewReferenceCreate()
		r.SetOdataId(to.Ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + spID))
		ok(t, "members/$ref", f.admin.DirectoryRoles().ByDirectoryRoleId(ga).Members().Ref().Post(ctx, r, nil))
		g.SetDisplayName(to.Ptr("made-by-a-global-admin"))
		_ = must[models.Groupable](t, "group as Global Administrator")(automation.Groups().Post(ctx, g, nil))
		ok(t, "remove GA", f.admin.DirectoryRoles().ByDirectoryRoleId(ga).Members().ByDirectoryObjectId(spID).Ref().Delete(ctx, nil))
		err = f.admin.DirectoryRoles().ByDirectoryRoleId(ga).Members().ByDirectoryObjectId(f.env.Server.Installation().AdminObjectID).Ref().Delete(ctx, nil)
		wantGraphError(t, "remove the last Global Administrator", err, "Request_BadRequest", 400)
	})
}

// TestGraphApplicationFederation: an application given a federated
// identity credential through Graph signs in with an external OIDC token
// (here another keyless installation's) through azidentity's
// ClientAssertionCredential, at once, and no longer once it is deleted.
func TestGraphApplicationFederation(t *testing.T) {
	home := testenv.Start(t, testenv.Options{})
	env := testenv.Start(t, testenv.Options{FederationHTTPClient: home.HTTPClient})
	admin := graphClient(t, env, env.AdminCredential(t))
	ctx := context.Background()

	app := models.NewApplication()
	app.SetDisplayName(to.Ptr("ci-deployer"))
	a := must[models.Applicationable](t, "app")(admin.Applications().Post(ctx, app, nil))
	spBody := models.NewServicePrincipal()
	spBody.SetAppId(a.GetAppId())
	sp := must[models.ServicePrincipalable](t, "sp")(admin.ServicePrincipals().Post(ctx, spBody, nil))

	external := must[azcore.AccessToken](t, "home token")(home.AdminCredential(t).GetToken(ctx,
		policy.TokenRequestOptions{Scopes: []string{"api://AzureADTokenExchange/.default"}}))
	fic := models.NewFederatedIdentityCredential()
	fic.SetName(to.Ptr("home-admin"))
	fic.SetIssuer(to.Ptr(home.URL + "/" + home.Creds.TenantID + "/"))
	fic.SetSubject(to.Ptr(home.Server.Installation().AdminObjectID))
	fic.SetAudiences([]string{"api://AzureADTokenExchange"})
	created := must[models.FederatedIdentityCredentialable](t, "fic")(admin.Applications().ByApplicationId(deref(a.GetId())).FederatedIdentityCredentials().Post(ctx, fic, nil))

	cred, err := azidentity.NewClientAssertionCredential(env.Creds.TenantID, deref(a.GetAppId()),
		func(context.Context) (string, error) { return external.Token, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	me := must[models.ServicePrincipalable](t, "read as the federated application")(graphClient(t, env, cred).ServicePrincipals().ByServicePrincipalId(deref(sp.GetId())).Get(ctx, nil))
	if deref(me.GetAppId()) != deref(a.GetAppId()) {
		t.Fatalf("read %q", deref(me.GetAppId()))
	}

	ok(t, "delete fic", admin.Applications().ByApplicationId(deref(a.GetId())).FederatedIdentityCredentials().ByFederatedIdentityCredentialId(deref(created.GetId())).Delete(ctx, nil))
	cred2, _ := azidentity.NewClientAssertionCredential(env.Creds.TenantID, deref(a.GetAppId()),
		func(context.Context) (string, error) { return external.Token, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: env.ClientOptions(), DisableInstanceDiscovery: true})
	if err := getToken(ctx, cred2, graphScope); err == nil {
		t.Fatal("the external token still signs in after its credential was deleted")
	}
}

// TestGraphMoreEndpoints: filters and $count on applications, a service
// principal's password removed and the principal deleted while its
// application stays, a group renamed, directoryObjects/{id} and
// organization/{id}.
func TestGraphMoreEndpoints(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		var apps []models.Applicationable
		for _, name := range []string{"orders", "orders-worker", "payments"} {
			app := models.NewApplication()
			app.SetDisplayName(&name)
			app.SetIdentifierUris([]string{"api://" + name})
			apps = append(apps, must[models.Applicationable](t, "create "+name)(f.admin.Applications().Post(ctx, app, nil)))
		}
		filtered := func(filter string) []models.Applicationable {
			t.Helper()
			return must[models.ApplicationCollectionResponseable](t, "list "+filter)(f.admin.Applications().Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
				QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Filter: &filter}})).GetValue()
		}
		if got := filtered("appId eq '" + deref(apps[2].GetAppId()) + "'"); len(got) != 1 || deref(got[0].GetDisplayName()) != "payments" {
			t.Fatalf("applications by appId: %d", len(got))
		}
		if got := filtered("identifierUris/any(u:u eq 'api://orders-worker')"); len(got) != 1 || deref(got[0].GetId()) != deref(apps[1].GetId()) {
			t.Fatalf("applications by identifierUris: %d", len(got))
		}
		if got := filtered("startswith(displayName,'orders') or displayName eq 'payments'"); len(got) != 3 {
			t.Fatalf("startswith or eq: %d", len(got))
		}
		headers := abstractions.NewRequestHeaders()
		headers.Add("ConsistencyLevel", "eventual")
		n := must[*int32](t, "applications/$count")(f.admin.Applications().Count().Get(ctx, &applications.CountRequestBuilderGetRequestConfiguration{
			Headers: headers, QueryParameters: &applications.CountRequestBuilderGetQueryParameters{Filter: to.Ptr("startswith(displayName,'orders')")}}))
		if deref(n) != 2 {
			t.Fatalf("applications/$count with a filter = %d, want 2", deref(n))
		}

		spBody := models.NewServicePrincipal()
		spBody.SetAppId(apps[0].GetAppId())
		sp := must[models.ServicePrincipalable](t, "sp")(f.admin.ServicePrincipals().Post(ctx, spBody, nil))
		spID := deref(sp.GetId())
		pw := must[models.PasswordCredentialable](t, "sp password")(f.admin.ServicePrincipals().ByServicePrincipalId(spID).AddPassword().Post(ctx, serviceprincipals.NewItemAddPasswordPostRequestBody(), nil))
		ok(t, "token", getToken(ctx, f.env.SecretCredential(t, deref(apps[0].GetAppId()), deref(pw.GetSecretText())), graphScope))
		remove := serviceprincipals.NewItemRemovePasswordPostRequestBody()
		remove.SetKeyId(pw.GetKeyId())
		ok(t, "sp removePassword", f.admin.ServicePrincipals().ByServicePrincipalId(spID).RemovePassword().Post(ctx, remove, nil))
		if err := getToken(ctx, f.env.SecretCredential(t, deref(apps[0].GetAppId()), deref(pw.GetSecretText())), graphScope); err == nil {
			t.Fatal("the removed service principal password still signs in")
		}
		obj := must[models.DirectoryObjectable](t, "directoryObjects/{id}")(f.admin.DirectoryObjects().ByDirectoryObjectId(spID).Get(ctx, nil))
		if _, isSP := obj.(models.ServicePrincipalable); !isSP {
			t.Fatalf("directoryObjects/{id} is %T", obj)
		}
		ok(t, "delete sp", f.admin.ServicePrincipals().ByServicePrincipalId(spID).Delete(ctx, nil))
		_, err := f.admin.ServicePrincipals().ByServicePrincipalId(spID).Get(ctx, nil)
		wantGraphError(t, "deleted sp", err, "Request_ResourceNotFound", 404)
		_ = must[models.Applicationable](t, "application after its sp is deleted")(f.admin.Applications().ByApplicationId(deref(apps[0].GetId())).Get(ctx, nil))
		_ = must[models.ServicePrincipalable](t, "sp again")(f.admin.ServicePrincipals().Post(ctx, spBody, nil))

		g := models.NewGroup()
		g.SetDisplayName(to.Ptr("before"))
		group := must[models.Groupable](t, "group")(f.admin.Groups().Post(ctx, g, nil))
		rename := models.NewGroup()
		rename.SetDisplayName(to.Ptr("after"))
		ok(t, "patch group", func() error {
			_, err := f.admin.Groups().ByGroupId(deref(group.GetId())).Patch(ctx, rename, nil)
			return err
		}())
		if got := must[models.Groupable](t, "get group")(f.admin.Groups().ByGroupId(deref(group.GetId())).Get(ctx, nil)); deref(got.GetDisplayName()) != "after" {
			t.Fatalf("group renamed to %q", deref(got.GetDisplayName()))
		}
		mail := models.NewGroup()
		mail.SetDisplayName(to.Ptr("m365"))
		mail.SetMailEnabled(to.Ptr(true))
		_, err = f.admin.Groups().Post(ctx, mail, nil)
		wantGraphError(t, "mail-enabled group", err, "Request_BadRequest", 400)

		org := must[models.Organizationable](t, "organization/{id}")(f.admin.Organization().ByOrganizationId(f.env.Creds.TenantID).Get(ctx, nil))
		if deref(org.GetId()) != f.env.Creds.TenantID {
			t.Fatalf("organization/{id} = %q", deref(org.GetId()))
		}
		_, err = f.admin.Organization().ByOrganizationId(uuid.NewString()).Get(ctx, nil)
		wantGraphError(t, "another organization", err, "Request_ResourceNotFound", 404)
	})
}
