// Package subscriptionapi creates subscriptions the way Azure does, through
// Microsoft.Subscription aliases (what armsubscription.AliasClient and
// `az account alias create` call), on the ARM front door. keyless has no
// billing: an alias simply names a new (or existing) subscription.
package subscriptionapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
)

// Actions, checked at the root scope (Owner holds them).
const (
	ActionAliasRead   = "Microsoft.Subscription/aliases/read"
	ActionAliasWrite  = "Microsoft.Subscription/aliases/write"
	ActionAliasDelete = "Microsoft.Subscription/aliases/delete"
)

// metaAliases holds every alias in one meta document: there are few, and
// one document keeps create-or-get atomic under the store's transaction.
const metaAliases = "subscription-aliases"

var versions = arm.VersionPolicy{Versions: []string{"2024-08-01-preview", "2021-10-01", "2020-09-01"}}

// Aliases are ARM resource names: letters, digits, '-', '_' and '.'.
var aliasName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Register adds the alias routes to the front door.
func Register(s *arm.Server, st store.Store) {
	h := handlers{st: st}
	const base = "/providers/Microsoft.Subscription/aliases"
	for _, r := range []arm.Route{
		{Name: "Alias_Create", Methods: []string{http.MethodPut}, Pattern: base + "/{aliasName}", APIVersions: versions,
			Action: ActionAliasWrite, Scope: "/", Sample: base + "/team-a", Handler: h.create},
		{Name: "Alias_Get", Methods: []string{http.MethodGet}, Pattern: base + "/{aliasName}", APIVersions: versions,
			Action: ActionAliasRead, Scope: "/", Sample: base + "/team-a", Handler: h.get},
		{Name: "Alias_Delete", Methods: []string{http.MethodDelete}, Pattern: base + "/{aliasName}", APIVersions: versions,
			Action: ActionAliasDelete, Scope: "/", Sample: base + "/team-a", Handler: h.delete},
		{Name: "Alias_List", Methods: []string{http.MethodGet}, Pattern: base, APIVersions: versions,
			Action: ActionAliasRead, Scope: "/", Sample: base, Handler: h.list},
	} {
		s.Handle(r)
	}
}

type handlers struct{ st store.Store }

type alias struct {
	Name           string    `json:"name"`
	SubscriptionID string    `json:"subscriptionId"`
	DisplayName    string    `json:"displayName"`
	Workload       string    `json:"workload,omitempty"`
	CreatedTime    time.Time `json:"createdTime"`
}

// request is armsubscription.PutAliasRequest.
type request struct {
	Properties struct {
		DisplayName    string `json:"displayName"`
		Workload       string `json:"workload"`
		BillingScope   string `json:"billingScope"`
		SubscriptionID string `json:"subscriptionId"`
		ResellerID     string `json:"resellerId"`
	} `json:"properties"`
}

// wire is armsubscription.AliasResponse.
type wire struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Properties wireProps `json:"properties"`
}

type wireProps struct {
	SubscriptionID    string `json:"subscriptionId"`
	DisplayName       string `json:"displayName"`
	ProvisioningState string `json:"provisioningState"`
	Workload          string `json:"workload,omitempty"`
	CreatedTime       string `json:"createdTime"`
}

func wireOf(a alias) wire {
	return wire{
		ID: "/providers/Microsoft.Subscription/aliases/" + a.Name, Name: a.Name, Type: "Microsoft.Subscription/aliases",
		Properties: wireProps{SubscriptionID: a.SubscriptionID, DisplayName: a.DisplayName, ProvisioningState: "Succeeded",
			Workload: a.Workload, CreatedTime: a.CreatedTime.UTC().Format(time.RFC3339)},
	}
}

func readAliases(b []byte) (map[string]alias, error) {
	m := map[string]alias{}
	if len(b) == 0 {
		return m, nil
	}
	return m, json.Unmarshal(b, &m)
}

