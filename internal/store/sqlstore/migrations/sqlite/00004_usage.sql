-- Usage: tokens issued per principal, audience and day, and control-plane
-- requests per principal, action, scope and outcome, as each replica
-- flushes them from memory. Rows are keyed by replica so that replicas
-- never write each other's rows; reads sum them.

-- +goose Up
CREATE TABLE usage_tokens (
    replica_id   TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    audience     TEXT NOT NULL,
    -- UTC midnight starting the day.
    day          TEXT NOT NULL,
    count        INTEGER NOT NULL,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    PRIMARY KEY (replica_id, principal_id, audience, day)
) STRICT;
CREATE INDEX usage_tokens_principal ON usage_tokens (principal_id, audience, day);
CREATE INDEX usage_tokens_day ON usage_tokens (day);

CREATE TABLE usage_actions (
    replica_id   TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    action_lower TEXT NOT NULL,
    scope_lower  TEXT NOT NULL,
    -- 'allowed' or 'denied'.
    outcome      TEXT NOT NULL,
    action       TEXT NOT NULL,
    scope        TEXT NOT NULL,
    count        INTEGER NOT NULL,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    PRIMARY KEY (replica_id, principal_id, action_lower, scope_lower, outcome)
) STRICT;
CREATE INDEX usage_actions_principal ON usage_actions (principal_id, action_lower, scope_lower);
CREATE INDEX usage_actions_last ON usage_actions (last_at);

-- The last batch each replica merged, so that a retried flush adds nothing.
CREATE TABLE usage_replicas (
    replica_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    flushed_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE usage_replicas;
DROP TABLE usage_actions;
DROP TABLE usage_tokens;
