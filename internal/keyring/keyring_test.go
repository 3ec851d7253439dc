package keyring

import (
	"bytes"
	"testing"
)

func TestSealRoundTripAndTamper(t *testing.T) {
	k, err := New(Generate())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(Generate())
	sealed := k.Seal([]byte("private key"), []byte("kid-1"))
	if bytes.Contains(sealed, []byte("private key")) {
		t.Fatal("sealed blob contains the plaintext")
	}
	tests := []struct {
		name    string
		kr      *Keyring
		blob    []byte
		aad     string
		wantErr bool
	}{
		{"same key and aad opens", k, sealed, "kid-1", false},
		{"other aad is refused", k, sealed, "kid-2", true},
		{"other master key is refused", other, sealed, "kid-1", true},
		{"flipped byte is refused", k, flip(sealed, len(sealed)-1), "kid-1", true},
		{"truncated blob is refused", k, sealed[:5], "kid-1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := tc.kr.Open(tc.blob, []byte(tc.aad))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && string(pt) != "private key" {
				t.Fatalf("plaintext = %q", pt)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

func TestHashSecret(t *testing.T) {
	k, _ := New(Generate())
	other, _ := New(Generate())
	secret := NewSecret("kls~")
	h1, h2 := k.HashSecret(secret), k.HashSecret(secret)
	if bytes.Equal(h1, h2) {
		t.Fatal("hashes of one secret must differ by salt")
	}
	if !k.VerifySecret(h1, secret) || !k.VerifySecret(h2, secret) {
		t.Fatal("secret does not verify")
	}
	if k.VerifySecret(h1, secret+"x") {
		t.Fatal("wrong secret verifies")
	}
	if other.VerifySecret(h1, secret) {
		t.Fatal("hash verifies under another master key")
	}
	if k.VerifySecret(h1[:10], secret) {
		t.Fatal("truncated hash verifies")
	}
}

func TestParseKey(t *testing.T) {
	master := Generate()
	got, err := ParseKey(EncodeKey(master) + "\n")
	if err != nil || !bytes.Equal(got, master) {
		t.Fatalf("ParseKey round trip: %v", err)
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := ParseKey("!!!"); err == nil {
		t.Fatal("garbage accepted")
	}
}

func BenchmarkVerifySecret(b *testing.B) {
	k, _ := New(Generate())
	secret := NewSecret("kls~")
	h := k.HashSecret(secret)
	b.ReportAllocs()
	for b.Loop() {
		if !k.VerifySecret(h, secret) {
			b.Fatal("mismatch")
		}
	}
}
