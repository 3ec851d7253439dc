-- Initial keyless schema for PostgreSQL.
--
-- Columns named *_lower hold the Go-lower-cased form of IDs that ARM treats
-- case-insensitively; they carry the keys and indexes, while the column
-- beside them keeps the casing the caller first wrote. Key columns use the
-- "C" collation so that ordering, paging and the prefix ranges used for
-- scopes compare bytes, exactly as SQLite does. NULL is the zero time.

-- +goose Up
CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA
);

CREATE TABLE revision (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE changes (
    revision BIGINT NOT NULL,
    seq      INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    op       TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (revision, seq)
);

CREATE TABLE signing_keys (
    kid                TEXT COLLATE "C" PRIMARY KEY,
    sealed_private_key BYTEA,
    certificate_der    BYTEA,
    created_at         TIMESTAMPTZ,
    activated_at       TIMESTAMPTZ,
    retired_at         TIMESTAMPTZ
);

CREATE TABLE principals (
    object_id         TEXT COLLATE "C" PRIMARY KEY,
    -- NULL when empty: groups have no application ID.
    app_id            TEXT COLLATE "C" UNIQUE,
    display_name      TEXT NOT NULL,
    kind              TEXT COLLATE "C" NOT NULL,
    resource_id       TEXT NOT NULL,
    resource_id_lower TEXT COLLATE "C" NOT NULL,
    created_at        TIMESTAMPTZ
);
CREATE INDEX principals_kind ON principals (kind);
CREATE INDEX principals_resource ON principals (resource_id_lower);

CREATE TABLE credentials (
    principal_id      TEXT COLLATE "C" NOT NULL REFERENCES principals (object_id),
    id                TEXT COLLATE "C" NOT NULL,
    kind              TEXT NOT NULL,
    secret_hash       BYTEA,
    hint              TEXT NOT NULL,
    certificate_der   BYTEA,
    thumbprint_sha1   BYTEA,
    thumbprint_sha256 BYTEA,
    not_before        TIMESTAMPTZ,
    not_after         TIMESTAMPTZ,
    created_at        TIMESTAMPTZ,
    PRIMARY KEY (principal_id, id)
);

CREATE TABLE group_members (
    group_id  TEXT COLLATE "C" NOT NULL REFERENCES principals (object_id),
    member_id TEXT COLLATE "C" NOT NULL REFERENCES principals (object_id),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE subscriptions (
    id_lower     TEXT COLLATE "C" PRIMARY KEY,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   TIMESTAMPTZ
);

CREATE TABLE resource_groups (
    subscription_lower TEXT COLLATE "C" NOT NULL,
    name_lower         TEXT COLLATE "C" NOT NULL,
    subscription_id    TEXT NOT NULL,
    name               TEXT NOT NULL,
    location           TEXT NOT NULL,
    tags               JSONB NOT NULL,
    managed_by         TEXT NOT NULL,
    created_at         TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ,
    PRIMARY KEY (subscription_lower, name_lower)
);

CREATE TABLE resources (
    id_lower             TEXT COLLATE "C" PRIMARY KEY,
    id                   TEXT NOT NULL,
    subscription_lower   TEXT COLLATE "C" NOT NULL,
    subscription_id      TEXT NOT NULL,
    resource_group_lower TEXT COLLATE "C" NOT NULL,
    resource_group       TEXT NOT NULL,
    type_lower           TEXT COLLATE "C" NOT NULL,
    type                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    location             TEXT NOT NULL,
    -- BYTEA, not JSON: the body is kept byte for byte as the caller gave it.
    body                 BYTEA,
    principal_id         TEXT NOT NULL,
    created_at           TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ,
    created_by           TEXT NOT NULL,
    updated_by           TEXT NOT NULL
);
CREATE INDEX resources_group ON resources (subscription_lower, resource_group_lower, id_lower);
CREATE INDEX resources_type ON resources (type_lower, id_lower);

-- resource_identities is the attachment index: which resources hold which
-- user-assigned identity. PutResource and DeleteResource maintain it.
CREATE TABLE resource_identities (
    resource_lower TEXT COLLATE "C" NOT NULL REFERENCES resources (id_lower) ON DELETE CASCADE,
    identity_lower TEXT COLLATE "C" NOT NULL,
    identity_id    TEXT NOT NULL,
    position       INTEGER NOT NULL,
    PRIMARY KEY (resource_lower, identity_lower)
);
CREATE INDEX resource_identities_identity ON resource_identities (identity_lower);

CREATE TABLE federated_credentials (
    identity_lower TEXT COLLATE "C" NOT NULL REFERENCES resources (id_lower),
    name_lower     TEXT COLLATE "C" NOT NULL,
    identity_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    audiences      JSONB NOT NULL,
    created_at     TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ,
    PRIMARY KEY (identity_lower, name_lower)
);

CREATE TABLE role_definitions (
    id_lower          TEXT COLLATE "C" PRIMARY KEY,
    id                TEXT NOT NULL,
    role_name         TEXT NOT NULL,
    description       TEXT NOT NULL,
    role_type         TEXT NOT NULL,
    permissions       JSONB NOT NULL,
    assignable_scopes JSONB NOT NULL,
    scope             TEXT NOT NULL,
    created_at        TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ,
    created_by        TEXT NOT NULL,
    updated_by        TEXT NOT NULL
);

CREATE TABLE role_assignments (
    name_lower            TEXT COLLATE "C" PRIMARY KEY,
    name                  TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    scope_lower           TEXT COLLATE "C" NOT NULL,
    role_definition_id    TEXT NOT NULL,
    role_definition_lower TEXT COLLATE "C" NOT NULL,
    principal_id          TEXT COLLATE "C" NOT NULL,
    principal_type        TEXT NOT NULL,
    description           TEXT NOT NULL,
    condition             TEXT NOT NULL,
    condition_version     TEXT NOT NULL,
    created_at            TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ,
    created_by            TEXT NOT NULL,
    updated_by            TEXT NOT NULL
);
-- ARM refuses a second assignment of one role to one principal at one scope.
CREATE UNIQUE INDEX role_assignments_grant ON role_assignments (principal_id, role_definition_lower, scope_lower);
CREATE INDEX role_assignments_scope ON role_assignments (scope_lower);
CREATE INDEX role_assignments_role ON role_assignments (role_definition_lower);

CREATE TABLE agents (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    resource_id        TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    cert_not_after     TIMESTAMPTZ,
    created_at         TIMESTAMPTZ,
    last_seen_at       TIMESTAMPTZ,
    revoked_at         TIMESTAMPTZ
);

CREATE TABLE join_tokens (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    resource_id TEXT NOT NULL,
    expires_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ,
    created_by  TEXT NOT NULL
);

CREATE TABLE launch_grants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    resource_id TEXT NOT NULL,
    secret_hash BYTEA,
    expires_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ,
    created_by  TEXT NOT NULL
);

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
