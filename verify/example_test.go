package verify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log"
	"net/http"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/keyless-io/keyless/verify"
)

// A service that accepts keyless tokens issued for "https://orders.example"
// and serves GET /orders to callers holding a role with the data action
// Contoso.Orders/orders/read at the orders resource (or above it), with
// keyless deciding. The service itself runs with a managed identity that
// holds Keyless.Authorization/checkAccess/action there.
func Example() {
	ctx := context.Background()
	ca, err := os.ReadFile("/etc/keyless/ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	const keyless = "https://keyless.example:8443"
	const tenant = "7d3c8f1e-0000-4000-8000-000000000000"
	v, err := verify.New(ctx, verify.Config{
		Issuer:     keyless + "/" + tenant + "/",
		Audiences:  []string{"https://orders.example"},
		HTTPClient: client,
	})
	if err != nil {
		log.Fatal(err)
	}
	self, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		log.Fatal(err)
	}
	guard := &verify.Guard{
		Verifier: v,
		Authorizer: &verify.AccessClient{
			BaseURL: keyless, Credential: self, HTTPClient: client, Audience: "https://orders.example",
		},
		Challenge: `Bearer authorization="` + keyless + "/" + tenant + `", resource="https://orders.example"`,
	}
	ordersScope := func(*http.Request) string {
		return "/subscriptions/0b1f.../resourceGroups/rg-orders/providers/Contoso.Orders/stores/main"
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders", guard.Require("Contoso.Orders/orders/read", ordersScope,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller, _ := verify.ClaimsFrom(r.Context())
			_, _ = w.Write([]byte("orders for " + caller.ObjectID + "\n"))
		})))
	log.Fatal(http.ListenAndServeTLS(":8444", "server.pem", "server-key.pem", mux))
}
