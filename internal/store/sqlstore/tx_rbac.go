package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// Role definitions and role assignments. Their IDs and scopes are ARM IDs,
// compared case-insensitively; principal IDs are directory GUIDs, compared
// exactly.

// permissionJSON is the stored form of store.Permission. It has its own tags
// so that renaming a Go field never changes what is on disk.
type permissionJSON struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        string   `json:"condition,omitempty"`
	ConditionVersion string   `json:"conditionVersion,omitempty"`
}

const roleDefinitionCols = `id, role_name, description, role_type, permissions, assignable_scopes,
	scope, created_at, updated_at, created_by, updated_by`

func scanRoleDefinition(row scanner) (store.RoleDefinition, error) {
	var (
		d     store.RoleDefinition
		perms []permissionJSON
	)
	err := row.Scan(&d.ID, &d.RoleName, &d.Description, &d.RoleType, jsonCol{&perms}, jsonCol{&d.AssignableScopes},
		&d.Scope, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt}, &d.CreatedBy, &d.UpdatedBy)
	if err != nil {
		return store.RoleDefinition{}, err
	}
	if perms != nil {
		d.Permissions = make([]store.Permission, len(perms))
		for i, p := range perms {
			d.Permissions[i] = store.Permission(p)
		}
	}
	return d, nil
}

// PutRoleDefinition creates or replaces a role definition. A replace keeps
// the casing of the ID, the creation time and the creator first written.
func (t *tx) PutRoleDefinition(ctx context.Context, d store.RoleDefinition) (bool, error) {
	if err := t.writable("put role definition"); err != nil {
		return false, err
	}
	var perms []permissionJSON
	if d.Permissions != nil {
		perms = make([]permissionJSON, len(d.Permissions))
		for i, p := range d.Permissions {
			perms[i] = permissionJSON(p)
		}
	}
	permsText, err := jsonText(perms)
	if err != nil {
		return false, fmt.Errorf("put role definition %q: %w", d.ID, err)
	}
	scopesText, err := jsonText(d.AssignableScopes)
	if err != nil {
		return false, fmt.Errorf("put role definition %q: %w", d.ID, err)
	}
	idLower := lower(d.ID)
	found, err := t.exists(ctx, `SELECT 1 FROM role_definitions WHERE id_lower = ?`, idLower)
	if err != nil {
		return false, fmt.Errorf("put role definition %q: %w", d.ID, err)
	}
	if found {
		err = t.change(ctx, store.KindRoleDefinition, idLower, store.OpPut, `UPDATE role_definitions SET
			role_name = ?, description = ?, role_type = ?, permissions = ?, assignable_scopes = ?, scope = ?,
			updated_at = ?, updated_by = ? WHERE id_lower = ?`,
			d.RoleName, d.Description, d.RoleType, permsText, scopesText, d.Scope, t.d.ts(d.UpdatedAt), d.UpdatedBy, idLower)
	} else {
		err = t.insert(ctx, store.KindRoleDefinition, idLower, `INSERT INTO role_definitions
			(id_lower, `+roleDefinitionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			idLower, d.ID, d.RoleName, d.Description, d.RoleType, permsText, scopesText, d.Scope,
			t.d.ts(d.CreatedAt), t.d.ts(d.UpdatedAt), d.CreatedBy, d.UpdatedBy)
	}
	if err != nil {
		return false, fmt.Errorf("put role definition %q: %w", d.ID, err)
	}
	return !found, nil
}

func (t *tx) GetRoleDefinition(ctx context.Context, id string) (store.RoleDefinition, error) {
	d, err := get(ctx, t, scanRoleDefinition, `SELECT `+roleDefinitionCols+` FROM role_definitions WHERE id_lower = ?`, lower(id))
	if err != nil {
		return store.RoleDefinition{}, fmt.Errorf("get role definition %q: %w", id, err)
	}
	return d, nil
}

func (t *tx) ListRoleDefinitions(ctx context.Context) ([]store.RoleDefinition, error) {
	ds, err := list(ctx, t, scanRoleDefinition, `SELECT `+roleDefinitionCols+` FROM role_definitions ORDER BY id_lower`)
	if err != nil {
		return nil, fmt.Errorf("list role definitions: %w", err)
	}
	return ds, nil
}

