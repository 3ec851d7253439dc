-- Usage: tokens issued per principal, audience and day, and control-plane
-- requests per principal, action, scope and outcome, as each replica
-- flushes them from memory. Rows are keyed by replica so that replicas
-- never write each other's rows; reads sum them.

-- +goose Up
CREATE TABLE usage_tokens (
    replica_id   TEXT COLLATE "C" NOT NULL,
    principal_id TEXT COLLATE "C" NOT NULL,
    audience     TEXT COLLATE "C" NOT NULL,
    -- UTC midnight starting the day.
    day          TIMESTAMPTZ NOT NULL,
    count        BIGINT NOT NULL,
    first_at     TIMESTAMPTZ NOT NULL,
    last_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (replica_id, principal_id, audience, day)
);
CREATE INDEX usage_tokens_principal ON usage_tokens (principal_id, audience, day);
CREATE INDEX usage_tokens_day ON usage_tokens (day);

CREATE TABLE usage_actions (
    replica_id   TEXT COLLATE "C" NOT NULL,
    principal_id TEXT COLLATE "C" NOT NULL,
    action_lower TEXT COLLATE "C" NOT NULL,
    scope_lower  TEXT COLLATE "C" NOT NULL,
    -- 'allowed' or 'denied'.
    outcome      TEXT COLLATE "C" NOT NULL,
    action       TEXT NOT NULL,
    scope        TEXT NOT NULL,
    count        BIGINT NOT NULL,
    first_at     TIMESTAMPTZ NOT NULL,
    last_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (replica_id, principal_id, action_lower, scope_lower, outcome)
);
CREATE INDEX usage_actions_principal ON usage_actions (principal_id, action_lower, scope_lower);
CREATE INDEX usage_actions_last ON usage_actions (last_at);

-- The last batch each replica merged, so that a retried flush adds nothing.
CREATE TABLE usage_replicas (
    replica_id TEXT COLLATE "C" PRIMARY KEY,
    seq        BIGINT NOT NULL,
    flushed_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE usage_replicas;
DROP TABLE usage_actions;
DROP TABLE usage_tokens;
