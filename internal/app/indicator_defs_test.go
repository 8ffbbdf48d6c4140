package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/indicators"
)

// An officer adds an own indicator: checked field by field, nothing saved
// on a problem; it applies to the defining division and below, rolls up
// like the plan's, takes targets, is precomputed, and can be deleted.
func TestOwnIndicators(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e) // 西湖区 officer; the dataset of indicators_test.go
		city := e.Login("city")
		e.User("ningbo", access.Officer, "3302")
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		def := map[string]any{"id": "HZ-CARE", "division_code": "3301", "name_zh": "每万名老年人持证养老护理员", "name_en": "Certified caregivers per 10,000 older people",
			"unit": "人", "formula": "10000 × care_workers_certified ÷ population_60plus", "target": 25, "why": "杭州自设 / Hangzhou's own"}
		// Bad definitions: each names the item and saves nothing.
		bad := []struct {
			change map[string]any
			status int
			says   string
		}{
			{map[string]any{"formula": "10000 × care_workers_certified ÷ elderly_people"}, 400, "elderly_people"},
			{map[string]any{"formula": "10000 × ÷ population"}, 400, "公式格式"},
			{map[string]any{"formula": "-5 × gps"}, 400, "系数"},
			{map[string]any{"id": "I05"}, 400, "保留"},
			{map[string]any{"id": "x"}, 400, "编号"},
			{map[string]any{"name_zh": ""}, 400, "名称"},
			{map[string]any{"unit": "%", "target": 120}, 400, "百分比"},
			{map[string]any{"target_year": 2040}, 400, "2040"},
			{map[string]any{"division_code": "330106002051"}, 400, "乡镇"},
		}
		for _, b := range bad {
			d := map[string]any{}
			for k, v := range def {
				d[k] = v
			}
			for k, v := range b.change {
				d[k] = v
			}
			st, body := city.Do("POST", "/api/v1/indicator-definitions", d)
			if st != b.status || !strings.Contains(body, b.says) {
				t.Errorf("%v: %d %s", b.change, st, body)
			}
		}
		// A county officer cannot define for the city; a worker not at all.
		if st, _ := c.Do("POST", "/api/v1/indicator-definitions", def); st != 404 {
			t.Errorf("county officer defining for the city: %d", st)
		}
		if st, _ := e.Login("worker").Do("POST", "/api/v1/indicator-definitions", def); st != 403 {
			t.Errorf("worker defining: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_custom`); n != 0 {
			t.Fatalf("bad definitions saved %d rows", n)
		}
		if st, body := city.Do("POST", "/api/v1/indicator-definitions", def); st != 201 || !strings.Contains(body, "Σ持证养老护理员") {
			t.Fatalf("define: %d %s", st, body)
		}
		if st, body := city.Do("POST", "/api/v1/indicator-definitions", def); st != 400 || !strings.Contains(body, "已被使用") {
			t.Errorf("same ID again: %d %s", st, body)
		}
		// A count: additive, so children's targets may not exceed it.
		count := map[string]any{"id": "HZ-SW", "division_code": "3301", "name_zh": "持证社工", "unit": "人", "formula": "social_workers", "target": 10}
		if st, body := city.Do("POST", "/api/v1/indicator-definitions", count); st != 201 {
			t.Fatalf("define count: %d %s", st, body)
		}
		// Worked by hand: 西湖区 has one certified caregiver and 600 people aged 60+.
		got := getRows(t, c, apptest.County, indYear)
		if len(got) != 45 {
			t.Fatalf("%d indicators at the county, want 43 + 2 own", len(got))
		}
		if v := got["HZ-CARE"].Value; v == nil || math.Abs(*v-10000.0/600) > 1e-9 {
			t.Errorf("HZ-CARE = %v, want %v", ptr(v), 10000.0/600)
		}
		if v := got["HZ-SW"].Value; v == nil || *v != 1 {
			t.Errorf("HZ-SW = %v, want 1", ptr(v))
		}
		// The city's own target applies to the county (a ratio), with its origin.
		st, body := c.Do("GET", fmt.Sprintf("/api/v1/indicators/HZ-CARE?division=%s&period=%d&children=true", apptest.County, indYear), nil)
		if st != 200 || !strings.Contains(body, `"target_from":"3301"`) || !strings.Contains(body, `"children"`) {
			t.Errorf("detail: %d %s", st, body)
		}
		// Ningbo neither sees it nor gets it on its dashboard.
		nb := e.Login("ningbo")
		if st, _ := nb.Do("GET", "/api/v1/indicators/HZ-CARE?division=3302", nil); st != 404 {
			t.Errorf("Ningbo reading Hangzhou's indicator: %d", st)
		}
		if rows := getRows(t, nb, "3302", indYear); len(rows) != 43 {
			t.Errorf("Ningbo sees %d indicators, want the plan's 43", len(rows))
		}
		_, cat := nb.Do("GET", "/api/v1/indicator-catalogue", nil)
		if strings.Contains(cat, "HZ-CARE") {
			t.Error("Ningbo's catalogue lists Hangzhou's indicator")
		}
		// Targets decompose: the count's children may not add up to more than 10.
		if st, body := city.Do("PUT", "/api/v1/indicator-targets/"+apptest.County+"/HZ-SW", map[string]float64{"target": 12}); st != 400 || !strings.Contains(body, "HZ-SW") {
			t.Errorf("child target above the parent's: %d %s", st, body)
		}
		if st, body := city.Do("PUT", "/api/v1/indicator-targets/"+apptest.County+"/HZ-SW", map[string]float64{"target": 6}); st != 204 {
			t.Errorf("child target: %d %s", st, body)
		}
		// Precomputed values carry own indicators and equal the live ones.
		ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
		store := &indicators.Store{DB: e.App.DB, Audit: e.App.Audit}
		if _, err := store.RecomputeAll(ctx, indYear); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_values WHERE indicator = 'HZ-CARE' AND division_code IN ('33', '3301', '330106')`); n != 3 {
			t.Errorf("%d precomputed HZ-CARE cells on the path, want 3", n)
		}
		if v := getRows(t, c, apptest.County, indYear)["HZ-CARE"].Value; v == nil || math.Abs(*v-10000.0/600) > 1e-9 {
			t.Errorf("precomputed HZ-CARE = %v", ptr(v))
		}
		// Redefining changes the value at once (the precomputed year is stale).
		def["formula"] = "10000 × care_workers_certified ÷ population"
		if st, body := city.Do("PUT", "/api/v1/indicator-definitions/HZ-CARE", def); st != 200 {
			t.Fatalf("redefine: %d %s", st, body)
		}
		if v := getRows(t, c, apptest.County, indYear)["HZ-CARE"].Value; v == nil || math.Abs(*v-10000.0/4500) > 1e-9 {
			t.Errorf("redefined HZ-CARE = %v, want %v", ptr(v), 10000.0/4500)
		}
		// Deleting takes its targets and values along, and is audited.
		if st, _ := nb.Do("DELETE", "/api/v1/indicator-definitions/HZ-SW", nil); st != 404 {
			t.Errorf("Ningbo deleting Hangzhou's: %d", st)
		}
		if st, body := city.Do("DELETE", "/api/v1/indicator-definitions/HZ-SW", nil); st != 204 {
			t.Fatalf("delete: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_targets WHERE indicator = 'HZ-SW'`); n != 0 {
			t.Errorf("%d targets left", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('indicator.define', 'indicator.redefine', 'indicator.undefine')`); n != 4 {
			t.Errorf("%d audit entries of definitions, want 4", n)
		}
		if _, ok := getRows(t, c, apptest.County, indYear)["HZ-SW"]; ok {
			t.Error("a deleted indicator is still shown")
		}
		if _, page := c.Do("GET", "/indicators?division="+apptest.County, nil); !strings.Contains(page, `id="status-rule"`) || !strings.Contains(page, "90%") || !strings.Contains(page, "自设") {
			t.Error("the dashboard lacks the status rule or the own indicator's mark")
		}
		var els []indicators.ElementInfo
		_, body = c.Do("GET", "/api/v1/data-elements", nil)
		json.Unmarshal([]byte(body), &els)
		if len(els) < 60 {
			t.Errorf("%d data elements listed", len(els))
		}
	})
}

// The catalogue page: the form keeps what was typed and names the problem;
// deletion asks for confirmation first.
func TestOwnIndicatorPage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("city", access.Officer, "3301")
		c := e.Login("city")
		form := map[string]string{"action": "define", "id": "HZ-GP", "division_code": "3301", "name_zh": "每万人全科医生（杭州）", "unit": "人",
			"formula": "10000 * gps / residents", "target": "5"}
		st, body, _ := c.Form("/indicators/catalogue", form, nil)
		if st != 400 || !strings.Contains(body, "“residents”") || !strings.Contains(body, `value="每万人全科医生（杭州）"`) {
			t.Fatalf("unknown element on the page: %d", st)
		}
		form["formula"] = "10000 * gps / population"
		if st, body, _ := c.Form("/indicators/catalogue", form, nil); st != 200 || !strings.Contains(body, "HZ-GP") {
			t.Fatalf("define on the page: %d", st)
		}
		if st, body := c.Do("GET", "/indicators/catalogue?delete=HZ-GP", nil); st != 200 || !strings.Contains(body, `id="confirm-delete"`) {
			t.Fatalf("confirmation: %d", st)
		}
		if st, _, _ := c.Form("/indicators/catalogue", map[string]string{"action": "delete", "id": "HZ-GP"}, nil); st != 400 {
			t.Errorf("delete without confirmation: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_custom`); n != 1 {
			t.Fatalf("%d definitions", n)
		}
		if st, _, _ := c.Form("/indicators/catalogue", map[string]string{"action": "delete", "id": "HZ-GP", "confirm": "yes"}, nil); st != 200 {
			t.Errorf("delete: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_custom`); n != 0 {
			t.Fatalf("%d definitions after delete", n)
		}
		// The element form keeps its values on a problem, apart from the indicator form.
		ef := map[string]string{"action": "define-element", "key": "kiosk_visits", "division_code": "3301", "name_zh": "一体机使用人次", "unit": "人次", "level": "5", "min": "9", "max": "1"}
		st, body, _ = c.Form("/indicators/catalogue", ef, nil)
		if st != 400 || !strings.Contains(body, `id="e-name_zh" name="name_zh" value="一体机使用人次"`) || strings.Contains(body, `id="f-name_zh" name="name_zh" value="一体机使用人次"`) {
			t.Fatalf("bad element form: %d", st)
		}
		ef["min"], ef["max"] = "0", "100000"
		if st, body, _ := c.Form("/indicators/catalogue", ef, nil); st != 200 || !strings.Contains(body, "<code>own_kiosk_visits</code>") {
			t.Fatalf("element form: %d", st)
		}
		if st, _, _ := c.Form("/indicators/catalogue", map[string]string{"action": "delete-element", "key": "own_kiosk_visits"}, nil); st != 200 {
			t.Errorf("delete element: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_own_elements`); n != 0 {
			t.Errorf("%d elements after delete", n)
		}
	})
}

