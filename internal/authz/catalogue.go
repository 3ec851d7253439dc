package authz

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/store"
)

// A role catalogue is a file of built-in role definitions in the shape
// `az role definition list` prints: a JSON array whose elements carry id
// (a bare GUID or a full role definition ID), roleName, description,
// roleType, permissions (with condition and conditionVersion where a
// block has one) and assignableScopes. The ARM shape, with those fields
// under "properties", is read too. `keyless server --role-catalogue FILE`
// adds the catalogue's built-in roles to the ones compiled in, so that
// templates and scripts naming any of Azure's roles by GUID or name work.

// catalogueRole is one element of a catalogue file.
type catalogueRole struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	RoleName    string `json:"roleName"`
	Description string `json:"description"`
	RoleType    string `json:"roleType"`
	// Type is the role type under "properties" in the ARM shape (at the
	// top it is the ARM resource type, and unused).
	Type             string                `json:"type"`
	Permissions      []cataloguePermission `json:"permissions"`
	AssignableScopes []string              `json:"assignableScopes"`
	Properties       *catalogueRole        `json:"properties"`
}

type cataloguePermission struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        *string  `json:"condition"`
	ConditionVersion *string  `json:"conditionVersion"`
}

// ReadCatalogue reads the built-in roles of a catalogue file. Custom roles
// in it (an export of a tenant holds both) are skipped and counted: they
// belong to that tenant, and keyless would make them read-only.
func ReadCatalogue(path string) (roles []store.RoleDefinition, skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	roles, skipped, err = ParseCatalogue(f)
	if err != nil {
		return nil, 0, fmt.Errorf("role catalogue %s: %w", path, err)
	}
	return roles, skipped, nil
}

// ParseCatalogue reads a catalogue (see ReadCatalogue).
func ParseCatalogue(r io.Reader) ([]store.RoleDefinition, int, error) {
	var raw []catalogueRole
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, 0, fmt.Errorf("not a JSON array of role definitions (the output of `az role definition list`): %w", err)
	}
	var (
		out     []store.RoleDefinition
		skipped int
		seen    = map[string]bool{}
	)
	for i, e := range raw {
		if p := e.Properties; p != nil {
			p.ID, p.Name = e.ID, e.Name
			if p.RoleType == "" {
				p.RoleType = p.Type
			}
			e = *p
		}
		if !strings.EqualFold(e.RoleType, RoleTypeBuiltIn) {
			skipped++
			continue
		}
		id := roleGUID(e.ID)
		if id == "" {
			id = roleGUID(e.Name)
		}
		if id == "" {
			return nil, 0, fmt.Errorf("element %d (%q): no role definition GUID in id or name", i, e.RoleName)
		}
		if strings.TrimSpace(e.RoleName) == "" {
			return nil, 0, fmt.Errorf("element %d (%s): no roleName", i, id)
		}
		if seen[id] {
			return nil, 0, fmt.Errorf("element %d: role %s appears twice", i, id)
		}
		seen[id] = true
		d := store.RoleDefinition{
			ID: id, RoleName: e.RoleName, Description: e.Description, RoleType: RoleTypeBuiltIn,
			AssignableScopes: nonNil(e.AssignableScopes), Scope: "/",
		}
		if len(d.AssignableScopes) == 0 {
			d.AssignableScopes = []string{"/"}
		}
		for _, p := range e.Permissions {
			perm := store.Permission{
				Actions: nonNil(p.Actions), NotActions: nonNil(p.NotActions),
				DataActions: nonNil(p.DataActions), NotDataActions: nonNil(p.NotDataActions),
			}
			if p.Condition != nil {
				perm.Condition = *p.Condition
			}
			if p.ConditionVersion != nil && perm.Condition != "" {
				perm.ConditionVersion = *p.ConditionVersion
			}
			d.Permissions = append(d.Permissions, perm)
		}
		out = append(out, d)
	}
	return out, skipped, nil
}

// roleGUID is the GUID a role definition ID ends with, lower case.
func roleGUID(id string) string {
	id = strings.TrimRight(id, "/")
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	return u.String()
}

// WithCatalogues is the compiled built-in roles plus those of the given
// catalogues; a catalogue's definition of a role replaces the compiled one
// (it is the newer snapshot the operator chose), and a later catalogue's a
// former's.
func WithCatalogues(catalogues ...[]store.RoleDefinition) []store.RoleDefinition {
	roles := BuiltinRoles()
	index := map[string]int{}
	for i, r := range roles {
		index[r.ID] = i
	}
	for _, c := range catalogues {
		for _, r := range c {
			r = cloneRole(r)
			if i, ok := index[r.ID]; ok {
				roles[i] = r
				continue
			}
			index[r.ID] = len(roles)
			roles = append(roles, r)
		}
	}
	return roles
}
