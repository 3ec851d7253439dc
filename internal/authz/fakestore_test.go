package authz

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// fakeStore is the smallest store.Store the follower needs: the RBAC
// entities, principals, group members and a change feed, all in memory. It
// stands in for the SQL store so these tests depend only on the contract.
// Methods the engine never calls are left to the embedded nil interface and
// panic if called.
type fakeStore struct {
	mu          sync.Mutex
	rev         int64
	changes     []store.Change
	roles       map[string]store.RoleDefinition
	assignments map[string]store.RoleAssignment
	principals  map[string]store.Principal
	members     map[string][]string
	mgroups     map[string]store.ManagementGroup
	subs        map[string]store.Subscription
	subscribers []chan struct{}
	// failViews makes the next View calls fail, to exercise retries.
	failViews int
	// silent suppresses notifications, to prove WaitFor does not depend
	// on them.
	silent bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		roles:       map[string]store.RoleDefinition{},
		assignments: map[string]store.RoleAssignment{},
		principals:  map[string]store.Principal{},
		members:     map[string][]string{},
		mgroups:     map[string]store.ManagementGroup{},
		subs:        map[string]store.Subscription{},
	}
}

var errFakeView = errors.New("fake store: view failed")

type fakeTx struct {
	store.Tx // unimplemented methods panic
	s        *fakeStore
	write    bool
	pending  []store.Change
}

func (s *fakeStore) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	s.mu.Lock()
	tx := &fakeTx{s: s, write: true}
	// The fake does not roll back; tests only commit.
	err := fn(tx)
	if err == nil && len(tx.pending) > 0 {
		s.rev++
		for _, c := range tx.pending {
			c.Revision, c.At = s.rev, time.Now()
			s.changes = append(s.changes, c)
		}
	}
	rev := s.rev
	subs := slices.Clone(s.subscribers)
	if s.silent {
		subs = nil
	}
	s.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return rev, err
}

func (s *fakeStore) View(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failViews > 0 {
		s.failViews--
		return errFakeView
	}
	return fn(&fakeTx{s: s})
}

func (s *fakeStore) Revision(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev, nil
}

// CompactChanges is not exercised through the fake; the conformance
// suite covers it on the real backends.
func (s *fakeStore) CompactChanges(context.Context, time.Time) (int64, error) { return 0, nil }

func (s *fakeStore) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Change
	for _, c := range s.changes {
		if c.Revision > since && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *fakeStore) Notify(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subscribers = append(s.subscribers, ch)
	s.mu.Unlock()
	return ch
}

func (s *fakeStore) Ping(context.Context) error                          { return nil }
func (s *fakeStore) RefreshStatistics(context.Context) ([]string, error) { return nil, nil }
func (s *fakeStore) Backend() string                                     { return "fake" }
func (s *fakeStore) Close() error                                        { return nil }

func (tx *fakeTx) record(kind store.Kind, key string, op store.Op) error {
	if !tx.write {
		return store.ErrReadOnly
	}
	tx.pending = append(tx.pending, store.Change{Kind: kind, Key: strings.ToLower(key), Op: op})
	return nil
}

func (tx *fakeTx) PutRoleDefinition(ctx context.Context, d store.RoleDefinition) (bool, error) {
	if err := tx.record(store.KindRoleDefinition, d.ID, store.OpPut); err != nil {
		return false, err
	}
	_, existed := tx.s.roles[strings.ToLower(d.ID)]
	tx.s.roles[strings.ToLower(d.ID)] = d
	return !existed, nil
}

func (tx *fakeTx) GetRoleDefinition(ctx context.Context, id string) (store.RoleDefinition, error) {
	d, ok := tx.s.roles[strings.ToLower(id)]
	if !ok {
		return d, store.ErrNotFound
	}
	return d, nil
}

func (tx *fakeTx) ListRoleDefinitions(context.Context) ([]store.RoleDefinition, error) {
	var out []store.RoleDefinition
	for _, d := range tx.s.roles {
		out = append(out, d)
	}
	return out, nil
}

func (tx *fakeTx) DeleteRoleDefinition(ctx context.Context, id string) error {
	if _, ok := tx.s.roles[strings.ToLower(id)]; !ok {
		return store.ErrNotFound
	}
	delete(tx.s.roles, strings.ToLower(id))
	return tx.record(store.KindRoleDefinition, id, store.OpDelete)
}

func (tx *fakeTx) CreateRoleAssignment(ctx context.Context, a store.RoleAssignment) error {
	key := strings.ToLower(a.Name)
	if _, ok := tx.s.assignments[key]; ok {
		return store.ErrAlreadyExists
	}
	tx.s.assignments[key] = a
	return tx.record(store.KindRoleAssignment, a.Name, store.OpPut)
}

func (tx *fakeTx) GetRoleAssignment(ctx context.Context, name string) (store.RoleAssignment, error) {
	a, ok := tx.s.assignments[strings.ToLower(name)]
	if !ok {
		return a, store.ErrNotFound
	}
	return a, nil
}

func (tx *fakeTx) ListRoleAssignments(ctx context.Context, f store.RoleAssignmentFilter) ([]store.RoleAssignment, error) {
	var out []store.RoleAssignment
	for _, a := range tx.s.assignments {
		out = append(out, a)
	}
	return out, nil
}

