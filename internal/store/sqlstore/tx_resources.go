package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// ARM containers and resources: subscriptions, resource groups, resources
// with their attachment index, federated credentials. ARM compares all of
// these IDs case-insensitively; the *_lower columns are the keys and the
// change-feed keys, the others keep the casing first written.

const subscriptionCols = `id, display_name, state, management_group_name, created_at`

func scanSubscription(row scanner) (store.Subscription, error) {
	var s store.Subscription
	err := row.Scan(&s.ID, &s.DisplayName, &s.State, &s.ManagementGroupName, timeCol{&s.CreatedAt})
	return s, err
}

// CreateSubscription inserts a subscription under its management group,
// which must exist ("" is the tenant root group).
func (t *tx) CreateSubscription(ctx context.Context, s store.Subscription) error {
	if err := t.writable("create subscription"); err != nil {
		return err
	}
	if err := t.wantManagementGroup(ctx, s.ManagementGroupName); err != nil {
		return fmt.Errorf("create subscription %q: %w", s.ID, err)
	}
	err := t.insert(ctx, store.KindSubscription, lower(s.ID), `INSERT INTO subscriptions
		(id_lower, id, display_name, state, management_group_lower, management_group_name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		lower(s.ID), s.ID, s.DisplayName, s.State, nullIfEmpty(lower(s.ManagementGroupName)), s.ManagementGroupName, t.d.ts(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("create subscription %q: %w", s.ID, err)
	}
	return nil
}

func (t *tx) GetSubscription(ctx context.Context, id string) (store.Subscription, error) {
	s, err := get(ctx, t, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions WHERE id_lower = ?`, lower(id))
	if err != nil {
		return store.Subscription{}, fmt.Errorf("get subscription %q: %w", id, err)
	}
	return s, nil
}

