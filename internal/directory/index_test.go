package directory

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/keyless-io/keyless/internal/store"
)

const rg = "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"

func TestIndexKeepsPrincipalsAsStored(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, p := range []store.Principal{
		{ObjectID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", AppID: "1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "id1", Kind: store.PrincipalUserAssigned, ResourceID: rg + "id1", CreatedAt: at},
		{ObjectID: "2B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0", AppID: "3b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "other name", Kind: store.PrincipalSystemAssigned, ResourceID: rg + "ID2"},
		{ObjectID: "p-uami", AppID: "c-uami", DisplayName: "id-web", Kind: store.PrincipalUserAssigned, ResourceID: "no-slash"},
		{ObjectID: "4b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "readers", Kind: store.PrincipalGroup},
		{ObjectID: "5b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", AppID: "App-Odd", DisplayName: "ci", Kind: store.PrincipalServicePrincipal},
	} {
		x := newIndex()
		creds := []store.Credential{{ID: "c1", PrincipalID: p.ObjectID}}
		x.put(p, creds)
		for _, id := range []string{p.ObjectID, strings.ToUpper(p.ObjectID), strings.ToLower(p.ObjectID)} {
			e := x.object(id)
			if e == nil || e.principal() != p || len(e.creds) != 1 {
				t.Fatalf("object(%q) of %+v: %+v", id, p, e)
			}
		}
		if p.AppID != "" {
			for _, id := range []string{p.AppID, strings.ToUpper(p.AppID)} {
				if e := x.app(id); e == nil || e.principal() != p {
					t.Fatalf("app(%q) of %+v: %+v", id, p, e)
				}
			}
		}
		x.remove(strings.ToUpper(p.ObjectID))
		if x.len() != 0 || len(x.byApp)+len(x.oddApps) != 0 {
			t.Errorf("after remove of %+v: %d objects, %d apps", p, x.len(), len(x.byApp)+len(x.oddApps))
		}
	}
}

func TestIndexSharesParentPathsAndNames(t *testing.T) {
	x := newIndex()
	a := x.put(store.Principal{ObjectID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "id1", ResourceID: rg + "id1"}, nil)
	b := x.put(store.Principal{ObjectID: "1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", DisplayName: "id2", ResourceID: strings.Clone(rg) + "id2"}, nil)
	if unsafe.StringData(a.parent) != unsafe.StringData(b.parent) {
		t.Error("two identities of one group and type keep two parent paths")
	}
	if unsafe.StringData(a.display) != unsafe.StringData(a.name) {
		t.Error("a display name equal to the name is kept twice")
	}
	if a.ids != nil || b.ids != nil {
		t.Error("lower-case GUIDs kept as strings too")
	}
}

// TestIndexAgainstAModel: random puts (new, replaced with another app ID,
// other casings) and removes leave the index answering as a plain map of
// the principals would.
func TestIndexAgainstAModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := newIndex()
	model := map[string]store.Principal{} // lower object ID
	id := func(i int, odd bool) string {
		s := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		switch {
		case odd && i%2 == 0:
			return fmt.Sprintf("legacy-%d", i)
		case odd:
			return strings.ToUpper(s)
		}
		return s
	}
	for step := range 20000 {
		i := r.IntN(300)
		oid := id(i, i%5 == 0)
		if r.IntN(4) == 0 {
			x.remove(oid)
			delete(model, strings.ToLower(oid))
			continue
		}
		p := store.Principal{ObjectID: oid, AppID: id(1000+r.IntN(3)*300+i, r.IntN(3) == 0), DisplayName: fmt.Sprintf("n%d", i),
			Kind: store.PrincipalUserAssigned, ResourceID: fmt.Sprintf("%s%d/n%d", rg, i%7, i)}
		if r.IntN(5) == 0 {
			p.AppID = ""
		}
		x.put(p, nil)
		model[strings.ToLower(oid)] = p
		if step%1000 != 0 {
			continue
		}
		if x.len() != len(model) {
			t.Fatalf("step %d: %d entries, model %d", step, x.len(), len(model))
		}
		apps := 0
		for _, m := range model {
			if e := x.object(m.ObjectID); e == nil || e.principal() != m {
				t.Fatalf("step %d: object %s: %+v, want %+v", step, m.ObjectID, e, m)
			}
			if m.AppID != "" {
				apps++
				if e := x.app(m.AppID); e == nil || e.principal() != m {
					t.Fatalf("step %d: app %s: %+v, want %+v", step, m.AppID, e, m)
				}
			}
		}
		if n := len(x.byApp) + len(x.oddApps); n != apps {
			t.Fatalf("step %d: %d app keys, want %d", step, n, apps)
		}
	}
}
