package emergency_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/emergency"
)

// The hot statements read em_checks by the indexes made for them, on a
// skewed fixture: one incident in force holding most checks, most in one
// community, a helper with a third of the people, most checks already
// safe; and a cancelled incident beside it.
func TestHotStatementsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	const big = "330106002051"
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		a := apptest.Open(t, d, func() time.Time { return time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC) })
		es := emergency.StoreOf(a.Module("emergency"))
		ctx := access.With(context.Background(), &access.Principal{Username: "o", Role: access.Officer, Division: "330106"})
		live, _, err := es.Issue(ctx, orange(big))
		if err != nil {
			t.Fatal(err)
		}
		old, _, err := es.Issue(ctx, orange("330106004053"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := es.Cancel(ctx, old.ID, emergency.CancelInput{}); err != nil {
			t.Fatal(err)
		}
		at := db.T(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
		err = d.Tx(t.Context(), func(tx *sql.Tx) error {
			var rows []string
			var args []any
			flush := func() error {
				if len(rows) == 0 {
					return nil
				}
				_, err := tx.Exec(`INSERT INTO em_checks (incident_id, kind, subject_id, household_id, division_code, grid_id, helper, status, created_at, updated_at) VALUES `+strings.Join(rows, ", "), args...)
				rows, args = rows[:0], args[:0]
				return err
			}
			for i := range 6000 {
				inc, div, kind, helper, status := live.IncidentID, big, "household", "", "safe"
				if i%10 == 9 {
					inc = old.IncidentID
				}
				if i%5 == 4 {
					div = fmt.Sprintf("3301060030%02d", i%40)
				}
				if i%3 == 0 {
					kind, helper = "person", fmt.Sprintf("h%d", i%30)
					if i%2 == 0 {
						helper = "big.helper"
					}
				}
				if i%17 == 0 {
					status = "pending"
				}
				rows = append(rows, d.Values(len(args), 10))
				args = append(args, inc, kind, fmt.Sprintf("s-%d", i), fmt.Sprintf("hh-%d", i/3), div, fmt.Sprintf("g-%d", i%50), helper, status, at, at)
				if len(rows) == 300 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			return flush()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Analyze(t.Context(), d, "em_checks", "em_alerts"); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"work.helper": "em_checks_helper", "work.grid": "em_checks_grid", "mine": "em_checks_household",
			"board.counts": "em_tally", "board.waiting": "em_checks_persons"}
		for name, st := range emergency.HotSQL("big.helper", "hh-7", live.IncidentID, "330106002") {
			t.Run(name+" reads "+want[name], func(t *testing.T) {
				plan, err := d.Explain(t.Context(), st.SQL, st.Args, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, want[name]) {
					t.Errorf("the plan does not read %s:\n%s", want[name], plan)
				}
				for _, line := range strings.Split(plan, "\n") {
					step := strings.TrimSpace(line)
					if strings.Contains(step, "Seq Scan on em_") || step == "SCAN c" || strings.HasPrefix(step, "SCAN c ") || step == "SCAN x" || strings.HasPrefix(step, "SCAN em_") {
						t.Errorf("the plan scans a table: %q\n%s", step, plan)
					}
				}
			})
		}
	})
}
