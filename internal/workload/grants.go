package workload

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
)

// Launch grant lifetimes. A grant lives as long as one `keyless run`; the
// launcher asks for a new one before its grant expires.
const (
	DefaultGrantTTL = 12 * time.Hour
	MaxGrantTTL     = 7 * 24 * time.Hour
	minTTL          = time.Minute
)

// GrantSecretPrefix marks launch-grant secrets for secret scanners.
const GrantSecretPrefix = "klg_"

// Grants creates, checks and revokes the launch grants of `keyless run`.
type Grants struct {
	Store   store.Store
	Keyring *keyring.Keyring
	Now     func() time.Time
}

// NewGrant is a created grant; Secret is shown once and never stored.
type NewGrant struct {
	ID         string
	Secret     string
	ResourceID string
	ExpiresOn  time.Time
}

func (g *Grants) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Create makes a grant for resourceID, which must exist. Authorizing the
// actor (write on the resource) is the caller's, before calling.
func (g *Grants) Create(ctx context.Context, actor, resourceID string, ttl time.Duration) (NewGrant, int64, error) {
	ttl, err := clampTTL(ttl, DefaultGrantTTL, MaxGrantTTL)
	if err != nil {
		return NewGrant{}, 0, err
	}
	now := g.now().UTC()
	ng := NewGrant{ID: uuid.NewString(), Secret: keyring.NewSecret(GrantSecretPrefix), ExpiresOn: now.Add(ttl).Truncate(time.Second)}
	rev, err := g.Store.Update(ctx, func(tx store.Tx) error {
		r, err := existing(ctx, tx, resourceID)
		if err != nil {
			return err
		}
		ng.ResourceID = r.ID
		return tx.CreateLaunchGrant(ctx, store.LaunchGrant{
			ID: ng.ID, ResourceID: r.ID, SecretHash: g.Keyring.HashSecret(ng.Secret),
			ExpiresAt: ng.ExpiresOn, CreatedAt: now, CreatedBy: actor,
		})
	})
	if err != nil {
		return NewGrant{}, 0, err
	}
	return ng, rev, nil
}

// Authenticate checks a grant's secret and expiry and returns the grant.
func (g *Grants) Authenticate(ctx context.Context, id, secret string) (store.LaunchGrant, error) {
	var lg store.LaunchGrant
	err := g.Store.View(ctx, func(tx store.Tx) error {
		var err error
		lg, err = GrantProof{Keyring: g.Keyring, GrantID: id, Secret: secret}.check(ctx, tx, g.now())
		return err
	})
	return lg, err
}

// Revoke deletes a grant; the next token request made with it fails.
func (g *Grants) Revoke(ctx context.Context, id string) (int64, error) {
	rev, err := g.Store.Update(ctx, func(tx store.Tx) error { return tx.DeleteLaunchGrant(ctx, id) })
	if errors.Is(err, store.ErrNotFound) {
		return 0, fail(CodeUnauthenticated, "The launch grant is unknown or was already revoked.")
	}
	return rev, err
}

// GrantProof is a launcher's grant ID and secret.
type GrantProof struct {
	Keyring *keyring.Keyring
	GrantID string
	Secret  string
}

// Resource checks the grant and returns its resource.
func (p GrantProof) Resource(ctx context.Context, tx store.Tx, now time.Time) (string, error) {
	g, err := p.check(ctx, tx, now)
	return g.ResourceID, err
}

func (p GrantProof) check(ctx context.Context, tx store.Tx, now time.Time) (store.LaunchGrant, error) {
	g, err := tx.GetLaunchGrant(ctx, p.GrantID)
	if errors.Is(err, store.ErrNotFound) {
		return store.LaunchGrant{}, fail(CodeUnauthenticated, "The launch grant is unknown or was revoked.")
	}
	if err != nil {
		return store.LaunchGrant{}, err
	}
	if !p.Keyring.VerifySecret(g.SecretHash, p.Secret) {
		return store.LaunchGrant{}, fail(CodeUnauthenticated, "The launch grant secret is not valid.")
	}
	if !now.Before(g.ExpiresAt) {
		return store.LaunchGrant{}, fail(CodeUnauthenticated, "The launch grant expired at %s.", g.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return g, nil
}

// existing returns the resource or a ResourceNotFound error.
func existing(ctx context.Context, tx store.Tx, resourceID string) (store.Resource, error) {
	r, err := tx.GetResource(ctx, resourceID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Resource{}, fail(CodeResourceNotFound, "The resource '%s' does not exist.", resourceID)
	}
	return r, err
}

func clampTTL(ttl, def, max time.Duration) (time.Duration, error) {
	switch {
	case ttl == 0:
		return def, nil
	case ttl < minTTL || ttl > max:
		return 0, fail(CodeInvalidRequest, "The lifetime must be between %s and %s.", minTTL, max)
	}
	return ttl, nil
}
