package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/secret"
)

func officerOf(code string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: "officer." + code, Role: access.Officer, Division: code})
}

// The metrics page's reads use the index made for them on both stores, on
// a skewed history (one community holds most of its county's requests,
// three years of them): a county's month reads its month, a community's
// month its own rows of the month, never the table nor a whole history.
func TestMetricsPlans(t *testing.T) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, CST)
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := metricsStore(t, dialect)
			g := newSynthetic(t, s, 4000, end, 3*365*24*time.Hour)
			g.load(t, s)
			from := end.AddDate(0, 0, -30)
			// PostgreSQL may read a community's month from either index:
			// both hold it in one range with every column needed.
			want := func(index string) map[db.Dialect][]string {
				pg := index
				if index == "requests_window_div" {
					pg = "using requests_window_"
				}
				return map[db.Dialect][]string{db.SQLite: {"SEARCH r USING COVERING INDEX " + index}, db.Postgres: {pg}}
			}
			refuse := map[db.Dialect][]string{db.SQLite: {"SCAN r"}, db.Postgres: {"Seq Scan", "requests_scope", "requests_created"}}
			scopes := []struct {
				name, within, index, sqliteKey string
			}{
				{"a county's month reads the time-first index", "330106", "requests_window_time", "(created_at>? AND created_at<?)"},
				{"the big community's month reads the division-first index by its code and the month", g.big, "requests_window_div", "(division_code=? AND created_at>? AND created_at<?)"},
				{"a small community's month too", g.county[2], "requests_window_div", "(division_code=? AND created_at>? AND created_at<?)"},
			}
			// The daily counters: an area's days by the primary key, for a
			// county's year as for the big community's month.
			for _, c := range []struct {
				name, within string
				from         time.Time
			}{{"the counters of a county's year are read by the primary key", "330106", end.AddDate(-1, 0, 0)}, {"the big community's month too", g.big, from}} {
				t.Run(c.name, func(t *testing.T) {
					q, args := s.dailySQL(officerOf(c.within), c.within, c.from, end)
					plan, err := s.DB.Explain(context.Background(), q, args, db.NoSeqScan())
					if err != nil {
						t.Fatal(err)
					}
					wants := map[db.Dialect]string{db.SQLite: "SEARCH request_daily USING PRIMARY KEY (area=? AND day>? AND day<?)", db.Postgres: "request_daily_pkey"}
					if !strings.Contains(plan, wants[dialect]) || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "SCAN request_daily") {
						t.Errorf("plan does not read the area's days by the key alone:\n%s", plan)
					}
				})
			}
			for _, sc := range scopes {
				w := s.metricsWindow(officerOf(sc.within), sc.within, from, end)
				t.Run(sc.name, func(t *testing.T) {
					// w.args holds PostgreSQL's custom-plan mode first, as the store passes them.
					plan, err := s.DB.Explain(context.Background(), s.metricsSQL(w), w.args)
					if err != nil {
						t.Fatal(err)
					}
					wants := want(sc.index)[dialect]
					if dialect == db.SQLite {
						wants = []string{wants[0] + " " + sc.sqliteKey}
					}
					// Each of the four groupings reads the window so.
					for _, w := range wants {
						if n := strings.Count(plan, w); n != 4 {
							t.Errorf("plan holds %q %d times, want 4:\n%s", w, n, plan)
						}
					}
					for _, r := range refuse[dialect] {
						if strings.Contains(plan, r) {
							t.Errorf("plan holds %q:\n%s", r, plan)
						}
					}
				})
			}
		})
	}
}

