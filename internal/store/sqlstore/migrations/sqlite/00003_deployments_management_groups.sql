-- Management groups, subscription membership, and template deployments
-- with their operations.

-- +goose Up
CREATE TABLE management_groups (
    name_lower   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    -- NULL for the tenant root group, the only group without a parent.
    parent_lower TEXT REFERENCES management_groups (name_lower),
    parent_name  TEXT NOT NULL,
    created_at   TEXT,
    updated_at   TEXT,
    updated_by   TEXT NOT NULL
) STRICT;
CREATE INDEX management_groups_parent ON management_groups (parent_lower);
-- One tenant root group: a second group without a parent collides here.
CREATE UNIQUE INDEX management_groups_root ON management_groups (coalesce(parent_lower, '')) WHERE parent_lower IS NULL;

-- The group a subscription is directly under; NULL for the tenant root
-- group. The store checks that the group exists before writing; the
-- foreign key is the backstop.
ALTER TABLE subscriptions ADD COLUMN management_group_lower TEXT REFERENCES management_groups (name_lower);
ALTER TABLE subscriptions ADD COLUMN management_group_name TEXT NOT NULL DEFAULT '';
CREATE INDEX subscriptions_management_group ON subscriptions (management_group_lower);

CREATE TABLE deployments (
    scope_lower    TEXT NOT NULL,
    name_lower     TEXT NOT NULL,
    scope          TEXT NOT NULL,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL,
    -- Opaque JSON documents, kept byte for byte; the template runs to 4 MB.
    document       BLOB,
    template       BLOB,
    correlation_id TEXT NOT NULL,
    created_at     TEXT,
    updated_at     TEXT,
    created_by     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    PRIMARY KEY (scope_lower, name_lower)
) STRICT;
-- Finding deployments left running across every scope at start.
CREATE INDEX deployments_state ON deployments (state, scope_lower, name_lower);
-- TrimDeployments: the oldest of a scope first.
CREATE INDEX deployments_age ON deployments (scope_lower, updated_at, name_lower);

CREATE TABLE deployment_operations (
    scope_lower  TEXT NOT NULL,
    name_lower   TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    document     BLOB,
    updated_at   TEXT,
    PRIMARY KEY (scope_lower, name_lower, operation_id),
    FOREIGN KEY (scope_lower, name_lower) REFERENCES deployments (scope_lower, name_lower) ON DELETE CASCADE
) STRICT;

-- +goose Down
DROP TABLE deployment_operations;
DROP TABLE deployments;
DROP INDEX subscriptions_management_group;
ALTER TABLE subscriptions DROP COLUMN management_group_name;
ALTER TABLE subscriptions DROP COLUMN management_group_lower;
DROP TABLE management_groups;
