package arm

import (
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

const actionSubscriptionRead = "Microsoft.Resources/subscriptions/read"

// subscriptionWire is armsubscriptions.Subscription.
type subscriptionWire struct {
	ID                   string               `json:"id"`
	AuthorizationSource  string               `json:"authorizationSource"`
	ManagedByTenants     []any                `json:"managedByTenants"`
	SubscriptionID       string               `json:"subscriptionId"`
	TenantID             string               `json:"tenantId"`
	DisplayName          string               `json:"displayName"`
	State                string               `json:"state"`
	SubscriptionPolicies subscriptionPolicies `json:"subscriptionPolicies"`
}

type subscriptionPolicies struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

func (s *Server) subscriptionWire(sub store.Subscription) subscriptionWire {
	state := sub.State
	if state == "" {
		state = "Enabled"
	}
	return subscriptionWire{
		ID:                  "/subscriptions/" + sub.ID,
		AuthorizationSource: "RoleBased",
		ManagedByTenants:    []any{},
		SubscriptionID:      sub.ID,
		TenantID:            s.tenantID,
		DisplayName:         sub.DisplayName,
		State:               state,
		SubscriptionPolicies: subscriptionPolicies{
			LocationPlacementID: "Public_2014-09-01",
			QuotaID:             "keyless",
			SpendingLimit:       "Off",
		},
	}
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request, c *Call) error {
	sub, err := s.resources.GetSubscription(r.Context(), c.Params["subscriptionId"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.subscriptionWire(sub))
	return nil
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, c *Call) error {
	size, cursor, err := c.page(r)
	if err != nil {
		return err
	}
	subs, err := s.resources.ListSubscriptions(r.Context())
	if err != nil {
		return err
	}
	visible := subs[:0]
	for _, sub := range subs {
		if c.Allowed(actionSubscriptionRead, "/subscriptions/"+sub.ID) {
			visible = append(visible, sub)
		}
	}
	items, next := pageSlice(visible, func(sub store.Subscription) string { return strings.ToLower(sub.ID) }, cursor, size)
	out := page[subscriptionWire]{Value: []subscriptionWire{}, NextLink: c.nextLink(r, next)}
	for _, sub := range items {
		out.Value = append(out.Value, s.subscriptionWire(sub))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}
