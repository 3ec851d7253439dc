package mgmtapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// A subscription sits directly under exactly one group: the tenant root
// group until it is moved (store.Subscription.ManagementGroupName "").

// groupAndSubscription reads the group of the path and the subscription.
func (h *handlers) groupAndSubscription(ctx context.Context, tx store.Tx, c *arm.Call) (store.ManagementGroup, store.Subscription, error) {
	name, err := h.groupParam(c)
	if err != nil {
		return store.ManagementGroup{}, store.Subscription{}, err
	}
	g, err := tx.GetManagementGroup(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return g, store.Subscription{}, groupNotFound(name)
	}
	if err != nil {
		return g, store.Subscription{}, err
	}
	id := c.Params["subscriptionId"]
	s, err := tx.GetSubscription(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return g, s, subscriptionNotFound(id)
	}
	return g, s, err
}

// parentOf is the name of the group a subscription is directly under.
func (h *handlers) parentOf(s store.Subscription) string {
	if s.ManagementGroupName == "" {
		return h.cfg.TenantID
	}
	return s.ManagementGroupName
}

func (h *handlers) getSubscription(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	ctx := r.Context()
	var out subscriptionWire
	err := h.cfg.Store.View(ctx, func(tx store.Tx) error {
		g, s, err := h.groupAndSubscription(ctx, tx, c)
		if err != nil {
			return err
		}
		if !strings.EqualFold(h.parentOf(s), g.Name) {
			return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "",
				"The subscription '%s' is not under the management group '%s'.", s.ID, g.Name)
		}
		out = h.subscriptionOf(s, g)
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// listSubscriptions lists the subscriptions directly under the group.
func (h *handlers) listSubscriptions(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name, err := h.groupParam(c)
	if err != nil {
		return err
	}
	ctx := r.Context()
	out := []subscriptionWire{}
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		g, err := tx.GetManagementGroup(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return groupNotFound(name)
		}
		if err != nil {
			return err
		}
		hy, err := h.readHierarchy(ctx, tx)
		if err != nil {
			return err
		}
		for _, s := range hy.subs[strings.ToLower(g.Name)] {
			out = append(out, h.subscriptionOf(s, g))
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// moveChecks are what a subscription's move needs beyond the route's check
// at the group it goes to: roleAssignments/write on the subscription (Owner,
// as Azure requires: the move changes whose assignments apply to it), and
// subscriptions/delete on the group it leaves, unless that is the tenant
// root group, which as in Azure needs no permission.
func (h *handlers) moveChecks(c *arm.Call, s store.Subscription) error {
	if err := require(c, actionRoleAssignmentsWrite, "/subscriptions/"+s.ID); err != nil {
		return err
	}
	if from := h.parentOf(s); !h.isRoot(from) {
		return require(c, ActionSubscriptionsDelete, authz.ManagementGroupScope(from))
	}
	return nil
}

// putSubscription moves a subscription under the group (200 with where it
// now is; the same again changes nothing).
func (h *handlers) putSubscription(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	ctx := r.Context()
	var out subscriptionWire
	_, err := h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		g, s, err := h.groupAndSubscription(ctx, tx, c)
		if err != nil {
			return err
		}
		if !strings.EqualFold(h.parentOf(s), g.Name) {
			if err := h.moveChecks(c, s); err != nil {
				return err
			}
			target := g.Name
			if h.isRoot(target) {
				target = ""
			}
			err = tx.UpdateSubscription(ctx, s.ID, func(cur store.Subscription) (store.Subscription, error) {
				cur.ManagementGroupName = target
				return cur, nil
			})
			if err != nil {
				return err
			}
		}
		out = h.subscriptionOf(s, g)
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteSubscription moves a subscription out of the group, back under the
// tenant root group (200), or answers 204 when it is not under the group.
func (h *handlers) deleteSubscription(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	ctx := r.Context()
	moved := false
	_, err := h.cfg.Store.Update(ctx, func(tx store.Tx) error {
		moved = false
		g, s, err := h.groupAndSubscription(ctx, tx, c)
		if err != nil {
			return err
		}
		if h.isRoot(g.Name) || !strings.EqualFold(h.parentOf(s), g.Name) {
			return nil
		}
		// The route checked subscriptions/delete on the group it leaves.
		if err := require(c, actionRoleAssignmentsWrite, "/subscriptions/"+s.ID); err != nil {
			return err
		}
		moved = true
		return tx.UpdateSubscription(ctx, s.ID, func(cur store.Subscription) (store.Subscription, error) {
			cur.ManagementGroupName = ""
			return cur, nil
		})
	})
	if err != nil {
		return err
	}
	arm.WriteDeleted(w, moved)
	return nil
}