// create makes a new subscription named by the alias, or points the alias
// at an existing one (properties.subscriptionId). Creating an alias that
// exists answers it again, as Azure's idempotent PUT does.
func (h handlers) create(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	name := c.Params["aliasName"]
	if !aliasName.MatchString(name) {
		return arm.Errorf(http.StatusBadRequest, "InvalidAliasName", "aliasName",
			"The alias '%s' is invalid: use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit.", name)
	}
	var req request
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	p := req.Properties
	if p.Workload != "" && !strings.EqualFold(p.Workload, "Production") && !strings.EqualFold(p.Workload, "DevTest") {
		return arm.Errorf(http.StatusBadRequest, "InvalidWorkload", "properties.workload", "The workload must be 'Production' or 'DevTest'.")
	}
	if p.SubscriptionID == "" && strings.TrimSpace(p.DisplayName) == "" {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties.displayName", "A display name is required to create a subscription.")
	}
	if len(p.DisplayName) > 64 {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties.displayName", "The display name may have at most 64 characters.")
	}
	var out alias
	status := http.StatusCreated
	_, err := h.st.Update(r.Context(), func(tx store.Tx) error {
		raw, err := tx.GetMeta(r.Context(), metaAliases)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		all, err := readAliases(raw)
		if err != nil {
			return err
		}
		if existing, ok := all[strings.ToLower(name)]; ok {
			out, status = existing, http.StatusOK
			return nil
		}
		now := time.Now().UTC()
		out = alias{Name: name, DisplayName: p.DisplayName, Workload: p.Workload, CreatedTime: now}
		if p.SubscriptionID != "" {
			sub, err := tx.GetSubscription(r.Context(), p.SubscriptionID)
			if errors.Is(err, store.ErrNotFound) {
				return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "properties.subscriptionId", "The subscription '%s' could not be found.", p.SubscriptionID)
			}
			if err != nil {
				return err
			}
			out.SubscriptionID, out.DisplayName = sub.ID, sub.DisplayName
		} else {
			out.SubscriptionID = uuid.NewString()
			if err := tx.CreateSubscription(r.Context(), store.Subscription{ID: out.SubscriptionID, DisplayName: p.DisplayName, State: "Enabled", CreatedAt: now}); err != nil {
				return err
			}
		}
		all[strings.ToLower(name)] = out
		b, err := json.Marshal(all)
		if err != nil {
			return err
		}
		return tx.PutMeta(r.Context(), metaAliases, b)
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, status, wireOf(out))
	return nil
}

func (h handlers) load(r *http.Request) (map[string]alias, error) {
	var all map[string]alias
	err := h.st.View(r.Context(), func(tx store.Tx) error {
		raw, err := tx.GetMeta(r.Context(), metaAliases)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		all, err = readAliases(raw)
		return err
	})
	return all, err
}

func (h handlers) get(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	all, err := h.load(r)
	if err != nil {
		return err
	}
	a, ok := all[strings.ToLower(c.Params["aliasName"])]
	if !ok {
		return arm.Errorf(http.StatusNotFound, "AliasNotFound", "", "The alias '%s' could not be found.", c.Params["aliasName"])
	}
	arm.WriteJSON(w, http.StatusOK, wireOf(a))
	return nil
}

func (h handlers) list(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	all, err := h.load(r)
	if err != nil {
		return err
	}
	out := []wire{}
	for _, a := range all {
		out = append(out, wireOf(a))
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// delete removes the alias only; the subscription stays, as in Azure.
func (h handlers) delete(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	found := false
	_, err := h.st.Update(r.Context(), func(tx store.Tx) error {
		raw, err := tx.GetMeta(r.Context(), metaAliases)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		all, err := readAliases(raw)
		if err != nil {
			return err
		}
		if _, found = all[strings.ToLower(c.Params["aliasName"])]; !found {
			return nil
		}
		delete(all, strings.ToLower(c.Params["aliasName"]))
		b, err := json.Marshal(all)
		if err != nil {
			return err
		}
		return tx.PutMeta(r.Context(), metaAliases, b)
	})
	if err != nil {
		return err
	}
	arm.WriteDeleted(w, found)
	return nil
}
