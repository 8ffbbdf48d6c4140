package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"linli/internal/db"
)

// A SQLite connection keeps the statements it has compiled and runs them
// again; what it answers must not change for it: the same query while
// its own rows are still open, more statements than it keeps, a schema
// change under a kept statement, savepoints inside a transaction.
func TestSQLiteConnectionsKeepTheirStatements(t *testing.T) {
	t.Parallel()
	d, err := db.OpenSQLiteFile(filepath.Join(t.TempDir(), db.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.W.ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := d.W.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("the same query again while its rows are open answers both in full", func(t *testing.T) {
		conn, err := d.W.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		const q = `SELECT k FROM kv WHERE k >= $1 ORDER BY k`
		outer, err := conn.QueryContext(ctx, q, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for outer.Next() {
			var k int
			if err := outer.Scan(&k); err != nil {
				t.Fatal(err)
			}
			var n int
			inner := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+q+`)`, k)
			if err := inner.Scan(&n); err != nil {
				t.Fatal(err)
			}
			var first int
			if err := conn.QueryRowContext(ctx, q, k).Scan(&first); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d:%d:%d", k, n, first))
		}
		if err := outer.Close(); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[1:5:1 2:4:2 3:3:3 4:2:4 5:1:5]" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("more distinct statements than a connection keeps all answer right, twice over", func(t *testing.T) {
		for round := 0; round < 2; round++ {
			for i := 0; i < 450; i++ {
				var n int
				if err := d.W.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) + %d FROM kv WHERE k <= $1`, i), 3).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 3+i {
					t.Fatalf("statement %d answered %d", i, n)
				}
			}
		}
	})
	t.Run("a kept statement sees a column added after it was compiled", func(t *testing.T) {
		const q = `SELECT * FROM kv WHERE k = $1`
		cols := func() int {
			rs, err := d.W.QueryContext(ctx, q, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			c, err := rs.Columns()
			if err != nil {
				t.Fatal(err)
			}
			return len(c)
		}
		if n := cols(); n != 2 {
			t.Fatalf("columns %d", n)
		}
		if _, err := d.W.ExecContext(ctx, `ALTER TABLE kv ADD COLUMN note TEXT NOT NULL DEFAULT 'x'`); err != nil {
			t.Fatal(err)
		}
		if n := cols(); n != 3 {
			t.Fatalf("columns after the change %d", n)
		}
	})
	t.Run("savepoints in a transaction roll back alone, with kept statements", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			tx, err := d.W.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{100 + 2*i, 101 + 2*i} {
				if _, err := tx.ExecContext(ctx, `SAVEPOINT one`); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, 'tx')`, k); err != nil {
					t.Fatal(err)
				}
				if k%2 == 1 {
					if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT one`); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT one`); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv WHERE v = 'tx'`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows kept %d (%v), want 3", n, err)
		}
	})
}
