package lifecircle_test

import (
	"context"
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/circle"
	"linli/internal/divisions"
	"linli/internal/lifecircle"
	"linli/internal/module"
	"linli/internal/web"
)

// demo seeds the demo community data (with its facilities and demand
// points) and signs in the county's officer.
func demo(t *testing.T, e *apptest.Env) *apptest.Client {
	t.Helper()
	if _, err := e.App.SeedDemo(t.Context(), app.DemoOptions{Scale: "community", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	e.User("county", access.Officer, apptest.County)
	return e.Login("county")
}

func coverage(t *testing.T, c *apptest.Client, query string) []lifecircle.UnitRow {
	t.Helper()
	return apptest.JSON[[]lifecircle.UnitRow](t, c, "GET", "/api/v1/lifecircle/coverage?"+query, nil, 200)
}

// refused asks for a coverage that must be refused and returns the
// problem.
func refused(t *testing.T, c *apptest.Client, query string, status int) web.Problem {
	t.Helper()
	return apptest.JSON[web.Problem](t, c, "GET", "/api/v1/lifecircle/coverage?"+query, nil, status)
}

func TestCoverageAPI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := demo(t, e)
		t.Run("the county's rows are its townships, in code order", func(t *testing.T) {
			rows := coverage(t, c, "division="+apptest.County)
			if len(rows) == 0 {
				t.Fatal("no rows")
			}
			for i, r := range rows {
				if len(r.Unit) != 9 || r.Unit[:6] != apptest.County || r.Completeness < 0 || r.Completeness > 1 || len(r.Shares) == 0 || (i > 0 && r.Unit <= rows[i-1].Unit) {
					t.Fatalf("row %d: %+v", i, r)
				}
			}
		})
		t.Run("another tier may be asked for: one share per category of it", func(t *testing.T) {
			tier, ok := circle.DefaultTiers().Tier("plan-rural-30")
			if !ok {
				t.Fatal("no rural tier")
			}
			urban, rural := coverage(t, c, "division="+apptest.County), coverage(t, c, "division="+apptest.County+"&tier=plan-rural-30")
			if len(rural) != len(urban) || len(rural[0].Shares) != len(tier.Categories) {
				t.Errorf("%d rows of %d shares, want %d rows of %d", len(rural), len(rural[0].Shares), len(urban), len(tier.Categories))
			}
		})
		t.Run("a community's row is its own", func(t *testing.T) {
			rows := coverage(t, c, "division="+apptest.CommunityA)
			if len(rows) != 1 || rows[0].Unit != apptest.CommunityA || rows[0].Population == 0 {
				t.Fatalf("got %+v", rows)
			}
		})
		for _, k := range []struct {
			name, query, field string
			status             int
		}{
			{"a division above a county", "division=3301", "division", 400},
			{"a malformed division", "division=33x106", "division", 400},
			{"no division at all", "", "division", 400},
			{"an unknown tier", "division=" + apptest.County + "&tier=gb-99", "tier", 400},
			{"an unknown division", "division=330106999999", "", 404},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				p := refused(t, c, k.query, k.status)
				field := ""
				if len(p.Errors) > 0 {
					field = p.Errors[0].Field
				}
				if field != k.field {
					t.Errorf("field %q, want %q: %+v", field, k.field, p)
				}
			})
		}
		t.Run("each reads only within their jurisdiction", func(t *testing.T) {
			e.User("ningbo", access.Officer, apptest.OtherCity)
			e.User("worker", access.CommunityWorker, apptest.CommunityA)
			e.User("sys", access.SysAdmin, "33")
			worker := e.Login("worker")
			if rows := coverage(t, worker, "division="+apptest.CommunityA); len(rows) != 1 {
				t.Errorf("worker's own community: %+v", rows)
			}
			for _, k := range []struct {
				c    *apptest.Client
				code string
			}{{e.Login("ningbo"), apptest.County}, {worker, apptest.County}, {worker, apptest.CommunityB}, {e.Login("sys"), apptest.CommunityA}} {
				p := refused(t, k.c, "division="+k.code, 404)
				if p.DetailEN != "division "+k.code+" not found or outside your jurisdiction" {
					t.Errorf("%s: %q", k.code, p.DetailEN)
				}
			}
		})
	})
}

// picks are the suggested sites drawn on a siting page.
var pickRe = regexp.MustCompile(`<circle cx="[^"]+" cy="[^"]+" r="6" fill="none" stroke="#6a1b9a"`)

