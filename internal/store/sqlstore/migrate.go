package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrationsFS holds one directory of numbered goose SQL files per dialect.
//
//go:embed migrations
var migrationsFS embed.FS

// versionTable is goose's bookkeeping table. A name of our own, rather
// than goose's default, is how OpenSQLite recognises a keyless database.
const versionTable = "keyless_schema_version"

// migrate applies every pending migration of the dialect.
func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, dir string, opts ...goose.ProviderOption) error {
	files, err := fs.Sub(migrationsFS, "migrations/"+dir)
	if err != nil {
		return fmt.Errorf("store: migrations %s: %w", dir, err)
	}
	opts = append(opts, goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
	provider, err := goose.NewProvider(dialect, db, files, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations %s: %w", dir, err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s schema: %w", dir, err)
	}
	return nil
}
