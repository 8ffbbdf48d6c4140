package emergency_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
)

// review is a complete review of an incident: one finding for the grid
// worker gw.1, one for the community worker cw.a.
func review(alert string) emergency.ReviewInput {
	return emergency.ReviewInput{AlertID: alert, Happened: "台风夜间登陆，社区逐户确认。", Worked: "结对帮扶人 10 分钟内联系到独居老人。",
		Failed: "失能居民未结对，由网格员临时联系。", Findings: []emergency.FindingInput{
			{Text: "为失能居民李某结对帮扶人", Owner: "gw.1", DueOn: "2026-12-15"},
			{Text: "补充避难场所床位", Owner: "cw.a", DueOn: "2026-12-31"}}}
}

// After a warning is over, the township officer reviews it: the figures
// per community are counted from the check-ins and kept, the accounts
// that reported are listed, and each finding waits on its owner's
// 工作台 until done. A review is written once, and only when the warning
// is over.
func TestAnIncidentIsReviewedOnceItsWarningIsOver(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("officer.west", access.Officer, communityB[:9])
		// A fresh session each time: the clock moves past a session's life.
		officer := func() *apptest.Client { return e.Login("officer.town") }
		start := e.Clock.Now()
		issued := w.issue(t, orange(communityA))
		inc := issued.Alert.IncidentID
		post := func(t *testing.T, user string, in emergency.ReviewInput, want int) string {
			t.Helper()
			st, body := e.Login(user).Do("POST", "/api/v1/emergency/reviews", in)
			if st != want {
				t.Fatalf("%s: %d, want %d: %s", user, st, want, body)
			}
			return body
		}
		written := func() int {
			return e.Count(`SELECT COUNT(*) FROM em_reviews`) + e.Count(`SELECT COUNT(*) FROM em_review_figures`) + e.Count(`SELECT COUNT(*) FROM em_findings`)
		}

		t.Run("while the warning is in force the review is refused with a clear conflict", func(t *testing.T) {
			body := post(t, "officer.town", review(issued.Alert.ID), 409)
			if !strings.Contains(body, "尚未解除或失效") || written() != 0 {
				t.Fatalf("%s", body)
			}
		})
		t.Run("the check-ins are recorded over forty minutes and the warning is cancelled", func(t *testing.T) {
			elder, _, _ := w.checkOf(t, inc, "person", w.elder)
			bed, _, _ := w.checkOf(t, inc, "person", w.bed)
			h1, _, _ := w.checkOf(t, inc, "household", w.h1)
			report := func(user string, at time.Duration, in emergency.CheckinInput) {
				e.Clock.Set(start.Add(at))
				in.AlertID = issued.Alert.ID
				apptest.JSON[emergency.CheckinResult](t, e.Login(user), "POST", "/api/v1/emergency/checkins", in, 200)
			}
			report("nb.1", 10*time.Minute, emergency.CheckinInput{CheckID: elder, Status: "needs_help", Note: "需要协助下楼"})
			report("nb.1", 20*time.Minute, emergency.CheckinInput{CheckID: elder, Status: "evacuated", ShelterID: w.shelter})
			report("gw.1", 25*time.Minute, emergency.CheckinInput{CheckID: h1, Status: "evacuated", ShelterID: w.shelter, People: 2})
			report("res.a", 30*time.Minute, emergency.CheckinInput{Status: "safe"})
			report("gw.2", 40*time.Minute, emergency.CheckinInput{CheckID: bed, Status: "safe"})
			e.Clock.Set(start.Add(3 * time.Hour))
			apptest.JSON[emergency.Alert](t, officer(), "POST", "/api/v1/emergency/alerts/"+issued.Alert.ID+"/cancel", emergency.CancelInput{}, 201)
		})
		t.Run("bad input is refused naming each field, and nothing is written", func(t *testing.T) {
			in := review(issued.Alert.ID)
			in.Happened = " "
			in.Findings = []emergency.FindingInput{{Text: "整改", Owner: "cw.b", DueOn: "2026-12-15"}, {Text: "整改", Owner: "gw.1", DueOn: "2026-02-30"},
				{Text: "整改", Owner: "gw.1", DueOn: "2026-11-01"}, {Text: "", Owner: "gw.1", DueOn: "2026-12-15"}}
			body := post(t, "officer.town", in, 400)
			for _, f := range []string{`"happened"`, `"findings[0].owner"`, `"findings[1].due_on"`, `"findings[2].due_on"`, `"findings[3].text"`} {
				if !strings.Contains(body, f) {
					t.Fatalf("no %s in %s", f, body)
				}
			}
			if strings.Contains(body, `"worked"`) || written() != 0 {
				t.Fatalf("%s", body)
			}
		})
		t.Run("a resident, a community worker and another township's officer are refused, and nothing is written", func(t *testing.T) {
			post(t, "res.a", review(issued.Alert.ID), 403)
			post(t, "cw.a", review(issued.Alert.ID), 403)
			post(t, "officer.west", review(issued.Alert.ID), 404)
			if written() != 0 {
				t.Fatal("written")
			}
		})
		var rv emergency.Review
		t.Run("the township officer writes the review; its figures are those counted from the check-ins", func(t *testing.T) {
			rv = apptest.JSON[emergency.Review](t, officer(), "POST", "/api/v1/emergency/reviews", review(issued.Alert.ID), 201)
			if rv.Drill || len(rv.Figures) != 1 || len(rv.Findings) != 2 {
				t.Fatalf("%+v", rv)
			}
			f := rv.Figures[0]
			count := func(cond string) int {
				return e.Count(`SELECT COUNT(*) FROM em_checks c WHERE c.incident_id = $1 AND c.division_code = $2 AND `+cond, inc, communityA)
			}
			reached := `c.status IN ('safe', 'needs_help', 'evacuated')`
			helped := `EXISTS (SELECT 1 FROM em_check_events x WHERE x.check_id = c.id AND x.to_status = 'needs_help')`
			if f.Division != communityA || f.Households != count(`c.kind = 'household'`) || f.HouseholdsReached != count(`c.kind = 'household' AND `+reached) ||
				f.Vulnerable != count(`c.kind = 'person'`) || f.VulnerableReached != count(`c.kind = 'person' AND `+reached) || f.HelpRequests != count(helped) {
				t.Fatalf("%+v", f)
			}
			// Four households, two reached; both vulnerable residents
			// reached, the last 40 minutes after the warning; the elder
			// asked for help; h1's two people moved (the elder among them).
			if f.Households != 4 || f.HouseholdsReached != 2 || f.Vulnerable != 2 || f.VulnerableReached != 2 || f.MinutesToAll == nil || *f.MinutesToAll != 40 ||
				f.HelpRequests != 1 || f.Moved != 2 {
				t.Fatalf("%+v (minutes %v)", f, f.MinutesToAll)
			}
		})
		t.Run("the accounts that reported are its participants; the resident is only counted", func(t *testing.T) {
			var names []string
			for _, p := range rv.Participants {
				names = append(names, p.Username)
			}
			if strings.Join(names, ",") != "gw.1,gw.2,nb.1" || rv.ResidentsReported != 1 {
				t.Fatalf("%v %d", names, rv.ResidentsReported)
			}
		})
		t.Run("the figures stay as counted when the records change later", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`UPDATE em_checks SET status = 'pending' WHERE incident_id = $1`, inc); err != nil {
				t.Fatal(err)
			}
			got := apptest.JSON[emergency.Review](t, officer(), "GET", "/api/v1/emergency/reviews/"+rv.ID, nil, 200)
			if got.Figures[0].VulnerableReached != 2 || got.Total.MinutesToAll == nil || *got.Total.MinutesToAll != 40 {
				t.Fatalf("%+v", got.Figures)
			}
		})
		t.Run("a second review of the incident is refused", func(t *testing.T) {
			body := post(t, "officer.town", review(issued.Alert.ID), 409)
			if !strings.Contains(body, "已复盘") || e.Count(`SELECT COUNT(*) FROM em_reviews`) != 1 {
				t.Fatalf("%s", body)
			}
		})
		findings := func(t *testing.T, user string, role access.Role, division string) []string {
			t.Helper()
			items, err := w.es.Work(as(user, role, division), &access.Principal{Username: user, Role: role, Division: division}, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				if it.Kind == "emergency.finding" {
					out = append(out, it.Title.ZH+" "+it.Href)
				}
			}
			return out
		}
		var gw1Finding emergency.Finding
		t.Run("each finding is on its owner's 工作台 and no one else's", func(t *testing.T) {
			if len(rv.Findings) != 2 {
				t.Fatalf("%+v", rv.Findings)
			}
			gw1Finding = rv.Findings[0]
			got := findings(t, "gw.1", access.GridWorker, communityA)
			if len(got) != 1 || got[0] != "为失能居民李某结对帮扶人 /emergency/reviews/"+rv.ID+"#finding-"+gw1Finding.ID {
				t.Fatalf("%v", got)
			}
			if got := findings(t, "cw.a", access.CommunityWorker, communityA); len(got) != 1 || !strings.HasPrefix(got[0], "补充避难场所床位") {
				t.Fatalf("%v", got)
			}
			if got := findings(t, "gw.2", access.GridWorker, communityA); len(got) != 0 {
				t.Fatalf("%v", got)
			}
		})
		t.Run("someone else cannot close it; a worker out of scope does not see the review", func(t *testing.T) {
			if st, body := e.Login("gw.2").Do("POST", "/api/v1/emergency/reviews/"+rv.ID+"/findings/"+gw1Finding.ID+"/done", emergency.DoneInput{}); st != 403 {
				t.Fatalf("%d %s", st, body)
			}
			if st, _ := e.Login("cw.b").Do("GET", "/api/v1/emergency/reviews/"+rv.ID, nil); st != 404 {
				t.Fatalf("%d", st)
			}
			if st, _ := e.Login("res.a").Do("GET", "/api/v1/emergency/reviews", nil); st != 403 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("the owner closes the finding from the review page and it leaves the 工作台", func(t *testing.T) {
			gw := e.Login("gw.1")
			_, page, _ := gw.Get("/emergency/reviews/" + rv.ID)
			if !strings.Contains(page, `id="done-`+gw1Finding.ID+`"`) || strings.Contains(page, `id="done-`+rv.Findings[1].ID+`"`) {
				t.Fatalf("%s", page)
			}
			st, _, hdr := gw.Form("/emergency/reviews/"+rv.ID+"/findings/"+gw1Finding.ID+"/done", map[string]string{"note": "已与邻居王某结对"}, sameOrigin)
			if st != 303 || hdr.Get("Location") != "/emergency/reviews/"+rv.ID+"?closed=1" {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			if got := findings(t, "gw.1", access.GridWorker, communityA); len(got) != 0 {
				t.Fatalf("%v", got)
			}
			_, page, _ = gw.Get(hdr.Get("Location"))
			if !strings.Contains(page, "已与邻居王某结对") || !strings.Contains(page, "已完成") {
				t.Fatalf("%s", page)
			}
			if st, _ := gw.Do("POST", "/api/v1/emergency/reviews/"+rv.ID+"/findings/"+gw1Finding.ID+"/done", emergency.DoneInput{}); st != 409 {
				t.Fatalf("closed twice: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.finding.done'`); n != 1 {
				t.Fatalf("audit: %d", n)
			}
		})
	})
}

// A drill is an incident issued with CAP status Exercise: its review is
// shown as 演练, the list can show drills alone, and a warning that has
// expired may be reviewed without a Cancel. The pages work without
// JavaScript.
func TestADrillIsReviewedThroughThePages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.town")
		real := w.issue(t, orange(communityA))
		apptest.JSON[emergency.Alert](t, officer, "POST", "/api/v1/emergency/alerts/"+real.Alert.ID+"/cancel", emergency.CancelInput{}, 201)
		apptest.JSON[emergency.Review](t, officer, "POST", "/api/v1/emergency/reviews", review(real.Alert.ID), 201)
		in := orange(communityA)
		in.Status, in.Headline = "Exercise", "台风应急演练"
		drill := w.issue(t, in)
		elder, _, _ := w.checkOf(t, drill.Alert.IncidentID, "person", w.elder)
		apptest.JSON[emergency.CheckinResult](t, e.Login("nb.1"), "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: drill.Alert.ID, CheckID: elder, Status: "safe"}, 200)

		t.Run("before it expires the drill is not offered for review and its form is refused", func(t *testing.T) {
			_, page, _ := officer.Get("/emergency/reviews")
			if strings.Contains(page, "/emergency/reviews/new?alert="+drill.Alert.ID) {
				t.Fatalf("%s", page)
			}
			if st, _, _ := officer.Get("/emergency/reviews/new?alert=" + drill.Alert.ID); st != 409 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("once it has expired the list offers it, marked as a drill", func(t *testing.T) {
			e.Clock.Set(time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)) // 19:00 in China, past its expiry
			officer = e.Login("officer.town")
			_, page, _ := officer.Get("/emergency/reviews")
			if !strings.Contains(page, `href="/emergency/reviews/new?alert=`+drill.Alert.ID+`"`) || !strings.Contains(page, "演练") {
				t.Fatalf("%s", page)
			}
		})
		var path string
		t.Run("the form refuses an owner typed in rather than picked, naming the row, and keeps what was written", func(t *testing.T) {
			_, form, _ := officer.Get("/emergency/reviews/new?alert=" + drill.Alert.ID)
			if !strings.Contains(form, `<option value="gw.1">`) || strings.Contains(form, `<option value="cw.b">`) {
				t.Fatalf("%s", form)
			}
			vals := map[string]string{"alert_id": drill.Alert.ID, "happened": "演练按预案进行", "worked": "帮扶人及时响应", "failed": "住户确认较慢",
				"findings[0].text": "修订预案", "findings[0].owner": "someone", "findings[0].due_on": "2026-12-20",
				"findings[1].text": "", "findings[1].owner": "", "findings[1].due_on": ""}
			st, body, _ := officer.Form("/emergency/reviews/new", vals, sameOrigin)
			// The summary links the row's picker (the browser decodes the fragment).
			if st != 400 || !strings.Contains(body, `href="#f-findings%5b0%5d.owner"`) || !strings.Contains(body, "演练按预案进行") || e.Count(`SELECT COUNT(*) FROM em_reviews`) != 1 {
				t.Fatalf("%d\n%s", st, body)
			}
			vals["findings[0].owner"] = "cw.a"
			st, _, hdr := officer.Form("/emergency/reviews/new", vals, sameOrigin)
			path = strings.TrimSuffix(hdr.Get("Location"), "?written=1")
			if st != 303 || !regexp.MustCompile(`^/emergency/reviews/[0-9a-f]+$`).MatchString(path) {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
		})
		t.Run("the review page shows it as a drill, with its figures and participants", func(t *testing.T) {
			_, page, _ := officer.Get(path)
			for _, want := range []string{"演练复盘：台风应急演练", `id="review-kind"`, "演练", "修订预案", "nb.1", `class="to-all">未全部确认`} {
				if !strings.Contains(page, want) {
					t.Fatalf("no %q:\n%s", want, page)
				}
			}
		})
		t.Run("the list shows drills alone when asked", func(t *testing.T) {
			var all, drills []emergency.Review
			_, body := officer.Do("GET", "/api/v1/emergency/reviews", nil)
			json.Unmarshal([]byte(body), &all)
			_, body = officer.Do("GET", "/api/v1/emergency/reviews?drill=true", nil)
			json.Unmarshal([]byte(body), &drills)
			if len(all) != 2 || len(drills) != 1 || !drills[0].Drill || drills[0].Headline != "台风应急演练" {
				t.Fatalf("%d %d", len(all), len(drills))
			}
			_, page, _ := officer.Get("/emergency/reviews?drill=1")
			if !strings.Contains(page, "台风应急演练") || strings.Contains(page, "台风橙色预警") {
				t.Fatalf("%s", page)
			}
			if st, _ := officer.Do("GET", "/api/v1/emergency/reviews?drill=maybe", nil); st != 400 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("the warning's page leads to its review", func(t *testing.T) {
			_, page, _ := officer.Get("/emergency/alerts/" + drill.Alert.ID)
			if !strings.Contains(page, `href="`+path+`"`) {
				t.Fatalf("%s", page)
			}
		})
	})
}
