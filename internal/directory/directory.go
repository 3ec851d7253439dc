// Package directory owns the principals of the tenant (service principals
// with their secrets and certificates, managed-identity principals, groups)
// and answers "who is this client?" for the token service.
//
// Lookups are served from an in-memory index kept current from the change
// feed, so a token grant reads no store row; a deleted principal or
// credential disappears from the index as soon as the feed delivers it,
// and the handler that deleted it waits for that before answering.
package directory

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/pki"
	"github.com/keyless-io/keyless/internal/store"
)

// Authentication failures, each of which the token service reports with
// its own AADSTS code.
var (
	ErrUnknownClient  = errors.New("directory: application not found in the directory")
	ErrInvalidSecret  = errors.New("directory: invalid client secret")
	ErrSecretExpired  = errors.New("directory: client secret expired")
	ErrNoSecret       = errors.New("directory: client has no secret credential")
	ErrUnknownCert    = errors.New("directory: certificate is not registered for the client")
	ErrCertExpired    = errors.New("directory: certificate credential expired or not yet valid")
	ErrNotPrincipal   = errors.New("directory: principal cannot use this credential type")
	ErrInvalidRequest = errors.New("directory: invalid request")
)

// Entry is one principal with its credentials.
type Entry struct {
	Principal   store.Principal
	Credentials []store.Credential
}

// Directory is the in-memory index of principals.
type Directory struct {
	st store.Store
	kr *keyring.Keyring

	mu sync.RWMutex
	ix *index
	// apps are application registrations by lower-case app ID, and
	// appIDs their app IDs by lower-case object ID: an application's
	// credentials sign its service principal in.
	apps   map[string]*store.Application
	appIDs map[string]string

	loading atomic.Int64 // principals read by the load in progress
}

// Loading is how many principals the load in progress (or the last one)
// has read: start-up progress for the logs.
func (d *Directory) Loading() int64 { return d.loading.Load() }

