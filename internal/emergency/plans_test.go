package emergency_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/registry"
)

// floodPlan is community A's plan: flood at blue and orange (orange
// door to door, opening the shelter), typhoon at red.
func floodPlan(shelter string) emergency.PlanInput {
	return emergency.PlanInput{Title: "上保社区防汛防台预案", Owner: "cw.a", Hazards: []emergency.PlanHazard{
		{Hazard: "typhoon", Levels: []emergency.PlanLevel{{Level: "red", Actions: []string{"危旧房住户全部转移"}, DoorToDoor: true}}},
		{Hazard: "flood", Levels: []emergency.PlanLevel{
			{Level: "orange", Actions: []string{"网格员逐户确认", " ", "开放避难场所"}, DoorToDoor: true, Shelters: []string{shelter}},
			{Level: "blue", Actions: []string{"关注水位"}}}},
	}}
}

// Plans: a community's actions per hazard and warning level, written
// in versions that all stay readable, within the jurisdiction only.
func TestPlansAreVersionedAndScoped(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("officer.other", access.Officer, apptest.OtherCity)
		cw := e.Login("cw.a")
		var pl emergency.Plan

		t.Run("a community worker writes a plan: hazards and levels in order, empty lines dropped, the shelter named, reviewed in a year", func(t *testing.T) {
			pl = apptest.JSON[emergency.Plan](t, cw, "POST", "/api/v1/emergency/plans", floodPlan(w.shelter), 201)
			if pl.Division != communityA || pl.Version != 1 || pl.Latest != 1 || pl.ReviewOn != "2027-11-29" || pl.ReviewDue || len(pl.Hazards) != 2 {
				t.Fatalf("%+v", pl)
			}
			flood := pl.Hazards[0]
			if flood.Hazard != "flood" || pl.Hazards[1].Hazard != "typhoon" || flood.Levels[0].Level != "blue" || flood.Levels[1].Level != "orange" {
				t.Fatalf("order %+v", pl.Hazards)
			}
			orange := flood.Levels[1]
			if len(orange.Actions) != 2 || !orange.DoorToDoor || len(orange.Open) != 1 || orange.Open[0].Name != "上保社区应急避难场所" || flood.Levels[0].DoorToDoor {
				t.Fatalf("orange %+v", orange)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.plan.create' AND object_id = $1`, pl.ID); n != 1 {
				t.Fatalf("%d audit records", n)
			}
		})
		t.Run("a new version keeps the old one readable", func(t *testing.T) {
			in := floodPlan(w.shelter)
			in.Hazards[1].Levels[0].Actions = []string{"网格员逐户确认", "开放避难场所", "转移低洼地带住户"}
			in.Note = "增加转移"
			v2 := apptest.JSON[emergency.Plan](t, cw, "PUT", "/api/v1/emergency/plans/"+pl.ID, in, 200)
			if v2.Version != 2 || v2.Latest != 2 || len(v2.Hazards[0].Levels[1].Actions) != 3 || v2.Note != "增加转移" {
				t.Fatalf("%+v", v2)
			}
			v1 := apptest.JSON[emergency.Plan](t, cw, "GET", "/api/v1/emergency/plans/"+pl.ID+"?version=1", nil, 200)
			if v1.Version != 1 || v1.Latest != 2 || len(v1.Hazards[0].Levels[1].Actions) != 2 {
				t.Fatalf("version 1 %+v", v1)
			}
			vs := apptest.JSON[[]emergency.PlanVersion](t, cw, "GET", "/api/v1/emergency/plans/"+pl.ID+"/versions", nil, 200)
			if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
				t.Fatalf("%+v", vs)
			}
			if st, _ := cw.Do("GET", "/api/v1/emergency/plans/"+pl.ID+"?version=3", nil); st != 404 {
				t.Fatalf("version 3: %d", st)
			}
			if st, body := cw.Do("GET", "/api/v1/emergency/plans/"+pl.ID+"?version=first", nil); st != 400 || !containsField(body, "version") {
				t.Fatalf("version first: %d %s", st, body)
			}
			_, page, _ := cw.Get("/emergency/plans/" + pl.ID + "?version=1")
			if !strings.Contains(page, `id="old-version"`) || strings.Contains(page, "转移低洼地带住户") || !strings.Contains(page, `href="/emergency/plans/`+pl.ID+`?version=2"`) {
				t.Fatalf("%s", page)
			}
		})
		t.Run("the township's officer and the grid worker read it; only the worker and officer write; another county, another community and a resident cannot see it", func(t *testing.T) {
			apptest.JSON[emergency.Plan](t, e.Login("officer.town"), "GET", "/api/v1/emergency/plans/"+pl.ID, nil, 200)
			gw := e.Login("gw.1")
			if pg := apptest.JSON[emergency.PlanPage](t, gw, "GET", "/api/v1/emergency/plans", nil, 200); len(pg.Items) != 1 {
				t.Fatalf("%+v", pg)
			}
			if st, _ := gw.Do("PUT", "/api/v1/emergency/plans/"+pl.ID, floodPlan(w.shelter)); st != 403 {
				t.Fatalf("grid worker writes: %d", st)
			}
			for _, u := range []string{"officer.other", "cw.b"} {
				c := e.Login(u)
				if st, _ := c.Do("GET", "/api/v1/emergency/plans/"+pl.ID, nil); st != 404 {
					t.Fatalf("%s: %d", u, st)
				}
				if st, _, _ := c.Get("/emergency/plans/" + pl.ID); st != 404 {
					t.Fatalf("%s page: %d", u, st)
				}
				if pg := apptest.JSON[emergency.PlanPage](t, c, "GET", "/api/v1/emergency/plans", nil, 200); len(pg.Items) != 0 {
					t.Fatalf("%s lists %+v", u, pg)
				}
			}
			if st, _ := e.Login("res.a").Do("GET", "/api/v1/emergency/plans", nil); st != 403 {
				t.Fatalf("resident: %d", st)
			}
		})
		t.Run("bad plans are refused naming each field, and nothing is written", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM em_plan_versions`)
			st, body := cw.Do("POST", "/api/v1/emergency/plans", emergency.PlanInput{Title: "", Owner: "res.a", ReviewOn: "2030-01-01"})
			for _, f := range []string{"title", "owner", "review_on", "hazards"} {
				if st != 400 || !containsField(body, f) {
					t.Fatalf("%d lacks %s: %s", st, f, body)
				}
			}
			st, body = cw.Do("POST", "/api/v1/emergency/plans", emergency.PlanInput{Division: communityB, Title: "预案", Owner: "cw.a", Hazards: floodPlan(w.shelter).Hazards})
			if st != 400 || !containsField(body, "division") || containsField(body, "owner") {
				t.Fatalf("%d %s", st, body)
			}
			bad := emergency.PlanInput{Title: "预案", Owner: "cw.a", Hazards: []emergency.PlanHazard{
				{Hazard: "meteor", Levels: []emergency.PlanLevel{{Level: "blue", Actions: []string{"x"}}}},
				{Hazard: "flood", Levels: []emergency.PlanLevel{{Level: "purple", Actions: []string{"x"}}, {Level: "red", Actions: []string{" "}, Shelters: []string{"no-such"}}}},
				{Hazard: "fire"},
			}}
			st, body = cw.Do("POST", "/api/v1/emergency/plans", bad)
			for _, f := range []string{"hazards[0].hazard", "hazards[1].levels[0].level", "hazards[1].levels[1].actions", "hazards[1].levels[1].shelters", "hazards[2].levels"} {
				if st != 400 || !containsField(body, f) {
					t.Fatalf("%d lacks %s: %s", st, f, body)
				}
			}
			st, body = cw.Do("PUT", "/api/v1/emergency/plans/"+pl.ID, emergency.PlanInput{Title: "预案", Owner: "cw.a"})
			if st != 400 || !containsField(body, "hazards") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_plan_versions`); n != before || e.Count(`SELECT version FROM em_plans WHERE id = $1`, pl.ID) != 2 {
				t.Fatalf("%d versions, was %d", n, before)
			}
		})
		t.Run("the list filters by hazard and by review due; a year on the plan is due", func(t *testing.T) {
			if _, err := w.es.CreatePlan(w.cw, emergency.PlanInput{Title: "消防预案", Owner: "cw.a", ReviewOn: "2026-12-31",
				Hazards: []emergency.PlanHazard{{Hazard: "fire", Levels: []emergency.PlanLevel{{Level: "yellow", Actions: []string{"检查消防通道"}}}}}}); err != nil {
				t.Fatal(err)
			}
			ids := func(path string) []string {
				var out []string
				// a fresh sign-in: the clock moves past the session's life
				for _, it := range apptest.JSON[emergency.PlanPage](t, e.Login("cw.a"), "GET", path, nil, 200).Items {
					out = append(out, it.Title)
				}
				return out
			}
			if got := ids("/api/v1/emergency/plans?hazard=flood"); len(got) != 1 || got[0] != "上保社区防汛防台预案" {
				t.Fatalf("flood %v", got)
			}
			if got := ids("/api/v1/emergency/plans?due=true"); len(got) != 0 {
				t.Fatalf("due now %v", got)
			}
			e.Clock.Add(40 * 24 * time.Hour) // 2027-01-08: the fire plan's review has passed
			if got := ids("/api/v1/emergency/plans?due=true"); len(got) != 1 || got[0] != "消防预案" {
				t.Fatalf("due in January %v", got)
			}
			e.Clock.Add(330 * 24 * time.Hour) // December 2027: both
			if got := ids("/api/v1/emergency/plans?due=true&hazard=fire"); len(got) != 1 {
				t.Fatalf("due fire %v", got)
			}
			if got := ids("/api/v1/emergency/plans?due=true"); len(got) != 2 {
				t.Fatalf("due in December %v", got)
			}
			_, page, _ := e.Login("cw.a").Get("/emergency/plans?due=1")
			if !strings.Contains(page, "待年度复查") || !strings.Contains(page, "消防预案") {
				t.Fatalf("%s", page)
			}
			if st, body := e.Login("cw.a").Do("GET", "/api/v1/emergency/plans?hazard=meteor", nil); st != 400 || !containsField(body, "hazard") {
				t.Fatalf("%d %s", st, body)
			}
		})
	})
}

