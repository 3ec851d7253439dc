// Package review is keyless's access review: it weighs every managed
// identity and service principal under a scope against least privilege and
// hygiene rules, from the facts keyless holds in one place (the directory,
// role assignments and definitions, resources and their identities,
// federated credentials, and usage), and says what to change and the
// keyless command that changes it.
//
// It is read-only: it never changes anything. Fixes are command lines the
// caller runs (keyless review apply runs them through the ARM API as the
// caller, audited like any change).
package review

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/usage"
)

// Severity ranks findings.
type Severity string

const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high"
)

// Rank orders severities (low 1, medium 2, high 3; 0 for anything else).
func (s Severity) Rank() int {
	switch s {
	case Low:
		return 1
	case Medium:
		return 2
	case High:
		return 3
	}
	return 0
}

// Rule names, the values of Finding.Rule.
const (
	RuleUnusedIdentity           = "unused-identity"
	RuleUnusedAssignment         = "unused-assignment"
	RuleExcessPermissions        = "excess-permissions"
	RulePrivilegedRole           = "privileged-role"
	RuleBroadScope               = "broad-scope"
	RuleSharedIdentity           = "shared-identity"
	RuleSecretCredential         = "secret-credential"
	RuleNoAssignments            = "no-assignments"
	RuleStaleFederatedCredential = "stale-federated-credential"
)

// Finding is one thing to look at.
type Finding struct {
	// ID is stable across runs for the same fact: a digest of the rule and
	// what it is about.
	ID             string   `json:"id"`
	Rule           string   `json:"rule"`
	Severity       Severity `json:"severity"`
	PrincipalID    string   `json:"principalId"`
	PrincipalType  string   `json:"principalType"`
	DisplayName    string   `json:"displayName"`
	Scope          string   `json:"scope"`
	ResourceIDs    []string `json:"resourceIds"`
	Evidence       string   `json:"evidence"`
	Recommendation string   `json:"recommendation"`
	// Fix is a keyless command line applying the recommendation; "" when
	// the change needs a person's judgement (splitting a shared identity).
	Fix string `json:"fix"`
	// CustomRole is, for excess-permissions without a built-in role that
	// fits, the role definition to create (ARM's JSON).
	CustomRole map[string]any `json:"customRole,omitempty"`
}

// Facts are what a review reads, a consistent snapshot.
type Facts struct {
	Principals  []store.Principal
	Credentials map[string][]store.Credential // by principal object ID
	// Attachments are the user-assigned identities attached to resources.
	Attachments []store.Attachment
	// Assignments are the role assignments; Assigned, when set, holds them
	// already grouped by principal ID (as the RBAC engine gives them) and
	// Assignments is not read.
	Assignments []store.RoleAssignment
	Assigned    map[string][]store.AssignmentGrant
	Roles       []store.RoleDefinition
	// FederatedCredentials by lower-case identity resource ID.
	FederatedCredentials map[string][]store.FederatedCredential
	// GroupsOf lists the groups a principal belongs to, transitively.
	GroupsOf map[string][]string
	// Usage is the merged usage of the principals, since the window start.
	Usage store.Usage
	// FederationUse is when each federated credential was last used for an
	// exchange, by lower-case "identityID/credentialName".
	FederationUse map[string]time.Time
}

// Options tune a review.
type Options struct {
	// Scope limits the review to identities whose resource is under it and
	// to service principals holding a role under it ("/" for everything).
	Scope string
	// UnusedDays is the usage window (default 90).
	UnusedDays int
	Now        time.Time
	// Covers reports whether a scope lies at or under another. It defaults
	// to the path rule; the server passes the RBAC engine's, which also
	// knows which subscriptions sit under which management groups.
	Covers func(ancestor, scope string) bool
}

func (o Options) window() time.Duration {
	d := o.UnusedDays
	if d <= 0 {
		d = 90
	}
	return time.Duration(d) * 24 * time.Hour
}

// privilegedRoles are the roles that can change access or everything.
var privilegedRoles = map[string]bool{
	authz.RoleOwner: true, authz.RoleContributor: true,
	authz.RoleUserAccessAdministrator: true, authz.RoleRBACAdministrator: true,
}

