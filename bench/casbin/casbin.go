// Command casbin compares keyless's RBAC engine with Casbin's RBAC-with-domains
// model on the same dataset: the same roles, assignments, groups and
// questions, and the same answers (the program checks every one).
//
// It is its own module so that the product never depends on Casbin.
package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/authz/authztest"
)

// The model a Casbin user would write for ARM: a role assignment is a
// role link of a subject to a role in a domain (the scope); a role's
// permission block is one policy line holding its actions and notActions,
// matched by a custom function because neither ARM's `/*/` rule nor
// same-block exclusions exist among Casbin's built-ins.
const modelText = `
[request_definition]
r = sub, dom, act

[policy_definition]
p = role, acts, nots

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.role, r.dom) && armAction(r.act, p.acts, p.nots)
`

// Variant is one way of giving Casbin ARM's scope inheritance.
type Variant string

const (
	// Expand keeps exact domains; the caller asks once per ancestor of the
	// scope (root first) and group links are repeated in every domain where
	// the group, or a group above it, holds an assignment.
	Expand Variant = "expand"
	// DomainMatch is Casbin's documented way: a domain matching function
	// (here: "is an ancestor of") on the role manager, so an assignment's
	// domain applies to every scope below, and group links live at "/".
	DomainMatch Variant = "domain-match"
)

// CasbinEngine answers the same questions as authz.Engine.
type CasbinEngine struct {
	variant  Variant
	enforcer *casbin.Enforcer
}

// memoryAdapter feeds policy lines to Casbin's LoadPolicy, as a database
// adapter would.
type memoryAdapter struct{ lines [][]string }

func (a *memoryAdapter) LoadPolicy(m model.Model) error {
	for _, l := range a.lines {
		if err := persist.LoadPolicyArray(l, m); err != nil {
			return err
		}
	}
	return nil
}

var errReadOnly = errors.New("memory adapter is read-only")

func (a *memoryAdapter) SavePolicy(model.Model) error                { return errReadOnly }
func (a *memoryAdapter) AddPolicy(string, string, []string) error    { return errReadOnly }
func (a *memoryAdapter) RemovePolicy(string, string, []string) error { return errReadOnly }
func (a *memoryAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}

// NewCasbin loads the dataset into a Casbin enforcer.
func NewCasbin(ds authztest.Dataset, v Variant) (*CasbinEngine, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, err
	}
	enf, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	enf.EnableLog(false)
	enf.AddFunction("armAction", armAction)
	if v == DomainMatch {
		enf.AddNamedDomainMatchingFunc("g", "scopeMatch", func(scope, assignmentScope string) bool {
			return authz.IsAncestorOrSelf(assignmentScope, scope)
		})
	}

	var lines [][]string
	roles := append(authz.BuiltinRoles(), ds.Roles...)
	for _, r := range roles {
		for _, p := range r.Permissions {
			if len(p.Actions) > 0 {
				lines = append(lines, []string{"p", strings.ToLower(r.ID), strings.Join(p.Actions, "|"), strings.Join(p.NotActions, "|")})
			}
		}
	}
	for _, a := range ds.Assignments {
		lines = append(lines, []string{"g", strings.ToLower(a.PrincipalID), strings.ToLower(a.RoleDefinitionID), authz.NormalizeScope(a.Scope)})
	}
	switch v {
	case DomainMatch:
		for g, members := range ds.GroupMembers {
			for _, m := range members {
				lines = append(lines, []string{"g", strings.ToLower(m), strings.ToLower(g), "/"})
			}
		}
	case Expand:
		lines = append(lines, expandedGroupLinks(ds)...)
	}
	enf.SetAdapter(&memoryAdapter{lines: lines})
	if err := enf.LoadPolicy(); err != nil {
		return nil, err
	}
	return &CasbinEngine{variant: v, enforcer: enf}, nil
}