// A city's own reported element: defined once, reported by its villages
// (form, API or file), named in its own indicator, and kept out of others'.
func TestOwnReportedElements(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("city", access.Officer, "3301")
		e.User("ningbo", access.Officer, "3302")
		c, city, nb := e.Login("county"), e.Login("city"), e.Login("ningbo")
		el := map[string]any{"key": "council_meetings", "division_code": "3301", "name_zh": "村(居)民议事会召开次数", "name_en": "Council meetings held", "unit": "次", "level": 5, "min": 0, "max": 100}
		for _, b := range []struct {
			change map[string]any
			says   string
		}{
			{map[string]any{"level": 1}, "层级"},
			{map[string]any{"min": 50, "max": 10}, "范围"},
			{map[string]any{"key": "Bad Key"}, "键"},
			{map[string]any{"division_code": "330106002051"}, "乡镇"},
		} {
			d := map[string]any{}
			for k, v := range el {
				d[k] = v
			}
			for k, v := range b.change {
				d[k] = v
			}
			if st, body := city.Do("POST", "/api/v1/data-elements", d); st != 400 || !strings.Contains(body, b.says) {
				t.Errorf("%v: %d %s", b.change, st, body)
			}
		}
		if st, _ := c.Do("POST", "/api/v1/data-elements", el); st != 404 {
			t.Errorf("county defining for the city: %d", st)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_own_elements`); n != 0 {
			t.Fatalf("bad elements saved %d rows", n)
		}
		if st, body := city.Do("POST", "/api/v1/data-elements", el); st != 201 || !strings.Contains(body, `"key":"own_council_meetings"`) {
			t.Fatalf("define element: %d %s", st, body)
		}
		if st, body := city.Do("POST", "/api/v1/data-elements", el); st != 400 || !strings.Contains(body, "已被使用") {
			t.Errorf("same key again: %d %s", st, body)
		}
		// Names are unique too: a file's column named in Chinese finds one element.
		for _, name := range []string{"村(居)民议事会召开次数", "社会救助件数（填报）"} {
			clash := map[string]any{"key": "other", "division_code": "3301", "name_zh": name, "unit": "次", "level": 4, "min": 0, "max": 10}
			if st, body := city.Do("POST", "/api/v1/data-elements", clash); st != 400 || !strings.Contains(body, "名称") {
				t.Errorf("name %s again: %d %s", name, st, body)
			}
		}
		if _, body := nb.Do("GET", "/api/v1/data-elements", nil); strings.Contains(body, "own_council_meetings") {
			t.Error("Ningbo sees Hangzhou's element")
		}
		// Ningbo may not build on it; Hangzhou may.
		ind := map[string]any{"id": "HZ-MEET", "division_code": "3301", "name_zh": "村(社区)平均议事会次数", "unit": "次", "formula": "own_council_meetings ÷ units"}
		nbInd := map[string]any{"id": "NB-MEET", "division_code": "3302", "name_zh": "x", "unit": "次", "formula": "own_council_meetings ÷ units"}
		if st, body := nb.Do("POST", "/api/v1/indicator-definitions", nbInd); st != 400 || !strings.Contains(body, "不存在") || strings.Contains(body, "3301") {
			t.Errorf("Ningbo using Hangzhou's element: %d %s", st, body)
		}
		if st, body := city.Do("POST", "/api/v1/indicator-definitions", ind); st != 201 || !strings.Contains(body, "Σ村(居)民议事会召开次数 ÷ Σ村(社区)数") {
			t.Fatalf("indicator on the element: %d %s", st, body)
		}
		// Entry: at the village level, within bounds, inside Hangzhou.
		put := func(cl *apptest.Client, code string, v float64) (int, string) {
			return cl.Do("PUT", fmt.Sprintf("/api/v1/indicator-reports/%s/%d", code, indYear), map[string]float64{"own_council_meetings": v})
		}
		if st, body := put(c, apptest.CommunityA, 500); st != 400 || !strings.Contains(body, "100") {
			t.Errorf("above the bound: %d %s", st, body)
		}
		if st, body := put(c, "330106002", 5); st != 400 || !strings.Contains(body, "村") {
			t.Errorf("at a township: %d %s", st, body)
		}
		var nbVillage string
		e.App.DB.R.QueryRow(`SELECT code FROM divisions WHERE level = 5 AND code >= '3302' AND code < '3303' ORDER BY code LIMIT 1`).Scan(&nbVillage)
		if st, body := put(nb, nbVillage, 5); st != 400 || !strings.Contains(body, "未知") {
			t.Errorf("a Ningbo village reporting Hangzhou's element: %d %s", st, body)
		}
		if st, body := put(c, apptest.CommunityA, 12); st != 200 {
			t.Fatalf("enter: %d %s", st, body)
		}
		if st, body := put(c, apptest.CommunityB, 6); st != 200 {
			t.Fatalf("enter: %d %s", st, body)
		}
		// The page offers the field at a community; the template carries the column.
		if _, page := c.Do("GET", fmt.Sprintf("/indicators/report?division=%s&period=%d", apptest.CommunityA, indYear), nil); !strings.Contains(page, `name="v_own_council_meetings"`) {
			t.Error("the community's form lacks the own element")
		}
		_, tpl := c.Do("GET", fmt.Sprintf("/indicators/report/template?division=%s&period=%d&format=csv", apptest.County, indYear), nil)
		if !strings.Contains(tpl, "村(居)民议事会召开次数 [own_council_meetings]") || !strings.Contains(tpl, apptest.CommunityA+",上保社区,2026") {
			t.Errorf("template lacks the element or the community: %.300s", tpl)
		}
		// A file adds a village; the indicator follows: (12 + 6 + 3) ÷ 222 units.
		if st, rep := importFile(t, c, "/api/v1/indicator-reports/import", []byte("区划代码,年份,村(居)民议事会召开次数\n"+ruralR+",2026,3\n")); st != 200 || !rep.Applied {
			t.Fatalf("import: %d %+v", st, rep)
		}
		if v := getRows(t, c, apptest.County, indYear)["HZ-MEET"].Value; v == nil || math.Abs(*v-21.0/222) > 1e-9 {
			t.Errorf("HZ-MEET = %v, want %v", ptr(v), 21.0/222)
		}
		// Approval locks everything below: once 北山街道 is approved (after
		// its community), another of its communities cannot add a value.
		if st, body := c.Do("PUT", fmt.Sprintf("/api/v1/indicator-reports/330106002/%d", indYear), map[string]float64{"assistance_cases": 4}); st != 200 {
			t.Fatalf("township entry: %d %s", st, body)
		}
		for _, code := range []string{apptest.CommunityA, "330106002"} {
			if st, body := c.Do("POST", fmt.Sprintf("/api/v1/indicator-reports/%s/%d/approve", code, indYear), nil); st != 204 {
				t.Fatalf("approve %s: %d %s", code, st, body)
			}
		}
		var sibling string
		e.App.DB.R.QueryRow(`SELECT code FROM divisions WHERE parent_code = '330106002' AND code <> $1 ORDER BY code LIMIT 1`, apptest.CommunityA).Scan(&sibling)
		if st, body := put(c, sibling, 2); st != 409 {
			t.Errorf("entry under an approved township: %d %s", st, body)
		}
		if st, rep := importFile(t, c, "/api/v1/indicator-reports/import", []byte("区划代码,年份,own_council_meetings\n"+sibling+",2026,2\n")); st != 422 || !strings.Contains(rep.Errors[0].ZH, "上级") {
			t.Errorf("import under an approved township: %d %+v", st, rep)
		}
		// A village's template (nothing built-in is reported there) is a header.
		if st, _ := c.Do("GET", fmt.Sprintf("/indicators/report/template?division=%s&period=%d", "330106004053", indYear), nil); st != 200 {
			t.Errorf("village template: %d", st)
		}
		// It stays while a formula names it or values exist.
		if st, body := city.Do("DELETE", "/api/v1/data-elements/own_council_meetings", nil); st != 400 || !strings.Contains(body, "HZ-MEET") {
			t.Errorf("delete while used: %d %s", st, body)
		}
		city.Do("DELETE", "/api/v1/indicator-definitions/HZ-MEET", nil)
		if st, body := city.Do("DELETE", "/api/v1/data-elements/own_council_meetings", nil); st != 400 || !strings.Contains(body, "3 个填报值") {
			t.Errorf("delete with values: %d %s", st, body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_own_elements`); n != 1 {
			t.Errorf("%d elements", n)
		}
	})
}

