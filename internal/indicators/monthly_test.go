package indicators_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/indicators"
	"linli/internal/module"
	"linli/internal/web"
)

// visitKeys are the monthly elements the visits module supplies: targets
// due a visit in the month, and those with a done visit in it.
var visitKeys = []string{"special_elderly_due", "special_elderly_visited", "children_due", "children_visited", "assisted_families_due", "assisted_families_cared"}

// visitsProbe is a module for these tests only: it supplies the six
// monthly visit elements from a table of its own holding, per village or
// community and month, how many targets were due and how many were
// visited — what the visits module will count from its schedules.
// modulesWithout is the app's module list less one: the visits module's
// elements are what the probe below supplies, and an element no module
// supplies is what some tests need.
func modulesWithout(name string) []module.Spec {
	var out []module.Spec
	for _, s := range app.Modules() {
		if s.Name != name {
			out = append(out, s)
		}
	}
	return out
}

func visitsProbe() module.Spec {
	return module.Spec{Name: "visitsprobe",
		Migrations: []db.Migration{{ID: "visitsprobe/001_counts", SQL: `CREATE TABLE probe_visit_counts (
	division_code TEXT NOT NULL, year INTEGER NOT NULL, month INTEGER NOT NULL, element TEXT NOT NULL, n INTEGER NOT NULL,
	PRIMARY KEY (division_code, year, month, element))`}},
		New: func(module.Deps) (module.Module, error) { return visitsProbeModule{}, nil }}
}

type visitsProbeModule struct{}

func (visitsProbeModule) Nav() []web.NavItem                     { return nil }
func (visitsProbeModule) Mount(*web.Router, *web.Renderer) error { return nil }

func (visitsProbeModule) Elements() []module.Element {
	var out []module.Element
	for _, k := range visitKeys {
		out = append(out, module.Element{Key: k, NameZH: k, NameEN: k, Source: "computed", Monthly: true, Sum: probeSum(k)})
	}
	return out
}

// probeSum answers for a month only, as the visits module may.
func probeSum(key string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		out := map[string]float64{}
		if g.Month == 0 {
			return out, nil
		}
		rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT substr(division_code, 1, %d), SUM(n) FROM probe_visit_counts
			WHERE division_code >= $1 AND division_code < $2 AND year = $3 AND month = $4 AND element = $5 GROUP BY substr(division_code, 1, %d)`, g.Prefix, g.Prefix),
			g.Lo, g.Hi, g.Year, g.Month, key)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n float64
			if err := rows.Scan(&k, &n); err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, rows.Err()
	}
}

// The toy data: in 北山街道 (330106002) 上保社区 (A) and 宝石社区 (A2); in
// 西溪街道 (330106004) 石灰桥社区 (B). The clock stands at 29 November 2026.
const (
	township  = "330106002"
	community = apptest.CommunityA // 330106002051
	neighbour = "330106002052"     // 宝石社区, same township
	elsewhere = apptest.CommunityB // 330106004053, another township
	otherTown = "330106004"
)

// visitCounts are (division, month, element) → n.
var visitCounts = []struct {
	code  string
	month int
	key   string
	n     int
}{
	// Special-difficulty elderly. October: A 3 of 4, A2 6 of 6, B 10 of 10.
	{community, 10, "special_elderly_due", 4}, {community, 10, "special_elderly_visited", 3},
	{neighbour, 10, "special_elderly_due", 6}, {neighbour, 10, "special_elderly_visited", 6},
	{elsewhere, 10, "special_elderly_due", 10}, {elsewhere, 10, "special_elderly_visited", 10},
	// November: A 2 of 4, A2 3 of 6, nothing in B.
	{community, 11, "special_elderly_due", 4}, {community, 11, "special_elderly_visited", 2},
	{neighbour, 11, "special_elderly_due", 6}, {neighbour, 11, "special_elderly_visited", 3},
	// Children: A 1 of 2 in October, 2 of 2 in November.
	{community, 10, "children_due", 2}, {community, 10, "children_visited", 1},
	{community, 11, "children_due", 2}, {community, 11, "children_visited", 2},
	// Assisted families: October only, A 5 of 5, A2 0 of 5.
	{community, 10, "assisted_families_due", 5}, {community, 10, "assisted_families_cared", 5},
	{neighbour, 10, "assisted_families_due", 5},
}

// monthRows reads a division's indicators for a month parameter ("" for
// none), by ID.
func monthRows(t *testing.T, c *apptest.Client, division, month string) map[string]indRow {
	t.Helper()
	path := fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", division, indYear)
	if month != "" {
		path += "&month=" + month
	}
	out := map[string]indRow{}
	for _, r := range apptest.JSON[[]monthRow](t, c, "GET", path, nil, 200) {
		out[r.ID] = r.indRow
	}
	for _, r := range apptest.JSON[[]monthRow](t, c, "GET", path, nil, 200) {
		if r.Monthly != (r.ID == "C07" || r.ID == "C10" || r.ID == "C12") {
			t.Errorf("%s: monthly = %v", r.ID, r.Monthly)
		}
	}
	return out
}

// monthRow is an API row with its period.
type monthRow struct {
	indRow
	Monthly        bool   `json:"monthly"`
	Month          string `json:"month"`
	MonthsAveraged int    `json:"months_averaged"`
}

// cellOf is the value cell of an indicator's row on the dashboard.
func cellOf(t *testing.T, page, id string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<td class="ind-id">` + id + `\b.*?</tr>`).FindString(page)
	m := regexp.MustCompile(`(?s)<td class="num ind-val"[^>]*>(.*?)</td>`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("no value cell for %s", id)
	}
	return m[1]
}

