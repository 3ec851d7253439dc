// Package authztest generates realistic RBAC datasets for benchmarking the
// authz engine and comparing it with other engines (bench/casbin). It is
// test support: nothing in the server imports it.
package authztest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

// Config sizes a dataset. The scope tree has five levels below the root:
// subscriptions, resource groups, resources, child resources.
type Config struct {
	Seed                uint64
	Principals          int
	Assignments         int
	Groups              int // among the principals: groups with members
	Subscriptions       int
	GroupsPerSub        int // resource groups per subscription
	ResourcesPerGroup   int
	ChildrenPerResource int
	CustomRoles         int
	Queries             int
}

// Realistic is the benchmark size DESIGN.md asks for: a million assignments
// over a hundred thousand principals.
func Realistic() Config {
	return Config{
		Seed: 1, Principals: 100_000, Assignments: 1_000_000, Groups: 1_000,
		Subscriptions: 10, GroupsPerSub: 100, ResourcesPerGroup: 10, ChildrenPerResource: 2,
		CustomRoles: 20, Queries: 1 << 16,
	}
}

// Scaled is Realistic with assignments and principals divided by factor.
func Scaled(factor int) Config {
	c := Realistic()
	c.Principals /= factor
	c.Assignments /= factor
	c.Groups = max(c.Groups/factor, 10)
	return c
}

// Query is one authorization question.
type Query struct {
	PrincipalID string
	Action      string
	Scope       string
}

// Dataset is what an engine loads plus the questions to ask it.
type Dataset struct {
	Roles        []store.RoleDefinition // custom roles; built-ins are implied
	Assignments  []store.RoleAssignment
	GroupMembers map[string][]string
	Queries      []Query
	// Scopes lists every scope of the tree, root first, as ARM spells them.
	Scopes []string
}

// Actions the queries ask about.
var Actions = []string{
	"Microsoft.Web/sites/read",
	"Microsoft.Web/sites/write",
	"Microsoft.Web/sites/slots/write",
	"Microsoft.Compute/virtualMachines/start/action",
	"Microsoft.Authorization/roleAssignments/write",
	"Microsoft.Authorization/roleAssignments/read",
	"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
	"Microsoft.Storage/storageAccounts/listKeys/action",
}

func guid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a), uint16(b>>48), b&0xffffffffffff)
}