// Effective dating: a facility enlarged and a caregiver's certificate
// withdrawn in 2024, an organisation deleted in 2024 — 2023's indicators
// stay as they were at the end of 2023, live and precomputed.
func TestIndicatorsAsOfYearEnd(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		at := func(y int, m time.Month) {
			e.Clock.Set(time.Date(y, m, 1, 9, 0, 0, 0, time.UTC))
		}
		must := func(st int, body string) string {
			t.Helper()
			if st != 200 && st != 201 && st != 204 {
				t.Fatalf("%d %s", st, body)
			}
			var v struct{ ID string }
			json.Unmarshal([]byte(body), &v)
			return v.ID
		}
		for _, y := range []int{2023, 2024} {
			must(c.Do("PUT", fmt.Sprintf("/api/v1/divisions/%s/attributes/%d", apptest.CommunityA, y), map[string]any{"values": map[string]float64{"households": 400, "population": 1000, "population_60plus": 200}}))
		}
		at(2023, time.June)
		fac := map[string]any{"division": apptest.CommunityA, "code": "F-ASOF", "name": "上保社区服务中心", "category": "community_service_facility",
			"address": "测试路1号", "lon": 120.16, "lat": 30.27, "floor_area_m2": 300}
		facID := must(c.Do("POST", "/api/v1/facilities", fac))
		personID := must(c.Do("POST", "/api/v1/personnel", map[string]any{"division": apptest.CommunityA, "name": "护理员甲", "roles": []string{"care_worker"}, "attrs": map[string]any{"certified": true}}))
		orgID := must(c.Do("POST", "/api/v1/organizations", map[string]any{"division": apptest.CommunityA, "kind": "social_org", "name": "社会组织丙", "reg_no": "REG-ASOF"}))
		at(2024, time.March)
		fac["floor_area_m2"] = 500
		must(c.Do("PUT", "/api/v1/facilities/"+facID, fac))
		must(c.Do("PUT", "/api/v1/personnel/"+personID, map[string]any{"division": apptest.CommunityA, "name": "护理员甲", "roles": []string{"care_worker"}, "attrs": map[string]any{"certified": false}}))
		must(c.Do("DELETE", "/api/v1/organizations/"+orgID, nil))
		// Worked by hand: 2023 I14 = 100 × 300 ÷ 400, I21 = 10000 × 1 ÷ 200,
		// I18 = 10000 × 1 ÷ 1000; 2024: 100 × 500 ÷ 400, 0 and 0.
		want := map[int]map[string]float64{
			2023: {"I14": 75, "I21": 50, "I18": 10},
			2024: {"I14": 125, "I21": 0, "I18": 0},
		}
		check := func(label string) {
			t.Helper()
			for y, ws := range want {
				got := getRows(t, c, apptest.County, y)
				for id, w := range ws {
					if v := got[id].Value; v == nil || math.Abs(*v-w) > 1e-9 {
						t.Errorf("%s: %d %s = %v, want %v", label, y, id, ptr(v), w)
					}
				}
			}
		}
		check("live")
		ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
		store := &indicators.Store{DB: e.App.DB, Audit: e.App.Audit}
		for _, y := range []int{2023, 2024} {
			if _, err := store.RecomputeAll(ctx, y); err != nil {
				t.Fatal(err)
			}
		}
		check("precomputed")
		if n := e.Count(`SELECT COUNT(*) FROM ind_value_runs`); n != 2 {
			t.Errorf("%d precomputed years", n)
		}
		// Service-object tags of a past year are read by their own dates:
		// a family-doctor contract from March 2023 to May 2024 counts at
		// the end of 2023, not of 2024.
		hh := must(c.Do("POST", "/api/v1/households", map[string]any{"division": apptest.CommunityA, "household_no": "H-ASOF", "address": "上保路2号"}))
		res := must(c.Do("POST", "/api/v1/residents", map[string]any{"household_id": hh, "name": "李测试", "id_number": validID("33010619480101002"), "relation": "户主", "residence": "registered"}))
		must(c.Do("POST", "/api/v1/residents/"+res+"/tags", map[string]any{"tag": "family_doctor", "since": "2023-03-01", "until": "2024-05-31"}))
		for y, w := range map[int]float64{2022: 0, 2023: 1, 2024: 0} {
			if v := getRows(t, c, apptest.County, y)["C13"].Num; v == nil || *v != w {
				t.Errorf("%d C13 numerator = %v, want %v", y, ptr(v), w)
			}
		}
		// A designation awarded in 2022 and withdrawn this year still
		// counts for last year, not for this one, and leaves the unit's list.
		must(c.Do("POST", "/api/v1/divisions/"+apptest.CommunityA+"/designations", map[string]any{"kind": "epidemic_free", "year": 2022}))
		must(c.Do("DELETE", "/api/v1/divisions/"+apptest.CommunityA+"/designations/epidemic_free", nil))
		this := time.Now().Year()
		if v := getRows(t, c, apptest.County, this-1)["I09"].Num; v == nil || *v != 1 {
			t.Errorf("I09 numerator the year before the withdrawal = %v, want 1", ptr(v))
		}
		if v := getRows(t, c, apptest.County, this)["I09"].Num; v == nil || *v != 0 {
			t.Errorf("I09 numerator in the year of the withdrawal = %v, want 0", ptr(v))
		}
		if _, body := c.Do("GET", "/api/v1/divisions/"+apptest.CommunityA+"/designations", nil); strings.Contains(body, "epidemic_free") {
			t.Errorf("a withdrawn designation is listed: %s", body)
		}
		if st, _ := c.Do("DELETE", "/api/v1/divisions/"+apptest.CommunityA+"/designations/epidemic_free", nil); st != 404 {
			t.Errorf("withdrawing twice: %d", st)
		}
	})
}

