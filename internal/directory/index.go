package directory

import (
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/guid"
	"github.com/keyless-io/keyless/internal/store"
)

// index holds the principals compactly: a million managed identities are
// the directory's common case, and as store.Principal values (five
// strings, two of them GUIDs, one a 150-byte resource ID) each took about
// 400 bytes. Here the IDs are 16-byte GUIDs, the resource ID is an
// interned parent path (shared by every identity of a resource group and
// type) plus its name, and a display name equal to the name shares its
// bytes. Lookups rebuild the store.Principal, a few short allocations on
// a path that signs a token anyway.
type index struct {
	byObject    map[guid.GUID]*entry
	byApp       map[guid.GUID]*entry
	oddObjects  map[string]*entry // lower-case object IDs that are no GUID
	oddApps     map[string]*entry // lower-case app IDs that are no GUID
	parentPaths map[string]string // the interned resource parent paths
	// block is where entries are allocated while a load builds the index
	// (building): a million entries are then a thousand objects for the
	// collector rather than a million. A slot is never reused, so a
	// reader holding a removed entry still sees what it held, and what
	// churn can pin is bounded by what the load allocated.
	block    []entry
	building bool
}

type entry struct {
	object, app guid.GUID
	// ids are the object and app IDs as stored when the GUIDs above do not
	// give them back (not GUIDs, or not in lower case); nil otherwise.
	ids *storedIDs
	// hasApp is false for principals without an app ID (groups).
	hasApp bool
	kind   store.PrincipalKind
	// The resource ID is parent + name; parent ends in "/" (or is empty).
	parent, name string
	display      string
	createdAt    time.Time
	// creds are a service principal's credentials, replaced whole on
	// change and never modified in place.
	creds []store.Credential
}

type storedIDs struct{ object, app string }

func newIndex() *index {
	return &index{byObject: map[guid.GUID]*entry{}, byApp: map[guid.GUID]*entry{},
		oddObjects: map[string]*entry{}, oddApps: map[string]*entry{}, parentPaths: map[string]string{}}
}

// put adds or replaces the principal, returning its entry.
func (x *index) put(p store.Principal, creds []store.Credential) *entry {
	x.remove(p.ObjectID)
	e := x.newEntry()
	*e = entry{kind: p.Kind, createdAt: p.CreatedAt, creds: creds, hasApp: p.AppID != ""}
	objGUID, objOK := guid.Parse(p.ObjectID)
	appGUID, appOK := guid.Parse(p.AppID)
	e.object, e.app = objGUID, appGUID
	if !e.hasApp {
		e.app = guid.GUID{}
	}
	if !objOK || objGUID.String() != p.ObjectID || e.hasApp && (!appOK || appGUID.String() != p.AppID) {
		e.ids = &storedIDs{object: p.ObjectID, app: p.AppID}
	}
	if i := strings.LastIndexByte(p.ResourceID, '/'); i >= 0 {
		e.parent, e.name = x.internParent(p.ResourceID[:i+1]), strings.Clone(p.ResourceID[i+1:])
	} else {
		e.name = p.ResourceID
	}
	e.display = p.DisplayName
	if e.display == e.name {
		e.display = e.name
	}
	x.insert(e)
	return e
}

// newEntry allocates an entry, from block while the index is being built.
func (x *index) newEntry() *entry {
	if !x.building {
		return new(entry)
	}
	if len(x.block) == cap(x.block) {
		x.block = make([]entry, 0, 1024)
	}
	x.block = x.block[:len(x.block)+1]
	return &x.block[len(x.block)-1]
}

// built ends the load: entries are allocated one by one from now on.
func (x *index) built() { x.building, x.block = false, nil }

// insert adds an entry whose object ID the index does not hold.
func (x *index) insert(e *entry) {
	switch {
	case e.ids == nil:
		x.byObject[e.object] = e
	default:
		if g, ok := guid.Parse(e.ids.object); ok {
			x.byObject[g] = e
		} else {
			x.oddObjects[strings.ToLower(e.ids.object)] = e
		}
	}
	switch {
	case !e.hasApp:
	case e.ids == nil:
		x.byApp[e.app] = e
	default:
		if g, ok := guid.Parse(e.ids.app); ok {
			x.byApp[g] = e
		} else {
			x.oddApps[strings.ToLower(e.ids.app)] = e
		}
	}
}

// internParent returns the index's copy of a resource parent path.
func (x *index) internParent(parent string) string {
	if interned, ok := x.parentPaths[parent]; ok {
		return interned
	}
	parent = strings.Clone(parent)
	x.parentPaths[parent] = parent
	return parent
}

func (x *index) remove(objectID string) {
	e := x.object(objectID)
	if e == nil {
		return
	}
	if g, ok := guid.Parse(objectID); ok {
		delete(x.byObject, g)
	} else {
		delete(x.oddObjects, strings.ToLower(objectID))
	}
	if e.hasApp {
		if e.ids == nil || e.ids.app == e.app.String() {
			delete(x.byApp, e.app)
		} else if g, ok := guid.Parse(e.ids.app); ok {
			delete(x.byApp, g)
		} else {
			delete(x.oddApps, strings.ToLower(e.ids.app))
		}
	}
}

func (x *index) object(objectID string) *entry {
	if g, ok := guid.Parse(objectID); ok {
		return x.byObject[g]
	}
	return x.oddObjects[strings.ToLower(objectID)]
}

func (x *index) app(appID string) *entry {
	if g, ok := guid.Parse(appID); ok {
		return x.byApp[g]
	}
	return x.oddApps[strings.ToLower(appID)]
}

func (x *index) len() int { return len(x.byObject) + len(x.oddObjects) }

func (x *index) each(fn func(*entry)) {
	for _, e := range x.byObject {
		fn(e)
	}
	for _, e := range x.oddObjects {
		fn(e)
	}
}

// objectID is the object ID as stored.
func (e *entry) objectID() string {
	if e.ids != nil {
		return e.ids.object
	}
	return e.object.String()
}

// principal rebuilds the principal as stored.
func (e *entry) principal() store.Principal {
	p := store.Principal{ObjectID: e.objectID(), DisplayName: e.display, Kind: e.kind, CreatedAt: e.createdAt}
	switch {
	case e.ids != nil:
		p.AppID = e.ids.app
	case e.hasApp:
		p.AppID = e.app.String()
	}
	if e.parent != "" {
		p.ResourceID = e.parent + e.name
	} else {
		p.ResourceID = e.name
	}
	return p
}

func (e *entry) entry() Entry { return Entry{Principal: e.principal(), Credentials: e.creds} }
