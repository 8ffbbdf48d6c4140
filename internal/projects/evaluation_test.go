package projects_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/projects"
	"linli/internal/web"
)

// completed runs projects of community A through to completion with the
// 4A organisation: published and applied for before the deadline, then
// (the clock past it) scored, awarded, reported, accepted and paid. The
// clock is left on 2026-12-11.
func completed(t *testing.T, e *apptest.Env, n int) []projects.Project {
	t.Helper()
	offA, good := e.Login("off.a"), e.Login("prov.good")
	var out []projects.Project
	var apps []projects.Application
	for range n {
		pr := apptest.JSON[projects.Project](t, offA, "POST", "/api/v1/projects", project(), 201)
		apps = append(apps, apptest.JSON[projects.Application](t, good, "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 100_000_00}, 201))
		out = append(out, pr)
	}
	e.Clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))
	offA, good = e.Login("off.a"), e.Login("prov.good")
	for i, pr := range out {
		base := "/api/v1/projects/" + pr.ID
		apptest.JSON[projects.Application](t, offA, "POST", base+"/applications/"+apps[i].ID+"/score", projects.ScoreInput{Scores: []int{80, 80, 80}}, 200)
		c := apptest.JSON[projects.Contract](t, offA, "POST", base+"/award", projects.AwardInput{ApplicationID: apps[i].ID,
			Milestones: []projects.MilestoneInput{{Title: "全部", AmountFen: 100_000_00, Due: "2027-12-31"}}}, 201)
		m := base + "/milestones/" + c.Milestones[0].ID
		if i == 0 {
			t.Run("a project still running cannot be evaluated (409)", func(t *testing.T) {
				score := 90
				if st, body := offA.Do("POST", base+"/evaluation", projects.EvaluateInput{Score: &score, Comment: "好"}); st != 409 {
					t.Errorf("%d %s", st, body)
				}
			})
		}
		apptest.JSON[projects.Milestone](t, good, "POST", m+"/report", projects.ReportInput{Report: "结项报告"}, 200)
		apptest.JSON[projects.Milestone](t, offA, "POST", m+"/accept", nil, 200)
		apptest.JSON[projects.Milestone](t, offA, "POST", m+"/pay", nil, 200)
	}
	return out
}

