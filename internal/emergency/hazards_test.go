package emergency_test

import (
	"context"
	"encoding/csv"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/module"
	"linli/internal/visits"
)

// hazardProblem is a refusal of the hazard API.
type hazardProblem struct {
	Status int `json:"status"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

func (p hazardProblem) fields() []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// requestRef is a request as the requests API answers a submission.
type requestRef struct {
	ID     string `json:"id"`
	Number string `json:"number"`
}

// hazardWork is the principal's hazard items on the 工作台.
func hazardWork(t *testing.T, w *town, user string, role access.Role, div string) []string {
	t.Helper()
	items, err := w.es.Work(as(user, role, div), &access.Principal{Username: user, Role: role, Division: div}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if it.Kind == "emergency.hazard" {
			out = append(out, it.Href+" urgent="+strconv.FormatBool(it.Urgent))
		}
	}
	return out
}

// The hazard register (隐患台账): hazards found on inspections, reported
// as fire or security requests, or found on visits, each with an owner of
// the township and a deadline, taken open → rectifying → closed with a
// history, on the owner's 工作台 until closed.
func TestHazardRegister(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw, gw, officer := e.Login("cw.a"), e.Login("gw.1"), e.Login("officer.town")
		count := func() int { return e.Count(`SELECT COUNT(*) FROM em_hazards`) }
		good := func() emergency.HazardInput {
			return emergency.HazardInput{Place: "3 幢 1 单元楼道", Kind: "fire", Level: "major", Owner: "gw.1", DueOn: "2026-12-30", Description: "楼道堆放杂物，堵塞疏散通道"}
		}
		var stair emergency.Hazard

		t.Run("a community worker registers a hazard found on an inspection, given to a grid worker with a deadline", func(t *testing.T) {
			in := good()
			in.DueOn = "2026-12-10"
			stair = apptest.JSON[emergency.Hazard](t, cw, "POST", "/api/v1/emergency/hazards", in, 201)
			if stair.Division != communityA || stair.State != emergency.HazardOpen || stair.Source != emergency.SourceInspection || stair.Owner != "gw.1" ||
				stair.Overdue || len(stair.Events) != 1 || stair.Events[0].Action != "create" || stair.CreatedBy != "cw.a" {
				t.Fatalf("%+v", stair)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.hazard.add' AND object_id = $1`, stair.ID); n != 1 {
				t.Fatalf("%d audit entries", n)
			}
		})
		t.Run("the owners offered are the workers of the hazard's township, not another township's", func(t *testing.T) {
			os := apptest.JSON[[]emergency.Candidate](t, cw, "GET", "/api/v1/emergency/hazards/owners", nil, 200)
			var names []string
			for _, o := range os {
				names = append(names, o.Username)
			}
			for _, want := range []string{"cw.a", "gw.1", "officer.town"} {
				if !slices.Contains(names, want) {
					t.Fatalf("owners %v lack %s", names, want)
				}
			}
			if slices.Contains(names, "cw.b") || slices.Contains(names, "res.a") || slices.Contains(names, "officer.county") {
				t.Fatalf("owners %v", names)
			}
		})

		fireB := apptest.JSON[requestRef](t, e.Login("res.b"), "POST", "/api/v1/requests", map[string]any{"category": "fire", "description": "消防栓被圈占"}, 201)
		t.Run("bad input is refused naming each field, and nothing is written", func(t *testing.T) {
			before := count()
			cases := []struct {
				name  string
				edit  func(*emergency.HazardInput)
				field string
			}{
				{"no place", func(in *emergency.HazardInput) { in.Place = " " }, "place"},
				{"an unknown kind", func(in *emergency.HazardInput) { in.Kind = "meteor" }, "kind"},
				{"an unknown level", func(in *emergency.HazardInput) { in.Level = "extreme" }, "level"},
				{"an owner who is not a worker of the township", func(in *emergency.HazardInput) { in.Owner = "cw.b" }, "owner"},
				{"a resident as owner", func(in *emergency.HazardInput) { in.Owner = "res.a" }, "owner"},
				{"a deadline in the past", func(in *emergency.HazardInput) { in.DueOn = "2026-11-28" }, "due_on"},
				{"a deadline that is no date", func(in *emergency.HazardInput) { in.DueOn = "下周" }, "due_on"},
				{"another community", func(in *emergency.HazardInput) { in.Division = communityB }, "division"},
				{"an unknown source", func(in *emergency.HazardInput) { in.Source = "rumour" }, "source"},
				{"a request that does not exist", func(in *emergency.HazardInput) { in.Source, in.SourceRef = "request", "no-such-request" }, "source_ref"},
				{"a request outside the jurisdiction", func(in *emergency.HazardInput) { in.Source, in.SourceRef = "request", fireB.Number }, "source_ref"},
				{"a visit that does not exist", func(in *emergency.HazardInput) { in.Source, in.SourceRef = "visit", "999999" }, "source_ref"},
			}
			for _, c := range cases {
				in := good()
				c.edit(&in)
				p := apptest.JSON[hazardProblem](t, cw, "POST", "/api/v1/emergency/hazards", in, 400)
				if !slices.Contains(p.fields(), c.field) {
					t.Errorf("%s: fields %v, want %s", c.name, p.fields(), c.field)
				}
			}
			all := apptest.JSON[hazardProblem](t, cw, "POST", "/api/v1/emergency/hazards", emergency.HazardInput{Kind: "x", Level: "y", DueOn: "2020-01-01"}, 400)
			for _, f := range []string{"place", "kind", "level", "owner", "due_on"} {
				if !slices.Contains(all.fields(), f) {
					t.Errorf("all wrong: fields %v lack %s", all.fields(), f)
				}
			}
			if n := count(); n != before {
				t.Fatalf("%d hazards, was %d", n, before)
			}
		})

		var fire, property requestRef
		t.Run("a fire request is a candidate once: registered from the prefilled form, it leaves the list and cannot be registered twice", func(t *testing.T) {
			fire = apptest.JSON[requestRef](t, e.Login("res.a"), "POST", "/api/v1/requests", map[string]any{"category": "fire", "description": "楼道里有电动车充电", "address": "上保社区 5 幢"}, 201)
			property = apptest.JSON[requestRef](t, e.Login("res.a"), "POST", "/api/v1/requests", map[string]any{"category": "property", "description": "物业费太贵"}, 201)
			cs := apptest.JSON[[]emergency.HazardCandidate](t, cw, "GET", "/api/v1/emergency/hazards/candidates", nil, 200)
			var mine *emergency.HazardCandidate
			for i, c := range cs {
				if c.Ref == property.ID || c.Ref == fireB.ID {
					t.Fatalf("candidate %+v: a property request or another community's", c)
				}
				if c.Ref == fire.ID {
					mine = &cs[i]
				}
			}
			if mine == nil || mine.Kind != "fire" || mine.Label != fire.Number || mine.Place != "上保社区 5 幢" || mine.Division != communityA {
				t.Fatalf("candidates %+v", cs)
			}
			_, page, _ := cw.Get("/emergency/hazards/candidates")
			if !strings.Contains(page, `id="register-request-`+fire.ID+`-fire"`) {
				t.Fatalf("the candidates page lacks the request: %s", page)
			}
			st, form, _ := cw.Get(mine.NewHref())
			if st != 200 || !strings.Contains(form, `name="source_ref" value="`+fire.ID+`"`) || !strings.Contains(form, `value="上保社区 5 幢"`) || !strings.Contains(form, `<option value="fire" selected>`) {
				t.Fatalf("%d %s", st, form)
			}
			st, _, hdr := cw.Form("/emergency/hazards/new", map[string]string{"source": "request", "source_ref": fire.ID, "division": communityA, "place": "上保社区 5 幢",
				"kind": "fire", "level": "general", "owner": "cw.a", "due_on": "2026-12-05"}, sameOrigin)
			if st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/emergency/hazards/") {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			id := strings.TrimSuffix(strings.TrimPrefix(hdr.Get("Location"), "/emergency/hazards/"), "?done=1")
			h := apptest.JSON[emergency.Hazard](t, cw, "GET", "/api/v1/emergency/hazards/"+id, nil, 200)
			if h.Source != "request" || h.SourceRef != fire.ID || h.SourceLabel != fire.Number || h.SourceHref != "/requests/"+fire.ID {
				t.Fatalf("%+v", h)
			}
			for _, c := range apptest.JSON[[]emergency.HazardCandidate](t, cw, "GET", "/api/v1/emergency/hazards/candidates", nil, 200) {
				if c.Ref == fire.ID {
					t.Fatal("the registered request is still a candidate")
				}
			}
			before := count()
			in := good()
			in.Source, in.SourceRef = "request", fire.Number // by number this time
			if st, body := cw.Do("POST", "/api/v1/emergency/hazards", in); st != 409 {
				t.Fatalf("the same request twice: %d %s", st, body)
			}
			if n := count(); n != before {
				t.Fatalf("%d hazards, was %d", n, before)
			}
		})

		t.Run("a visit's unsafe gas finding is a candidate of kind gas; registered, it leaves the list", func(t *testing.T) {
			w.tag(t, w.cw, w.elder, "empty_nest", "", "")
			vs := visits.StoreOf(e.App.Module("visits"))
			m, err := visits.ParseMonth("2026-11")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vs.Schedule(context.Background(), m, ""); err != nil {
				t.Fatal(err)
			}
			var vid int64
			if err := e.App.DB.R.QueryRow(`SELECT id FROM vis_visits WHERE resident_id = $1`, w.elder).Scan(&vid); err != nil {
				t.Fatal(err)
			}
			if _, err := vs.Record(w.cw, vid, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-11-28T10:00", Outcome: visits.OutcomeDone, Risk: visits.RiskNormal,
				Answers: map[string][]string{"health": {"fair"}, "living": {"good"}, "gas_safe": {"no"}, "power_safe": {"yes"}}}); err != nil {
				t.Fatal(err)
			}
			ref := strconv.FormatInt(vid, 10)
			var kinds []string
			for _, c := range apptest.JSON[[]emergency.HazardCandidate](t, cw, "GET", "/api/v1/emergency/hazards/candidates", nil, 200) {
				if c.Source == "visit" && c.Ref == ref {
					kinds = append(kinds, c.Kind)
				}
			}
			if !slices.Equal(kinds, []string{"gas"}) {
				t.Fatalf("the visit's candidates are of kinds %v", kinds)
			}
			in := good()
			in.Source, in.SourceRef, in.Kind, in.Owner = "visit", ref, "electrical", "cw.a"
			if p := apptest.JSON[hazardProblem](t, cw, "POST", "/api/v1/emergency/hazards", in, 400); !slices.Equal(p.fields(), []string{"source_ref"}) {
				t.Fatalf("a kind the visit did not find: %v", p.fields())
			}
			in.Kind = "gas"
			h := apptest.JSON[emergency.Hazard](t, cw, "POST", "/api/v1/emergency/hazards", in, 201)
			if h.Source != "visit" || h.SourceHref != "/visits/"+ref || !strings.Contains(h.SourceLabel, "2026-11-28") {
				t.Fatalf("%+v", h)
			}
			if st, _ := cw.Do("POST", "/api/v1/emergency/hazards", in); st != 409 {
				t.Fatalf("the same finding twice: %d", st)
			}
			for _, c := range apptest.JSON[[]emergency.HazardCandidate](t, cw, "GET", "/api/v1/emergency/hazards/candidates", nil, 200) {
				if c.Source == "visit" && c.Ref == ref {
					t.Fatal("the registered finding is still a candidate")
				}
			}
		})

		t.Run("the hazard is on its owner's 工作台, urgent once overdue, and leaves it when closed", func(t *testing.T) {
			href := "/emergency/hazards/" + stair.ID
			if got := hazardWork(t, w, "gw.1", access.GridWorker, communityA); !slices.Equal(got, []string{href + " urgent=false"}) {
				t.Fatalf("gw.1's hazards %v", got)
			}
			if got := hazardWork(t, w, "gw.2", access.GridWorker, communityA); len(got) != 0 {
				t.Fatalf("gw.2 owns nothing: %v", got)
			}
			_, page, _ := gw.Get("/work")
			if !strings.Contains(page, href) {
				t.Fatalf("the 工作台 lacks the hazard: %s", page)
			}
			e.Clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))                  // 10:00 on 11 December in China: past the deadline
			cw, gw, officer = e.Login("cw.a"), e.Login("gw.1"), e.Login("officer.town") // the sessions of twelve days ago are over
			if got := hazardWork(t, w, "gw.1", access.GridWorker, communityA); !slices.Equal(got, []string{href + " urgent=true"}) {
				t.Fatalf("overdue: %v", got)
			}
			overdue := apptest.JSON[emergency.HazardPage](t, cw, "GET", "/api/v1/emergency/hazards?overdue=true", nil, 200)
			var ids []string
			for _, h := range overdue.Items {
				ids = append(ids, h.ID)
				if !h.Overdue {
					t.Fatalf("%+v", h)
				}
			}
			if !slices.Contains(ids, stair.ID) {
				t.Fatalf("overdue %v", ids)
			}
		})

		t.Run("the owner rectifies and closes with a note; closing without one is refused; reopening needs the reason; the history keeps each step", func(t *testing.T) {
			events := "/api/v1/emergency/hazards/" + stair.ID + "/events"
			h := apptest.JSON[emergency.Hazard](t, gw, "POST", events, emergency.HazardAction{Action: "rectify"}, 200)
			if h.State != emergency.HazardRectifying || !slices.Equal(h.Actions, []string{"close"}) {
				t.Fatalf("%+v", h)
			}
			if p := apptest.JSON[hazardProblem](t, gw, "POST", events, emergency.HazardAction{Action: "close", Note: "  "}, 400); !slices.Equal(p.fields(), []string{"note"}) {
				t.Fatalf("closing without a note: %v", p.fields())
			}
			if p := apptest.JSON[hazardProblem](t, gw, "POST", events, emergency.HazardAction{Action: "reopen", Note: "x"}, 400); !slices.Equal(p.fields(), []string{"action"}) {
				t.Fatalf("reopening an open hazard: %v", p.fields())
			}
			if p := apptest.JSON[hazardProblem](t, gw, "POST", events, emergency.HazardAction{Action: "burn"}, 400); !slices.Equal(p.fields(), []string{"action"}) {
				t.Fatalf("an unknown action: %v", p.fields())
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_hazard_events WHERE hazard_id = $1`, stair.ID); n != 2 {
				t.Fatalf("%d events after refusals", n)
			}
			h = apptest.JSON[emergency.Hazard](t, gw, "POST", events, emergency.HazardAction{Action: "close", Note: "杂物已清理，张贴禁止堆放提示"}, 200)
			if h.State != emergency.HazardClosed || h.Overdue {
				t.Fatalf("%+v", h)
			}
			if got := hazardWork(t, w, "gw.1", access.GridWorker, communityA); len(got) != 0 {
				t.Fatalf("closed, still on the 工作台: %v", got)
			}
			if p := apptest.JSON[hazardProblem](t, cw, "POST", events, emergency.HazardAction{Action: "reopen"}, 400); !slices.Equal(p.fields(), []string{"note"}) {
				t.Fatalf("reopening without the reason: %v", p.fields())
			}
			h = apptest.JSON[emergency.Hazard](t, cw, "POST", events, emergency.HazardAction{Action: "reopen", Note: "复查发现又有堆放"}, 200)
			var steps []string
			for _, ev := range h.Events {
				steps = append(steps, ev.Action+":"+ev.To+":"+ev.By)
			}
			if want := []string{"create:open:cw.a", "rectify:rectifying:gw.1", "close:closed:gw.1", "reopen:open:cw.a"}; !slices.Equal(steps, want) || h.Events[2].Note != "杂物已清理，张贴禁止堆放提示" {
				t.Fatalf("history %v, want %v", steps, want)
			}
			if got := hazardWork(t, w, "gw.1", access.GridWorker, communityA); len(got) != 1 {
				t.Fatalf("reopened, not back on the 工作台: %v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE object = 'hazard' AND object_id = $1`, stair.ID); n != 4 {
				t.Fatalf("%d audit entries, want one per step", n)
			}
		})

		t.Run("scoping: a grid worker reads and registers but changes only what is theirs; another township sees nothing; a resident is refused", func(t *testing.T) {
			gw2 := e.Login("gw.2")
			if pg := apptest.JSON[emergency.HazardPage](t, gw2, "GET", "/api/v1/emergency/hazards", nil, 200); len(pg.Items) != 3 {
				t.Fatalf("gw.2 reads %d", len(pg.Items))
			}
			in := good()
			in.Owner = "gw.2"
			mine := apptest.JSON[emergency.Hazard](t, gw2, "POST", "/api/v1/emergency/hazards", in, 201)
			if st, _ := gw2.Do("POST", "/api/v1/emergency/hazards/"+stair.ID+"/events", emergency.HazardAction{Action: "rectify"}); st != 403 {
				t.Fatalf("a grid worker changing another's hazard: %d", st)
			}
			apptest.JSON[emergency.Hazard](t, gw2, "POST", "/api/v1/emergency/hazards/"+mine.ID+"/events", emergency.HazardAction{Action: "rectify"}, 200)
			if pg := apptest.JSON[emergency.HazardPage](t, officer, "GET", "/api/v1/emergency/hazards", nil, 200); len(pg.Items) != 4 {
				t.Fatalf("the township officer reads %d", len(pg.Items))
			}
			apptest.JSON[emergency.Hazard](t, officer, "POST", "/api/v1/emergency/hazards/"+mine.ID+"/events", emergency.HazardAction{Action: "close", Note: "已督办完成"}, 200)
			cwB := e.Login("cw.b")
			if pg := apptest.JSON[emergency.HazardPage](t, cwB, "GET", "/api/v1/emergency/hazards", nil, 200); len(pg.Items) != 0 {
				t.Fatalf("another community reads %d", len(pg.Items))
			}
			if st, _ := cwB.Do("GET", "/api/v1/emergency/hazards/"+stair.ID, nil); st != 404 {
				t.Fatalf("%d", st)
			}
			if st, _ := cwB.Do("POST", "/api/v1/emergency/hazards/"+stair.ID+"/events", emergency.HazardAction{Action: "rectify"}); st != 404 {
				t.Fatalf("%d", st)
			}
			for _, path := range []string{"/api/v1/emergency/hazards", "/api/v1/emergency/hazards/candidates", "/api/v1/emergency/hazards/" + stair.ID} {
				if st, _ := e.Login("res.a").Do("GET", path, nil); st != 403 {
					t.Fatalf("a resident reads %s: %d", path, st)
				}
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/emergency/hazards", good()); st != 403 {
				t.Fatalf("a resident registers: %d", st)
			}
		})

		t.Run("the list filters by state and kind, refuses an unknown filter, and pages by key", func(t *testing.T) {
			closed := apptest.JSON[emergency.HazardPage](t, cw, "GET", "/api/v1/emergency/hazards?state=closed", nil, 200)
			gas := apptest.JSON[emergency.HazardPage](t, cw, "GET", "/api/v1/emergency/hazards?kind=gas", nil, 200)
			if len(closed.Items) != 1 || closed.Items[0].State != "closed" || len(gas.Items) != 1 || gas.Items[0].Kind != "gas" {
				t.Fatalf("closed %+v, gas %+v", closed.Items, gas.Items)
			}
			p := apptest.JSON[hazardProblem](t, cw, "GET", "/api/v1/emergency/hazards?state=gone&kind=meteor", nil, 400)
			if !slices.Equal(p.fields(), []string{"state", "kind"}) {
				t.Fatalf("%v", p.fields())
			}
			for i := range 30 {
				in := good()
				in.Place, in.DueOn = "巡查点 "+strconv.Itoa(i), "2026-12-2"+strconv.Itoa(i%8)
				apptest.JSON[emergency.Hazard](t, cw, "POST", "/api/v1/emergency/hazards", in, 201)
			}
			seen := map[string]bool{}
			last := ""
			path := "/api/v1/emergency/hazards"
			for pages := 0; ; pages++ {
				pg := apptest.JSON[emergency.HazardPage](t, cw, "GET", path, nil, 200)
				for _, h := range pg.Items {
					if seen[h.ID] || h.DueOn < last {
						t.Fatalf("page %d: %s again or out of order", pages, h.ID)
					}
					seen[h.ID], last = true, h.DueOn
				}
				if pg.Next == "" {
					if pages != 1 {
						t.Fatalf("%d pages", pages+1)
					}
					break
				}
				path = "/api/v1/emergency/hazards?cursor=" + url.QueryEscape(pg.Next)
			}
			if want := e.Count(`SELECT COUNT(*) FROM em_hazards WHERE division_code = $1`, communityA); len(seen) != want || want != 34 {
				t.Fatalf("paged through %d of %d", len(seen), want)
			}
		})

		t.Run("the pages register and change a hazard without JavaScript, keeping what was typed on an error, and export CSV", func(t *testing.T) {
			st, body, _ := cw.Form("/emergency/hazards/new", map[string]string{"source": "inspection", "division": communityA, "place": "地下车库", "kind": "flood", "level": "severe", "due_on": "2026-12-31"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-owner"`) || !strings.Contains(body, `value="地下车库"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, _, hdr := cw.Form("/emergency/hazards/new", map[string]string{"source": "inspection", "division": communityA, "place": "地下车库", "kind": "flood", "level": "severe",
				"owner": "gw.2", "due_on": "2026-12-31"}, sameOrigin)
			if st != 303 {
				t.Fatalf("%d", st)
			}
			loc := hdr.Get("Location")
			_, page, _ := cw.Get(loc)
			if !strings.Contains(page, `id="done"`) || !strings.Contains(page, `id="hazard-act"`) || !strings.Contains(page, "地下车库") {
				t.Fatalf("%s", page)
			}
			id := strings.TrimSuffix(strings.TrimPrefix(loc, "/emergency/hazards/"), "?done=1")
			st, body, _ = cw.Form("/emergency/hazards/"+id, map[string]string{"action": "close"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-note"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, _, _ = cw.Form("/emergency/hazards/"+id, map[string]string{"action": "close", "note": "已加装挡水板"}, sameOrigin)
			_, page, _ = cw.Get("/emergency/hazards/" + id)
			if st != 303 || !strings.Contains(page, "已加装挡水板") || !strings.Contains(page, `value="reopen"`) {
				t.Fatalf("%d %s", st, page)
			}
			_, list, _ := cw.Get("/emergency/hazards?kind=flood")
			if !strings.Contains(list, "地下车库") || strings.Contains(list, "巡查点") {
				t.Fatalf("%s", list)
			}
			_, empty, _ := cw.Get("/emergency/hazards?kind=structural")
			if !strings.Contains(empty, "没有符合条件的隐患") {
				t.Fatalf("%s", empty)
			}
			st, text, h := cw.Get("/emergency/hazards.csv?state=closed")
			rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
			if st != 200 || err != nil || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || len(rows) != 3 {
				t.Fatalf("%d %v %d rows: %s", st, err, len(rows), text)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.hazard.export'`); n != 1 {
				t.Fatalf("%d export audit entries", n)
			}
			if _, em, _ := cw.Get("/emergency"); !strings.Contains(em, `href="/emergency/hazards"`) {
				t.Fatal("the warnings page does not link the register")
			}
		})
	})
}

