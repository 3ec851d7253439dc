package authz

import (
	"context"
	"errors"
	"strings"

	"github.com/keyless-io/keyless/internal/guid"
	"github.com/keyless-io/keyless/internal/snapshot"
	"github.com/keyless-io/keyless/internal/store"
)

// SnapshotKind names the engine's snapshots.
const SnapshotKind = "authz"

// A snapshot of the engine is its role assignments as a flat stream of
// records, each referring to earlier ones by number, so that the scope
// tree and the principals are written once however many assignments share
// them (at a million identities, 2.2M scopes under 5M assignments): a few
// dozen bytes per assignment, and no parsing of scopes or IDs when it is
// read back. Role definitions, group memberships and the management group
// tree are small and read from the store at load, so a snapshot holds
// nothing that changes what a role grants.
const (
	recEnd        = iota
	recRole       // key -> the next role number
	recScope      // parent number, segment -> the next scope number (0 is the root)
	recPrincipal  // canonical ID -> the next principal number
	recAssignment // principal, scope, role numbers; 0 and a GUID, or 1 and a name
)

// snapshotChunk is how many principals are written per read lock: the
// follower's writes, and the checks queued behind a waiting writer, wait
// for at most one chunk.
var snapshotChunk = 1024

// errReplaced stops a snapshot whose index was replaced while it was being
// written (a reload): the next one will be of the new index.
var errReplaced = errors.New("authz: the index was reloaded while a snapshot was written")

// WriteSnapshot writes every role assignment the engine holds. The caller
// has written the header with a revision the engine had applied before
// the call: the engine keeps changing while it is written, a chunk of
// principals per read lock, so the snapshot holds every assignment as of
// that revision or later, and replaying the change feed from the header's
// revision (which re-reads each changed assignment) makes a loaded
// snapshot exact.
func (e *Engine) WriteSnapshot(ctx context.Context, w *snapshot.Writer) error {
	e.mu.RLock()
	idx := e.idx
	pss := make([]*principalState, 0, len(idx.principals))
	for _, ps := range idx.principals {
		if len(ps.grants) > 0 {
			pss = append(pss, ps)
		}
	}
	e.mu.RUnlock()

	scopes := map[*scopeEntry]uint64{idx.root: 0}
	roles := map[*roleSlot]uint64{}
	var chain []*scopeEntry
	scopeNumber := func(s *scopeEntry) uint64 {
		if n, ok := scopes[s]; ok {
			return n
		}
		chain = chain[:0]
		for x := s; ; x = x.parent {
			if _, ok := scopes[x]; ok {
				break
			}
			chain = append(chain, x)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			x := chain[i]
			w.Byte(recScope)
			w.Uvarint(scopes[x.parent])
			w.String(x.seg)
			scopes[x] = uint64(len(scopes))
		}
		return scopes[s]
	}
	var principals uint64
	for start := 0; start < len(pss); start += snapshotChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.mu.RLock()
		if e.idx != idx {
			e.mu.RUnlock()
			return errReplaced
		}
		for _, ps := range pss[start:min(start+snapshotChunk, len(pss))] {
			if len(ps.grants) == 0 {
				continue // deleted since the list was taken
			}
			w.Byte(recPrincipal)
			w.String(ps.id)
			p := principals
			principals++
			for _, g := range ps.grants {
				a := g.a
				sn := scopeNumber(a.scope)
				rn, ok := roles[a.role]
				if !ok {
					w.Byte(recRole)
					w.String(a.role.id)
					rn = uint64(len(roles))
					roles[a.role] = rn
				}
				w.Byte(recAssignment)
				w.Uvarint(p)
				w.Uvarint(sn)
				w.Uvarint(rn)
				if a.nameKind == nameGUID {
					w.Byte(0)
					w.Bytes16(a.guid)
				} else {
					w.Byte(1)
					w.String(idx.oddNames[a])
				}
			}
		}
		e.mu.RUnlock()
		if err := w.Err(); err != nil {
			return err
		}
	}
	w.Byte(recEnd)
	return w.Err()
}

