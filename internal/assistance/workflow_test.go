package assistance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/module"
)

// The whole loop of one application: a resident applies for their own
// household with consent; the community worker accepts, checks and
// investigates; an objection is recorded during the 公示; the county
// refuses, the household appeals, another officer approves; the
// household is enrolled, reviewed and exits. Illegal moves are 409 and
// change nothing.
func TestWorkflowWithObjectionRefusalAppealReviewAndExit(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("res.a", access.Resident, communityA)
		hh, ms := w.household(t, "res.a", 1976, 1978)
		res, cw, off, off2 := e.Login("res.a"), e.Login("cw.a"), e.Login("off.county"), e.Login("off.county2")
		var a assistance.Application
		path := func(action string) string { return "/api/v1/assistance/applications/" + a.ID + "/" + action }
		move := func(t *testing.T, c *apptest.Client, action string, in assistance.Input, status string) {
			t.Helper()
			a = apptest.JSON[assistance.Application](t, c, "POST", path(action), in, 200)
			if a.Status != status {
				t.Fatalf("%s: status %s, want %s", action, a.Status, status)
			}
		}
		refused := func(t *testing.T, c *apptest.Client, action string, in assistance.Input, want int, says string) {
			t.Helper()
			events := e.Count(`SELECT COUNT(*) FROM ast_events WHERE application_id = $1`, a.ID)
			st, body := c.Do("POST", path(action), in)
			if st != want || !strings.Contains(body, says) {
				t.Fatalf("%s: %d %s, want %d saying %q", action, st, body, want, says)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_events WHERE application_id = $1`, a.ID); n != events {
				t.Fatalf("%s refused, yet events went from %d to %d", action, events, n)
			}
		}
		t.Run("the resident applies for their own household, naming a disabled member, with consent", func(t *testing.T) {
			a = apptest.JSON[assistance.Application](t, res, "POST", "/api/v1/assistance/applications", assistance.ApplyInput{
				IncomeFen: fen(100000), AssetsFen: fen(0), Programmes: []string{"dibao"}, Consent: true,
				Members: []assistance.MemberInput{{ResidentID: ms[0], Disability: "mild"}, {ResidentID: ms[1]}}}, 201)
			if a.HouseholdID != hh || a.Status != assistance.Submitted || a.OnBehalf || !a.Consent || a.Due == nil {
				t.Fatalf("application %+v", a)
			}
			// Submitted on Sunday 29 November: five working days to accept, Friday 4 December 17:30 China time.
			if want := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC); !a.Due.Equal(want) {
				t.Errorf("accept by %v, want %v", a.Due, want)
			}
		})
		t.Run("the 工作台 shows the community worker the new application with its clock", func(t *testing.T) {
			items, err := w.as.Work(as("cw.a", access.CommunityWorker, communityA), &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, 10)
			if err != nil || len(items) != 1 || items[0].Href != "/assistance/applications/"+a.ID || items[0].Kind != "assistance.submitted" || items[0].Urgent {
				t.Fatalf("work %+v %v", items, err)
			}
			other, _ := w.as.Work(as("cw.b", access.CommunityWorker, communityB), &access.Principal{Username: "cw.b", Role: access.CommunityWorker, Division: communityB}, 10)
			if len(other) != 0 {
				t.Fatalf("another community sees %+v", other)
			}
			if officer := officerWork(t, w); len(officer) != 0 {
				t.Fatalf("the county officer has nothing to decide yet, but sees %+v", officer)
			}
		})
		t.Run("moves out of order are 409 and the resident cannot accept", func(t *testing.T) {
			refused(t, cw, "enrol", assistance.Input{}, 409, "不能纳入救助")
			refused(t, res, "accept", assistance.Input{}, 403, "只有社区工作者和民政干部")
			refused(t, e.Login("cw.b"), "accept", assistance.Input{}, 404, "")
		})
		t.Run("accepted, checked (the check finds 1,200 yuan) and investigated, it goes on public notice", func(t *testing.T) {
			move(t, cw, "accept", assistance.Input{Version: a.Version}, assistance.Accepted)
			refused(t, cw, "check", assistance.Input{Version: a.Version - 1}, 409, "已被他人处理")
			move(t, cw, "check", assistance.Input{}, assistance.Checking)
			move(t, cw, "checked", assistance.Input{IncomeFen: fen(120000)}, assistance.Investigating)
			if r := result(a, "dibao"); r.AmountFen != 2*112000-120000+22400 || r.Version != 1 {
				t.Fatalf("after the check: %+v", r)
			}
			refused(t, cw, "publicize", assistance.Input{}, 400, "note")
			move(t, cw, "publicize", assistance.Input{Note: "入户调查：两人同住，一人肢体残疾，无车辆"}, assistance.Publicity)
			if a.PublicityUntil == nil || !a.PublicityUntil.Equal(e.Clock.Now().AddDate(0, 0, 7)) {
				t.Fatalf("notice until %v", a.PublicityUntil)
			}
		})
		t.Run("an objection during the notice is recorded; the decision waits for the 7 days", func(t *testing.T) {
			move(t, cw, "object", assistance.Input{Note: "邻居反映其家中有经营性收入"}, assistance.Publicity)
			if last := a.Events[len(a.Events)-1]; last.Action != "object" || last.Note != "邻居反映其家中有经营性收入" {
				t.Fatalf("last event %+v", last)
			}
			refused(t, off, "approve", assistance.Input{}, 409, "公示期未满")
			// The decision is the county's: the notice is on its 工作台, due
			// five working days after the notice ends (Sunday 6 December
			// + 5 working days: Friday 11 December 17:30 China time).
			if items := officerWork(t, w); len(items) != 1 || items[0].Kind != "assistance.publicity" || !items[0].Due.Equal(time.Date(2026, 12, 11, 9, 30, 0, 0, time.UTC)) {
				t.Fatalf("county 工作台 %+v", items)
			}
			e.Clock.Add(8 * 24 * time.Hour)
			// A week on, everyone signs in again (sessions time out).
			res, cw, off, off2 = e.Login("res.a"), e.Login("cw.a"), e.Login("off.county"), e.Login("off.county2")
		})
		t.Run("a community worker cannot decide; the county refuses with a reason", func(t *testing.T) {
			refused(t, cw, "approve", assistance.Input{}, 403, "民政干部")
			refused(t, off, "refuse", assistance.Input{}, 400, "reason")
			move(t, off, "refuse", assistance.Input{Reason: "异议核实：有经营性收入未申报"}, assistance.Refused)
			if a.DecidedBy != "off.county" || a.AmountFen != 0 {
				t.Fatalf("refused: %+v", a)
			}
		})
		t.Run("the household appeals; the first decider may not decide again, another officer approves", func(t *testing.T) {
			move(t, res, "appeal", assistance.Input{Reason: "经营已于去年停止，有注销证明"}, assistance.Appealed)
			refused(t, off, "approve", assistance.Input{}, 403, "原审批人以外")
			refused(t, off2, "approve", assistance.Input{Programmes: []string{"tekun"}}, 400, "programmes[0]")
			move(t, off2, "approve", assistance.Input{Note: "复核：经营已停止"}, assistance.Approved)
			if a.DecidedBy != "off.county2" || a.AmountFen != 126400 || len(a.Approved) != 1 || a.Approved[0] != "dibao" {
				t.Fatalf("approved: %+v", a)
			}
		})
		t.Run("enrolled, reviewed a year on, and exited; each step an event", func(t *testing.T) {
			move(t, cw, "enrol", assistance.Input{}, assistance.Enrolled)
			refused(t, cw, "review", assistance.Input{}, 400, "note")
			move(t, cw, "review", assistance.Input{Note: "年度复核：情况未变"}, assistance.Enrolled)
			move(t, cw, "exit", assistance.Input{Reason: "家庭成员就业，收入超过标准"}, assistance.Exited)
			var actions []string
			for _, ev := range a.Events {
				actions = append(actions, ev.Action)
			}
			want := "submit accept check checked publicize object refuse appeal approve enrol review exit"
			if got := strings.Join(actions, " "); got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE object_id = $1 AND action LIKE 'assistance.%' AND action <> 'assistance.read'`, a.ID); n != 12 {
				t.Fatalf("%d audit entries of moves, want 12", n)
			}
			refused(t, cw, "review", assistance.Input{Note: "x"}, 409, "不能年度复核")
		})
	})
}

