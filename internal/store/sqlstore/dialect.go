package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/wiretext"
)

// dialect is everything that differs between the SQLite and PostgreSQL
// backends. SQL is written once with ? placeholders.
type dialect struct {
	name string
	// dollarPlaceholders rewrites ? to $1, $2, ... (PostgreSQL).
	dollarPlaceholders bool
	// updateTxOptions begins an Update transaction.
	updateTxOptions *sql.TxOptions
	// lockRevision, when set, reads the current revision at the start of
	// Update (SQLite, whose BEGIN IMMEDIATE already serialized writers);
	// the transaction bumps it by one.
	lockRevision string
	// lockCommits, when set, is taken just before a writing transaction
	// takes its revision and is held until it commits (PostgreSQL); see
	// the package comment. lockCommitsFirst takes the same lock at the
	// start of a pessimistic attempt. Neither takes a snapshot, so a
	// transaction that starts with it sees every commit made before it got
	// the lock.
	lockCommits, lockCommitsFirst string
	// revision reads the newest committed revision.
	revision string
	// viewTxOptions begins a read-only transaction with a consistent
	// snapshot.
	viewTxOptions *sql.TxOptions
	// timeValue encodes a non-zero UTC time, already cut to microseconds,
	// for a time column.
	timeValue func(time.Time) any
	// notifyChannel is where a commit announces its revision to other
	// replicas (PostgreSQL NOTIFY); empty for none.
	notifyChannel string
	// retryable reports whether Update should run its function again.
	retryable func(error) bool
}

// sqliteTimeLayout is fixed-width so that stored times sort as they compare.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

var sqliteDialect = &dialect{
	name: "sqlite",
	// The write connection began with BEGIN IMMEDIATE, so this transaction
	// already holds SQLite's only write lock.
	lockRevision:  `SELECT value FROM revision`,
	revision:      `SELECT value FROM revision`,
	viewTxOptions: &sql.TxOptions{ReadOnly: true},
	timeValue:     func(t time.Time) any { return t.Format(sqliteTimeLayout) },
	retryable:     func(error) bool { return false },
}

// changesChannel is the PostgreSQL NOTIFY channel every replica listens on.
const changesChannel = "keyless_changes"

var postgresDialect = &dialect{
	name:               "postgres",
	dollarPlaceholders: true,
	// SERIALIZABLE instead of a global lock: concurrent writers run side
	// by side and the database aborts (40001) any that could not have run
	// one after the other; see the package comment.
	updateTxOptions: &sql.TxOptions{Isolation: sql.LevelSerializable},
	// EXCLUSIVE conflicts with itself (and with the ROW SHARE of an older
	// replica's SELECT ... FOR UPDATE on the row) but not with the plain
	// reads of Revision. The revision table is never written after
	// migration 8, so autovacuum never queues for it.
	//
	// A pessimistic attempt holds the lock while it writes, and may wait
	// for a row that a transaction queued for the lock has written: a
	// deadlock. The queued one gives up after lock_timeout (55P03, retried)
	// instead of both waiting for the deadlock detector, which could pick
	// the pessimistic one.
	//
	// The SELECT before it reads a row, which is where a transaction that
	// SERIALIZABLE has doomed meanwhile learns it: such a transaction, about
	// one per create when creates insert neighbouring keys, then fails
	// without queuing for the lock and holding it for a statement.
	lockCommits:      `SET LOCAL lock_timeout = '100ms'; SELECT FROM revision; LOCK TABLE revision IN EXCLUSIVE MODE`,
	lockCommitsFirst: `LOCK TABLE revision IN EXCLUSIVE MODE`,
	// Every committed revision has a change row until it is compacted, and
	// compaction records the newest one it removed; the row is the floor
	// from before revisions came from revision_seq.
	revision:      `SELECT GREATEST(r.value, c.value, COALESCE((SELECT MAX(revision) FROM changes), 0)) FROM revision r, compaction c`,
	viewTxOptions: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	timeValue:     func(t time.Time) any { return t },
	notifyChannel: changesChannel,
	retryable: func(err error) bool {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			return false
		}
		switch pgErr.Code {
		case "40001", // serialization_failure
			"40P01", // deadlock_detected
			"55P03": // lock_not_available: only lockCommits sets a lock_timeout
			return true
		}
		return false
	},
}

// rebind rewrites ? placeholders for the dialect. keyless SQL never has a ?
// inside a literal.
func (d *dialect) rebind(query string) string {
	if !d.dollarPlaceholders {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// ts encodes a time for a time column: UTC, microsecond precision on every
// backend (PostgreSQL's precision), NULL for the zero time.
func (d *dialect) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.timeValue(t.UTC().Truncate(time.Microsecond))
}

// mapErr turns driver errors into the store sentinels, keeping the driver
// error in the chain. It is the only place that knows driver error codes.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrAlreadyExists, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: referenced entity: %w", store.ErrNotFound, err)
		case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
			return fmt.Errorf("%w: %w", store.ErrInvalidText, err)
		}
		return err
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %w", store.ErrAlreadyExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: referenced entity: %w", store.ErrNotFound, err)
		}
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// timeCol scans a time column written by dialect.ts.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = time.Time{}
	case time.Time:
		*c.dst = v.UTC()
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		return fmt.Errorf("time column: %w", err)
	}
	*c.dst = t
	return nil
}

// nullString scans a nullable text column into a string ("" for NULL).
type nullString struct{ dst *string }

func (c nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = ""
	case string:
		*c.dst = v
	case []byte:
		*c.dst = string(v)
	default:
		return fmt.Errorf("text column: unexpected %T", src)
	}
	return nil
}

// nullIfEmpty stores "" as NULL, for unique columns where empty means absent.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonCol scans a JSON column into dst.
type jsonCol struct{ dst any }

func (c jsonCol) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return fmt.Errorf("json column: unexpected %T", src)
	}
	if err := json.Unmarshal(raw, c.dst); err != nil {
		return fmt.Errorf("json column: %w", err)
	}
	return nil
}

// jsonText encodes v for a JSON column. nil slices and maps become null, so
// they come back nil.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json column: %w", err)
	}
	// json.Marshal writes a NUL as the escape \u0000, which PostgreSQL's
	// jsonb refuses (SQLSTATE 22P05) and SQLite keeps.
	if _, ok := wiretext.CheckJSON(b); !ok {
		return "", store.ErrInvalidText
	}
	return string(b), nil
}
