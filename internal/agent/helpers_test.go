package agent_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/keyless-io/keyless/internal/agent"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

func newCSR(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// clientWithAgentCert is a workload client presenting the agent's current
// certificate, read from its data directory.
func clientWithAgentCert(t testing.TB, f *fixture, a *agent.Agent) *workloadapi.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(a.IdentityFile())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	tr := f.env.HTTPClient.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	return &workloadapi.Client{BaseURL: f.env.URL, HTTP: &http.Client{Transport: tr}}
}

func fileGID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}
