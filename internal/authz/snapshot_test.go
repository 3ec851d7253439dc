package authz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/guid"
	"github.com/keyless-io/keyless/internal/snapshot"
	"github.com/keyless-io/keyless/internal/store"
)

// snapshotOf writes the engine's snapshot at its applied revision and
// opens it again.
func snapshotOf(t *testing.T, e *Engine) *snapshot.Reader {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authz.snapshot")
	w, err := snapshot.Create(path, snapshot.Header{Kind: SnapshotKind, Tenant: "t", Revision: e.Revision(), Written: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteSnapshot(context.Background(), w); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := snapshot.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rawSnapshot writes an engine snapshot whose records body writes, and
// opens it again.
func rawSnapshot(t *testing.T, body func(w *snapshot.Writer)) *snapshot.Reader {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	w, err := snapshot.Create(path, snapshot.Header{Kind: SnapshotKind, Revision: 1})
	if err != nil {
		t.Fatal(err)
	}
	body(w)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := snapshot.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// contents is everything the engine holds about assignments, in a
// comparable form. Scopes are compared case-insensitively when fold is
// set: an interned scope keeps the casing it first arrived in, which
// depends on the order of arrival.
func contents(e *Engine, fold bool) map[string][]store.AssignmentGrant {
	out := e.GrantsByPrincipal()
	for _, gs := range out {
		if fold {
			for i := range gs {
				gs[i].Scope = strings.ToLower(gs[i].Scope)
			}
		}
		slices.SortFunc(gs, func(a, b store.AssignmentGrant) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}

// sameContents reports the first few differences.
func sameContents(t *testing.T, got, want map[string][]store.AssignmentGrant) {
	t.Helper()
	shown := 0
	for p, w := range want {
		if g := got[p]; !reflect.DeepEqual(g, w) && shown < 5 {
			shown++
			t.Errorf("principal %s: %d assignments, want %d; first got %v, want %v", p, len(g), len(w), first(g), first(w))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok && shown < 5 {
			shown++
			t.Errorf("principal %s holds %d assignments it should not", p, len(g))
		}
	}
}

func first(gs []store.AssignmentGrant) any {
	if len(gs) == 0 {
		return nil
	}
	return gs[0]
}

// snapshotWorld fills a store with every kind of assignment name (lower-
// and upper-case GUIDs, other names), scopes sharing ancestors, custom
// roles, nested groups and a management group.
func snapshotWorld(t *testing.T, r *rand.Rand, n int) *fakeStore {
	s := newFakeStore()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.PutRoleDefinition(ctx, store.RoleDefinition{ID: "c0000000-0000-0000-0000-000000000001", RoleName: "custom",
			Permissions: []store.Permission{{Actions: []string{"Microsoft.Web/*"}}}}); err != nil {
			return err
		}
		for _, g := range []string{"g1", "g2"} {
			if err := tx.CreatePrincipal(ctx, store.Principal{ObjectID: g, Kind: store.PrincipalGroup}); err != nil {
				return err
			}
		}
		if err := tx.AddGroupMember(ctx, "g1", "p1"); err != nil {
			return err
		}
		if err := tx.AddGroupMember(ctx, "g2", "g1"); err != nil {
			return err
		}
		if _, err := tx.PutManagementGroup(ctx, store.ManagementGroup{Name: "root"}); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := tx.CreateRoleAssignment(ctx, randomAssignment(r, i)); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

func randomAssignment(r *rand.Rand, i int) store.RoleAssignment {
	var g guid.GUID
	for j := range g {
		g[j] = byte(r.UintN(256))
	}
	name := g.String()
	switch r.IntN(6) {
	case 0:
		name = strings.ToUpper(name)
	case 1:
		name = fmt.Sprintf("Assignment-%d", i)
	}
	scopes := []string{"/", "/subscriptions/S1", "/subscriptions/s1/resourceGroups/RG",
		"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/" + fmt.Sprint(r.IntN(20)),
		"/providers/Microsoft.Management/managementGroups/root"}
	principals := []string{"p1", "P2", "p3", "g1", "g2", fmt.Sprintf("many-%d", r.IntN(400))}
	roles := []string{RoleReader, RoleOwner, "c0000000-0000-0000-0000-000000000001", "C0000000-0000-0000-0000-000000000001", "d0000000-0000-0000-0000-00000000dead"}
	return store.RoleAssignment{Name: name, PrincipalID: principals[r.IntN(len(principals))],
		RoleDefinitionID: roles[r.IntN(len(roles))], Scope: scopes[r.IntN(len(scopes))]}
}

func TestSnapshotRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := snapshotWorld(t, r, 400)
	e := New()
	if err := e.LoadFrom(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	snap := snapshotOf(t, e)
	loaded := New()
	if err := loaded.LoadSnapshot(context.Background(), s, snap); err != nil {
		t.Fatal(err)
	}
	if loaded.Revision() != e.Revision() {
		t.Errorf("loaded at revision %d, want %d", loaded.Revision(), e.Revision())
	}
	if got, want := loaded.Stats(), e.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	sameContents(t, contents(loaded, false), contents(e, false))
	for _, p := range []string{"p1", "p2", "P3", "g1", "g2"} {
		for _, scope := range []string{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/3", "/subscriptions/s2", "/"} {
			for _, action := range []string{"Microsoft.Web/sites/write", "Microsoft.Compute/virtualMachines/read", "Microsoft.Authorization/roleAssignments/write"} {
				if got, want := loaded.Allowed(p, action, scope), e.Allowed(p, action, scope); got != want {
					t.Errorf("Allowed(%s, %s, %s) = %v after the snapshot, %v before", p, action, scope, got, want)
				}
			}
		}
	}
	// Incremental updates work on a loaded index as on a built one.
	for _, gs := range contents(e, false) {
		for _, g := range gs {
			loaded.DeleteAssignment(g.Name)
		}
	}
	if st := loaded.Stats(); st.Assignments != 0 {
		t.Errorf("%d assignments left after deleting every one", st.Assignments)
	}
}

// A snapshot written while the engine follows a changing store, and then
// loaded and caught up from its revision, holds exactly what the store
// holds: the fuzzy snapshot plus the change feed is exact.
func TestSnapshotWhileChangingCatchesUpExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := snapshotWorld(t, r, 2000)
	e := New()
	following(t, s, e)
	old := snapshotChunk
	snapshotChunk = 1
	t.Cleanup(func() { snapshotChunk = old })

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := rand.New(rand.NewPCG(5, 6))
		for i := 10000; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			update(t, s, func(ctx context.Context, tx store.Tx) error {
				s.mu.Unlock() // the fake's Update holds its lock; read a name without it
				var victim string
				for name := range s.assignments {
					victim = name
					break
				}
				s.mu.Lock()
				if victim != "" && r.IntN(2) == 0 {
					return tx.DeleteRoleAssignment(ctx, victim)
				}
				return tx.CreateRoleAssignment(ctx, randomAssignment(r, i))
			})
			time.Sleep(50 * time.Microsecond)
		}
	}()
	time.Sleep(5 * time.Millisecond)
	before, _ := s.Revision(context.Background())
	snap := snapshotOf(t, e)
	after, _ := s.Revision(context.Background())
	close(stop)
	<-done
	if after == before {
		t.Fatal("nothing changed while the snapshot was written; the test proves nothing")
	}
	t.Logf("%d revisions committed while the snapshot was written", after-before)

	loaded := New()
	if err := loaded.LoadSnapshot(context.Background(), s, snap); err != nil {
		t.Fatal(err)
	}
	if err := loaded.CatchUp(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	fresh := New()
	if err := fresh.LoadFrom(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sameContents(t, contents(loaded, true), contents(fresh, true))
	if got, want := loaded.Stats(), fresh.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

// A snapshot whose records do not hang together is refused, and the
// engine keeps what it had.
func TestLoadSnapshotRefusesBadRecords(t *testing.T) {
	s := newFakeStore()
	update(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateRoleAssignment(ctx, store.RoleAssignment{Name: "kept", PrincipalID: "p1", RoleDefinitionID: RoleReader, Scope: "/"})
	})
	cases := map[string]func(w *snapshot.Writer){
		"undefined principal": func(w *snapshot.Writer) {
			w.Byte(recRole)
			w.String(strings.ToLower(RoleReader))
			w.Byte(recAssignment)
			w.Uvarint(0)
			w.Uvarint(0)
			w.Uvarint(0)
			w.Byte(0)
			w.Bytes16(guid.GUID{1})
			w.Byte(recEnd)
		},
		"scope with a slash": func(w *snapshot.Writer) {
			w.Byte(recScope)
			w.Uvarint(0)
			w.String("a/b")
			w.Byte(recEnd)
		},
		"undefined parent scope": func(w *snapshot.Writer) {
			w.Byte(recScope)
			w.Uvarint(5)
			w.String("a")
			w.Byte(recEnd)
		},
		"upper-case principal": func(w *snapshot.Writer) {
			w.Byte(recPrincipal)
			w.String("P1")
			w.Byte(recEnd)
		},
		"unknown record": func(w *snapshot.Writer) { w.Byte(99) },
		"no end":         func(w *snapshot.Writer) {},
		"data after the end": func(w *snapshot.Writer) {
			w.Byte(recEnd)
			w.Byte(recEnd)
		},
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			e := New()
			if err := e.LoadFrom(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if err := e.LoadSnapshot(context.Background(), s, rawSnapshot(t, body)); err == nil {
				t.Fatal("a bad snapshot was loaded")
			}
			if !e.Allowed("p1", "Microsoft.Web/sites/read", "/x") {
				t.Error("the engine lost what it held before the bad snapshot")
			}
		})
	}
	// A snapshot of another index is refused before anything is read.
	path := filepath.Join(t.TempDir(), "s")
	w, _ := snapshot.Create(path, snapshot.Header{Kind: "directory"})
	w.Byte(recEnd)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	rd, err := snapshot.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := New().LoadSnapshot(context.Background(), s, rd); err == nil {
		t.Error("a directory snapshot was loaded into the engine")
	}
}

// An assignment deleted and created again (same name, other principal and
// scope) while a snapshot is written can be in it twice; the later record
// is the one that counts, and nothing of the earlier one is left to
// grant, for GUID names and others alike.
func TestLoadSnapshotKeepsTheLaterOfTwoRecords(t *testing.T) {
	s := newFakeStore()
	g := guid.GUID{0xab, 1, 2, 3}
	rd := rawSnapshot(t, func(w *snapshot.Writer) {
		w.Byte(recRole)
		w.String(strings.ToLower(RoleOwner))
		w.Byte(recRole)
		w.String(strings.ToLower(RoleReader))
		w.Byte(recScope) // 1: /a
		w.Uvarint(0)
		w.String("a")
		w.Byte(recScope) // 2: /b
		w.Uvarint(0)
		w.String("b")
		w.Byte(recScope) // 3: /a/c, the earlier record's alone
		w.Uvarint(1)
		w.String("c")
		for _, p := range []string{"p1", "p2"} {
			w.Byte(recPrincipal)
			w.String(p)
		}
		record := func(principal, scope, role uint64, name string) {
			w.Byte(recAssignment)
			w.Uvarint(principal)
			w.Uvarint(scope)
			w.Uvarint(role)
			if name == "" {
				w.Byte(0)
				w.Bytes16(g)
			} else {
				w.Byte(1)
				w.String(name)
			}
		}
		record(0, 3, 0, "")        // p1 Owner at /a/c ...
		record(0, 3, 0, "odd-one") // ... twice
		record(0, 1, 1, "")        // the GUID a second time: p1 Reader at /a
		record(1, 2, 1, "")        // then the same names: p2 Reader at /b
		record(1, 2, 1, "ODD-ONE")
		w.Byte(recEnd)
	})
	e := New()
	if err := e.LoadSnapshot(context.Background(), s, rd); err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"/a/c", "/a"} {
		if e.Allowed("p1", "Microsoft.Web/sites/read", scope) {
			t.Errorf("p1 still holds a role at %s from a record written over", scope)
		}
	}
	if !e.Allowed("p2", "Microsoft.Web/sites/read", "/b") || e.Allowed("p2", "Microsoft.Web/sites/write", "/b") {
		t.Error("p2 does not hold exactly Reader at /b")
	}
	if st := e.Stats(); st.Assignments != 2 || st.Principals != 1 {
		t.Errorf("stats %+v, want 2 assignments of 1 principal", st)
	}
	got := contents(e, false)
	want := map[string][]store.AssignmentGrant{"p2": {
		{Name: "ODD-ONE", Scope: "/b", RoleDefinitionID: RoleReader, PrincipalID: "p2"},
		{Name: g.String(), Scope: "/b", RoleDefinitionID: RoleReader, PrincipalID: "p2"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contents %+v, want %+v", got, want)
	}
	// Of the scopes, only /b is still referred to, and interned.
	e.mu.RLock()
	n := len(e.idx.scopes)
	e.mu.RUnlock()
	if n != 1 {
		t.Errorf("%d scopes interned, want 1 (/b)", n)
	}
}