func (t *tx) ListSubscriptions(ctx context.Context) ([]store.Subscription, error) {
	subs, err := list(ctx, t, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions ORDER BY id_lower`)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return subs, nil
}

// UpdateSubscription rewrites a subscription; a changed
// ManagementGroupName moves it, and must name an existing group.
func (t *tx) UpdateSubscription(ctx context.Context, id string, fn func(store.Subscription) (store.Subscription, error)) error {
	if err := t.writable("update subscription"); err != nil {
		return err
	}
	old, err := t.GetSubscription(ctx, id)
	if err != nil {
		return fmt.Errorf("update subscription: %w", err)
	}
	s, err := fn(old)
	if err != nil {
		return err
	}
	if lower(s.ID) != lower(old.ID) {
		return fmt.Errorf("update subscription %q: the ID cannot change (got %q)", id, s.ID)
	}
	if err := t.wantManagementGroup(ctx, s.ManagementGroupName); err != nil {
		return fmt.Errorf("update subscription %q: %w", id, err)
	}
	err = t.change(ctx, store.KindSubscription, lower(id), store.OpPut, `UPDATE subscriptions SET
		display_name = ?, state = ?, management_group_lower = ?, management_group_name = ?, created_at = ?
		WHERE id_lower = ?`,
		s.DisplayName, s.State, nullIfEmpty(lower(s.ManagementGroupName)), s.ManagementGroupName, t.d.ts(s.CreatedAt), lower(id))
	if err != nil {
		return fmt.Errorf("update subscription %q: %w", id, err)
	}
	return nil
}

const resourceGroupCols = `subscription_id, name, location, tags, managed_by, created_at, updated_at`

func scanResourceGroup(row scanner) (store.ResourceGroup, error) {
	var g store.ResourceGroup
	err := row.Scan(&g.SubscriptionID, &g.Name, &g.Location, jsonCol{&g.Tags}, &g.ManagedBy,
		timeCol{&g.CreatedAt}, timeCol{&g.UpdatedAt})
	return g, err
}

// resourceGroupKey is the key of a resource group in the change feed: its
// resource ID, lower-cased.
func resourceGroupKey(subscriptionID, name string) string {
	return lower("/subscriptions/" + subscriptionID + "/resourceGroups/" + name)
}

// PutResourceGroup creates or replaces a group. A replace keeps the casing of
// the subscription ID and name and the creation time first written.
func (t *tx) PutResourceGroup(ctx context.Context, g store.ResourceGroup) (bool, error) {
	if err := t.writable("put resource group"); err != nil {
		return false, err
	}
	tags, err := jsonText(g.Tags)
	if err != nil {
		return false, fmt.Errorf("put resource group %q: %w", g.Name, err)
	}
	subLower, nameLower := lower(g.SubscriptionID), lower(g.Name)
	found, err := t.exists(ctx, `SELECT 1 FROM resource_groups WHERE subscription_lower = ? AND name_lower = ?`, subLower, nameLower)
	if err != nil {
		return false, fmt.Errorf("put resource group %q: %w", g.Name, err)
	}
	key := resourceGroupKey(g.SubscriptionID, g.Name)
	if found {
		err = t.change(ctx, store.KindResourceGroup, key, store.OpPut, `UPDATE resource_groups SET
			location = ?, tags = ?, managed_by = ?, updated_at = ?
			WHERE subscription_lower = ? AND name_lower = ?`,
			g.Location, tags, g.ManagedBy, t.d.ts(g.UpdatedAt), subLower, nameLower)
	} else {
		err = t.insert(ctx, store.KindResourceGroup, key, `INSERT INTO resource_groups
			(subscription_lower, name_lower, `+resourceGroupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			subLower, nameLower, g.SubscriptionID, g.Name, g.Location, tags, g.ManagedBy, t.d.ts(g.CreatedAt), t.d.ts(g.UpdatedAt))
	}
	if err != nil {
		return false, fmt.Errorf("put resource group %q: %w", g.Name, err)
	}
	return !found, nil
}

func (t *tx) GetResourceGroup(ctx context.Context, subscriptionID, name string) (store.ResourceGroup, error) {
	g, err := get(ctx, t, scanResourceGroup, `SELECT `+resourceGroupCols+` FROM resource_groups
		WHERE subscription_lower = ? AND name_lower = ?`, lower(subscriptionID), lower(name))
	if err != nil {
		return store.ResourceGroup{}, fmt.Errorf("get resource group %q: %w", name, err)
	}
	return g, nil
}

func (t *tx) ListResourceGroups(ctx context.Context, subscriptionID string) ([]store.ResourceGroup, error) {
	gs, err := list(ctx, t, scanResourceGroup, `SELECT `+resourceGroupCols+` FROM resource_groups
		WHERE subscription_lower = ? ORDER BY name_lower`, lower(subscriptionID))
	if err != nil {
		return nil, fmt.Errorf("list resource groups of subscription %q: %w", subscriptionID, err)
	}
	return gs, nil
}

// DeleteResourceGroup deletes the group row only: deleting the resources in
// it (and their identities) is the caller's, so that each appears in the
// change feed.
func (t *tx) DeleteResourceGroup(ctx context.Context, subscriptionID, name string) error {
	if err := t.writable("delete resource group"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindResourceGroup, resourceGroupKey(subscriptionID, name), store.OpDelete,
		`DELETE FROM resource_groups WHERE subscription_lower = ? AND name_lower = ?`, lower(subscriptionID), lower(name))
	if err != nil {
		return fmt.Errorf("delete resource group %q: %w", name, err)
	}
	return nil
}

// resourceSelect reads resources (aliased r, from a table or a subquery
// named r) with their attached identities, one row per identity, in
// attachment order.
const resourceSelect = `SELECT r.id, r.subscription_id, r.resource_group, r.type, r.name, r.location,
	r.body, r.principal_id, r.created_at, r.updated_at, r.created_by, r.updated_by, ri.identity_id
	FROM %s r LEFT JOIN resource_identities ri ON ri.resource_lower = r.id_lower
	%s ORDER BY r.id_lower, ri.position`

// scanResources folds the rows of resourceSelect into resources.
func scanResources(rows *sql.Rows) ([]store.Resource, error) {
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		var (
			r        store.Resource
			identity sql.NullString
		)
		err := rows.Scan(&r.ID, &r.SubscriptionID, &r.ResourceGroup, &r.Type, &r.Name, &r.Location,
			&r.Body, &r.PrincipalID, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, &r.CreatedBy, &r.UpdatedBy, &identity)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == r.ID {
			out[n-1].UserAssignedIdentities = append(out[n-1].UserAssignedIdentities, identity.String)
			continue
		}
		if identity.Valid {
			r.UserAssignedIdentities = []string{identity.String}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutResource creates or replaces a resource and its attachment index. A
// replace keeps the casing of the ID, the creation time and the creator
// first written. UserAssignedIdentities is stored without duplicates (first
// casing wins); an empty list reads back as nil.
func (t *tx) PutResource(ctx context.Context, r store.Resource) (bool, error) {
	if err := t.writable("put resource"); err != nil {
		return false, err
	}
	idLower := lower(r.ID)
	found, err := t.exists(ctx, `SELECT 1 FROM resources WHERE id_lower = ?`, idLower)
	if err != nil {
		return false, fmt.Errorf("put resource %q: %w", r.ID, err)
	}
	if found {
		err = t.change(ctx, store.KindResource, idLower, store.OpPut, `UPDATE resources SET
			subscription_lower = ?, subscription_id = ?, resource_group_lower = ?, resource_group = ?,
			type_lower = ?, type = ?, name = ?, location = ?, body = ?, principal_id = ?,
			updated_at = ?, updated_by = ? WHERE id_lower = ?`,
			lower(r.SubscriptionID), r.SubscriptionID, lower(r.ResourceGroup), r.ResourceGroup,
			lower(r.Type), r.Type, r.Name, r.Location, r.Body, r.PrincipalID,
			t.d.ts(r.UpdatedAt), r.UpdatedBy, idLower)
		if err == nil {
			_, err = t.exec(ctx, `DELETE FROM resource_identities WHERE resource_lower = ?`, idLower)
		}
	} else {
		err = t.insert(ctx, store.KindResource, idLower, `INSERT INTO resources
			(id_lower, id, subscription_lower, subscription_id, resource_group_lower, resource_group,
			type_lower, type, name, location, body, principal_id, created_at, updated_at, created_by, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			idLower, r.ID, lower(r.SubscriptionID), r.SubscriptionID, lower(r.ResourceGroup), r.ResourceGroup,
			lower(r.Type), r.Type, r.Name, r.Location, r.Body, r.PrincipalID,
			t.d.ts(r.CreatedAt), t.d.ts(r.UpdatedAt), r.CreatedBy, r.UpdatedBy)
	}
	if err == nil {
		err = t.attach(ctx, idLower, r.UserAssignedIdentities)
	}
	if err != nil {
		return false, fmt.Errorf("put resource %q: %w", r.ID, err)
	}
	return !found, nil
}

// attach writes the attachment index rows of one resource.
func (t *tx) attach(ctx context.Context, resourceLower string, identities []string) error {
	var (
		q    strings.Builder
		args []any
		seen = make(map[string]bool, len(identities))
	)
	for _, id := range identities {
		if seen[lower(id)] {
			continue
		}
		seen[lower(id)] = true
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?)")
		args = append(args, resourceLower, lower(id), id, len(seen))
	}
	if len(args) == 0 {
		return nil
	}
	_, err := t.exec(ctx, `INSERT INTO resource_identities (resource_lower, identity_lower, identity_id, position) VALUES `+q.String(), args...)
	return err
}

