package server

import (
	"crypto/tls"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/pki"
)

// serverCertValidity is the lifetime of the listener's certificate; it is
// renewed once less than a third of it remains, so a server that runs for
// months never presents an expired certificate.
const serverCertValidity = 90 * 24 * time.Hour

// serverCert issues and renews the listener's certificate from the
// installation's CA.
type serverCert struct {
	ca    *pki.CA
	hosts []string
	now   func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
}

func newServerCert(ca *pki.CA, hosts []string) (*serverCert, error) {
	sc := &serverCert{ca: ca, hosts: hosts, now: time.Now}
	if _, err := sc.get(); err != nil {
		return nil, err
	}
	return sc, nil
}

// get returns the current certificate, issuing a new one when the current
// one is in the last third of its life.
func (sc *serverCert) get() (*tls.Certificate, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.cert != nil && sc.now().Before(sc.cert.Leaf.NotAfter.Add(-serverCertValidity/3)) {
		return sc.cert, nil
	}
	c, err := sc.ca.ServerCertificate(sc.hosts, serverCertValidity)
	if err != nil {
		if sc.cert != nil && sc.now().Before(sc.cert.Leaf.NotAfter) {
			return sc.cert, nil // keep serving the still-valid one
		}
		return nil, err
	}
	sc.cert = &c
	return sc.cert, nil
}

// GetCertificate is the tls.Config hook.
func (sc *serverCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) { return sc.get() }
