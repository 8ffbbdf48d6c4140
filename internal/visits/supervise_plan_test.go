package visits_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/visits"
)

// TestSupervisionPlans checks that the supervision's hot queries read by
// their indexes on both stores: a township's page at county scale must
// not scan the visits table.
func TestSupervisionPlans(t *testing.T) {
	t.Parallel()
	hot := []struct {
		name, index, query string
		args               []any
	}{
		{"a month's completion in a subtree reads its covering index", "vis_visits_supervision",
			visits.CompletionSQL("substr(v.division_code, 1, 12)"), []any{"2026-12", "330106002", "330106003", "2026-12-15"}},
		{"the overdue list reads the open visits of the subtree", "vis_visits_overdue",
			`SELECT COUNT(*) FROM vis_visits v WHERE v.status = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.due_date < $4`,
			[]any{"open", "330106002", "330106003", "2026-12-15"}},
		{"the clock's escalation scan reads only visits not yet escalated", "vis_visits_to_escalate",
			`SELECT v.id FROM vis_visits v WHERE v.status = 'open' AND v.escalated_at IS NULL AND v.due_date < $1 ORDER BY v.due_date, v.id LIMIT 500`, []any{"2026-12-12"}},
		{"the clock's warning scan reads only visits not yet warned", "vis_visits_to_warn",
			`SELECT v.id FROM vis_visits v WHERE v.status = 'open' AND v.warned_at IS NULL AND v.due_date < $1 ORDER BY v.due_date, v.id LIMIT 500`, []any{"2026-12-15"}},
		{"escalated items read by level and subtree", "vis_visits_escalated",
			`SELECT v.id FROM vis_visits v WHERE v.escalated_to = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status = 'open' ORDER BY v.due_date, v.id LIMIT 20`,
			[]any{"township", "330106002", "330106003"}},
	}
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		apptest.Open(t, d, nil)
		for _, h := range hot {
			t.Run(h.name, func(t *testing.T) {
				plan, err := explainArgs(t.Context(), d, h.query, h.args...)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, h.index) {
					t.Errorf("the plan does not use %s:\n%s", h.index, plan)
				}
			})
		}
	})
}

// explainArgs is the store's plan of a query; PostgreSQL is told to
// avoid sequential scans, which it prefers on tables this small.
func explainArgs(ctx context.Context, d *db.DB, query string, args ...any) (string, error) {
	conn, err := d.R.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	prefix := "EXPLAIN QUERY PLAN "
	if d.Dialect == db.Postgres {
		prefix = "EXPLAIN "
		if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
			return "", err
		}
		defer conn.ExecContext(context.Background(), "RESET enable_seqscan")
	}
	rows, err := conn.QueryContext(ctx, prefix+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			b.Write(v)
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.String(), rows.Err()
}
