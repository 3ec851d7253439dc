-- The activity log: one row per audited control-plane event (a change or
-- a refusal), as each replica flushes them from memory in batches. Rows
-- are written once and never updated; the maintenance job deletes those
-- older than the retention period. No request body, error message or
-- secret is ever kept: identifiers, the action, the scope and the outcome.

-- +goose Up
CREATE TABLE activity_events (
    -- eventDataId: a GUID made when the request completed; a flush that
    -- is retried after an ambiguous commit writes nothing twice.
    id                   TEXT PRIMARY KEY,
    event_time           TEXT NOT NULL,
    submitted_at         TEXT NOT NULL,
    -- '' for events at the root or a management group (no subscription).
    subscription_lower   TEXT NOT NULL,
    resource_group_lower TEXT NOT NULL,
    resource_id_lower    TEXT NOT NULL,
    provider_lower       TEXT NOT NULL,
    correlation_lower    TEXT NOT NULL,
    caller_oid_lower     TEXT NOT NULL,
    caller_appid_lower   TEXT NOT NULL,
    status_lower         TEXT NOT NULL,
    subscription_id      TEXT NOT NULL,
    resource_group       TEXT NOT NULL,
    resource_id          TEXT NOT NULL,
    resource_provider    TEXT NOT NULL,
    resource_type        TEXT NOT NULL,
    action               TEXT NOT NULL,
    scope                TEXT NOT NULL,
    method               TEXT NOT NULL,
    status               TEXT NOT NULL,
    http_status          INTEGER NOT NULL,
    error_code           TEXT NOT NULL,
    correlation_id       TEXT NOT NULL,
    request_id           TEXT NOT NULL,
    client_request_id    TEXT NOT NULL,
    client_address       TEXT NOT NULL,
    caller_oid           TEXT NOT NULL,
    caller_appid         TEXT NOT NULL,
    caller_tenant_id     TEXT NOT NULL
) STRICT;
-- Lists are per subscription, newest first, optionally per group.
CREATE INDEX activity_subscription_time ON activity_events (subscription_lower, event_time, id);
CREATE INDEX activity_group_time ON activity_events (subscription_lower, resource_group_lower, event_time, id);
CREATE INDEX activity_resource ON activity_events (resource_id_lower, event_time);
CREATE INDEX activity_correlation ON activity_events (correlation_lower);
-- Retention.
CREATE INDEX activity_time ON activity_events (event_time);

-- +goose Down
DROP TABLE activity_events;
