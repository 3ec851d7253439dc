package token

import (
	"crypto/sha256"
	"sync"
)

// maxVerified bounds the verification cache; past it the cache starts over,
// which costs one signature check per live token and nothing else.
const maxVerified = 16384

// VerifyCache remembers tokens that verified, so a client that sends the
// same bearer token on every ARM call (as azcore does until it refreshes)
// costs one RSA verification per token rather than one per call. Only
// successes are cached, keyed by a digest of the whole token; expiry and
// not-before are checked again on every hit.
type VerifyCache struct {
	Issuer *Issuer

	mu sync.Mutex
	m  map[[sha256.Size]byte]Claims
}

// Verify is Issuer.Verify with caching.
func (c *VerifyCache) Verify(raw string) (Claims, error) {
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	claims, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return claims, c.Issuer.checkTime(claims)
	}
	claims, err := c.Issuer.Verify(raw)
	if err != nil {
		return claims, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxVerified {
		c.m = make(map[[sha256.Size]byte]Claims)
	}
	c.m[key] = claims
	c.mu.Unlock()
	return claims, nil
}