func alertOf(page string) string {
	m := regexp.MustCompile(`role="alert">([^<]*)</p>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestLifeCirclePage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := demo(t, e)
		t.Run("the page of the officer's own county opens by default", func(t *testing.T) {
			st, page, _ := c.Get("/lifecircle")
			if title := regexp.MustCompile(`<h1>([^<]*)</h1>`).FindStringSubmatch(page); st != 200 || title == nil || title[1] != "生活圈 · 西湖区" {
				t.Fatalf("got %d %v", st, title)
			}
		})
		t.Run("the page says in words which road network it walks, and no command-line flag", func(t *testing.T) {
			_, page, _ := c.Get("/lifecircle")
			m := regexp.MustCompile(`<p class="lc-network synthetic" id="network">([^<]*)</p>`).FindStringSubmatch(page)
			if m == nil || !strings.Contains(m[1], "合成路网（未配置真实路网，请联系系统管理员）") || !regexp.MustCompile(`\d+ 个路口、[\d,]+ 段道路`).MatchString(m[1]) || strings.Contains(page, "--roads") {
				t.Errorf("network sentence %v", m)
			}
		})
		t.Run("the page is small: the map is one image, not thousands of elements", func(t *testing.T) {
			_, page, _ := c.Get("/lifecircle")
			if len(page) > 48<<10 || strings.Count(page, "<rect") > 1 || strings.Count(page, "<circle") > 0 || strings.Count(page, "<image ") != 1 {
				t.Errorf("%d bytes, %d rects, %d circles, %d images", len(page), strings.Count(page, "<rect"), strings.Count(page, "<circle"), strings.Count(page, "<image "))
			}
		})
		t.Run("the map image is a PNG whose cells are the engine's minutes, band by band", func(t *testing.T) {
			_, page, _ := c.Get("/lifecircle?division=" + apptest.County + "&tier=plan-urban-15&category=kindergarten")
			src := regexp.MustCompile(`<image href="([^"]+)"`).FindStringSubmatch(page)
			if src == nil {
				t.Fatal("no image")
			}
			st, body, hdr := c.Get(html.UnescapeString(src[1]))
			if st != 200 || hdr.Get("Content-Type") != "image/png" || hdr.Get("ETag") == "" || !strings.Contains(hdr.Get("Cache-Control"), "max-age") {
				t.Fatalf("got %d %v", st, hdr)
			}
			cells, err := lifecircle.ReadPNG([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			var got [5]int
			for _, b := range cells {
				if b >= 0 {
					got[b]++
				}
			}
			want := engineBands(t, e, apptest.County, "kindergarten")
			if got != want || got == [5]int{} {
				t.Errorf("cells per band in the PNG %v, from the engine %v", got, want)
			}
			for b, n := range want {
				if !strings.Contains(page, fmt.Sprintf(`data-band="%d" data-cells="%d"`, b, n)) {
					t.Errorf("legend of band %d does not count %d cells", b, n)
				}
			}
			req := c.NewRequest("GET", html.UnescapeString(src[1]), nil)
			req.Header.Set("If-None-Match", hdr.Get("ETag"))
			if st, _, _ := c.Send(req); st != 304 {
				t.Errorf("a second fetch of the same image: %d, want 304", st)
			}
		})
		t.Run("the legend names each band in words", func(t *testing.T) {
			_, page, _ := c.Get("/lifecircle")
			for _, w := range []string{"5 分钟以内", "5–10 分钟", "10–15 分钟", "15–30 分钟", "超过 30 分钟或无法到达"} {
				if !strings.Contains(page, w) {
					t.Errorf("legend without %q", w)
				}
			}
		})
		t.Run("the map of a division outside the jurisdiction is refused, not drawn", func(t *testing.T) {
			if st, _, hdr := c.Get("/lifecircle/map.png?division=3301"); st != 404 || strings.HasPrefix(hdr.Get("Content-Type"), "image/") {
				t.Errorf("got %d %s", st, hdr.Get("Content-Type"))
			}
		})
		t.Run("above a county the page lists the counties to choose", func(t *testing.T) {
			e.User("city", access.Officer, "3301")
			st, page, _ := e.Login("city").Get("/lifecircle")
			links := regexp.MustCompile(`<li><a href="/lifecircle\?division=(\d{6})">`).FindAllStringSubmatch(page, -1)
			if st != 200 || len(links) < 10 || links[0][1] != "330102" {
				t.Fatalf("got %d, %d counties", st, len(links))
			}
		})
		t.Run("siting suggests up to k new places that cover people", func(t *testing.T) {
			// No kindergarten in the demo community: the first pick covers people.
			st, page, _ := c.Form("/lifecircle", map[string]string{"division": apptest.County, "tier": "plan-urban-15", "category": "kindergarten", "k": "3"}, nil)
			if n := len(pickRe.FindAllString(page, -1)); st != 200 || n < 1 || n > 3 || alertOf(page) != "" {
				t.Fatalf("got %d with %d picks, alert %q", st, n, alertOf(page))
			}
		})
		for _, k := range []struct {
			name   string
			form   map[string]string
			status int
			alert  string
		}{
			{"k of 0", map[string]string{"division": apptest.County, "k": "0"}, 400, "新增设施数 k 须为 1–50"},
			{"k of 51", map[string]string{"division": apptest.County, "k": "51"}, 400, "新增设施数 k 须为 1–50"},
			{"an unknown tier", map[string]string{"division": apptest.County, "tier": "gb-99", "k": "3"}, 400, "未知圈层：gb-99"},
			{"a category outside the tier", map[string]string{"division": apptest.County, "tier": "plan-urban-15", "category": "hospital", "k": "3"}, 400, "该圈层没有设施类别：hospital"},
			{"a division outside the jurisdiction", map[string]string{"division": "330201", "k": "3"}, 404, "区划 330201 不存在或不在您的管辖范围内"},
			{"an unknown division", map[string]string{"division": "330106999999", "k": "3"}, 404, "区划 330106999999 不存在或不在您的管辖范围内"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				st, page, _ := c.Form("/lifecircle", k.form, nil)
				if st != k.status || alertOf(page) != k.alert || len(pickRe.FindAllString(page, -1)) != 0 {
					t.Errorf("got %d %q", st, alertOf(page))
				}
			})
		}
	})
}

