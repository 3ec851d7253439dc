-- Initial keyless schema for SQLite.
--
-- Columns named *_lower hold the Go-lower-cased form of IDs that ARM treats
-- case-insensitively; they carry the keys and indexes, while the column
-- beside them keeps the casing the caller first wrote. Times are TEXT in a
-- fixed-width UTC format (microseconds) so they sort as they compare; NULL is
-- the zero time.

-- +goose Up
-- application_id marks the file as a keyless store so that OpenSQLite can
-- tell it from another application's database ("KYLS").
PRAGMA application_id = 1264143443;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB
) STRICT;

CREATE TABLE revision (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE changes (
    revision INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    op       TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (revision, seq)
) STRICT;

CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    sealed_private_key BLOB,
    certificate_der    BLOB,
    created_at         TEXT,
    activated_at       TEXT,
    retired_at         TEXT
) STRICT;

CREATE TABLE principals (
    object_id         TEXT PRIMARY KEY,
    -- NULL when empty: groups have no application ID.
    app_id            TEXT UNIQUE,
    display_name      TEXT NOT NULL,
    kind              TEXT NOT NULL,
    resource_id       TEXT NOT NULL,
    resource_id_lower TEXT NOT NULL,
    created_at        TEXT
) STRICT;
CREATE INDEX principals_kind ON principals (kind);
CREATE INDEX principals_resource ON principals (resource_id_lower);

CREATE TABLE credentials (
    principal_id      TEXT NOT NULL REFERENCES principals (object_id),
    id                TEXT NOT NULL,
    kind              TEXT NOT NULL,
    secret_hash       BLOB,
    hint              TEXT NOT NULL,
    certificate_der   BLOB,
    thumbprint_sha1   BLOB,
    thumbprint_sha256 BLOB,
    not_before        TEXT,
    not_after         TEXT,
    created_at        TEXT,
    PRIMARY KEY (principal_id, id)
) STRICT;

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES principals (object_id),
    member_id TEXT NOT NULL REFERENCES principals (object_id),
    PRIMARY KEY (group_id, member_id)
) STRICT;
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE subscriptions (
    id_lower     TEXT PRIMARY KEY,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   TEXT
) STRICT;

CREATE TABLE resource_groups (
    subscription_lower TEXT NOT NULL,
    name_lower         TEXT NOT NULL,
    subscription_id    TEXT NOT NULL,
    name               TEXT NOT NULL,
    location           TEXT NOT NULL,
    tags               TEXT NOT NULL,
    managed_by         TEXT NOT NULL,
    created_at         TEXT,
    updated_at         TEXT,
    PRIMARY KEY (subscription_lower, name_lower)
) STRICT;

CREATE TABLE resources (
    id_lower             TEXT PRIMARY KEY,
    id                   TEXT NOT NULL,
    subscription_lower   TEXT NOT NULL,
    subscription_id      TEXT NOT NULL,
    resource_group_lower TEXT NOT NULL,
    resource_group       TEXT NOT NULL,
    type_lower           TEXT NOT NULL,
    type                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    location             TEXT NOT NULL,
    body                 BLOB,
    principal_id         TEXT NOT NULL,
    created_at           TEXT,
    updated_at           TEXT,
    created_by           TEXT NOT NULL,
    updated_by           TEXT NOT NULL
) STRICT;
CREATE INDEX resources_group ON resources (subscription_lower, resource_group_lower, id_lower);
CREATE INDEX resources_type ON resources (type_lower, id_lower);

-- resource_identities is the attachment index: which resources hold which
-- user-assigned identity. PutResource and DeleteResource maintain it.
CREATE TABLE resource_identities (
    resource_lower TEXT NOT NULL REFERENCES resources (id_lower) ON DELETE CASCADE,
    identity_lower TEXT NOT NULL,
    identity_id    TEXT NOT NULL,
    position       INTEGER NOT NULL,
    PRIMARY KEY (resource_lower, identity_lower)
) STRICT;
CREATE INDEX resource_identities_identity ON resource_identities (identity_lower);

CREATE TABLE federated_credentials (
    identity_lower TEXT NOT NULL REFERENCES resources (id_lower),
    name_lower     TEXT NOT NULL,
    identity_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    audiences      TEXT NOT NULL,
    created_at     TEXT,
    updated_at     TEXT,
    PRIMARY KEY (identity_lower, name_lower)
) STRICT;

CREATE TABLE role_definitions (
    id_lower          TEXT PRIMARY KEY,
    id                TEXT NOT NULL,
    role_name         TEXT NOT NULL,
    description       TEXT NOT NULL,
    role_type         TEXT NOT NULL,
    permissions       TEXT NOT NULL,
    assignable_scopes TEXT NOT NULL,
    scope             TEXT NOT NULL,
    created_at        TEXT,
    updated_at        TEXT,
    created_by        TEXT NOT NULL,
    updated_by        TEXT NOT NULL
) STRICT;

CREATE TABLE role_assignments (
    name_lower            TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    scope_lower           TEXT NOT NULL,
    role_definition_id    TEXT NOT NULL,
    role_definition_lower TEXT NOT NULL,
    principal_id          TEXT NOT NULL,
    principal_type        TEXT NOT NULL,
    description           TEXT NOT NULL,
    condition             TEXT NOT NULL,
    condition_version     TEXT NOT NULL,
    created_at            TEXT,
    updated_at            TEXT,
    created_by            TEXT NOT NULL,
    updated_by            TEXT NOT NULL
) STRICT;
-- ARM refuses a second assignment of one role to one principal at one scope.
CREATE UNIQUE INDEX role_assignments_grant ON role_assignments (principal_id, role_definition_lower, scope_lower);
CREATE INDEX role_assignments_scope ON role_assignments (scope_lower);
CREATE INDEX role_assignments_role ON role_assignments (role_definition_lower);

CREATE TABLE agents (
    id                 TEXT PRIMARY KEY,
    resource_id        TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    cert_not_after     TEXT,
    created_at         TEXT,
    last_seen_at       TEXT,
    revoked_at         TEXT
) STRICT;

CREATE TABLE join_tokens (
    token_hash  TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    expires_at  TEXT,
    created_at  TEXT,
    created_by  TEXT NOT NULL
) STRICT;

CREATE TABLE launch_grants (
    id          TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    secret_hash BLOB,
    expires_at  TEXT,
    created_at  TEXT,
    created_by  TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE launch_grants;
DROP TABLE join_tokens;
DROP TABLE agents;
DROP TABLE role_assignments;
DROP TABLE role_definitions;
DROP TABLE federated_credentials;
DROP TABLE resource_identities;
DROP TABLE resources;
DROP TABLE resource_groups;
DROP TABLE subscriptions;
DROP TABLE group_members;
DROP TABLE credentials;
DROP TABLE principals;
DROP TABLE signing_keys;
DROP TABLE changes;
DROP TABLE revision;
DROP TABLE meta;
PRAGMA application_id = 0;
