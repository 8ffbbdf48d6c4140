package care_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/care"
)

func TestRulesArePublishedAndMonthsGrantedFromThePage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		form := map[string]string{"kind": "quota", "from_month": "2026-11", "name": "2026 年居家养老服务补贴",
			"tiers[0].label": "高龄", "tiers[0].age_min": "80", "tiers[0].amount_fen": "200",
			"tiers[1].label": "失能", "tiers[1].tags": "disabled_full", "tiers[1].amount_fen": "300.5"}

		t.Run("the county officer picks tags from the catalogue and types amounts in yuan", func(t *testing.T) {
			st, body, _ := officer.Get("/care/rules")
			if st != 200 || !strings.Contains(body, `name="tiers[0].tags" value="disabled_full"`) || !strings.Contains(body, `id="publish"`) {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("an amount that is not yuan names its tier's field and publishes nothing", func(t *testing.T) {
			bad := map[string]string{}
			for k, v := range form {
				bad[k] = v
			}
			bad["tiers[1].amount_fen"] = "三百"
			st, body, _ := officer.Form("/care/rules", bad, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-tiers%5b1%5d.amount_fen"`) || !strings.Contains(body, `value="三百"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_rules`); n != 0 {
				t.Fatalf("%d rules", n)
			}
		})
		t.Run("a good form publishes version 1 in fen, listed with its tiers in words", func(t *testing.T) {
			if st, body, hdr := officer.Form("/care/rules", form, sameOrigin); st != 303 || hdr.Get("Location") != "/care/rules?done=published" {
				t.Fatalf("%d %s", st, body)
			}
			rules := apptest.JSON[[]care.Rule](t, officer, "GET", "/api/v1/care/entitlements/rules", nil, 200)
			if len(rules) != 1 || len(rules[0].Tiers) != 2 || rules[0].Tiers[0].AmountFen != 20000 || rules[0].Tiers[1].AmountFen != 30050 || rules[0].Tiers[1].Tags[0] != "disabled_full" {
				t.Fatalf("%+v", rules)
			}
			_, body, _ := officer.Get("/care/rules?done=published")
			if !strings.Contains(body, "高龄：80 岁及以上 ¥200.00") || !strings.Contains(body, "¥300.50") {
				t.Fatalf("%s", body)
			}
		})
		t.Run("the meal subsidy is published from the same form", func(t *testing.T) {
			meal := map[string]string{"kind": "meal", "from_month": "2026-11", "name": "助餐补贴", "tiers[0].label": "高龄", "tiers[0].age_min": "80", "tiers[0].amount_fen": "5"}
			if st, body, _ := officer.Form("/care/rules", meal, sameOrigin); st != 303 {
				t.Fatalf("%d %s", st, body)
			}
			if rs := apptest.JSON[[]care.Rule](t, officer, "GET", "/api/v1/care/meal-rules", nil, 200); len(rs) != 1 || rs[0].Tiers[0].AmountFen != 500 {
				t.Fatalf("%+v", rs)
			}
		})
		t.Run("granting the month from the page runs it once; again names the month", func(t *testing.T) {
			if st, body, _ := officer.Form("/care/rules/runs", map[string]string{"month": "2026-11"}, sameOrigin); st != 303 {
				t.Fatalf("%d %s", st, body)
			}
			if g, _, _ := w.quota(t, w.elder, "2026-11"); g != 20000 {
				t.Fatalf("the elder got %d", g)
			}
			if g, _, _ := w.quota(t, w.bed, "2026-11"); g != 30050 {
				t.Fatalf("the bedridden man got %d", g)
			}
			if st, body, _ := officer.Form("/care/rules/runs", map[string]string{"month": "2026-11"}, sameOrigin); st != 409 {
				t.Fatalf("twice: %d %s", st, body)
			}
			_, body, _ := officer.Get("/care/rules")
			if !strings.Contains(body, `id="runs"`) || !strings.Contains(body, "2026-11") {
				t.Fatalf("%s", body)
			}
		})
		t.Run("a community worker reads the rules without the forms; a township officer cannot publish; residents are refused", func(t *testing.T) {
			st, body, _ := e.Login("cw.a").Get("/care/rules")
			if st != 200 || strings.Contains(body, `id="publish-form"`) || !strings.Contains(body, "2026 年居家养老服务补贴") {
				t.Fatalf("%d", st)
			}
			if st, _, _ := e.Login("officer.town").Form("/care/rules", form, sameOrigin); st != 403 {
				t.Fatalf("township: %d", st)
			}
			if st, _, _ := e.Login("res.old").Get("/care/rules"); st != 403 {
				t.Fatalf("resident: %d", st)
			}
		})
	})
}
