package resources

import (
	"context"
	"sort"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// GetSubscription returns one subscription.
func (s *Service) GetSubscription(ctx context.Context, id string) (store.Subscription, error) {
	var sub store.Subscription
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		sub, err = tx.GetSubscription(ctx, id)
		if isNotFound(err) {
			return subscriptionNotFound(id)
		}
		return err
	})
	return sub, err
}

// ListSubscriptions returns every subscription, ordered by ID.
func (s *Service) ListSubscriptions(ctx context.Context) ([]store.Subscription, error) {
	var subs []store.Subscription
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		subs, err = tx.ListSubscriptions(ctx)
		return err
	})
	sort.Slice(subs, func(i, j int) bool { return strings.ToLower(subs[i].ID) < strings.ToLower(subs[j].ID) })
	return subs, err
}

// ResourceGroupSpec is the desired state of a resource group (PUT).
type ResourceGroupSpec struct {
	SubscriptionID string
	Name           string
	Location       string
	Tags           map[string]string
	ManagedBy      string
}

// ResourceGroupPatch changes some fields of a resource group; nil fields are
// left as they are.
type ResourceGroupPatch struct {
	Tags      map[string]string
	ManagedBy *string
}

// PutResourceGroup creates or replaces a resource group. The location cannot
// change once the group exists (ARM answers 409 InvalidResourceGroupLocation).
func (s *Service) PutResourceGroup(ctx context.Context, spec ResourceGroupSpec) (store.ResourceGroup, bool, error) {
	if err := ValidateResourceGroupName(spec.Name); err != nil {
		return store.ResourceGroup{}, false, err
	}
	loc := NormalizeLocation(spec.Location)
	if loc == "" {
		return store.ResourceGroup{}, false, invalid(CodeLocationRequired, "location", "The location property is required for this definition.")
	}
	if err := validateTags(spec.Tags); err != nil {
		return store.ResourceGroup{}, false, err
	}
	var (
		out     store.ResourceGroup
		created bool
	)
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubscription(ctx, spec.SubscriptionID); err != nil {
			if isNotFound(err) {
				return subscriptionNotFound(spec.SubscriptionID)
			}
			return err
		}
		now := s.timestamp()
		g := store.ResourceGroup{
			SubscriptionID: spec.SubscriptionID,
			Name:           spec.Name,
			Location:       loc,
			Tags:           nonNilTags(spec.Tags),
			ManagedBy:      spec.ManagedBy,
			CreatedAt:      now,
			UpdatedAt:      now,
		}
		old, err := tx.GetResourceGroup(ctx, spec.SubscriptionID, spec.Name)
		switch {
		case err == nil:
			if old.Location != loc {
				return &ConflictError{Code: CodeInvalidResourceGroupLoc, Message: "Invalid resource group location '" + loc +
					"'. The Resource group already exists in location '" + old.Location + "'."}
			}
			g.Name = old.Name
			g.CreatedAt = old.CreatedAt
		case !isNotFound(err):
			return err
		}
		created, err = tx.PutResourceGroup(ctx, g)
		if err != nil {
			return err
		}
		out = g
		return nil
	})
	return out, created, err
}

// PatchResourceGroup updates the tags and/or managedBy of a group.
func (s *Service) PatchResourceGroup(ctx context.Context, subscriptionID, name string, patch ResourceGroupPatch) (store.ResourceGroup, error) {
	if err := validateTags(patch.Tags); err != nil {
		return store.ResourceGroup{}, err
	}
	var out store.ResourceGroup
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		g, err := tx.GetResourceGroup(ctx, subscriptionID, name)
		if isNotFound(err) {
			return resourceGroupNotFound(name)
		}
		if err != nil {
			return err
		}
		if patch.Tags != nil {
			g.Tags = nonNilTags(patch.Tags)
		}
		if patch.ManagedBy != nil {
			g.ManagedBy = *patch.ManagedBy
		}
		g.UpdatedAt = s.timestamp()
		if _, err := tx.PutResourceGroup(ctx, g); err != nil {
			return err
		}
		out = g
		return nil
	})
	return out, err
}

// GetResourceGroup returns one resource group.
func (s *Service) GetResourceGroup(ctx context.Context, subscriptionID, name string) (store.ResourceGroup, error) {
	var g store.ResourceGroup
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = tx.GetResourceGroup(ctx, subscriptionID, name)
		if isNotFound(err) {
			return resourceGroupNotFound(name)
		}
		return err
	})
	return g, err
}

// ListResourceGroups returns the groups of a subscription ordered by
// lower-case name (the paging order).
func (s *Service) ListResourceGroups(ctx context.Context, subscriptionID string) ([]store.ResourceGroup, error) {
	var groups []store.ResourceGroup
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubscription(ctx, subscriptionID); err != nil {
			if isNotFound(err) {
				return subscriptionNotFound(subscriptionID)
			}
			return err
		}
		var err error
		groups, err = tx.ListResourceGroups(ctx, subscriptionID)
		return err
	})
	sort.Slice(groups, func(i, j int) bool { return strings.ToLower(groups[i].Name) < strings.ToLower(groups[j].Name) })
	return groups, err
}

// DeleteResourceGroup deletes a group with everything in it, in one
// transaction: every resource (with the lifecycle of each: system-assigned
// principals and their assignments, user-assigned identities detached from
// holders anywhere, their credentials and principals), and every role
// assignment scoped at or under the group.
func (s *Service) DeleteResourceGroup(ctx context.Context, actor, subscriptionID, name string) error {
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		g, err := tx.GetResourceGroup(ctx, subscriptionID, name)
		if isNotFound(err) {
			return resourceGroupNotFound(name)
		}
		if err != nil {
			return err
		}
		members, err := tx.ListResources(ctx, store.ResourceFilter{SubscriptionID: subscriptionID, ResourceGroup: g.Name})
		if err != nil {
			return err
		}
		for _, r := range members {
			if err := s.purgeResource(ctx, tx, r, actor); err != nil {
				return err
			}
		}
		if err := deleteAssignmentsUnder(ctx, tx, ResourceGroupID(subscriptionID, g.Name)); err != nil {
			return err
		}
		return tx.DeleteResourceGroup(ctx, subscriptionID, g.Name)
	})
	return err
}

// ResourceGroupID is the ARM ID of a resource group, with the
// "resourceGroups" casing ARM uses in resource group responses.
func ResourceGroupID(subscriptionID, name string) string {
	return "/subscriptions/" + subscriptionID + "/resourceGroups/" + name
}

func nonNilTags(tags map[string]string) map[string]string {
	if tags == nil {
		return map[string]string{}
	}
	return tags
}

// ResourceTypes lists the distinct resource types stored in a subscription
// (for the providers endpoints).
func (s *Service) ResourceTypes(ctx context.Context, subscriptionID string) ([]string, error) {
	var types []string
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubscription(ctx, subscriptionID); err != nil {
			if isNotFound(err) {
				return subscriptionNotFound(subscriptionID)
			}
			return err
		}
		all, err := tx.ListResources(ctx, store.ResourceFilter{SubscriptionID: subscriptionID})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range all {
			if k := strings.ToLower(r.Type); !seen[k] {
				seen[k] = true
				types = append(types, r.Type)
			}
		}
		return nil
	})
	sort.Strings(types)
	return types, err
}
