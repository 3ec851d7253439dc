package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/wiretext"
)

// tx implements store.Tx over one database/sql transaction. The entity
// methods live in the tx_*.go files.
type tx struct {
	d        *dialect
	sqlTx    *sql.Tx
	readOnly bool
	// stmts caches prepared statements of this transaction's pool.
	stmts *stmtCache

	// pending is the change feed entries of this transaction, one per
	// (kind, key), written with the revision bump at commit.
	pending []store.Change
	touched map[changeKey]int
	// unversioned is set by writes that are not entities (usage
	// aggregates): with no pending change, the transaction still commits,
	// without a revision.
	unversioned bool
}

type changeKey struct {
	kind store.Kind
	key  string
}

var _ store.Tx = (*tx)(nil)

func newTx(d *dialect, sqlTx *sql.Tx, readOnly bool, stmts *stmtCache) *tx {
	return &tx{d: d, sqlTx: sqlTx, readOnly: readOnly, stmts: stmts}
}

// writable guards every write method.
func (t *tx) writable(what string) error {
	if t.readOnly {
		return fmt.Errorf("%s: %w", what, store.ErrReadOnly)
	}
	return nil
}

// record notes that this transaction wrote (kind, key). Touching a key twice
// keeps one entry with the last op, so a reader sees one change per key.
func (t *tx) record(kind store.Kind, key string, op store.Op) {
	k := changeKey{kind, key}
	if i, ok := t.touched[k]; ok {
		t.pending[i].Op = op
		return
	}
	if t.touched == nil {
		t.touched = make(map[changeKey]int)
	}
	t.touched[k] = len(t.pending)
	t.pending = append(t.pending, store.Change{Kind: kind, Key: key, Op: op})
}

// changesPerInsert keeps a multi-row insert well under both databases'
// bound-parameter limits.
const changesPerInsert = 500

// commitChanges writes the pending changes under a new revision and returns
// it. The caller commits.
//
// SQLite bumps the revision from current, which its single writer read at
// the start. PostgreSQL takes the next one after revision_seq: the caller
// holds the commit lock, so revisions are taken in the order they become
// visible.
func (t *tx) commitChanges(ctx context.Context, current int64) (int64, error) {
	at := time.Now()
	if t.d.lockCommits != "" {
		return t.commitChangesPostgres(ctx, at)
	}
	rev := current + 1
	// Batches past the first go in statements of their own; the first goes
	// with the bump.
	for start := changesPerInsert; start < len(t.pending); start += changesPerInsert {
		values, args := t.changeRows(rev, start, at)
		if _, err := t.exec(ctx, `INSERT INTO changes (revision, seq, kind, key, op, at) VALUES `+values, args...); err != nil {
			return 0, fmt.Errorf("store: record changes of revision %d: %w", rev, err)
		}
	}
	values, args := t.changeRows(rev, 0, at)
	if _, err := t.exec(ctx, `UPDATE revision SET value = ? WHERE value = ?`, rev, current); err != nil {
		return 0, fmt.Errorf("store: bump revision: %w", err)
	}
	if _, err := t.exec(ctx, `INSERT INTO changes (revision, seq, kind, key, op, at) VALUES `+values, args...); err != nil {
		return 0, fmt.Errorf("store: record changes of revision %d: %w", rev, err)
	}
	return rev, nil
}

// commitChangesPostgres writes every change row under the next revision,
// queues the notification (delivered at commit) and records the revision
// in revision_seq, in one statement, so the commit lock is held for one
// round trip and the COMMIT. The changes go as arrays, whatever their number.
//
// revision_seq is read and set rather than drawn with nextval: it is outside
// every snapshot, and only the holder of the commit lock touches it, so the
// row inserts — where a transaction that SERIALIZABLE has already doomed
// learns it — come before the only step that is not rolled back. A failed
// commit can still leave a gap, never a reordering.
func (t *tx) commitChangesPostgres(ctx context.Context, at time.Time) (int64, error) {
	kinds := make([]string, len(t.pending))
	keys := make([]string, len(t.pending))
	ops := make([]string, len(t.pending))
	for i, c := range t.pending {
		if wiretext.Check(c.Key) != nil {
			return 0, store.ErrInvalidText
		}
		kinds[i], keys[i], ops[i] = string(c.Kind), c.Key, string(c.Op)
	}
	// setval reads every inserted row first, so it runs after them; r and
	// announced are read, so each runs once.
	const q = `WITH r AS (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END AS v FROM revision_seq), ` +
		`added AS (INSERT INTO changes (revision, seq, kind, key, op, at) ` +
		`SELECT r.v, x.seq, x.kind, x.key, x.op, ? FROM r, unnest(?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS x(kind, key, op, seq) ` +
		`RETURNING revision), ` +
		`announced AS (SELECT pg_notify(?, r.v::text) FROM r) ` +
		`SELECT setval('revision_seq', (SELECT MAX(revision) FROM added)) FROM announced`
	var rev int64
	if err := t.queryRow(ctx, q, t.d.ts(at), kinds, keys, ops, t.d.notifyChannel).Scan(&rev); err != nil {
		return 0, fmt.Errorf("store: commit changes: %w", mapErr(err))
	}
	return rev, nil
}

