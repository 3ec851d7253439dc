package directory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/snapshot"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

func snapshotStore(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	ps := []store.Principal{
		{ObjectID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", AppID: "1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "id1", Kind: store.PrincipalUserAssigned, ResourceID: rg + "id1", CreatedAt: at},
		{ObjectID: "2B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0", AppID: "3b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "other name", Kind: store.PrincipalSystemAssigned, ResourceID: rg + "ID2", CreatedAt: at},
		{ObjectID: "p-uami", AppID: "c-uami", DisplayName: "id-web", Kind: store.PrincipalUserAssigned, ResourceID: "no-slash", CreatedAt: at},
		{ObjectID: "4b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "readers", Kind: store.PrincipalGroup, CreatedAt: at},
		{ObjectID: "5b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", AppID: "App-Odd", DisplayName: "ci", Kind: store.PrincipalServicePrincipal, CreatedAt: at},
		{ObjectID: "6b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", AppID: "7b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "automation", Kind: store.PrincipalServicePrincipal, CreatedAt: at},
	}
	for i := range 50 {
		ps = append(ps, store.Principal{ObjectID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), AppID: fmt.Sprintf("%08x-0000-4000-8000-000000000001", i),
			DisplayName: fmt.Sprintf("id-%d", i), Kind: store.PrincipalUserAssigned, ResourceID: fmt.Sprintf("%sg%d/id-%d", rg, i%3, i), CreatedAt: at})
	}
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		for _, p := range ps {
			if err := tx.CreatePrincipal(ctx, p); err != nil {
				return err
			}
		}
		return tx.CreateCredential(ctx, store.Credential{ID: "c1", PrincipalID: "6b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
			Kind: store.CredentialSecret, SecretHash: []byte("hash"), Hint: "abc", NotBefore: at, NotAfter: at.Add(time.Hour), CreatedAt: at})
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func writeSnapshot(t *testing.T, d *Directory) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "directory.snapshot")
	w, err := snapshot.Create(path, snapshot.Header{Kind: SnapshotKind, Revision: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteSnapshot(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return path
}

func everything(d *Directory) ([]store.Principal, map[string][]store.Credential) {
	ps, creds := d.Principals()
	slices.SortFunc(ps, func(a, b store.Principal) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	return ps, creds
}

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := snapshotStore(t)
	d, err := Load(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := writeSnapshot(t, d)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "hash") {
		t.Error("the snapshot holds credential material")
	}
	r, err := snapshot.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded := New(st, nil)
	if err := loaded.LoadSnapshot(ctx, r); err != nil {
		t.Fatal(err)
	}
	gotP, gotC := everything(loaded)
	wantP, wantC := everything(d)
	if !reflect.DeepEqual(gotP, wantP) {
		t.Errorf("principals differ:\n got %+v\nwant %+v", gotP, wantP)
	}
	if !reflect.DeepEqual(gotC, wantC) || len(gotC["6b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"]) != 1 {
		t.Errorf("credentials differ:\n got %+v\nwant %+v", gotC, wantC)
	}
	for _, id := range []string{"App-Odd", "app-odd", "1B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0", "c-uami"} {
		if _, ok := loaded.ByAppID(id); !ok {
			t.Errorf("ByAppID(%s) not found after the snapshot", id)
		}
	}
	for _, id := range []string{"2b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "P-UAMI", "4b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"} {
		if _, ok := loaded.ByObjectID(id); !ok {
			t.Errorf("ByObjectID(%s) not found after the snapshot", id)
		}
	}
	// Parent paths are shared again after a load.
	a, _ := loaded.ByObjectID("00000000-0000-4000-8000-000000000000")
	b, _ := loaded.ByObjectID("00000003-0000-4000-8000-000000000000")
	if a.Principal.ResourceID != rg+"g0/id-0" || b.Principal.ResourceID != rg+"g0/id-3" {
		t.Errorf("resource IDs %s, %s", a.Principal.ResourceID, b.Principal.ResourceID)
	}
	loaded.mu.RLock()
	ea, eb := loaded.ix.object("00000000-0000-4000-8000-000000000000"), loaded.ix.object("00000003-0000-4000-8000-000000000000")
	loaded.mu.RUnlock()
	if ea.parent != eb.parent || len(loaded.ix.parentPaths) != 4 {
		t.Errorf("parents %q %q, %d interned", ea.parent, eb.parent, len(loaded.ix.parentPaths))
	}
}

func TestLoadSnapshotRefusesBadRecords(t *testing.T) {
	ctx := context.Background()
	st := snapshotStore(t)
	cases := map[string]func(w *snapshot.Writer){
		"undefined parent": func(w *snapshot.Writer) {
			w.Byte(recEntry)
			w.Byte(0)
			w.Bytes16([16]byte{1})
			w.Byte(1)
			w.Uvarint(3)
			w.String("n")
			w.Byte(recEnd)
		},
		"bad kind": func(w *snapshot.Writer) {
			w.Byte(recEntry)
			w.Byte(0)
			w.Bytes16([16]byte{1})
			w.Byte(200)
			w.Uvarint(0)
			w.String("n")
			w.Byte(recEnd)
		},
		"parent without a slash": func(w *snapshot.Writer) {
			w.Byte(recParent)
			w.String("abc")
			w.Byte(recEnd)
		},
		"written twice": func(w *snapshot.Writer) {
			for range 2 {
				w.Byte(recEntry)
				w.Byte(0)
				w.Bytes16([16]byte{1})
				w.Byte(1)
				w.Uvarint(0)
				w.String("n")
			}
			w.Byte(recEnd)
		},
		"no end":  func(w *snapshot.Writer) {},
		"unknown": func(w *snapshot.Writer) { w.Byte(77) },
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := Load(ctx, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "s")
			w, _ := snapshot.Create(path, snapshot.Header{Kind: SnapshotKind})
			body(w)
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			r, err := snapshot.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.LoadSnapshot(ctx, r); err == nil {
				t.Fatal("a bad snapshot was loaded")
			}
			if _, ok := d.ByAppID("c-uami"); !ok {
				t.Error("the directory lost what it held before the bad snapshot")
			}
		})
	}
}
