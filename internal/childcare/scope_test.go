package childcare_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/childcare"
	"linli/internal/registry"
	"linli/internal/web"
)

const communityB = apptest.CommunityB

func fields(p web.Problem) string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return strings.Join(out, ",")
}

// Settings, applications and rules stay inside their jurisdiction, and
// bad input names its fields and writes nothing.
func TestChildcareScopeAndRules(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("cw.b", access.CommunityWorker, communityB)
		e.User("off.county", access.Officer, county)
		e.User("off.town", access.Officer, communityA[:9])
		e.User("res.a", access.Resident, communityA)
		reg := registry.StoreOf(e.App.Module("registry"))
		kid := family(t, reg, 1, "res.a", time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), "")
		cw, cwB, off, res := e.Login("cw.a"), e.Login("cw.b"), e.Login("off.county"), e.Login("res.a")
		t.Run("a setting with bad input names every bad field and is not written", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: communityB, Kind: "zoo", Name: " ",
				Places: map[string]int{"babies": 3}}, 400)
			if got := fields(p); got != "division_code,kind,name,places.babies" {
				t.Errorf("fields %s", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM cc_settings`); n != 0 {
				t.Errorf("%d settings written", n)
			}
		})
		t.Run("a resident cannot register a setting", func(t *testing.T) {
			if st, _ := res.Do("POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: communityA, Kind: "family", Name: "x", Places: map[string]int{"older": 2}}); st != http.StatusForbidden {
				t.Errorf("status %d", st)
			}
		})
		st := apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: communityA, Kind: "family", Name: "上保家庭托育点",
			Places: map[string]int{"toddler": 1, "older": 2}}, 201)
		apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings/"+st.ID+"/filings", childcare.FilingInput{Applicant: "王阿姨", Premises: "自有住房一楼",
			Carers: 1, FiledOn: "2026-02-01", ValidUntil: "2028-01-31"}, 201)
		t.Run("another community's worker finds neither the setting nor its waiting list", func(t *testing.T) {
			for _, path := range []string{"/api/v1/childcare/settings/" + st.ID, "/api/v1/childcare/settings/" + st.ID + "/applications"} {
				if code, _ := cwB.Do("GET", path, nil); code != http.StatusNotFound {
					t.Errorf("%s: %d", path, code)
				}
			}
			pg := apptest.JSON[childcare.Page](t, cwB, "GET", "/api/v1/childcare/settings", nil, 200)
			if pg.Total != 0 {
				t.Errorf("community B lists %d settings", pg.Total)
			}
		})
		t.Run("the county's list finds the setting by kind and name, not by another", func(t *testing.T) {
			if pg := apptest.JSON[childcare.Page](t, off, "GET", "/api/v1/childcare/settings?kind=family&q=上保", nil, 200); pg.Total != 1 || !pg.Items[0].Filed || pg.Items[0].TotalPlaces() != 3 {
				t.Errorf("list %+v", pg)
			}
			if pg := apptest.JSON[childcare.Page](t, off, "GET", "/api/v1/childcare/settings?kind=institution", nil, 200); pg.Total != 0 {
				t.Errorf("institutions %d", pg.Total)
			}
			p := apptest.JSON[web.Problem](t, off, "GET", "/api/v1/childcare/settings?kind=zoo", nil, 400)
			if fields(p) != "kind" {
				t.Errorf("fields %s", fields(p))
			}
		})
		t.Run("only a county officer sets the county's rules, and a rule names a catalogue tag", func(t *testing.T) {
			rules := []childcare.Rule{{Code: "orphan", Kind: "tag", Tag: "orphan", Points: 50, NameZH: "孤儿"}, {Code: "local", Kind: "local", Points: 5, NameZH: "本社区"}}
			if code, _ := e.Login("off.town").Do("PUT", "/api/v1/childcare/rules", childcare.RulesInput{County: county, Rules: rules}); code != http.StatusForbidden {
				t.Errorf("township officer: %d", code)
			}
			p := apptest.JSON[web.Problem](t, off, "PUT", "/api/v1/childcare/rules", childcare.RulesInput{County: county, Rules: []childcare.Rule{{Code: "x", Kind: "tag", Tag: "no_such_tag", Points: 500, NameZH: "x"}}}, 400)
			if fields(p) != "rules[0].tag,rules[0].points" {
				t.Errorf("fields %s", fields(p))
			}
			got := apptest.JSON[[]childcare.Rule](t, off, "PUT", "/api/v1/childcare/rules", childcare.RulesInput{County: county, Rules: rules}, 200)
			if len(got) != 2 || got[0].Code != "orphan" {
				t.Errorf("rules %+v", got)
			}
		})
		t.Run("an application is scored by the county's own rules", func(t *testing.T) {
			a := apptest.JSON[childcare.Application](t, res, "POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: kid}, 201)
			if a.Priority != 5 || len(a.Reasons) != 1 || a.Reasons[0] != "本社区 +5" {
				t.Errorf("priority %d %v", a.Priority, a.Reasons)
			}
		})
		t.Run("a child already waiting cannot apply again", func(t *testing.T) {
			apptest.JSON[web.Problem](t, res, "POST", "/api/v1/childcare/applications", childcare.ApplyInput{SettingID: st.ID, ChildID: kid}, 409)
		})
		t.Run("a resident cannot enrol, another community's worker finds nothing to enrol", func(t *testing.T) {
			q := apptest.JSON[[]childcare.Application](t, cw, "GET", "/api/v1/childcare/settings/"+st.ID+"/applications", nil, 200)
			if len(q) != 1 {
				t.Fatalf("queue %d", len(q))
			}
			if code, _ := res.Do("POST", "/api/v1/childcare/enrolments", childcare.EnrolInput{ApplicationID: q[0].ID}); code != http.StatusForbidden {
				t.Errorf("resident: %d", code)
			}
			if code, _ := cwB.Do("POST", "/api/v1/childcare/enrolments", childcare.EnrolInput{ApplicationID: q[0].ID}); code != http.StatusNotFound {
				t.Errorf("worker B: %d", code)
			}
			apptest.JSON[web.Problem](t, cw, "POST", "/api/v1/childcare/enrolments/"+q[0].ID+"/leave", nil, 409)
		})
		t.Run("every change is audited", func(t *testing.T) {
			for _, a := range []string{"childcare.setting.create", "childcare.filing.add", "childcare.rules.set", "childcare.apply", "childcare.queue.read"} {
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, a); n == 0 {
					t.Errorf("no %s entry", a)
				}
			}
		})
	})
}

// The pages work without JavaScript: a refused application shows the
// form again with the field's message, a good one and an enrolment go
// through as forms.
func TestChildcarePages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("cw.a", access.CommunityWorker, communityA)
		e.User("res.a", access.Resident, communityA)
		reg := registry.StoreOf(e.App.Module("registry"))
		kid := family(t, reg, 1, "res.a", time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC), "") // 33 months
		cw, res := e.Login("cw.a"), e.Login("res.a")
		st := apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: communityA, Kind: "institution", Name: "上保乳儿园",
			Places: map[string]int{"infant": 4}}, 201)
		t.Run("an unfiled setting is not offered to families", func(t *testing.T) {
			_, body, _ := res.Get("/childcare/apply")
			if !strings.Contains(body, `id="no-settings"`) {
				t.Error("the apply page offers an unfiled setting")
			}
		})
		t.Run("the filing form refuses a filing ending before it starts and names the field", func(t *testing.T) {
			code, body, _ := cw.Form("/childcare/settings/"+st.ID+"/filings", map[string]string{"applicant": "甲", "premises": "乙", "carers": "2", "filed_on": "2026-03-01", "valid_until": "2026-02-01"}, nil)
			if code != 400 || !strings.Contains(body, "有效期至须晚于备案日期") {
				t.Errorf("status %d", code)
			}
			code, _, _ = cw.Form("/childcare/settings/"+st.ID+"/filings", map[string]string{"applicant": "甲", "premises": "乙", "carers": "2", "filed_on": "2026-03-01", "valid_until": "2027-03-01"}, nil)
			if code != http.StatusSeeOther {
				t.Errorf("good filing: %d", code)
			}
		})
		t.Run("the form refuses a child older than the setting takes, naming the age", func(t *testing.T) {
			code, body, _ := res.Form("/childcare/apply", map[string]string{"child_id": kid, "setting_id": st.ID}, nil)
			if code != 400 || !strings.Contains(body, "孩子现年 33 个月，该托育点不收这个年龄（收 6–12 个月）") {
				t.Errorf("status %d", code)
			}
			if n := e.Count(`SELECT COUNT(*) FROM cc_applications`); n != 0 {
				t.Errorf("%d written", n)
			}
		})
		older := apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings", childcare.SettingInput{Division: communityA, Kind: "community", Name: "上保托大班",
			Places: map[string]int{"older": 1}}, 201)
		apptest.JSON[childcare.Setting](t, cw, "POST", "/api/v1/childcare/settings/"+older.ID+"/filings", childcare.FilingInput{Applicant: "社区", Premises: "邻里中心二楼", Carers: 2, FiledOn: "2026-01-01", ValidUntil: "2027-12-31"}, 201)
		t.Run("a good application goes through the form and the worker enrols it by form", func(t *testing.T) {
			code, _, hdr := res.Form("/childcare/apply", map[string]string{"child_id": kid, "setting_id": older.ID}, nil)
			if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/childcare/applications/") {
				t.Fatalf("apply: %d %s", code, hdr.Get("Location"))
			}
			id := strings.TrimSuffix(strings.TrimPrefix(hdr.Get("Location"), "/childcare/applications/"), "?applied=1")
			if code, body, _ := res.Get(hdr.Get("Location")); code != 200 || !strings.Contains(body, `data-status="waiting"`) {
				t.Errorf("application page %d", code)
			}
			code, _, hdr = cw.Form("/childcare/applications/"+id+"/enrol", map[string]string{}, nil)
			if code != http.StatusSeeOther || hdr.Get("Location") != "/childcare/settings/"+older.ID+"?done=1" {
				t.Errorf("enrol: %d %s", code, hdr.Get("Location"))
			}
			_, body, _ := cw.Get("/childcare/settings/" + older.ID)
			if !strings.Contains(body, `id="leave-`+id+`"`) || !strings.Contains(body, `id="no-waiting"`) {
				t.Error("the setting page does not show the child enrolled")
			}
		})
	})
}
