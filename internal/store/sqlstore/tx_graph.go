package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/keyless-io/keyless/internal/store"
)

// Application registrations, group owners and directory role assignments:
// the directory objects Microsoft Graph serves beyond principals. Object
// IDs are GUIDs keyless generates and are matched exactly.

// appCredential is the JSON form of an application's credential in its
// row; byte fields travel as base64.
type appCredential struct {
	ID               string    `json:"id"`
	Kind             string    `json:"kind"`
	SecretHash       []byte    `json:"secretHash,omitempty"`
	Hint             string    `json:"hint,omitempty"`
	DisplayName      string    `json:"displayName,omitempty"`
	CertificateDER   []byte    `json:"certificateDer,omitempty"`
	ThumbprintSHA1   []byte    `json:"thumbprintSha1,omitempty"`
	ThumbprintSHA256 []byte    `json:"thumbprintSha256,omitempty"`
	NotBefore        time.Time `json:"notBefore"`
	NotAfter         time.Time `json:"notAfter"`
	CreatedAt        time.Time `json:"createdAt"`
}

type appFederatedCredential struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Description string   `json:"description,omitempty"`
	Audiences   []string `json:"audiences"`
}

const applicationCols = `object_id, app_id, display_name, credentials, federated_credentials, document, created_at, updated_at`