func (tx *fakeTx) EachAssignmentGrant(ctx context.Context, fn func(store.AssignmentGrant) error) error {
	for _, a := range tx.s.assignments {
		if err := fn(store.AssignmentGrant{Name: a.Name, Scope: a.Scope, RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID}); err != nil {
			return err
		}
	}
	return nil
}

func (tx *fakeTx) DeleteRoleAssignment(ctx context.Context, name string) error {
	if _, ok := tx.s.assignments[strings.ToLower(name)]; !ok {
		return store.ErrNotFound
	}
	delete(tx.s.assignments, strings.ToLower(name))
	return tx.record(store.KindRoleAssignment, name, store.OpDelete)
}

func (tx *fakeTx) CreatePrincipal(ctx context.Context, p store.Principal) error {
	tx.s.principals[strings.ToLower(p.ObjectID)] = p
	return tx.record(store.KindPrincipal, p.ObjectID, store.OpPut)
}

func (tx *fakeTx) GetPrincipal(ctx context.Context, id string) (store.Principal, error) {
	p, ok := tx.s.principals[strings.ToLower(id)]
	if !ok {
		return p, store.ErrNotFound
	}
	return p, nil
}

func (tx *fakeTx) ListPrincipals(ctx context.Context, f store.PrincipalFilter) ([]store.Principal, error) {
	var out []store.Principal
	for _, p := range tx.s.principals {
		if f.Kind == "" || p.Kind == f.Kind {
			out = append(out, p)
		}
	}
	return out, nil
}

// DeletePrincipal drops memberships silently, as the contract allows: only
// the principal's own change is recorded.
func (tx *fakeTx) DeletePrincipal(ctx context.Context, id string) error {
	id = strings.ToLower(id)
	delete(tx.s.principals, id)
	delete(tx.s.members, id)
	for g, ms := range tx.s.members {
		tx.s.members[g] = slices.DeleteFunc(ms, func(m string) bool { return m == id })
	}
	return tx.record(store.KindPrincipal, id, store.OpDelete)
}

func (tx *fakeTx) AddGroupMember(ctx context.Context, groupID, memberID string) error {
	g := strings.ToLower(groupID)
	tx.s.members[g] = append(tx.s.members[g], strings.ToLower(memberID))
	return tx.record(store.KindGroupMember, g+"/"+memberID, store.OpPut)
}

func (tx *fakeTx) RemoveGroupMember(ctx context.Context, groupID, memberID string) error {
	g := strings.ToLower(groupID)
	tx.s.members[g] = slices.DeleteFunc(tx.s.members[g], func(m string) bool { return m == strings.ToLower(memberID) })
	return tx.record(store.KindGroupMember, g+"/"+memberID, store.OpDelete)
}

func (tx *fakeTx) ListGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	return slices.Clone(tx.s.members[strings.ToLower(groupID)]), nil
}

// Management groups and subscriptions, without the store's parent, cycle
// and emptiness checks: the conformance suite proves those, and the engine
// must cope with whatever the feed shows it.

func (tx *fakeTx) PutManagementGroup(ctx context.Context, g store.ManagementGroup) (bool, error) {
	if err := tx.record(store.KindManagementGroup, g.Name, store.OpPut); err != nil {
		return false, err
	}
	_, existed := tx.s.mgroups[strings.ToLower(g.Name)]
	tx.s.mgroups[strings.ToLower(g.Name)] = g
	return !existed, nil
}

func (tx *fakeTx) GetManagementGroup(ctx context.Context, name string) (store.ManagementGroup, error) {
	g, ok := tx.s.mgroups[strings.ToLower(name)]
	if !ok {
		return g, store.ErrNotFound
	}
	return g, nil
}

func (tx *fakeTx) ListManagementGroups(context.Context) ([]store.ManagementGroup, error) {
	var out []store.ManagementGroup
	for _, g := range tx.s.mgroups {
		out = append(out, g)
	}
	return out, nil
}

func (tx *fakeTx) DeleteManagementGroup(ctx context.Context, name string) error {
	if _, ok := tx.s.mgroups[strings.ToLower(name)]; !ok {
		return store.ErrNotFound
	}
	delete(tx.s.mgroups, strings.ToLower(name))
	return tx.record(store.KindManagementGroup, name, store.OpDelete)
}

func (tx *fakeTx) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	tx.s.subs[strings.ToLower(sub.ID)] = sub
	return tx.record(store.KindSubscription, sub.ID, store.OpPut)
}

func (tx *fakeTx) GetSubscription(ctx context.Context, id string) (store.Subscription, error) {
	sub, ok := tx.s.subs[strings.ToLower(id)]
	if !ok {
		return sub, store.ErrNotFound
	}
	return sub, nil
}

func (tx *fakeTx) ListSubscriptions(context.Context) ([]store.Subscription, error) {
	var out []store.Subscription
	for _, sub := range tx.s.subs {
		out = append(out, sub)
	}
	return out, nil
}

func (tx *fakeTx) UpdateSubscription(ctx context.Context, id string, fn func(store.Subscription) (store.Subscription, error)) error {
	sub, ok := tx.s.subs[strings.ToLower(id)]
	if !ok {
		return store.ErrNotFound
	}
	sub, err := fn(sub)
	if err != nil {
		return err
	}
	tx.s.subs[strings.ToLower(id)] = sub
	return tx.record(store.KindSubscription, id, store.OpPut)
}
