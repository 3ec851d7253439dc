package workload

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/pki"
	"github.com/keyless-io/keyless/internal/store"
)

// Agent certificate and join token lifetimes.
const (
	DefaultAgentCertValidity = 24 * time.Hour
	DefaultJoinTokenTTL      = time.Hour
	MaxJoinTokenTTL          = 30 * 24 * time.Hour
)

// JoinTokenPrefix marks join tokens for secret scanners.
const JoinTokenPrefix = "kjt_"

// agentURIScheme and agentURIHost form the URI SAN of agent certificates:
// keyless://agents/<agentID>. The agent row, not the certificate, says
// which resource the agent runs as, so revocation and re-binding need no
// certificate revocation list.
const (
	agentURIScheme = "keyless"
	agentURIHost   = "agents"
)

// AgentURI is the URI SAN of an agent's certificate.
func AgentURI(agentID string) *url.URL {
	return &url.URL{Scheme: agentURIScheme, Host: agentURIHost, Path: "/" + agentID}
}

// AgentFromCertificate reads the agent ID and serial of a verified client
// certificate; ok is false for a certificate that is not an agent's.
func AgentFromCertificate(c *x509.Certificate) (agentID, serial string, ok bool) {
	for _, u := range c.URIs {
		if u.Scheme == agentURIScheme && u.Host == agentURIHost {
			id := strings.TrimPrefix(u.Path, "/")
			if id != "" && !strings.Contains(id, "/") {
				return id, SerialOf(c), true
			}
		}
	}
	return "", "", false
}

// SerialOf is the serial number as the agent row stores it.
func SerialOf(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// Agents enrolls, renews, lists and revokes host agents.
type Agents struct {
	Store   store.Store
	Keyring *keyring.Keyring
	CA      *pki.CA
	// CertValidity is the lifetime of agent certificates (default 24 h);
	// agents renew at two thirds of it.
	CertValidity time.Duration
	Now          func() time.Time
}

func (a *Agents) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Agents) validity() time.Duration {
	if a.CertValidity > 0 {
		return a.CertValidity
	}
	return DefaultAgentCertValidity
}

// NewJoinToken is a created join token, shown once.
type NewJoinToken struct {
	Token      string
	ResourceID string
	ExpiresOn  time.Time
}

// CreateJoinToken makes a one-time token that lets one agent enroll as
// resourceID. Only its keyed fingerprint is stored. Authorizing the actor
// (write on the resource) is the caller's.
func (a *Agents) CreateJoinToken(ctx context.Context, actor, resourceID string, ttl time.Duration) (NewJoinToken, int64, error) {
	ttl, err := clampTTL(ttl, DefaultJoinTokenTTL, MaxJoinTokenTTL)
	if err != nil {
		return NewJoinToken{}, 0, err
	}
	now := a.now().UTC()
	jt := NewJoinToken{Token: keyring.NewSecret(JoinTokenPrefix), ExpiresOn: now.Add(ttl).Truncate(time.Second)}
	rev, err := a.Store.Update(ctx, func(tx store.Tx) error {
		r, err := existing(ctx, tx, resourceID)
		if err != nil {
			return err
		}
		jt.ResourceID = r.ID
		return tx.CreateJoinToken(ctx, store.JoinToken{
			TokenHash: a.Keyring.Fingerprint(jt.Token), ResourceID: r.ID, ExpiresAt: jt.ExpiresOn, CreatedAt: now, CreatedBy: actor,
		})
	})
	if err != nil {
		return NewJoinToken{}, 0, err
	}
	return jt, rev, nil
}

// Enrolled is an agent with its newly signed certificate.
type Enrolled struct {
	Agent       store.Agent
	Certificate *x509.Certificate
}

// Enroll consumes a join token and signs the agent's first certificate.
// A token works once: two agents racing with it cannot both enroll.
func (a *Agents) Enroll(ctx context.Context, joinToken string, csr *x509.CertificateRequest) (Enrolled, int64, error) {
	if err := checkCSR(csr); err != nil {
		return Enrolled{}, 0, err
	}
	var out Enrolled
	rev, err := a.Store.Update(ctx, func(tx store.Tx) error {
		now := a.now().UTC()
		jt, err := tx.ConsumeJoinToken(ctx, a.Keyring.Fingerprint(joinToken))
		if errors.Is(err, store.ErrNotFound) {
			return fail(CodeUnauthenticated, "The join token is unknown or was already used.")
		}
		if err != nil {
			return err
		}
		if !now.Before(jt.ExpiresAt) {
			return fail(CodeUnauthenticated, "The join token expired at %s.", jt.ExpiresAt.UTC().Format(time.RFC3339))
		}
		r, err := existing(ctx, tx, jt.ResourceID)
		if err != nil {
			return err
		}
		id := uuid.NewString()
		cert, err := a.CA.ClientCertificate(csr, AgentURI(id), "keyless agent "+id, a.validity())
		if err != nil {
			return fail(CodeInvalidRequest, "The certificate request cannot be signed: %v", err)
		}
		ag := store.Agent{ID: id, ResourceID: r.ID, CertificateSerial: SerialOf(cert), CertNotAfter: cert.NotAfter.UTC(), CreatedAt: now, LastSeenAt: now}
		if err := tx.CreateAgent(ctx, ag); err != nil {
			return err
		}
		out = Enrolled{Agent: ag, Certificate: cert}
		return nil
	})
	return out, rev, err
}

