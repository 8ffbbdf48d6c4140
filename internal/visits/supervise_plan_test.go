package visits_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/visits"
)

// skewedVisits loads n visits of two months, nine in ten of them in 西湖区's
// communities and the rest in another county's, in every status, with
// high-risk findings: the shape of a province where one county holds most
// rows. Statistics are refreshed, as after any bulk load.
func skewedVisits(t *testing.T, d *db.DB, n int) (big, small, other string) {
	t.Helper()
	ctx := context.Background()
	codes := func(like string) []string {
		cs, err := db.Collect(ctx, d.R, func(r db.Scanner) (string, error) {
			var c string
			return c, r.Scan(&c)
		}, `SELECT code FROM divisions WHERE code LIKE $1 AND level = 5 ORDER BY code`, like)
		if err != nil || len(cs) < 2 {
			t.Fatalf("communities like %s: %d %v", like, len(cs), err)
		}
		return cs
	}
	county := codes(apptest.County + "%")
	others := codes("330102%")
	progs := []string{"prog-special-elderly", "prog-children", "prog-assisted-families"}
	now := db.T(time.Date(2026, 12, 20, 2, 0, 0, 0, time.UTC))
	const per = 300
	for start := 0; start < n; start += per {
		var vals []string
		var args []any
		for i := start; i < min(n, start+per); i++ {
			c := county[i%len(county)]
			if i%10 == 9 {
				c = others[i%len(others)]
			}
			month, due := "2026-12", fmt.Sprintf("2026-12-%02d", 7*(1+i%4))
			if i%3 == 0 {
				month, due = "2026-11", "2026-11-30"
			}
			status, risk, visited := "open", "", any(nil)
			switch i % 10 {
			case 0, 1, 2, 3, 4:
				status, risk, visited = "done", "normal", now
				if i%50 == 0 {
					risk = "high"
				}
			case 5:
				status, visited = "not_home", now
			case 6:
				status, risk, visited = "refused", "normal", now
			}
			subject := fmt.Sprintf("r%06d", i)
			k := len(args)
			ph := make([]string, 15)
			for j := range ph {
				ph[j] = fmt.Sprintf("$%d", k+j+1)
			}
			vals = append(vals, "("+strings.Join(ph, ", ")+")")
			args = append(args, progs[i%3], month, "s0", subject, subject, "h"+subject, c, "g"+c, "w"+c, due, status, risk, visited, now, now)
		}
		if _, err := d.W.ExecContext(ctx, `INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id, division_code, grid_id, owner,
			due_date, status, risk, visited_at, created_at, updated_at) VALUES `+strings.Join(vals, ", "), args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Analyze(ctx, d, "vis_visits"); err != nil {
		t.Fatal(err)
	}
	if d.Dialect == db.Postgres {
		// As autovacuum would after a load: the visibility map lets the
		// planner cost an index-only read of a covering index as one.
		if _, err := d.W.ExecContext(ctx, `VACUUM vis_visits`); err != nil {
			t.Fatal(err)
		}
	}
	return county[0], county[1], others[0]
}

// TestSupervisionPlans checks that the lists' and the supervision's hot
// queries read by their indexes on both stores, on a skewed fixture (one
// county with most rows): a county officer's first or deep page of visits
// reads in the list's order and stops, a community's is read by its own
// range, and neither store scans the visits table.
func TestSupervisionPlans(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		a := apptest.Open(t, d, nil)
		s := visits.StoreOf(a.Module("visits"))
		_, small, _ := skewedVisits(t, d, 3000)
		countyOfficer := &access.Principal{Username: "officer", Role: access.Officer, Division: apptest.County}
		worker := &access.Principal{Username: "cw", Role: access.CommunityWorker, Division: small}
		type read struct {
			name, index, query string
			args               []any
		}
		var hot []read
		lists := func(name, index string, count, countIndex string, countArgs []any, page string, pageArgs []any, err error) {
			if err != nil {
				t.Fatal(err)
			}
			hot = append(hot, read{name, index, page, pageArgs}, read{name + " (its count)", countIndex, count, countArgs})
		}
		c, ca, p, pa, err := s.ListReads(countyOfficer, visits.Filter{Status: visits.StatusOpen}, "", 0)
		lists("a county officer's first page of open visits reads in due order", "vis_visits_list", c, "vis_visits_overdue", ca, p, pa, err)
		c, ca, p, pa, err = s.ListReads(countyOfficer, visits.Filter{Status: visits.StatusDone}, "2026-12-14", 2000)
		lists("a county officer's deep page of done visits seeks to its cursor", "vis_visits_list", c, "vis_visits_overdue", ca, p, pa, err)
		c, ca, p, pa, err = s.ListReads(worker, visits.Filter{Status: visits.StatusOpen}, "", 0)
		lists("a community worker's list reads the community's range", "vis_visits_overdue", c, "vis_visits_overdue", ca, p, pa, err)
		c, ca, p, pa, err = s.WatchReads(visits.WatchFilter{Kind: visits.ListOverdue, Division: apptest.County})
		lists("a county's overdue list reads in due order", "vis_visits_list", c, "vis_visits_overdue", ca, p, pa, err)
		// PostgreSQL sees how few of a small township's visits are
		// overdue, reads them by their range and sorts them; SQLite
		// cannot, and reads in due order.
		township := access.Subtree(small[:9])
		c, ca, p, pa, err = s.WatchReads(visits.WatchFilter{Kind: visits.ListOverdue, Division: small[:9]})
		townshipPage := "vis_visits_list"
		if d.Dialect == db.Postgres {
			townshipPage = "vis_visits_overdue"
		}
		lists("a small township's overdue list reads its open visits and counts its own range", townshipPage, c, "vis_visits_overdue", ca, p, pa, err)
		c, ca, p, pa, err = s.WatchReads(visits.WatchFilter{Kind: visits.ListHighRisk, Division: apptest.County, Month: "2026-12"})
		lists("a county's high-risk list reads the findings' index", "vis_visits_high_risk", c, "vis_visits_high_risk", ca, p, pa, err)
		hot = append(hot,
			read{"a month's completion in a township reads its covering index", "vis_visits_supervision",
				visits.CompletionSQL("substr(v.division_code, 1, 12)", false), []any{"2026-12", township.Lo, township.Hi, "2026-12-15"}},
			read{"the clock's escalation scan reads only visits not yet escalated", "vis_visits_to_escalate",
				`SELECT v.id FROM vis_visits v WHERE v.status = 'open' AND v.escalated_at IS NULL AND v.due_date < $1 ORDER BY v.due_date, v.id LIMIT 500`, []any{"2026-12-12"}},
			read{"the clock's warning scan reads only visits not yet warned", "vis_visits_to_warn",
				`SELECT v.id FROM vis_visits v WHERE v.status = 'open' AND v.warned_at IS NULL AND v.due_date < $1 ORDER BY v.due_date, v.id LIMIT 500`, []any{"2026-12-15"}},
			read{"a county's monthly targets due (C07) are read in order from the rates index, one group per target", "vis_visits_rates",
				visits.CountyTargetsSQL(false), []any{"prog-special-elderly", apptest.County, access.Subtree(apptest.County).Hi, "2026-12"}},
			read{"a county's monthly targets visited are read the same way", "vis_visits_rates",
				visits.CountyTargetsSQL(true), []any{"prog-special-elderly", apptest.County, access.Subtree(apptest.County).Hi, "2026-12"}},
			read{"escalated items read by level and subtree", "vis_visits_escalated",
				`SELECT v.id FROM vis_visits v WHERE v.escalated_to = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status = 'open' ORDER BY v.due_date, v.id LIMIT 20`,
				[]any{"township", "330106002", "330106003"}},
		)
		for _, h := range hot {
			t.Run(h.name, func(t *testing.T) {
				// On a table this small PostgreSQL reads a county's
				// thousand rows faster by a scan that stops at the bound
				// than by any index; at scale it does not, so the test
				// asks which index it takes when it does not scan.
				plan, err := d.Explain(t.Context(), h.query, h.args, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				want := []string{h.index}
				if h.index == "vis_visits_supervision" && d.Dialect == db.Postgres {
					// Both indexes lead with (month, division_code): either
					// reads the month's subtree in one range. PostgreSQL
					// prefers the covering one once the visibility map
					// says its pages are all visible, which a VACUUM beside
					// other tests' open transactions may not yet record.
					want = append(want, "vis_visits_div")
				}
				if !slices.ContainsFunc(want, func(ix string) bool { return strings.Contains(plan, ix) }) {
					t.Errorf("the plan does not use %s:\n%s", strings.Join(want, " or "), plan)
				}
				if strings.Contains(plan, "Seq Scan on vis_visits") || strings.Contains(plan, "SCAN v\n") || strings.HasSuffix(plan, "SCAN v") {
					t.Errorf("the plan scans the visits:\n%s", plan)
				}
			})
		}
	})
}
