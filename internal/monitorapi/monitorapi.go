// Package monitorapi serves the Azure Activity Log (Microsoft.Insights
// event types, management values) on the ARM front door, in the shape
// armmonitor's ActivityLogsClient and `az monitor activity-log list`
// read, from the events the activity package records.
//
// It owns the Activity Log's $filter and $select grammar, its paging and
// which events a caller may see: those at scopes where the caller may read
// events (Microsoft.Insights/eventtypes/values/read, which Reader holds
// through */read) or read the resource itself, so a Reader of one resource
// group sees that group's events only. It never writes to the store, and
// never decides access itself: every decision asks the authz engine.
package monitorapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
)

// APIVersion is the Activity Log's only stable api-version; 2017-03-01-
// preview is accepted too, as Azure accepts it.
const APIVersion = "2015-04-01"

var versions = arm.VersionPolicy{Versions: []string{APIVersion, "2017-03-01-preview"}}

// ActionEventsRead is reading the activity log at a scope (Monitoring
// Reader and Reader hold it).
const ActionEventsRead = "Microsoft.Insights/eventtypes/values/read"

// Paging. Azure pages the Activity Log by 200 events; a page is cut
// short, with a nextLink, once a request has looked at scanBudget events
// the caller may not see, so that a caller who can read little of a busy
// subscription still gets answers in bounded time.
const (
	pageSize   = 200
	scanBatch  = 500
	scanBudget = 5000
)

// Config wires the route.
type Config struct {
	Store    store.Store
	TenantID string
	// Issuer is the iss claim of the tokens this installation issues.
	Issuer string
	// BaseURL is the externally visible origin for nextLink ("" means
	// https:// + the request's Host).
	BaseURL string
	// Flush, when set, writes this replica's buffered events before a
	// list, so that a caller reads its own changes at once; other
	// replicas' events appear within their flush interval.
	Flush func(context.Context) error
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Register adds the Activity Log route to the front door.
func Register(s *arm.Server, cfg Config) {
	h := &handlers{cfg: cfg}
	const path = "/subscriptions/{subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values"
	s.Handle(arm.Route{
		Name: "ActivityLogs_List", Methods: []string{http.MethodGet}, Pattern: path, APIVersions: versions,
		Action: ActionEventsRead, Scope: "/subscriptions/{subscriptionId}", Access: arm.AccessFilter, Handler: h.list,
		Sample: "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Insights/eventtypes/management/values",
	})
	s.RegisterProvider(arm.Provider{Namespace: "Microsoft.Insights", ResourceTypes: []arm.ProviderResourceType{
		{ResourceType: "eventtypes", APIVersions: versions.Versions},
		{ResourceType: "eventtypes/values", APIVersions: versions.Versions},
	}})
}

type handlers struct{ cfg Config }

type page struct {
	Value    []eventData `json:"value"`
	NextLink string      `json:"nextLink,omitempty"`
}

func (h *handlers) list(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := ParseFilter(queryValue(q, "$filter"))
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "BadRequest", "$filter", "%s", err.Error())
	}
	sel, err := parseSelect(queryValue(q, "$select"))
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "BadRequest", "$select", "%s", err.Error())
	}
	token, err := arm.SkipToken(q, "$skiptoken")
	if err != nil {
		return err
	}
	after, err := decodeCursor(token)
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidSkipToken", "$skiptoken", "The skip token is invalid.")
	}
	to := f.To
	if to.IsZero() {
		to = h.now()
	}
	subID := c.Params["subscriptionId"]
	if h.cfg.Flush != nil {
		if err := h.cfg.Flush(ctx); err != nil {
			return fmt.Errorf("flush the activity log before reading it: %w", err)
		}
	}
	visible := h.visibility(c, subID)
	out := page{Value: []eventData{}}
	filter := store.ActivityFilter{
		From: f.From, To: to, SubscriptionID: subID, ResourceGroup: f.ResourceGroup, ResourceID: f.ResourceURI,
		ResourceProvider: f.ResourceProvider, CorrelationID: f.CorrelationID, Caller: f.Caller, Status: f.Status,
		After: after, Limit: scanBatch,
	}
	// cursor is where the next page starts: after the last event this one
	// returned, or looked at when the scan budget ran out first.
	var (
		cursor store.ActivityCursor
		more   bool
	)
	err = h.cfg.Store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetSubscription(ctx, subID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "", "The subscription '%s' could not be found.", subID)
			}
			return err
		}
		scanned := 0
		for {
			events, err := tx.ListActivity(ctx, filter)
			if err != nil {
				return err
			}
			for _, e := range events {
				scanned++
				if visible(e) {
					if len(out.Value) == pageSize {
						// One more the caller may see: the page has a successor.
						more = true
						return nil
					}
					out.Value = append(out.Value, sel.apply(wireOf(e, h.cfg.TenantID, h.cfg.Issuer)))
					cursor = store.ActivityCursor{Time: e.Time, ID: e.ID}
				}
				if scanned >= scanBudget {
					cursor, more = store.ActivityCursor{Time: e.Time, ID: e.ID}, true
					return nil
				}
			}
			if len(events) < filter.Limit {
				return nil
			}
			last := events[len(events)-1]
			filter.After = store.ActivityCursor{Time: last.Time, ID: last.ID}
		}
	})
	if err != nil {
		return err
	}
	if more {
		out.NextLink = h.nextLink(r, c, cursor)
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *handlers) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

