package server

import (
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/pki"
)

func TestServerCertificateIsRenewedBeforeExpiry(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newServerCert(ca, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := sc.get()
	tests := []struct {
		name    string
		at      time.Time
		renewed bool
	}{
		{"early in its life it is kept", time.Now().Add(30 * 24 * time.Hour), false},
		{"in its last third it is renewed", first.Leaf.NotAfter.Add(-10 * 24 * time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc.now = func() time.Time { return tc.at }
			got, err := sc.get()
			if err != nil {
				t.Fatal(err)
			}
			if renewed := got != first; renewed != tc.renewed {
				t.Fatalf("renewed = %v, want %v", renewed, tc.renewed)
			}
		})
	}
}