// 民呼我为 figures are data elements: a county's own on-time indicator
// reads them when shown, also when the rest is precomputed.
func TestOwnIndicatorOnRequests(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		res, wa, co := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer")
		def := map[string]any{"id": "XH-ONTIME", "division_code": apptest.County, "name_zh": "民呼我为按期办结率", "unit": "%", "formula": "100 × requests_resolved_on_time ÷ requests_received"}
		if st, body := co.Do("POST", "/api/v1/indicator-definitions", def); st != 201 {
			t.Fatalf("define: %d %s", st, body)
		}
		ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
		if _, err := (&indicators.Store{DB: e.App.DB, Audit: e.App.Audit}).RecomputeAll(ctx, 2026); err != nil {
			t.Fatal(err)
		}
		value := func() *float64 { return getRows(t, co, apptest.County, 2026)["XH-ONTIME"].Value }
		if v := value(); v != nil {
			t.Errorf("no requests yet: %v, want no data", *v)
		}
		r1 := rqSubmit(t, res, map[string]any{"category": "repair", "description": "路灯坏了", "attributes": map[string]string{"facility": "light"}})
		rqSubmit(t, res, map[string]any{"category": "sanitation", "description": "河道垃圾", "attributes": map[string]string{"spot": "street"}})
		rqAct(t, wa, r1.ID, "accept", map[string]any{"version": 1}, 200)
		rqAct(t, wa, r1.ID, "start", nil, 200)
		rqAct(t, wa, r1.ID, "answer", map[string]any{"reply": "已修复"}, 200)
		// Worked by hand: one of two requests resolved within its deadline.
		if v := value(); v == nil || *v != 50 {
			t.Errorf("XH-ONTIME = %v, want 50", ptr(v))
		}
		if n := e.Count(`SELECT COUNT(*) FROM ind_values WHERE indicator = 'XH-ONTIME'`); n != 0 {
			t.Errorf("a request-based indicator has %d precomputed cells", n)
		}
	})
}