// Generate builds a dataset. Assignments sit mostly on resources and child
// resources, as they do when every workload has its own identity: 1 % at a
// subscription, 19 % at a resource group, 50 % at a resource and 30 % at a
// child resource. A tenth of the assignments go to groups, and half of the
// other principals belong to one or two groups (groups nest, one level).
// Half of the queries ask about a scope under one of the principal's own
// assignments (mostly allowed), half about a random resource (mostly
// denied, which walks every ancestor: the slow path).
func Generate(c Config) Dataset {
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	var ds Dataset

	// Scope tree, spelled as ARM clients send it.
	ds.Scopes = []string{"/"}
	var subs, rgs, resources, children []string
	below := map[string][]string{} // scope -> its direct children in the tree
	for s := 0; s < c.Subscriptions; s++ {
		sub := "/subscriptions/" + guid(r)
		subs = append(subs, sub)
		for g := 0; g < c.GroupsPerSub; g++ {
			rg := fmt.Sprintf("%s/resourceGroups/rg-%03d", sub, g)
			rgs = append(rgs, rg)
			below[sub] = append(below[sub], rg)
			for i := 0; i < c.ResourcesPerGroup; i++ {
				res := fmt.Sprintf("%s/providers/Microsoft.Web/sites/app-%d", rg, i)
				resources = append(resources, res)
				below[rg] = append(below[rg], res)
				for k := 0; k < c.ChildrenPerResource; k++ {
					child := fmt.Sprintf("%s/slots/slot-%d", res, k)
					children = append(children, child)
					below[res] = append(below[res], child)
				}
			}
		}
	}
	ds.Scopes = append(append(append(append(ds.Scopes, subs...), rgs...), resources...), children...)

	// Roles: the built-ins plus custom roles shaped like real ones.
	roleIDs := []string{
		authz.RoleOwner, authz.RoleContributor, authz.RoleReader, authz.RoleContributor, authz.RoleReader,
		authz.RoleManagedIdentityOperator, authz.RoleStorageBlobDataReader, authz.RoleKeyVaultSecretsUser,
	}
	for i := 0; i < c.CustomRoles; i++ {
		id := guid(r)
		ds.Roles = append(ds.Roles, store.RoleDefinition{
			ID: id, RoleName: fmt.Sprintf("custom-%d", i), RoleType: authz.RoleTypeCustom,
			AssignableScopes: []string{"/"},
			Permissions: []store.Permission{{
				Actions:    []string{"Microsoft.Web/sites/*/read", "Microsoft.Web/sites/" + []string{"write", "slots/write", "*"}[i%3], "*/read"},
				NotActions: []string{"Microsoft.Web/sites/config/*"},
			}},
		})
		roleIDs = append(roleIDs, id)
	}

	principals := make([]string, c.Principals)
	for i := range principals {
		principals[i] = guid(r)
	}
	groups := principals[:c.Groups]
	users := principals[c.Groups:]

	ds.GroupMembers = map[string][]string{}
	for _, u := range users {
		if r.IntN(2) == 0 {
			continue
		}
		for range 1 + r.IntN(2) {
			g := groups[r.IntN(len(groups))]
			ds.GroupMembers[g] = append(ds.GroupMembers[g], u)
		}
	}
	for i, g := range groups {
		if i%10 == 0 && i > 0 { // nested: every tenth group is in another
			parent := groups[r.IntN(i)]
			ds.GroupMembers[parent] = append(ds.GroupMembers[parent], g)
		}
	}

	pickScope := func() string {
		switch x := r.IntN(100); {
		case x < 1:
			return subs[r.IntN(len(subs))]
		case x < 20:
			return rgs[r.IntN(len(rgs))]
		case x < 70 || len(children) == 0:
			return resources[r.IntN(len(resources))]
		default:
			return children[r.IntN(len(children))]
		}
	}
	ds.Assignments = make([]store.RoleAssignment, c.Assignments)
	for i := range ds.Assignments {
		var p string
		if r.IntN(10) == 0 {
			p = groups[r.IntN(len(groups))]
		} else {
			p = users[i%len(users)] // every user gets its share
		}
		ds.Assignments[i] = store.RoleAssignment{
			Name:             guid(r),
			PrincipalID:      p,
			RoleDefinitionID: roleIDs[r.IntN(len(roleIDs))],
			Scope:            pickScope(),
			PrincipalType:    "ServicePrincipal",
		}
	}

	isGroup := make(map[string]bool, len(groups))
	for _, g := range groups {
		isGroup[g] = true
	}
	ds.Queries = make([]Query, c.Queries)
	for i := range ds.Queries {
		a := ds.Assignments[r.IntN(len(ds.Assignments))]
		for isGroup[a.PrincipalID] { // workloads ask, groups do not
			a = ds.Assignments[r.IntN(len(ds.Assignments))]
		}
		q := Query{PrincipalID: a.PrincipalID, Action: Actions[r.IntN(len(Actions))]}
		if r.IntN(2) == 0 {
			q.Scope = a.Scope
			for len(below[q.Scope]) > 0 && r.IntN(4) != 0 {
				q.Scope = below[q.Scope][r.IntN(len(below[q.Scope]))]
			}
		} else {
			q.Scope = children[r.IntN(len(children))]
		}
		// Fresh copies laid out in query order: a server checks the path of
		// the request it just read, which is in cache, not a string shared
		// with the index.
		q.PrincipalID, q.Scope = strings.Clone(q.PrincipalID), strings.Clone(q.Scope)
		ds.Queries[i] = q
	}
	return ds
}
