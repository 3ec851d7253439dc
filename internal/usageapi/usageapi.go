// Package usageapi serves keyless's usage records through the ARM front
// door: GET {scope}/providers/Keyless.Insights/usage lists, for every
// principal whose identity resource or role assignments lie under the
// scope, the tokens issued to it per audience and the control-plane
// requests it made. For one user-assigned identity the scope is its
// resource ID.
//
// The front door authorizes the route (Keyless.Insights/usage/read at the
// scope, which any */read holds, so Reader suffices). A principal's
// requests at scopes the caller may not read are left out of the answer,
// so the list never tells a reader of one resource group what happens in
// another. It only reads: usage is written by the server's flusher, never
// through the API.
package usageapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/usage"
)

// APIVersion is the version of the Keyless.Insights routes.
const APIVersion = "2025-01-01"

// ActionUsageRead reads usage at a scope.
const ActionUsageRead = "Keyless.Insights/usage/read"

// Path is the route's suffix after the scope.
const Path = "/providers/Keyless.Insights/usage"

var versions = arm.VersionPolicy{Versions: []string{APIVersion}}

// Config wires the route.
type Config struct {
	Store store.Store
	// FlushInterval is how far behind the store each replica's recent
	// usage may be; it is stated in every answer.
	FlushInterval time.Duration
}

// Register adds the route to the front door. It is an extension route
// ({scope...}/providers/...), which outranks the generic-resource
// fallback for resource scopes.
func Register(s *arm.Server, cfg Config) {
	h := &handlers{cfg: cfg}
	s.Handle(arm.Route{
		Name: "Usage_List", Methods: []string{http.MethodGet}, Pattern: "/{scope...}" + Path, APIVersions: versions,
		Action: ActionUsageRead, Scope: "/{scope...}",
		Sample:  "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1" + Path,
		Handler: h.list,
	})
}

type handlers struct{ cfg Config }

// list answers the usage of the principals under the scope, ordered by
// display name, every principal listed whether used or not. Query
// parameters: principalId (only that principal), since (RFC 3339; usage
// from then on).
func (h *handlers) list(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			return arm.Errorf(http.StatusBadRequest, "InvalidQueryParameterValue", "since",
				"The value of query parameter 'since' must be an RFC 3339 time, such as 2025-01-02T00:00:00Z.")
		}
	}
	principals, err := usage.PrincipalsUnder(r.Context(), h.cfg.Store, c.Scope)
	if err != nil {
		return err
	}
	if only := q.Get("principalId"); only != "" {
		principals = slices.DeleteFunc(principals, func(p store.Principal) bool { return !strings.EqualFold(p.ObjectID, only) })
	}
	// Humans read the list: by display name, then object ID.
	slices.SortStableFunc(principals, func(a, b store.Principal) int {
		if c := strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(a.ObjectID, b.ObjectID)
	})
	ids := make([]string, len(principals))
	for i, p := range principals {
		ids[i] = p.ObjectID
	}
	used, err := usage.Read(r.Context(), h.cfg.Store, ids, since)
	if err != nil {
		return err
	}
	readable := map[string]bool{}
	mayRead := func(scope string) bool {
		k := strings.ToLower(scope)
		ok, seen := readable[k]
		if !seen {
			ok = c.Allowed(ActionUsageRead, scope)
			readable[k] = ok
		}
		return ok
	}
	out := List{Value: make([]PrincipalUsage, 0, len(principals)), FlushIntervalSeconds: int64(h.cfg.FlushInterval / time.Second)}
	for _, p := range principals {
		u := used[p.ObjectID]
		u.Actions = slices.DeleteFunc(u.Actions, func(a usage.Action) bool { return !mayRead(a.Scope) })
		out.Value = append(out.Value, wire(c.Scope, p, u))
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}
