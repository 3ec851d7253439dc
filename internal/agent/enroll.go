package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/keyless-io/keyless/internal/workloadapi"
)

// loadOrEnroll uses the identity in the data directory if it is still
// valid, else enrolls with the join token.
func (a *Agent) loadOrEnroll(ctx context.Context) error {
	id, err := a.load()
	newToken := a.cfg.JoinToken != "" && err == nil && id.JoinToken != joinTokenHash(a.cfg.JoinToken)
	switch {
	case err == nil && time.Now().Before(id.leaf.NotAfter) && !newToken:
		a.setIdentity(id)
		return nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		if a.cfg.JoinToken == "" {
			return fmt.Errorf("the agent identity in %s is unusable (%v); enroll again with --join-token", a.cfg.DataDir, err)
		}
	case err == nil && a.cfg.JoinToken == "":
		return fmt.Errorf("the agent certificate in %s expired at %s; enroll again with a new --join-token", a.cfg.DataDir, id.leaf.NotAfter.Format(time.RFC3339))
	}
	if a.cfg.JoinToken == "" {
		return errors.New("this agent is not enrolled: give --join-token (from `keyless agent join-token create --resource ID`)")
	}
	key, csr, err := newKeyAndCSR()
	if err != nil {
		return err
	}
	anon := &workloadapi.Client{BaseURL: a.cfg.ServerURL, HTTP: a.httpClient(nil)}
	e, err := anon.Enroll(ctx, workloadapi.EnrollRequest{JoinToken: a.cfg.JoinToken, CSR: csr})
	if err != nil {
		return fmt.Errorf("enroll with the keyless server: %w", err)
	}
	id, err = a.store(key, e, joinTokenHash(a.cfg.JoinToken))
	if err != nil {
		return err
	}
	a.setIdentity(id)
	a.log.Info("enrolled", "agent", id.AgentID, "resource", id.ResourceID, "certificateExpiresOn", id.leaf.NotAfter)
	return nil
}

func (a *Agent) load() (identity, error) {
	var id identity
	raw, err := os.ReadFile(filepath.Join(a.cfg.DataDir, stateFile))
	if err != nil {
		return id, err
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		return id, fmt.Errorf("%s: %w", stateFile, err)
	}
	pemBytes, err := os.ReadFile(a.identityPath())
	if err != nil {
		return id, err
	}
	if id.cert, err = tls.X509KeyPair(pemBytes, pemBytes); err != nil {
		return id, fmt.Errorf("%s: %w", identityFile, err)
	}
	id.leaf = id.cert.Leaf
	if id.Server != "" && id.Server != a.cfg.ServerURL {
		return id, fmt.Errorf("enrolled with %s, not %s", id.Server, a.cfg.ServerURL)
	}
	return id, nil
}

// store writes key and certificate into one file, atomically, so a crash
// never leaves a key that does not match its certificate.
func (a *Agent) store(key *ecdsa.PrivateKey, e workloadapi.Enrollment, joinToken string) (identity, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return identity{}, err
	}
	pemBytes := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), []byte(e.Certificate)...)
	cert, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		return identity{}, fmt.Errorf("the server's certificate does not match the key: %w", err)
	}
	id := identity{AgentID: e.AgentID, ResourceID: e.ResourceID, Server: a.cfg.ServerURL, JoinToken: joinToken, cert: cert, leaf: cert.Leaf}
	state, _ := json.MarshalIndent(id, "", "  ")
	if err := writeFileAtomic(a.identityPath(), pemBytes); err != nil {
		return identity{}, err
	}
	if err := writeFileAtomic(filepath.Join(a.cfg.DataDir, stateFile), append(state, '\n')); err != nil {
		return identity{}, err
	}
	return id, nil
}

func joinTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr, os.Chmod(tmp, 0o600)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// setIdentity installs an identity and a fresh HTTP client presenting it;
// connections made with the previous certificate are dropped, because the
// server accepts only the newest one.
func (a *Agent) setIdentity(id identity) {
	a.mu.Lock()
	a.ident = id
	cancel := a.cancelStream
	a.mu.Unlock()
	old := a.client.Swap(&workloadapi.Client{BaseURL: a.cfg.ServerURL, HTTP: a.httpClient(&id.cert)})
	if old != nil {
		old.HTTP.CloseIdleConnections()
	}
	if cancel != nil {
		cancel() // the event stream reconnects with the new certificate
	}
}

func (a *Agent) httpClient(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: a.caPool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}}
}

// renewLoop renews the certificate at two thirds of its lifetime, retrying
// every minute on failure until it expires.
func (a *Agent) renewLoop(ctx context.Context) {
	for {
		a.mu.Lock()
		leaf := a.ident.leaf
		a.mu.Unlock()
		at := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) * 2 / 3)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		for ctx.Err() == nil {
			err := a.Renew(ctx)
			if err == nil {
				break
			}
			a.log.Warn("certificate renewal failed; retrying in a minute", "err", err, "expiresOn", leaf.NotAfter)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
		}
	}
}

// Renew replaces the certificate (and key) now.
func (a *Agent) Renew(ctx context.Context) error {
	key, csr, err := newKeyAndCSR()
	if err != nil {
		return err
	}
	e, err := a.client.Load().Renew(ctx, csr)
	if err != nil {
		return err
	}
	a.mu.Lock()
	used := a.ident.JoinToken
	a.mu.Unlock()
	id, err := a.store(key, e, used)
	if err != nil {
		return err
	}
	a.setIdentity(id)
	a.log.Info("certificate renewed", "agent", id.AgentID, "expiresOn", id.leaf.NotAfter)
	return nil
}