// reviewer holds the indexes one evaluation builds over Facts.
type reviewer struct {
	f         *Facts
	opts      Options
	since     time.Time
	scope     string
	roles     map[string]store.RoleDefinition
	matchers  map[string]*authz.RoleMatcher // lower role ID -> compiled permissions
	attached  map[string][]store.Attachment // lower UAMI ID -> holders
	assigned  map[string][]store.AssignmentGrant
	lastToken map[string]time.Time
	actions   map[string][]store.ActionUsage
	out       []Finding
}

// Evaluate applies every rule and returns the findings, most severe first.
func Evaluate(f *Facts, opts Options) []Finding {
	if opts.Scope == "" {
		opts.Scope = "/"
	}
	if opts.Covers == nil {
		opts.Covers = authz.IsAncestorOrSelf
	}
	r := &reviewer{f: f, opts: opts, since: opts.Now.Add(-opts.window()), scope: opts.Scope,
		roles:    map[string]store.RoleDefinition{},
		attached: map[string][]store.Attachment{}, assigned: map[string][]store.AssignmentGrant{},
		lastToken: map[string]time.Time{}, actions: map[string][]store.ActionUsage{}}
	r.matchers = make(map[string]*authz.RoleMatcher, len(f.Roles))
	for _, d := range f.Roles {
		r.roles[strings.ToLower(d.ID)] = d
		r.matchers[strings.ToLower(d.ID)] = authz.NewRoleMatcher(d)
	}
	for _, a := range f.Attachments {
		k := strings.ToLower(a.IdentityID)
		r.attached[k] = append(r.attached[k], a)
	}
	r.assigned = f.ByPrincipal()
	for _, t := range f.Usage.Tokens {
		if t.Last.After(r.lastToken[t.PrincipalID]) {
			r.lastToken[t.PrincipalID] = t.Last
		}
	}
	for _, a := range f.Usage.Actions {
		// A token exchange is the identity signing in, not a use of a
		// role; stale-federated-credential reads it through FederationUse.
		if !a.Denied && !strings.EqualFold(a.Action, usage.ActionFederatedExchange) {
			r.actions[a.PrincipalID] = append(r.actions[a.PrincipalID], a)
		}
	}
	// The principals are weighed in parallel chunks over the shared,
	// read-only indexes; concatenating the chunks' findings in chunk order
	// gives the order a single pass would, so the result does not depend
	// on the number of workers.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(f.Principals)/5000))
	chunk := (len(f.Principals) + workers - 1) / max(workers, 1)
	outs := make([][]Finding, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(f.Principals))
		wr := *r
		wr.out = make([]Finding, 0, (hi-lo)*2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range f.Principals[lo:hi] {
				if wr.inScope(p) {
					wr.principal(p)
				}
			}
			outs[w] = wr.out
		}()
	}
	wg.Wait()
	return sortFindings(outs)
}

// ruleOrder ranks the rules by name, the order findings of one severity
// are listed in.
var ruleOrder = func() map[string]uint64 {
	rules := []string{RuleUnusedIdentity, RuleUnusedAssignment, RuleExcessPermissions, RulePrivilegedRole, RuleBroadScope,
		RuleSharedIdentity, RuleSecretCredential, RuleNoAssignments, RuleStaleFederatedCredential}
	slices.Sort(rules)
	m := make(map[string]uint64, len(rules))
	for i, r := range rules {
		m[r] = uint64(i + 1)
	}
	return m
}()

// sortFindings orders findings most severe first, then by rule, keeping
// the order the rules emitted them in (the chunks in order, principals in
// store order), by sorting packed integer keys rather than moving the
// findings themselves: a review of a large installation has hundreds of
// thousands.
func sortFindings(chunks [][]Finding) []Finding {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	// severity (4 bits, inverted so the most severe sorts first) | rule
	// (8 bits) | position among all findings (52 bits).
	keys := make([]uint64, 0, n)
	at := make([]int, len(chunks)) // first position of each chunk
	pos := uint64(0)
	for ci, c := range chunks {
		at[ci] = int(pos)
		for i := range c {
			keys = append(keys, uint64(15-c[i].Severity.Rank())<<60|ruleOrder[c[i].Rule]<<52|pos)
			pos++
		}
	}
	slices.Sort(keys)
	out := make([]Finding, len(keys))
	ci := 0
	for i, k := range keys {
		p := int(k & (1<<52 - 1))
		// Find the chunk holding position p (chunks are few; positions
		// within one severity and rule ascend, so search from the start).
		ci = sort.Search(len(at), func(j int) bool { return at[j] > p }) - 1
		out[i] = chunks[ci][p-at[ci]]
	}
	return out
}

