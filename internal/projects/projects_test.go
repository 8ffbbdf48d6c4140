package projects_test

import (
	"slices"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/projects"
	"linli/internal/web"
)

// The whole loop through the API: publish, apply, score, award, report,
// return, accept, pay, complete — and the refusals on the way. The test
// clock stands on 2026-11-29; applications close on 2026-12-10.
func TestProjectLoop(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixture(t, e)
		var offA, offB, offCounty, good, low, none, staff *apptest.Client
		// login signs everyone in again: moving the clock ends sessions.
		login := func() {
			offA, offB, offCounty = e.Login("off.a"), e.Login("off.b"), e.Login("off.county")
			good, low, none, staff = e.Login("prov.good"), e.Login("prov.low"), e.Login("prov.none"), e.Login("prov.staff")
		}
		login()
		// work is the officer's 工作台 items of the projects module, as
		// "kind href".
		work := func(user, division string) []string {
			ctx := as(user, access.Officer, division)
			items, err := projects.StoreOf(e.App.Module("projects")).Work(ctx, access.From(ctx), 20)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				out = append(out, it.Kind+" "+it.Href)
			}
			return out
		}
		var pr projects.Project
		t.Run("weights not summing to 100 are refused naming criteria, and nothing is written", func(t *testing.T) {
			in := project()
			in.Criteria[0].Weight = 50
			p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects", in, 400)
			if !slices.Equal(fields(p), []string{"criteria"}) {
				t.Errorf("fields %v", fields(p))
			}
			if n := e.Count(`SELECT COUNT(*) FROM proj_projects`); n != 0 {
				t.Errorf("%d projects written", n)
			}
		})
		t.Run("a township officer cannot publish for another township", func(t *testing.T) {
			in := project()
			in.Division = communityB
			p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects", in, 400)
			if !slices.Equal(fields(p), []string{"division_code"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		t.Run("the township officer publishes a project for a community of the township", func(t *testing.T) {
			pr = apptest.JSON[projects.Project](t, offA, "POST", "/api/v1/projects", project(), 201)
			if pr.Status != projects.Open || pr.County != county || len(pr.Criteria) != 3 || len(pr.Targets) != 3 {
				t.Fatalf("%+v", pr)
			}
		})
		t.Run("the county officer sees it on the board; another township's officer does not", func(t *testing.T) {
			if pg := apptest.JSON[projects.ProjectPage](t, offCounty, "GET", "/api/v1/projects", nil, 200); pg.Total != 1 || pg.Items[0].ID != pr.ID || pg.Items[0].DivisionName != "上保社区" {
				t.Errorf("county board %+v", pg)
			}
			if pg := apptest.JSON[projects.ProjectPage](t, offB, "GET", "/api/v1/projects", nil, 200); pg.Total != 0 {
				t.Errorf("township B sees %d", pg.Total)
			}
			if st, _ := offB.Do("GET", "/api/v1/projects/"+pr.ID, nil); st != 404 {
				t.Errorf("township B reads the project: %d", st)
			}
		})
		t.Run("an organisation rated 2A is refused for a 3A project, naming rating", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, low, "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 100_000_00}, 400)
			if !slices.Equal(fields(p), []string{"rating"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		t.Run("a budget above the project's is refused naming budget_fen", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, good, "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 200_000_01}, 400)
			if !slices.Equal(fields(p), []string{"budget_fen"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		t.Run("a staff member who is not the organisation's manager reads the project but cannot apply", func(t *testing.T) {
			if got := apptest.JSON[projects.Project](t, staff, "GET", "/api/v1/projects/"+pr.ID, nil, 200); got.ID != pr.ID {
				t.Errorf("%+v", got)
			}
			if st, body := staff.Do("POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 1}); st != 403 {
				t.Errorf("%d %s", st, body)
			}
		})
		t.Run("a provider account of no organisation cannot apply", func(t *testing.T) {
			if st, body := none.Do("POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 1}); st != 403 {
				t.Errorf("%d %s", st, body)
			}
		})
		var app projects.Application
		t.Run("the 4A organisation applies once; a second application answers 409", func(t *testing.T) {
			app = apptest.JSON[projects.Application](t, good, "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "三名社工，每周入户", BudgetFen: 180_000_00}, 201)
			if app.Rating != "4A" || app.OrgName != "北山社工服务社" || app.Status != projects.Submitted {
				t.Errorf("%+v", app)
			}
			if st, _ := good.Do("POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "再来", BudgetFen: 1}); st != 409 {
				t.Errorf("second application: %d", st)
			}
		})
		t.Run("scoring before the deadline answers 409", func(t *testing.T) {
			if st, _ := offA.Do("POST", "/api/v1/projects/"+pr.ID+"/applications/"+app.ID+"/score", projects.ScoreInput{Scores: []int{80, 90, 70}}); st != 409 {
				t.Errorf("%d", st)
			}
		})
		e.Clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))
		login()
		t.Run("after the deadline an application answers 409 naming deadline", func(t *testing.T) {
			in := project()
			in.MinRating, in.Deadline = "", "2026-12-20"
			other := apptest.JSON[projects.Project](t, offA, "POST", "/api/v1/projects", in, 201)
			e.Clock.Set(time.Date(2026, 12, 21, 2, 0, 0, 0, time.UTC))
			login()
			p := apptest.JSON[web.Problem](t, low, "POST", "/api/v1/projects/"+other.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 100}, 409)
			if !slices.Equal(fields(p), []string{"deadline"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		t.Run("the officer of another township cannot score", func(t *testing.T) {
			if st, _ := offB.Do("POST", "/api/v1/projects/"+pr.ID+"/applications/"+app.ID+"/score", projects.ScoreInput{Scores: []int{80, 90, 70}}); st != 404 {
				t.Errorf("%d", st)
			}
		})
		t.Run("a score out of 0–100 names its criterion", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects/"+pr.ID+"/applications/"+app.ID+"/score", projects.ScoreInput{Scores: []int{80, 101, 70}}, 400)
			if !slices.Equal(fields(p), []string{"scores.1"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		t.Run("the officer scores per criterion: the weighted total is Σ score × weight", func(t *testing.T) {
			a := apptest.JSON[projects.Application](t, offA, "POST", "/api/v1/projects/"+pr.ID+"/applications/"+app.ID+"/score", projects.ScoreInput{Scores: []int{80, 90, 70}}, 200)
			if a.Total != 80*40+90*30+70*30 {
				t.Errorf("total %d", a.Total)
			}
		})
		award := func(m1, m2 int64) projects.AwardInput {
			return projects.AwardInput{ApplicationID: app.ID, Milestones: []projects.MilestoneInput{
				{Title: "首期", AmountFen: m1, Due: "2027-03-31"}, {Title: "末期", AmountFen: m2, Due: "2027-12-31"}}}
		}
		t.Run("milestones not summing to the awarded budget are refused naming milestones", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects/"+pr.ID+"/award", award(60_000_00, 100_000_00), 400)
			if !slices.Equal(fields(p), []string{"milestones"}) {
				t.Errorf("fields %v", fields(p))
			}
			if n := e.Count(`SELECT COUNT(*) FROM proj_contracts`); n != 0 {
				t.Errorf("%d contracts", n)
			}
		})
		t.Run("a closed project waits on its officers' 工作台 to be scored and awarded, not on another township's", func(t *testing.T) {
			for _, who := range [][2]string{{"off.a", townA}, {"off.county", county}} {
				if got := work(who[0], who[1]); !slices.Contains(got, "projects.award /projects/"+pr.ID) {
					t.Errorf("%s: %v", who[0], got)
				}
			}
			if got := work("off.b", townB); len(got) != 0 {
				t.Errorf("township B: %v", got)
			}
		})
		var c projects.Contract
		t.Run("awarding makes a contract of milestones; a second award answers 409", func(t *testing.T) {
			c = apptest.JSON[projects.Contract](t, offA, "POST", "/api/v1/projects/"+pr.ID+"/award", award(60_000_00, 120_000_00), 201)
			if c.AmountFen != 180_000_00 || len(c.Milestones) != 2 || c.Milestones[0].Status != projects.Pending {
				t.Fatalf("%+v", c)
			}
			if st, _ := offA.Do("POST", "/api/v1/projects/"+pr.ID+"/award", award(60_000_00, 120_000_00)); st != 409 {
				t.Errorf("second award %d", st)
			}
			got := apptest.JSON[projects.Project](t, offCounty, "GET", "/api/v1/projects/"+pr.ID, nil, 200)
			if got.Status != projects.Awarded || got.Contract == nil || got.Applications[0].Status != projects.Won {
				t.Errorf("%+v", got)
			}
		})
		m1, m2 := "/api/v1/projects/"+pr.ID+"/milestones/"+c.Milestones[0].ID, "/api/v1/projects/"+pr.ID+"/milestones/"+c.Milestones[1].ID
		t.Run("a milestone whose report is not accepted cannot be paid (409)", func(t *testing.T) {
			if st, _ := offA.Do("POST", m1+"/pay", nil); st != 409 {
				t.Errorf("pay unreported %d", st)
			}
		})
		t.Run("only the contracted organisation reports, with evidence", func(t *testing.T) {
			if st, _ := low.Do("POST", m1+"/report", projects.ReportInput{Report: "冒名"}); st != 403 {
				t.Errorf("other organisation %d", st)
			}
			if st, _ := staff.Do("POST", m1+"/report", projects.ReportInput{Report: "代报"}); st != 403 {
				t.Errorf("staff who is not the manager %d", st)
			}
			p := apptest.JSON[web.Problem](t, good, "POST", m1+"/report", projects.ReportInput{Report: " "}, 400)
			if !slices.Equal(fields(p), []string{"report"}) {
				t.Errorf("fields %v", fields(p))
			}
			m := apptest.JSON[projects.Milestone](t, good, "POST", m1+"/report", projects.ReportInput{Report: "入户探访 60 次，附签到表"}, 200)
			if m.Status != projects.Reported {
				t.Errorf("%+v", m)
			}
			if st, _ := good.Do("POST", m1+"/report", projects.ReportInput{Report: "再报"}); st != 409 {
				t.Errorf("report twice %d", st)
			}
		})
		t.Run("the report waits on the officer's 工作台; the awarded project no longer asks to be awarded", func(t *testing.T) {
			got := work("off.a", townA)
			if !slices.Contains(got, "projects.report /projects/"+pr.ID) || slices.Contains(got, "projects.award /projects/"+pr.ID) {
				t.Errorf("%v", got)
			}
		})
		t.Run("a reported milestone cannot be paid before acceptance (409)", func(t *testing.T) {
			if st, _ := offA.Do("POST", m1+"/pay", nil); st != 409 {
				t.Errorf("%d", st)
			}
		})
		t.Run("the officer returns the report with a reason; without one the reason is named", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, offA, "POST", m1+"/return", projects.ReturnInput{}, 400)
			if !slices.Equal(fields(p), []string{"reason"}) {
				t.Errorf("fields %v", fields(p))
			}
			m := apptest.JSON[projects.Milestone](t, offA, "POST", m1+"/return", projects.ReturnInput{Reason: "缺少服务对象签字"}, 200)
			if m.Status != projects.Returned || m.ReturnReason != "缺少服务对象签字" {
				t.Errorf("%+v", m)
			}
		})
		t.Run("reported again, accepted and paid; the project still runs", func(t *testing.T) {
			apptest.JSON[projects.Milestone](t, good, "POST", m1+"/report", projects.ReportInput{Report: "补充签字表"}, 200)
			if st, _ := good.Do("POST", m1+"/accept", nil); st != 403 {
				t.Errorf("the organisation accepts its own report: %d", st)
			}
			apptest.JSON[projects.Milestone](t, offA, "POST", m1+"/accept", nil, 200)
			m := apptest.JSON[projects.Milestone](t, offA, "POST", m1+"/pay", projects.PayInput{Reference: "GK-001"}, 200)
			if m.Status != projects.Paid {
				t.Errorf("%+v", m)
			}
			if st, _ := offA.Do("POST", m1+"/pay", nil); st != 409 {
				t.Errorf("paid twice %d", st)
			}
			if got := apptest.JSON[projects.Project](t, offA, "GET", "/api/v1/projects/"+pr.ID, nil, 200); got.Status != projects.Awarded {
				t.Errorf("status %s", got.Status)
			}
			if got := work("off.a", townA); slices.Contains(got, "projects.report /projects/"+pr.ID) {
				t.Errorf("an accepted report still waits: %v", got)
			}
		})
		t.Run("the last milestone paid completes the project", func(t *testing.T) {
			apptest.JSON[projects.Milestone](t, good, "POST", m2+"/report", projects.ReportInput{Report: "结项评估报告"}, 200)
			apptest.JSON[projects.Milestone](t, offCounty, "POST", m2+"/accept", nil, 200)
			apptest.JSON[projects.Milestone](t, offCounty, "POST", m2+"/pay", nil, 200)
			if got := apptest.JSON[projects.Project](t, offA, "GET", "/api/v1/projects/"+pr.ID, nil, 200); got.Status != projects.Completed {
				t.Errorf("status %s", got.Status)
			}
		})
		t.Run("the provider sees its own application and contract only", func(t *testing.T) {
			m := apptest.JSON[projects.Mine](t, good, "GET", "/api/v1/projects/mine", nil, 200)
			if len(m.Applications) != 1 || len(m.Contracts) != 1 || m.Contracts[0].AmountFen != 180_000_00 {
				t.Errorf("%+v", m)
			}
			if m := apptest.JSON[projects.Mine](t, staff, "GET", "/api/v1/projects/mine", nil, 200); m.Org.Manager || len(m.Contracts) != 1 {
				t.Errorf("the organisation's staff read %+v", m)
			}
			if m := apptest.JSON[projects.Mine](t, good, "GET", "/api/v1/projects/mine", nil, 200); !m.Org.Manager {
				t.Errorf("the manager reads %+v", m.Org)
			}
			got := apptest.JSON[projects.Project](t, low, "GET", "/api/v1/projects/"+pr.ID, nil, 200)
			if len(got.Applications) != 0 || got.Contract != nil {
				t.Errorf("another organisation sees %+v %+v", got.Applications, got.Contract)
			}
		})
		t.Run("every move is audited", func(t *testing.T) {
			for action, want := range map[string]int{"projects.create": 2, "projects.apply": 1, "projects.score": 1, "projects.award": 1,
				"projects.milestone.report": 3, "projects.milestone.return": 1, "projects.milestone.accept": 2, "projects.milestone.pay": 2} {
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action); n != want {
					t.Errorf("%s: %d, want %d", action, n, want)
				}
			}
		})
	})
}
