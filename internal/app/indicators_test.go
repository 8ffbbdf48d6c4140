package app_test

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
	"strings"
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

// Hand-built data for 西湖区 (330106) in 2026. The county has 222 village-level
// units: 181 urban communities and 41 villages (digits 10–12 of the NBS codes).
const (
	ruralR  = "330106010215" // 西湖茶场村委会, rural
	ruralR2 = "330106008201" // 梅家坞村委会, rural
	indYear = 2026
)

// indSetup enters the dataset through the public APIs, as officers and
// workers would.
func indSetup(t *testing.T, e *apptest.Env) *apptest.Client {
	e.User("county", access.Officer, apptest.County)
	e.User("city", access.Officer, "3301")
	c := e.Login("county")
	put := func(path string, body any) {
		t.Helper()
		if st, b := c.Do("PUT", path, body); st != 200 && st != 204 {
			t.Fatalf("PUT %s: %d %s", path, st, b)
		}
	}
	post := func(path string, body any) string {
		t.Helper()
		st, b := c.Do("POST", path, body)
		if st != 200 && st != 201 {
			t.Fatalf("POST %s: %d %s", path, st, b)
		}
		var v struct{ ID string }
		json.Unmarshal([]byte(b), &v)
		return v.ID
	}
	attrs := func(code string, m map[string]float64) {
		put(fmt.Sprintf("/api/v1/divisions/%s/attributes/%d", code, indYear), map[string]any{"values": m})
	}
	attrs(apptest.CommunityA, map[string]float64{"population": 1000, "urban_population": 1000, "households": 400, "population_60plus": 200,
		"building_floor_area": 10000, "commercial_service_floor_area": 2000, "old_compounds_renovated": 2})
	attrs(apptest.CommunityB, map[string]float64{"population": 3000, "urban_population": 3000, "households": 1000, "population_60plus": 300,
		"building_floor_area": 90000, "commercial_service_floor_area": 6000, "old_compounds_renovated": 1})
	attrs(ruralR, map[string]float64{"population": 500, "households": 200, "population_60plus": 100, "village_operating_income": 60})
	attrs(ruralR2, map[string]float64{"village_operating_income": 30})
	desig := func(code, kind string, year int) {
		post("/api/v1/divisions/"+code+"/designations", map[string]any{"kind": kind, "year": year})
	}
	desig(apptest.CommunityA, "future_community", 2024)
	desig(apptest.CommunityA, "epidemic_free", 2022)
	desig(apptest.CommunityA, "smart_community", 2026)
	desig(apptest.CommunityB, "epidemic_free", 2026)
	desig(apptest.CommunityB, "learning_community", 2027) // not yet awarded in 2026
	desig(ruralR, "future_village", 2026)
	desig(ruralR, "beautiful_village", 2023)
	desig(ruralR, "health_village", 2026)
	desig(apptest.County, "smart_county", 2026)
	fac := func(code, cat string, area float64, caps map[string]float64) {
		post("/api/v1/facilities", map[string]any{"division": code, "code": fmt.Sprintf("F%s%d", code, len(cat)*1000+int(area)), "name": cat, "category": cat,
			"address": "测试路1号", "lon": 120.13, "lat": 30.27, "floor_area_m2": area, "capacities": caps})
	}
	fac(apptest.CommunityA, "community_service_facility", 300, nil)
	fac(apptest.CommunityB, "community_service_facility", 500, nil)
	fac(ruralR, "community_service_facility", 100, nil)
	fac(apptest.CommunityB, "childcare", 200, map[string]float64{"childcare_places": 45})
	fac(apptest.CommunityA, "elderly_canteen", 80, nil)
	fac(apptest.CommunityA, "residents_lounge", 60, nil)
	fac(ruralR, "volunteer_station", 20, nil)
	fac(ruralR, "gov_kiosk", 2, nil)
	person := func(code string, roles []string, attrs map[string]any) {
		post("/api/v1/personnel", map[string]any{"division": code, "name": "测试人员", "roles": roles, "attrs": attrs})
	}
	person(apptest.CommunityA, []string{"community_worker"}, map[string]any{"sw_certificate": true})
	person(apptest.CommunityB, []string{"community_worker"}, map[string]any{"sw_certificate": false})
	person(ruralR, []string{"community_worker"}, map[string]any{"sw_certificate": true})
	person(apptest.CommunityA, []string{"social_worker", "leading_talent"}, nil)
	person(apptest.CommunityB, []string{"care_worker"}, map[string]any{"certified": true})
	person(apptest.CommunityA, []string{"care_worker"}, map[string]any{"certified": false})
	person(apptest.CommunityB, []string{"gp"}, nil)
	share := func(v float64) *float64 { return &v }
	post("/api/v1/organizations", map[string]any{"division": apptest.CommunityA, "kind": "social_org", "name": "社会组织甲", "reg_no": "REG-A"})
	post("/api/v1/organizations", map[string]any{"division": apptest.CommunityB, "kind": "social_org", "name": "社会组织乙", "reg_no": "REG-B"})
	post("/api/v1/organizations", map[string]any{"division": apptest.CommunityA, "kind": "owners_committee", "name": "业委会甲", "party_share": share(0.6)})
	post("/api/v1/organizations", map[string]any{"division": apptest.CommunityB, "kind": "owners_committee", "name": "业委会乙", "party_share": share(0.4)})
	hh := post("/api/v1/households", map[string]any{"division": apptest.CommunityA, "household_no": "H-1", "address": "上保路1号"})
	res := post("/api/v1/residents", map[string]any{"household_id": hh, "name": "张测试", "id_number": validID("33010619500101001"), "relation": "户主", "residence": "registered"})
	post("/api/v1/residents/"+res+"/tags", map[string]any{"tag": "family_doctor"})
	// Reported data: statistics by the county, assistance casework by townships.
	put(fmt.Sprintf("/api/v1/indicator-reports/%s/%d", apptest.County, indYear), map[string]float64{
		"urban_income_total": 700000, "urban_income_pop": 100000, "rural_income_total": 300000, "rural_income_pop": 100000, "dibao_standard": 12000})
	put(fmt.Sprintf("/api/v1/indicator-reports/330106002/%d", indYear), map[string]float64{"assistance_joint_cases": 30, "assistance_cases": 40, "assisted_families_cared": 20, "assisted_families": 20})
	put(fmt.Sprintf("/api/v1/indicator-reports/330106004/%d", indYear), map[string]float64{"assistance_joint_cases": 50, "assistance_cases": 60, "assisted_families_cared": 30, "assisted_families": 30})
	return c
}