// The demo leaves a small register in demo.worker's community: the fire
// request there registered, a flooding hazard past its deadline, an
// electrical one closed; a second run adds nothing.
func TestHazardDemo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		newTown(t, e)
		e.User("demo.worker", access.CommunityWorker, communityA)
		e.User("demo.grid", access.GridWorker, communityA)
		fire := apptest.JSON[requestRef](t, e.Login("res.a"), "POST", "/api/v1/requests", map[string]any{"category": "fire", "description": "消防通道被占用"}, 201)
		demo, ok := e.App.Module("emergency").(module.Demo)
		if !ok {
			t.Fatal("the emergency module has no demo")
		}
		for range 2 {
			if err := demo.Demo(t.Context(), module.DemoOptions{County: apptest.County}); err != nil {
				t.Fatal(err)
			}
		}
		pg := apptest.JSON[emergency.HazardPage](t, e.Login("demo.worker"), "GET", "/api/v1/emergency/hazards", nil, 200)
		got := map[string]emergency.Hazard{}
		for _, h := range pg.Items {
			got[h.Source+"/"+h.Kind+"/"+h.State] = h
		}

		t.Run("three hazards: the fire request, an overdue flooding hazard and a closed electrical one, once", func(t *testing.T) {
			if len(pg.Items) != 3 || got["request/fire/open"].SourceRef != fire.ID || !got["inspection/flood/open"].Overdue || got["inspection/electrical/closed"].ID == "" {
				t.Fatalf("%+v", pg.Items)
			}
		})
		t.Run("the overdue one is urgent on demo.worker's 工作台; the request's is on the grid worker's", func(t *testing.T) {
			w := &town{e: e, es: emergency.StoreOf(e.App.Module("emergency"))}
			if items := hazardWork(t, w, "demo.worker", access.CommunityWorker, communityA); !slices.Equal(items, []string{"/emergency/hazards/" + got["inspection/flood/open"].ID + " urgent=true"}) {
				t.Fatalf("%v", items)
			}
			if items := hazardWork(t, w, "demo.grid", access.GridWorker, communityA); len(items) != 1 {
				t.Fatalf("%v", items)
			}
		})
	})
}