func scanApplication(row scanner) (store.Application, error) {
	var a store.Application
	var creds []appCredential
	var fics []appFederatedCredential
	err := row.Scan(&a.ObjectID, &a.AppID, &a.DisplayName, jsonCol{&creds}, jsonCol{&fics}, &a.Document,
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
	if err != nil {
		return a, err
	}
	for _, c := range creds {
		a.Credentials = append(a.Credentials, store.Credential{
			ID: c.ID, PrincipalID: a.ObjectID, Kind: store.CredentialKind(c.Kind), SecretHash: c.SecretHash,
			Hint: c.Hint, DisplayName: c.DisplayName, CertificateDER: c.CertificateDER,
			ThumbprintSHA1: c.ThumbprintSHA1, ThumbprintSHA256: c.ThumbprintSHA256,
			NotBefore: utcZero(c.NotBefore), NotAfter: utcZero(c.NotAfter), CreatedAt: utcZero(c.CreatedAt),
		})
	}
	for _, f := range fics {
		a.FederatedCredentials = append(a.FederatedCredentials, store.ApplicationFederatedCredential(f))
	}
	return a, nil
}

// utcZero keeps the store's promise that times read back in UTC and the
// zero time as zero.
func utcZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// applicationArgs encodes the columns after the IDs.
func applicationArgs(a store.Application) (creds, fics string, err error) {
	cs := []appCredential{}
	for _, c := range a.Credentials {
		cs = append(cs, appCredential{
			ID: c.ID, Kind: string(c.Kind), SecretHash: c.SecretHash, Hint: c.Hint, DisplayName: c.DisplayName,
			CertificateDER: c.CertificateDER, ThumbprintSHA1: c.ThumbprintSHA1, ThumbprintSHA256: c.ThumbprintSHA256,
			NotBefore: utcZero(c.NotBefore), NotAfter: utcZero(c.NotAfter), CreatedAt: utcZero(c.CreatedAt),
		})
	}
	fs := []appFederatedCredential{}
	for _, f := range a.FederatedCredentials {
		fs = append(fs, appFederatedCredential(f))
	}
	if creds, err = jsonText(cs); err != nil {
		return "", "", err
	}
	fics, err = jsonText(fs)
	return creds, fics, err
}

// CreateApplication fails with ErrAlreadyExists when the object ID or the
// application ID is taken.
func (t *tx) CreateApplication(ctx context.Context, a store.Application) error {
	if err := t.writable("create application"); err != nil {
		return err
	}
	creds, fics, err := applicationArgs(a)
	if err != nil {
		return fmt.Errorf("create application %q: %w", a.ObjectID, err)
	}
	err = t.insert(ctx, store.KindApplication, a.ObjectID, `INSERT INTO applications (`+applicationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ObjectID, a.AppID, a.DisplayName, creds, fics, a.Document, t.d.ts(a.CreatedAt), t.d.ts(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create application %q (app %q): %w", a.ObjectID, a.AppID, err)
	}
	return nil
}

func (t *tx) GetApplication(ctx context.Context, objectID string) (store.Application, error) {
	a, err := get(ctx, t, scanApplication, `SELECT `+applicationCols+` FROM applications WHERE object_id = ?`, objectID)
	if err != nil {
		return store.Application{}, fmt.Errorf("get application %q: %w", objectID, err)
	}
	return a, nil
}

func (t *tx) GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error) {
	a, err := get(ctx, t, scanApplication, `SELECT `+applicationCols+` FROM applications WHERE app_id = ?`, appID)
	if err != nil {
		return store.Application{}, fmt.Errorf("get application by app ID %q: %w", appID, err)
	}
	return a, nil
}

func (t *tx) ListApplications(ctx context.Context) ([]store.Application, error) {
	as, err := list(ctx, t, scanApplication, `SELECT `+applicationCols+` FROM applications ORDER BY object_id`)
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return as, nil
}

func (t *tx) UpdateApplication(ctx context.Context, objectID string, fn func(store.Application) (store.Application, error)) error {
	if err := t.writable("update application"); err != nil {
		return err
	}
	old, err := t.GetApplication(ctx, objectID)
	if err != nil {
		return fmt.Errorf("update application: %w", err)
	}
	a, err := fn(old)
	if err != nil {
		return err
	}
	if a.ObjectID != old.ObjectID || a.AppID != old.AppID {
		return fmt.Errorf("update application %q: the object and application IDs cannot change", objectID)
	}
	creds, fics, err := applicationArgs(a)
	if err != nil {
		return fmt.Errorf("update application %q: %w", objectID, err)
	}
	err = t.change(ctx, store.KindApplication, objectID, store.OpPut, `UPDATE applications SET
		display_name = ?, credentials = ?, federated_credentials = ?, document = ?, updated_at = ?
		WHERE object_id = ?`,
		a.DisplayName, creds, fics, a.Document, t.d.ts(a.UpdatedAt), objectID)
	if err != nil {
		return fmt.Errorf("update application %q: %w", objectID, err)
	}
	return nil
}

func (t *tx) DeleteApplication(ctx context.Context, objectID string) error {
	if err := t.writable("delete application"); err != nil {
		return err
	}
	if err := t.change(ctx, store.KindApplication, objectID, store.OpDelete, `DELETE FROM applications WHERE object_id = ?`, objectID); err != nil {
		return fmt.Errorf("delete application %q: %w", objectID, err)
	}
	return nil
}

// AddGroupOwner fails with ErrNotFound when either principal does not
// exist and with ErrAlreadyExists when the ownership does.
func (t *tx) AddGroupOwner(ctx context.Context, groupID, ownerID string) error {
	if err := t.writable("add group owner"); err != nil {
		return err
	}
	for _, id := range []string{groupID, ownerID} {
		found, err := t.exists(ctx, `SELECT 1 FROM principals WHERE object_id = ?`, id)
		if err != nil {
			return fmt.Errorf("add owner %q to group %q: %w", ownerID, groupID, err)
		}
		if !found {
			return fmt.Errorf("add owner %q to group %q: principal %q: %w", ownerID, groupID, id, store.ErrNotFound)
		}
	}
	err := t.insert(ctx, store.KindGroupOwner, memberKey(groupID, ownerID),
		`INSERT INTO group_owners (group_id, owner_id) VALUES (?, ?)`, groupID, ownerID)
	if err != nil {
		return fmt.Errorf("add owner %q to group %q: %w", ownerID, groupID, err)
	}
	return nil
}

func (t *tx) RemoveGroupOwner(ctx context.Context, groupID, ownerID string) error {
	if err := t.writable("remove group owner"); err != nil {
		return err
	}
	err := t.change(ctx, store.KindGroupOwner, memberKey(groupID, ownerID), store.OpDelete,
		`DELETE FROM group_owners WHERE group_id = ? AND owner_id = ?`, groupID, ownerID)
	if err != nil {
		return fmt.Errorf("remove owner %q from group %q: %w", ownerID, groupID, err)
	}
	return nil
}

func (t *tx) ListGroupOwners(ctx context.Context, groupID string) ([]string, error) {
	ids, err := list(ctx, t, scanString, `SELECT owner_id FROM group_owners WHERE group_id = ? ORDER BY owner_id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("list owners of group %q: %w", groupID, err)
	}
	return ids, nil
}

const directoryRoleAssignmentCols = `id, role_definition_id, principal_id, directory_scope_id, created_at`

func scanDirectoryRoleAssignment(row scanner) (store.DirectoryRoleAssignment, error) {
	var a store.DirectoryRoleAssignment
	err := row.Scan(&a.ID, &a.RoleDefinitionID, &a.PrincipalID, &a.DirectoryScopeID, timeCol{&a.CreatedAt})
	return a, err
}

func (t *tx) CreateDirectoryRoleAssignment(ctx context.Context, a store.DirectoryRoleAssignment) error {
	if err := t.writable("create directory role assignment"); err != nil {
		return err
	}
	// Checked first: a foreign-key violation would abort a PostgreSQL
	// transaction.
	found, err := t.exists(ctx, `SELECT 1 FROM principals WHERE object_id = ?`, a.PrincipalID)
	if err != nil {
		return fmt.Errorf("create directory role assignment %q: %w", a.ID, err)
	}
	if !found {
		return fmt.Errorf("create directory role assignment %q: principal %q: %w", a.ID, a.PrincipalID, store.ErrNotFound)
	}
	err = t.insert(ctx, store.KindDirectoryRoleAssignment, a.ID, `INSERT INTO directory_role_assignments (`+directoryRoleAssignmentCols+`)
		VALUES (?, ?, ?, ?, ?)`, a.ID, a.RoleDefinitionID, a.PrincipalID, a.DirectoryScopeID, t.d.ts(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("create directory role assignment %q: %w", a.ID, err)
	}
	return nil
}

func (t *tx) GetDirectoryRoleAssignment(ctx context.Context, id string) (store.DirectoryRoleAssignment, error) {
	a, err := get(ctx, t, scanDirectoryRoleAssignment, `SELECT `+directoryRoleAssignmentCols+` FROM directory_role_assignments WHERE id = ?`, id)
	if err != nil {
		return store.DirectoryRoleAssignment{}, fmt.Errorf("get directory role assignment %q: %w", id, err)
	}
	return a, nil
}

func (t *tx) ListDirectoryRoleAssignments(ctx context.Context, f store.DirectoryRoleAssignmentFilter) ([]store.DirectoryRoleAssignment, error) {
	var w where
	if f.PrincipalID != "" {
		w.add(`principal_id = ?`, f.PrincipalID)
	}
	if f.RoleDefinitionID != "" {
		w.add(`role_definition_id = ?`, f.RoleDefinitionID)
	}
	as, err := list(ctx, t, scanDirectoryRoleAssignment, `SELECT `+directoryRoleAssignmentCols+` FROM directory_role_assignments`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list directory role assignments: %w", err)
	}
	return as, nil
}

func (t *tx) DeleteDirectoryRoleAssignment(ctx context.Context, id string) error {
	if err := t.writable("delete directory role assignment"); err != nil {
		return err
	}
	if err := t.change(ctx, store.KindDirectoryRoleAssignment, id, store.OpDelete, `DELETE FROM directory_role_assignments WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete directory role assignment %q: %w", id, err)
	}
	return nil
}

// deleteGraphLinks removes a principal's group ownerships (as owner and as
// group) and its directory role assignments, one change each, before the
// principal itself goes.
func (t *tx) deleteGraphLinks(ctx context.Context, objectID string) error {
	owners, err := list(ctx, t, scanMembership, `SELECT group_id, owner_id FROM group_owners
		WHERE group_id = ? OR owner_id = ? ORDER BY group_id, owner_id`, objectID, objectID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if err := t.RemoveGroupOwner(ctx, o.groupID, o.memberID); err != nil {
			return err
		}
	}
	roles, err := t.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{PrincipalID: objectID})
	if err != nil {
		return err
	}
	for _, a := range roles {
		if err := t.DeleteDirectoryRoleAssignment(ctx, a.ID); err != nil {
			return err
		}
	}
	return nil
}
