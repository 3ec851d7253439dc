package usage

// ActionFederatedExchange is the action recorded, at the federated identity
// credential's resource ID, for every token exchange that credential
// admitted: the access review's stale-federated-credential rule reads it.
const ActionFederatedExchange = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/exchange/action"

// FederatedCredentialScope is the resource ID the exchange is recorded at.
func FederatedCredentialScope(identityID, credentialName string) string {
	return identityID + "/federatedIdentityCredentials/" + credentialName
}
