package indicators_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/indicators"
)

// The precomputed values (one GROUP BY per element at the finest level,
// rolled up in Go) equal the live computation (one GROUP BY on the prefix
// of the asked level) for every division at every level, including
// divisions without any data; the API reads them while fresh and falls back
// to live values as soon as the data changes.
func TestIndicatorPrecomputedEqualsLive(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
		store := indicators.StoreOf(e.App.Module("indicators"))
		inds, err := indicators.Catalogue(store.Elements)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a recompute writes every cell once and nothing the second time", func(t *testing.T) {
			for _, year := range []int{2025, indYear} {
				st, err := store.RecomputeAll(ctx, year)
				if err != nil {
					t.Fatal(err)
				}
				if year == indYear && (st.Cells == 0 || st.Written != st.Cells) {
					t.Fatalf("first recompute: %+v", st)
				}
				if again, err := store.RecomputeAll(ctx, year); err != nil || again.Written != 0 || again.Cells != st.Cells {
					t.Fatalf("a second recompute without changes wrote %+v (%v)", again, err)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_value_runs`); n != 2 {
				t.Fatalf("%d runs", n)
			}
		})
		t.Run("precomputed equals live at every level", func(t *testing.T) {
			// The province itself; the children of the province, of 杭州市,
			// of 西湖区, of each of its townships (every village), and of a
			// county without data.
			parents := []string{"33", "3301", apptest.County, "330102"}
			kids, _, err := e.App.Divisions.Children(ctx, apptest.County, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range kids {
				parents = append(parents, k.Code)
			}
			live := store.Engine(indicators.Thresholds{}, false)
			pre := store.Engine(indicators.Thresholds{}, true)
			same := func(a, b *float64) bool {
				if a == nil || b == nil {
					return a == nil && b == nil
				}
				return math.Abs(*a-*b) <= 1e-9*math.Max(1, math.Abs(*a))
			}
			compared := 0
			for _, year := range []int{2025, indYear} {
				for _, p := range parents {
					for _, children := range []bool{false, true} {
						want, err := live.Compute(ctx, inds, p, year, children)
						if err != nil {
							t.Fatal(err)
						}
						got, err := pre.Compute(ctx, inds, p, year, children)
						if err != nil {
							t.Fatal(err)
						}
						for _, in := range inds {
							w, g := want[in.ID], got[in.ID]
							if len(w) != len(g) {
								t.Fatalf("%s %s %d children=%v: %d live values, %d precomputed", in.ID, p, year, children, len(w), len(g))
							}
							for i := range w {
								if w[i].Division != g[i].Division || !same(w[i].Value, g[i].Value) || !same(w[i].Num, g[i].Num) || !same(w[i].Den, g[i].Den) {
									t.Errorf("%s %s %d: live %v = %v/%v/%v, precomputed %v = %v/%v/%v", in.ID, p, year, w[i].Division, ptr(w[i].Value), ptr(w[i].Num), ptr(w[i].Den),
										g[i].Division, ptr(g[i].Value), ptr(g[i].Num), ptr(g[i].Den))
								}
								compared++
							}
						}
					}
				}
			}
			if compared < 43*(222+20) {
				t.Fatalf("only %d values compared", compared)
			}
		})
		t.Run("while fresh the API serves the stored cell", func(t *testing.T) {
			// Proved by altering it behind the engine's back: the table is not a source.
			if _, err := e.App.DB.W.Exec(`UPDATE ind_values SET value = 99 WHERE year = $1 AND division_code = $2 AND indicator = 'I12'`, indYear, apptest.County); err != nil {
				t.Fatal(err)
			}
			if v := getRows(t, c, apptest.County, indYear)["I12"].Value; !near(v, 99) {
				t.Fatalf("fresh I12 = %v, want the stored 99", ptr(v))
			}
		})
		t.Run("a change of the data reads live at once", func(t *testing.T) {
			e.Clock.Add(time.Minute)
			created(t, c, "POST", "/api/v1/facilities", map[string]any{"division": apptest.CommunityB, "code": "F-LOUNGE-B", "name": "会客厅乙", "category": "residents_lounge",
				"address": "测试路2号", "lon": 120.13, "lat": 30.27, "floor_area_m2": 50})
			if v := getRows(t, c, apptest.County, indYear)["I12"].Value; !near(v, 2) {
				t.Fatalf("stale I12 = %v, want the live 2", ptr(v))
			}
		})
		t.Run("a change of one source leaves the indicators of the others stored", func(t *testing.T) {
			// The facility added above changed the facilities only: I18
			// (organisations ÷ population) still reads its stored cell,
			// altered behind the engine's back to show it; I16 (childcare
			// places, a facility figure) reads live.
			if _, err := e.App.DB.W.Exec(`UPDATE ind_values SET value = 77 WHERE year = $1 AND division_code = $2 AND indicator IN ('I18', 'I16')`, indYear, apptest.County); err != nil {
				t.Fatal(err)
			}
			got := getRows(t, c, apptest.County, indYear)
			if v := got["I18"].Value; !near(v, 77) {
				t.Errorf("I18 = %v, want the stored 77: its sources did not change", ptr(v))
			}
			if v := got["I16"].Value; v == nil || near(v, 77) {
				t.Errorf("I16 = %v, want the live value: the facilities changed", ptr(v))
			}
			// A reported value changes another source: I01 (reported) reads
			// live, I18 still stored.
			if _, err := e.App.DB.W.Exec(`UPDATE ind_values SET value = 77 WHERE year = $1 AND division_code = $2 AND indicator = 'I01'`, indYear, apptest.County); err != nil {
				t.Fatal(err)
			}
			done(t, c, "PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", apptest.County, indYear), map[string]float64{"urban_income_pop": 100000})
			got = getRows(t, c, apptest.County, indYear)
			if v := got["I01"].Value; v == nil || near(v, 77) {
				t.Errorf("I01 = %v, want the live value after a report", ptr(v))
			}
			if v := got["I18"].Value; !near(v, 77) {
				t.Errorf("I18 = %v, want the stored 77", ptr(v))
			}
		})
		t.Run("a refresh brings the stale year up to date, once", func(t *testing.T) {
			st, err := store.RecomputeIfStale(ctx, indYear)
			if err != nil || st.Skipped || st.Written == 0 {
				t.Fatalf("refresh after a change: %+v %v", st, err)
			}
			if st, err := store.RecomputeIfStale(ctx, indYear); err != nil || !st.Skipped {
				t.Fatalf("a fresh year was recomputed: %+v %v", st, err)
			}
			if v := getRows(t, c, apptest.County, indYear)["I12"].Value; !near(v, 2) {
				t.Fatalf("refreshed I12 = %v, want 2", ptr(v))
			}
			e.User("province", access.Officer, "33")
			if v := getRows(t, e.Login("province"), "33", indYear)["I12"].Value; !near(v, 2) {
				t.Fatalf("province I12 = %v, want 2", ptr(v))
			}
		})
	})
}

// BenchmarkIndicators prints, per store, at the registry demo's full scale
// (西湖区 ≈ 1.2 M residents; LINLI_BENCH_SCALE=0.1 for a quicker run): the
// full recompute of all 43 indicators for all divisions against one bare
// GROUP BY over the residents table in the same run, and the p95 of the
// province dashboard and of a county drill-down. Run:
//
//	go test ./internal/indicators/ -run '^$' -bench Indicators -benchtime 1x
//	(LINLI_TEST_POSTGRES_URL adds PostgreSQL)
func BenchmarkIndicators(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchIndicators(b, dialect)
			}
		})
	}
}

func benchIndicators(b *testing.B, dialect db.Dialect) {
	ctx := context.Background()
	d := dbtest.Open(b, dialect, nil)
	a := apptest.Open(b, d, time.Now)
	scale := os.Getenv("LINLI_BENCH_SCALE")
	if scale == "" {
		scale = "county"
	}
	t0 := time.Now()
	if _, err := a.SeedDemo(ctx, app.DemoOptions{Scale: scale, Year: time.Now().Year()}); err != nil {
		b.Fatal(err)
	}
	var residents int
	if err := d.R.QueryRow(`SELECT COUNT(*) FROM reg_residents`).Scan(&residents); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("[%s] demo: %d residents seeded in %.0fs\n", dialect, residents, time.Since(t0).Seconds())
	if dialect == db.Postgres {
		if _, err := d.W.Exec(`ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	bare := func() time.Duration {
		t := time.Now()
		rows, err := d.R.Query(`SELECT division_code, COUNT(*) FROM reg_residents GROUP BY division_code`)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var c string
			var k int
			if err := rows.Scan(&c, &k); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rows.Close(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t)
	}
	op := access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: "33"})
	store := indicators.StoreOf(a.Module("indicators"))
	year := time.Now().Year()
	bare() // warm both alike
	first, err := store.RecomputeAll(op, year)
	if err != nil {
		b.Fatal(err)
	}
	median := func(xs []time.Duration) time.Duration {
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		return xs[len(xs)/2]
	}
	var rec, gb []time.Duration
	var last indicators.RecomputeStats
	for k := 0; k < 5; k++ {
		gb = append(gb, bare())
		st, err := store.RecomputeAll(op, year)
		if err != nil {
			b.Fatal(err)
		}
		rec = append(rec, st.Total)
		last = st
	}
	mr, mg := median(rec), median(gb)
	fmt.Printf("[%s] full recompute of 43 indicators × all divisions for %d: first run %.0f ms (%d cells written, %d divisions with data); steady %.0f ms median of 5 (%d element queries, %d cells, %d written)\n",
		dialect, year, indMS(first.Total), first.Written, first.Divisions, indMS(mr), last.Elements, last.Cells, last.Written)
	fmt.Printf("[%s] bare SELECT division_code, COUNT(*) FROM reg_residents GROUP BY division_code: %.0f ms median of 5 → ratio recompute/GROUP BY = %.2f (first run %.2f)\n",
		dialect, indMS(mg), float64(mr)/float64(mg), float64(first.Total)/float64(mg))
	for y := 2020; y < year; y++ { // the trend reads every year
		if _, err := store.RecomputeAll(op, y); err != nil {
			b.Fatal(err)
		}
	}
	// Serve through HTTP as a province officer.
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	if _, _, err := a.Auth.Create(access.With(ctx, access.Operator()), auth.NewUser{Username: "prov", Role: access.Officer, Division: "33", Password: apptest.Password}); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"username": "prov", "password": apptest.Password})
	resp, err := hc.Post(srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()
	p95 := func(path string, n int) (time.Duration, time.Duration) {
		var ds []time.Duration
		for k := 0; k < n; k++ {
			t := time.Now()
			resp, err := hc.Get(srv.URL + path)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%s: %d", path, resp.StatusCode)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], ds[len(ds)*95/100]
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/indicators?division=33&period=%d", year), fmt.Sprintf("/api/v1/indicators/I14?division=330106&children=true&period=%d", year),
		fmt.Sprintf("/indicators?division=33&period=%d", year), fmt.Sprintf("/indicators/I14?division=330106&period=%d", year)} {
		p95(path, 5)
		med, p := p95(path, 200)
		fmt.Printf("[%s] GET %s: median %.1f ms, p95 %.1f ms (200 requests, precomputed)\n", dialect, path, indMS(med), indMS(p))
	}
	// The same reads computed live (the fallback while a year is stale).
	if _, err := d.W.Exec(`DELETE FROM ind_value_runs`); err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/indicators?division=33&period=%d", year), fmt.Sprintf("/api/v1/indicators/I14?division=330106&children=true&period=%d", year)} {
		med, p := p95(path, 20)
		fmt.Printf("[%s] GET %s: median %.1f ms, p95 %.1f ms (20 requests, live fallback)\n", dialect, path, indMS(med), indMS(p))
	}
}

func indMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
