// Package governanceapi serves keyless's governance reads on the ARM front
// door: the access review (findings with their fixes) and the identity
// inventory, at any scope, to whoever may read that scope. It decodes,
// calls internal/review and internal/inventory, and encodes; it changes
// nothing.
package governanceapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/inventory"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
)

// APIVersion is the version of keyless's governance routes.
const APIVersion = "2025-01-01"

// RBAC actions; the built-in Reader's */read holds both.
const (
	ActionReviewRead    = "Keyless.Governance/accessReviews/read"
	ActionInventoryRead = "Keyless.Governance/inventory/read"
)

// Paths under a scope.
const (
	ReviewPath    = "/providers/Keyless.Governance/accessReview"
	InventoryPath = "/providers/Keyless.Governance/inventory"
)

// Config wires the routes.
type Config struct {
	Store store.Store
	// Sources, when set, serve the principals and the role assignments
	// from memory (the directory and the RBAC engine) instead of the store.
	Sources review.Sources
	// Covers, when set, decides whether a scope lies under another (the
	// RBAC engine's, which knows the management group tree).
	Covers func(ancestor, scope string) bool
	Now    func() time.Time
}

type handlers struct{ cfg Config }

// Register adds the routes.
func Register(s *arm.Server, cfg Config) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := handlers{cfg}
	v := arm.VersionPolicy{Versions: []string{APIVersion}}
	const scope = "/{scope...}"
	sample := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1"
	for _, r := range []arm.Route{
		{Name: "Governance_AccessReview", Methods: []string{http.MethodGet}, Pattern: scope + ReviewPath, APIVersions: v,
			Action: ActionReviewRead, Scope: scope, Sample: sample + ReviewPath, Handler: h.review},
		{Name: "Governance_Inventory", Methods: []string{http.MethodGet}, Pattern: scope + InventoryPath, APIVersions: v,
			Action: ActionInventoryRead, Scope: scope, Sample: sample + InventoryPath, Handler: h.inventory},
	} {
		s.Handle(r)
	}
}

// ReviewResult is the access review's answer.
type ReviewResult struct {
	Scope      string           `json:"scope"`
	UnusedDays int              `json:"unusedDays"`
	Findings   []review.Finding `json:"findings"`
}

func unusedDays(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("unusedDays")
	if raw == "" {
		return 90, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 3650 {
		return 0, arm.Errorf(http.StatusBadRequest, "InvalidParameter", "unusedDays", "The value '%s' of unusedDays is invalid; it must be a number of days from 1 to 3650.", raw)
	}
	return n, nil
}

func (h handlers) review(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	days, err := unusedDays(r)
	if err != nil {
		return err
	}
	now := h.cfg.Now().UTC()
	facts, err := review.Load(r.Context(), h.cfg.Store, now.Add(-time.Duration(days)*24*time.Hour), h.cfg.Sources)
	if err != nil {
		return err
	}
	findings := review.Evaluate(facts, review.Options{Scope: c.Scope, UnusedDays: days, Now: now, Covers: h.cfg.Covers})
	if findings == nil {
		findings = []review.Finding{}
	}
	arm.WriteJSON(w, http.StatusOK, ReviewResult{Scope: c.Scope, UnusedDays: days, Findings: findings})
	return nil
}

func (h handlers) inventory(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	now := h.cfg.Now().UTC()
	facts, err := review.Load(r.Context(), h.cfg.Store, now.Add(-90*24*time.Hour), h.cfg.Sources)
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, inventory.Build(facts, c.Scope, now, h.cfg.Covers))
	return nil
}
