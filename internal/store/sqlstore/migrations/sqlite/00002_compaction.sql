-- +goose Up
-- compaction records the newest revision whose change-feed entries were
-- deleted; a reader that asks for changes from before it must reload.
CREATE TABLE compaction (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO compaction (id, value) VALUES (1, 0);
CREATE INDEX changes_at ON changes (at);

-- +goose Down
DROP INDEX changes_at;
DROP TABLE compaction;
