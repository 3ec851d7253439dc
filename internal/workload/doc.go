// Package workload owns how a workload obtains a managed-identity token
// without a secret in its code: the minting rules (which identity a request
// selects, and whether that identity is attached to the resource right now),
// the launch grants of `keyless run`, and the enrollment, renewal and
// revocation of host agents with their one-time join tokens.
//
// Every decision is made against the store at the moment of the request, in
// one read transaction, so detaching an identity, disabling system-assigned,
// deleting a resource, revoking an agent or revoking a grant stops the next
// token at once, on every replica. The package never speaks HTTP and never
// stores a plaintext secret: grant secrets are kept as keyed hashes and join
// tokens as keyed fingerprints (keyring).
package workload