// The plan pages: a form per hazard and level, without JavaScript.
func TestPlanPagesWriteAndReviseWithoutJavaScript(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw := e.Login("cw.a")
		var id string
		t.Run("an empty plan is refused, the error linking to the first hazard's field and the title kept", func(t *testing.T) {
			st, body, _ := cw.Form("/emergency/plans/new", map[string]string{"division": communityA, "title": "我的预案", "owner": "cw.a"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-flood.blue.actions"`) || !strings.Contains(body, `value="我的预案"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_plans`); n != 0 {
				t.Fatalf("%d plans", n)
			}
		})
		t.Run("the form saves a plan with the shelter picked and door-to-door at orange", func(t *testing.T) {
			st, _, hdr := cw.Form("/emergency/plans/new", map[string]string{"division": communityA, "title": "我的预案", "owner": "cw.a",
				"flood.orange.actions": "逐户确认\n开放避难场所", "flood.orange.door": "1", "flood.orange.shelters": w.shelter}, sameOrigin)
			if st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/emergency/plans/") {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			id = strings.TrimSuffix(strings.TrimPrefix(hdr.Get("Location"), "/emergency/plans/"), "?saved=1")
			_, page, _ := cw.Get(hdr.Get("Location"))
			for _, want := range []string{`id="saved"`, "逐户确认", "网格员逐户确认", "上保社区应急避难场所", `id="hazard-flood"`} {
				if !strings.Contains(page, want) {
					t.Fatalf("lacks %s: %s", want, page)
				}
			}
		})
		t.Run("the edit form is filled from the current version and saving makes version 2", func(t *testing.T) {
			_, form, _ := cw.Get("/emergency/plans/" + id + "/edit")
			if !strings.Contains(form, "逐户确认\n开放避难场所</textarea>") || !strings.Contains(form, `name="flood.orange.shelters" value="`+w.shelter+`" checked`) {
				t.Fatalf("%s", form)
			}
			st, _, _ := cw.Form("/emergency/plans/"+id+"/edit", map[string]string{"title": "我的预案", "owner": "cw.a", "typhoon.red.actions": "全部转移"}, sameOrigin)
			if st != 303 || e.Count(`SELECT version FROM em_plans WHERE id = $1`, id) != 2 || e.Count(`SELECT COUNT(*) FROM em_plan_versions WHERE plan_id = $1`, id) != 2 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("a township officer first chooses the community or the township itself", func(t *testing.T) {
			_, page, _ := e.Login("officer.town").Get("/emergency/plans/new")
			if !strings.Contains(page, `href="/emergency/plans/new?division=`+townA+`"`) || !strings.Contains(page, `href="/emergency/plans/new?division=`+communityA+`"`) {
				t.Fatalf("%s", page)
			}
			_, form, _ := e.Login("officer.town").Get("/emergency/plans/new?division=" + townA)
			if !strings.Contains(form, `id="plan-form"`) || !strings.Contains(form, "上保社区应急避难场所") {
				t.Fatalf("%s", form)
			}
		})
	})
}

// The demo community gets a plan for flood and typhoon at every level
// and a team with members, skills and someone on call today.
func TestDemoGivesTheDemoCommunityAPlanAndATeamOnCall(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("demo.worker", access.CommunityWorker, communityA)
		if _, err := w.reg.CreatePerson(w.cw, registry.PersonInput{Division: communityA, Name: "吴志愿", Roles: []string{"volunteer"}}); err != nil {
			t.Fatal(err)
		}
		t.Run("the demo writes the plan and the team once, however often it runs", func(t *testing.T) {
			for range 2 {
				if err := emergency.Demo(t.Context(), w.es, "330106"); err != nil {
					t.Fatal(err)
				}
			}
			pg, err := w.es.Plans(w.cw, emergency.PlanFilter{}, "")
			if err != nil || len(pg.Items) != 1 {
				t.Fatalf("%v %+v", err, pg)
			}
			pl, err := w.es.Plan(w.cw, pg.Items[0].ID, 0)
			if err != nil || len(pl.Hazards) != 2 || pl.Hazards[0].Hazard != "flood" || pl.Hazards[1].Hazard != "typhoon" {
				t.Fatalf("%v %+v", err, pl)
			}
			for _, h := range pl.Hazards {
				if len(h.Levels) != 4 || !h.Levels[3].DoorToDoor || len(h.Levels[3].Open) != 1 {
					t.Fatalf("%+v", h)
				}
			}
			ts, err := w.es.Teams(w.cw, "")
			if err != nil || len(ts) != 1 || ts[0].Members < 3 || len(ts[0].OnCall) == 0 {
				t.Fatalf("%v %+v", err, ts)
			}
			tm, err := w.es.Team(w.cw, ts[0].ID)
			if err != nil || tm.Members[0].Name != "吴**" || len(tm.Rota) < 2 {
				t.Fatalf("%v %+v", err, tm)
			}
		})
	})
}
