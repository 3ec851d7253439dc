package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// The activity log, flushed by each replica from memory in batches. Like
// usage aggregates its rows are not entities (see store.Tx): the writes
// mark the transaction unversioned, so it commits without a revision or
// change rows. Every filter column is kept lower-cased beside the casing
// the event was recorded in.

const activityCols = `id, event_time, submitted_at, subscription_id, resource_group, resource_id,
	resource_provider, resource_type, action, scope, method, status, http_status, error_code,
	correlation_id, request_id, client_request_id, client_address, caller_oid, caller_appid, caller_tenant_id`

// activityRowCols is the number of columns an inserted row binds: the
// lower-cased filter columns, then activityCols.
const activityRowCols = 8 + 21

// largestActivityInsert is the most rows one INSERT carries. Batches go in
// statements of power-of-two sizes up to it, so that a flush of any size
// uses at most eight statement shapes (the prepared statement cache is
// bounded) and stays far under both databases' bound-parameter limits.
const largestActivityInsert = 128

// defaultActivityLimit is ListActivity's page when the filter gives none.
const defaultActivityLimit = 1000

// activityInsert is the INSERT of n rows, built once per size.
var activityInsert = func() map[int]string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", activityRowCols), ", ") + ")"
	out := map[int]string{}
	for n := largestActivityInsert; n >= 1; n /= 2 {
		out[n] = `INSERT INTO activity_events (subscription_lower, resource_group_lower, resource_id_lower,
			provider_lower, correlation_lower, caller_oid_lower, caller_appid_lower, status_lower, ` +
			activityCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + ` ON CONFLICT (id) DO NOTHING`
	}
	return out
}()

func scanActivity(row scanner) (store.ActivityEvent, error) {
	var e store.ActivityEvent
	err := row.Scan(&e.ID, timeCol{&e.Time}, timeCol{&e.SubmittedAt}, &e.SubscriptionID, &e.ResourceGroup, &e.ResourceID,
		&e.ResourceProvider, &e.ResourceType, &e.Action, &e.Scope, &e.Method, &e.Status, &e.HTTPStatus, &e.ErrorCode,
		&e.CorrelationID, &e.RequestID, &e.ClientRequestID, &e.ClientAddress, &e.CallerObjectID, &e.CallerAppID, &e.CallerTenantID)
	return e, err
}

func (t *tx) AppendActivity(ctx context.Context, events []store.ActivityEvent) (int, error) {
	if err := t.writable("append activity"); err != nil {
		return 0, err
	}
	// An ID given twice in one batch is kept once, the first copy, so
	// that the count added says what was stored.
	seen := make(map[string]bool, len(events))
	rows := make([]store.ActivityEvent, 0, len(events))
	for _, e := range events {
		if e.ID == "" {
			return 0, fmt.Errorf("append activity: an event has no ID")
		}
		if e.Time.IsZero() {
			return 0, fmt.Errorf("append activity: event %s has no time", e.ID)
		}
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		rows = append(rows, e)
	}
	added := 0
	for len(rows) > 0 {
		n := largestActivityInsert
		for n > len(rows) {
			n /= 2
		}
		args := make([]any, 0, n*activityRowCols)
		for _, e := range rows[:n] {
			submitted := e.SubmittedAt
			if submitted.IsZero() {
				submitted = e.Time
			}
			args = append(args,
				lower(e.SubscriptionID), lower(e.ResourceGroup), lower(e.ResourceID), lower(e.ResourceProvider),
				lower(e.CorrelationID), lower(e.CallerObjectID), lower(e.CallerAppID), lower(e.Status),
				e.ID, t.d.ts(e.Time), t.d.ts(submitted), e.SubscriptionID, e.ResourceGroup, e.ResourceID,
				e.ResourceProvider, e.ResourceType, e.Action, e.Scope, e.Method, e.Status, e.HTTPStatus, e.ErrorCode,
				e.CorrelationID, e.RequestID, e.ClientRequestID, e.ClientAddress, e.CallerObjectID, e.CallerAppID, e.CallerTenantID)
		}
		res, err := t.exec(ctx, activityInsert[n], args...)
		if err != nil {
			return 0, fmt.Errorf("append activity: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("append activity: %w", err)
		}
		added += int(k)
		rows = rows[n:]
	}
	t.unversioned = true
	return added, nil
}

func (t *tx) ListActivity(ctx context.Context, f store.ActivityFilter) ([]store.ActivityEvent, error) {
	var w where
	if !f.From.IsZero() {
		w.add(`event_time >= ?`, t.d.ts(f.From))
	}
	if !f.To.IsZero() {
		w.add(`event_time <= ?`, t.d.ts(f.To))
	}
	if f.SubscriptionID != "" {
		w.add(`subscription_lower = ?`, lower(f.SubscriptionID))
	}
	if f.ResourceGroup != "" {
		w.add(`resource_group_lower = ?`, lower(f.ResourceGroup))
	}
	if f.ResourceID != "" {
		id := lower(strings.TrimRight(f.ResourceID, "/"))
		from, to := prefixRange(id)
		w.add(`(resource_id_lower = ? OR (resource_id_lower >= ? AND resource_id_lower < ?))`, id, from, to)
	}
	if f.ResourceProvider != "" {
		w.add(`provider_lower = ?`, lower(f.ResourceProvider))
	}
	if f.CorrelationID != "" {
		w.add(`correlation_lower = ?`, lower(f.CorrelationID))
	}
	if f.Caller != "" {
		w.add(`(caller_oid_lower = ? OR caller_appid_lower = ?)`, lower(f.Caller), lower(f.Caller))
	}
	if f.Status != "" {
		w.add(`status_lower = ?`, lower(f.Status))
	}
	if !f.After.Time.IsZero() {
		at := t.d.ts(f.After.Time)
		w.add(`(event_time < ? OR (event_time = ? AND id < ?))`, at, at, f.After.ID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultActivityLimit
	}
	q := `SELECT ` + activityCols + ` FROM activity_events` + w.sql() + ` ORDER BY event_time DESC, id DESC LIMIT ?`
	events, err := list(ctx, t, scanActivity, q, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	return events, nil
}

func (t *tx) CompactActivity(ctx context.Context, before time.Time) (int, error) {
	if err := t.writable("compact activity"); err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, `DELETE FROM activity_events WHERE event_time < ?`, t.d.ts(before))
	if err != nil {
		return 0, fmt.Errorf("compact activity: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("compact activity: %w", err)
	}
	t.unversioned = true
	return int(n), nil
}