// engineBands counts the map's cells per band straight from the engine's
// labels: each cell takes the fastest road node in it, over the county's
// demand area padded by 0.006°.
func engineBands(t *testing.T, e *apptest.Env, county, category string) [5]int {
	t.Helper()
	st, err := lifecircle.ServiceOf(e.App.Module("lifecircle")).Study(context.Background(), county)
	if err != nil {
		t.Fatal(err)
	}
	ci := slices.Index(st.Labels.Categories, category)
	minLo, minLa, maxLo, maxLa := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, d := range st.Demand {
		if strings.HasPrefix(d.Unit, county) {
			minLo, maxLo, minLa, maxLa = min(minLo, d.Lon), max(maxLo, d.Lon), min(minLa, d.Lat), max(maxLa, d.Lat)
		}
	}
	minLo, minLa, maxLo, maxLa = minLo-0.006, minLa-0.006, maxLo+0.006, maxLa+0.006
	scale := min(400/(maxLo-minLo), 400/(maxLa-minLa))
	fastest := map[int]float64{}
	for n := range st.Graph.Lon {
		x, y := (st.Graph.Lon[n]-minLo)*scale, 400-(st.Graph.Lat[n]-minLa)*scale
		if x < 0 || y < 0 || x >= 400 || y >= 400 {
			continue
		}
		m := math.Inf(1)
		if tk := st.Labels.D[ci][n]; tk != circle.Unreached {
			m = float64(tk) / 600
		}
		k := int(y/8)*50 + int(x/8)
		if f, ok := fastest[k]; !ok || m < f {
			fastest[k] = m
		}
	}
	var out [5]int
	for _, m := range fastest {
		switch {
		case m <= 5:
			out[0]++
		case m <= 10:
			out[1]++
		case m <= 15:
			out[2]++
		case m <= 30:
			out[3]++
		default:
			out[4]++
		}
	}
	return out
}