// Load builds the index from the store.
func Load(ctx context.Context, st store.Store, kr *keyring.Keyring) (*Directory, error) {
	d := New(st, kr)
	if err := d.Reload(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// New returns an empty directory over the store; Reload fills it.
func New(st store.Store, kr *keyring.Keyring) *Directory {
	d := empty()
	d.st, d.kr = st, kr
	return d
}

// empty is a directory holding nothing, over no store: New's, and what
// a load builds before install swaps its contents in.
func empty() *Directory {
	return &Directory{ix: newIndex(), apps: map[string]*store.Application{}, appIDs: map[string]string{}}
}

// Reload rebuilds the index from the store and swaps it in at once, so
// lookups never see a half-built directory.
func (d *Directory) Reload(ctx context.Context) error {
	fresh := empty()
	fresh.ix.building = true
	d.loading.Store(0)
	err := d.st.View(ctx, func(tx store.Tx) error {
		// Streamed: a million managed identities are not held twice.
		var sps []*entry
		if err := tx.EachPrincipal(ctx, func(p store.Principal) error {
			e := fresh.ix.put(p, nil)
			if p.Kind == store.PrincipalServicePrincipal {
				sps = append(sps, e)
			}
			if n := d.loading.Add(1); n%(1<<16) == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}); err != nil {
			return err
		}
		return fresh.readAppsAndCredentials(ctx, tx, sps)
	})
	if err != nil {
		return fmt.Errorf("directory: load: %w", err)
	}
	d.install(fresh)
	return nil
}

// readAppsAndCredentials reads the application registrations and the
// credentials of the service principals sps into a directory being built.
func (fresh *Directory) readAppsAndCredentials(ctx context.Context, tx store.Tx, sps []*entry) error {
	apps, err := tx.ListApplications(ctx)
	if err != nil {
		return err
	}
	for i := range apps {
		fresh.putApp(&apps[i])
	}
	for _, e := range sps {
		// A principal deleted since sps were read (from a snapshot) has
		// none; the change feed removes it.
		if e.creds, err = tx.ListCredentials(ctx, e.objectID()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// install swaps a directory built aside in at once, so lookups never see
// a half-built one.
func (d *Directory) install(fresh *Directory) {
	fresh.ix.built()
	d.mu.Lock()
	d.ix = fresh.ix
	d.apps, d.appIDs = fresh.apps, fresh.appIDs
	d.mu.Unlock()
}

func (d *Directory) putApp(a *store.Application) {
	d.apps[strings.ToLower(a.AppID)] = a
	d.appIDs[strings.ToLower(a.ObjectID)] = strings.ToLower(a.AppID)
}

func (d *Directory) removeApp(objectID string) {
	if appID, ok := d.appIDs[strings.ToLower(objectID)]; ok {
		delete(d.apps, appID)
	}
	delete(d.appIDs, strings.ToLower(objectID))
}

// Apply re-reads every principal the changes touch.
func (d *Directory) Apply(ctx context.Context, changes []store.Change) error {
	touched, apps := map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		switch c.Kind {
		case store.KindApplication:
			apps[c.Key] = true
		case store.KindPrincipal:
			touched[c.Key] = true
		case store.KindCredential:
			// The key is "principalID/credentialID".
			principalID, _, _ := strings.Cut(c.Key, "/")
			touched[principalID] = true
		}
	}
	if len(touched) == 0 && len(apps) == 0 {
		return nil
	}
	entries := map[string]*Entry{}
	appEntries := map[string]*store.Application{}
	err := d.st.View(ctx, func(tx store.Tx) error {
		for id := range apps {
			a, err := tx.GetApplication(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				appEntries[id] = nil
				continue
			}
			if err != nil {
				return err
			}
			appEntries[id] = &a
		}
		for id := range touched {
			p, err := tx.GetPrincipal(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				entries[id] = nil
				continue
			}
			if err != nil {
				return err
			}
			e := &Entry{Principal: p}
			if p.Kind == store.PrincipalServicePrincipal {
				if e.Credentials, err = tx.ListCredentials(ctx, p.ObjectID); err != nil {
					return err
				}
			}
			entries[id] = e
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, e := range entries {
		d.ix.remove(id)
		if e != nil {
			d.ix.put(e.Principal, e.Credentials)
		}
	}
	for id, a := range appEntries {
		d.removeApp(id)
		if a != nil {
			d.putApp(a)
		}
	}
	return nil
}

// Application finds an application registration by application ID.
func (d *Directory) Application(appID string) (store.Application, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a := d.apps[strings.ToLower(appID)]
	if a == nil {
		return store.Application{}, false
	}
	return *a, true
}

// signInCredentials are the credentials a client may authenticate with:
// its service principal's own and, as in Entra, those of its application.
func (d *Directory) signInCredentials(e Entry) []store.Credential {
	a, ok := d.Application(e.Principal.AppID)
	if !ok || len(a.Credentials) == 0 {
		return e.Credentials
	}
	return append(append([]store.Credential(nil), e.Credentials...), a.Credentials...)
}

// ByAppID finds a principal by application (client) ID.
func (d *Directory) ByAppID(appID string) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.ix.app(appID)
	if e == nil {
		return Entry{}, false
	}
	return e.entry(), true
}

// ByObjectID finds a principal by object ID.
func (d *Directory) ByObjectID(objectID string) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.ix.object(objectID)
	if e == nil {
		return Entry{}, false
	}
	return e.entry(), true
}

// Principals copies every principal, in no defined order, with the
// credentials of each service principal by object ID: the tenant's
// identities for a review or an inventory, read from memory (at 100,000
// identities the store read alone takes longer than the whole review may).
// The credentials are the index's own slices, which it replaces and never
// changes in place; callers must not change them either.
func (d *Directory) Principals() ([]store.Principal, map[string][]store.Credential) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ps := make([]store.Principal, 0, d.ix.len())
	creds := map[string][]store.Credential{}
	d.ix.each(func(e *entry) {
		p := e.principal()
		ps = append(ps, p)
		if p.Kind == store.PrincipalServicePrincipal {
			creds[p.ObjectID] = e.creds
		}
	})
	return ps, creds
}

// AuthenticateSecret checks a client secret in constant time against each
// of the client's secrets.
func (d *Directory) AuthenticateSecret(appID, secret string, now time.Time) (store.Principal, error) {
	e, ok := d.ByAppID(appID)
	if !ok {
		return store.Principal{}, ErrUnknownClient
	}
	if e.Principal.Kind != store.PrincipalServicePrincipal {
		return store.Principal{}, ErrNotPrincipal
	}
	var sawSecret, expired bool
	for _, c := range d.signInCredentials(e) {
		if c.Kind != store.CredentialSecret {
			continue
		}
		sawSecret = true
		if !d.kr.VerifySecret(c.SecretHash, secret) {
			continue
		}
		if !c.NotAfter.IsZero() && now.After(c.NotAfter) {
			expired = true
			continue
		}
		return e.Principal, nil
	}
	switch {
	case expired:
		return store.Principal{}, ErrSecretExpired
	case !sawSecret:
		return store.Principal{}, ErrNoSecret
	}
	return store.Principal{}, ErrInvalidSecret
}

// Certificate finds the client's certificate credential whose SHA-1 or
// SHA-256 thumbprint matches (either may be nil).
func (d *Directory) Certificate(appID string, sha1sum, sha256sum []byte, now time.Time) (store.Principal, *x509.Certificate, error) {
	e, ok := d.ByAppID(appID)
	if !ok {
		return store.Principal{}, nil, ErrUnknownClient
	}
	if e.Principal.Kind != store.PrincipalServicePrincipal {
		return store.Principal{}, nil, ErrNotPrincipal
	}
	for _, c := range d.signInCredentials(e) {
		if c.Kind != store.CredentialCertificate {
			continue
		}
		if (sha1sum != nil && bytes.Equal(sha1sum, c.ThumbprintSHA1)) || (sha256sum != nil && bytes.Equal(sha256sum, c.ThumbprintSHA256)) {
			if now.Before(c.NotBefore) || (!c.NotAfter.IsZero() && now.After(c.NotAfter)) {
				return store.Principal{}, nil, ErrCertExpired
			}
			cert, err := x509.ParseCertificate(c.CertificateDER)
			if err != nil {
				return store.Principal{}, nil, fmt.Errorf("directory: stored certificate: %w", err)
			}
			return e.Principal, cert, nil
		}
	}
	return store.Principal{}, nil, ErrUnknownCert
}

// NewServicePrincipal describes a service principal to create.
type NewServicePrincipal struct {
	DisplayName string
	// Certificates are public certificates the principal may authenticate
	// with. With none, a secret is generated.
	Certificates []*x509.Certificate
	// SecretLifetime bounds a generated secret (0 = two years).
	SecretLifetime time.Duration
	CreatedBy      string
}

// Created is what creating a service principal returns; Secret is shown
// once and never stored.
type Created struct {
	Principal store.Principal
	Secret    string
	Revision  int64
}

// SecretPrefix marks keyless client secrets so secret scanners can find
// them in places they should not be.
const SecretPrefix = "kls~"

// CreateServicePrincipal creates an application principal with a generated
// secret or the given certificates, in one transaction.
func CreateServicePrincipal(ctx context.Context, st store.Store, kr *keyring.Keyring, req NewServicePrincipal) (Created, error) {
	if strings.TrimSpace(req.DisplayName) == "" || len(req.DisplayName) > 256 {
		return Created{}, fmt.Errorf("%w: display name must be 1 to 256 characters", ErrInvalidRequest)
	}
	now := time.Now().UTC()
	p := store.Principal{
		ObjectID:    uuid.NewString(),
		AppID:       uuid.NewString(),
		DisplayName: req.DisplayName,
		Kind:        store.PrincipalServicePrincipal,
		CreatedAt:   now,
	}
	var creds []store.Credential
	var secret string
	if len(req.Certificates) == 0 {
		life := req.SecretLifetime
		if life <= 0 {
			life = 2 * 365 * 24 * time.Hour
		}
		secret = keyring.NewSecret(SecretPrefix)
		creds = append(creds, SecretCredential(kr, p.ObjectID, secret, now, now.Add(life)))
	}
	for _, c := range req.Certificates {
		creds = append(creds, CertificateCredential(p.ObjectID, c, now))
	}
	rev, err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		for _, c := range creds {
			if err := tx.CreateCredential(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Created{}, fmt.Errorf("directory: create service principal: %w", err)
	}
	return Created{Principal: p, Secret: secret, Revision: rev}, nil
}

// SecretCredential builds the credential row for a generated secret: only
// its keyed hash and a short hint are kept. A zero notAfter never expires.
func SecretCredential(kr *keyring.Keyring, principalID, secret string, now, notAfter time.Time) store.Credential {
	return store.Credential{
		ID: uuid.NewString(), PrincipalID: principalID, Kind: store.CredentialSecret,
		SecretHash: kr.HashSecret(secret), Hint: secret[:len(SecretPrefix)+3],
		NotBefore: now, NotAfter: notAfter, CreatedAt: now,
	}
}

// CertificateCredential builds the credential row for a public certificate.
func CertificateCredential(principalID string, c *x509.Certificate, now time.Time) store.Credential {
	s1, s256 := pki.Thumbprints(c.Raw)
	return store.Credential{
		ID: uuid.NewString(), PrincipalID: principalID, Kind: store.CredentialCertificate,
		CertificateDER: c.Raw, ThumbprintSHA1: s1, ThumbprintSHA256: s256,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, CreatedAt: now,
	}
}

// AddSecret generates a new secret for an existing service principal.
func AddSecret(ctx context.Context, st store.Store, kr *keyring.Keyring, objectID string, lifetime time.Duration) (string, int64, error) {
	now := time.Now().UTC()
	if lifetime <= 0 {
		lifetime = 2 * 365 * 24 * time.Hour
	}
	secret := keyring.NewSecret(SecretPrefix)
	rev, err := st.Update(ctx, func(tx store.Tx) error {
		p, err := tx.GetPrincipal(ctx, objectID)
		if err != nil {
			return err
		}
		if p.Kind != store.PrincipalServicePrincipal {
			return ErrNotPrincipal
		}
		return tx.CreateCredential(ctx, SecretCredential(kr, p.ObjectID, secret, now, now.Add(lifetime)))
	})
	if err != nil {
		return "", 0, err
	}
	return secret, rev, nil
}

// DeletePrincipal deletes a principal and every role assignment it holds in
// one transaction, so no assignment outlives its principal.
func DeletePrincipal(ctx context.Context, tx store.Tx, objectID string) error {
	assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{PrincipalID: objectID})
	if err != nil {
		return err
	}
	for _, a := range assignments {
		if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil {
			return err
		}
	}
	groups, err := tx.ListGroupsOf(ctx, objectID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := tx.RemoveGroupMember(ctx, g, objectID); err != nil {
			return err
		}
	}
	return tx.DeletePrincipal(ctx, objectID)
}
