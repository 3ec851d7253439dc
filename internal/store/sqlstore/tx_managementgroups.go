package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyless-io/keyless/internal/store"
)

// Management groups form one tree under the tenant root group, the only
// group without a parent; subscriptions hang off it. The RBAC engine walks
// the tree to inherit role assignments downwards, so the store keeps it a
// tree: every parent exists, no group is its own ancestor, one root. Each
// rule is checked by a query before the write rather than left to a
// constraint, which on PostgreSQL would abort the whole transaction.

const managementGroupCols = `name, display_name, parent_name, created_at, updated_at, updated_by`

func scanManagementGroup(row scanner) (store.ManagementGroup, error) {
	var g store.ManagementGroup
	err := row.Scan(&g.Name, &g.DisplayName, &g.ParentName, timeCol{&g.CreatedAt}, timeCol{&g.UpdatedAt}, &g.UpdatedBy)
	return g, err
}

// isAncestorOrSelf reports whether the group named ancestorLower is
// groupLower or above it. UNION (not UNION ALL) ends the walk even on a
// cycle, which the rules keep out anyway.
const isAncestorOrSelf = `WITH RECURSIVE up (name_lower, parent_lower) AS (
		SELECT name_lower, parent_lower FROM management_groups WHERE name_lower = ?
		UNION
		SELECT g.name_lower, g.parent_lower FROM management_groups g JOIN up ON g.name_lower = up.parent_lower
	) SELECT 1 FROM up WHERE name_lower = ?`

// PutManagementGroup creates or replaces a group. A replace keeps the
// casing of the name and the creation time first written; a changed
// ParentName moves the group with everything under it.
func (t *tx) PutManagementGroup(ctx context.Context, g store.ManagementGroup) (bool, error) {
	if err := t.writable("put management group"); err != nil {
		return false, err
	}
	nameLower, parentLower := lower(g.Name), lower(g.ParentName)
	found, err := t.exists(ctx, `SELECT 1 FROM management_groups WHERE name_lower = ?`, nameLower)
	if err != nil {
		return false, fmt.Errorf("put management group %q: %w", g.Name, err)
	}
	if err := t.wantParent(ctx, nameLower, parentLower, g.ParentName); err != nil {
		return false, fmt.Errorf("put management group %q: %w", g.Name, err)
	}
	if found {
		err = t.change(ctx, store.KindManagementGroup, nameLower, store.OpPut, `UPDATE management_groups SET
			display_name = ?, parent_lower = ?, parent_name = ?, updated_at = ?, updated_by = ? WHERE name_lower = ?`,
			g.DisplayName, nullIfEmpty(parentLower), g.ParentName, t.d.ts(g.UpdatedAt), g.UpdatedBy, nameLower)
	} else {
		err = t.insert(ctx, store.KindManagementGroup, nameLower, `INSERT INTO management_groups
			(name_lower, parent_lower, `+managementGroupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			nameLower, nullIfEmpty(parentLower), g.Name, g.DisplayName, g.ParentName,
			t.d.ts(g.CreatedAt), t.d.ts(g.UpdatedAt), g.UpdatedBy)
	}
	if err != nil {
		return false, fmt.Errorf("put management group %q: %w", g.Name, err)
	}
	return !found, nil
}

// wantParent checks that group nameLower may sit under parentLower: the
// parent exists and is not the group or below it, or, for no parent, that
// no other group is the tenant root already.
func (t *tx) wantParent(ctx context.Context, nameLower, parentLower, parentName string) error {
	if parentLower == "" {
		root, err := t.exists(ctx, `SELECT 1 FROM management_groups WHERE parent_lower IS NULL AND name_lower <> ?`, nameLower)
		switch {
		case err != nil:
			return err
		case root:
			return fmt.Errorf("another group is the tenant root group: %w", store.ErrAlreadyExists)
		}
		return nil
	}
	if parentLower == nameLower {
		return fmt.Errorf("parent %q is the group itself: %w", parentName, store.ErrCycle)
	}
	if err := t.wantManagementGroup(ctx, parentName); err != nil {
		return fmt.Errorf("parent: %w", err)
	}
	cycle, err := t.exists(ctx, isAncestorOrSelf, parentLower, nameLower)
	switch {
	case err != nil:
		return err
	case cycle:
		return fmt.Errorf("parent %q is under the group: %w", parentName, store.ErrCycle)
	}
	return nil
}

// wantManagementGroup returns ErrNotFound unless the group exists; "" is
// the tenant root group, which always may be named.
func (t *tx) wantManagementGroup(ctx context.Context, name string) error {
	if name == "" {
		return nil
	}
	found, err := t.exists(ctx, `SELECT 1 FROM management_groups WHERE name_lower = ?`, lower(name))
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("management group %q: %w", name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) GetManagementGroup(ctx context.Context, name string) (store.ManagementGroup, error) {
	g, err := get(ctx, t, scanManagementGroup, `SELECT `+managementGroupCols+` FROM management_groups WHERE name_lower = ?`, lower(name))
	if err != nil {
		return store.ManagementGroup{}, fmt.Errorf("get management group %q: %w", name, err)
	}
	return g, nil
}

func (t *tx) ListManagementGroups(ctx context.Context) ([]store.ManagementGroup, error) {
	gs, err := list(ctx, t, scanManagementGroup, `SELECT `+managementGroupCols+` FROM management_groups ORDER BY name_lower`)
	if err != nil {
		return nil, fmt.Errorf("list management groups: %w", err)
	}
	return gs, nil
}

// DeleteManagementGroup deletes an empty group; while child groups or
// subscriptions remain under it, it answers ErrNotEmpty, as Azure does.
func (t *tx) DeleteManagementGroup(ctx context.Context, name string) error {
	if err := t.writable("delete management group"); err != nil {
		return err
	}
	if err := t.wantManagementGroup(ctx, name); err != nil {
		return fmt.Errorf("delete management group: %w", err)
	}
	nameLower := lower(name)
	for _, child := range []struct{ what, query string }{
		{"child groups", `SELECT 1 FROM management_groups WHERE parent_lower = ? LIMIT 1`},
		{"subscriptions", `SELECT 1 FROM subscriptions WHERE management_group_lower = ? LIMIT 1`},
	} {
		found, err := t.exists(ctx, child.query, nameLower)
		switch {
		case err != nil:
			return fmt.Errorf("delete management group %q: %w", name, err)
		case found:
			return fmt.Errorf("delete management group %q: %s are under it: %w", name, child.what, store.ErrNotEmpty)
		}
	}
	err := t.change(ctx, store.KindManagementGroup, nameLower, store.OpDelete, `DELETE FROM management_groups WHERE name_lower = ?`, nameLower)
	if err != nil {
		return fmt.Errorf("delete management group %q: %w", name, err)
	}
	return nil
}
