package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// usageBehaviours pin the flush of in-memory usage aggregates: counts add
// up per replica and key, a batch merged twice adds nothing, replicas'
// rows are merged on read, retention compacts, and none of it is in the
// change feed.
var usageBehaviours = []behaviour{
	{"usage/a flush adds counts per key, keeps the earliest first and latest last, and bumps no revision", func(t *testing.T, s store.Store) {
		day := t0.Truncate(24 * time.Hour)
		before := revision(t, s)
		merge(t, s, store.UsageBatch{Replica: "r1", Seq: 1,
			Tokens: []store.TokenUsage{
				{PrincipalID: "p1", Audience: "https://vault.azure.net", Day: t0, Count: 2, First: t0, Last: t0.Add(time.Minute)},
				// The same key twice in one batch adds up.
				{PrincipalID: "p1", Audience: "https://vault.azure.net", Day: t0, Count: 1, First: t0.Add(-time.Minute), Last: t0},
			},
			Actions: []store.ActionUsage{{PrincipalID: "p1", Action: "Microsoft.Resources/subscriptions/resourceGroups/read", Scope: rgID, Count: 1, First: t0, Last: t0}},
		}, true)
		merge(t, s, store.UsageBatch{Replica: "r1", Seq: 2,
			Tokens:  []store.TokenUsage{{PrincipalID: "p1", Audience: "https://vault.azure.net", Day: t0, Count: 4, First: t0.Add(time.Hour), Last: t0.Add(2 * time.Hour)}},
			Actions: []store.ActionUsage{{PrincipalID: "p1", Action: "Microsoft.Resources/subscriptions/resourceGroups/read", Scope: rgID, Count: 2, First: t0.Add(time.Hour), Last: t0.Add(time.Hour)}},
		}, true)
		wantNothingWritten(t, s, before)
		got := listUsage(t, s, store.UsageFilter{})
		wantEqual(t, "tokens", got.Tokens, []store.TokenUsage{
			{PrincipalID: "p1", Audience: "https://vault.azure.net", Day: day, Count: 7, First: t0.Add(-time.Minute), Last: t0.Add(2 * time.Hour)},
		})
		wantEqual(t, "actions", got.Actions, []store.ActionUsage{
			{PrincipalID: "p1", Action: "Microsoft.Resources/subscriptions/resourceGroups/read", Scope: rgID, Count: 3, First: t0, Last: t0.Add(time.Hour)},
		})
	}},
	{"usage/a batch merged again adds nothing", func(t *testing.T, s store.Store) {
		b := store.UsageBatch{Replica: "r1", Seq: 5, Tokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: t0, Count: 3, First: t0, Last: t0}}}
		merge(t, s, b, true)
		// A flush whose commit answered with an error is sent again.
		merge(t, s, b, false)
		// So is an older one, after a newer one went through.
		b.Seq = 4
		merge(t, s, b, false)
		got := listUsage(t, s, store.UsageFilter{})
		if len(got.Tokens) != 1 || got.Tokens[0].Count != 3 {
			t.Fatalf("tokens after the repeat: %+v, want one row counting 3", got.Tokens)
		}
	}},
	{"usage/two replicas flush their own rows and reads merge them", func(t *testing.T, s store.Store) {
		day := t0.Truncate(24 * time.Hour)
		next := day.Add(24 * time.Hour)
		merge(t, s, store.UsageBatch{Replica: "r1", Seq: 1,
			Tokens: []store.TokenUsage{
				{PrincipalID: "p1", Audience: "aud", Day: t0, Count: 2, First: t0.Add(time.Minute), Last: t0.Add(time.Hour)},
				{PrincipalID: "p2", Audience: "aud", Day: t0, Count: 1, First: t0, Last: t0},
			},
			Actions: []store.ActionUsage{
				{PrincipalID: "p1", Action: "Microsoft.Web/sites/write", Scope: rgID, Count: 1, First: t0, Last: t0},
				{PrincipalID: "p1", Action: "Microsoft.Web/sites/write", Scope: rgID, Denied: true, Count: 1, First: t0, Last: t0},
			},
		}, true)
		// Replica r2 starts at Seq 1 too: sequences are per replica.
		merge(t, s, store.UsageBatch{Replica: "r2", Seq: 1,
			Tokens: []store.TokenUsage{
				{PrincipalID: "p1", Audience: "aud", Day: t0, Count: 5, First: t0, Last: t0.Add(30 * time.Minute)},
				{PrincipalID: "p1", Audience: "aud", Day: next, Count: 1, First: next, Last: next},
			},
			// Actions and scopes compare case-insensitively; the casing
			// first seen is kept.
			Actions: []store.ActionUsage{{PrincipalID: "p1", Action: "microsoft.web/SITES/write", Scope: lowerASCII(rgID), Count: 4, First: t0.Add(time.Hour), Last: t0.Add(time.Hour)}},
		}, true)
		got := listUsage(t, s, store.UsageFilter{PrincipalIDs: []string{"p1"}})
		wantEqual(t, "tokens of p1", got.Tokens, []store.TokenUsage{
			{PrincipalID: "p1", Audience: "aud", Day: day, Count: 7, First: t0, Last: t0.Add(time.Hour)},
			{PrincipalID: "p1", Audience: "aud", Day: next, Count: 1, First: next, Last: next},
		})
		wantEqual(t, "actions of p1", got.Actions, []store.ActionUsage{
			{PrincipalID: "p1", Action: "Microsoft.Web/sites/write", Scope: rgID, Count: 5, First: t0, Last: t0.Add(time.Hour)},
			{PrincipalID: "p1", Action: "Microsoft.Web/sites/write", Scope: rgID, Denied: true, Count: 1, First: t0, Last: t0},
		})
		// A replica's own second flush still adds to its own rows only.
		merge(t, s, store.UsageBatch{Replica: "r2", Seq: 2, Tokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: t0, Count: 1, First: t0.Add(2 * time.Hour), Last: t0.Add(2 * time.Hour)}}}, true)
		got = listUsage(t, s, store.UsageFilter{PrincipalIDs: []string{"p1"}, Since: next})
		wantEqual(t, "tokens of p1 since the next day", got.Tokens, []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: next, Count: 1, First: next, Last: next}})
		if len(got.Actions) != 0 {
			t.Fatalf("actions last seen before since: %+v", got.Actions)
		}
		got = listUsage(t, s, store.UsageFilter{PrincipalIDs: []string{"p1", "p2"}})
		if len(got.Tokens) != 3 || got.Tokens[0].Count != 8 || got.Tokens[2].PrincipalID != "p2" {
			t.Fatalf("tokens of p1 and p2: %+v", got.Tokens)
		}
	}},
	{"usage/a flush larger than one statement is merged whole", func(t *testing.T, s store.Store) {
		var b store.UsageBatch
		b.Replica, b.Seq = "r1", 1
		for i := range 300 {
			b.Tokens = append(b.Tokens, store.TokenUsage{PrincipalID: fmt.Sprintf("p%03d", i), Audience: "aud", Day: t0, Count: int64(i + 1), First: t0, Last: t0})
			b.Actions = append(b.Actions, store.ActionUsage{PrincipalID: "p1", Action: "a/read", Scope: fmt.Sprintf("%s/providers/X.Y/z/%03d", rgID, i), Count: 1, First: t0, Last: t0})
		}
		merge(t, s, b, true)
		got := listUsage(t, s, store.UsageFilter{})
		if len(got.Tokens) != 300 || len(got.Actions) != 300 || got.Tokens[299].Count != 300 {
			t.Fatalf("%d token rows, %d action rows after a flush of 300 each", len(got.Tokens), len(got.Actions))
		}
	}},
	{"usage/compaction deletes days and actions older than the retention", func(t *testing.T, s store.Store) {
		old, recent := t0.Add(-100*24*time.Hour), t0
		merge(t, s, store.UsageBatch{Replica: "r1", Seq: 1,
			Tokens: []store.TokenUsage{
				{PrincipalID: "p1", Audience: "aud", Day: old, Count: 1, First: old, Last: old},
				{PrincipalID: "p1", Audience: "aud", Day: recent, Count: 2, First: recent, Last: recent},
			},
			Actions: []store.ActionUsage{
				{PrincipalID: "p1", Action: "a/read", Scope: "/", Count: 1, First: old, Last: old},
				{PrincipalID: "p1", Action: "b/read", Scope: "/", Count: 1, First: old, Last: recent},
			},
		}, true)
		before := revision(t, s)
		var n int
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			var err error
			n, err = tx.CompactUsage(ctx, t0.Add(-90*24*time.Hour))
			return err
		})
		if n != 2 {
			t.Fatalf("compaction deleted %d rows, want 2", n)
		}
		wantNothingWritten(t, s, before)
		got := listUsage(t, s, store.UsageFilter{})
		if len(got.Tokens) != 1 || got.Tokens[0].Count != 2 || len(got.Actions) != 1 || got.Actions[0].Action != "b/read" {
			t.Fatalf("after compaction: %+v", got)
		}
		// Compacting again finds nothing.
		update(t, s, func(ctx context.Context, tx store.Tx) error {
			var err error
			n, err = tx.CompactUsage(ctx, t0.Add(-90*24*time.Hour))
			return err
		})
		if n != 0 {
			t.Fatalf("second compaction deleted %d", n)
		}
	}},
	{"usage/text no backend holds is refused and nothing is written", func(t *testing.T, s store.Store) {
		cases := []struct {
			name  string
			batch store.UsageBatch
		}{
			{"audience", store.UsageBatch{Tokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "a\x00b", Day: t0, Count: 1}}}},
			{"principal", store.UsageBatch{Tokens: []store.TokenUsage{{PrincipalID: "p\xff", Audience: "aud", Day: t0, Count: 1}}}},
			{"scope", store.UsageBatch{Actions: []store.ActionUsage{{PrincipalID: "p1", Action: "a/read", Scope: "/x\x00", Count: 1, First: t0}}}},
			{"replica", store.UsageBatch{Replica: "r\x00"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.batch.Replica == "" {
					tc.batch.Replica = "r1"
				}
				tc.batch.Seq = 1
				before := revision(t, s)
				_, err := s.Update(t.Context(), func(tx store.Tx) error {
					if err := tx.PutMeta(t.Context(), "text-probe", []byte("x")); err != nil {
						return err
					}
					_, err := tx.MergeUsage(t.Context(), tc.batch)
					return err
				})
				if !errors.Is(err, store.ErrInvalidText) {
					t.Fatalf("merge: err = %v, want ErrInvalidText", err)
				}
				wantNothingWritten(t, s, before)
				if got := listUsage(t, s, store.UsageFilter{}); len(got.Tokens)+len(got.Actions) != 0 {
					t.Fatalf("usage kept: %+v", got)
				}
			})
		}
	}},
	{"usage/a failed Update keeps none of its usage, and a View cannot merge", func(t *testing.T, s store.Store) {
		boom := errors.New("boom")
		b := store.UsageBatch{Replica: "r1", Seq: 1, Tokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: t0, Count: 1, First: t0, Last: t0}}}
		_, err := s.Update(t.Context(), func(tx store.Tx) error {
			if _, err := tx.MergeUsage(t.Context(), b); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, "failed update", err, boom)
		if got := listUsage(t, s, store.UsageFilter{}); len(got.Tokens) != 0 {
			t.Fatalf("usage of a rolled-back update: %+v", got.Tokens)
		}
		// The batch was not recorded as merged either: sending it again
		// applies it.
		merge(t, s, b, true)
		err = s.View(t.Context(), func(tx store.Tx) error {
			_, err := tx.MergeUsage(t.Context(), store.UsageBatch{Replica: "r1", Seq: 9})
			return err
		})
		wantErr(t, "merge in a view", err, store.ErrReadOnly)
	}},
	{"usage/a flush with entity writes commits one revision for the entities", func(t *testing.T, s store.Store) {
		before := revision(t, s)
		rev := update(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.MergeUsage(ctx, store.UsageBatch{Replica: "r1", Seq: 1, Tokens: []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: t0, Count: 1}}}); err != nil {
				return err
			}
			return tx.PutMeta(ctx, "k", []byte("v"))
		})
		if rev != before+1 {
			t.Fatalf("revision %d, want %d", rev, before+1)
		}
		wantEqual(t, "changes", stripTimes(changes(t, s, before)), []change{{rev, store.KindMeta, "k", store.OpPut}})
		got := listUsage(t, s, store.UsageFilter{})
		// A row without times takes its day as first and last time.
		day := t0.Truncate(24 * time.Hour)
		wantEqual(t, "tokens", got.Tokens, []store.TokenUsage{{PrincipalID: "p1", Audience: "aud", Day: day, Count: 1, First: day, Last: day}})
	}},
}

// merge runs MergeUsage in its own Update and checks whether it applied.
func merge(t *testing.T, s store.Store, b store.UsageBatch, wantApplied bool) {
	t.Helper()
	var applied bool
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		applied, err = tx.MergeUsage(ctx, b)
		return err
	})
	if applied != wantApplied {
		t.Fatalf("MergeUsage(replica %q, seq %d) applied = %v, want %v", b.Replica, b.Seq, applied, wantApplied)
	}
}

func listUsage(t *testing.T, s store.Store, f store.UsageFilter) store.Usage {
	t.Helper()
	var u store.Usage
	view(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		u, err = tx.ListUsage(ctx, f)
		return err
	})
	return u
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