// Renew signs a new certificate for an agent that proves itself with its
// current one; the old certificate stops working at once.
func (a *Agents) Renew(ctx context.Context, proof AgentProof, csr *x509.CertificateRequest) (Enrolled, int64, error) {
	if err := checkCSR(csr); err != nil {
		return Enrolled{}, 0, err
	}
	var out Enrolled
	rev, err := a.Store.Update(ctx, func(tx store.Tx) error {
		now := a.now().UTC()
		if _, err := proof.check(ctx, tx); err != nil {
			return err
		}
		cert, err := a.CA.ClientCertificate(csr, AgentURI(proof.AgentID), "keyless agent "+proof.AgentID, a.validity())
		if err != nil {
			return fail(CodeInvalidRequest, "The certificate request cannot be signed: %v", err)
		}
		return tx.UpdateAgent(ctx, proof.AgentID, func(ag store.Agent) (store.Agent, error) {
			ag.CertificateSerial, ag.CertNotAfter, ag.LastSeenAt = SerialOf(cert), cert.NotAfter.UTC(), now
			out = Enrolled{Agent: ag, Certificate: cert}
			return ag, nil
		})
	})
	return out, rev, err
}

// Get returns one agent.
func (a *Agents) Get(ctx context.Context, id string) (store.Agent, error) {
	var ag store.Agent
	err := a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ag, err = tx.GetAgent(ctx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, fail(CodeResourceNotFound, "The agent '%s' does not exist.", id)
	}
	return ag, err
}

// List returns every agent, revoked ones included.
func (a *Agents) List(ctx context.Context) ([]store.Agent, error) {
	var out []store.Agent
	err := a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListAgents(ctx)
		return err
	})
	return out, err
}

// Revoke marks an agent revoked: its certificate stops working on the
// next request, and its event stream ends.
func (a *Agents) Revoke(ctx context.Context, id string) (store.Agent, int64, error) {
	var out store.Agent
	rev, err := a.Store.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateAgent(ctx, id, func(ag store.Agent) (store.Agent, error) {
			if ag.RevokedAt.IsZero() {
				ag.RevokedAt = a.now().UTC()
			}
			out = ag
			return ag, nil
		})
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, 0, fail(CodeResourceNotFound, "The agent '%s' does not exist.", id)
	}
	return out, rev, err
}

// AgentProof is the agent ID and serial read from a verified client
// certificate.
type AgentProof struct {
	AgentID string
	Serial  string
}

// Resource checks the agent and returns its resource.
func (p AgentProof) Resource(ctx context.Context, tx store.Tx, _ time.Time) (string, error) {
	ag, err := p.check(ctx, tx)
	return ag.ResourceID, err
}

// Check verifies the agent in its own read transaction.
func (p AgentProof) Check(ctx context.Context, st store.Store) (store.Agent, error) {
	var ag store.Agent
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		ag, err = p.check(ctx, tx)
		return err
	})
	return ag, err
}

func (p AgentProof) check(ctx context.Context, tx store.Tx) (store.Agent, error) {
	ag, err := tx.GetAgent(ctx, p.AgentID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, fail(CodeUnauthenticated, "The agent is not enrolled.")
	}
	if err != nil {
		return store.Agent{}, err
	}
	if !ag.RevokedAt.IsZero() {
		return store.Agent{}, fail(CodeUnauthenticated, "The agent was revoked at %s.", ag.RevokedAt.UTC().Format(time.RFC3339))
	}
	if ag.CertificateSerial != p.Serial {
		return store.Agent{}, fail(CodeUnauthenticated, "The agent's certificate was superseded by a renewal.")
	}
	return ag, nil
}

// checkCSR accepts the key types every TLS stack handles.
func checkCSR(csr *x509.CertificateRequest) error {
	if csr == nil {
		return fail(CodeInvalidRequest, "A certificate request (csr, PEM) is required.")
	}
	if err := csr.CheckSignature(); err != nil {
		return fail(CodeInvalidRequest, "The certificate request's signature is not valid.")
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fail(CodeInvalidRequest, "RSA keys must have at least 2048 bits.")
		}
	default:
		return fail(CodeInvalidRequest, "The certificate request's key type is not supported; use ECDSA, Ed25519 or RSA.")
	}
	return nil
}
