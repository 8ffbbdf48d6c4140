package visits_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/visits"
	"linli/internal/web"
)

// addVisits writes n open visits of community A, numbered from from, due
// on the days due(i) gives, each its own target.
func addVisits(t *testing.T, d *db.DB, from, n int, due func(i int) string) {
	t.Helper()
	now := db.T(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC))
	for start := from; start < from+n; start += 200 {
		var vals []string
		var args []any
		for i := start; i < min(from+n, start+200); i++ {
			k := len(args)
			vals = append(vals, fmt.Sprintf("('prog-special-elderly', '2026-12', 's0', $%d, $%d, $%d, '%s', '', '', $%d, 'open', $%d, $%d)", k+1, k+2, k+3, communityA, k+4, k+5, k+6))
			subject := fmt.Sprintf("k%06d", i)
			args = append(args, subject, subject, "h"+subject, due(i), now, now)
		}
		if _, err := d.W.ExecContext(context.Background(), `INSERT INTO vis_visits (programme_id, month, origin, subject_id, resident_id, household_id,
			division_code, grid_id, owner, due_date, status, created_at, updated_at) VALUES `+strings.Join(vals, ", "), args...); err != nil {
			t.Fatal(err)
		}
	}
}

// The visits list pages by its sort key: paging through a community's
// list while visits are added before and after the cursor gives every
// visit that was there exactly once, in order; the count stops at 1,000
// ("1,000+"); a cursor that was tampered with, or a page number, is
// refused naming the field.
func TestListPagesByKey(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.Clock.Set(day("2026-12-03T10:00"))
		vs := visits.StoreOf(e.App.Module("visits"))
		d := e.App.DB
		// 60 visits over six days, ten a day, so pages break inside a day.
		addVisits(t, d, 0, 60, func(i int) string { return fmt.Sprintf("2026-12-%02d", 10+i%6) })
		cw := as("cw.a", access.CommunityWorker, communityA)

		t.Run("paging while visits are added returns every visit once, in order", func(t *testing.T) {
			seen := map[int64]int{}
			var last visits.Visit
			cursor, pages := "", 0
			for {
				l, err := vs.List(cw, visits.Filter{Status: visits.StatusOpen}, cursor, 7)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range l.Visits {
					if last.ID != 0 && (v.Due < last.Due || v.Due == last.Due && v.ID <= last.ID) {
						t.Fatalf("out of order: %s/%d after %s/%d", v.Due, v.ID, last.Due, last.ID)
					}
					seen[v.ID]++
					last = v
				}
				if pages == 2 {
					// One visit due before the cursor, one after it.
					addVisits(t, d, 1000, 1, func(int) string { return "2026-12-09" })
					addVisits(t, d, 1001, 1, func(int) string { return "2026-12-20" })
				}
				pages++
				if l.Next == "" {
					break
				}
				cursor = l.Next
			}
			if len(seen) != 61 {
				t.Errorf("%d distinct visits over %d pages, want the 60 and the one due after the cursor", len(seen), pages)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("visit %d listed %d times", id, n)
				}
			}
		})
		t.Run("the count stops at 1,000 and the page says 1,000+", func(t *testing.T) {
			addVisits(t, d, 2000, 1000, func(i int) string { return "2026-12-25" })
			l, err := vs.List(cw, visits.Filter{Status: visits.StatusOpen}, "", 20)
			if err != nil || l.Total != visits.ListCountCap+1 || !l.Capped || len(l.Visits) != 20 || l.Next == "" {
				t.Fatalf("total %d capped %v, %d visits, next %q: %v", l.Total, l.Capped, len(l.Visits), l.Next, err)
			}
			st, body, _ := e.Login("cw.a").Get("/visits")
			// The page writes the plus sign as html/template escapes it.
			if st != 200 || !strings.Contains(body, "1,000&#43;") || !strings.Contains(body, `rel="next"`) {
				t.Fatalf("the list page %d does not say 1,000+ or link the next page:\n%s", st, body)
			}
		})
		t.Run("the API gives next; a tampered cursor or a page number is refused naming the field", func(t *testing.T) {
			c := e.Login("cw.a")
			first := apptest.JSON[visits.VisitPage](t, c, "GET", "/api/v1/visits?status=open&page_size=5", nil, 200)
			if len(first.Items) != 5 || first.Next == "" || !first.TotalCapped {
				t.Fatalf("first page: %d items, next %q, capped %v", len(first.Items), first.Next, first.TotalCapped)
			}
			second := apptest.JSON[visits.VisitPage](t, c, "GET", "/api/v1/visits?status=open&page_size=5&cursor="+url.QueryEscape(first.Next), nil, 200)
			if len(second.Items) != 5 || second.Items[0].IDText == first.Items[4].IDText {
				t.Fatalf("second page: %+v", second.Items)
			}
			bad := first.Next[:len(first.Next)-2] + "xx"
			for path, field := range map[string]string{
				"/api/v1/visits?cursor=" + url.QueryEscape(bad):                                "cursor",
				"/api/v1/visits?page=2":                                                        "page",
				"/api/v1/visits/watch?kind=overdue&cursor=" + url.QueryEscape(first.Next[:20]): "cursor",
			} {
				p := apptest.JSON[web.Problem](t, c, "GET", path, nil, 400)
				if len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("%s: %+v", path, p)
				}
			}
			// A cursor of one list does not page another.
			if _, err := vs.WatchList(cw, visits.WatchFilter{Kind: visits.ListHighRisk}, first.Next, 5); err == nil {
				t.Error("the high-risk list took the visits list's cursor")
			}
		})
	})
}
