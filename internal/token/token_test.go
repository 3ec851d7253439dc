package token

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
)

// memKeys is the smallest store the key set needs: signing keys only.
type memKeys struct {
	store.Store
	keys []store.SigningKey
}

func (m *memKeys) View(ctx context.Context, fn func(store.Tx) error) error { return fn(memTx{m: m}) }

type memTx struct {
	store.Tx
	m *memKeys
}

func (t memTx) ListSigningKeys(context.Context) ([]store.SigningKey, error) { return t.m.keys, nil }

func newIssuer(t testing.TB, now func() time.Time) (*Issuer, *memKeys, *keyring.Keyring) {
	kr, _ := keyring.New(keyring.Generate())
	sk, err := NewSigningKey(kr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := &memKeys{keys: []store.SigningKey{sk}}
	ks, err := NewKeySet(context.Background(), m, kr, 25*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{Keys: ks, Issuer: "https://keyless.test/t/", TenantID: "t", Lifetime: time.Hour, Now: now}, m, kr
}

func TestMintAndVerify(t *testing.T) {
	now := time.Now()
	is, _, _ := newIssuer(t, func() time.Time { return now })
	raw, c, err := is.Mint(Subject{Audience: "https://management.azure.com/", ObjectID: "o", AppID: "a", ACR: ACRSecret,
		MIResourceID: "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Web/sites/w"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MIResourceID != "/subscriptions/s/resourcegroups/RG/providers/Microsoft.Web/sites/w" {
		t.Errorf("xms_mirid %q: want lower-case resourcegroups, name casing kept", c.MIResourceID)
	}
	tok, _ := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	h := tok.Headers[0]
	if h.KeyID == "" || h.ExtraHeaders["x5t"] != h.KeyID || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header %+v", h)
	}
	tests := []struct {
		name    string
		at      time.Time
		raw     string
		wantErr error
	}{
		{"valid now", now, raw, nil},
		{"valid within skew after exp", now.Add(time.Hour + time.Minute), raw, nil},
		{"expired", now.Add(2 * time.Hour), raw, ErrExpired},
		{"not yet valid", now.Add(-10 * time.Minute), raw, ErrNotYet},
		{"tampered", now, raw[:len(raw)-4] + "AAAA", ErrSignature},
		{"garbage", now, "a.b", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is.Now = func() time.Time { return tc.at }
			_, err := is.Verify(tc.raw)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	other := *is
	other.Issuer = "https://elsewhere/"
	other.Now = func() time.Time { return now }
	if _, err := other.Verify(raw); !errors.Is(err, ErrIssuer) {
		t.Fatalf("foreign issuer: %v", err)
	}
}

func TestRetiredKeyStaysPublishedUntilItsTokensExpire(t *testing.T) {
	is, m, kr := newIssuer(t, nil)
	oldKID := is.Keys.ActiveKID()
	next, err := NewSigningKey(kr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m.keys[0].RetiredAt = time.Now()
	m.keys = append(m.keys, next)
	if err := is.Keys.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if is.Keys.ActiveKID() != next.KID {
		t.Fatal("the new key does not sign")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(is.Keys.JWKS(), &set); err != nil || len(set.Keys) != 2 || len(set.Key(oldKID)) != 1 {
		t.Fatalf("JWKS after rotation: %d keys, err %v", len(set.Keys), err)
	}
	m.keys[0].RetiredAt = time.Now().Add(-26 * time.Hour)
	if err := is.Keys.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(is.Keys.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("expired key still published: %d keys", len(set.Keys))
	}
}

func BenchmarkMint(b *testing.B) {
	is, _, _ := newIssuer(b, nil)
	s := Subject{Audience: "https://management.azure.com/", ObjectID: "0d1e2f30-4152-4637-8495-a6b7c8d9e0f1", AppID: "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a", ACR: ACRSecret}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := is.Mint(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	is, _, _ := newIssuer(b, nil)
	raw, _, _ := is.Mint(Subject{Audience: "https://management.azure.com/", ObjectID: "o", AppID: "a", ACR: ACRSecret})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := is.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func TestVerifyCacheRechecksTimeOnEveryHit(t *testing.T) {
	now := time.Now()
	is, _, _ := newIssuer(t, func() time.Time { return now })
	raw, _, _ := is.Mint(Subject{Audience: "a", ObjectID: "o", AppID: "a", ACR: ACRSecret})
	vc := &VerifyCache{Issuer: is}
	for i := range 2 {
		if _, err := vc.Verify(raw); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := vc.Verify(raw[:len(raw)-4] + "AAAA"); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered token: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := vc.Verify(raw); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached token past exp: %v", err)
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	is, _, _ := newIssuer(b, nil)
	raw, _, _ := is.Mint(Subject{Audience: "https://management.azure.com/", ObjectID: "o", AppID: "a", ACR: ACRSecret})
	vc := &VerifyCache{Issuer: is}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vc.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// signClaims signs arbitrary claims with the issuer's active key: what a
// token with claims this server never mints would look like.
func signClaims(t *testing.T, is *Issuer, c Claims) string {
	t.Helper()
	sk, err := is.Keys.activeKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sk.signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerifyRefusesTokensThisServerDoesNotIssue(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	tests := []struct {
		name        string
		maxLifetime time.Duration
		iat, nbf    int64
		exp         int64
		wantErr     error
	}{
		{"the lifetime the issuer mints", 0, at(0), at(0), at(time.Hour), nil},
		{"a minute over, within the skew", 0, at(0), at(0), at(time.Hour + time.Minute), nil},
		{"one day", 0, at(0), at(0), at(24 * time.Hour), ErrLifetime},
		{"exp in 9999", 0, at(0), at(0), 253402300799, ErrLifetime},
		{"one day, measured from nbf without iat", 0, 0, at(0), at(24 * time.Hour), ErrLifetime},
		{"nbf long before iat", 0, at(0), at(-48 * time.Hour), at(30 * time.Minute), ErrLifetime},
		{"no iat or nbf, expiring within the lifetime", 0, 0, 0, at(30 * time.Minute), nil},
		{"no iat or nbf, expiring in two days", 0, 0, 0, at(48 * time.Hour), ErrLifetime},
		{"issued ten minutes in the future", 0, at(10 * time.Minute), at(-time.Minute), at(30 * time.Minute), ErrNotYet},
		{"issued a minute in the future, within the skew", 0, at(time.Minute), at(0), at(30 * time.Minute), nil},
		{"one day from an issuer that mints one day", 24 * time.Hour, at(0), at(0), at(24 * time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is, _, _ := newIssuer(t, func() time.Time { return now })
			is.MaxLifetime = tc.maxLifetime
			raw := signClaims(t, is, Claims{Audience: "https://management.azure.com/", Issuer: is.Issuer,
				IssuedAt: tc.iat, NotBefore: tc.nbf, Expiry: tc.exp, ObjectID: "o", Subject: "o", TenantID: "t", Version: "1.0"})
			if _, err := is.Verify(raw); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify: err = %v, want %v", err, tc.wantErr)
			}
			vc := &VerifyCache{Issuer: is}
			if _, err := vc.Verify(raw); !errors.Is(err, tc.wantErr) {
				t.Fatalf("VerifyCache.Verify: err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestMintRefusesLifetimesBeyondTheMaximum(t *testing.T) {
	is, _, _ := newIssuer(t, nil)
	is.MaxLifetime = 2 * time.Hour
	if _, _, err := is.Mint(Subject{Audience: "a", ObjectID: "o", Lifetime: 2 * time.Hour}); err != nil {
		t.Fatalf("the maximum lifetime: %v", err)
	}
	if _, _, err := is.Mint(Subject{Audience: "a", ObjectID: "o", Lifetime: 3 * time.Hour}); err == nil {
		t.Fatal("minted a token longer-lived than the issuer's maximum, which Verify refuses")
	}
}

// TestIssuedHearsEveryMintedTokenAndNoRefusal: usage tracking counts what
// Mint signs, and nothing it refuses.
func TestIssuedHearsEveryMintedTokenAndNoRefusal(t *testing.T) {
	is, _, _ := newIssuer(t, nil)
	is.MaxLifetime = 2 * time.Hour
	var heard []Claims
	is.Issued = func(c Claims) { heard = append(heard, c) }
	_, c, err := is.Mint(Subject{Audience: "api://a", ObjectID: "o1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := is.Mint(Subject{Audience: "api://b", ObjectID: "o2", Lifetime: 3 * time.Hour}); err == nil {
		t.Fatal("minted beyond the maximum lifetime")
	}
	if len(heard) != 1 || heard[0].UTI != c.UTI || heard[0].ObjectID != "o1" || heard[0].Audience != "api://a" {
		t.Fatalf("Issued heard %+v, want the one token minted", heard)
	}
}