// rowByRow computes the indicators the plain way: every request of the
// window read and counted one by one (the times to resolve sorted and
// rounded half up to 0.1 h).
func rowByRow(t *testing.T, s *Store, within string, from, to time.Time) Metrics {
	t.Helper()
	m := Metrics{Division: within, From: from.In(CST).Format("2006-01-02"), To: to.In(CST).Format("2006-01-02"), ByStatus: map[string]int{}}
	sc := access.Subtree(within)
	cats, spots, days := map[string]int{}, map[string]int{}, map[string]int{}
	var micros []int64
	err := db.EachRow(context.Background(), s.DB.R, func(r db.Scanner) error {
		var cat, div, st, rating string
		var acc bool
		var rmet, smet *bool
		var ans, created db.Time
		var reopen int
		if err := r.Scan(&cat, &div, &st, &acc, &rmet, &ans, &smet, &rating, &reopen, &created); err != nil {
			return err
		}
		m.Received++
		m.ByStatus[st]++
		cats[cat]++
		if len(div) >= 12 {
			spots[div[:12]]++
		}
		days[created.In(CST).Format("2006-01-02")]++
		if acc {
			m.Accepted++
			if rmet != nil && *rmet {
				m.AcceptedInTime++
			}
		}
		if !ans.IsZero() {
			m.Resolved++
			if smet != nil && *smet {
				m.ResolvedInTime++
			}
			micros = append(micros, ans.Sub(created.Time).Microseconds())
		}
		if rating != "" {
			m.Evaluated++
			if rating == Satisfied || rating == FairlySatisfed {
				m.Satisfied++
			}
		}
		if reopen > 0 {
			m.Reopened++
		}
		return nil
	}, `SELECT category, division_code, status, accepted_at IS NOT NULL, response_met, answered_at, resolve_met, rating, reopen_count, created_at
		FROM requests WHERE division_code >= $1 AND division_code < $2 AND created_at >= $3 AND created_at < $4`, sc.Lo, sc.Hi, db.T(from), db.T(to))
	if err != nil {
		t.Fatal(err)
	}
	m.TimelyAcceptPct = pct(m.AcceptedInTime, m.Accepted)
	m.OnTimeResolve = pct(m.ResolvedInTime, m.Resolved)
	m.SatisfactionPct = pct(m.Satisfied, m.Evaluated)
	m.ReopenPct = pct(m.Reopened, m.Resolved+m.Reopened)
	if len(micros) > 0 {
		sort.Slice(micros, func(i, j int) bool { return micros[i] < micros[j] })
		q := func(p float64) float64 {
			us := micros[int(p*float64(len(micros)-1)+0.5)]
			return float64((us+180_000_000)/360_000_000) / 10
		}
		m.MedianHours, m.P90Hours = q(0.5), q(0.9)
	}
	names, err := s.categoryNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.TopCategories = top(cats, names, 10)
	m.HotSpots = top(spots, nil, 10)
	for i, c := range m.HotSpots {
		d, err := s.Divs.Get(context.Background(), c.Key)
		if err != nil {
			t.Fatal(err)
		}
		m.HotSpots[i].Name = d.Name
	}
	for d := from.In(CST); d.Before(to) && len(m.Daily) < 400; d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		m.Daily = append(m.Daily, Count{Key: k, Name: k, Count: days[k]})
	}
	return m
}

