package sqlstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RefreshStatistics analyzes the tables of the store's schema whose rows
// changed, since their last ANALYZE (by anyone, autovacuum included), by
// more than autovacuum's default threshold: 50 rows plus a tenth of the
// table. Without statistics PostgreSQL plans every query as if each table
// were tiny, which at a million rows turns index searches into scans (the
// scale seeding slowed to a crawl that way with autovacuum off). The check
// is one catalogue read, so a replica may run it often; ANALYZE samples a
// bounded number of rows, so it stays cheap on big tables. SQLite needs
// none: see store.Store.
func (s *Store) RefreshStatistics(ctx context.Context) ([]string, error) {
	if s.d.name != "postgres" {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT relname FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND n_mod_since_analyze > 50 + 0.1 * GREATEST(n_live_tup, 0)
		ORDER BY relname`)
	if err != nil {
		return nil, fmt.Errorf("store: read table statistics: %w", err)
	}
	var stale []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read table statistics: %w", err)
		}
		stale = append(stale, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read table statistics: %w", err)
	}
	var done []string
	for _, name := range stale {
		if _, err := s.writer.ExecContext(ctx, `ANALYZE `+pgx.Identifier{name}.Sanitize()); err != nil {
			return done, fmt.Errorf("store: analyze %s: %w", name, err)
		}
		done = append(done, name)
	}
	return done, nil
}