func (r *reviewer) inScope(p store.Principal) bool {
	return InScope(p, r.scope, r.assigned[p.ObjectID], r.opts.Covers)
}

// InScope reports whether a principal is under a scope for a review or an
// inventory: a managed identity when its resource is; a service principal
// when it holds a role there or below (its assignments given) — one holding
// a role above (the administrator at "/") belongs to that scope, not to
// every scope beneath it. covers is the scope rule (the RBAC engine's).
func InScope(p store.Principal, scope string, assignments []store.AssignmentGrant, covers func(ancestor, scope string) bool) bool {
	switch p.Kind {
	case store.PrincipalSystemAssigned, store.PrincipalUserAssigned:
		return covers(scope, p.ResourceID)
	case store.PrincipalServicePrincipal:
		if scope == "/" {
			return true
		}
		for _, a := range assignments {
			if covers(scope, a.Scope) {
				return true
			}
		}
	}
	return false
}

// ByPrincipal is the facts' role assignments by principal ID.
func (f *Facts) ByPrincipal() map[string][]store.AssignmentGrant {
	if f.Assigned != nil {
		return f.Assigned
	}
	return ByPrincipal(f.Assignments)
}

// ByPrincipal indexes assignments by principal in two passes, so that a
// million assignments cost one allocation per principal, not a growing
// slice each.
func ByPrincipal(as []store.RoleAssignment) map[string][]store.AssignmentGrant {
	counts := map[string]int{}
	for _, a := range as {
		counts[a.PrincipalID]++
	}
	out := make(map[string][]store.AssignmentGrant, len(counts))
	for _, a := range as {
		s := out[a.PrincipalID]
		if s == nil {
			s = make([]store.AssignmentGrant, 0, counts[a.PrincipalID])
		}
		out[a.PrincipalID] = append(s, store.AssignmentGrant{Name: a.Name, Scope: a.Scope, RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID})
	}
	return out
}

// findingID is stable for the same rule and subject: a 64-bit FNV-1a
// digest of the rule and the subject's case-folded keys (the principal
// first), NUL-separated. Written out by hand: it runs once per finding,
// hundreds of thousands of times in a large review.
func findingID(rule, principalID string, parts ...string) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(rule); i++ {
		h = (h ^ uint64(rule[i])) * prime
	}
	fold := func(p string) {
		h = (h ^ 0) * prime
		for i := 0; i < len(p); i++ {
			c := p[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			h = (h ^ uint64(c)) * prime
		}
	}
	fold(principalID)
	for _, p := range parts {
		fold(p)
	}
	var sum [8]byte
	var digits [16]byte
	binary.BigEndian.PutUint64(sum[:], h)
	hex.Encode(digits[:], sum[:])
	return rule + "-" + string(digits[:])
}

func (r *reviewer) emit(f Finding, key ...string) {
	f.ID = findingID(f.Rule, f.PrincipalID, key...)
	if f.ResourceIDs == nil {
		f.ResourceIDs = []string{}
	}
	r.out = append(r.out, f)
}

