// Package inventory documents who can do what: every identity under a
// scope with the resources it is attached to, its role assignments (direct
// or through a group), its federated credentials and its last use, rendered
// as JSON, Markdown, CSV, Graphviz DOT or one self-contained HTML page. It
// reads the same facts as the access review and changes nothing.
package inventory

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
)

// Inventory is the document.
type Inventory struct {
	Scope       string     `json:"scope"`
	GeneratedAt time.Time  `json:"generatedAt"`
	Identities  []Identity `json:"identities"`
}

// Identity is one managed identity or service principal.
type Identity struct {
	// Kind is SystemAssigned, UserAssigned or ServicePrincipal.
	Kind                 string                `json:"kind"`
	Name                 string                `json:"name"`
	ResourceID           string                `json:"resourceId,omitempty"`
	PrincipalID          string                `json:"principalId"`
	ClientID             string                `json:"clientId"`
	SubscriptionID       string                `json:"subscriptionId,omitempty"`
	ResourceGroup        string                `json:"resourceGroup,omitempty"`
	AttachedTo           []string              `json:"attachedTo"`
	RoleAssignments      []Assignment          `json:"roleAssignments"`
	FederatedCredentials []FederatedCredential `json:"federatedCredentials"`
	LastUse              []Use                 `json:"lastUse"`
}

