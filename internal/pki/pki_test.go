package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestServerCertificateVerifiesForEveryName(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := ca.KeyDER()
	reloaded, err := LoadCA(ca.Cert.Raw, keyDER)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := reloaded.ServerCertificate([]string{"localhost", "127.0.0.1", "::1", "keyless.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "keyless.example"} {
		t.Run(name, func(t *testing.T) {
			_, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: ca.Pool()}); err == nil {
		t.Fatal("certificate verifies for a name it was not issued for")
	}
}

func TestClientCertificateBindsURI(t *testing.T) {
	ca, _ := NewCA("test CA")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"evil"}}, key)
	csr, _ := x509.ParseCertificateRequest(csrDER)
	u, _ := url.Parse("keyless://resource/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1")
	c, err := ca.ClientCertificate(csr, u, "vm1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.URIs) != 1 || c.URIs[0].String() != u.String() || len(c.DNSNames) != 0 {
		t.Fatalf("URIs %v DNS %v", c.URIs, c.DNSNames)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
}

func TestParseCertificatesPEM(t *testing.T) {
	ca, _ := NewCA("test CA")
	keyDER, _ := ca.KeyDER()
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	tests := []struct {
		name    string
		input   string
		want    int
		wantErr string
	}{
		{"one certificate", string(ca.CertPEM()), 1, ""},
		{"two certificates", string(ca.CertPEM()) + string(ca.CertPEM()), 2, ""},
		{"private key refused", string(ca.CertPEM()) + keyPEM, 0, "private key"},
		{"empty refused", "nothing here", 0, "no CERTIFICATE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParseCertificatesPEM([]byte(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(certs) != tc.want {
				t.Fatalf("got %d certs, err %v", len(certs), err)
			}
		})
	}
}
