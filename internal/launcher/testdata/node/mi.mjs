// Gets a managed-identity token the way an unchanged program would, and
// prints the token's claims. MI_SELECTOR (client_id | object_id |
// resource_id | empty) and MI_VALUE choose the identity; MI_SCOPE the scope.
import { ManagedIdentityCredential } from "@azure/identity";

if (!process.env.IDENTITY_ENDPOINT) {
  // Never fall through to IMDS on the host network.
  console.error("IDENTITY_ENDPOINT is not set");
  process.exit(3);
}
const kind = process.env.MI_SELECTOR || "";
const value = process.env.MI_VALUE || "";
const options = {
  client_id: { clientId: value },
  object_id: { objectId: value },
  resource_id: { resourceId: value },
}[kind] || {};
const credential = new ManagedIdentityCredential(options);
const token = await credential.getToken(process.env.MI_SCOPE);
const claims = JSON.parse(Buffer.from(token.token.split(".")[1], "base64url").toString());
console.log(JSON.stringify({ claims, expiresOnTimestamp: token.expiresOnTimestamp }));
