package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Usage aggregates, flushed by each replica from memory. They are not
// entities (see store.Tx): the writes mark the transaction unversioned, so
// it commits without a revision or change rows.

const (
	outcomeAllowed = "allowed"
	outcomeDenied  = "denied"
)

// largestUsageInsert is the most rows one upsert statement carries. Batches
// go in statements of power-of-two sizes up to it, so that a flush of any
// size uses at most eight statement shapes per table (the prepared
// statement cache is bounded) and stays far under both databases'
// bound-parameter limits.
const largestUsageInsert = 128

// chunks splits n rows into power-of-two statement sizes, largest first.
func chunks(n int) []int {
	var out []int
	for size := largestUsageInsert; n > 0; {
		if n >= size {
			out = append(out, size)
			n -= size
			continue
		}
		size /= 2
	}
	return out
}

func outcomeOf(denied bool) string {
	if denied {
		return outcomeDenied
	}
	return outcomeAllowed
}

// utcDay is the UTC midnight starting t's day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (t *tx) MergeUsage(ctx context.Context, b store.UsageBatch) (bool, error) {
	if err := t.writable("merge usage"); err != nil {
		return false, err
	}
	if b.Replica == "" {
		return false, fmt.Errorf("merge usage: the batch names no replica")
	}
	var last int64
	err := t.queryRow(ctx, `SELECT seq FROM usage_replicas WHERE replica_id = ?`, b.Replica).Scan(&last)
	switch err = mapErr(err); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return false, fmt.Errorf("merge usage of replica %q: %w", b.Replica, err)
	case b.Seq <= last:
		return false, nil
	}
	tokens, actions := mergeTokenRows(b.Tokens), mergeActionRows(b.Actions)
	if err := t.upsertTokenUsage(ctx, b.Replica, tokens); err != nil {
		return false, fmt.Errorf("merge token usage of replica %q: %w", b.Replica, err)
	}
	if err := t.upsertActionUsage(ctx, b.Replica, actions); err != nil {
		return false, fmt.Errorf("merge action usage of replica %q: %w", b.Replica, err)
	}
	_, err = t.exec(ctx, `INSERT INTO usage_replicas (replica_id, seq, flushed_at) VALUES (?, ?, ?)
		ON CONFLICT (replica_id) DO UPDATE SET seq = excluded.seq, flushed_at = excluded.flushed_at`,
		b.Replica, b.Seq, t.d.ts(time.Now()))
	if err != nil {
		return false, fmt.Errorf("merge usage of replica %q: record the batch: %w", b.Replica, err)
	}
	t.unversioned = true
	return true, nil
}

type tokenRowKey struct {
	principal, audience string
	day                 time.Time
}

// mergeTokenRows gives one row per key (PostgreSQL refuses an upsert that
// touches a row twice), with days at UTC midnight and missing times
// filled in. Rows without a count are dropped.
func mergeTokenRows(in []store.TokenUsage) []store.TokenUsage {
	at := make(map[tokenRowKey]int, len(in))
	out := make([]store.TokenUsage, 0, len(in))
	for _, u := range in {
		if u.Count <= 0 {
			continue
		}
		u.Day = utcDay(u.Day)
		if u.First.IsZero() {
			u.First = u.Day
		}
		if u.Last.IsZero() {
			u.Last = u.First
		}
		k := tokenRowKey{u.PrincipalID, u.Audience, u.Day}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, u)
			continue
		}
		out[i] = addToken(out[i], u)
	}
	return out
}

func addToken(a, b store.TokenUsage) store.TokenUsage {
	a.Count += b.Count
	if b.First.Before(a.First) {
		a.First = b.First
	}
	if b.Last.After(a.Last) {
		a.Last = b.Last
	}
	return a
}

type actionRowKey struct {
	principal, action, scope string
	denied                   bool
}

func mergeActionRows(in []store.ActionUsage) []store.ActionUsage {
	at := make(map[actionRowKey]int, len(in))
	out := make([]store.ActionUsage, 0, len(in))
	for _, u := range in {
		if u.Count <= 0 {
			continue
		}
		if u.Last.IsZero() {
			u.Last = u.First
		}
		if u.First.IsZero() {
			u.First = u.Last
		}
		k := actionRowKey{u.PrincipalID, lower(u.Action), lower(u.Scope), u.Denied}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, u)
			continue
		}
		out[i] = addAction(out[i], u)
	}
	return out
}

func addAction(a, b store.ActionUsage) store.ActionUsage {
	a.Count += b.Count
	if b.First.Before(a.First) {
		a.First = b.First
	}
	if b.Last.After(a.Last) {
		a.Last = b.Last
	}
	return a
}

// earliest and latest keep the first and last times across rows; the
// time columns of both backends compare as times (SQLite's text is
// fixed-width).
const (
	earliest = `CASE WHEN excluded.first_at < %[1]s.first_at THEN excluded.first_at ELSE %[1]s.first_at END`
	latest   = `CASE WHEN excluded.last_at > %[1]s.last_at THEN excluded.last_at ELSE %[1]s.last_at END`
)

