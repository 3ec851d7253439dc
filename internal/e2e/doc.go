// Package e2e holds end-to-end tests that start a real keyless server on a
// loopback port and drive it only through the official Azure SDK clients
// and an off-the-shelf OIDC verifier.
package e2e
