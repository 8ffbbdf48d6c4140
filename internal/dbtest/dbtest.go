// Package dbtest gives each test an isolated, migrated store: a fresh SQLite
// file always, and a fresh PostgreSQL schema when LINLI_TEST_POSTGRES_URL is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"linli/internal/db"
)

// EnvPostgres names the variable that turns on the PostgreSQL runs.
const EnvPostgres = "LINLI_TEST_POSTGRES_URL"

// Each runs fn once per available store as parallel subtests "sqlite" and
// "postgres".
func Each(t *testing.T, ms []db.Migration, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, dialect := range Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, dialect, ms))
		})
	}
}

// Dialects lists the stores this run tests.
func Dialects() []db.Dialect {
	ds := []db.Dialect{db.SQLite}
	if os.Getenv(EnvPostgres) != "" {
		ds = append(ds, db.Postgres)
	}
	return ds
}

// Open returns a migrated, empty store of the given dialect, removed when the
// test ends.
func Open(t testing.TB, dialect db.Dialect, ms []db.Migration) *db.DB {
	t.Helper()
	var d *db.DB
	var err error
	switch dialect {
	case db.SQLite:
		d, err = db.OpenSQLite(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
	case db.Postgres:
		d = openSchema(t)
	}
	if _, err := d.Migrate(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	return d
}

// PostgresURL returns a connection URL to a new schema that is dropped when
// the test ends, for tests that run the binary against PostgreSQL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin := func(stmt string) error {
		d, err := db.OpenPostgres(base)
		if err != nil {
			return err
		}
		defer d.Close()
		_, err = d.W.Exec(stmt)
		return err
	}
	// The admin connection lives for one statement only: tests run in
	// parallel, and the server's connections are few (max_connections).
	if err := admin(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MaxConns bounds each test store's PostgreSQL pool (16 in production):
// tests run in parallel, by package and within one, and share the server's
// max_connections (100 by default) with every other run on the machine.
const MaxConns = 4

func openSchema(t testing.TB) *db.DB {
	d, err := db.OpenPostgres(PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	d.W.SetMaxOpenConns(MaxConns)
	d.W.SetMaxIdleConns(MaxConns)
	t.Cleanup(func() { d.Close() })
	return d
}