func (t *tx) upsertTokenUsage(ctx context.Context, replica string, rows []store.TokenUsage) error {
	for _, n := range chunks(len(rows)) {
		batch := rows[:n]
		rows = rows[n:]
		args := make([]any, 0, 7*n)
		for _, u := range batch {
			args = append(args, replica, u.PrincipalID, u.Audience, t.d.ts(u.Day), u.Count, t.d.ts(u.First), t.d.ts(u.Last))
		}
		_, err := t.exec(ctx, `INSERT INTO usage_tokens (replica_id, principal_id, audience, day, count, first_at, last_at) VALUES `+
			valueRows(n, 7)+` ON CONFLICT (replica_id, principal_id, audience, day) DO UPDATE SET
			count = usage_tokens.count + excluded.count, first_at = `+fmt.Sprintf(earliest, "usage_tokens")+`,
			last_at = `+fmt.Sprintf(latest, "usage_tokens"), args...)
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) upsertActionUsage(ctx context.Context, replica string, rows []store.ActionUsage) error {
	for _, n := range chunks(len(rows)) {
		batch := rows[:n]
		rows = rows[n:]
		args := make([]any, 0, 10*n)
		for _, u := range batch {
			args = append(args, replica, u.PrincipalID, lower(u.Action), lower(u.Scope), outcomeOf(u.Denied),
				u.Action, u.Scope, u.Count, t.d.ts(u.First), t.d.ts(u.Last))
		}
		_, err := t.exec(ctx, `INSERT INTO usage_actions (replica_id, principal_id, action_lower, scope_lower, outcome, action, scope, count, first_at, last_at) VALUES `+
			valueRows(n, 10)+` ON CONFLICT (replica_id, principal_id, action_lower, scope_lower, outcome) DO UPDATE SET
			count = usage_actions.count + excluded.count, first_at = `+fmt.Sprintf(earliest, "usage_actions")+`,
			last_at = `+fmt.Sprintf(latest, "usage_actions"), args...)
		if err != nil {
			return err
		}
	}
	return nil
}

// valueRows renders n VALUES rows of cols placeholders each.
func valueRows(n, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// ListUsage reads every replica's rows of the principals and merges them
// in Go: the rows of one principal are few (audiences times days, actions
// times scopes), and merging here keeps the SQL alike on both backends.
func (t *tx) ListUsage(ctx context.Context, f store.UsageFilter) (store.Usage, error) {
	var tw, aw where
	if len(f.PrincipalIDs) > 0 {
		in := "principal_id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(f.PrincipalIDs)), ", ") + ")"
		args := make([]any, len(f.PrincipalIDs))
		for i, p := range f.PrincipalIDs {
			args[i] = p
		}
		tw.add(in, args...)
		aw.add(in, args...)
	}
	if !f.Since.IsZero() {
		tw.add(`day >= ?`, t.d.ts(utcDay(f.Since)))
		aw.add(`last_at >= ?`, t.d.ts(f.Since))
	}
	tokens, err := list(ctx, t, scanTokenUsage, `SELECT principal_id, audience, day, count, first_at, last_at FROM usage_tokens`+tw.sql(), tw.args...)
	if err != nil {
		return store.Usage{}, fmt.Errorf("list token usage: %w", err)
	}
	actions, err := list(ctx, t, scanActionUsage, `SELECT principal_id, action, scope, outcome, count, first_at, last_at FROM usage_actions`+aw.sql(), aw.args...)
	if err != nil {
		return store.Usage{}, fmt.Errorf("list action usage: %w", err)
	}
	// Replicas' rows of one key merge into the first read; an action's
	// casing is the earliest-seen row's.
	sort.SliceStable(actions, func(i, j int) bool { return actions[i].First.Before(actions[j].First) })
	out := store.Usage{Tokens: mergeTokenRows(tokens), Actions: mergeActionRows(actions)}
	sort.Slice(out.Tokens, func(i, j int) bool {
		a, b := out.Tokens[i], out.Tokens[j]
		if a.PrincipalID != b.PrincipalID {
			return a.PrincipalID < b.PrincipalID
		}
		if a.Audience != b.Audience {
			return a.Audience < b.Audience
		}
		return a.Day.Before(b.Day)
	})
	sort.Slice(out.Actions, func(i, j int) bool {
		a, b := out.Actions[i], out.Actions[j]
		if a.PrincipalID != b.PrincipalID {
			return a.PrincipalID < b.PrincipalID
		}
		if x, y := lower(a.Action), lower(b.Action); x != y {
			return x < y
		}
		if x, y := lower(a.Scope), lower(b.Scope); x != y {
			return x < y
		}
		return !a.Denied && b.Denied
	})
	return out, nil
}

func scanTokenUsage(row scanner) (store.TokenUsage, error) {
	var u store.TokenUsage
	err := row.Scan(&u.PrincipalID, &u.Audience, timeCol{&u.Day}, &u.Count, timeCol{&u.First}, timeCol{&u.Last})
	return u, err
}

func scanActionUsage(row scanner) (store.ActionUsage, error) {
	var (
		u       store.ActionUsage
		outcome string
	)
	err := row.Scan(&u.PrincipalID, &u.Action, &u.Scope, &outcome, &u.Count, timeCol{&u.First}, timeCol{&u.Last})
	u.Denied = outcome == outcomeDenied
	return u, err
}

func (t *tx) CompactUsage(ctx context.Context, before time.Time) (int, error) {
	if err := t.writable("compact usage"); err != nil {
		return 0, err
	}
	n := 0
	for _, q := range []struct {
		query string
		arg   any
	}{
		{`DELETE FROM usage_tokens WHERE day < ?`, t.d.ts(utcDay(before))},
		{`DELETE FROM usage_actions WHERE last_at < ?`, t.d.ts(before)},
		{`DELETE FROM usage_replicas WHERE flushed_at < ?`, t.d.ts(before)},
	} {
		res, err := t.exec(ctx, q.query, q.arg)
		if err != nil {
			return 0, fmt.Errorf("compact usage: %w", err)
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("compact usage: %w", err)
		}
		n += int(deleted)
	}
	t.unversioned = true
	return n, nil
}
