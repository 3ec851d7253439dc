-- Key Vault secrets: one row per secret (its current version and deletion
-- state) and one per version. Values are sealed under the master key with
-- the secret version's ID as additional data; the store never sees a
-- plaintext value. Vault IDs and names are keyed lower-case, as Key Vault
-- compares them; the casing first written is kept.

-- +goose Up
CREATE TABLE vault_secrets (
    vault_lower     TEXT NOT NULL,
    name_lower      TEXT NOT NULL,
    vault_id        TEXT NOT NULL,
    name            TEXT NOT NULL,
    current_version TEXT NOT NULL,
    deleted_at      TEXT,
    scheduled_purge TEXT,
    PRIMARY KEY (vault_lower, name_lower)
) STRICT;
CREATE INDEX vault_secrets_purge ON vault_secrets (scheduled_purge);

CREATE TABLE vault_secret_versions (
    vault_lower  TEXT NOT NULL,
    name_lower   TEXT NOT NULL,
    version      TEXT NOT NULL,
    sealed_value BLOB NOT NULL,
    content_type TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    not_before   TEXT,
    expires      TEXT,
    tags         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (vault_lower, name_lower, version),
    FOREIGN KEY (vault_lower, name_lower) REFERENCES vault_secrets (vault_lower, name_lower) ON DELETE CASCADE
) STRICT;

-- +goose Down
DROP TABLE vault_secret_versions;
DROP TABLE vault_secrets;