// sum calls a life-circle data element as the indicators would.
func sum(t *testing.T, e *apptest.Env, key string, g module.Group) map[string]float64 {
	t.Helper()
	for _, el := range e.App.Module("lifecircle").(module.ElementSupplier).Elements() {
		if el.Key == key {
			got, err := el.Sum(context.Background(), e.App.DB.R, g)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
	}
	t.Fatalf("no element %s", key)
	return nil
}

func TestCompleteness(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := demo(t, e)
		year := e.Clock.Now().Year()
		town := apptest.CommunityA[:9]
		sub := access.Subtree(town)
		// The coverage answer of the township's communities, by class.
		want := map[string][2]float64{} // class → {Σ completeness, units}
		for _, r := range coverage(t, c, "division="+town) {
			class := divisions.UrbanRural(r.Unit)
			tier := coverage(t, c, fmt.Sprintf("division=%s&tier=%s", r.Unit, lifecircle.TierFor(class)))[0]
			if tier.Population > 0 {
				w := want[class]
				want[class] = [2]float64{w[0] + tier.Completeness, w[1] + 1}
			}
		}
		if want[divisions.Urban][1] == 0 {
			t.Fatal("no urban community analysed")
		}
		g := module.Group{Lo: sub.Lo, Hi: sub.Hi, Prefix: 9, Year: year}
		t.Run("the sums match the coverage answer, by class", func(t *testing.T) {
			for class, keys := range map[string][2]string{
				divisions.Urban: {"urban_units_in_15min", "urban_units_analysed"},
				divisions.Rural: {"rural_units_in_30min", "rural_units_analysed"},
			} {
				done, units := sum(t, e, keys[0], g)[town], sum(t, e, keys[1], g)[town]
				if math.Abs(done-want[class][0]) > 1e-9 || units != want[class][1] {
					t.Errorf("%s: %v of %v, want %v of %v", class, done, units, want[class][0], want[class][1])
				}
			}
		})
		t.Run("C20 is their mean", func(t *testing.T) {
			rows := apptest.JSON[[]struct {
				ID    string   `json:"id"`
				Value *float64 `json:"value"`
			}](t, c, "GET", fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", town, year), nil, 200)
			for _, r := range rows {
				if r.ID == "C20" && (r.Value == nil || math.Abs(*r.Value-100*want[divisions.Urban][0]/want[divisions.Urban][1]) > 1e-6) {
					t.Errorf("C20 = %v, want %v", r.Value, 100*want[divisions.Urban][0]/want[divisions.Urban][1])
				}
			}
		})
		t.Run("only the current year has data", func(t *testing.T) {
			last := g
			last.Year = year - 1
			if got := sum(t, e, "urban_units_analysed", last); got != nil {
				t.Errorf("last year: %v", got)
			}
		})
		t.Run("a range without demand points has no data", func(t *testing.T) {
			far := access.Subtree("3302")
			if got := sum(t, e, "urban_units_analysed", module.Group{Lo: far.Lo, Hi: far.Hi, Prefix: 4, Year: year}); got != nil {
				t.Errorf("got %v", got)
			}
		})
		t.Run("a coarser prefix adds the communities up", func(t *testing.T) {
			county := access.Subtree(apptest.County)
			all := sum(t, e, "urban_units_analysed", module.Group{Lo: county.Lo, Hi: county.Hi, Prefix: 6, Year: year})[apptest.County]
			if all < want[divisions.Urban][1] {
				t.Errorf("county %v < township %v", all, want[divisions.Urban][1])
			}
		})
	})
}

func TestSeedDemand(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		demo(t, e)
		seeder := e.App.Module("lifecircle").(module.Demo)
		points := e.Count(`SELECT COUNT(*) FROM lc_demand`)
		t.Run("eight synthetic points per community with facilities", func(t *testing.T) {
			communities := e.Count(`SELECT COUNT(DISTINCT division_code) FROM lc_demand`)
			if points == 0 || points != 8*communities || e.Count(`SELECT COUNT(*) FROM lc_demand WHERE NOT synthetic`) != 0 {
				t.Fatalf("%d points in %d communities", points, communities)
			}
		})
		t.Run("the points share the community's latest population", func(t *testing.T) {
			var pop, shared float64
			if err := e.App.DB.R.QueryRow(`SELECT value FROM unit_attributes WHERE division_code = $1 AND kind = 'population' ORDER BY year DESC LIMIT 1`, apptest.CommunityA).Scan(&pop); err != nil {
				t.Fatal(err)
			}
			if err := e.App.DB.R.QueryRow(`SELECT SUM(population) FROM lc_demand WHERE division_code = $1`, apptest.CommunityA).Scan(&shared); err != nil {
				t.Fatal(err)
			}
			if shared != 8*math.Round(pop/8) {
				t.Errorf("points hold %v people, the community %v", shared, pop)
			}
		})
		t.Run("a seeded county is not seeded again", func(t *testing.T) {
			if err := seeder.Demo(context.Background(), module.DemoOptions{County: apptest.County, Seed: 9}); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM lc_demand`); n != points {
				t.Errorf("%d points, want %d", n, points)
			}
		})
		t.Run("a county without facilities gets no points", func(t *testing.T) {
			if err := seeder.Demo(context.Background(), module.DemoOptions{County: "330102", Seed: 9}); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM lc_demand WHERE division_code LIKE '330102%'`); n != 0 {
				t.Errorf("%d points", n)
			}
		})
		t.Run("a store that cannot be read is an error, not a seeded county", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`ALTER TABLE lc_demand RENAME TO lc_demand_away`); err != nil {
				t.Fatal(err)
			}
			err := seeder.Demo(context.Background(), module.DemoOptions{County: "330102", Seed: 9})
			if err == nil || !strings.Contains(err.Error(), "lc_demand") {
				t.Errorf("got %v", err)
			}
		})
	})
}
