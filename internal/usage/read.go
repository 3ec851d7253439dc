package usage

import (
	"context"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Principal is what one principal did, merged across replicas: what is
// still in a replica's memory (at most one flush interval) is not in it.
type Principal struct {
	PrincipalID string
	// Tokens are per audience, ordered by audience.
	Tokens []Audience
	// Actions are ordered by action, scope and outcome (allowed first).
	Actions []Action
}

// Audience is the tokens a principal was issued for one audience.
type Audience struct {
	Audience string
	First    time.Time
	Last     time.Time
	Count    int64
	// Days count the tokens per UTC day, oldest first.
	Days []Day
}

// Day is one UTC day's count.
type Day struct {
	Day   time.Time
	Count int64
}

// Action is a principal's requests for one action at one scope with one
// outcome.
type Action struct {
	Action string
	Scope  string
	Denied bool
	Count  int64
	First  time.Time
	Last   time.Time
}

// LastTokenIssued is when the principal last got a token for any
// audience; zero if never (within the retention).
func (p Principal) LastTokenIssued() time.Time {
	var last time.Time
	for _, a := range p.Tokens {
		if a.Last.After(last) {
			last = a.Last
		}
	}
	return last
}

// LastActivity is the latest of its last token and its last request.
func (p Principal) LastActivity() time.Time {
	last := p.LastTokenIssued()
	for _, a := range p.Actions {
		if a.Last.After(last) {
			last = a.Last
		}
	}
	return last
}

// principalsPerRead bounds the principal IDs of one store query (bound
// parameters).
const principalsPerRead = 500

// Read returns the usage since of the principals (every principal with
// usage when principalIDs is nil), keyed by principal ID. Principals
// without usage are absent.
func Read(ctx context.Context, st store.Store, principalIDs []string, since time.Time) (map[string]Principal, error) {
	out := map[string]Principal{}
	read := func(ids []string) error {
		return st.View(ctx, func(tx store.Tx) error {
			u, err := tx.ListUsage(ctx, store.UsageFilter{PrincipalIDs: ids, Since: since})
			if err != nil {
				return err
			}
			merge(out, u)
			return nil
		})
	}
	if principalIDs == nil {
		return out, read(nil)
	}
	for start := 0; start < len(principalIDs); start += principalsPerRead {
		if err := read(principalIDs[start:min(start+principalsPerRead, len(principalIDs))]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merge folds the store's rows (ordered by principal, audience and day)
// into per-principal usage.
func merge(out map[string]Principal, u store.Usage) {
	for _, t := range u.Tokens {
		p := out[t.PrincipalID]
		p.PrincipalID = t.PrincipalID
		n := len(p.Tokens)
		if n == 0 || p.Tokens[n-1].Audience != t.Audience {
			p.Tokens = append(p.Tokens, Audience{Audience: t.Audience, First: t.First, Last: t.Last})
			n++
		}
		a := &p.Tokens[n-1]
		a.Count += t.Count
		if t.First.Before(a.First) {
			a.First = t.First
		}
		if t.Last.After(a.Last) {
			a.Last = t.Last
		}
		a.Days = append(a.Days, Day{Day: t.Day, Count: t.Count})
		out[t.PrincipalID] = p
	}
	for _, a := range u.Actions {
		p := out[a.PrincipalID]
		p.PrincipalID = a.PrincipalID
		p.Actions = append(p.Actions, Action{Action: a.Action, Scope: a.Scope, Denied: a.Denied, Count: a.Count, First: a.First, Last: a.Last})
		out[a.PrincipalID] = p
	}
}
