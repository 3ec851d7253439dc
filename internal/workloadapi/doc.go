// Package workloadapi is the server's HTTP front door for workloads, and the
// client that the launcher, the agent and the CLI use to call it:
//
//   - launch grants for `keyless run` (created by an operator with a bearer
//     token and write permission on the resource; used and revoked by the
//     launcher with the grant's secret);
//   - agent join tokens (operator), enrollment with a one-time join token,
//     certificate renewal and token requests over mutual TLS, listing and
//     revocation (operator);
//   - a long-lived event stream per launch or agent that says when the
//     identities attached to its resource changed, so caches drop tokens
//     for identities that were detached, disabled or deleted.
//
// Handlers decode, call internal/workload, and encode; every domain error
// becomes an HTTP status once, in errors.go. The package holds no state
// beyond rate-limit buckets and the event subscribers.
package workloadapi
