package db

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Migration is one versioned schema step of a feature. SQL is written once in
// a portable subset; the type names BLOB and TIMESTAMPTZ are translated for
// SQLite/PostgreSQL. SQLiteSQL/PostgresSQL, when set, replace SQL for that
// store (triggers, for instance, differ).
type Migration struct {
	ID          string // "feature/NNN_name", unique and never renamed
	SQL         string
	SQLiteSQL   string
	PostgresSQL string
}

var (
	reBlob = regexp.MustCompile(`\bBLOB\b`)
	reTSTZ = regexp.MustCompile(`\bTIMESTAMPTZ\b`)
)

func (m Migration) text(d Dialect) string {
	s := m.SQL
	switch {
	case d == SQLite && m.SQLiteSQL != "":
		s = m.SQLiteSQL
	case d == Postgres && m.PostgresSQL != "":
		s = m.PostgresSQL
	}
	if d == Postgres {
		return reBlob.ReplaceAllString(s, "BYTEA")
	}
	return reTSTZ.ReplaceAllString(s, "TIMESTAMP")
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	id TEXT PRIMARY KEY,
	applied_at TIMESTAMPTZ NOT NULL
)`

// Migrate applies, in order, every migration not yet applied, each in its own
// transaction. It returns the IDs it applied.
//
// The server's role need not be able to create tables: when nothing is
// pending it only reads (migrations are applied by `linli migrate` as the
// tables' owner).
func (d *DB) Migrate(ctx context.Context, ms []Migration) ([]string, error) {
	exists, err := d.hasMigrationsTable(ctx)
	if err != nil {
		return nil, err
	}
	if !exists {
		if _, err := d.W.ExecContext(ctx, Migration{SQL: migrationsTable}.text(d.Dialect)); err != nil {
			return nil, fmt.Errorf("migrations table: %w", err)
		}
	}
	done, err := d.appliedSet(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var applied []string
	for _, m := range ms {
		if seen[m.ID] {
			return applied, fmt.Errorf("migration %s listed twice", m.ID)
		}
		seen[m.ID] = true
		if done[m.ID] {
			continue
		}
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for _, stmt := range splitStatements(m.text(d.Dialect)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)`, m.ID, T(time.Now()))
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.ID, err)
		}
		applied = append(applied, m.ID)
	}
	return applied, nil
}

// hasMigrationsTable tells whether schema_migrations exists (in the
// search path, on PostgreSQL).
func (d *DB) hasMigrationsTable(ctx context.Context) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if d.Dialect == Postgres {
		q = `SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL`
	}
	var n int
	if err := d.R.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, fmt.Errorf("migrations table: %w", err)
	}
	return n == 1, nil
}

// Pending lists migrations not yet applied (used by /readyz).
func (d *DB) Pending(ctx context.Context, ms []Migration) ([]string, error) {
	done, err := d.appliedSet(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if !done[m.ID] {
			out = append(out, m.ID)
		}
	}
	return out, nil
}

func (d *DB) appliedSet(ctx context.Context) (map[string]bool, error) {
	done, err := StringSet(ctx, d.R, `SELECT id FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("读取迁移记录失败 / cannot read schema_migrations: %w", err)
	}
	return done, nil
}

// splitStatements splits on ";" at line ends, keeping trigger bodies (between
// BEGIN and END;) and PL/pgSQL dollar-quoted bodies whole.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	dollar := false
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") && cur.Len() == 0 {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.Count(line, "$$")%2 == 1 {
			dollar = !dollar
		}
		up := strings.ToUpper(t)
		if !dollar && (strings.HasSuffix(up, " BEGIN") || up == "BEGIN") {
			depth++
		}
		if !dollar && strings.HasSuffix(t, ";") {
			if depth > 0 && (up == "END;") {
				depth--
			}
			if depth == 0 {
				if stmt := strings.TrimSpace(cur.String()); stmt != ";" && stmt != "" {
					out = append(out, stmt)
				}
				cur.Reset()
			}
		}
	}
	if stmt := strings.TrimSpace(cur.String()); stmt != "" {
		out = append(out, stmt)
	}
	return out
}
