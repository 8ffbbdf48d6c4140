package projects_test

import (
	"slices"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/projects"
)

// A panel of officers scores each application on its own; the
// application's score is the average of their weighted totals.
func TestPanelScoring(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixture(t, e)
		e.User("off.a2", access.Officer, townA)
		in := project()
		in.MinRating = ""
		pr := apptest.JSON[projects.Project](t, e.Login("off.a"), "POST", "/api/v1/projects", in, 201)
		good := apptest.JSON[projects.Application](t, e.Login("prov.good"), "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案甲", BudgetFen: 150_000_00}, 201)
		low := apptest.JSON[projects.Application](t, e.Login("prov.low"), "POST", "/api/v1/projects/"+pr.ID+"/applications", projects.ApplyInput{Proposal: "方案乙", BudgetFen: 120_000_00}, 201)
		// A second project whose odd weights make a half to round.
		odd := in
		odd.Criteria = []projects.Criterion{{Name: "方案", Weight: 33}, {Name: "能力", Weight: 33}, {Name: "预算", Weight: 34}}
		p := apptest.JSON[projects.Project](t, e.Login("off.a"), "POST", "/api/v1/projects", odd, 201)
		a := apptest.JSON[projects.Application](t, e.Login("prov.good"), "POST", "/api/v1/projects/"+p.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 100}, 201)
		e.Clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))
		offA, offCounty, offA2 := e.Login("off.a"), e.Login("off.county"), e.Login("off.a2")
		score := func(c *apptest.Client, scores ...int) projects.Application {
			return apptest.JSON[projects.Application](t, c, "POST", "/api/v1/projects/"+pr.ID+"/applications/"+good.ID+"/score", projects.ScoreInput{Scores: scores}, 200)
		}
		read := func(c *apptest.Client, id string) projects.Application {
			for _, a := range apptest.JSON[projects.Project](t, c, "GET", "/api/v1/projects/"+pr.ID, nil, 200).Applications {
				if a.ID == id {
					return a
				}
			}
			t.Fatalf("application %s not found", id)
			return projects.Application{}
		}
		t.Run("an unscored application cannot be awarded (409)", func(t *testing.T) {
			award := projects.AwardInput{ApplicationID: low.ID, Milestones: []projects.MilestoneInput{{Title: "全部", AmountFen: 120_000_00, Due: "2027-12-31"}}}
			if st, body := offA.Do("POST", "/api/v1/projects/"+pr.ID+"/award", award); st != 409 {
				t.Errorf("%d %s", st, body)
			}
		})
		t.Run("the average of two scorers: 80.00 and 60.00 make 70.00 with 2 scorers", func(t *testing.T) {
			score(offA, 80, 90, 70)           // 3200 + 2700 + 2100 = 8000
			a := score(offCounty, 60, 70, 50) // 2400 + 2100 + 1500 = 6000
			if a.Total != 7000 || a.Scorers != 2 {
				t.Errorf("total %d by %d scorers", a.Total, a.Scorers)
			}
			if got := read(offCounty, good.ID); got.Total != 7000 || got.Scorers != 2 || !slices.Equal(got.Scores, []int{60, 70, 50}) {
				t.Errorf("read back %+v", got)
			}
		})
		t.Run("a third officer joins the panel, then replaces their own score only", func(t *testing.T) {
			if a := score(offA2, 100, 100, 100); a.Total != 8000 || a.Scorers != 3 {
				t.Errorf("with the third: total %d by %d", a.Total, a.Scorers)
			}
			// 70×40 + 70×30 + 71×30 = 7030; (8000 + 6000 + 7030) / 3 = 7010
			if a := score(offA2, 70, 70, 71); a.Total != 7010 || a.Scorers != 3 {
				t.Errorf("after the change: total %d by %d", a.Total, a.Scorers)
			}
			if got := read(offA, good.ID); !slices.Equal(got.Scores, []int{80, 90, 70}) || got.Total != 7010 {
				t.Errorf("the first scorer's own scores %+v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM proj_panel_scores WHERE application_id = $1`, good.ID); n != 9 {
				t.Errorf("%d score rows, want 3 scorers × 3 criteria", n)
			}
		})
		t.Run("the average rounds half up: 80.00 and 60.33 make 70.17", func(t *testing.T) {
			apptest.JSON[projects.Application](t, offA, "POST", "/api/v1/projects/"+p.ID+"/applications/"+a.ID+"/score", projects.ScoreInput{Scores: []int{80, 80, 80}}, 200)
			got := apptest.JSON[projects.Application](t, offCounty, "POST", "/api/v1/projects/"+p.ID+"/applications/"+a.ID+"/score", projects.ScoreInput{Scores: []int{61, 60, 60}}, 200)
			if got.Total != 7017 || got.Scorers != 2 { // 61×33 + 60×33 + 60×34 = 6033; (8000 + 6033) / 2 = 7016.5

				t.Errorf("total %d by %d", got.Total, got.Scorers)
			}
		})
		t.Run("the scored application is awarded", func(t *testing.T) {
			award := projects.AwardInput{ApplicationID: good.ID, Milestones: []projects.MilestoneInput{{Title: "全部", AmountFen: 150_000_00, Due: "2027-12-31"}}}
			apptest.JSON[projects.Contract](t, offA, "POST", "/api/v1/projects/"+pr.ID+"/award", award, 201)
		})
	})
}
