package db_test

import (
	"context"
	"strings"
	"testing"

	"linli/internal/db"
	"linli/internal/dbtest"
)

func TestExplain(t *testing.T) {
	dbtest.Each(t, []db.Migration{pairTable}, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// Enough rows that an index beats reading the table for one key,
		// one of them under a rare key; then statistics, as after a load.
		_, err := d.W.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
			INSERT INTO pair (id, k) SELECT 'p' || i, CASE WHEN i = 1 THEN 'rare' ELSE 'common' END FROM n`)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Analyze(ctx, d, "pair"); err != nil {
			t.Fatal(err)
		}
		const byKey = `SELECT id FROM pair WHERE k = $1`
		t.Run("a rare key's plan names the index it reads", func(t *testing.T) {
			plan, err := d.Explain(ctx, byKey, []any{"rare"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "pair_k") {
				t.Fatalf("the plan does not use pair_k:\n%s", plan)
			}
			if d.Dialect == db.SQLite && !strings.HasPrefix(plan, "SEARCH pair USING INDEX pair_k (k=?)") {
				t.Fatalf("SQLite's plan is not its detail column:\n%s", plan)
			}
		})
		t.Run("a step under another is indented deeper", func(t *testing.T) {
			plan, err := d.Explain(ctx, `SELECT id FROM pair WHERE k IN (SELECT k FROM pair WHERE id = $1)`, []any{"p2"})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(plan, "\n")
			indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
			if len(lines) < 2 || indent(lines[0]) != 0 || indent(lines[len(lines)-1]) == 0 {
				t.Fatalf("no nested step:\n%s", plan)
			}
		})
		t.Run("a statement the store refuses is an error, not a plan", func(t *testing.T) {
			if plan, err := d.Explain(ctx, `SELECT id FROM no_such_table`, nil); err == nil {
				t.Fatalf("no error, plan:\n%s", plan)
			}
		})
		if d.Dialect != db.Postgres {
			return
		}
		t.Run("PostgreSQL reads a key every row has from the table, unless told to avoid sequential scans", func(t *testing.T) {
			plan, err := d.Explain(ctx, byKey, []any{"common"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "Seq Scan on pair") {
				t.Fatalf("a key on every row is read through an index:\n%s", plan)
			}
			if plan, err = d.Explain(ctx, byKey, []any{"common"}, db.NoSeqScan()); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "pair_k") {
				t.Fatalf("told to avoid sequential scans, the plan does not use pair_k:\n%s", plan)
			}
		})
		t.Run("the setting ends with the plan: the pool's connections keep sequential scans", func(t *testing.T) {
			for range 4 {
				var on string
				if err := d.R.QueryRowContext(ctx, `SHOW enable_seqscan`).Scan(&on); err != nil {
					t.Fatal(err)
				}
				if on != "on" {
					t.Fatalf("enable_seqscan = %s after the plan", on)
				}
			}
		})
	})
}