func (t *tx) GetResource(ctx context.Context, id string) (store.Resource, error) {
	rows, err := t.query(ctx, fmt.Sprintf(resourceSelect, "resources", "WHERE r.id_lower = ?"), lower(id))
	if err != nil {
		return store.Resource{}, fmt.Errorf("get resource %q: %w", id, err)
	}
	rs, err := scanResources(rows)
	if err == nil && len(rs) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Resource{}, fmt.Errorf("get resource %q: %w", id, mapErr(err))
	}
	return rs[0], nil
}

// ListResources pages in lower-case ID order; every filter is served by an
// index (see the migrations).
func (t *tx) EachAttachment(ctx context.Context, fn func(store.Attachment) error) error {
	scan := func(row scanner) (store.Attachment, error) {
		var a store.Attachment
		err := row.Scan(&a.ResourceID, &a.ResourceType, &a.IdentityID)
		return a, err
	}
	if err := each(ctx, t, scan, fn, `SELECT r.id, r.type, ri.identity_id FROM resource_identities ri JOIN resources r ON r.id_lower = ri.resource_lower`); err != nil {
		return fmt.Errorf("read attachments: %w", err)
	}
	return nil
}

func (t *tx) ListResources(ctx context.Context, f store.ResourceFilter) ([]store.Resource, error) {
	page, args := resourcesPage(f)
	rows, err := t.query(ctx, fmt.Sprintf(resourceSelect, "("+page+")", ""), args...)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	rs, err := scanResources(rows)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", mapErr(err))
	}
	return rs, nil
}