// Who may apply for what: a resident for their own household only;
// without consent the check cannot start.
func TestApplyingIsScopedAndTheCheckNeedsConsent(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("res.a", access.Resident, communityA)
		w.household(t, "res.a", 1976)
		other, _ := w.household(t, "", 1980)
		res, cw := e.Login("res.a"), e.Login("cw.a")
		t.Run("a resident applying for a household not theirs is refused and nothing is written", func(t *testing.T) {
			st, body := res.Do("POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: other, IncomeFen: fen(0), Programmes: []string{"dibao"}, Consent: true})
			if st != 403 || !strings.Contains(body, "只能为本人所在家庭申请") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_applications`); n != 0 {
				t.Fatalf("%d applications written", n)
			}
		})
		t.Run("a worker of another community cannot apply for the household", func(t *testing.T) {
			st, body := e.Login("cw.b").Do("POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: other, Programmes: []string{"dibao"}})
			if st != 400 || !strings.Contains(body, "household_id") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("without consent there is no check step", func(t *testing.T) {
			a := apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: other, IncomeFen: fen(0), Programmes: []string{"dibao"}}, 201)
			if a.Consent || !a.OnBehalf {
				t.Fatalf("%+v", a)
			}
			apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications/"+a.ID+"/accept", assistance.Input{}, 200)
			st, body := cw.Do("POST", "/api/v1/assistance/applications/"+a.ID+"/check", assistance.Input{})
			if st != 409 || !strings.Contains(body, "未授权家庭经济状况核对") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_events WHERE application_id = $1 AND action = 'check'`, a.ID); n != 0 {
				t.Fatalf("%d check events", n)
			}
			got := apptest.JSON[assistance.Application](t, cw, "GET", "/api/v1/assistance/applications/"+a.ID, nil, 200)
			if got.Status != assistance.Accepted {
				t.Fatalf("status %s", got.Status)
			}
		})
	})
}