// Assignment is a role the identity holds.
type Assignment struct {
	RoleName         string `json:"roleName"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	Scope            string `json:"scope"`
	// Via is "direct" or "group <name>" for a role held through a group.
	Via string `json:"via"`
	// AssignmentName is the assignment's GUID; its ID is the scope +
	// "/providers/Microsoft.Authorization/roleAssignments/" + the name.
	AssignmentName string `json:"assignmentName"`
}

// FederatedCredential is an external workload the identity trusts.
type FederatedCredential struct {
	Name      string   `json:"name"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

// Use is the last token issued for one audience.
type Use struct {
	Audience string    `json:"audience"`
	Last     time.Time `json:"last"`
	Count    int64     `json:"count"`
}

// Build assembles the inventory of the identities under scope. covers
// reports whether a scope lies at or under another (nil: the path rule;
// the server passes the RBAC engine's, which knows the management group
// tree).
func Build(f *review.Facts, scope string, now time.Time, covers ...func(ancestor, scope string) bool) Inventory {
	if scope == "" {
		scope = "/"
	}
	under := authz.IsAncestorOrSelf
	if len(covers) > 0 && covers[0] != nil {
		under = covers[0]
	}
	roles := map[string]string{}
	for _, d := range f.Roles {
		roles[strings.ToLower(d.ID)] = d.RoleName
	}
	names := map[string]string{}
	for _, p := range f.Principals {
		names[p.ObjectID] = p.DisplayName
	}
	assigned := f.ByPrincipal()
	attached := map[string][]string{}
	for _, a := range f.Attachments {
		k := strings.ToLower(a.IdentityID)
		attached[k] = append(attached[k], a.ResourceID)
	}
	for _, ids := range attached { // the store reads them in no defined order
		slices.SortFunc(ids, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	}
	uses := map[string]map[string]*Use{}
	for _, t := range f.Usage.Tokens {
		m := uses[t.PrincipalID]
		if m == nil {
			m = map[string]*Use{}
			uses[t.PrincipalID] = m
		}
		u := m[t.Audience]
		if u == nil {
			u = &Use{Audience: t.Audience}
			m[t.Audience] = u
		}
		u.Count += t.Count
		if t.Last.After(u.Last) {
			u.Last = t.Last
		}
	}
	inv := Inventory{Scope: scope, GeneratedAt: now.UTC(), Identities: []Identity{}}
	// describe documents one principal; ok is false when it is not an
	// identity under the scope.
	describe := func(p store.Principal) (id Identity, ok bool) {
		if !review.InScope(p, scope, assigned[p.ObjectID], under) {
			return id, false
		}
		switch p.Kind {
		case store.PrincipalSystemAssigned, store.PrincipalUserAssigned:
			id.Kind, id.ResourceID = string(p.Kind), p.ResourceID
			id.SubscriptionID, id.ResourceGroup, id.Name = review.SplitID(p.ResourceID)
		case store.PrincipalServicePrincipal:
			id.Kind, id.Name = "ServicePrincipal", p.DisplayName
		default:
			return id, false
		}
		id.PrincipalID, id.ClientID = p.ObjectID, p.AppID
		id.AttachedTo = []string{}
		if p.Kind == store.PrincipalSystemAssigned {
			id.AttachedTo = append(id.AttachedTo, p.ResourceID)
		}
		resourceKey := strings.ToLower(p.ResourceID)
		id.AttachedTo = append(id.AttachedTo, attached[resourceKey]...)
		if p.Kind != store.PrincipalUserAssigned {
			id.AttachedTo = id.AttachedTo[:min(len(id.AttachedTo), 1)]
		}
		sort.Strings(id.AttachedTo)
		id.RoleAssignments = make([]Assignment, 0, len(assigned[p.ObjectID]))
		add := func(a store.AssignmentGrant, via string) {
			id.RoleAssignments = append(id.RoleAssignments, Assignment{RoleName: roles[strings.ToLower(a.RoleDefinitionID)],
				RoleDefinitionID: a.RoleDefinitionID, Scope: a.Scope, Via: via, AssignmentName: a.Name})
		}
		for _, a := range assigned[p.ObjectID] {
			add(a, "direct")
		}
		for _, g := range f.GroupsOf[p.ObjectID] {
			for _, a := range assigned[g] {
				add(a, "group "+names[g])
			}
		}
		slices.SortStableFunc(id.RoleAssignments, func(a, b Assignment) int {
			return cmp.Or(strings.Compare(a.Scope, b.Scope), strings.Compare(a.RoleName, b.RoleName))
		})
		id.FederatedCredentials = []FederatedCredential{}
		for _, fic := range f.FederatedCredentials[resourceKey] {
			id.FederatedCredentials = append(id.FederatedCredentials, FederatedCredential{Name: fic.Name, Issuer: fic.Issuer, Subject: fic.Subject,
				Audiences: append([]string{}, fic.Audiences...)})
		}
		id.LastUse = []Use{}
		for _, u := range uses[p.ObjectID] {
			id.LastUse = append(id.LastUse, *u)
		}
		sort.Slice(id.LastUse, func(i, j int) bool { return id.LastUse[i].Audience < id.LastUse[j].Audience })
		return id, true
	}
	// Principals are documented in parallel chunks over the shared,
	// read-only indexes, concatenated in chunk order.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(f.Principals)/5000))
	chunk := (len(f.Principals) + workers - 1) / workers
	parts := make([][]Identity, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(f.Principals))
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]Identity, 0, hi-lo)
			for _, p := range f.Principals[lo:hi] {
				if id, ok := describe(p); ok {
					out = append(out, id)
				}
			}
			parts[w] = out
		}()
	}
	wg.Wait()
	for _, part := range parts {
		inv.Identities = append(inv.Identities, part...)
	}
	// Sort small keys, folded once, rather than the identities themselves.
	type key struct {
		sub, group, name string
		i                int
	}
	keys := make([]key, len(inv.Identities))
	for i, id := range inv.Identities {
		keys[i] = key{id.SubscriptionID, strings.ToLower(id.ResourceGroup), strings.ToLower(id.Name), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.sub, b.sub); c != 0 {
			return c
		}
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return a.i - b.i
	})
	sorted := make([]Identity, len(keys))
	for i, k := range keys {
		sorted[i] = inv.Identities[k.i]
	}
	inv.Identities = sorted
	return inv
}

// resourceID reads an ID with azcore's parser, as the rest of keyless does;
// an ID it cannot parse keeps its last segment as the name.
func resourceID(id string) (sub, group, name, typ string) {
	rid, err := azarm.ParseResourceID(id)
	if err != nil {
		segs := strings.Split(strings.TrimSuffix(id, "/"), "/")
		return "", "", segs[len(segs)-1], ""
	}
	return rid.SubscriptionID, rid.ResourceGroupName, rid.Name, rid.ResourceType.String()
}
