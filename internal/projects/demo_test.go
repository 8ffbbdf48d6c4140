package projects_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/module"
	"linli/internal/projects"
)

// The demo county gets a project open for applications and one awarded to
// demo.provider's organisation with its first milestone paid.
func TestProjectsDemo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("off.county", access.Officer, county)
		e.User("demo.provider", access.Provider, townA)
		link(t, e, communityA, "北山社工服务社", "52330106MJ0000001X", "4A", "demo.provider")
		if err := e.App.Module("projects").(module.Demo).Demo(t.Context(), module.DemoOptions{County: county}); err != nil {
			t.Fatal(err)
		}
		off, prov := e.Login("off.county"), e.Login("demo.provider")
		pg := apptest.JSON[projects.ProjectPage](t, off, "GET", "/api/v1/projects", nil, 200)
		t.Run("two projects: one open, one awarded", func(t *testing.T) {
			states := map[string]int{}
			for _, p := range pg.Items {
				states[p.Status]++
			}
			if pg.Total != 2 || states[projects.Open] != 1 || states[projects.Awarded] != 1 {
				t.Fatalf("%v of %d", states, pg.Total)
			}
		})
		t.Run("the awarded one's first milestone is paid, the rest to report", func(t *testing.T) {
			for _, p := range pg.Items {
				if p.Status != projects.Awarded {
					continue
				}
				got := apptest.JSON[projects.Project](t, off, "GET", "/api/v1/projects/"+p.ID, nil, 200)
				ms := got.Contract.Milestones
				var sum int64
				for _, m := range ms {
					sum += m.AmountFen
				}
				if ms[0].Status != projects.Paid || ms[1].Status != projects.Pending || sum != got.Contract.AmountFen {
					t.Errorf("%+v", ms)
				}
			}
		})
		t.Run("demo.provider sees its contract and can apply to the open one", func(t *testing.T) {
			m := apptest.JSON[projects.Mine](t, prov, "GET", "/api/v1/projects/mine", nil, 200)
			if len(m.Contracts) != 1 {
				t.Fatalf("%+v", m)
			}
			for _, p := range pg.Items {
				if p.Status == projects.Open {
					apptest.JSON[projects.Application](t, prov, "POST", "/api/v1/projects/"+p.ID+"/applications", projects.ApplyInput{Proposal: "方案", BudgetFen: 150_000_00}, 201)
				}
			}
		})
	})
}
