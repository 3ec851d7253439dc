package cli_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestServicePrincipalCommands(t *testing.T) {
	e := startCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var created struct{ AppID, DisplayName, ObjectID, Tenant, Password string }
	if err := json.Unmarshal([]byte(e.ok("sp", "create", "--name", "ci-deployer", "-o", "json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.DisplayName != "ci-deployer" || created.Tenant != e.env.Creds.TenantID || !strings.HasPrefix(created.Password, "kls~") || created.ObjectID == "" {
		t.Fatalf("sp create printed %+v", created)
	}
	// The printed secret works with the official credential at once.
	if _, err := e.env.SecretCredential(t, created.AppID, created.Password).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com//.default"}}); err != nil {
		t.Fatal(err)
	}
	// show lists the credential by hint, never the secret.
	show := e.ok("sp", "show", "--id", created.ObjectID)
	if strings.Contains(show, created.Password) || !strings.Contains(show, `"type": "Password"`) {
		t.Fatalf("sp show: %s", show)
	}
	if !strings.Contains(e.ok("sp", "list", "--query", "[].displayName", "-o", "tsv"), "ci-deployer") {
		t.Fatal("sp list lacks the new principal")
	}

	// A certificate principal: the file must hold the public part only.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "job"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "job.crt")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	withKey := filepath.Join(dir, "job-with-key.pem")
	os.WriteFile(withKey, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...), 0o600)

	e.fails("keyless: "+withKey+": pki: the file holds a private key; give the public certificate only", "sp", "create", "--name", "bad", "--cert-file", withKey)
	var certSP struct{ AppID, Password string }
	json.Unmarshal([]byte(e.ok("sp", "create", "--name", "job", "--cert-file", certFile)), &certSP)
	if certSP.Password != "" {
		t.Fatal("a certificate principal got a password")
	}
	cred, err := azidentity.NewClientCertificateCredential(e.env.Creds.TenantID, certSP.AppID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: e.env.ClientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://job/.default"}}); err != nil {
		t.Fatal(err)
	}

	// A reset adds a secret; delete revokes at once.
	var reset struct{ Password string }
	json.Unmarshal([]byte(e.ok("sp", "credential", "reset", "--id", created.ObjectID)), &reset)
	if reset.Password == "" || reset.Password == created.Password {
		t.Fatal("credential reset printed no new secret")
	}
	e.ok("sp", "delete", "--id", created.ObjectID)
	_, err = e.env.SecretCredential(t, created.AppID, reset.Password).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://after-delete/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("deleted principal still gets tokens: %v", err)
	}
	e.fails("keyless: (PrincipalNotFound) Service principal '"+created.ObjectID+"' does not exist in the directory.", "sp", "show", "--id", created.ObjectID)
}

func TestKeysRotate(t *testing.T) {
	e := startCLI(t)
	var out struct{ Kid string }
	if err := json.Unmarshal([]byte(e.ok("keys", "rotate")), &out); err != nil || out.Kid == "" {
		t.Fatalf("keys rotate: %v %+v", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at, err := e.env.AdminCredential(t).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://after-rotate/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(at.Token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || tok.Headers[0].KeyID != out.Kid {
		t.Fatalf("new tokens are not signed by the rotated key %s", out.Kid)
	}
}

func TestSubscriptionCommands(t *testing.T) {
	e := startCLI(t)
	var created struct{ Alias, SubscriptionID, DisplayName, ProvisioningState string }
	if err := json.Unmarshal([]byte(e.ok("subscription", "create", "--name", "Team A")), &created); err != nil {
		t.Fatal(err)
	}
	if created.Alias != "team-a" || created.DisplayName != "Team A" || created.ProvisioningState != "Succeeded" || created.SubscriptionID == e.env.Creds.SubscriptionID {
		t.Fatalf("subscription create printed %+v", created)
	}
	if got := strings.TrimSpace(e.ok("subscription", "show", "--id", created.SubscriptionID, "--query", "displayName", "-o", "tsv")); got != "Team A" {
		t.Fatalf("subscription show: %q", got)
	}
	if got := strings.Fields(e.ok("subscription", "list", "--query", "[].subscriptionId", "-o", "tsv")); len(got) != 2 {
		t.Fatalf("subscription list: %v", got)
	}
	// Resource groups can be made in it at once.
	e.ok("group", "create", "-n", "rg-a", "-l", "westus", "--subscription", created.SubscriptionID)
}

func TestDirectoryGroupCommands(t *testing.T) {
	e := startCLI(t)
	gid := strings.TrimSpace(e.ok("ad", "group", "create", "--display-name", "readers", "--query", "properties.objectId", "-o", "tsv"))
	var sp struct{ ObjectID string }
	json.Unmarshal([]byte(e.ok("sp", "create", "--name", "member")), &sp)
	e.ok("ad", "group", "member", "add", "-g", gid, "--member-id", sp.ObjectID)
	if got := strings.TrimSpace(e.ok("ad", "group", "show", "-g", gid, "--query", "properties.members[0]", "-o", "tsv")); got != sp.ObjectID {
		t.Fatalf("members: %q", got)
	}
	e.ok("ad", "group", "member", "remove", "-g", gid, "--member-id", sp.ObjectID)
	if got := strings.TrimSpace(e.ok("ad", "group", "show", "-g", gid, "--query", "length(properties.members)", "-o", "tsv")); got != "0" {
		t.Fatalf("members after remove: %q", got)
	}
	if !strings.Contains(e.ok("ad", "group", "list", "--query", "[].properties.displayName", "-o", "tsv"), "readers") {
		t.Fatal("group list lacks the group")
	}
	e.ok("ad", "group", "delete", "-g", gid)
	e.fails("keyless: (GroupNotFound) Group '"+gid+"' does not exist in the directory.", "ad", "group", "show", "-g", gid)
}
