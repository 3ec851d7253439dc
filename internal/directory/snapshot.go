package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/snapshot"
	"github.com/keyless-io/keyless/internal/store"
)

// SnapshotKind names the directory's snapshots.
const SnapshotKind = "directory"

// A snapshot of the directory is its principals as records: each resource
// parent path once, then one record per principal with its GUIDs as 16
// bytes. Credentials are not in it (a snapshot must hold no secret
// material, not even salted hashes); they and the application
// registrations, both few, are read from the store at load.
const (
	recEnd    = iota
	recParent // path -> the next parent number (from 1; 0 is none)
	recEntry  // flags, object, app, kind, parent number, name, display, createdAt, stored IDs
)

const (
	flagApp     = 1 << iota // has an app ID
	flagIDs                 // IDs as stored follow (not lower-case GUIDs)
	flagDisplay             // a display name other than the name follows
	flagCreated             // a creation time follows
)

// kinds are written as a byte; 0 is a kind written out.
var kinds = []store.PrincipalKind{"", store.PrincipalServicePrincipal, store.PrincipalSystemAssigned,
	store.PrincipalUserAssigned, store.PrincipalGroup, store.PrincipalUser}

// WriteSnapshot writes every principal. Entries are never changed once
// indexed (a change replaces the entry), so only taking the list holds
// the read lock; the caller's header names a revision every change up to
// which the directory had applied before the call.
func (d *Directory) WriteSnapshot(ctx context.Context, w *snapshot.Writer) error {
	d.mu.RLock()
	entries := make([]*entry, 0, d.ix.len())
	d.ix.each(func(e *entry) { entries = append(entries, e) })
	d.mu.RUnlock()

	parents := map[string]uint64{"": 0}
	for i, e := range entries {
		if i%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		pn, ok := parents[e.parent]
		if !ok {
			w.Byte(recParent)
			w.String(e.parent)
			pn = uint64(len(parents))
			parents[e.parent] = pn
		}
		var flags byte
		if e.hasApp {
			flags |= flagApp
		}
		if e.ids != nil {
			flags |= flagIDs
		}
		if e.display != e.name {
			flags |= flagDisplay
		}
		if !e.createdAt.IsZero() {
			flags |= flagCreated
		}
		w.Byte(recEntry)
		w.Byte(flags)
		w.Bytes16(e.object)
		if e.hasApp {
			w.Bytes16(e.app)
		}
		kind := byte(0)
		for i, k := range kinds[1:] {
			if e.kind == k {
				kind = byte(i + 1)
			}
		}
		w.Byte(kind)
		if kind == 0 {
			w.String(string(e.kind))
		}
		w.Uvarint(pn)
		w.String(e.name)
		if flags&flagDisplay != 0 {
			w.String(e.display)
		}
		if flags&flagCreated != 0 {
			w.Uvarint(uint64(e.createdAt.UnixNano()))
		}
		if e.ids != nil {
			w.String(e.ids.object)
			w.String(e.ids.app)
		}
	}
	w.Byte(recEnd)
	return w.Err()
}

// LoadSnapshot replaces the directory's contents with the principals of a
// snapshot and the applications and service-principal credentials the
// store holds now. The caller then follows the change feed from the
// snapshot's revision. Nothing is installed unless the whole snapshot
// reads back intact.
func (d *Directory) LoadSnapshot(ctx context.Context, r *snapshot.Reader) error {
	if r.Header.Kind != SnapshotKind {
		return errors.New("directory: a snapshot of " + r.Header.Kind + ", not of the directory")
	}
	fresh := empty()
	fresh.ix.building = true
	d.loading.Store(0)
	sps, err := d.readSnapshot(ctx, r, fresh.ix)
	if err != nil {
		return fmt.Errorf("directory: snapshot: %w", err)
	}
	if err := r.Close(); err != nil {
		return fmt.Errorf("directory: snapshot: %w", err)
	}
	err = d.st.View(ctx, func(tx store.Tx) error { return fresh.readAppsAndCredentials(ctx, tx, sps) })
	if err != nil {
		return fmt.Errorf("directory: load: %w", err)
	}
	d.install(fresh)
	return nil
}

// readSnapshot fills x and returns the service principals' entries.
func (d *Directory) readSnapshot(ctx context.Context, r *snapshot.Reader, x *index) ([]*entry, error) {
	parents := []string{""}
	var sps []*entry
	for n := int64(0); r.Err() == nil; {
		switch r.Byte() {
		case recEnd:
			d.loading.Store(n)
			return sps, r.Err()
		case recParent:
			p := r.String()
			if p == "" || !strings.HasSuffix(p, "/") {
				r.Fail("bad parent path")
				break
			}
			parents = append(parents, x.internParent(p))
		case recEntry:
			e := x.newEntry()
			flags := r.Byte()
			e.hasApp = flags&flagApp != 0
			e.object = r.Bytes16()
			if e.hasApp {
				e.app = r.Bytes16()
			}
			if k := r.Byte(); k == 0 {
				e.kind = store.PrincipalKind(r.String())
			} else if int(k) < len(kinds) {
				e.kind = kinds[k]
			} else {
				r.Fail("bad kind")
			}
			pn := r.Uvarint()
			e.name = r.String()
			e.display = e.name
			if flags&flagDisplay != 0 {
				e.display = r.String()
			}
			if flags&flagCreated != 0 {
				e.createdAt = time.Unix(0, int64(r.Uvarint())).UTC()
			}
			if flags&flagIDs != 0 {
				e.ids = &storedIDs{object: r.String(), app: r.String()}
				if e.ids.object == "" || e.hasApp != (e.ids.app != "") {
					r.Fail("bad stored IDs")
				}
			}
			if pn >= uint64(len(parents)) {
				r.Fail("entry refers to an undefined parent")
			}
			if r.Err() != nil {
				break
			}
			e.parent = parents[pn]
			if old := x.object(e.objectID()); old != nil {
				r.Fail("principal written twice")
				break
			}
			x.insert(e)
			if e.kind == store.PrincipalServicePrincipal {
				sps = append(sps, e)
			}
			if n++; n%(1<<16) == 0 {
				d.loading.Store(n)
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
		default:
			r.Fail("unknown record")
		}
	}
	return nil, r.Err()
}