// validID completes 17 digits with the GB 11643 check digit.
func validID(first17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, ch := range first17 {
		sum += int(ch-'0') * w[i]
	}
	return first17 + string("10X98765432"[sum%11])
}

type indRow struct {
	ID     string   `json:"id"`
	Value  *float64 `json:"value"`
	Num    *float64 `json:"numerator"`
	Den    *float64 `json:"denominator"`
	Status string   `json:"status"`
}

func getRows(t *testing.T, c *apptest.Client, division string, year int) map[string]indRow {
	t.Helper()
	st, body := c.Do("GET", fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", division, year), nil)
	if st != 200 {
		t.Fatalf("indicators %s: %d %s", division, st, body)
	}
	var rows []indRow
	json.Unmarshal([]byte(body), &rows)
	out := map[string]indRow{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

func TestIndicatorsOnHandBuiltData(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		got := getRows(t, c, apptest.County, indYear)
		if len(got) != 43 {
			t.Fatalf("%d indicators, want 43", len(got))
		}
		// Worked out by hand from the dataset above.
		want := map[string]float64{
			"I01": (700000.0 / 100000) / (300000.0 / 100000), // 2.333…
			"I02": 100 * 1.0 / 41,                            // one village ≥ 50 万元 of 41
			"I03": 12000,
			"I04": 1, "I05": 1,
			"I06": 100 * 1.0 / 41,
			"I07": 0, "I08": 0,
			"I09": 100 * 2.0 / 222,
			"I10": 3, "I11": 1, "I12": 1,
			"I13": 100 * 8000.0 / 100000, // 8, not the 13.3 that averaging A's 20% and B's 6.7% would give
			"I14": 100 * 900.0 / 1600,
			"I15": 100 * 1.0 / 41,
			"I16": 1000 * 45.0 / 4500,
			"I17": 10000 * 2.0 / 4000,
			"I18": 10000 * 2.0 / 4500,
			"I19": 10000 * 1.0 / 4500,
			"I20": 100 * 2.0 / 3,
			"I21": 10000 * 1.0 / 600,
			"I22": 10000 * 1.0 / 4500,
			"C01": 0, "C02": 0, "C03": 0,
			"C04": 100 * 1.0 / 41,
			"C05": 0,
			"C06": 100 * 1.0 / 222,
			"C08": 600.0 / 1,
			"C09": 0,
			"C11": 100 * 80.0 / 100,
			"C12": 100,
			"C13": 100 * 1.0 / 600,
			"C14": 0, // awarded in 2027
			"C15": 100 * (0.6 + 0.4) / 2,
			"C16": 1,
			"C17": 100 * 1.0 / 41,
			"C18": 1,
			"C19": 100 * 1.0 / 222,
		}
		for id, w := range want {
			r := got[id]
			if r.Value == nil || math.Abs(*r.Value-w) > 1e-9 {
				t.Errorf("%s = %v, want %v", id, ptr(r.Value), w)
			}
		}
		for _, id := range []string{"C07", "C10", "C20", "C21"} { // their modules are not live: no data, not zero
			if r := got[id]; r.Value != nil || r.Status != "no_data" {
				t.Errorf("%s = %v (%s), want no data", id, ptr(r.Value), r.Status)
			}
		}
		// Roll-up: the children's numerators and denominators add up to the
		// county's, level by level, and the county's ratio is not the mean
		// of the children's ratios.
		for _, id := range []string{"I13", "I14", "I17", "I20", "C06"} {
			st, body := c.Do("GET", fmt.Sprintf("/api/v1/indicators/%s?division=%s&period=%d&children=true", id, apptest.County, indYear), nil)
			if st != 200 {
				t.Fatalf("%s detail: %d %s", id, st, body)
			}
			var d struct {
				indRow
				Children []indRow `json:"children"`
			}
			json.Unmarshal([]byte(body), &d)
			var num, den float64
			for _, ch := range d.Children {
				if ch.Num != nil {
					num += *ch.Num
				}
				if ch.Den != nil {
					den += *ch.Den
				}
			}
			if d.Num == nil || math.Abs(num-*d.Num) > 1e-9 || (d.Den != nil && math.Abs(den-*d.Den) > 1e-9) {
				t.Errorf("%s: children sum to %v/%v, county has %v/%v", id, num, den, ptr(d.Num), ptr(d.Den))
			}
		}
		// The same roll-up one level up: the city's values include the county's.
		city := getRows(t, e.Login("city"), "3301", indYear)
		if city["I13"].Value == nil || math.Abs(*city["I13"].Value-8) > 1e-9 {
			t.Errorf("city I13 = %v, want 8 (only 西湖区 has data)", ptr(city["I13"].Value))
		}
		// Effective dating: facilities registered in 2026 do not exist in 2025.
		past := getRows(t, c, apptest.County, 2025)
		if v := past["I12"].Value; v == nil || *v != 0 {
			t.Errorf("2025 I12 = %v, want 0", ptr(v))
		}
		if v := past["I13"].Value; v != nil {
			t.Errorf("2025 I13 = %v, want no data (no 2025 attributes)", *v)
		}
	})
}

func ptr(p *float64) any {
	if p == nil {
		return "no data"
	}
	return *p
}

func TestIndicatorReportingWorkflow(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		e.User("ningbo", access.Officer, "3302")
		city := e.Login("city")
		path := func(code, action string) string {
			return fmt.Sprintf("/api/v1/indicator-reports/%s/%d/%s", code, indYear, action)
		}
		// Validation names the item; nothing is saved.
		before := e.Count(`SELECT COUNT(*) FROM ind_reported`)
		for _, k := range []struct {
			code string
			body map[string]float64
			want string
		}{
			{apptest.County, map[string]float64{"dibao_standard": -5}, "dibao_standard"},
			{apptest.County, map[string]float64{"population_total": 5}, "population_total"},
			{"330106002", map[string]float64{"assistance_joint_cases": 90, "assistance_cases": 40}, "assistance_joint_cases"},
			{"330106002", map[string]float64{"dibao_standard": 12000}, "dibao_standard"},
		} {
			st, body := c.Do("PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", k.code, indYear), k.body)
			if st != 400 || !strings.Contains(body, k.want) {
				t.Errorf("%v: %d %s", k.body, st, body)
			}
		}
		if st, _ := c.Do("PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/2019", apptest.County), map[string]float64{"dibao_standard": 9000}); st != 400 {
			t.Errorf("period outside the frame: %d", st)
		}
		if after := e.Count(`SELECT COUNT(*) FROM ind_reported`); after != before {
			t.Fatalf("bad input saved rows: %d → %d", before, after)
		}
		// The county's own data waits for its townships.
		if st, body := city.Do("POST", path(apptest.County, "approve"), nil); st != 400 || !strings.Contains(body, "approve them first") {
			t.Fatalf("approve before children: %d %s", st, body)
		}
		for _, town := range []string{"330106002", "330106004"} {
			if st, body := c.Do("POST", path(town, "approve"), nil); st != 204 {
				t.Fatalf("approve %s: %d %s", town, st, body)
			}
		}
		if st, _ := c.Do("POST", path(apptest.County, "approve"), nil); st != 400 {
			t.Fatalf("an officer approved its own level: %d", st)
		}
		if st, body := city.Do("POST", path(apptest.County, "approve"), nil); st != 204 {
			t.Fatalf("city approves county: %d %s", st, body)
		}
		// Approved data is locked.
		if st, _ := c.Do("PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", apptest.County, indYear), map[string]float64{"dibao_standard": 13000}); st != 409 {
			t.Fatalf("edit of locked data: %d", st)
		}
		// Unlocking a township is refused while the county above is locked.
		if st, _ := c.Do("POST", path("330106002", "unlock"), nil); st != 400 {
			t.Fatalf("unlock under a locked parent: %d", st)
		}
		if st, _ := city.Do("POST", path(apptest.County, "unlock"), nil); st != 204 {
			t.Fatalf("unlock: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'indicator.report.unlock'`); n != 1 {
			t.Fatalf("unlock audited %d times", n)
		}
		// Scope: another city's officer cannot enter data for 西湖区.
		if st, _ := e.Login("ningbo").Do("PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", apptest.County, indYear), map[string]float64{"dibao_standard": 9000}); st != 404 {
			t.Fatalf("out-of-scope entry: %d", st)
		}
		// Targets: children's targets may not add up past the parent's.
		prov := e.Login("city")
		if st, body := prov.Do("PUT", "/api/v1/indicator-targets/330106/I04", map[string]float64{"target": 100}); st != 204 {
			// the province's plan target (350) bounds cities, not counties: no parent target for 3301 yet
			t.Fatalf("county target without a city target: %d %s", st, body)
		}
		e.User("province", access.Officer, "33")
		p := e.Login("province")
		if st, _ := p.Do("PUT", "/api/v1/indicator-targets/3301/I04", map[string]float64{"target": 300}); st != 204 {
			t.Fatal("city target")
		}
		if st, body := p.Do("PUT", "/api/v1/indicator-targets/3302/I04", map[string]float64{"target": 60}); st != 400 || !strings.Contains(body, "350") {
			t.Fatalf("targets over the plan's 350: %d %s", st, body)
		}
		if st, body := p.Do("PUT", "/api/v1/indicator-targets/3301/I04", map[string]float64{"target": 50}); st != 400 || !strings.Contains(body, "100") {
			t.Fatalf("a city target below its counties' sum: %d %s", st, body)
		}
		if st, _ := p.Do("PUT", "/api/v1/indicator-targets/3302/I06", map[string]float64{"target": 120}); st != 400 {
			t.Fatalf("a percentage target over 100: %d", st)
		}
	})
}

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
		store := &indicators.Store{DB: e.App.DB, Audit: e.App.Audit}
		inds, err := indicators.Catalogue()
		if err != nil {
			t.Fatal(err)
		}
		live := &indicators.Engine{DB: e.App.DB}
		pre := &indicators.Engine{DB: e.App.DB, Precomputed: true}
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
		// Every level: the province itself; the children of the province,
		// of 杭州市, of 西湖区, of each of its townships (every village), and
		// of a county without data.
		parents := []string{"33", "3301", apptest.County, "330102"}
		rows, err := e.App.DB.R.Query(`SELECT code FROM divisions WHERE parent_code = $1`, apptest.County)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var code string
			rows.Scan(&code)
			parents = append(parents, code)
		}
		rows.Close()
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
		// While fresh, the API serves the stored cell (proved by altering
		// it behind the engine's back: the table is not a source).
		if _, err := e.App.DB.W.Exec(`UPDATE ind_values SET value = 99 WHERE year = $1 AND division_code = $2 AND indicator = 'I12'`, indYear, apptest.County); err != nil {
			t.Fatal(err)
		}
		if v := getRows(t, c, apptest.County, indYear)["I12"].Value; v == nil || *v != 99 {
			t.Fatalf("fresh I12 = %v, want the stored 99", ptr(v))
		}
		// A change of the data makes the year stale: the API is live (and
		// exact) again at once, and a refresh brings the table up to date.
		e.Clock.Add(time.Minute)
		if st, b := c.Do("POST", "/api/v1/facilities", map[string]any{"division": apptest.CommunityB, "code": "F-LOUNGE-B", "name": "会客厅乙", "category": "residents_lounge",
			"address": "测试路2号", "lon": 120.13, "lat": 30.27, "floor_area_m2": 50}); st != 200 && st != 201 {
			t.Fatalf("facility: %d %s", st, b)
		}
		if v := getRows(t, c, apptest.County, indYear)["I12"].Value; v == nil || *v != 2 {
			t.Fatalf("stale I12 = %v, want the live 2", ptr(v))
		}
		st, err := store.RecomputeIfStale(ctx, indYear)
		if err != nil || st.Skipped || st.Written == 0 {
			t.Fatalf("refresh after a change: %+v %v", st, err)
		}
		if st, _ := store.RecomputeIfStale(ctx, indYear); !st.Skipped {
			t.Fatalf("a fresh year was recomputed: %+v", st)
		}
		if v := getRows(t, c, apptest.County, indYear)["I12"].Value; v == nil || *v != 2 {
			t.Fatalf("refreshed I12 = %v, want 2", ptr(v))
		}
		e.User("province", access.Officer, "33")
		if v := getRows(t, e.Login("province"), "33", indYear)["I12"].Value; v == nil || *v != 2 {
			t.Fatalf("province I12 = %v, want 2", ptr(v))
		}
	})
}

