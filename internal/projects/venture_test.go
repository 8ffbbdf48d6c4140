package projects_test

import (
	"slices"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/projects"
	"linli/internal/web"
)

// 公益创投 rounds: projects of kind venture run the same flow under a
// small-grant cap; the board filters by kind.
func TestVentureRounds(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixture(t, e)
		offA, good := e.Login("off.a"), e.Login("prov.good")
		venture := func(budget int64) projects.ProjectInput {
			in := project()
			in.Kind, in.Title, in.BudgetFen, in.MinRating = projects.KindVenture, "社区花园微创投", budget, ""
			return in
		}
		t.Run("a venture budget over the cap is refused naming budget_fen; nothing is written", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects", venture(projects.VentureCapFen+1), 400)
			if !slices.Equal(fields(p), []string{"budget_fen"}) {
				t.Errorf("fields %v", fields(p))
			}
			if n := e.Count(`SELECT COUNT(*) FROM proj_projects`); n != 0 {
				t.Errorf("%d projects written", n)
			}
		})
		t.Run("an unknown kind is refused naming kind", func(t *testing.T) {
			in := venture(100)
			in.Kind = "lottery"
			if p := apptest.JSON[web.Problem](t, offA, "POST", "/api/v1/projects", in, 400); !slices.Equal(fields(p), []string{"kind"}) {
				t.Errorf("fields %v", fields(p))
			}
		})
		var v projects.Project
		t.Run("a venture at the cap is published and taken through the same flow", func(t *testing.T) {
			v = apptest.JSON[projects.Project](t, offA, "POST", "/api/v1/projects", venture(projects.VentureCapFen), 201)
			if v.Kind != projects.KindVenture {
				t.Fatalf("%+v", v)
			}
			a := apptest.JSON[projects.Application](t, good, "POST", "/api/v1/projects/"+v.ID+"/applications", projects.ApplyInput{Proposal: "居民共建花园", BudgetFen: 40_000_00}, 201)
			if a.Status != projects.Submitted {
				t.Errorf("%+v", a)
			}
		})
		var purchase projects.Project
		t.Run("a purchase keeps its own budget limit; a project without a kind is a purchase", func(t *testing.T) {
			purchase = apptest.JSON[projects.Project](t, offA, "POST", "/api/v1/projects", project(), 201)
			if purchase.Kind != projects.KindPurchase || purchase.BudgetFen <= projects.VentureCapFen {
				t.Errorf("%+v", purchase)
			}
		})
		t.Run("the board filters by kind", func(t *testing.T) {
			pg := apptest.JSON[projects.ProjectPage](t, offA, "GET", "/api/v1/projects?kind=venture", nil, 200)
			if pg.Total != 1 || pg.Items[0].ID != v.ID {
				t.Errorf("ventures %+v", pg)
			}
			if pg := apptest.JSON[projects.ProjectPage](t, offA, "GET", "/api/v1/projects?kind=purchase&status=open", nil, 200); pg.Total != 1 || pg.Items[0].ID != purchase.ID {
				t.Errorf("purchases %+v", pg)
			}
			if p := apptest.JSON[web.Problem](t, offA, "GET", "/api/v1/projects?kind=x", nil, 400); !slices.Equal(fields(p), []string{"kind"}) {
				t.Errorf("fields %v", fields(p))
			}
			_, body, _ := offA.Get("/projects?kind=venture")
			if !strings.Contains(body, "社区花园微创投") || strings.Contains(body, "独居老人关爱探访") || !strings.Contains(body, `id="kind-venture" aria-current="page"`) &&
				!strings.Contains(body, `aria-current="page" id="kind-venture"`) {
				t.Errorf("%s", body)
			}
		})
		t.Run("the new-project form picks the kind; a venture over the cap is named at the budget field", func(t *testing.T) {
			_, body, _ := offA.Get("/projects/new")
			if !strings.Contains(body, `<select id="f-kind" name="kind">`) || !strings.Contains(body, `value="venture"`) {
				t.Fatalf("%s", body)
			}
			vals := map[string]string{"division_code_l5": communityA, "kind": "venture", "title": "微创投", "need": "需求", "budget": "50000.01", "period_from": "2027-01-01",
				"period_to": "2027-12-31", "targets": "活动 10 场", "deadline": "2026-12-10", "c0_name": "方案", "c0_weight": "100"}
			st, body, _ := offA.Form("/projects/new", vals, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-budget"`) || !strings.Contains(body, "公益创投项目预算不超过 ¥50000.00") || !strings.Contains(body, `<option value="venture" selected>`) {
				t.Fatalf("%d %s", st, body)
			}
			vals["budget"] = "50000"
			if st, body, _ := offA.Form("/projects/new", vals, sameOrigin); st != 303 {
				t.Fatalf("%d %s", st, body)
			}
		})
	})
}
