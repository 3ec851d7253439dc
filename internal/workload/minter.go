package workload

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
)

// UserAssignedIdentityType is the ARM type of user-assigned identities.
const UserAssignedIdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities"

// maxAudience bounds the resource parameter; real resource URIs are far
// shorter, and the value ends up in every token and log line.
const maxAudience = 1024

// Identity is a managed identity a resource may use.
type Identity struct {
	// Kind is store.PrincipalSystemAssigned or store.PrincipalUserAssigned.
	Kind     store.PrincipalKind
	ObjectID string
	ClientID string
	// ResourceID is the identity's resource: the owning resource for
	// system-assigned, the userAssignedIdentities resource for
	// user-assigned (what xms_mirid carries).
	ResourceID string
}

// UserAssigned reports whether the identity is a user-assigned one.
func (i Identity) UserAssigned() bool { return i.Kind == store.PrincipalUserAssigned }

// Proof is how a caller shows which resource it runs as: a launch grant's
// secret, an agent's certificate. Resource checks it inside the minting
// transaction, so a revocation committed before the request is always
// seen.
type Proof interface {
	Resource(ctx context.Context, tx store.Tx, now time.Time) (resourceID string, err error)
}

// ResourceProof is a caller the server already trusts to run as a resource
// (in-process callers and tests).
type ResourceProof string

// Resource returns the resource itself.
func (p ResourceProof) Resource(context.Context, store.Tx, time.Time) (string, error) {
	return string(p), nil
}

// Issued is a minted managed-identity token.
type Issued struct {
	AccessToken string
	Claims      token.Claims
	Identity    Identity
	// ResourceID is the resource that asked (the compute resource).
	ResourceID string
	Audience   string
	NotBefore  time.Time
	ExpiresOn  time.Time
	// RefreshIn is when a cache should fetch a newer token: half the
	// lifetime, as Entra advises for long-lived tokens.
	RefreshIn time.Duration
}

// Minter mints managed-identity tokens for the resources workloads run as.
type Minter struct {
	Store  store.Store
	Issuer *token.Issuer
	// Lifetime of the tokens; zero means the issuer's default (the
	// server's token lifetime, one hour unless configured).
	Lifetime time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

func (m *Minter) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Mint checks the proof, selects the identity the request names among those
// attached to the caller's resource now (one read transaction), and signs a
// token for audience.
func (m *Minter) Mint(ctx context.Context, proof Proof, sel Selector, audience string) (Issued, error) {
	if err := ValidateAudience(audience); err != nil {
		return Issued{}, err
	}
	var (
		resourceID string
		id         Identity
	)
	err := m.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if resourceID, err = proof.Resource(ctx, tx, m.now()); err != nil {
			return err
		}
		id, err = Resolve(ctx, tx, resourceID, sel)
		return err
	})
	if err != nil {
		return Issued{}, err
	}
	subj := token.Subject{
		Audience: audience, ObjectID: id.ObjectID, AppID: id.ClientID,
		ACR: token.ACRCertificate, MIResourceID: id.ResourceID, Lifetime: m.Lifetime,
	}
	if id.UserAssigned() {
		// xms_az_rid names the compute resource that used a user-assigned
		// identity (reference §4.2).
		subj.AzResourceID = resourceID
	}
	raw, claims, err := m.Issuer.Mint(subj)
	if err != nil {
		return Issued{}, err
	}
	life := time.Duration(claims.Expiry-claims.NotBefore) * time.Second
	return Issued{
		AccessToken: raw, Claims: claims, Identity: id, ResourceID: resourceID, Audience: audience,
		NotBefore: time.Unix(claims.NotBefore, 0), ExpiresOn: time.Unix(claims.Expiry, 0), RefreshIn: life / 2,
	}, nil
}

// ValidateAudience accepts any resource URI or app ID, as Entra's managed
// identity endpoint does for resources it knows; it refuses only what
// cannot be an audience.
func ValidateAudience(audience string) error {
	if audience == "" {
		return fail(CodeInvalidRequest, "The resource parameter is required: the audience of the token, e.g. https://management.azure.com/.")
	}
	if len(audience) > maxAudience || strings.IndexFunc(audience, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fail(CodeInvalidRequest, "The resource parameter is not a valid audience.")
	}
	return nil
}