// resourcesPage is the query selecting one page of resources rows.
func resourcesPage(f store.ResourceFilter) (string, []any) {
	var w where
	if f.SubscriptionID != "" {
		w.add(`subscription_lower = ?`, lower(f.SubscriptionID))
		// Every resource ID starts with its subscription's path, so the
		// subscription is also a range of the IDs: with it, a
		// subscription-wide list of one type seeks into the type index at
		// the subscription instead of walking the type's rows of every
		// subscription before it.
		prefix := "/subscriptions/" + lower(f.SubscriptionID)
		if f.ResourceGroup != "" {
			prefix += "/resourcegroups/" + lower(f.ResourceGroup)
		}
		from, to := prefixRange(prefix)
		w.add(`id_lower >= ? AND id_lower < ?`, from, to)
	}
	if f.ResourceGroup != "" {
		w.add(`resource_group_lower = ?`, lower(f.ResourceGroup))
	}
	if f.Type != "" {
		w.add(`type_lower = ?`, lower(f.Type))
	}
	if f.ParentID != "" {
		from, to := prefixRange(lower(strings.TrimRight(f.ParentID, "/")))
		w.add(`id_lower >= ? AND id_lower < ?`, from, to)
	}
	if f.AttachedIdentity != "" {
		w.add(`id_lower IN (SELECT resource_lower FROM resource_identities WHERE identity_lower = ?)`, lower(f.AttachedIdentity))
	}
	if f.After != "" {
		w.add(`id_lower > ?`, lower(f.After))
	}
	page := `SELECT * FROM resources` + w.sql() + ` ORDER BY id_lower`
	args := w.args
	if f.Limit > 0 {
		page += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return page, args
}

// DeleteResource deletes a resource, its attachment index rows and, for a
// user-assigned identity, its federated credentials (ARM child resources
// that die with it and must not come back if the name is reused). Resources
// holding the identity are the caller's to detach first.
func (t *tx) DeleteResource(ctx context.Context, id string) error {
	if err := t.writable("delete resource"); err != nil {
		return err
	}
	idLower := lower(id)
	found, err := t.exists(ctx, `SELECT 1 FROM resources WHERE id_lower = ?`, idLower)
	if err != nil {
		return fmt.Errorf("delete resource %q: %w", id, err)
	}
	if !found {
		return fmt.Errorf("delete resource %q: %w", id, store.ErrNotFound)
	}
	fics, err := t.ListFederatedCredentials(ctx, id)
	if err != nil {
		return fmt.Errorf("delete resource %q: %w", id, err)
	}
	for _, c := range fics {
		if err := t.DeleteFederatedCredential(ctx, id, c.Name); err != nil {
			return fmt.Errorf("delete resource %q: %w", id, err)
		}
	}
	if _, err := t.exec(ctx, `DELETE FROM resource_identities WHERE resource_lower = ?`, idLower); err != nil {
		return fmt.Errorf("delete resource %q: %w", id, err)
	}
	if err := t.change(ctx, store.KindResource, idLower, store.OpDelete, `DELETE FROM resources WHERE id_lower = ?`, idLower); err != nil {
		return fmt.Errorf("delete resource %q: %w", id, err)
	}
	return nil
}

const federatedCredentialCols = `identity_id, name, issuer, subject, audiences, created_at, updated_at`

func scanFederatedCredential(row scanner) (store.FederatedCredential, error) {
	var c store.FederatedCredential
	err := row.Scan(&c.IdentityID, &c.Name, &c.Issuer, &c.Subject, jsonCol{&c.Audiences},
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

// federatedCredentialKey is the change-feed key: the credential's ARM ID,
// lower-cased.
func federatedCredentialKey(identityID, name string) string {
	return lower(identityID + "/federatedIdentityCredentials/" + name)
}

// PutFederatedCredential creates or replaces a credential of an existing
// identity resource (ErrNotFound otherwise). A replace keeps the casing and
// creation time first written.
func (t *tx) PutFederatedCredential(ctx context.Context, c store.FederatedCredential) (bool, error) {
	if err := t.writable("put federated credential"); err != nil {
		return false, err
	}
	audiences, err := jsonText(c.Audiences)
	if err != nil {
		return false, fmt.Errorf("put federated credential %q: %w", c.Name, err)
	}
	identityLower, nameLower := lower(c.IdentityID), lower(c.Name)
	// Checked first: a foreign-key violation would abort a PostgreSQL
	// transaction.
	identityFound, err := t.exists(ctx, `SELECT 1 FROM resources WHERE id_lower = ?`, identityLower)
	if err != nil {
		return false, fmt.Errorf("put federated credential %q: %w", c.Name, err)
	}
	if !identityFound {
		return false, fmt.Errorf("put federated credential %q: identity %q: %w", c.Name, c.IdentityID, store.ErrNotFound)
	}
	found, err := t.exists(ctx, `SELECT 1 FROM federated_credentials WHERE identity_lower = ? AND name_lower = ?`, identityLower, nameLower)
	if err != nil {
		return false, fmt.Errorf("put federated credential %q: %w", c.Name, err)
	}
	key := federatedCredentialKey(c.IdentityID, c.Name)
	if found {
		err = t.change(ctx, store.KindFederatedCredential, key, store.OpPut, `UPDATE federated_credentials SET
			issuer = ?, subject = ?, audiences = ?, updated_at = ? WHERE identity_lower = ? AND name_lower = ?`,
			c.Issuer, c.Subject, audiences, t.d.ts(c.UpdatedAt), identityLower, nameLower)
	} else {
		err = t.insert(ctx, store.KindFederatedCredential, key, `INSERT INTO federated_credentials
			(identity_lower, name_lower, `+federatedCredentialCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			identityLower, nameLower, c.IdentityID, c.Name, c.Issuer, c.Subject, audiences, t.d.ts(c.CreatedAt), t.d.ts(c.UpdatedAt))
	}
	if err != nil {
		return false, fmt.Errorf("put federated credential %q: %w", c.Name, err)
	}
	return !found, nil
}

func (t *tx) GetFederatedCredential(ctx context.Context, identityID, name string) (store.FederatedCredential, error) {
	c, err := get(ctx, t, scanFederatedCredential, `SELECT `+federatedCredentialCols+` FROM federated_credentials
		WHERE identity_lower = ? AND name_lower = ?`, lower(identityID), lower(name))
	if err != nil {
		return store.FederatedCredential{}, fmt.Errorf("get federated credential %q of %q: %w", name, identityID, err)
	}
	return c, nil
}

func (t *tx) ListFederatedCredentials(ctx context.Context, identityID string) ([]store.FederatedCredential, error) {
	if identityID == "" {
		cs, err := list(ctx, t, scanFederatedCredential, `SELECT `+federatedCredentialCols+` FROM federated_credentials
			ORDER BY identity_lower, name_lower`)
		if err != nil {
			return nil, fmt.Errorf("list federated credentials: %w", err)
		}
		return cs, nil
	}
	cs, err := list(ctx, t, scanFederatedCredential, `SELECT `+federatedCredentialCols+` FROM federated_credentials
		WHERE identity_lower = ? ORDER BY name_lower`, lower(identityID))
	if err != nil {
		return nil, fmt.Errorf("list federated credentials of %q: %w", identityID, err)
	}
	return cs, nil
}

func (t *tx) DeleteFederatedCredential(ctx context.Context, identityID, name string) error {
	if err := t.writable("delete federated credential"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindFederatedCredential, federatedCredentialKey(identityID, name), store.OpDelete,
		`DELETE FROM federated_credentials WHERE identity_lower = ? AND name_lower = ?`, lower(identityID), lower(name))
	if err != nil {
		return fmt.Errorf("delete federated credential %q of %q: %w", name, identityID, err)
	}
	return nil
}
