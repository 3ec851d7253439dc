package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// Template deployments (Microsoft.Resources/deployments) and their
// operations, keyed by lower-case scope and name. Documents and templates
// are opaque bytes; the store only knows which provisioning states are
// final, so that trimming the history never deletes a running deployment.

const deploymentCols = `scope, name, state, document, template, correlation_id, created_at, updated_at, created_by, updated_by`

// deploymentListCols reads everything but the template, which can be 4 MB
// and which no list serves.
const deploymentListCols = `scope, name, state, document, NULL, correlation_id, created_at, updated_at, created_by, updated_by`

func scanDeployment(row scanner) (store.Deployment, error) {
	var d store.Deployment
	err := row.Scan(&d.Scope, &d.Name, &d.State, &d.Document, &d.Template, &d.CorrelationID,
		timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt}, &d.CreatedBy, &d.UpdatedBy)
	return d, err
}

// deploymentKey is the key of a deployment in the change feed.
func deploymentKey(scope, name string) string {
	return lower(scope) + "|" + lower(name)
}

// PutDeployment creates or replaces a deployment record. A replace keeps
// the casing of the scope and name, the creation time and the creator
// first written, and replaces everything else, the template included.
func (t *tx) PutDeployment(ctx context.Context, d store.Deployment) (bool, error) {
	if err := t.writable("put deployment"); err != nil {
		return false, err
	}
	scopeLower, nameLower := lower(d.Scope), lower(d.Name)
	found, err := t.deploymentExists(ctx, scopeLower, nameLower)
	if err != nil {
		return false, fmt.Errorf("put deployment %q at %q: %w", d.Name, d.Scope, err)
	}
	key := deploymentKey(d.Scope, d.Name)
	if found {
		err = t.change(ctx, store.KindDeployment, key, store.OpPut, `UPDATE deployments SET
			state = ?, document = ?, template = ?, correlation_id = ?, updated_at = ?, updated_by = ?
			WHERE scope_lower = ? AND name_lower = ?`,
			d.State, d.Document, d.Template, d.CorrelationID, t.d.ts(d.UpdatedAt), d.UpdatedBy, scopeLower, nameLower)
	} else {
		err = t.insert(ctx, store.KindDeployment, key, `INSERT INTO deployments
			(scope_lower, name_lower, `+deploymentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			scopeLower, nameLower, d.Scope, d.Name, d.State, d.Document, d.Template, d.CorrelationID,
			t.d.ts(d.CreatedAt), t.d.ts(d.UpdatedAt), d.CreatedBy, d.UpdatedBy)
	}
	if err != nil {
		return false, fmt.Errorf("put deployment %q at %q: %w", d.Name, d.Scope, err)
	}
	return !found, nil
}

func (t *tx) deploymentExists(ctx context.Context, scopeLower, nameLower string) (bool, error) {
	return t.exists(ctx, `SELECT 1 FROM deployments WHERE scope_lower = ? AND name_lower = ?`, scopeLower, nameLower)
}

func (t *tx) GetDeployment(ctx context.Context, scope, name string) (store.Deployment, error) {
	d, err := get(ctx, t, scanDeployment, `SELECT `+deploymentCols+` FROM deployments
		WHERE scope_lower = ? AND name_lower = ?`, lower(scope), lower(name))
	if err != nil {
		return store.Deployment{}, fmt.Errorf("get deployment %q at %q: %w", name, scope, err)
	}
	return d, nil
}

