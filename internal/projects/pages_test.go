package projects_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
)

// The loop through the pages, as a phone without JavaScript posts them.
func TestProjectPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixture(t, e)
		offA, offB, good, low := e.Login("off.a"), e.Login("off.b"), e.Login("prov.good"), e.Login("prov.low")
		post := func(t *testing.T, c *apptest.Client, path string, vals map[string]string, want int) string {
			t.Helper()
			st, body, hdr := c.Form(path, vals, sameOrigin)
			if st != want {
				t.Fatalf("%s: %d, want %d: %s", path, st, want, body)
			}
			if st == 303 {
				return hdr.Get("Location")
			}
			// Each error the summary lists links to its field on the page.
			for _, m := range regexp.MustCompile(`href="#(f-[^"]+)"`).FindAllStringSubmatch(body, -1) {
				if !strings.Contains(body, `id="`+m[1]+`"`) {
					t.Errorf("%s: the error links to #%s, which is not on the page", path, m[1])
				}
			}
			return body
		}
		t.Run("the board starts empty, with the officer's link to publish", func(t *testing.T) {
			st, body, _ := offA.Get("/projects")
			if st != 200 || !strings.Contains(body, "暂无购买服务项目") || !strings.Contains(body, `href="/projects/new"`) {
				t.Fatalf("%d %s", st, body)
			}
		})
		form := map[string]string{"title": "独居老人关爱探访", "need": "独居老人缺少日常关照", "budget": "200000", "period_from": "2027-01-01", "period_to": "2027-12-31",
			"targets": "入户探访 200 次\n小组活动 50 场\n满意度 ≥ 90%", "min_rating": "3A", "deadline": "2026-12-10",
			"c0_name": "服务方案", "c0_weight": "40", "c1_name": "机构能力", "c1_weight": "30", "c2_name": "预算合理性", "c2_weight": "30"}
		var path string
		t.Run("the new-project form walks the division picker down without JavaScript", func(t *testing.T) {
			_, body, _ := offA.Get("/projects/new")
			if !strings.Contains(body, `name="division_code_l5"`) || !strings.Contains(body, "服务方案的针对性与可行性") {
				t.Fatalf("%s", body)
			}
			vals := map[string]string{"division_code_l5": communityA, "division_code_next": "1", "title": "x"}
			body = post(t, offA, "/projects/new", vals, 200)
			if !strings.Contains(body, "上保社区") || !strings.Contains(body, `value="x"`) {
				t.Fatalf("%s", body)
			}
		})
		t.Run("a budget not in yuan is named at its field and nothing is written", func(t *testing.T) {
			vals := map[string]string{"division_code_l5": communityA}
			for k, v := range form {
				vals[k] = v
			}
			vals["budget"] = "二十万"
			body := post(t, offA, "/projects/new", vals, 400)
			if !strings.Contains(body, `href="#f-budget"`) || e.Count(`SELECT COUNT(*) FROM proj_projects`) != 0 {
				t.Fatalf("%s", body)
			}
		})
		t.Run("the officer publishes the project for community A", func(t *testing.T) {
			vals := map[string]string{"division_code_l5": communityA}
			for k, v := range form {
				vals[k] = v
			}
			loc := post(t, offA, "/projects/new", vals, 303)
			if !regexp.MustCompile(`^/projects/[0-9a-f]+\?done=1$`).MatchString(loc) {
				t.Fatalf("%q", loc)
			}
			path = strings.TrimSuffix(loc, "?done=1")
			_, body, _ := offA.Get("/projects")
			if !strings.Contains(body, "独居老人关爱探访") || !strings.Contains(body, "上保社区") || !strings.Contains(body, "200000.00") {
				t.Fatalf("%s", body)
			}
			if _, body, _ := offB.Get("/projects"); !strings.Contains(body, "暂无购买服务项目") {
				t.Errorf("township B's board is not empty")
			}
		})
		t.Run("the organisation's staff who is not its manager reads the project page without the application form", func(t *testing.T) {
			st, body, _ := e.Login("prov.staff").Get(path)
			if st != 200 || strings.Contains(body, `action="`+path+`/apply"`) || !strings.Contains(body, "入户探访 200 次") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("the organisation applies from the project page; a budget over the project's is named", func(t *testing.T) {
			_, body, _ := good.Get(path)
			if !strings.Contains(body, `action="`+path+`/apply"`) || !strings.Contains(body, "入户探访 200 次") {
				t.Fatalf("%s", body)
			}
			body = post(t, low, path+"/apply", map[string]string{"proposal": "方案", "budget": "1000"}, 400)
			if !strings.Contains(body, `href="#f-rating"`) || !strings.Contains(body, "3A") {
				t.Fatalf("%s", body)
			}
			body = post(t, good, path+"/apply", map[string]string{"proposal": "三名社工", "budget": "250000"}, 400)
			if !strings.Contains(body, `href="#f-budget"`) {
				t.Fatalf("%s", body)
			}
			post(t, good, path+"/apply", map[string]string{"proposal": "三名社工", "budget": "180000"}, 303)
			_, body, _ = good.Get(path)
			if strings.Contains(body, `action="`+path+`/apply"`) || !strings.Contains(body, "北山社工服务社") {
				t.Fatalf("%s", body)
			}
		})
		e.Clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))
		offA, good, low = e.Login("off.a"), e.Login("prov.good"), e.Login("prov.low")
		t.Run("after the deadline an application answers 409, naming the deadline on the page", func(t *testing.T) {
			body := post(t, low, path+"/apply", map[string]string{"proposal": "方案", "budget": "1000"}, 409)
			if !strings.Contains(body, `href="#f-deadline"`) || !strings.Contains(body, "2026-12-10 截止") {
				t.Fatalf("%s", body)
			}
		})
		var appID string
		t.Run("after the deadline the officer scores and awards from the page", func(t *testing.T) {
			_, body, _ := offA.Get(path)
			m := regexp.MustCompile(`action="` + path + `/applications/([0-9a-f]+)/score"`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("%s", body)
			}
			appID = m[1]
			body = post(t, offA, path+"/applications/"+appID+"/score", map[string]string{"s0": "80", "s1": "abc", "s2": "70"}, 400)
			if !strings.Contains(body, `href="#f-`+appID+`-scores-1"`) {
				t.Fatalf("%s", body)
			}
			post(t, offA, path+"/applications/"+appID+"/score", map[string]string{"s0": "80", "s1": "90", "s2": "70"}, 303)
			_, body, _ = offA.Get(path)
			if !strings.Contains(body, ">80.00<") || !strings.Contains(body, `id="award-submit"`) {
				t.Fatalf("%s", body)
			}
			body = post(t, offA, path+"/award", map[string]string{"application_id": appID, "m0_title": "首期", "m0_amount": "60000", "m0_due": "2027-03-31",
				"m1_title": "末期", "m1_amount": "100000", "m1_due": "2027-12-31"}, 400)
			if !strings.Contains(body, `href="#f-milestones"`) {
				t.Fatalf("%s", body)
			}
			post(t, offA, path+"/award", map[string]string{"application_id": appID, "m0_title": "首期", "m0_amount": "60000", "m0_due": "2027-03-31",
				"m1_title": "末期", "m1_amount": "120000", "m1_due": "2027-12-31"}, 303)
		})
		t.Run("the organisation reports on its page; the officer cannot pay before accepting, then accepts and pays", func(t *testing.T) {
			_, body, _ := good.Get("/projects/mine")
			m := regexp.MustCompile(`action="(` + path + `/milestones/([0-9a-f]+))/report"`).FindStringSubmatch(body)
			if m == nil || !strings.Contains(body, "180000.00") {
				t.Fatalf("%s", body)
			}
			body = post(t, good, m[1]+"/report", map[string]string{"report": " "}, 400)
			if !strings.Contains(body, `href="#f-`+m[2]+`-report"`) {
				t.Fatalf("%s", body)
			}
			if loc := post(t, good, m[1]+"/report", map[string]string{"report": "入户探访 60 次"}, 303); loc != "/projects/mine?done=1" {
				t.Fatalf("%q", loc)
			}
			if st, _, _ := offA.Form(m[1]+"/pay", nil, sameOrigin); st != 409 {
				t.Errorf("pay before acceptance: %d", st)
			}
			_, body, _ = offA.Get(path)
			if !strings.Contains(body, `id="accept-`+m[2]+`"`) {
				t.Fatalf("%s", body)
			}
			post(t, offA, m[1]+"/accept", nil, 303)
			post(t, offA, m[1]+"/pay", map[string]string{"reference": "GK-001"}, 303)
			_, body, _ = offA.Get(path)
			if !strings.Contains(body, "已拨付") || !strings.Contains(body, "GK-001") {
				t.Fatalf("%s", body)
			}
		})
		t.Run("the pages render in 长辈模式 and in English", func(t *testing.T) {
			for _, c := range []*apptest.Client{offA, good} {
				for _, p := range []string{"/projects", path, "/projects/mine", "/projects/new"} {
					if p == "/projects/mine" && c == offA || p == "/projects/new" && c == good {
						continue
					}
					for _, ck := range []*http.Cookie{{Name: "elder", Value: "1"}, {Name: "lang", Value: "en"}} {
						req := c.NewRequest("GET", p, nil)
						req.AddCookie(ck)
						if st, body, _ := c.Send(req); st != 200 || !strings.Contains(body, "<main") {
							t.Errorf("%s %s: %d", p, ck.Name, st)
						}
					}
				}
			}
		})
	})
}
