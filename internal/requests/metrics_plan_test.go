package requests

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
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

// The grouped reads give every figure a row-by-row count gives, for a
// county, a street and communities, over a month, a year and a window
// with nothing in it.
func TestMetricsEqualARowByRowCount(t *testing.T) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, CST)
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := metricsStore(t, dialect)
			g := newSynthetic(t, s, 3000, end, 2*365*24*time.Hour)
			g.load(t, s)
			for _, within := range []string{"330106", g.big[:9], g.big, g.county[4]} {
				for _, span := range []struct {
					from, to time.Time
				}{{end.AddDate(0, 0, -30), end}, {end.AddDate(-1, 0, 0), end}, {end.AddDate(0, 0, 5), end.AddDate(0, 0, 9)}} {
					got, err := s.ComputeMetrics(officerOf(within), within, span.from, span.to)
					if err != nil {
						t.Fatal(err)
					}
					want := rowByRow(t, s, within, span.from, span.to)
					gj, _ := json.Marshal(got)
					wj, _ := json.Marshal(want)
					if string(gj) != string(wj) {
						t.Errorf("%s %s–%s:\n got %s\nwant %s", within, got.From, got.To, gj, wj)
					}
					if within == "330106" && span.from == end.AddDate(-1, 0, 0) && (got.Resolved < 100 || got.MedianHours == 0 || len(got.HotSpots) != 10) {
						t.Errorf("the county's year has too little to compare: %s", gj)
					}
				}
			}
		})
	}
}
