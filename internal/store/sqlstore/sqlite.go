package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// sqliteApplicationID is written to the database header by the first
// migration ("KYLS"), marking the file as a keyless store.
const sqliteApplicationID = 0x4B594C53

// sqliteHeader starts every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// OpenSQLite opens (creating if needed) the SQLite store in the file at path
// and applies pending migrations. The file must be absent, empty, or a
// keyless database: anything else (a file that is not SQLite, another
// application's database) is refused before anything is written to it.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite path %q: %w", path, err)
	}
	if err := checkSQLiteFile(ctx, abs); err != nil {
		return nil, err
	}
	if err := privateFiles(abs); err != nil {
		return nil, err
	}

	// WAL lets readers run beside the one writer; synchronous=NORMAL is
	// durable against process crashes, and in WAL mode only the last
	// commits can be lost to a power cut, never the database.
	writer, err := sql.Open("sqlite", sqliteDSN(abs,
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(ON)",
		// Take the write lock at BEGIN: a deferred transaction that
		// reads first and then writes can fail with SQLITE_BUSY when
		// another process holds the lock, and busy_timeout cannot help.
		"_txlock=immediate",
	))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", abs, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, writer, goose.DialectSQLite3, "sqlite"); err != nil {
		return nil, errors.Join(err, writer.Close())
	}

	reader, err := sql.Open("sqlite", sqliteDSN(abs,
		"_pragma=busy_timeout(10000)",
		// Belt and braces: View already refuses writes.
		"_pragma=query_only(1)",
		// 16 MiB of page cache per reader (SQLite's default is 2 MiB),
		// enough for the interior pages of the resources table and its
		// key at a million resources, so that a GET reads only its leaf
		// pages from the file: a quarter fewer page reads per GET
		// there (docs/performance.md). Pages are cached as they are
		// read, so a small store never fills it.
		"_pragma=cache_size(-16384)",
	))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite %s: %w", abs, err), writer.Close())
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	if err := reader.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite %s: %w", abs, err), reader.Close(), writer.Close())
	}
	return &Store{d: sqliteDialect, writer: writer, reader: reader,
		writerStmts: newStmtCache(writer), readerStmts: newStmtCache(reader)}, nil
}

// privateFiles makes the database and its -wal and -shm files readable by
// their owner only, whatever the umask: the store holds the whole
// directory and the salted secret hashes. SQLite creates -wal and -shm
// with the database file's own mode (and fchmods them to it past the
// umask), so creating the database 0600 before SQLite opens it, and
// tightening files an older version left, covers all three.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("store: create sqlite %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: create sqlite %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: sqlite %s: %w", p, err)
		}
		if st.Mode().Perm() != 0o600 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("store: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// sqliteDSN builds a modernc.org/sqlite URI DSN; the path is escaped so
// that '?', '#' and '%' in it stay part of the file name.
func sqliteDSN(path string, params ...string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + strings.Join(params, "&")
}

// checkSQLiteFile refuses a file that OpenSQLite must not touch, reading it
// without writing. A missing or empty file becomes a new database.
func checkSQLiteFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	header := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, header)
	f.Close()
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	case !bytes.Equal(header[:n], sqliteHeader):
		return fmt.Errorf("store: %s is not a SQLite database; refusing to use it", path)
	}

	// mode=ro: the probe must not write, not even a journal recovery.
	probe, err := sql.Open("sqlite", sqliteDSN(path, "mode=ro"))
	if err != nil {
		return fmt.Errorf("store: inspect sqlite %s: %w", path, err)
	}
	defer probe.Close()
	var appID int64
	if err := probe.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return fmt.Errorf("store: inspect sqlite %s: %w", path, err)
	}
	if appID == sqliteApplicationID {
		return nil
	}
	rows, err := probe.QueryContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("store: inspect sqlite %s: %w", path, err)
	}
	defer rows.Close()
	var foreign []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("store: inspect sqlite %s: %w", path, err)
		}
		// A keyless database interrupted before its first migration
		// committed has only goose's table.
		if name != versionTable {
			foreign = append(foreign, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: inspect sqlite %s: %w", path, err)
	}
	if len(foreign) > 0 {
		return fmt.Errorf("store: %s is a SQLite database of another application (tables %s); refusing to use it",
			path, strings.Join(foreign, ", "))
	}
	return nil
}