// changeRows renders one batch of pending changes, from index start, as
// VALUES rows and their arguments.
func (t *tx) changeRows(rev int64, start int, at time.Time) (string, []any) {
	batch := t.pending[start:min(start+changesPerInsert, len(t.pending))]
	var q strings.Builder
	args := make([]any, 0, 6*len(batch))
	for i, c := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, rev, start+i+1, string(c.Kind), c.Key, string(c.Op), t.d.ts(at))
	}
	return q.String(), args
}

// queryChanges lists changes matching where (a WHERE ... ORDER BY clause)
// and the seq of the last one.
func (t *tx) queryChanges(ctx context.Context, where string, args ...any) ([]store.Change, int64, error) {
	rows, err := t.query(ctx, `SELECT revision, seq, kind, key, op, at FROM changes `+where, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		out []store.Change
		seq int64
	)
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Revision, &seq, &c.Kind, &c.Key, &c.Op, timeCol{&c.At}); err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, seq, rows.Err()
}

// checkArgs refuses text arguments no backend may be handed (see
// store.ErrInvalidText). Byte arguments are binary columns, which hold
// anything on both backends.
func checkArgs(args []any) error {
	for _, a := range args {
		if s, ok := a.(string); ok && wiretext.Check(s) != nil {
			return store.ErrInvalidText
		}
	}
	return nil
}

// errRow is the row of a query that was refused before it ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	query = t.d.rebind(query)
	if st := t.stmts.get(ctx, query); st != nil {
		res, err := t.sqlTx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return res, mapErr(err)
	}
	res, err := t.sqlTx.ExecContext(ctx, query, args...)
	return res, mapErr(err)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	query = t.d.rebind(query)
	if st := t.stmts.get(ctx, query); st != nil {
		rows, err := t.sqlTx.StmtContext(ctx, st).QueryContext(ctx, args...)
		return rows, mapErr(err)
	}
	rows, err := t.sqlTx.QueryContext(ctx, query, args...)
	return rows, mapErr(err)
}

// queryRow runs a one-row query. Like every statement, a lookup by text no
// backend can hold fails with ErrInvalidText on every backend alike.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) scanner {
	if err := checkArgs(args); err != nil {
		return errRow{err}
	}
	query = t.d.rebind(query)
	if st := t.stmts.get(ctx, query); st != nil {
		return t.sqlTx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.sqlTx.QueryRowContext(ctx, query, args...)
}

// exists reports whether query returns a row.
func (t *tx) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := t.queryRow(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, mapErr(err)
	}
	return true, nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING and records the change.
// A conflict on any key or unique column is ErrAlreadyExists. Avoiding the
// constraint error matters on PostgreSQL, where an error statement aborts
// the whole transaction and the caller could not carry on.
func (t *tx) insert(ctx context.Context, kind store.Kind, key, query string, args ...any) error {
	res, err := t.exec(ctx, query+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrAlreadyExists
	}
	t.record(kind, key, store.OpPut)
	return nil
}

// change runs an UPDATE or DELETE that must hit exactly one row, and
// records the change. No row is ErrNotFound and writes nothing.
func (t *tx) change(ctx context.Context, kind store.Kind, key string, op store.Op, query string, args ...any) error {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	t.record(kind, key, op)
	return nil
}

// list runs query and scans every row.
func list[T any](ctx context.Context, t *tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// each runs query and hands every row to fn as it is read.
func each[T any](ctx context.Context, t *tx, scan func(scanner) (T, error), fn func(T) error, query string, args ...any) error {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// get runs query and scans its one row; no row is ErrNotFound.
func get[T any](ctx context.Context, t *tx, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(t.queryRow(ctx, query, args...))
	return v, mapErr(err)
}

// lower is the key form of an ID ARM compares case-insensitively.
func lower(id string) string { return strings.ToLower(id) }

// prefixRange returns bounds matching keys that start with prefix + "/":
// key >= prefix+"/" AND key < prefix+"0" ('0' is the byte after '/'). Key
// columns compare bytes on both backends, so this is an index range scan.
func prefixRange(prefix string) (from, to string) {
	return prefix + "/", prefix + "0"
}

// where builds a WHERE clause from optional filter conditions.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