func (t *tx) DeleteRoleDefinition(ctx context.Context, id string) error {
	if err := t.writable("delete role definition"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindRoleDefinition, lower(id), store.OpDelete, `DELETE FROM role_definitions WHERE id_lower = ?`, lower(id))
	if err != nil {
		return fmt.Errorf("delete role definition %q: %w", id, err)
	}
	return nil
}

const roleAssignmentCols = `name, scope, role_definition_id, principal_id, principal_type, description,
	condition, condition_version, created_at, updated_at, created_by, updated_by`

func scanRoleAssignment(row scanner) (store.RoleAssignment, error) {
	var a store.RoleAssignment
	err := row.Scan(&a.Name, &a.Scope, &a.RoleDefinitionID, &a.PrincipalID, &a.PrincipalType, &a.Description,
		&a.Condition, &a.ConditionVersion, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt}, &a.CreatedBy, &a.UpdatedBy)
	return a, err
}

// CreateRoleAssignment fails with ErrAlreadyExists when the name is taken or
// the principal already holds the role at that scope, as ARM refuses
// (RoleAssignmentExists).
func (t *tx) CreateRoleAssignment(ctx context.Context, a store.RoleAssignment) error {
	if err := t.writable("create role assignment"); err != nil {
		return err
	}
	err := t.insert(ctx, store.KindRoleAssignment, lower(a.Name), `INSERT INTO role_assignments
		(name_lower, scope_lower, role_definition_lower, `+roleAssignmentCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		lower(a.Name), lower(a.Scope), lower(a.RoleDefinitionID),
		a.Name, a.Scope, a.RoleDefinitionID, a.PrincipalID, a.PrincipalType, a.Description,
		a.Condition, a.ConditionVersion, t.d.ts(a.CreatedAt), t.d.ts(a.UpdatedAt), a.CreatedBy, a.UpdatedBy)
	if err != nil {
		return fmt.Errorf("create role assignment %q: %w", a.Name, err)
	}
	return nil
}

func (t *tx) GetRoleAssignment(ctx context.Context, name string) (store.RoleAssignment, error) {
	a, err := get(ctx, t, scanRoleAssignment, `SELECT `+roleAssignmentCols+` FROM role_assignments WHERE name_lower = ?`, lower(name))
	if err != nil {
		return store.RoleAssignment{}, fmt.Errorf("get role assignment %q: %w", name, err)
	}
	return a, nil
}

func (t *tx) ListRoleAssignments(ctx context.Context, f store.RoleAssignmentFilter) ([]store.RoleAssignment, error) {
	var w where
	if f.PrincipalID != "" {
		w.add(`principal_id = ?`, f.PrincipalID)
	}
	if f.RoleDefinitionID != "" {
		w.add(`role_definition_lower = ?`, lower(f.RoleDefinitionID))
	}
	if f.Scope != "" {
		w.add(`scope_lower = ?`, lower(f.Scope))
	}
	// "/" (or "") is the root and matches everything; otherwise match at
	// a segment boundary so /subscriptions/a never matches /subscriptions/ab.
	if prefix := lower(strings.TrimRight(f.ScopePrefix, "/")); prefix != "" {
		from, to := prefixRange(prefix)
		w.add(`(scope_lower = ? OR (scope_lower >= ? AND scope_lower < ?))`, prefix, from, to)
	}
	as, err := list(ctx, t, scanRoleAssignment, `SELECT `+roleAssignmentCols+` FROM role_assignments`+w.sql()+` ORDER BY name_lower`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	return as, nil
}

func (t *tx) EachAssignmentGrant(ctx context.Context, fn func(store.AssignmentGrant) error) error {
	scan := func(row scanner) (store.AssignmentGrant, error) {
		var g store.AssignmentGrant
		err := row.Scan(&g.Name, &g.Scope, &g.RoleDefinitionID, &g.PrincipalID)
		return g, err
	}
	if err := each(ctx, t, scan, fn, `SELECT name, scope, role_definition_id, principal_id FROM role_assignments`); err != nil {
		return fmt.Errorf("read role assignments: %w", err)
	}
	return nil
}

func (t *tx) DeleteRoleAssignment(ctx context.Context, name string) error {
	if err := t.writable("delete role assignment"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindRoleAssignment, lower(name), store.OpDelete, `DELETE FROM role_assignments WHERE name_lower = ?`, lower(name))
	if err != nil {
		return fmt.Errorf("delete role assignment %q: %w", name, err)
	}
	return nil
}
