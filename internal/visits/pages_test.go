package visits_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/module"
	"linli/internal/visits"
	"linli/internal/web"
)

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

func TestAPIAndPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("officer.x", access.Officer, county)
		e.User("zhang", access.Resident, communityA)
		zhang := w.residentAs(t, w.h1, 1944, "living_alone", "", "zhang") // not a target: living alone is not one of the programme's tags
		w.tag(t, zhang, "empty_nest", "")
		w.schedule(t, "2026-12")
		e.Clock.Set(day("2026-12-03T18:00"))
		officer, gw1, resident := e.Login("officer.x"), e.Login("gw.1"), e.Login("zhang")
		elder := w.visitsOf(t, zhang, "2026-12")[0]

		t.Run("the provincial programmes are listed", func(t *testing.T) {
			ps := apptest.JSON[[]visits.Programme](t, officer, "GET", "/api/v1/visit-programmes", nil, 200)
			if len(ps) != 3 {
				t.Fatalf("%d programmes", len(ps))
			}
		})
		t.Run("a county adds a programme; an unknown tag or a frequency of zero weeks is refused naming the field", func(t *testing.T) {
			for field, body := range map[string]map[string]any{
				"tags":        {"code": "veterans_care", "name_zh": "困难退役军人探访", "tags": []string{"no_such_tag"}},
				"every_weeks": {"code": "veterans_care", "name_zh": "困难退役军人探访", "tags": []string{"veteran_hardship"}, "frequency": "weeks", "every_weeks": 0},
			} {
				p := apptest.JSON[web.Problem](t, officer, "POST", "/api/v1/visit-programmes", body, 400)
				if len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("%s: %+v", field, p)
				}
			}
			got := apptest.JSON[visits.Programme](t, officer, "POST", "/api/v1/visit-programmes", map[string]any{"code": "veterans_care", "name_zh": "困难退役军人探访",
				"tags": []string{"veteran_hardship"}, "frequency": "weeks", "every_weeks": 2}, 201)
			if got.Division != county || got.EveryWeeks != 2 {
				t.Fatalf("%+v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_programmes`); n != 4 {
				t.Fatalf("%d programmes", n)
			}
		})
		t.Run("a grid worker lists their visits by API, masked and audited", func(t *testing.T) {
			l := apptest.JSON[web.List[visits.Visit]](t, gw1, "GET", "/api/v1/visits?status=open&month=2026-12", nil, 200)
			if l.Total != 2 || l.Items[0].ID > elder.ID || !strings.Contains(l.Items[0].Whose, "*") {
				t.Fatalf("%+v", l)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.visit.list'`); n == 0 {
				t.Fatal("the list read is not audited")
			}
		})
		t.Run("the 工作台 has the grid worker's visit, and 我的 tells the resident who comes", func(t *testing.T) {
			items, err := w.vs.Work(t.Context(), &access.Principal{Username: "gw.1", Role: access.GridWorker, Division: communityA}, 20)
			if err != nil || len(items) != 0 {
				t.Fatalf("a visit due on the 31st is not due this week on the 3rd: %+v %v", items, err)
			}
			e.Clock.Set(day("2026-12-28T09:00"))
			gw1, resident = e.Login("gw.1"), e.Login("zhang") // the sessions of the 3rd have lapsed
			items, err = w.vs.Work(t.Context(), &access.Principal{Username: "gw.1", Role: access.GridWorker, Division: communityA}, 20)
			// Both of the grid's visits are due this week; the schedule
			// gives ids in no particular order, so either may come first.
			hasElder := slices.ContainsFunc(items, func(it module.WorkItem) bool { return it.Href == fmt.Sprintf("/visits/%d", elder.ID) })
			if err != nil || len(items) != 2 || items[0].Kind != "visit.due" || items[1].Kind != "visit.due" || !hasElder || items[0].KindName.EN == "" {
				t.Fatalf("work: %+v %v", items, err)
			}
			_, body, _ := resident.Get("/visits/mine")
			if !strings.Contains(body, "特殊困难老年人探访关爱") {
				t.Fatalf("我的探访 lacks the visit:\n%s", body)
			}
		})
		t.Run("a resident asks for a visit", func(t *testing.T) {
			st, _, _ := resident.Form("/visits/mine", map[string]string{"note": ""}, sameOrigin)
			if st != 400 {
				t.Fatalf("an empty ask: %d", st)
			}
			st, _, _ = resident.Form("/visits/mine", map[string]string{"note": "想咨询助餐服务"}, sameOrigin)
			if st != 200 && st != 303 {
				t.Fatalf("ask: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_asks`); n != 1 {
				t.Fatalf("%d asks", n)
			}
		})
		t.Run("the visit page records a visit without JavaScript and refuses a future date naming the field", func(t *testing.T) {
			path := fmt.Sprintf("/visits/%d", elder.ID)
			st, body, _ := gw1.Get(path)
			if st != 200 || strings.Contains(body, "<script") || !strings.Contains(body, `name="answer[health]"`) || !strings.Contains(body, `name="submit_key"`) {
				t.Fatalf("visit page %d:\n%s", st, body)
			}
			form := map[string]string{"submit_key": "page-1", "outcome": "done", "method": "home", "visited_at": "2026-12-29T10:00", "risk": "high",
				"answer[health]": "poor", "answer[living]": "hard"}
			st, body, _ = gw1.Form(path, form, sameOrigin)
			if st != 400 || !strings.Contains(body, "探访时间不能晚于现在") {
				t.Fatalf("future visit: %d", st)
			}
			form["visited_at"] = "2026-12-28T08:30"
			if st, _, _ = gw1.Form(path, form, sameOrigin); st != 303 {
				t.Fatalf("record: %d", st)
			}
			st, body, _ = gw1.Get(path + "?recorded=1")
			if st != 200 || !strings.Contains(body, `id="recorded"`) || !strings.Contains(body, "ref=visit:") || strings.Contains(body, `id="record"`) {
				t.Fatalf("recorded visit: %d\n%s", st, body)
			}
			st, _, _ = gw1.Form(path, form, sameOrigin) // the double tap
			if st != 303 {
				t.Fatalf("double tap: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'visits.visit.record'`); n != 1 {
				t.Fatalf("%d records", n)
			}
			// The finding becomes a request raised on the resident's behalf, linked both ways.
			st, _, hdr := gw1.Form("/requests/new", map[string]string{"category": "elderly", "description": "独居老人需要助浴服务，行动不便", "division_code": communityA,
				"channel": "walkin", "ref": fmt.Sprintf("visit:%d", elder.ID)}, sameOrigin)
			if st != 303 {
				t.Fatalf("raise a request: %d", st)
			}
			reqPath := strings.SplitN(hdr.Get("Location"), "?", 2)[0]
			if _, body, _ := gw1.Get(reqPath); !strings.Contains(body, `href="/visits/`+fmt.Sprint(elder.ID)+`" id="ref"`) {
				t.Fatalf("the request does not link to its visit:\n%s", body)
			}
			if _, body, _ := gw1.Get(path); !strings.Contains(body, `href="`+reqPath+`" id="request"`) {
				t.Fatalf("the visit does not link to its request %s:\n%s", reqPath, body)
			}
			if st, body, _ := gw1.Form("/requests/new", map[string]string{"category": "elderly", "description": "无此探访", "division_code": communityA,
				"channel": "walkin", "ref": "visit:987654321"}, sameOrigin); st != 400 || !strings.Contains(body, "找不到您辖区内的这次探访") {
				t.Fatalf("a request raised from no visit: %d", st)
			}
			// It is the resident's: their account, linked to the record, follows it.
			if st, body, _ := resident.Get(reqPath); st != 200 || !strings.Contains(body, "独居老人需要助浴服务") {
				t.Fatalf("the resident's view of the request raised for them: %d\n%s", st, body)
			}
			r := apptest.JSON[visits.Rates](t, e.Login("officer.x"), "GET", "/api/v1/visits/rates?division="+communityA+"&month=2026-12", nil, 200)
			if r.Groups[0].Group != visits.GroupSpecialElderly || r.Groups[0].Visited != 1 || r.Groups[0].Due != 3 {
				t.Fatalf("rates: %+v", r)
			}
		})
	})
}
