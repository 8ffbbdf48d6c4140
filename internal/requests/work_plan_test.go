package requests

import (
	"context"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// The 工作台's two statements read the open requests of a worker's scope
// from their partial index, never the table nor the history of answered
// requests: on a skewed history (one community holds most of its county's
// requests, most of them answered or closed, a few handed up to the
// county), for a community worker of the big community and of a small
// one, and for the county officer they were handed to.
func TestWorkPlans(t *testing.T) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, CST)
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := metricsStore(t, dialect)
			g := newSynthetic(t, s, 4000, end, 2*365*24*time.Hour)
			g.load(t, s)
			// A few open requests of the big community were handed up to
			// the county; a request's id says nothing of its order, so
			// they are picked by number.
			if _, err := s.DB.W.Exec(`UPDATE requests SET unit_code = '330106' WHERE division_code = $1 AND status IN `+openSQL+` AND number LIKE '%5'`, g.big); err != nil {
				t.Fatal(err)
			}
			if err := db.Analyze(context.Background(), s.DB, "requests"); err != nil {
				t.Fatal(err)
			}
			now := db.T(end)
			workers := []struct {
				name  string
				p     *access.Principal
				index string
			}{
				{"the big community's worker reads its open requests by division", &access.Principal{Username: "w1", Role: access.CommunityWorker, Division: g.big}, "requests_open_division"},
				{"a small community's worker too", &access.Principal{Username: "w2", Role: access.CommunityWorker, Division: g.county[3]}, "requests_open_division"},
				{"the county officer reads what was handed to the county by unit", &access.Principal{Username: "o", Role: access.Officer, Division: "330106"}, "requests_open_unit"},
			}
			for _, w := range workers {
				scope, args := s.workScope(w.p)
				args = append([]any{now, db.T(end.Add(2 * time.Hour))}, args...)
				for _, q := range []struct{ what, sql string }{
					{"counts", workCountsSQL(scope)},
					{"items", workItemsSQL(scope, 0, 31)},
					{"items of one box", workItemsSQL(scope, 5, 31)},
				} {
					t.Run(w.name+": "+q.what, func(t *testing.T) {
						plan, err := s.DB.Explain(context.Background(), q.sql, args, db.NoSeqScan())
						if err != nil {
							t.Fatal(err)
						}
						if !strings.Contains(plan, w.index) {
							t.Errorf("the plan does not read %s:\n%s", w.index, plan)
						}
						for _, bad := range []string{"SCAN r", "Seq Scan", "requests_scope", "requests_window"} {
							if strings.Contains(plan, bad) {
								t.Errorf("the plan holds %q:\n%s", bad, plan)
							}
						}
					})
				}
			}
		})
	}
}