// Bad input names its field and writes nothing.
func TestBadInputNamesTheFieldAndWritesNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		hh, _ := w.household(t, "", 1976)
		_, others := w.household(t, "", 1980)
		cw := e.Login("cw.a")
		for _, c := range []struct {
			name  string
			in    assistance.ApplyInput
			field string
			says  string
		}{
			{"a negative income", assistance.ApplyInput{HouseholdID: hh, IncomeFen: fen(-1), Programmes: []string{"dibao"}}, "income_fen", "不能为负数"},
			{"negative assets", assistance.ApplyInput{HouseholdID: hh, AssetsFen: fen(-100), Programmes: []string{"dibao"}}, "assets_fen", "不能为负数"},
			{"a member of another household", assistance.ApplyInput{HouseholdID: hh, Members: []assistance.MemberInput{{ResidentID: others[0]}}, Programmes: []string{"dibao"}}, "members[0].resident_id", "不是本户成员"},
			{"a programme the county does not run", assistance.ApplyInput{HouseholdID: hh, Programmes: []string{"dibao", "lunar_aid"}}, "programmes[1]", "没有开办"},
			{"a year without a standard", assistance.ApplyInput{HouseholdID: hh, Year: 2023, Programmes: []string{"dibao"}}, "year", "尚未公布 2023 年的低保标准"},
			{"no programme", assistance.ApplyInput{HouseholdID: hh}, "programmes", "至少选择"},
		} {
			t.Run(c.name+" is refused naming "+c.field, func(t *testing.T) {
				st, body := cw.Do("POST", "/api/v1/assistance/applications", c.in)
				if st != 400 || !strings.Contains(body, `"field":"`+c.field+`"`) || !strings.Contains(body, c.says) {
					t.Fatalf("%d %s", st, body)
				}
				if n := e.Count(`SELECT COUNT(*) FROM ast_applications`) + e.Count(`SELECT COUNT(*) FROM ast_events`); n != 0 {
					t.Fatalf("%d rows written", n)
				}
			})
		}
		t.Run("a resident's form with a negative income shows the message beside the field", func(t *testing.T) {
			e.User("res.x", access.Resident, communityA)
			w.household(t, "res.x", 1970)
			res := e.Login("res.x")
			st, page, _ := res.Form("/assistance/apply", map[string]string{"programme": "dibao", "income": "-5"}, nil)
			if st != 400 || !strings.Contains(page, "家庭月收入不能为负数") {
				t.Fatalf("%d", st)
			}
		})
	})
}

func officerWork(t *testing.T, w *town) []module.WorkItem {
	t.Helper()
	p := &access.Principal{Username: "off.county", Role: access.Officer, Division: county}
	items, err := w.as.Work(access.With(context.Background(), p), p, 10)
	if err != nil {
		t.Fatal(err)
	}
	return items
}