// The daily counters give every figure a row-by-row count gives, for a
// county, a street and communities, over a month, a year and a window
// with nothing in it: as loaded, after requests move through their
// lifecycle (accepted, answered, rated, reopened and answered again,
// closed, rejected, transferred to another community; moved to another county,
// edited and deleted by hand), and after the
// counters are rebuilt from the requests as the migration's backfill does.
// The grouped read of the requests themselves, which a grid worker's
// figures still use, agrees too.
func TestMetricsEqualARowByRowCount(t *testing.T) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, CST)
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := metricsStore(t, dialect)
			keys, _, err := secret.Load("", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s.Keys = keys
			g := newSynthetic(t, s, 3000, end, 2*365*24*time.Hour)
			g.load(t, s)
			compare := func(t *testing.T, step string) {
				t.Helper()
				for _, within := range []string{"330106", g.big[:9], g.big, g.county[4], "33", "3301"} {
					for _, span := range []struct {
						from, to time.Time
					}{{end.AddDate(0, 0, -30), end}, {end.AddDate(-1, 0, 0), end}, {end.AddDate(0, 0, 5), end.AddDate(0, 0, 9)}} {
						ctx := officerOf(within)
						if q, _ := s.dailySQL(ctx, within, span.from, span.to); q == "" {
							t.Fatalf("%s: the counters do not answer %s's window", step, within)
						}
						got, err := s.ComputeMetrics(ctx, within, span.from, span.to)
						if err != nil {
							t.Fatal(err)
						}
						want := rowByRow(t, s, within, span.from, span.to)
						gj, _ := json.Marshal(got)
						wj, _ := json.Marshal(want)
						if string(gj) != string(wj) {
							t.Errorf("%s: %s %s–%s:\n got %s\nwant %s", step, within, got.From, got.To, gj, wj)
						}
						if within == "330106" && span.from == end.AddDate(-1, 0, 0) && (got.Resolved < 100 || got.MedianHours == 0 || len(got.HotSpots) != 10) {
							t.Errorf("%s: the county's year has too little to compare: %s", step, gj)
						}
						if within == "330106" && span.to == end {
							grouped := metricsFrom(t, s, ctx, within, span.from, span.to)
							if grouped != string(gj) {
								t.Errorf("%s: %s %s–%s: the grouped read of the requests differs:\n got %s\nwant %s", step, within, got.From, got.To, grouped, gj)
							}
						}
					}
				}
			}
			compare(t, "as loaded")

			// The lifecycle, through the store's own transitions, on
			// requests of the county's last months.
			officer := officerOf("33")
			ids := func(status Status, n int) []string {
				var out []string
				err := db.EachRow(context.Background(), s.DB.R, func(r db.Scanner) error {
					var id string
					if err := r.Scan(&id); err != nil {
						return err
					}
					out = append(out, id)
					return nil
				}, `SELECT id FROM requests WHERE status = $1 AND division_code >= '330106' AND division_code < '330107' AND created_at >= $2 ORDER BY id LIMIT $3`,
					string(status), db.T(end.AddDate(0, -3, 0)), n)
				if err != nil {
					t.Fatal(err)
				}
				if len(out) < n {
					t.Fatalf("%d requests %s, want %d", len(out), status, n)
				}
				return out
			}
			// The fixture's callers have no account and their names are
			// not sealed: the handler records their call-backs.
			if _, err := s.DB.W.ExecContext(context.Background(), `UPDATE requests SET reporter_name = ''`); err != nil {
				t.Fatal(err)
			}
			s.Now = func() time.Time { return end.Add(-time.Hour) }
			act := func(id string, a Action, in Input) {
				t.Helper()
				if _, err := s.Transition(officer, id, a, in); err != nil {
					t.Fatalf("%s %s: %v", a, id, err)
				}
			}
			for _, id := range ids(Submitted, 12) {
				act(id, "accept", Input{})
			}
			for i, id := range ids(InProgress, 20) {
				act(id, "answer", Input{Reply: "已处理。"})
				switch i % 4 {
				case 0:
					act(id, "evaluate", Input{Rating: Satisfied})
					act(id, "close", Input{})
				case 1:
					act(id, "evaluate", Input{Rating: Unsatisfied, Comment: "没有解决"})
				case 2:
					act(id, "reopen", Input{Note: "又坏了"})
					act(id, "answer", Input{Reply: "已再次处理。"})
				case 3:
					act(id, "reopen", Input{Note: "仍未解决"})
				}
			}
			for _, id := range ids(Submitted, 6)[3:] {
				act(id, "reject", Input{Reason: "重复反映"})
			}
			for _, id := range ids(Submitted, 8)[5:] {
				act(id, "transfer", Input{Unit: g.county[len(g.county)-1], Note: "位置在相邻社区"})
			}
			compare(t, "after the lifecycle")

			// Rows changed or removed by hand are followed as well.
			if _, err := s.DB.W.ExecContext(context.Background(), `DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE division_code >= '330106' AND division_code < '330107' ORDER BY id LIMIT 40)`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB.W.ExecContext(context.Background(), `UPDATE requests SET category = $1 WHERE id IN (SELECT id FROM requests WHERE status = $2 ORDER BY id DESC LIMIT 30)`, Catalogue[0].Code, string(Answered)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB.W.ExecContext(context.Background(), `UPDATE requests SET division_code = $1 WHERE id IN (SELECT id FROM requests WHERE division_code = $2 ORDER BY id LIMIT 25)`, g.elsewhere[1], g.big); err != nil {
				t.Fatal(err)
			}
			compare(t, "after deletes and edits")

			// The backfill rebuilds what the triggers kept.
			kept := dailyRows(t, s)
			if _, err := s.DB.W.ExecContext(context.Background(), `DELETE FROM request_daily`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB.W.ExecContext(context.Background(), dailyBackfill(dialect)); err != nil {
				t.Fatal(err)
			}
			if rebuilt := dailyRows(t, s); rebuilt != kept {
				t.Errorf("the backfill differs from the kept counters:\n kept %.300s\nrebuilt %.300s", kept, rebuilt)
			}
			compare(t, "after the backfill")
		})
	}
}

// metricsFrom computes the indicators with the grouped read of the
// requests (the path a grid worker's figures take), as JSON.
func metricsFrom(t *testing.T, s *Store, ctx context.Context, within string, from, to time.Time) string {
	t.Helper()
	grid := access.With(ctx, &access.Principal{Username: "grid", Role: access.GridWorker, Division: within})
	if q, _ := s.dailySQL(grid, within, from, to); q != "" {
		t.Fatal("a grid worker's figures must not come from the counters")
	}
	w := s.metricsWindow(ctx, within, from, to)
	m, err := s.computeFrom(ctx, within, from, to, s.metricsSQL(w), w.args)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// dailyRows are the counters that count something, in key order.
func dailyRows(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	err := db.EachRow(context.Background(), s.DB.R, func(r db.Scanner) error {
		var area, day, kind, key string
		var n [8]int64
		if err := r.Scan(&area, &day, &kind, &key, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7]); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s %s %s %v\n", area, day, kind, key, n)
		return nil
	}, `SELECT area, day, kind, key, n, acc, acc_met, res, res_met, eval, sat, reopened FROM request_daily
		WHERE n <> 0 OR acc <> 0 OR acc_met <> 0 OR res <> 0 OR res_met <> 0 OR eval <> 0 OR sat <> 0 OR reopened <> 0 ORDER BY area, day, kind, key`)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() == 0 {
		t.Fatal("no counters")
	}
	return b.String()
}
