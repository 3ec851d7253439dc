package usageapi

import (
	"time"

	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/usage"
)

// List is the answer of Usage_List, in ARM's list shape.
type List struct {
	Value []PrincipalUsage `json:"value"`
	// FlushIntervalSeconds says how far behind the answer may be: each
	// replica writes what it recorded every this many seconds.
	FlushIntervalSeconds int64 `json:"flushIntervalSeconds,omitempty"`
}

// PrincipalUsage is one principal's usage, as an ARM resource under the
// scope it was read at.
type PrincipalUsage struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Properties Properties `json:"properties"`
}

// Properties of a PrincipalUsage.
type Properties struct {
	PrincipalID   string `json:"principalId"`
	PrincipalType string `json:"principalType"`
	DisplayName   string `json:"displayName"`
	AppID         string `json:"appId,omitempty"`
	// ResourceID is a managed identity's resource: the resource of a
	// system-assigned identity, the user-assigned identity itself.
	ResourceID string `json:"resourceId,omitempty"`
	// LastTokenIssued is null when no token was issued within the
	// retention, as is LastActivity without any token or request.
	LastTokenIssued *time.Time       `json:"lastTokenIssued"`
	LastActivity    *time.Time       `json:"lastActivity"`
	Tokens          []AudienceTokens `json:"tokens"`
	Actions         []ActionCount    `json:"actions"`
}

// AudienceTokens counts the tokens issued for one audience.
type AudienceTokens struct {
	Audience    string     `json:"audience"`
	Count       int64      `json:"count"`
	FirstIssued time.Time  `json:"firstIssued"`
	LastIssued  time.Time  `json:"lastIssued"`
	Days        []DayCount `json:"days"`
}

// DayCount is one UTC day's tokens.
type DayCount struct {
	// Day is the UTC date, YYYY-MM-DD.
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// ActionCount counts the requests for one action at one scope with one
// outcome: "allowed" (RBAC let it through, whatever the operation then
// answered) or "denied" (AuthorizationFailed or LinkedAuthorizationFailed).
type ActionCount struct {
	Action    string    `json:"action"`
	Scope     string    `json:"scope"`
	Outcome   string    `json:"outcome"`
	Count     int64     `json:"count"`
	FirstTime time.Time `json:"firstTime"`
	LastTime  time.Time `json:"lastTime"`
}

// Outcomes of ActionCount.
const (
	OutcomeAllowed = "allowed"
	OutcomeDenied  = "denied"
)

// ResourceType is the type of a PrincipalUsage.
const ResourceType = "Keyless.Insights/usage"

func wire(scope string, p store.Principal, u usage.Principal) PrincipalUsage {
	base := scope
	if base == "/" {
		base = ""
	}
	props := Properties{
		PrincipalID: p.ObjectID, PrincipalType: string(p.Kind), DisplayName: p.DisplayName, AppID: p.AppID, ResourceID: p.ResourceID,
		LastTokenIssued: timePtr(u.LastTokenIssued()), LastActivity: timePtr(u.LastActivity()),
		Tokens: make([]AudienceTokens, 0, len(u.Tokens)), Actions: make([]ActionCount, 0, len(u.Actions)),
	}
	for _, a := range u.Tokens {
		t := AudienceTokens{Audience: a.Audience, Count: a.Count, FirstIssued: a.First, LastIssued: a.Last, Days: make([]DayCount, 0, len(a.Days))}
		for _, d := range a.Days {
			t.Days = append(t.Days, DayCount{Day: d.Day.UTC().Format(time.DateOnly), Count: d.Count})
		}
		props.Tokens = append(props.Tokens, t)
	}
	for _, a := range u.Actions {
		outcome := OutcomeAllowed
		if a.Denied {
			outcome = OutcomeDenied
		}
		props.Actions = append(props.Actions, ActionCount{Action: a.Action, Scope: a.Scope, Outcome: outcome, Count: a.Count, FirstTime: a.First, LastTime: a.Last})
	}
	return PrincipalUsage{ID: base + Path + "/" + p.ObjectID, Name: p.ObjectID, Type: ResourceType, Properties: props}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
