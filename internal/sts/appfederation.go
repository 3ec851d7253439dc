package sts

import (
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
)

// applicationFederatedCredentials are the federated identity credentials
// of the client's application registration (made through Microsoft
// Graph), in the form federation matches.
func applicationFederatedCredentials(dir *directory.Directory, clientID string) []store.FederatedCredential {
	app, ok := dir.Application(clientID)
	if !ok {
		return nil
	}
	fics := make([]store.FederatedCredential, 0, len(app.FederatedCredentials))
	for _, f := range app.FederatedCredentials {
		fics = append(fics, store.FederatedCredential{IdentityID: app.ObjectID, Name: f.Name,
			Issuer: f.Issuer, Subject: f.Subject, Audiences: f.Audiences})
	}
	return fics
}

// selfIssued says whether a client assertion is the client's own (RFC
// 7523: iss is the client ID, as MSAL signs with a certificate) rather
// than an external token for federation, whose issuer is another
// authority. An assertion that cannot be read is left to the certificate
// path, which refuses it with its own code.
func selfIssued(assertion, clientID string) bool {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384})
	if err != nil {
		return true
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return true
	}
	return claims.Issuer == clientID
}