// visibility decides, per event, whether the caller may see it: anyone who
// may read events at the subscription sees them all; others see the
// events at scopes where they may read events or the resource itself.
// Decisions are remembered per resource for the request.
func (h *handlers) visibility(c *arm.Call, subID string) func(store.ActivityEvent) bool {
	if c.Allowed(ActionEventsRead, "/subscriptions/"+subID) {
		return func(store.ActivityEvent) bool { return true }
	}
	decided := map[string]bool{}
	return func(e store.ActivityEvent) bool {
		key := strings.ToLower(e.ResourceID) + "|" + strings.ToLower(e.ResourceType)
		if ok, seen := decided[key]; seen {
			return ok
		}
		ok := c.Allowed(ActionEventsRead, e.ResourceID) ||
			e.ResourceType != "" && c.Allowed(e.ResourceType+"/read", e.ResourceID)
		decided[key] = ok
		return ok
	}
}

// Cursors are the time (Unix microseconds, the stores' precision) and ID
// of the last event a page returned or looked at.
func encodeCursor(c store.ActivityCursor) string {
	return strconv.FormatInt(c.Time.UnixMicro(), 10) + "|" + c.ID
}

func decodeCursor(s string) (store.ActivityCursor, error) {
	if s == "" {
		return store.ActivityCursor{}, nil
	}
	micros, id, ok := strings.Cut(s, "|")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" {
		return store.ActivityCursor{}, errors.New("malformed cursor")
	}
	return store.ActivityCursor{Time: time.UnixMicro(n).UTC(), ID: id}, nil
}

// nextLink is the absolute https URL of the page after cursor: the same
// path and query, $filter included, with $skiptoken replaced.
func (h *handlers) nextLink(r *http.Request, c *arm.Call, cursor store.ActivityCursor) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if !strings.EqualFold(k, "$skiptoken") {
			q[k] = v
		}
	}
	q.Set("$skiptoken", arm.EncodeSkipToken(encodeCursor(cursor)))
	u := url.URL{Path: c.Path()}
	base := h.cfg.BaseURL
	if base == "" {
		base = "https://" + r.Host
	}
	// %20, not +, for spaces: the SDKs send the link back as it stands.
	return strings.TrimSuffix(base, "/") + u.EscapedPath() + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// queryValue reads a query parameter whose name ARM treats
// case-insensitively ($filter, $Filter).
func queryValue(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
