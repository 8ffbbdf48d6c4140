package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"linli/internal/db"
	"linli/internal/dbtest"
)

var pairTable = db.Migration{ID: "test/001_pair",
	SQL: `CREATE TABLE pair (id TEXT PRIMARY KEY, k TEXT NOT NULL); CREATE INDEX pair_k ON pair (k);`}

// fill writes n rows, all but one under the same key.
func fill(t *testing.T, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		k := "common"
		if i == 0 {
			k = "rare"
		}
		if _, err := q.ExecContext(context.Background(), `INSERT INTO pair (id, k) VALUES ($1, $2)`, db.NewID(), k); err != nil {
			t.Fatal(err)
		}
	}
}

// analyzed tells whether the store holds planner statistics for pair.
func analyzed(t *testing.T, d *db.DB) bool {
	t.Helper()
	var n int
	q := `SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'pair'`
	if d.Dialect == db.Postgres {
		q = `SELECT COUNT(*) FROM pg_stats WHERE tablename = 'pair' AND schemaname = current_schema()`
	}
	if err := d.R.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		if d.Dialect == db.SQLite { // no sqlite_stat1 table yet: never analyzed
			return false
		}
		t.Fatal(err)
	}
	return n > 0
}

func TestStatistics(t *testing.T) {
	dbtest.Each(t, []db.Migration{pairTable}, func(t *testing.T, d *db.DB) {
		t.Run("a bulk-loaded table has no statistics until it is analyzed", func(t *testing.T) {
			fill(t, d.W, 300)
			if analyzed(t, d) {
				t.Fatal("statistics before Analyze")
			}
		})
		t.Run("Analyze gathers the statistics of the tables named", func(t *testing.T) {
			if err := db.Analyze(context.Background(), d, "pair"); err != nil {
				t.Fatal(err)
			}
			if !analyzed(t, d) {
				t.Fatal("no statistics after Analyze")
			}
		})
	})
}

func TestSQLiteOptimize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, db.SQLiteFile)
	t.Run("opening a file whose tables were never analyzed gathers their statistics", func(t *testing.T) {
		// Written through a bare connection, as an older Linli left it.
		if err := db.Private(path); err != nil {
			t.Fatal(err)
		}
		raw, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(pairTable.SQL); err != nil {
			t.Fatal(err)
		}
		tx, err := raw.Begin()
		if err != nil {
			t.Fatal(err)
		}
		fill(t, tx, 2000)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		d, err := db.OpenSQLiteFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if !analyzed(t, d) {
			t.Fatal("no statistics after open")
		}
	})
	t.Run("closing twice is harmless and stops the hourly refresh", func(t *testing.T) {
		d, err := db.OpenSQLiteFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