func base(p store.Principal) Finding {
	t := string(p.Kind)
	switch p.Kind {
	case store.PrincipalSystemAssigned, store.PrincipalUserAssigned:
		t = "ManagedIdentity"
	}
	f := Finding{PrincipalID: p.ObjectID, PrincipalType: t, DisplayName: p.DisplayName}
	if p.ResourceID != "" {
		f.ResourceIDs = []string{p.ResourceID}
	}
	return f
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func (r *reviewer) principal(p store.Principal) {
	// Too new to judge by use: the window has not passed since it was made.
	judged := p.CreatedAt.Before(r.since)
	_, used := r.lastToken[p.ObjectID]
	// A principal that made control-plane requests in the window held a
	// token then, whichever replica issued it.
	used = used || len(r.actions[p.ObjectID]) > 0
	assignments := r.assigned[p.ObjectID]

	if judged && !used {
		f := base(p)
		f.Rule, f.Severity, f.Scope = RuleUnusedIdentity, Medium, p.ResourceID
		f.Evidence = fmt.Sprintf("No token was issued to it in the last %d days (created %s).", r.days(), day(p.CreatedAt))
		f.Recommendation, f.Fix = r.removal(p)
		r.emit(f)
	}
	if len(assignments) == 0 && len(r.f.GroupsOf[p.ObjectID]) == 0 {
		f := base(p)
		f.Rule, f.Severity, f.Scope = RuleNoAssignments, Low, p.ResourceID
		f.Evidence = "It holds no role assignment anywhere, directly or through a group."
		f.Recommendation = "An identity with no role can reach nothing keyless governs: grant it the role its workload needs, or delete it if it has none."
		if judged && !used {
			_, f.Fix = r.removal(p)
		}
		r.emit(f)
	}
	// An unused identity's assignments are not weighed one by one: retiring
	// the identity (the finding above) retires them, and a finding per
	// assignment would bury it.
	weigh := judged && used
	for _, a := range assignments {
		r.assignment(p, a, weigh)
	}
	if p.Kind == store.PrincipalUserAssigned {
		r.sharedIdentity(p)
		r.federated(p)
	}
	if p.Kind == store.PrincipalServicePrincipal {
		r.secrets(p)
	}
}

func (r *reviewer) days() int { return int(r.opts.window() / (24 * time.Hour)) }

// removal is how to retire an unused principal.
func (r *reviewer) removal(p store.Principal) (string, string) {
	switch p.Kind {
	case store.PrincipalUserAssigned:
		g, n := groupAndName(p.ResourceID)
		return "Delete the user-assigned identity: nothing has used it. Its role assignments go with it.",
			fmt.Sprintf("keyless identity delete -g %s -n %s", g, n)
	case store.PrincipalSystemAssigned:
		return "Turn off the resource's system-assigned identity: nothing has used it. Its role assignments go with it.",
			fmt.Sprintf("keyless resource identity remove --ids %s --identities [system]", p.ResourceID)
	}
	return "Delete the service principal: nothing has authenticated as it. Its role assignments go with it.",
		fmt.Sprintf("keyless sp delete --id %s", p.ObjectID)
}

func groupAndName(id string) (string, string) {
	_, g, n := SplitID(id)
	return g, n
}

// SplitID returns a resource ID's subscription, resource group and name
// (the last segment), the parts a report shows, without the full parse of
// azcore's arm.ParseResourceID: a report of 100,000 identities splits each
// of their IDs, and the full parse was a tenth of its time. An ID that is
// not under a resource group has an empty group; one not under a
// subscription, an empty subscription.
func SplitID(id string) (sub, group, name string) {
	// Empty segments are skipped, as azcore's parser skips them.
	next := func(rest string) (seg, tail string) {
		rest = strings.TrimLeft(rest, "/")
		seg, tail, _ = strings.Cut(rest, "/")
		return seg, tail
	}
	trimmed := strings.TrimRight(id, "/")
	name = trimmed[strings.LastIndexByte(trimmed, '/')+1:]
	head, rest := next(id)
	if !strings.EqualFold(head, "subscriptions") {
		return "", "", name
	}
	sub, rest = next(rest)
	if head, rest = next(rest); !strings.EqualFold(head, "resourceGroups") {
		return sub, "", name
	}
	group, _ = next(rest)
	return sub, group, name
}

func scopeLevel(scope string) string {
	if scope == "/" || scope == "" {
		return "root"
	}
	rest := strings.TrimPrefix(scope, "/")
	if head, tail, ok := strings.Cut(rest, "/"); ok {
		switch {
		case strings.EqualFold(head, "subscriptions") && !strings.Contains(strings.TrimSuffix(tail, "/"), "/"):
			return "subscription"
		case strings.EqualFold(head, "providers") && len(tail) > len("Microsoft.Management/managementGroups/") &&
			strings.EqualFold(tail[:len("Microsoft.Management/managementGroups/")], "Microsoft.Management/managementGroups/") &&
			!strings.Contains(strings.TrimSuffix(tail[len("Microsoft.Management/managementGroups/"):], "/"), "/"):
			return "managementGroup"
		}
	}
	return ""
}

func (r *reviewer) roleName(id string) string {
	if d, ok := r.roles[strings.ToLower(id)]; ok {
		return d.RoleName
	}
	return id
}

// used lists the distinct actions the principal exercised at or under the
// scope within the window.
func (r *reviewer) used(principalID, scope string) []string {
	acts := r.actions[principalID]
	if len(acts) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range acts {
		if a.Last.Before(r.since) || !r.opts.Covers(scope, a.Scope) {
			continue
		}
		k := strings.ToLower(a.Action)
		if !seen[k] {
			seen[k] = true
			out = append(out, a.Action)
		}
	}
	sort.Strings(out)
	return out
}

// assignment weighs one role assignment; weigh says whether its use may be
// judged (the principal is old enough and used at all).
func (r *reviewer) assignment(p store.Principal, a store.AssignmentGrant, weigh bool) {
	roleKey := strings.ToLower(a.RoleDefinitionID)
	role, known := r.roles[roleKey]
	name := role.RoleName
	if !known {
		name = a.RoleDefinitionID
	}
	// The assignment's ID, and the actions used under it, are worked out
	// once, and only for the findings that need them.
	var aidCache string
	aid := func() string {
		if aidCache == "" {
			aidCache = assignmentID(a)
		}
		return aidCache
	}
	var usedCache []string
	usedKnown := false
	usedHere := func() []string {
		if !usedKnown {
			usedCache, usedKnown = r.used(p.ObjectID, a.Scope), true
		}
		return usedCache
	}
	if privilegedRoles[roleKey] {
		f := base(p)
		f.Rule, f.Severity, f.Scope = RulePrivilegedRole, High, a.Scope
		f.Evidence = fmt.Sprintf("It holds %s at %s.", name, a.Scope)
		f.Recommendation = "A workload identity should not be able to change access or everything: grant the narrowest role that covers what it does."
		if narrower, _ := r.narrowest(p.ObjectID, usedHere(), a.Scope, role); narrower != "" {
			f.Fix = replaceFix(p, a, narrower, aid())
			f.Recommendation += fmt.Sprintf(" By its use, that is %s.", r.roleName(narrower))
		}
		r.emit(f, aid())
	}
	if lvl := scopeLevel(a.Scope); lvl != "" {
		f := base(p)
		f.Rule, f.Severity, f.Scope = RuleBroadScope, Medium, a.Scope
		f.Evidence = fmt.Sprintf("It holds %s at the %s scope %s, which reaches every resource below it.", name, lvl, a.Scope)
		f.Recommendation = "Assign the role at the resource group or resource the workload uses."
		r.emit(f, aid())
	}
	if !known || !weigh || len(role.Permissions) == 0 || controlActionsOf(role) == 0 {
		// Data-plane-only roles are used through tokens for other
		// services, which keyless cannot see into; a role it does not
		// know it cannot weigh.
		return
	}
	var covered []string
	m := r.matcher(role)
	for _, act := range usedHere() {
		if m.Allows(act) {
			covered = append(covered, act)
		}
	}
	if len(covered) == 0 {
		f := base(p)
		f.Rule, f.Severity, f.Scope = RuleUnusedAssignment, Medium, a.Scope
		f.Evidence = fmt.Sprintf("It holds %s at %s but performed none of its actions there in the last %d days.", name, a.Scope, r.days())
		f.Recommendation = "Delete the assignment."
		f.Fix = "keyless role assignment delete --ids " + aid()
		r.emit(f, aid())
		return
	}
	narrower, custom := r.narrowest(p.ObjectID, usedHere(), a.Scope, role)
	if narrower == "" && custom == nil {
		return
	}
	f := base(p)
	f.Rule, f.Severity, f.Scope = RuleExcessPermissions, Medium, a.Scope
	f.Evidence = fmt.Sprintf("In the last %d days it used only %s of %s at %s.", r.days(), strings.Join(covered, ", "), name, a.Scope)
	if narrower != "" {
		f.Recommendation = fmt.Sprintf("Replace %s with %s, the narrowest built-in role that covers every action it used there.", name, r.roleName(narrower))
		f.Fix = replaceFix(p, a, narrower, aid())
	} else {
		f.Recommendation = fmt.Sprintf("No built-in role narrower than %s covers exactly what it used: create the custom role below, assign it, and delete this assignment.", name)
		f.CustomRole = custom
	}
	r.emit(f, aid())
}

func controlActionsOf(role store.RoleDefinition) int {
	n := 0
	for _, p := range role.Permissions {
		n += len(p.Actions)
	}
	return n
}

func assignmentID(a store.AssignmentGrant) string {
	return strings.TrimSuffix(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name
}

func replaceFix(p store.Principal, a store.AssignmentGrant, roleID, assignmentID string) string {
	return fmt.Sprintf("keyless role assignment create --assignee-object-id %s --assignee-principal-type ServicePrincipal --role %s --scope %s && keyless role assignment delete --ids %s",
		p.ObjectID, roleID, a.Scope, assignmentID)
}

// narrowest finds the built-in role narrower than current that allows every
// action used (the principal's at scope), preferring the one granting the
// fewest known actions; with none, the custom role granting exactly them.
func (r *reviewer) narrowest(principalID string, used []string, scope string, current store.RoleDefinition) (string, map[string]any) {
	if len(used) == 0 {
		return "", nil
	}
	best, bestScore := "", -1
	for _, d := range r.f.Roles {
		if d.RoleType != authz.RoleTypeBuiltIn || strings.EqualFold(d.ID, current.ID) || controlActionsOf(d) == 0 {
			continue
		}
		ok := true
		dm := r.matcher(d)
		for _, act := range used {
			if !dm.Allows(act) {
				ok = false
				break
			}
		}
		if !ok || !narrowerThan(d, current, r.matcher(current)) {
			continue
		}
		score := breadth(d)
		if bestScore < 0 || score < bestScore || score == bestScore && d.RoleName < r.roleName(best) {
			best, bestScore = d.ID, score
		}
	}
	if best != "" {
		return best, nil
	}
	if len(used) >= controlActionsOf(current) {
		return "", nil // the role is already as narrow as its use
	}
	acts := make([]any, len(used))
	for i, u := range used {
		acts[i] = u
	}
	return "", map[string]any{
		"properties": map[string]any{
			"roleName":         "Least privilege for " + principalID,
			"description":      "The actions the principal used at " + scope + ".",
			"permissions":      []any{map[string]any{"actions": acts, "notActions": []any{}}},
			"assignableScopes": []any{scope},
		},
	}
}

// narrowerThan: every action pattern d grants is granted by current too,
// and d is not the same grant.
func narrowerThan(d, current store.RoleDefinition, cm *authz.RoleMatcher) bool {
	for _, p := range d.Permissions {
		for _, act := range p.Actions {
			probe := strings.ReplaceAll(act, "*", "x")
			if !cm.Allows(probe) {
				return false
			}
		}
	}
	return breadth(d) < breadth(current)
}

// breadth ranks how much a role grants: "*" outweighs everything, a
// wildcard pattern weighs less the more literal segments pin it down
// ("*/read" < "Microsoft.Web/*" < "*"), a literal action counts one, and
// each exclusion takes a little away.
func breadth(d store.RoleDefinition) int {
	score := 0
	for _, p := range d.Permissions {
		for _, act := range p.Actions {
			switch {
			case act == "*":
				score += 10000
			case strings.Contains(act, "*"):
				literal := 0
				for _, seg := range strings.Split(act, "/") {
					if seg != "*" && seg != "" {
						literal++
					}
				}
				score += 1000 / (1 + literal)
			default:
				score++
			}
		}
		score -= len(p.NotActions)
	}
	return score
}

func (r *reviewer) sharedIdentity(p store.Principal) {
	holders := r.attached[strings.ToLower(p.ResourceID)]
	if len(holders) < 2 {
		return
	}
	types := map[string]bool{}
	var ids []string
	for _, h := range holders {
		types[strings.ToLower(h.ResourceType)] = true
		ids = append(ids, h.ResourceID)
	}
	if len(types) < 2 {
		return
	}
	var names []string
	for _, h := range holders {
		names = append(names, h.ResourceType)
	}
	sort.Strings(ids)
	names = dedupe(names)
	f := base(p)
	f.Rule, f.Severity, f.Scope = RuleSharedIdentity, Low, p.ResourceID
	f.ResourceIDs = ids
	f.Evidence = fmt.Sprintf("It is attached to resources of %d types (%s): one identity doing several jobs holds the union of their permissions.", len(types), strings.Join(names, ", "))
	f.Recommendation = "Give each kind of workload an identity of its own with only the roles that workload needs."
	r.emit(f)
}

func dedupe(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || !strings.EqualFold(x, xs[i-1]) {
			out = append(out, x)
		}
	}
	return out
}

func (r *reviewer) federated(p store.Principal) {
	for _, fic := range r.f.FederatedCredentials[strings.ToLower(p.ResourceID)] {
		if !fic.CreatedAt.Before(r.since) {
			continue
		}
		last, ok := r.f.FederationUse[strings.ToLower(p.ResourceID+"/"+fic.Name)]
		if ok && !last.Before(r.since) {
			continue
		}
		f := base(p)
		f.Rule, f.Severity, f.Scope = RuleStaleFederatedCredential, Low, p.ResourceID
		f.Evidence = fmt.Sprintf("The federated credential %s (issuer %s, subject %s) was not used for a token exchange in the last %d days.", fic.Name, fic.Issuer, fic.Subject, r.days())
		f.Recommendation = "Delete the federated credential: the external workload it trusts no longer signs in."
		g, n := groupAndName(p.ResourceID)
		f.Fix = fmt.Sprintf("keyless identity federated-credential delete -g %s --identity-name %s -n %s", g, n, fic.Name)
		r.emit(f, fic.Name)
	}
}

func (r *reviewer) secrets(p store.Principal) {
	now := r.opts.Now
	for _, c := range r.f.Credentials[p.ObjectID] {
		if c.Kind != store.CredentialSecret {
			continue
		}
		f := base(p)
		f.Rule, f.Scope = RuleSecretCredential, "/"
		var why []string
		f.Severity = Low
		switch {
		case !c.NotAfter.IsZero() && !c.NotAfter.After(now):
			why = append(why, fmt.Sprintf("expired on %s", day(c.NotAfter)))
		case !c.NotAfter.IsZero() && c.NotAfter.Before(now.Add(30*24*time.Hour)):
			why = append(why, fmt.Sprintf("expires on %s, within 30 days", day(c.NotAfter)))
			f.Severity = Medium
		}
		if c.CreatedAt.Before(now.Add(-365 * 24 * time.Hour)) {
			why = append(why, fmt.Sprintf("is more than a year old (created %s)", day(c.CreatedAt)))
			f.Severity = Medium
		}
		if len(why) == 0 {
			why = append(why, "is a long-lived secret")
		}
		f.Evidence = fmt.Sprintf("It authenticates with the client secret %s…, which %s.", c.Hint, strings.Join(why, " and "))
		f.Recommendation = "Move the workload to a managed identity (keyless run or the agent), a federated credential, or a certificate; then delete the secret. If a secret must stay, rotate it."
		f.Fix = "keyless sp reset --id " + p.ObjectID
		r.emit(f, c.ID)
	}
}

// matcher is the role's compiled permissions (compiled now for a role the
// facts did not list).
func (r *reviewer) matcher(d store.RoleDefinition) *authz.RoleMatcher {
	if m, ok := r.matchers[strings.ToLower(d.ID)]; ok {
		return m
	}
	return authz.NewRoleMatcher(d)
}
