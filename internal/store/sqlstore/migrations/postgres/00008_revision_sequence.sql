-- revision_seq holds the newest revision taken. Writers read and set it
-- under the commit lock instead of bumping the revision row from the start
-- of every write, so that write transactions no longer serialize on that
-- row (see the package comment of sqlstore): a sequence is outside every
-- snapshot, so a SERIALIZABLE transaction sees the value the previous
-- holder of the lock set, where it would fail on the row that holder
-- updated. The revision row keeps the revision this migration ran at:
-- Revision() is the greatest of it, the compaction point and the newest
-- change. setval is not transactional, so a transaction whose COMMIT fails
-- leaves a gap, which readers following "revision > last applied" never
-- notice.

-- +goose Up
CREATE SEQUENCE revision_seq AS BIGINT MINVALUE 1;
SELECT setval('revision_seq', GREATEST(value, 1), value > 0) FROM revision;

-- +goose Down
-- Writers bump the row again: it must start from the newest revision drawn.
UPDATE revision SET value = GREATEST(value, (SELECT COALESCE(MAX(revision), 0) FROM changes), (SELECT value FROM compaction));
DROP SEQUENCE revision_seq;
