package pki

import "crypto/sha1" //nolint:gosec // SHA-1 is what the x5t header names; it identifies, it does not protect.

func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}
