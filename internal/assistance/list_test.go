package assistance_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// The list pages by position: every application once, newest first; a
// page number, a bad cursor or status is a 400 naming it; a resident
// has no list.
func TestListPagesByCursor(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw := e.Login("cw.a")
		const n = 45
		made := map[string]bool{}
		for range n {
			hh, _ := w.household(t, "", 1970) // one open application a household
			a, err := w.as.Apply(w.cw, assistance.ApplyInput{HouseholdID: hh, IncomeFen: fen(0), Programmes: []string{"dibao"}})
			if err != nil {
				t.Fatal(err)
			}
			made[a.ID] = true
		}
		t.Run("three pages of 20, 20 and 5 hold every application once, newest first", func(t *testing.T) {
			seen := map[string]bool{}
			last := "~"
			path := "/api/v1/assistance/applications?page_size=20"
			var sizes []int
			for path != "" {
				pg := apptest.JSON[assistance.Page](t, cw, "GET", path, nil, 200)
				if pg.Total != n || pg.Capped {
					t.Fatalf("total %d capped %v", pg.Total, pg.Capped)
				}
				sizes = append(sizes, len(pg.Items))
				for _, a := range pg.Items {
					if seen[a.ID] || !made[a.ID] || a.ID >= last {
						t.Fatalf("%s out of order or twice", a.ID)
					}
					seen[a.ID], last = true, a.ID
				}
				path = ""
				if pg.Next != "" {
					path = "/api/v1/assistance/applications?page_size=20&cursor=" + url.QueryEscape(pg.Next)
				}
			}
			if fmt.Sprint(sizes) != "[20 20 5]" || len(seen) != n {
				t.Fatalf("pages %v, %d seen", sizes, len(seen))
			}
		})
		t.Run("the status filter keeps the count and the pages to the state", func(t *testing.T) {
			pg := apptest.JSON[assistance.Page](t, cw, "GET", "/api/v1/assistance/applications?status=accepted", nil, 200)
			if pg.Total != 0 || len(pg.Items) != 0 {
				t.Fatalf("%+v", pg)
			}
		})
		for _, c := range []struct{ query, field string }{{"page=2", "page"}, {"cursor=nonsense", "cursor"}, {"status=lost", "status"}, {"page_size=0", "page_size"}} {
			t.Run(c.query+" is a 400 naming "+c.field, func(t *testing.T) {
				st, body := cw.Do("GET", "/api/v1/assistance/applications?"+c.query, nil)
				if st != 400 || !strings.Contains(body, `"field":"`+c.field+`"`) {
					t.Fatalf("%d %s", st, body)
				}
			})
		}
		t.Run("a resident has no list, another community sees none of them", func(t *testing.T) {
			e.User("res.z", access.Resident, communityA)
			if st, _ := e.Login("res.z").Do("GET", "/api/v1/assistance/applications", nil); st != 403 {
				t.Fatalf("resident: %d", st)
			}
			if pg := apptest.JSON[assistance.Page](t, e.Login("cw.b"), "GET", "/api/v1/assistance/applications", nil, 200); pg.Total != 0 {
				t.Fatalf("community B sees %d", pg.Total)
			}
		})
	})
}

// The list and the 工作台 read by index on a skewed fixture: one community
// holds most applications.
func TestListAndWorkPlans(t *testing.T) {
	t.Parallel()
	const big = "330106002051"
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		apptest.Open(t, d, nil)
		ctx := context.Background()
		at := db.T(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		// Most applications are enrolled (their clock a year away) or
		// exited (none); one in twenty is in progress.
		status := func(k int) string {
			switch {
			case k%20 == 0:
				return "submitted"
			case k%20 < 10:
				return "enrolled"
			}
			return "exited"
		}
		due := func(k int) any {
			if status(k) == "exited" {
				return nil
			}
			return at
		}
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for b := range 10 {
				var rows []string
				var args []any
				for i := range 300 {
					k := b*300 + i
					div := big
					if k%30 == 0 {
						div = fmt.Sprintf("3301%02d%03d%03d", 6+k%5, k%7, k%11)
					}
					rows = append(rows, d.Values(len(args), 10))
					args = append(args, fmt.Sprintf("%032d", k), div, div[:6], fmt.Sprintf("h%d", k), 2026, status(k), "x", due(k), at, at)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO ast_applications (id, division_code, county, household_id, year, status, applicant, due_at, created_at, updated_at,
					on_behalf, facts_enc, results_enc, asked, plausible, version) VALUES `+strings.ReplaceAll(strings.Join(rows, ","), ")", ", FALSE, '', '', '', '', 1)"), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.W.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		s := &assistance.Store{DB: d}
		for _, p := range []*access.Principal{
			{Username: "c", Role: access.CommunityWorker, Division: "330106004053"},
			{Username: "big", Role: access.CommunityWorker, Division: big},
			{Username: "county", Role: access.Officer, Division: "330106"},
		} {
			count, countArgs, list, listArgs, err := s.ListSQL(p, "", "", 20)
			if err != nil {
				t.Fatal(err)
			}
			work, workArgs := assistance.WorkSQL(p, 50)
			workCount, workCountArgs := assistance.WorkCountSQL(p, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
			for what, q := range map[string]struct {
				sql  string
				args []any
			}{"count": {count, countArgs}, "list": {list, listArgs}, "work": {work, workArgs}, "work count": {workCount, workCountArgs}} {
				t.Run(p.Division+" "+what, func(t *testing.T) {
					plan, err := d.Explain(t.Context(), q.sql, q.args, db.NoSeqScan())
					if err != nil {
						t.Fatal(err)
					}
					for _, line := range strings.Split(plan, "\n") {
						step := strings.TrimSpace(line)
						// "SCAN a" after "CO-ROUTINE a" reads the picked rows, not the table.
						tableScan := step == "SCAN a" && !strings.Contains(plan, "CO-ROUTINE a")
						if strings.Contains(step, "Seq Scan on ast_applications") || tableScan || step == "SCAN ast_applications" || strings.Contains(step, "ast_applications_household") {
							t.Errorf("the plan scans the applications:\n%s", plan)
						}
					}
					want := map[string]string{"work": "ast_applications_open", "work count": "ast_applications_open", "list": "ast_applications_div", "count": "ast_applications_div"}[what]
					if strings.HasPrefix(what, "work") && p.Role == access.Officer {
						want = "ast_applications_decide"
					}
					if what == "list" && d.Dialect == db.Postgres && strings.Contains(plan, "Index Scan Backward using ast_applications_pkey") {
						want = "ast_applications_pkey" // a wide scope read newest first, stopping at the page
					}
					if !strings.Contains(plan, want) {
						t.Errorf("the %s does not read %s:\n%s", what, want, plan)
					}
				})
			}
		}
	})
}
