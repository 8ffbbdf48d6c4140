// Package db opens Linli's store — embedded SQLite by default, PostgreSQL in
// production — and applies the embedded migrations of every feature.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite" (pure Go)
)

// Dialect names the SQL flavour behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB holds a writer and a reader pool. SQLite allows one writer at a time, so
// its writer pool has a single connection and writes queue in Go instead of
// failing with SQLITE_BUSY; readers run in parallel under WAL. On PostgreSQL
// both fields share one pool.
type DB struct {
	W       *sql.DB
	R       *sql.DB
	Dialect Dialect
	// Path is the SQLite file (empty on PostgreSQL).
	Path string
	// stop ends the hourly statistics refresh of a SQLite store; done
	// closes when it has ended.
	stop, done chan struct{}
	closing    sync.Once
}

// SQLiteFile is the database file name inside the data folder.
const SQLiteFile = "linli.db"

// OpenSQLite opens (creating if needed) the database in dir. The folder
// holds personal data and, by default, its key: it is the owner's only
// (0700), tightened when an older start left it readable by others.
func OpenSQLite(dir string, opts ...Option) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("无法创建数据目录 / cannot create data folder %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("无法设置数据目录权限 / cannot make data folder %s private: %w", dir, err)
	}
	return OpenSQLiteFile(filepath.Join(dir, SQLiteFile), opts...)
}

// OpenSQLiteFile opens one SQLite file with the pragmas Linli relies on.
// The file is created 0600 before SQLite sees it, so that its WAL and
// shared-memory files, which SQLite creates with the database's mode, are
// private too; files an older version left readable are tightened.
func OpenSQLiteFile(path string, opts ...Option) (*DB, error) {
	if err := Private(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(ON)", "synchronous(NORMAL)", "cache_size(-32000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	o := collect(opts)
	w, err := o.open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := o.open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	// database/sql keeps two idle connections by default: a third reader
	// would close its connection when done and the next open a new one,
	// running the pragmas again and losing its kept statements (seen as a
	// sixth of the CPU at 500 check-ins a second).
	r.SetMaxIdleConns(4)
	d := &DB{W: w, R: r, Dialect: SQLite, Path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.PingContext(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("无法打开数据库 / cannot open database %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		d.Close()
		return nil, fmt.Errorf("无法打开数据库 / cannot open database %s: %w", path, err)
	}
	if err := d.optimize(ctx, true); err != nil {
		d.Close()
		return nil, fmt.Errorf("无法打开数据库 / cannot open database %s: %w", path, err)
	}
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go d.keepOptimized(d.stop, d.done)
	return d, nil
}

// Private creates the database file at path if it is absent, with mode
// 0600, and makes it and its WAL and shared-memory files 0600 if present.
func Private(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrExist):
		return fmt.Errorf("无法创建数据库 / cannot create database %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("无法设置数据库文件权限 / cannot make %s private: %w", p, err)
		}
	}
	return nil
}

// OpenPostgres connects through pgx, with JIT compilation off (noJIT).
func OpenPostgres(dsn string, opts ...Option) (*DB, error) {
	p, err := collect(opts).open("pgx", noJIT(dsn))
	if err != nil {
		return nil, fmt.Errorf("数据库地址无效 / invalid database URL: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(8)
	p.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("无法连接 PostgreSQL / cannot connect to PostgreSQL: %s", oneLine(err))
	}
	return &DB{W: p, R: p, Dialect: Postgres}, nil
}

// noJIT turns PostgreSQL's JIT compilation off for Linli's sessions,
// unless the URL sets jit itself (pgx passes unknown parameters on as
// the session's settings). A county-wide statement with a subquery per
// row passes the JIT cost thresholds by its estimate alone: compiling
// took 0.9 s of the 2.1 s monthly quota run, and Linli's statements are
// bounded reads and writes that never repay it.
func noJIT(dsn string) string {
	if strings.Contains(dsn, "jit=") {
		return dsn
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		// Appended, not re-encoded: pgx reads options=-c%20role=x but
		// not the "+" that url.Values.Encode writes for its space.
		if _, err := url.Parse(dsn); err != nil {
			return dsn // pgx reports the bad URL
		}
		base, frag, _ := strings.Cut(dsn, "#")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
			if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
				sep = ""
			}
		}
		if frag != "" {
			frag = "#" + frag
		}
		return base + sep + "jit=off" + frag
	}
	return dsn + " jit=off"
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// Close closes both pools. A SQLite store first stops its statistics
// refresh and refreshes them once more, as SQLite advises before closing.
func (d *DB) Close() error {
	var err error
	d.closing.Do(func() {
		if d.stop != nil {
			close(d.stop)
			<-d.done
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			d.optimize(ctx, false) // best effort: stale statistics are no fault
			cancel()
		}
		if d.R != nil && d.R != d.W {
			d.R.Close()
		}
		err = d.W.Close()
	})
	return err
}

// Tx runs fn in a write transaction, committing on nil and rolling back on
// error or panic, so that no half-applied change survives.
func (d *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ConnTx is Tx with the transaction's connection also given to fn, for
// what runs on the connection itself inside the transaction (CopyFrom).
func (d *DB) ConnTx(ctx context.Context, fn func(*sql.Conn, *sql.Tx) error) (err error) {
	conn, err := d.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(conn, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Ping checks that the store answers.
func (d *DB) Ping(ctx context.Context) error { return d.R.PingContext(ctx) }

// IsUniqueViolation tells whether err is a unique-constraint failure on
// either store.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key value")
}

// ErrNotFound is returned by stores for a row that does not exist or that the
// caller may not see: the two are indistinguishable on purpose.
var ErrNotFound = errors.New("not found")

// Values returns one "(…)" row of n placeholders for a multi-row INSERT,
// numbered after the first `after` arguments. SQLite gets plain "?":
// its driver resolves "$N" by searching every argument by name, which turns
// a large batch quadratic.
func (d *DB) Values(after, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		if d.Dialect == SQLite {
			b.WriteByte('?')
		} else {
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(after + i + 1))
		}
	}
	b.WriteByte(')')
	return b.String()
}

// Querier is what *sql.DB and *sql.Tx have in common for reading.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// StringSet runs a query of one text column and returns its values as a set.
func StringSet(ctx context.Context, q Querier, query string, args ...any) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		set[s] = true
	}
	return set, rows.Err()
}

// Superuser names the role the store is used as and tells whether it is a
// PostgreSQL superuser, which can disable any trigger, the audit log's
// append-only guard among them (always false on SQLite).
func (d *DB) Superuser(ctx context.Context) (role string, super bool, err error) {
	if d.Dialect != Postgres {
		return "", false, nil
	}
	err = d.R.QueryRowContext(ctx, `SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&role, &super)
	return role, super, err
}
