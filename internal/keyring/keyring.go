// Package keyring owns the installation's master key and the two things
// derived from it: sealing (authenticated encryption of private keys at
// rest) and keyed hashing of the secrets keyless generates.
//
// It never logs, stores or returns a key; callers persist only sealed
// blobs and hashes.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

const (
	sealVersion = 1
	saltSize    = 16
)

// ErrUnseal means a sealed blob was not produced under this master key or
// was altered.
var ErrUnseal = errors.New("keyring: sealed data cannot be opened with this master key")

// Keyring seals data and hashes secrets under one master key. The sealing
// key and the hashing key are derived separately so that neither use can
// be turned into an oracle for the other.
type Keyring struct {
	aead    cipher.AEAD
	hashKey []byte
	checkID string
}

// New builds a keyring from a master key of KeySize bytes.
func New(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("keyring: master key must be %d bytes, got %d", KeySize, len(master))
	}
	block, err := aes.NewCipher(derive(master, "keyless seal v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	check := derive(master, "keyless key check v1")
	return &Keyring{
		aead:    aead,
		hashKey: derive(master, "keyless secret hash v1"),
		checkID: base64.RawURLEncoding.EncodeToString(check[:12]),
	}, nil
}

// Generate returns a fresh random master key.
func Generate() []byte {
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	return k
}

// ParseKey decodes a master key given as base64 (standard or URL alphabet,
// padded or not), the form used by --master-key and KEYLESS_MASTER_KEY.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("keyring: master key must decode to %d bytes, got %d", KeySize, len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("keyring: master key is not valid base64")
}

// EncodeKey is the inverse of ParseKey.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// CheckID is a non-secret fingerprint of the master key. It is stored with
// the data so that a replica started with the wrong key fails at start
// instead of failing to open keys later.
func (k *Keyring) CheckID() string { return k.checkID }

// Seal encrypts plaintext; aad binds the blob to its purpose (for example
// the key ID) so a sealed blob cannot be swapped for another.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+k.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a blob made by Seal with the same aad.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+ns+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrUnseal
	}
	pt, err := k.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// HashSecret returns salt || HMAC-SHA-256(hashKey, salt || secret).
//
// keyless generates every secret itself with at least 256 bits of entropy,
// so a keyed fast hash is as strong as a slow password hash against offline
// guessing (there is nothing to guess) while costing microseconds instead of
// the tens of milliseconds that would dominate each token grant.
func (k *Keyring) HashSecret(secret string) []byte {
	salt := make([]byte, saltSize)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	return append(salt, k.mac(salt, secret)...)
}

// VerifySecret reports, in constant time, whether secret matches a hash
// made by HashSecret.
func (k *Keyring) VerifySecret(hash []byte, secret string) bool {
	if len(hash) != saltSize+sha256.Size {
		return false
	}
	return hmac.Equal(hash[saltSize:], k.mac(hash[:saltSize], secret))
}

// Fingerprint is a deterministic keyed hash, for looking up one-time tokens
// by hash (join tokens) without storing them.
func (k *Keyring) Fingerprint(secret string) string {
	return base64.RawURLEncoding.EncodeToString(k.mac(nil, secret))
}

func (k *Keyring) mac(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write(salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func derive(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// NewSecret returns a random secret with 256 bits of entropy in the
// URL-safe alphabet, with a short prefix so scanners can recognise it.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
