// Package token owns the token-signing keys (creation, rotation, JWKS
// publication) and the access tokens keyless issues and verifies.
//
// Private keys exist in the clear only in memory; in the store they are
// sealed by the keyring. This package does not decide who may get a token:
// the token service and the managed-identity endpoints do.
package token

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint; it identifies, it does not protect.
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
)

// RSAKeyBits is the size of signing keys: what Entra uses and what every
// verifier accepts.
const RSAKeyBits = 2048

// ErrNoSigningKey means the store holds no active signing key.
var ErrNoSigningKey = errors.New("token: no active signing key")

// KeySet is the in-memory view of the signing keys: the one that signs and
// every one still published for verification. It is rebuilt from the store
// whenever the change feed reports a signing-key change, so every replica
// signs with the newest key shortly after a rotation.
type KeySet struct {
	st store.Store
	kr *keyring.Keyring
	// maxTokenLifetime bounds how long a retired key must stay published.
	maxTokenLifetime time.Duration

	mu        sync.RWMutex
	active    *signingKey
	published map[string]*signingKey // by kid
	jwks      []byte
}

type signingKey struct {
	kid    string
	key    *rsa.PrivateKey
	cert   *x509.Certificate
	signer jose.Signer
	meta   store.SigningKey
}

// NewKeySet loads the keys from the store.
func NewKeySet(ctx context.Context, st store.Store, kr *keyring.Keyring, maxTokenLifetime time.Duration) (*KeySet, error) {
	ks := &KeySet{st: st, kr: kr, maxTokenLifetime: maxTokenLifetime}
	if err := ks.Reload(ctx); err != nil {
		return nil, err
	}
	return ks, nil
}

// Reload rebuilds the set from the store.
func (ks *KeySet) Reload(ctx context.Context) error {
	var rows []store.SigningKey
	if err := ks.st.View(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListSigningKeys(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("token: list signing keys: %w", err)
	}
	now := time.Now()
	published := make(map[string]*signingKey, len(rows))
	var active *signingKey
	ks.mu.RLock()
	old := ks.published
	ks.mu.RUnlock()
	for _, row := range rows {
		if !row.RetiredAt.IsZero() && now.After(row.RetiredAt.Add(ks.maxTokenLifetime)) {
			continue // every token it signed has expired
		}
		sk := old[row.KID]
		if sk == nil || !sk.meta.RetiredAt.Equal(row.RetiredAt) || !sk.meta.ActivatedAt.Equal(row.ActivatedAt) {
			var err error
			if sk, err = ks.open(row); err != nil {
				return err
			}
		}
		published[row.KID] = sk
		if !row.ActivatedAt.IsZero() && row.RetiredAt.IsZero() && (active == nil || row.ActivatedAt.After(active.meta.ActivatedAt)) {
			active = sk
		}
	}
	jwks, err := buildJWKS(published)
	if err != nil {
		return err
	}
	ks.mu.Lock()
	ks.active, ks.published, ks.jwks = active, published, jwks
	ks.mu.Unlock()
	return nil
}

func (ks *KeySet) open(row store.SigningKey) (*signingKey, error) {
	der, err := ks.kr.Open(row.SealedPrivateKey, []byte("signing-key:"+row.KID))
	if err != nil {
		return nil, fmt.Errorf("token: open signing key %s: %w", row.KID, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: parse signing key %s: %w", row.KID, err)
	}
	rsaKey, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("token: signing key %s is not RSA", row.KID)
	}
	cert, err := x509.ParseCertificate(row.CertificateDER)
	if err != nil {
		return nil, fmt.Errorf("token: signing certificate %s: %w", row.KID, err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", row.KID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rsaKey, KeyID: row.KID}}, opts)
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: row.KID, key: rsaKey, cert: cert, signer: signer, meta: row}, nil
}

// JWKS returns the published key set document.
func (ks *KeySet) JWKS() []byte {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.jwks
}

// ActiveKID is the key ID that signs new tokens ("" if none).
func (ks *KeySet) ActiveKID() string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.active == nil {
		return ""
	}
	return ks.active.kid
}

// ActiveSince is when the signing key started signing.
func (ks *KeySet) ActiveSince() time.Time {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.active == nil {
		return time.Time{}
	}
	return ks.active.meta.ActivatedAt
}

func (ks *KeySet) activeKey() (*signingKey, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.active == nil {
		return nil, ErrNoSigningKey
	}
	return ks.active, nil
}

func (ks *KeySet) publicKey(kid string) (*rsa.PublicKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	sk := ks.published[kid]
	if sk == nil {
		return nil, false
	}
	return &sk.key.PublicKey, true
}

func buildJWKS(keys map[string]*signingKey) ([]byte, error) {
	kids := make([]string, 0, len(keys))
	for kid := range keys {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	set := jose.JSONWebKeySet{}
	for _, kid := range kids {
		sk := keys[kid]
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:                       &sk.key.PublicKey,
			KeyID:                     kid,
			Algorithm:                 string(jose.RS256),
			Use:                       "sig",
			Certificates:              []*x509.Certificate{sk.cert},
			CertificateThumbprintSHA1: thumbprintSHA1(sk.cert.Raw),
		})
	}
	return json.Marshal(set)
}