// Resolve applies Azure's selection rules (reference §2.3.1) to the
// identities attached to resourceID: no selector selects system-assigned if
// enabled, else the only user-assigned identity; a selector must name the
// system-assigned identity or one attached user-assigned identity.
func Resolve(ctx context.Context, tx store.Tx, resourceID string, sel Selector) (Identity, error) {
	r, err := tx.GetResource(ctx, resourceID)
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, fail(CodeResourceNotFound, "The resource '%s' does not exist.", resourceID)
	}
	if err != nil {
		return Identity{}, err
	}
	var system *Identity
	if r.PrincipalID != "" && !strings.EqualFold(r.Type, UserAssignedIdentityType) {
		p, err := tx.GetPrincipal(ctx, r.PrincipalID)
		switch {
		case err == nil && p.Kind == store.PrincipalSystemAssigned:
			system = &Identity{Kind: p.Kind, ObjectID: p.ObjectID, ClientID: p.AppID, ResourceID: r.ID}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return Identity{}, err
		}
	}
	attached := r.UserAssignedIdentities
	notFound := func(what string) error {
		return fail(CodeIdentityNotFound, "Identity not found: %s is not assigned to the resource '%s'.", what, r.ID)
	}
	switch sel.Kind {
	case SelectDefault:
		switch {
		case system != nil:
			return *system, nil
		case len(attached) == 1:
			id, err := userAssigned(ctx, tx, attached[0])
			if errors.Is(err, ErrIdentityNotFound) {
				return Identity{}, notFound("no managed identity")
			}
			return id, err
		case len(attached) == 0:
			return Identity{}, notFound("no managed identity")
		}
		return Identity{}, fail(CodeAmbiguousIdentity,
			"The resource '%s' has %d user-assigned identities and no system-assigned identity; name one with client_id, object_id or msi_res_id.", r.ID, len(attached))
	case SelectClientID, SelectObjectID:
		if system != nil && (sel.Kind == SelectClientID && strings.EqualFold(system.ClientID, sel.Value) ||
			sel.Kind == SelectObjectID && strings.EqualFold(system.ObjectID, sel.Value)) {
			return *system, nil
		}
		// keyless writes GUIDs in lower case; clients may send any case.
		var p store.Principal
		if sel.Kind == SelectClientID {
			p, err = tx.GetPrincipalByAppID(ctx, strings.ToLower(sel.Value))
		} else {
			p, err = tx.GetPrincipal(ctx, strings.ToLower(sel.Value))
		}
		if errors.Is(err, store.ErrNotFound) || err == nil && (p.Kind != store.PrincipalUserAssigned || !containsFold(attached, p.ResourceID)) {
			return Identity{}, notFound("the identity with " + sel.Param() + " '" + sel.Value + "'")
		}
		if err != nil {
			return Identity{}, err
		}
		id, err := userAssigned(ctx, tx, p.ResourceID)
		if errors.Is(err, ErrIdentityNotFound) {
			return Identity{}, notFound("the identity with " + sel.Param() + " '" + sel.Value + "'")
		}
		return id, err
	case SelectResourceID:
		if !containsFold(attached, sel.Value) {
			return Identity{}, notFound("the user-assigned identity '" + sel.Value + "'")
		}
		id, err := userAssigned(ctx, tx, sel.Value)
		if errors.Is(err, ErrIdentityNotFound) {
			return Identity{}, notFound("the user-assigned identity '" + sel.Value + "'")
		}
		return id, err
	}
	return Identity{}, fail(CodeInvalidRequest, "Unknown identity selector.")
}

// userAssigned loads an attached user-assigned identity. An attachment
// whose identity or principal is gone selects nothing.
func userAssigned(ctx context.Context, tx store.Tx, identityID string) (Identity, error) {
	u, err := tx.GetResource(ctx, identityID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (u.PrincipalID == "" || !strings.EqualFold(u.Type, UserAssignedIdentityType)) {
		return Identity{}, ErrIdentityNotFound
	}
	if err != nil {
		return Identity{}, err
	}
	p, err := tx.GetPrincipal(ctx, u.PrincipalID)
	if errors.Is(err, store.ErrNotFound) || err == nil && p.Kind != store.PrincipalUserAssigned {
		return Identity{}, ErrIdentityNotFound
	}
	if err != nil {
		return Identity{}, err
	}
	return Identity{Kind: p.Kind, ObjectID: p.ObjectID, ClientID: p.AppID, ResourceID: token.LowerResourceGroups(u.ID)}, nil
}

func containsFold(ids []string, id string) bool {
	for _, x := range ids {
		if strings.EqualFold(x, id) {
			return true
		}
	}
	return false
}