func TestMonthlyVisitRates(t *testing.T) {
	t.Parallel()
	mods := append(modulesWithout("visits"), visitsProbe())
	apptest.EachWith(t, mods, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		e.User("north", access.Officer, township)
		north := e.Login("north")
		for _, v := range visitCounts {
			if _, err := e.App.DB.W.Exec(`INSERT INTO probe_visit_counts (division_code, year, month, element, n) VALUES ($1, $2, $3, $4, $5)`, v.code, indYear, v.month, v.key, v.n); err != nil {
				t.Fatal(err)
			}
		}
		check := func(t *testing.T, got map[string]indRow, id string, want float64, num, den float64) {
			t.Helper()
			r := got[id]
			if !near(r.Value, want) {
				t.Errorf("%s = %v, want %v", id, ptr(r.Value), want)
			}
			if num >= 0 && (!near(r.Num, num) || !near(r.Den, den)) {
				t.Errorf("%s = %v ÷ %v, want %v ÷ %v", id, ptr(r.Num), ptr(r.Den), num, den)
			}
		}
		noData := func(t *testing.T, got map[string]indRow, id string) {
			t.Helper()
			if r := got[id]; r.Value != nil || r.Status != "no_data" {
				t.Errorf("%s = %v (%s), want no data", id, ptr(r.Value), r.Status)
			}
		}
		t.Run("a month rolls up to the township by summing numerators and denominators", func(t *testing.T) {
			oct := monthRows(t, north, township, "2026-10")
			check(t, oct, "C07", 90, 9, 10) // (3 + 6) ÷ (4 + 6), not the mean of 75 % and 100 %
			check(t, oct, "C10", 50, 1, 2)  // only A has children due
			check(t, oct, "C12", 50, 5, 10) // (5 + 0) ÷ (5 + 5)
			nov := monthRows(t, north, township, "2026-11")
			check(t, nov, "C07", 50, 5, 10)
			check(t, nov, "C10", 100, 2, 2)
			noData(t, nov, "C12") // no assisted family was due in November
		})
		t.Run("each row names its month", func(t *testing.T) {
			rows := apptest.JSON[[]monthRow](t, north, "GET", "/api/v1/indicators?division="+township+"&month=2026-10", nil, 200)
			for _, r := range rows {
				want := ""
				if r.Monthly {
					want = "2026-10"
				}
				if r.Month != want {
					t.Errorf("%s: month %q, want %q", r.ID, r.Month, want)
				}
			}
		})
		t.Run("the county adds its townships' numerators and denominators", func(t *testing.T) {
			check(t, monthRows(t, c, apptest.County, "2026-10"), "C07", 95, 19, 20)
			check(t, monthRows(t, c, apptest.County, "2026-11"), "C07", 50, 5, 10)
			d := apptest.JSON[struct {
				indRow
				Children []indRow `json:"children"`
			}](t, c, "GET", "/api/v1/indicators/C07?division="+apptest.County+"&children=true&month=2026-10", nil, 200)
			kids := map[string]indRow{}
			for _, k := range d.Children {
				kids[k.Division] = k
			}
			check(t, kids, township, 90, 9, 10)
			check(t, kids, otherTown, 100, 10, 10)
		})
		t.Run("the year's value is the mean of its months with data", func(t *testing.T) {
			year := monthRows(t, north, township, "")
			check(t, year, "C07", (90.0+50)/2, -1, 0)
			check(t, year, "C10", (50.0+100)/2, -1, 0)
			check(t, year, "C12", 50, -1, 0) // November has no data: one month
			if r := year["C07"]; r.Num != nil || r.Den != nil {
				t.Errorf("a year's mean has no numerator or denominator: %v ÷ %v", ptr(r.Num), ptr(r.Den))
			}
			rows := apptest.JSON[[]monthRow](t, north, "GET", "/api/v1/indicators?division="+township+"&month=2026", nil, 200)
			for _, r := range rows {
				if r.ID == "C07" && (r.MonthsAveraged != 2 || !near(r.Value, 70)) {
					t.Errorf("?month=2026: C07 %v over %d months, want 70 over 2", ptr(r.Value), r.MonthsAveraged)
				}
			}
			check(t, monthRows(t, c, community, ""), "C07", (75.0+50)/2, -1, 0)
			check(t, monthRows(t, c, elsewhere, ""), "C07", 100, -1, 0) // October only
			check(t, monthRows(t, c, apptest.County, ""), "C07", (95.0+50)/2, -1, 0)
		})
		t.Run("a month not yet begun and a month without visits have no data", func(t *testing.T) {
			noData(t, monthRows(t, north, township, "2026-12"), "C07")
			noData(t, monthRows(t, north, township, "2026-09"), "C07")
		})
		t.Run("indicators that are not monthly are unchanged by a month", func(t *testing.T) {
			year, oct := monthRows(t, c, apptest.County, ""), monthRows(t, c, apptest.County, "2026-10")
			n := 0
			for id, r := range year {
				if id == "C07" || id == "C10" || id == "C12" {
					continue
				}
				o := oct[id]
				if fmt.Sprint(ptr(r.Value), ptr(r.Num), ptr(r.Den), r.Status) != fmt.Sprint(ptr(o.Value), ptr(o.Num), ptr(o.Den), o.Status) {
					t.Errorf("%s: year %v, with month 2026-10 %v", id, ptr(r.Value), ptr(o.Value))
				}
				n++
			}
			if n < 40 || !near(year["I13"].Value, 8) {
				t.Errorf("%d other indicators, I13 = %v (want 40 and 8)", n, ptr(year["I13"].Value))
			}
		})
		t.Run("precomputing the year leaves the monthly values as computed", func(t *testing.T) {
			ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
			if _, err := indicators.StoreOf(e.App.Module("indicators")).RecomputeAll(ctx, indYear); err != nil {
				t.Fatal(err)
			}
			check(t, monthRows(t, north, township, "2026-10"), "C07", 90, 9, 10)
			check(t, monthRows(t, north, township, ""), "C07", 70, -1, 0)
			// A visit recorded after the recompute shows at once.
			if _, err := e.App.DB.W.Exec(`UPDATE probe_visit_counts SET n = 4 WHERE division_code = $1 AND month = 10 AND element = 'special_elderly_visited'`, community); err != nil {
				t.Fatal(err)
			}
			check(t, monthRows(t, north, township, "2026-10"), "C07", 100, 10, 10)
			if _, err := e.App.DB.W.Exec(`UPDATE probe_visit_counts SET n = 3 WHERE division_code = $1 AND month = 10 AND element = 'special_elderly_visited'`, community); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("the dashboard shows this month's value and names the month", func(t *testing.T) {
			st, page, _ := north.Get("/indicators?division=" + township)
			if st != 200 {
				t.Fatalf("dashboard: %d", st)
			}
			if cell := cellOf(t, page, "C07"); !strings.HasPrefix(cell, "50<") || !strings.Contains(cell, "2026年11月") {
				t.Errorf("C07 cell %q, want 50 for 2026年11月", cell)
			}
			if cell := cellOf(t, page, "I13"); strings.Contains(cell, "ind-period") {
				t.Errorf("I13 is not monthly but names a month: %q", cell)
			}
			for _, link := range []string{"month=2026-10", "month=2026-11\" aria-current=\"true\"", "month=2026\""} {
				if !strings.Contains(page, link) {
					t.Errorf("the period picker lacks %s", link)
				}
			}
		})
		t.Run("the dashboard of another month is not served from this month's cache", func(t *testing.T) {
			_, page, _ := north.Get("/indicators?division=" + township + "&month=2026-10")
			if cell := cellOf(t, page, "C07"); !strings.HasPrefix(cell, "90<") || !strings.Contains(cell, "2026年10月") {
				t.Errorf("C07 cell %q, want 90 for 2026年10月", cell)
			}
			_, page, _ = north.Get("/indicators?division=" + township + "&month=2026")
			if cell := cellOf(t, page, "C07"); !strings.HasPrefix(cell, "70<") || !strings.Contains(cell, "全年月均（2 个月）") {
				t.Errorf("C07 cell %q, want 70 as the mean of 2 months", cell)
			}
		})
		t.Run("the indicator page lists the months and the children of the month", func(t *testing.T) {
			st, page, _ := c.Get("/indicators/C07?division=" + apptest.County + "&month=2026-10")
			if st != 200 {
				t.Fatalf("C07 page: %d", st)
			}
			for _, want := range []string{`<span class="big">95</span>`, "<td>2026年10月</td><td class=\"num\">95</td>", "<td>2026年11月</td><td class=\"num\">50</td>", "<td>2026年9月</td><td class=\"num\">—</td>"} {
				if !strings.Contains(page, want) {
					t.Errorf("the C07 page lacks %s", want)
				}
			}
			if !regexp.MustCompile(`(?s)北山街道</a></td>\s*<td class="num ind-val"[^>]*>90</td>`).MatchString(page) {
				t.Error("the C07 page does not show 北山街道 at 90 for October")
			}
		})
		t.Run("the counties compared name the month", func(t *testing.T) {
			st, page, _ := c.Get("/indicators/C07/counties?month=2026-10")
			if st != 200 || !strings.Contains(page, "<strong>2026年10月</strong>") || !strings.Contains(page, "month=2026-10") {
				t.Errorf("C07 counties page (%d) does not name October 2026", st)
			}
			cc := apptest.JSON[struct {
				Counties []monthRow `json:"counties"`
			}](t, c, "GET", "/api/v1/indicators/C07/counties?month=2026-10", nil, 200)
			if len(cc.Counties) != 1 || !near(cc.Counties[0].Value, 95) || cc.Counties[0].Month != "2026-10" {
				t.Errorf("counties: %+v", cc.Counties)
			}
		})
		t.Run("C12 is no longer typed in", func(t *testing.T) {
			p := refusal(t, north, "PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", township, indYear), map[string]float64{"assisted_families_cared": 5, "assisted_families": 10}, 400)
			if f := fields(p); len(f) != 1 || !strings.HasPrefix(f[0], "assisted_families") {
				t.Errorf("fields %v", f)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE element LIKE 'assisted_families%'`); n != 0 {
				t.Errorf("%d values written", n)
			}
		})
		t.Run("a malformed month or one outside the period is refused, naming the field", func(t *testing.T) {
			for _, q := range []string{"month=2026-13", "month=26-10", "month=2026-1", "period=2025&month=2026-10", "month=2019-12"} {
				p := refusal(t, north, "GET", "/api/v1/indicators?division="+township+"&"+q, nil, 400)
				if f := fields(p); len(f) != 1 || f[0] != "month" {
					t.Errorf("%s: fields %v", q, f)
				}
				if st, _, _ := north.Get("/indicators?division=" + township + "&" + q); st != 400 {
					t.Errorf("page with %s: %d, want 400", q, st)
				}
			}
		})
	})
}