// BenchmarkIndicators prints, per store, at the registry demo's full scale
// (西湖区 ≈ 1.2 M residents; LINLI_BENCH_SCALE=0.1 for a quicker run): the
// full recompute of all 43 indicators for all divisions against one bare
// GROUP BY over the residents table in the same run, and the p95 of the
// province dashboard and of a county drill-down. Run:
//
//	go test ./internal/app/ -run '^$' -bench Indicators -benchtime 1x
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
	d.R.QueryRow(`SELECT COUNT(*) FROM reg_residents`).Scan(&residents)
	fmt.Printf("[%s] demo: %d residents seeded in %.0fs\n", dialect, residents, time.Since(t0).Seconds())
	if dialect == db.Postgres {
		d.W.Exec(`ANALYZE`)
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
			rows.Scan(&c, &k)
			n++
		}
		rows.Close()
		return time.Since(t)
	}
	op := access.With(ctx, &access.Principal{Username: "bench", Role: access.Officer, Division: "33"})
	store := &indicators.Store{DB: d, Audit: a.Audit}
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
	d.W.Exec(`DELETE FROM ind_value_runs`)
	for _, path := range []string{fmt.Sprintf("/api/v1/indicators?division=33&period=%d", year), fmt.Sprintf("/api/v1/indicators/I14?division=330106&children=true&period=%d", year)} {
		med, p := p95(path, 20)
		fmt.Printf("[%s] GET %s: median %.1f ms, p95 %.1f ms (20 requests, live fallback)\n", dialect, path, indMS(med), indMS(p))
	}
}

func indMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Views: targets of rates hold for the parts that no one decomposed them
// to (counts never), children ranked by lagging indicators, and one
// indicator across every county as a ranked chart.
func TestIndicatorViewsLaggingAndCounties(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		for code, target := range map[string]float64{"330106002": 50, "330106004": 6} { // I13 is 20 and 6.67
			if st, b := c.Do("PUT", "/api/v1/indicator-targets/"+code+"/I13", map[string]float64{"target": target}); st != 204 {
				t.Fatalf("target %s: %d %s", code, st, b)
			}
		}
		type child struct {
			indRow
			Division   string   `json:"division_code"`
			Target     *float64 `json:"target"`
			TargetFrom string   `json:"target_from"`
		}
		detail := func(id string) map[string]child {
			st, body := c.Do("GET", fmt.Sprintf("/api/v1/indicators/%s?division=%s&period=%d&children=true", id, apptest.County, indYear), nil)
			if st != 200 {
				t.Fatalf("%s: %d %s", id, st, body)
			}
			var d struct{ Children []child }
			json.Unmarshal([]byte(body), &d)
			out := map[string]child{}
			for _, ch := range d.Children {
				out[ch.Division] = ch
			}
			return out
		}
		i13 := detail("I13")
		if ch := i13["330106002"]; ch.Target == nil || *ch.Target != 50 || ch.TargetFrom != "" || ch.Status != "seriously_lagging" { // 20/50 = 0.4 < 0.6
			t.Errorf("北山街道 I13: %+v target %v", ch, ptr(ch.Target))
		}
		if ch := i13["330106004"]; ch.Target == nil || *ch.Target != 6 || ch.Status != "met" {
			t.Errorf("西溪街道 I13: %+v", ch)
		}
		if ch := i13["330106005"]; ch.Target == nil || *ch.Target != 12 || ch.TargetFrom != "33" || ch.Status != "no_data" { // the plan's 12%, inherited
			t.Errorf("a township without data nor target, I13: %+v target %v", ch, ptr(ch.Target))
		}
		for code, ch := range detail("I04") {
			if ch.Target != nil {
				t.Errorf("%s: a count's target was inherited: %v", code, *ch.Target)
			}
		}
		// Lagging children, worst first.
		st, body := c.Do("GET", fmt.Sprintf("/api/v1/indicator-lagging?division=%s&period=%d", apptest.County, indYear), nil)
		if st != 200 {
			t.Fatalf("lagging: %d %s", st, body)
		}
		var lag []struct {
			Division   string   `json:"division_code"`
			Name       string   `json:"name"`
			Seriously  int      `json:"seriously_lagging"`
			Lagging    int      `json:"lagging"`
			Indicators []string `json:"indicators"`
		}
		json.Unmarshal([]byte(body), &lag)
		found := map[string][]string{}
		for i, l := range lag {
			found[l.Division] = l.Indicators
			if i > 0 && (l.Seriously > lag[i-1].Seriously || (l.Seriously == lag[i-1].Seriously && l.Seriously+l.Lagging > lag[i-1].Seriously+lag[i-1].Lagging)) {
				t.Errorf("ranking out of order at %d: %+v after %+v", i, l, lag[i-1])
			}
			if l.Name == "" || len(l.Indicators) != l.Seriously+l.Lagging {
				t.Errorf("entry %+v", l)
			}
		}
		if !indContains(found["330106002"], "I13") || indContains(found["330106004"], "I13") {
			t.Errorf("lagging I13: 北山 %v, 西溪 %v", found["330106002"], found["330106004"])
		}
		if st, page := c.Do("GET", fmt.Sprintf("/indicators?division=%s&period=%d", apptest.County, indYear), nil); st != 200 || !strings.Contains(page, "lagging-children") || !strings.Contains(page, "北山街道") {
			t.Errorf("division page without the ranking: %d", st)
		}
		// Every county of the province, ranked; only 西湖区 has data.
		e.User("province", access.Officer, "33")
		p := e.Login("province")
		st, body = p.Do("GET", fmt.Sprintf("/api/v1/indicators/I13/counties?period=%d", indYear), nil)
		if st != 200 {
			t.Fatalf("counties: %d %s", st, body)
		}
		var cmp struct {
			Scope    struct{ indRow }
			Counties []struct {
				indRow
				Division string `json:"division_code"`
				Name     string `json:"name"`
			}
		}
		json.Unmarshal([]byte(body), &cmp)
		if want := e.Count(`SELECT COUNT(*) FROM divisions WHERE level = 3`); len(cmp.Counties) != want || want < 80 {
			t.Fatalf("%d counties, want %d", len(cmp.Counties), want)
		}
		if first := cmp.Counties[0]; first.Division != apptest.County || first.Value == nil || math.Abs(*first.Value-8) > 1e-9 || first.Name != "西湖区" {
			t.Errorf("first county %+v", first)
		}
		if last := cmp.Counties[len(cmp.Counties)-1]; last.Value != nil {
			t.Errorf("no data must rank last: %+v", last)
		}
		if v := cmp.Scope.Value; v == nil || math.Abs(*v-8) > 1e-9 {
			t.Errorf("province I13 = %v, want 8", ptr(v))
		}
		if st, page := p.Do("GET", fmt.Sprintf("/indicators/I13/counties?period=%d", indYear), nil); st != 200 || !strings.Contains(page, `class="county-chart"`) || !strings.Contains(page, "1. 西湖区") {
			t.Errorf("counties page: %d", st)
		}
		if st, x := p.Do("GET", fmt.Sprintf("/indicators/export.xlsx?id=I13&view=counties&period=%d", indYear), nil); st != 200 || !strings.HasPrefix(x, "PK") {
			t.Errorf("counties export: %d", st)
		}
		// A county officer compares only what its scope holds: itself.
		st, body = c.Do("GET", fmt.Sprintf("/api/v1/indicators/I13/counties?period=%d", indYear), nil)
		json.Unmarshal([]byte(body), &cmp)
		if st != 200 || len(cmp.Counties) != 1 || cmp.Counties[0].Division != apptest.County {
			t.Errorf("county officer's comparison: %d %s", st, body)
		}
	})
}

func indContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// The reporting page: enter a township's casework as a draft, approve it
// from the county, and see it locked.
func TestIndicatorReportingPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		st, page := c.Do("GET", fmt.Sprintf("/indicators/report?division=330106002&period=%d", indYear), nil)
		if st != 200 || !strings.Contains(page, `name="v_assistance_cases"`) || strings.Contains(page, `name="v_dibao_standard"`) {
			t.Fatalf("township form: %d", st)
		}
		form := map[string]string{"division": "330106002", "period": fmt.Sprint(indYear), "action": "enter", "v_assistance_cases": "40", "v_assistance_joint_cases": "abc"}
		if st, _, _ := c.Form("/indicators/report", form, nil); st != 400 {
			t.Fatalf("non-number: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_reported`); n != 0 {
			t.Fatalf("bad form saved %d values", n)
		}
		form["v_assistance_joint_cases"] = "30"
		if st, body, _ := c.Form("/indicators/report", form, nil); st != 200 || !strings.Contains(body, "草稿") {
			t.Fatalf("enter: %d", st)
		}
		approve := map[string]string{"division": apptest.County, "period": fmt.Sprint(indYear), "action": "approve", "child": "330106002"}
		if st, _, _ := c.Form("/indicators/report", approve, nil); st != 200 {
			t.Fatalf("approve: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_reported WHERE status = 'approved'`); n != 2 {
			t.Fatalf("%d approved values, want 2", n)
		}
		form["v_assistance_cases"] = "41"
		if st, body, _ := c.Form("/indicators/report", form, nil); st != 409 || !strings.Contains(body, "锁定") {
			t.Fatalf("edit of approved data: %d", st)
		}
	})
}
