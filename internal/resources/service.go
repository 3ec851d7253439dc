package resources

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/store"
)

// DefaultFederatedCredentialLimit is Azure's limit of federated identity
// credentials per user-assigned identity (reference §8.3, §12.3).
const DefaultFederatedCredentialLimit = 20

// UserAssignedIdentityType is the resource type of a user-assigned identity.
const UserAssignedIdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities"

// Config configures a Service.
type Config struct {
	Store store.Store
	// TenantID is the installation's tenant, reported as identity tenantId.
	TenantID string
	// FederatedCredentialLimit caps federated identity credentials per
	// user-assigned identity; 0 means unlimited. Wiring passes
	// DefaultFederatedCredentialLimit unless the operator chose otherwise.
	FederatedCredentialLimit int
	// Principal, when set, looks a principal up in an in-memory index.
	// Views use it before the store: a principal's object and client IDs
	// never change once created, so the index answers what a store read
	// would, without one read per listed item. A miss falls back to the
	// store.
	Principal func(objectID string) (store.Principal, bool)
	// Hooks are the data planes' hooks by resource type (hooks.go).
	Hooks map[string]TypeHook
	// Now and NewGUID replace the clock and the GUID source in tests.
	Now     func() time.Time
	NewGUID func() string
}

// Service applies the resource model's rules on top of the store.
type Service struct {
	store     store.Store
	tenantID  string
	ficLimit  int
	now       func() time.Time
	newGUID   func() string
	principal func(objectID string) (store.Principal, bool)
	hooks     map[string]TypeHook
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{
		store:     cfg.Store,
		tenantID:  cfg.TenantID,
		ficLimit:  cfg.FederatedCredentialLimit,
		now:       cfg.Now,
		newGUID:   cfg.NewGUID,
		principal: cfg.Principal,
		hooks:     map[string]TypeHook{},
	}
	for typ, h := range cfg.Hooks {
		s.hooks[hookKey(typ)] = h
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newGUID == nil {
		s.newGUID = func() string { return uuid.NewString() }
	}
	return s
}

// TenantID is the tenant reported in identity blocks.
func (s *Service) TenantID() string { return s.tenantID }

func (s *Service) timestamp() time.Time { return s.now().UTC() }

// newPrincipal creates the service principal backing a managed identity.
// Each call makes fresh object and application IDs: a system-assigned
// identity turned off and on again is a new principal that inherits nothing
// (reference §9.2).
func (s *Service) newPrincipal(ctx context.Context, tx store.Tx, kind store.PrincipalKind, resourceID, displayName string) (store.Principal, error) {
	p := store.Principal{
		ObjectID:    s.newGUID(),
		AppID:       s.newGUID(),
		DisplayName: displayName,
		Kind:        kind,
		ResourceID:  resourceID,
		CreatedAt:   s.timestamp(),
	}
	return p, tx.CreatePrincipal(ctx, p)
}

// deletePrincipal deletes a managed identity's principal and every role
// assignment it holds. Assignments are deleted one by one first so each
// appears in the change feed (store.Tx.DeletePrincipal contract).
func deletePrincipal(ctx context.Context, tx store.Tx, objectID string) error {
	assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{PrincipalID: objectID})
	if err != nil {
		return err
	}
	for _, a := range assignments {
		if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := tx.DeletePrincipal(ctx, objectID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// deleteAssignmentsUnder deletes the role assignments at scope or below it.
func deleteAssignmentsUnder(ctx context.Context, tx store.Tx, scope string) error {
	assignments, err := tx.ListRoleAssignments(ctx, store.RoleAssignmentFilter{ScopePrefix: scope})
	if err != nil {
		return err
	}
	for _, a := range assignments {
		if err := tx.DeleteRoleAssignment(ctx, a.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// purgeResource deletes one resource and everything that exists only
// because of it: its own principal (system-assigned, or the principal of a
// user-assigned identity) with that principal's role assignments, the role
// assignments scoped at or under it, and, for a user-assigned identity, its
// federated credentials and its attachments to other resources. Child
// resources are the caller's to purge.
func (s *Service) purgeResource(ctx context.Context, tx store.Tx, r store.Resource, actor string) error {
	if isUserAssignedIdentityType(r.Type) {
		holders, err := tx.ListResources(ctx, store.ResourceFilter{AttachedIdentity: r.ID})
		if err != nil {
			return err
		}
		for _, h := range holders {
			h.UserAssignedIdentities = withoutID(h.UserAssignedIdentities, r.ID)
			h.UpdatedAt = s.timestamp()
			h.UpdatedBy = actor
			if _, err := tx.PutResource(ctx, h); err != nil {
				return err
			}
		}
		creds, err := tx.ListFederatedCredentials(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if err := tx.DeleteFederatedCredential(ctx, r.ID, c.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	if r.PrincipalID != "" {
		if err := deletePrincipal(ctx, tx, r.PrincipalID); err != nil {
			return err
		}
	}
	if err := deleteAssignmentsUnder(ctx, tx, r.ID); err != nil {
		return err
	}
	if !isUserAssignedIdentityType(r.Type) {
		// Agents enrolled as this resource: their certificates name a
		// resource that no longer exists.
		agents, err := tx.ListAgents(ctx)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if strings.EqualFold(a.ResourceID, r.ID) {
				if err := tx.DeleteAgent(ctx, a.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
	}
	if err := s.deleteHook(ctx, tx, r); err != nil {
		return err
	}
	if err := tx.DeleteResource(ctx, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// purgeResourceTree purges a resource and all its descendants.
func (s *Service) purgeResourceTree(ctx context.Context, tx store.Tx, r store.Resource, actor string) error {
	children, err := tx.ListResources(ctx, store.ResourceFilter{ParentID: r.ID})
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := s.purgeResource(ctx, tx, c, actor); err != nil {
			return err
		}
	}
	return s.purgeResource(ctx, tx, r, actor)
}

func isUserAssignedIdentityType(t string) bool {
	return strings.EqualFold(t, UserAssignedIdentityType)
}

// withoutID returns ids without id (compared case-insensitively).
func withoutID(ids []string, id string) []string {
	out := make([]string, 0, len(ids))
	for _, x := range ids {
		if !strings.EqualFold(x, id) {
			out = append(out, x)
		}
	}
	return out
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if strings.EqualFold(x, id) {
			return true
		}
	}
	return false
}

// NormalizeLocation folds a location the way ARM does ("West US" and
// "westus" are the same region, reported as "westus").
func NormalizeLocation(loc string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(loc), " ", ""))
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
