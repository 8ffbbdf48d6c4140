package indicators_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/indicators"
)

// with is a copy of a request body with some fields changed.
func with(body, change map[string]any) map[string]any {
	out := maps.Clone(body)
	maps.Copy(out, change)
	return out
}

// An officer adds an own indicator: checked field by field, nothing saved
// on a problem; it applies to the defining division and below, rolls up
// like the plan's, takes targets, is precomputed, and can be deleted.
func TestOwnIndicators(t *testing.T) {
	t.Parallel()
	// Without the visits module, its monthly rates are elements no module
	// supplies.
	apptest.EachWith(t, modulesWithout("visits"), func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e) // 西湖区 officer
		city := e.Login("city")
		e.User("ningbo", access.Officer, "3302")
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		nb := e.Login("ningbo")
		const defs = "/api/v1/indicator-definitions"
		def := map[string]any{"id": "HZ-CARE", "division_code": "3301", "name_zh": "每万名老年人持证养老护理员", "name_en": "Certified caregivers per 10,000 older people",
			"unit": "人", "formula": "10000 × care_workers_certified ÷ population_60plus", "target": 25, "why": "杭州自设 / Hangzhou's own"}
		t.Run("each bad definition names its field and saves nothing", func(t *testing.T) {
			for _, b := range []struct {
				name   string
				change map[string]any
				field  string
				says   string
			}{
				{"an unknown element", map[string]any{"formula": "10000 × care_workers_certified ÷ elderly_people"}, "formula", "elderly_people"},
				{"an element no module supplies", map[string]any{"formula": "100 × special_elderly_visited ÷ special_elderly_due"}, "formula", "special_elderly_visited"},
				{"a malformed formula", map[string]any{"formula": "10000 × ÷ population"}, "formula", "公式格式"},
				{"a negative factor", map[string]any{"formula": "-5 × gps"}, "formula", "系数"},
				{"a plan's ID", map[string]any{"id": "I05"}, "id", "保留"},
				{"a malformed ID", map[string]any{"id": "x"}, "id", "编号"},
				{"no name", map[string]any{"name_zh": ""}, "name_zh", "名称"},
				{"a percentage over 100", map[string]any{"unit": "%", "target": 120}, "target", "百分比"},
				{"a target year outside the frame", map[string]any{"target_year": 2040}, "target_year", "2040"},
				{"a village's own", map[string]any{"division_code": "330106002051"}, "division_code", "乡镇"},
			} {
				p := refusal(t, city, "POST", defs, with(def, b.change), 400)
				if !slices.Equal(fields(p), []string{b.field}) || !strings.Contains(p.Detail, b.says) {
					t.Errorf("%s: fields %v, %q; want %s saying %q", b.name, fields(p), p.Detail, b.field, b.says)
				}
			}
			refusal(t, c, "POST", defs, def, 404)                 // a county officer, for the city
			refusal(t, e.Login("worker"), "POST", defs, def, 403) // a worker, at all
			if n := e.Count(`SELECT COUNT(*) FROM ind_custom`); n != 0 {
				t.Fatalf("bad definitions saved %d rows", n)
			}
		})
		t.Run("a good definition is saved with its formula in names", func(t *testing.T) {
			in := apptest.JSON[indRow](t, city, "POST", defs, def, 201)
			if in.ID != "HZ-CARE" || in.Owner != "3301" || in.Expression != "10000 × Σ持证养老护理员 ÷ Σ60岁及以上人口" {
				t.Fatalf("defined %+v", in)
			}
			if p := refusal(t, city, "POST", defs, def, 400); !slices.Equal(fields(p), []string{"id"}) || !strings.Contains(p.Detail, "已被使用") {
				t.Errorf("same ID again: %+v", p)
			}
			count := map[string]any{"id": "HZ-SW", "division_code": "3301", "name_zh": "持证社工", "unit": "人", "formula": "social_workers", "target": 10}
			apptest.JSON[indRow](t, city, "POST", defs, count, 201)
		})
		t.Run("it applies to the county with the values worked out by hand", func(t *testing.T) {
			// 西湖区 has one certified caregiver and 600 people aged 60+.
			got := getRows(t, c, apptest.County, indYear)
			if len(got) != 45 {
				t.Fatalf("%d indicators at the county, want 43 + 2 own", len(got))
			}
			if v := got["HZ-CARE"].Value; !near(v, 10000.0/600) {
				t.Errorf("HZ-CARE = %v, want %v", ptr(v), 10000.0/600)
			}
			if v := got["HZ-SW"].Value; !near(v, 1) {
				t.Errorf("HZ-SW = %v, want 1", ptr(v))
			}
		})
		t.Run("the city's target of a ratio holds at the county, with its origin", func(t *testing.T) {
			d := getDetail(t, c, "HZ-CARE", apptest.County, indYear)
			if !near(d.Target, 25) || d.TargetFrom != "3301" || len(d.Children) == 0 {
				t.Errorf("detail: target %v from %q, %d children", ptr(d.Target), d.TargetFrom, len(d.Children))
			}
		})
		t.Run("another city neither sees nor counts it", func(t *testing.T) {
			refusal(t, nb, "GET", "/api/v1/indicators/HZ-CARE?division=3302", nil, 404)
			if rows := getRows(t, nb, "3302", indYear); len(rows) != 43 {
				t.Errorf("Ningbo sees %d indicators, want the plan's 43", len(rows))
			}
			for _, in := range apptest.JSON[[]indRow](t, nb, "GET", "/api/v1/indicator-catalogue", nil, 200) {
				if in.Owner != "" {
					t.Errorf("Ningbo's catalogue lists %s of %s", in.ID, in.Owner)
				}
			}
		})
		t.Run("a count's children's targets may not exceed its own", func(t *testing.T) {
			if p := refusal(t, city, "PUT", "/api/v1/indicator-targets/"+apptest.County+"/HZ-SW", map[string]float64{"target": 12}, 400); !slices.Equal(fields(p), []string{"target"}) || !strings.Contains(p.Detail, "HZ-SW") {
				t.Errorf("child target above the parent's: %+v", p)
			}
			done(t, city, "PUT", "/api/v1/indicator-targets/"+apptest.County+"/HZ-SW", map[string]float64{"target": 6})
		})
		t.Run("it is precomputed like the plan's", func(t *testing.T) {
			ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
			if _, err := indicators.StoreOf(e.App.Module("indicators")).RecomputeAll(ctx, indYear); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_values WHERE indicator = 'HZ-CARE' AND division_code IN ('33', '3301', '330106')`); n != 3 {
				t.Errorf("%d precomputed HZ-CARE cells on the path, want 3", n)
			}
			if v := getRows(t, c, apptest.County, indYear)["HZ-CARE"].Value; !near(v, 10000.0/600) {
				t.Errorf("precomputed HZ-CARE = %v", ptr(v))
			}
		})
		t.Run("redefining changes the value at once", func(t *testing.T) {
			// The clock has not moved: the precomputed year is stale by the definition's text.
			in := apptest.JSON[indRow](t, city, "PUT", defs+"/HZ-CARE", with(def, map[string]any{"formula": "10000 × care_workers_certified ÷ population"}), 200)
			if in.Expression != "10000 × Σ持证养老护理员 ÷ Σ常住人口" {
				t.Errorf("redefined as %q", in.Expression)
			}
			if v := getRows(t, c, apptest.County, indYear)["HZ-CARE"].Value; !near(v, 10000.0/4500) {
				t.Errorf("redefined HZ-CARE = %v, want %v", ptr(v), 10000.0/4500)
			}
		})
		t.Run("deleting takes its targets along and is audited", func(t *testing.T) {
			refusal(t, nb, "DELETE", defs+"/HZ-SW", nil, 404)
			done(t, city, "DELETE", defs+"/HZ-SW", nil)
			if n := e.Count(`SELECT COUNT(*) FROM ind_targets WHERE indicator = 'HZ-SW'`); n != 0 {
				t.Errorf("%d targets left", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('indicator.define', 'indicator.redefine', 'indicator.undefine')`); n != 4 {
				t.Errorf("%d audit entries of definitions, want 4", n)
			}
			if _, ok := getRows(t, c, apptest.County, indYear)["HZ-SW"]; ok {
				t.Error("a deleted indicator is still shown")
			}
		})
		t.Run("the dashboard states the status rule and marks own indicators", func(t *testing.T) {
			if _, page := c.Do("GET", "/indicators?division="+apptest.County, nil); !strings.Contains(page, `id="status-rule"`) || !strings.Contains(page, "90%") || !strings.Contains(page, "自设") {
				t.Error("the dashboard lacks the status rule or the own indicator's mark")
			}
		})
		t.Run("the data elements are the app's: own, the registry's and other modules'", func(t *testing.T) {
			els := map[string]indicators.ElementInfo{}
			for _, el := range apptest.JSON[[]indicators.ElementInfo](t, c, "GET", "/api/v1/data-elements", nil, 200) {
				els[el.Key] = el
			}
			if len(els) < 60 {
				t.Errorf("%d data elements listed", len(els))
			}
			for key, name := range map[string]string{"population": "常住人口", "requests_received": "民呼我为诉求件数", "urban_units_analysed": "已做生活圈分析的城市社区"} {
				if el, ok := els[key]; !ok || el.NameZH != name || !el.Available {
					t.Errorf("%s: %+v", key, el)
				}
			}
			if _, ok := els["special_elderly_due"]; ok {
				t.Error("an element no module supplies is offered to formulas")
			}
			if r := els["dibao_standard"].Rule; r == nil || r.Level != 3 {
				t.Errorf("the allowance standard's rule: %+v", r)
			}
		})
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
		t.Run("an unknown element is named and the form keeps its values", func(t *testing.T) {
			st, body, _ := c.Form("/indicators/catalogue", form, nil)
			if st != 400 || !strings.Contains(body, "“residents”") || !strings.Contains(body, `value="每万人全科医生（杭州）"`) {
				t.Fatalf("unknown element on the page: %d", st)
			}
		})
		t.Run("a good one is saved", func(t *testing.T) {
			form["formula"] = "10000 * gps / population"
			if st, body, _ := c.Form("/indicators/catalogue", form, nil); st != 200 || !strings.Contains(body, "HZ-GP") {
				t.Fatalf("define on the page: %d", st)
			}
		})
		t.Run("deleting asks for confirmation first", func(t *testing.T) {
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
		})
		t.Run("the element form keeps its values apart from the indicator form", func(t *testing.T) {
			ef := map[string]string{"action": "define-element", "key": "kiosk_visits", "division_code": "3301", "name_zh": "一体机使用人次", "unit": "人次", "level": "5", "min": "9", "max": "1"}
			st, body, _ := c.Form("/indicators/catalogue", ef, nil)
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
		t.Run("a page form that cannot be read is refused", func(t *testing.T) {
			req := c.NewRequest("POST", "/indicators/catalogue", strings.NewReader("action=%zz"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if st, _, _ := c.Send(req); st != 400 {
				t.Errorf("unreadable form: %d", st)
			}
		})
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
		const elements = "/api/v1/data-elements"
		el := map[string]any{"key": "council_meetings", "division_code": "3301", "name_zh": "村(居)民议事会召开次数", "name_en": "Council meetings held", "unit": "次", "level": 5, "min": 0, "max": 100}
		t.Run("each bad element names its field and saves nothing", func(t *testing.T) {
			for _, b := range []struct {
				name   string
				change map[string]any
				field  string
			}{
				{"a level above the defining division", map[string]any{"level": 1}, "level"},
				{"a range upside down", map[string]any{"min": 50, "max": 10}, "max"},
				{"a key with spaces", map[string]any{"key": "Bad Key"}, "key"},
				{"a village's own", map[string]any{"division_code": "330106002051"}, "division_code"},
			} {
				if p := refusal(t, city, "POST", elements, with(el, b.change), 400); !slices.Equal(fields(p), []string{b.field}) {
					t.Errorf("%s: fields %v (%s), want %s", b.name, fields(p), p.Detail, b.field)
				}
			}
			refusal(t, c, "POST", elements, el, 404) // a county, for the city
			if n := e.Count(`SELECT COUNT(*) FROM ind_own_elements`); n != 0 {
				t.Fatalf("bad elements saved %d rows", n)
			}
		})
		t.Run("a good element gets the own_ prefix and its key once", func(t *testing.T) {
			if r := apptest.JSON[indicators.Rule](t, city, "POST", elements, el, 201); r.Key != "own_council_meetings" || r.Owner != "3301" || r.Level != 5 {
				t.Fatalf("defined %+v", r)
			}
			if p := refusal(t, city, "POST", elements, el, 400); !slices.Equal(fields(p), []string{"key"}) || !strings.Contains(p.Detail, "已被使用") {
				t.Errorf("same key again: %+v", p)
			}
		})
		t.Run("names are unique, so a file's Chinese column finds one element", func(t *testing.T) {
			for _, name := range []string{"村(居)民议事会召开次数", "社会救助件数（填报）"} {
				clash := map[string]any{"key": "other", "division_code": "3301", "name_zh": name, "unit": "次", "level": 4, "min": 0, "max": 10}
				if p := refusal(t, city, "POST", elements, clash, 400); !slices.Equal(fields(p), []string{"name_zh"}) {
					t.Errorf("name %s again: %+v", name, p)
				}
			}
		})
		t.Run("another city neither sees it nor builds on it", func(t *testing.T) {
			for _, info := range apptest.JSON[[]indicators.ElementInfo](t, nb, "GET", elements, nil, 200) {
				if info.Key == "own_council_meetings" {
					t.Error("Ningbo sees Hangzhou's element")
				}
			}
			nbInd := map[string]any{"id": "NB-MEET", "division_code": "3302", "name_zh": "x", "unit": "次", "formula": "own_council_meetings ÷ units"}
			if p := refusal(t, nb, "POST", "/api/v1/indicator-definitions", nbInd, 400); !strings.Contains(p.Detail, "不存在") || strings.Contains(p.Detail, "3301") {
				t.Errorf("Ningbo using Hangzhou's element: %+v", p)
			}
		})
		t.Run("its own city builds an indicator on it", func(t *testing.T) {
			ind := map[string]any{"id": "HZ-MEET", "division_code": "3301", "name_zh": "村(社区)平均议事会次数", "unit": "次", "formula": "own_council_meetings ÷ units"}
			if in := apptest.JSON[indRow](t, city, "POST", "/api/v1/indicator-definitions", ind, 201); in.Expression != "Σ村(居)民议事会召开次数 ÷ Σ村(社区)数" {
				t.Fatalf("indicator on the element: %+v", in)
			}
		})
		report := func(code string) string { return fmt.Sprintf("/api/v1/indicator-reports/%s/%d", code, indYear) }
		value := func(v float64) map[string]float64 { return map[string]float64{"own_council_meetings": v} }
		t.Run("entry holds to the village level, the bounds and the city", func(t *testing.T) {
			if p := refusal(t, c, "PUT", report(apptest.CommunityA), value(500), 400); !slices.Equal(fields(p), []string{"own_council_meetings"}) || !strings.Contains(p.DetailEN, "from 0 to 100") {
				t.Errorf("above the bound: %+v", p)
			}
			if p := refusal(t, c, "PUT", report("330106002"), value(5), 400); !strings.Contains(p.Detail, "村") {
				t.Errorf("at a township: %+v", p)
			}
			var nbVillage string
			if err := e.App.DB.R.QueryRow(`SELECT code FROM divisions WHERE level = 5 AND code >= '3302' AND code < '3303' ORDER BY code LIMIT 1`).Scan(&nbVillage); err != nil {
				t.Fatal(err)
			}
			if p := refusal(t, nb, "PUT", report(nbVillage), value(5), 400); !strings.Contains(p.Detail, "未知") {
				t.Errorf("a Ningbo village reporting Hangzhou's element: %+v", p)
			}
			done(t, c, "PUT", report(apptest.CommunityA), value(12))
			done(t, c, "PUT", report(apptest.CommunityB), value(6))
		})
		t.Run("the community's form and the county's template carry it", func(t *testing.T) {
			if _, page := c.Do("GET", fmt.Sprintf("/indicators/report?division=%s&period=%d", apptest.CommunityA, indYear), nil); !strings.Contains(page, `name="v_own_council_meetings"`) {
				t.Error("the community's form lacks the own element")
			}
			tab := readTemplate(t, c, apptest.County, indYear)
			col := slices.Index(tab.Header, "村(居)民议事会召开次数 [own_council_meetings]")
			if col < 0 {
				t.Fatalf("template header %v", tab.Header)
			}
			var row []string
			for _, r := range tab.Rows {
				if r[0] == apptest.CommunityA {
					row = r
				}
			}
			if row == nil || row[1] != "上保社区" || row[2] != "2026" || row[col] != "12" {
				t.Errorf("the community's template row: %v", row)
			}
		})
		t.Run("a file adds a village and the indicator follows", func(t *testing.T) {
			if st, rep := importFile(t, c, "/api/v1/indicator-reports/import", []byte("区划代码,年份,村(居)民议事会召开次数\n"+ruralR+",2026,3\n")); st != 200 || !rep.Applied {
				t.Fatalf("import: %d %+v", st, rep)
			}
			// (12 + 6 + 3) ÷ 222 units.
			if v := getRows(t, c, apptest.County, indYear)["HZ-MEET"].Value; !near(v, 21.0/222) {
				t.Errorf("HZ-MEET = %v, want %v", ptr(v), 21.0/222)
			}
		})
		t.Run("approval locks everything below", func(t *testing.T) {
			// Once 北山街道 is approved (after its community), another of its
			// communities cannot add a value, by form or by file.
			done(t, c, "PUT", fmt.Sprintf("/api/v1/indicator-reports/330106002/%d", indYear), map[string]float64{"assistance_cases": 4})
			for _, code := range []string{apptest.CommunityA, "330106002"} {
				done(t, c, "POST", fmt.Sprintf("/api/v1/indicator-reports/%s/%d/approve", code, indYear), nil)
			}
			var sibling string
			if err := e.App.DB.R.QueryRow(`SELECT code FROM divisions WHERE parent_code = '330106002' AND code <> $1 ORDER BY code LIMIT 1`, apptest.CommunityA).Scan(&sibling); err != nil {
				t.Fatal(err)
			}
			refusal(t, c, "PUT", report(sibling), value(2), 409)
			if st, rep := importFile(t, c, "/api/v1/indicator-reports/import", []byte("区划代码,年份,own_council_meetings\n"+sibling+",2026,2\n")); st != 422 || !strings.Contains(rep.Errors[0].ZH, "上级") {
				t.Errorf("import under an approved township: %d %+v", st, rep)
			}
		})
		t.Run("a village's template is its header", func(t *testing.T) {
			// Nothing built-in is reported at a village.
			if st, _ := c.Do("GET", fmt.Sprintf("/indicators/report/template?division=%s&period=%d", apptest.CommunityB, indYear), nil); st != 200 {
				t.Errorf("village template: %d", st)
			}
		})
		t.Run("it stays while a formula names it or values exist", func(t *testing.T) {
			if p := refusal(t, city, "DELETE", elements+"/own_council_meetings", nil, 400); !strings.Contains(p.Detail, "HZ-MEET") {
				t.Errorf("delete while used: %+v", p)
			}
			done(t, city, "DELETE", "/api/v1/indicator-definitions/HZ-MEET", nil)
			if p := refusal(t, city, "DELETE", elements+"/own_council_meetings", nil, 400); !strings.Contains(p.Detail, "3 个填报值") {
				t.Errorf("delete with values: %+v", p)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ind_own_elements`); n != 1 {
				t.Errorf("%d elements", n)
			}
			refusal(t, nb, "DELETE", elements+"/own_council_meetings", nil, 404)
		})
	})
}
