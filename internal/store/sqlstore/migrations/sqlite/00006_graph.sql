-- Microsoft Graph's directory objects beyond principals: application
-- registrations (whose credentials are properties of the application, as
-- in Graph, kept as JSON beside it and written with it), group owners and
-- directory role assignments; and a display name for credentials.

-- +goose Up
CREATE TABLE applications (
    object_id             TEXT PRIMARY KEY,
    app_id                TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    credentials           TEXT NOT NULL,
    federated_credentials TEXT NOT NULL,
    document              BLOB,
    created_at            TEXT,
    updated_at            TEXT
) STRICT;

CREATE TABLE group_owners (
    group_id TEXT NOT NULL REFERENCES principals (object_id),
    owner_id TEXT NOT NULL REFERENCES principals (object_id),
    PRIMARY KEY (group_id, owner_id)
) STRICT;
CREATE INDEX group_owners_owner ON group_owners (owner_id);

CREATE TABLE directory_role_assignments (
    id                 TEXT PRIMARY KEY,
    role_definition_id TEXT NOT NULL,
    principal_id       TEXT NOT NULL REFERENCES principals (object_id),
    directory_scope_id TEXT NOT NULL,
    created_at         TEXT,
    UNIQUE (principal_id, role_definition_id, directory_scope_id)
) STRICT;

ALTER TABLE credentials ADD COLUMN display_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE credentials DROP COLUMN display_name;
DROP TABLE directory_role_assignments;
DROP TABLE group_owners;
DROP TABLE applications;
