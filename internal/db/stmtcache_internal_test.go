package db

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// What a connection keeps: one statement per SQL text, at most
// stmtCacheSize of them, none left busy once their rows are closed.
func TestAConnectionKeepsOneStatementPerTextBounded(t *testing.T) {
	t.Parallel()
	d, err := OpenSQLiteFile(filepath.Join(t.TempDir(), SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	conn, err := d.W.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kept := func() (n, busy int) {
		t.Helper()
		if err := conn.Raw(func(dc any) error {
			c, ok := dc.(*cachingConn)
			if !ok {
				return fmt.Errorf("a SQLite connection is a %T", dc)
			}
			for _, s := range c.stmts {
				n++
				if s.busy {
					busy++
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n, busy
	}
	before, _ := kept() // what opening the store ran
	for i := 0; i < 3; i++ {
		var x int
		if err := conn.QueryRowContext(ctx, `SELECT $1 + 1`, i).Scan(&x); err != nil || x != i+1 {
			t.Fatalf("%d %v", x, err)
		}
	}
	if n, busy := kept(); n != before+1 || busy != 0 {
		t.Fatalf("after one text three times: kept %d, busy %d", n, busy)
	}
	for i := 0; i < stmtCacheSize+50; i++ {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SELECT %d`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, busy := kept(); n != stmtCacheSize || busy != 0 {
		t.Fatalf("after %d texts: kept %d, busy %d", stmtCacheSize+50, n, busy)
	}
}