// ListDeployments pages by lower-case name within one scope; with no scope
// it lists every scope in turn (recovering deployments left running at
// start), which After cannot page.
func (t *tx) ListDeployments(ctx context.Context, f store.DeploymentFilter) ([]store.Deployment, error) {
	var w where
	if f.Scope != "" {
		w.add(`scope_lower = ?`, lower(f.Scope))
	}
	if f.State != "" {
		w.add(`state = ?`, f.State)
	}
	if f.After != "" {
		if f.Scope == "" {
			return nil, errors.New("list deployments: After pages within one Scope, and none is given")
		}
		w.add(`name_lower > ?`, lower(f.After))
	}
	q := `SELECT ` + deploymentListCols + ` FROM deployments` + w.sql() + ` ORDER BY scope_lower, name_lower`
	args := w.args
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	ds, err := list(ctx, t, scanDeployment, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return ds, nil
}

// DeleteDeployment deletes a deployment and its operations.
func (t *tx) DeleteDeployment(ctx context.Context, scope, name string) error {
	if err := t.writable("delete deployment"); err != nil {
		return err
	}
	if err := t.deleteDeployment(ctx, lower(scope), lower(name)); err != nil {
		return fmt.Errorf("delete deployment %q at %q: %w", name, scope, err)
	}
	return nil
}

// deleteDeployment deletes the operations, then the record, which must
// exist; the foreign key's cascade is only a backstop.
func (t *tx) deleteDeployment(ctx context.Context, scopeLower, nameLower string) error {
	if _, err := t.exec(ctx, `DELETE FROM deployment_operations WHERE scope_lower = ? AND name_lower = ?`, scopeLower, nameLower); err != nil {
		return err
	}
	return t.change(ctx, store.KindDeployment, deploymentKey(scopeLower, nameLower), store.OpDelete,
		`DELETE FROM deployments WHERE scope_lower = ? AND name_lower = ?`, scopeLower, nameLower)
}

// operationsPerInsert keeps a multi-row upsert of operations (5 arguments
// a row) well under both databases' bound-parameter limits.
const operationsPerInsert = 500

// PutDeploymentOperations upserts operations of an existing deployment in
// multi-row statements. Each operation's Scope and DeploymentName, when
// given, must name that deployment.
func (t *tx) PutDeploymentOperations(ctx context.Context, scope, name string, ops []store.DeploymentOperation) error {
	if err := t.writable("put deployment operations"); err != nil {
		return err
	}
	if err := t.putDeploymentOperations(ctx, scope, name, ops); err != nil {
		return fmt.Errorf("put operations of deployment %q at %q: %w", name, scope, err)
	}
	return nil
}

func (t *tx) putDeploymentOperations(ctx context.Context, scope, name string, ops []store.DeploymentOperation) error {
	scopeLower, nameLower := lower(scope), lower(name)
	found, err := t.deploymentExists(ctx, scopeLower, nameLower)
	switch {
	case err != nil:
		return err
	case !found:
		return store.ErrNotFound
	}
	// One row per ID, the last given winning: PostgreSQL refuses an
	// upsert that touches a row twice, and would abort the transaction.
	latest := make(map[string]int, len(ops))
	var rows []store.DeploymentOperation
	for _, op := range ops {
		if op.OperationID == "" {
			return errors.New("an operation has no ID")
		}
		if (op.Scope != "" && lower(op.Scope) != scopeLower) || (op.DeploymentName != "" && lower(op.DeploymentName) != nameLower) {
			return fmt.Errorf("operation %q names deployment %q at %q", op.OperationID, op.DeploymentName, op.Scope)
		}
		if i, ok := latest[op.OperationID]; ok {
			rows[i] = op
			continue
		}
		latest[op.OperationID] = len(rows)
		rows = append(rows, op)
	}
	if len(rows) == 0 {
		return nil
	}
	for start := 0; start < len(rows); start += operationsPerInsert {
		var (
			q     strings.Builder
			batch = rows[start:min(start+operationsPerInsert, len(rows))]
			args  = make([]any, 0, 5*len(batch))
		)
		for i, op := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, scopeLower, nameLower, op.OperationID, op.Document, t.d.ts(op.UpdatedAt))
		}
		_, err := t.exec(ctx, `INSERT INTO deployment_operations (scope_lower, name_lower, operation_id, document, updated_at)
			VALUES `+q.String()+` ON CONFLICT (scope_lower, name_lower, operation_id)
			DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`, args...)
		if err != nil {
			return err
		}
	}
	t.record(store.KindDeployment, deploymentKey(scope, name), store.OpPut)
	return nil
}

func scanDeploymentOperation(row scanner) (store.DeploymentOperation, error) {
	var op store.DeploymentOperation
	err := row.Scan(&op.Scope, &op.DeploymentName, &op.OperationID, &op.Document, timeCol{&op.UpdatedAt})
	return op, err
}

// ListDeploymentOperations lists in operation ID order (bytes, on both
// backends); an absent deployment is ErrNotFound rather than no operations.
func (t *tx) ListDeploymentOperations(ctx context.Context, scope, name string) ([]store.DeploymentOperation, error) {
	scopeLower, nameLower := lower(scope), lower(name)
	ops, err := list(ctx, t, scanDeploymentOperation, `SELECT d.scope, d.name, o.operation_id, o.document, o.updated_at
		FROM deployment_operations o JOIN deployments d ON d.scope_lower = o.scope_lower AND d.name_lower = o.name_lower
		WHERE o.scope_lower = ? AND o.name_lower = ? ORDER BY o.operation_id`, scopeLower, nameLower)
	if err == nil && len(ops) == 0 {
		var found bool
		if found, err = t.deploymentExists(ctx, scopeLower, nameLower); err == nil && !found {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list operations of deployment %q at %q: %w", name, scope, err)
	}
	return ops, nil
}

// TrimDeployments deletes the oldest finished deployments at scope, with
// their operations, until at most keep remain there. NULLS FIRST orders
// the zero time first on PostgreSQL as SQLite always does.
func (t *tx) TrimDeployments(ctx context.Context, scope string, keep int) (int, error) {
	if err := t.writable("trim deployments"); err != nil {
		return 0, err
	}
	if keep < 0 {
		return 0, fmt.Errorf("trim deployments at %q: keep %d is negative", scope, keep)
	}
	scopeLower := lower(scope)
	var total int
	if err := t.queryRow(ctx, `SELECT count(*) FROM deployments WHERE scope_lower = ?`, scopeLower).Scan(&total); err != nil {
		return 0, fmt.Errorf("trim deployments at %q: %w", scope, mapErr(err))
	}
	if total <= keep {
		return 0, nil
	}
	victims, err := list(ctx, t, scanString, `SELECT name_lower FROM deployments
		WHERE scope_lower = ? AND state IN (?, ?, ?)
		ORDER BY updated_at NULLS FIRST, name_lower LIMIT ?`,
		scopeLower, store.DeploymentSucceeded, store.DeploymentFailed, store.DeploymentCanceled, total-keep)
	if err != nil {
		return 0, fmt.Errorf("trim deployments at %q: %w", scope, err)
	}
	for _, nameLower := range victims {
		if err := t.deleteDeployment(ctx, scopeLower, nameLower); err != nil {
			return 0, fmt.Errorf("trim deployments at %q: delete %q: %w", scope, nameLower, err)
		}
	}
	return len(victims), nil
}