// The final evaluation of a completed project: graded from its score,
// kept on the organisation's record, shown to the officers who score the
// organisation's next application.
func TestFinalEvaluation(t *testing.T) {
	t.Parallel()
	t.Run("grades by score: 90 excellent, 80 good, 60 pass, below 60 fail", func(t *testing.T) {
		for x100, want := range map[int]string{10000: projects.Excellent, 9000: projects.Excellent, 8999: projects.Good, 8000: projects.Good,
			7999: projects.Pass, 6000: projects.Pass, 5999: projects.Fail, 0: projects.Fail} {
			if got := projects.GradeOf(x100); got != want {
				t.Errorf("%d: %s, want %s", x100, got, want)
			}
		}
	})
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixture(t, e)
		done := completed(t, e, 5)
		offA, good, low := e.Login("off.a"), e.Login("prov.good"), e.Login("prov.low")
		evaluate := func(t *testing.T, pr projects.Project, in projects.EvaluateInput) projects.Evaluation {
			t.Helper()
			return apptest.JSON[projects.Evaluation](t, offA, "POST", "/api/v1/projects/"+pr.ID+"/evaluation", in, 201)
		}
		n := func(v int) *int { return &v }
		t.Run("a score above 100 is refused naming score, a missing comment naming comment; nothing is written", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects/"+done[0].ID+"/evaluation", projects.EvaluateInput{Score: n(101)}, 400)
			if !slices.Equal(fields(p), []string{"score", "comment"}) {
				t.Errorf("fields %v", fields(p))
			}
			if c := e.Count(`SELECT COUNT(*) FROM proj_evaluations`); c != 0 {
				t.Errorf("%d evaluations written", c)
			}
		})
		t.Run("grade boundaries through the API: overall 90 is 优秀", func(t *testing.T) {
			if ev := evaluate(t, done[0], projects.EvaluateInput{Score: n(90), Comment: "目标全部达成"}); ev.Grade != projects.Excellent || ev.Score != 9000 {
				t.Errorf("%+v", ev)
			}
		})
		t.Run("per criterion 90, 90, 89 weigh 89.70: 良好, just below 优秀", func(t *testing.T) {
			ev := evaluate(t, done[1], projects.EvaluateInput{Scores: []int{90, 90, 89}, Comment: "预算执行略有偏差"})
			if ev.Grade != projects.Good || ev.Score != 8970 || !slices.Equal(ev.Scores, []int{90, 90, 89}) {
				t.Errorf("%+v", ev)
			}
		})
		t.Run("overall 60 is 合格, 59 is 不合格", func(t *testing.T) {
			if ev := evaluate(t, done[2], projects.EvaluateInput{Score: n(60), Comment: "基本完成"}); ev.Grade != projects.Pass {
				t.Errorf("%+v", ev)
			}
			if ev := evaluate(t, done[3], projects.EvaluateInput{Score: n(59), Comment: "探访次数不足"}); ev.Grade != projects.Fail {
				t.Errorf("%+v", ev)
			}
		})
		t.Run("a second evaluation answers 409", func(t *testing.T) {
			if st, _ := offA.Do("POST", "/api/v1/projects/"+done[0].ID+"/evaluation", projects.EvaluateInput{Score: n(50), Comment: "改"}); st != 409 {
				t.Errorf("%d", st)
			}
		})
		// (9000 + 8970 + 6000 + 5900) / 4 = 7467.5
		t.Run("the organisation's record counts 4 evaluations averaging 74.68, for the officer and the organisation", func(t *testing.T) {
			recs := apptest.JSON[[]projects.Record](t, offA, "GET", "/api/v1/projects/records", nil, 200)
			if len(recs) != 1 || recs[0].OrgName != "北山社工服务社" || recs[0].Count != 4 || recs[0].Average != 7468 {
				t.Errorf("%+v", recs)
			}
			m := apptest.JSON[projects.Mine](t, good, "GET", "/api/v1/projects/mine", nil, 200)
			if m.Record.Count != 4 || m.Record.Average != 7468 || len(m.Record.Evaluations) != 4 {
				t.Errorf("%+v", m.Record)
			}
			if got := apptest.JSON[projects.Project](t, good, "GET", "/api/v1/projects/"+done[3].ID, nil, 200); got.Evaluation == nil || got.Evaluation.Grade != projects.Fail {
				t.Errorf("the organisation reads its project's evaluation %+v", got.Evaluation)
			}
		})
		t.Run("scorers of a new project see the applicant's past average; the other applicant has none", func(t *testing.T) {
			in := project()
			in.MinRating, in.Deadline = "", "2026-12-20"
			pr := apptest.JSON[projects.Project](t, offA, "POST", "/api/v1/projects", in, 201)
			a := apptest.JSON[projects.Application](t, good, "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 100}, 201)
			b := apptest.JSON[projects.Application](t, low, "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 100}, 201)
			got := apptest.JSON[projects.Project](t, offA, "GET", "/api/v1/projects/"+pr.ID, nil, 200)
			for _, x := range got.Applications {
				switch x.ID {
				case a.ID:
					if x.PastCount != 4 || x.PastAverage != 7468 {
						t.Errorf("4A organisation %+v", x)
					}
				case b.ID:
					if x.PastCount != 0 {
						t.Errorf("2A organisation %+v", x)
					}
				}
			}
			_, body, _ := offA.Get("/projects/" + pr.ID)
			if !strings.Contains(body, `id="past-`+a.ID+`"`) || !strings.Contains(body, "74.68") {
				t.Errorf("the page does not show the past average")
			}
		})
		t.Run("the evaluation form on the page: a skipped criterion is named, then the overall score records it", func(t *testing.T) {
			path := "/projects/" + done[4].ID
			_, body, _ := offA.Get(path)
			if !strings.Contains(body, `id="evaluate-submit"`) {
				t.Fatalf("no evaluation form")
			}
			st, body, _ := offA.Form(path+"/evaluation", map[string]string{"s0": "90", "s1": "", "s2": "80", "comment": "好"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-eval-scores-1"`) || !strings.Contains(body, `id="f-eval-scores-1"`) {
				t.Fatalf("%d %s", st, body)
			}
			if st, body, _ := offA.Form(path+"/evaluation", map[string]string{"score": "85", "comment": "按期完成"}, sameOrigin); st != 303 {
				t.Fatalf("%d %s", st, body)
			}
			_, body, _ = offA.Get(path)
			if !strings.Contains(body, `id="evaluation-score">85.00`) || !strings.Contains(body, "良好") || strings.Contains(body, `id="evaluate-submit"`) {
				t.Errorf("%s", body)
			}
			_, body, _ = offA.Get("/projects/records")
			if !strings.Contains(body, "北山社工服务社") || !strings.Contains(body, "76.74") { // (29870 + 8500) / 5 = 7674
				t.Errorf("records page %s", body)
			}
		})
	})
}