// NewSigningKey generates a key with its self-signed certificate, sealed for
// the store. The key ID is the base64url SHA-1 thumbprint of the
// certificate, as Entra's kid and x5t are.
func NewSigningKey(kr *keyring.Keyring, now time.Time) (store.SigningKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, RSAKeyBits)
	if err != nil {
		return store.SigningKey{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "keyless token signing"},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), crypto.Signer(key))
	if err != nil {
		return store.SigningKey{}, err
	}
	kid := base64.RawURLEncoding.EncodeToString(thumbprintSHA1(der))
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{
		KID:              kid,
		SealedPrivateKey: kr.Seal(pkcs8, []byte("signing-key:"+kid)),
		CertificateDER:   der,
		CreatedAt:        now,
		ActivatedAt:      now,
	}, nil
}

// Rotate creates a new signing key that signs from now on and retires the
// current one, which stays published until every token it signed has
// expired. All of it is one store transaction.
func Rotate(ctx context.Context, st store.Store, kr *keyring.Keyring) (string, int64, error) {
	now := time.Now().UTC()
	nk, err := NewSigningKey(kr, now)
	if err != nil {
		return "", 0, err
	}
	rev, err := st.Update(ctx, func(tx store.Tx) error {
		keys, err := tx.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.RetiredAt.IsZero() {
				if err := tx.UpdateSigningKey(ctx, k.KID, func(k store.SigningKey) (store.SigningKey, error) {
					k.RetiredAt = now
					return k, nil
				}); err != nil {
					return err
				}
			}
		}
		return tx.CreateSigningKey(ctx, nk)
	})
	if err != nil {
		return "", 0, fmt.Errorf("token: rotate: %w", err)
	}
	return nk.KID, rev, nil
}

// EnsureKey creates the first signing key if the store has none.
func EnsureKey(ctx context.Context, st store.Store, kr *keyring.Keyring) error {
	var n int
	if err := st.View(ctx, func(tx store.Tx) error {
		keys, err := tx.ListSigningKeys(ctx)
		for _, k := range keys {
			if k.RetiredAt.IsZero() {
				n++
			}
		}
		return err
	}); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, _, err := Rotate(ctx, st, kr)
	return err
}

// Prune deletes keys retired long enough ago that no token they signed can
// still be valid.
func Prune(ctx context.Context, st store.Store, maxTokenLifetime time.Duration) error {
	cutoff := time.Now().Add(-maxTokenLifetime)
	_, err := st.Update(ctx, func(tx store.Tx) error {
		keys, err := tx.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !k.RetiredAt.IsZero() && k.RetiredAt.Before(cutoff) {
				if err := tx.DeleteSigningKey(ctx, k.KID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return err
}

func thumbprintSHA1(der []byte) []byte {
	s := sha1.Sum(der) //nolint:gosec // see import comment
	return s[:]
}
