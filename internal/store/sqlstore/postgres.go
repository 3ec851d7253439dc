package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// OpenPostgres connects to PostgreSQL, applies pending migrations and starts
// following other replicas' commits (LISTEN keyless_changes).
//
// dsn is a pgx connection string. Tables live in the first existing schema
// of its search_path (postgres://host/db?search_path=keyless), which must
// exist: keyless does not create schemas.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	// The DSN may hold a password: it stays out of every error message.
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres connection string: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s, err := openPostgres(ctx, db, cfg)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

func openPostgres(ctx context.Context, db *sql.DB, cfg *pgx.ConnConfig) (*Store, error) {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	if !schema.Valid {
		return nil, errors.New("store: postgres: no schema of the search_path exists; create it first")
	}
	// Replicas starting together migrate one at a time; the lock is per
	// schema so that stores in different schemas do not wait for each other.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID(schema.String)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, fmt.Errorf("store: postgres migration lock: %w", err)
	}
	if err := migrate(ctx, db, goose.DialectPostgres, "postgres", goose.WithSessionLocker(locker)); err != nil {
		return nil, err
	}
	s := &Store{d: postgresDialect, writer: db, reader: db}
	s.listener, err = startListener(ctx, cfg, s.hub.broadcast)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// migrationLockID is the advisory lock key guarding migrations of one
// schema.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("keyless-migrate:" + schema))
	return int64(h.Sum64())
}

const (
	listenerMinBackoff = 100 * time.Millisecond
	listenerMaxBackoff = 10 * time.Second
)

// listener holds a dedicated connection in LISTEN keyless_changes and wakes
// Notify subscribers on every notification. It reconnects on its own and
// wakes subscribers after reconnecting, since commits made while it was
// away were not announced to it; readers catch up through Changes.
type listener struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	err error // why it is not listening now; nil while it is
}

func startListener(ctx context.Context, cfg *pgx.ConnConfig, wake func()) (*listener, error) {
	conn, err := listen(ctx, cfg)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l := &listener{cancel: cancel, done: make(chan struct{})}
	go l.run(runCtx, cfg, conn, wake)
	return l, nil
}

func listen(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: change feed listener: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return nil, errors.Join(fmt.Errorf("store: change feed listener: %w", err), conn.Close(ctx))
	}
	return conn, nil
}

func (l *listener) run(ctx context.Context, cfg *pgx.ConnConfig, conn *pgx.Conn, wake func()) {
	defer close(l.done)
	backoff := listenerMinBackoff
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			var err error
			if conn, err = listen(ctx, cfg); err != nil {
				l.setErr(err)
				backoff = min(2*backoff, listenerMaxBackoff)
				continue
			}
			l.setErr(nil)
			backoff = listenerMinBackoff
			wake()
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
			conn = nil
			if ctx.Err() != nil {
				return
			}
			l.setErr(fmt.Errorf("store: change feed listener disconnected: %w", err))
			continue
		}
		wake()
	}
}

func (l *listener) setErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

func (l *listener) healthy() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *listener) stop() {
	l.cancel()
	<-l.done
}