// expandedGroupLinks repeats each membership link (member -> group) in
// every domain where the group or any group containing it holds an
// assignment, which is what exact-domain RBAC needs for nested groups.
func expandedGroupLinks(ds authztest.Dataset) [][]string {
	domainsOf := map[string]map[string]bool{}
	for _, a := range ds.Assignments {
		p := strings.ToLower(a.PrincipalID)
		if _, isGroup := ds.GroupMembers[a.PrincipalID]; !isGroup {
			continue
		}
		if domainsOf[p] == nil {
			domainsOf[p] = map[string]bool{}
		}
		domainsOf[p][authz.NormalizeScope(a.Scope)] = true
	}
	parents := map[string][]string{}
	for g, members := range ds.GroupMembers {
		for _, m := range members {
			parents[strings.ToLower(m)] = append(parents[strings.ToLower(m)], strings.ToLower(g))
		}
	}
	// Domains where a group's membership matters: its own and its
	// ancestors' (cycle-safe walk up).
	relevant := func(g string) map[string]bool {
		out := map[string]bool{}
		seen := map[string]bool{}
		queue := []string{g}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			if seen[x] {
				continue
			}
			seen[x] = true
			for d := range domainsOf[x] {
				out[d] = true
			}
			queue = append(queue, parents[x]...)
		}
		return out
	}
	var lines [][]string
	for g, members := range ds.GroupMembers {
		doms := relevant(strings.ToLower(g))
		for _, m := range members {
			for d := range doms {
				lines = append(lines, []string{"g", strings.ToLower(m), strings.ToLower(g), d})
			}
		}
	}
	return lines
}

// Allowed answers like authz.Engine.Allowed.
func (c *CasbinEngine) Allowed(principalID, action, scope string) (bool, error) {
	sub := strings.ToLower(principalID)
	canonical := authz.NormalizeScope(scope)
	if c.variant == DomainMatch {
		return c.enforcer.Enforce(sub, canonical, action)
	}
	for _, dom := range ancestors(canonical) {
		ok, err := c.enforcer.Enforce(sub, dom, action)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func ancestors(canonical string) []string {
	out := []string{"/"}
	for i := 1; i < len(canonical); i++ {
		if canonical[i] == '/' {
			out = append(out, canonical[:i])
		}
	}
	if canonical != "/" {
		out = append(out, canonical)
	}
	return out
}

// armAction(action, "a1|a2", "n1|n2") is the ARM rule for one permission
// block. Compiled pattern lists are cached, as any sensible Casbin user
// would, so the comparison is about the engines and not about regexps.
func armAction(args ...interface{}) (interface{}, error) {
	action, _ := args[0].(string)
	include, _ := args[1].(string)
	exclude, _ := args[2].(string)
	return compiled(include).match(action) && !compiled(exclude).match(action), nil
}

var patternCache sync.Map // string -> globList

func compiled(list string) globList {
	if v, ok := patternCache.Load(list); ok {
		return v.(globList)
	}
	var g globList
	if list != "" {
		for _, p := range strings.Split(list, "|") {
			g = append(g, strings.ToLower(p))
		}
	}
	patternCache.Store(list, g)
	return g
}

type globList []string

func (g globList) match(action string) bool {
	action = strings.ToLower(action)
	for _, p := range g {
		if globMatch(p, action) {
			return true
		}
	}
	return false
}

// globMatch is ARM's wildcard rule: `*` is any run, and `/*/` may also be a
// single '/'.
func globMatch(p, s string) bool {
	for len(p) > 0 {
		if p[0] == '*' {
			rest := p[1:]
			for i := 0; i <= len(s); i++ {
				if globMatch(rest, s[i:]) {
					return true
				}
			}
			return false
		}
		if p[0] == '/' && strings.HasPrefix(p, "/*/") && len(s) > 0 && s[0] == '/' && globMatch(p[2:], s) {
			return true // "/*/" matching a single '/'
		}
		if len(s) == 0 || p[0] != s[0] {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// loadKeyless is the keyless side, for symmetry.
func loadKeyless(ds authztest.Dataset) *authz.Engine {
	e := authz.New()
	e.Load(ds.Roles, ds.Assignments, ds.GroupMembers)
	return e
}

func describe(ds authztest.Dataset) string {
	members := 0
	for _, m := range ds.GroupMembers {
		members += len(m)
	}
	return fmt.Sprintf("%d assignments, %d custom roles, %d groups with %d memberships, %d scopes",
		len(ds.Assignments), len(ds.Roles), len(ds.GroupMembers), members, len(ds.Scopes))
}