// LoadSnapshot replaces the engine's contents with the assignments of a
// snapshot and the role definitions, group memberships and management
// group tree the store holds now, and marks the engine as having applied
// the snapshot's revision: the caller then follows the change feed from
// there. Nothing is installed unless the whole snapshot reads back
// intact.
func (e *Engine) LoadSnapshot(ctx context.Context, s store.Store, r *snapshot.Reader) error {
	if r.Header.Kind != SnapshotKind {
		return errors.New("authz: a snapshot of " + r.Header.Kind + ", not of the RBAC engine")
	}
	// Growing the assignment map to 5M entries one split at a time was an
	// eighth of a snapshot load's CPU; the file's size tells roughly how
	// many to expect: an assignment with its share of the principal and
	// scope records is about 38 bytes at five per principal, more with
	// fewer, so the hint errs on the large side only for sparse estates.
	hint := int(min(r.Size/40, 1<<28))
	return e.loadStore(ctx, s, r.Header.Revision, hint, func(ctx context.Context, _ store.Tx, idx *index) error {
		if err := e.readSnapshot(ctx, r, idx); err != nil {
			return err
		}
		return r.Close()
	})
}

func (e *Engine) readSnapshot(ctx context.Context, r *snapshot.Reader, idx *index) error {
	scopes := []*scopeEntry{idx.root}
	var (
		roles      []*roleSlot
		principals []*principalState
		buf        []byte
		n          int64
	)
	for r.Err() == nil {
		switch tag := r.Byte(); tag {
		case recEnd:
			e.loading.Store(n)
			for _, ps := range principals {
				idx.dropIfEmpty(ps)
			}
			for _, s := range scopes {
				idx.releaseScope(s) // the load's own reference
			}
			return r.Err()
		case recRole:
			key := r.String()
			if key == "" || roleKey(key) != key {
				r.Fail("bad role key")
				break
			}
			roles = append(roles, idx.slot(key))
		case recScope:
			p := r.Uvarint()
			seg := r.String()
			if p >= uint64(len(scopes)) || seg == "" || strings.IndexByte(seg, '/') >= 0 {
				r.Fail("bad scope")
				break
			}
			parent := scopes[p]
			buf = appendLower(buf[:0], seg)
			// The load holds a reference to every scope it numbered until
			// its end, so that an assignment written twice cannot release
			// an entry that a later record refers to by number.
			c := idx.child(parent, mixSegment(parent.hash, buf), seg, true)
			c.refs++
			scopes = append(scopes, c)
		case recPrincipal:
			id := r.String()
			if id == "" || lowerKey(id) != id {
				r.Fail("bad principal")
				break
			}
			principals = append(principals, idx.state(id))
		case recAssignment:
			p, sc, ro := r.Uvarint(), r.Uvarint(), r.Uvarint()
			var (
				g    guid.GUID
				kind = nameGUID
				name string
			)
			switch r.Byte() {
			case 0:
				g = r.Bytes16()
			case 1:
				name = r.String()
				g, kind = parseName(name)
				if name == "" || kind == nameGUID {
					r.Fail("bad assignment name")
				}
			default:
				r.Fail("bad assignment name")
			}
			if r.Err() != nil {
				break
			}
			if p >= uint64(len(principals)) || sc >= uint64(len(scopes)) || ro >= uint64(len(roles)) {
				r.Fail("assignment refers to an undefined record")
				break
			}
			if old := idx.lookupParsed(g, kind, name); old != nil {
				// Written twice: it changed while the snapshot was
				// written. Grants are not sorted yet, so its grant is
				// found by a scan rather than by removeAssignment.
				ops := old.principal
				for i := range ops.grants {
					if ops.grants[i].a == old {
						ops.grants = append(ops.grants[:i], ops.grants[i+1:]...)
						break
					}
				}
				idx.forgetAssignment(old)
				idx.slab.release(old)
			}
			ps, scope := principals[p], scopes[sc]
			scope.refs++
			asg := idx.addAssignment(ps, scope, roles[ro], g, kind, name)
			ps.grants = append(ps.grants, grant{scope.hash, asg})
			if n++; n%(1<<16) == 0 {
				e.loading.Store(n)
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		default:
			r.Fail("unknown record")
		}
	}
	return r.Err()
}
