package sts

import (
	"net/http"
	"net/netip"
	"strconv"

	"github.com/keyless-io/keyless/internal/ratelimit"
)

// Defaults for the per-address limit on failed client authentications.
// A client with a wrong secret fails at most a few times a second (azcore
// retries three times); guessing needs thousands.
const (
	DefaultClientAuthFailureRate  = 10 // failures per second, refilled
	DefaultClientAuthFailureBurst = 50
	// maxFailureSources bounds the addresses tracked (about 10 MB); past
	// it, new addresses share one bucket (ratelimit.NewBoundedKeyed).
	maxFailureSources = 1 << 16
)

func newFailureLimit(rate float64, burst int) *ratelimit.Keyed {
	switch {
	case rate < 0:
		return nil
	case rate == 0:
		rate = DefaultClientAuthFailureRate
	}
	if burst <= 0 {
		burst = DefaultClientAuthFailureBurst
	}
	return ratelimit.NewBoundedKeyed(rate, burst, maxFailureSources)
}

// failAuth answers a failed client authentication (wrong secret, unknown
// client, bad assertion or federated token). It charges the source
// address one token; once the address has none left the answer is 429,
// whatever the failure, so that guessing is slowed and the answer says no
// more than that. The credential is always checked first and only failures
// are charged, so a client that authenticates correctly is never slowed by
// others failing at its address. Server-side failures (5xx) are not the
// client's and are not charged.
func (s *Service) failAuth(w http.ResponseWriter, r *http.Request, clientID string, e *oauthError) {
	if e.status < 500 {
		if ok, wait := s.failures.Allow(sourceKey(r.RemoteAddr), s.cfg.Now()); !ok {
			retry := ratelimit.RetryAfterSeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			// Entra answers a client that floods the token endpoint with 429
			// and Retry-After; AADSTS50196 is its code for a client whose
			// requests loop.
			e = &oauthError{http.StatusTooManyRequests, "temporarily_unavailable", 50196,
				"The server terminated an operation because too many client authentications from this address failed. " +
					"A client that authenticates correctly is not throttled: check the client ID and credential, then retry after " +
					strconv.Itoa(retry) + " seconds."}
		}
	}
	s.fail(w, r, clientID, e)
}

// sourceKey is the address a failure is charged to: the connection's peer
// (never X-Forwarded-For, which the client writes), IPv4 by address and
// IPv6 by /64, the block one host is given and can hop within freely.
func sourceKey(remoteAddr string) string {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		addr = a
	} else {
		// Not an IP (a Unix socket): one key for the listener.
		return remoteAddr
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
