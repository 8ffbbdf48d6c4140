package care_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/module"
)

// The demo county has its catalogue, providers with staff, a month of
// orders whose drawn subsidies are the quota's use, and last month
// settled: each settlement's totals are its confirmed orders'.
func TestDemo(t *testing.T) {
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		e := apptest.New(t, d)
		if _, err := e.App.SeedDemo(t.Context(), module.DemoOptions{Seed: 7, Scale: "community"}); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_items WHERE county = '330106'`); n != 8 {
			t.Errorf("%d items", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_providers`); n == 0 {
			t.Fatal("no provider")
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_staff WHERE username IN ('demo.provider', 'demo.carer')`); n != 2 {
			t.Errorf("%d demo provider accounts on staff", n)
		}
		for _, s := range []string{"confirmed", "served", "disputed"} {
			if n := e.Count(`SELECT COUNT(*) FROM care_orders WHERE status = $1`, s); n == 0 {
				t.Errorf("no %s order", s)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_quota q WHERE used_fen <> (SELECT COALESCE(SUM(subsidy_fen), 0) FROM care_orders o WHERE o.resident_id = q.resident_id AND o.month = q.month)`); n != 0 {
			t.Errorf("%d quotas whose use is not their orders' subsidies", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_settlements WHERE status = 'paid'`); n == 0 {
			t.Error("no settlement paid")
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_settlements s WHERE s.services <> (SELECT COUNT(*) FROM care_orders o WHERE o.settlement_id = s.id AND o.status = 'confirmed')
			OR s.meals <> (SELECT COUNT(*) FROM care_meals m WHERE m.settlement_id = s.id)
			OR s.subsidy_fen <> (SELECT COALESCE(SUM(o.amount_fen - o.copay_fen), 0) FROM care_orders o WHERE o.settlement_id = s.id)
				+ (SELECT COALESCE(SUM(m.amount_fen - m.copay_fen), 0) FROM care_meals m WHERE m.settlement_id = s.id)`); n != 0 {
			t.Errorf("%d settlements whose totals are not their orders' and meals'", n)
		}
		t.Run("canteens have menus, diners aged 60+ and weeks of meals", func(t *testing.T) {
			for what, q := range map[string]string{
				"canteen": `SELECT COUNT(*) FROM care_canteens`, "menu": `SELECT COUNT(*) FROM care_menus`, "enrolment": `SELECT COUNT(*) FROM care_meal_enrolments`,
				"meal": `SELECT COUNT(*) FROM care_meals`, "subsidised meal": `SELECT COUNT(*) FROM care_meals WHERE subsidy_fen > 0`,
				"community served": `SELECT COUNT(*) FROM care_meal_units`,
			} {
				if e.Count(q) == 0 {
					t.Errorf("no %s", what)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meal_enrolments e JOIN registry_people p ON p.id = e.resident_id WHERE p.birth_date > '1966-11-29'`); n != 0 {
				t.Errorf("%d diners under 60", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meals WHERE subsidy_fen + copay_fen <> amount_fen`); n != 0 {
				t.Errorf("%d meals whose subsidy and co-payment are not their price", n)
			}
		})
		if n := e.Count(`SELECT COUNT(*) FROM care_orders WHERE settlement_id <> '' AND status <> 'confirmed'`); n != 0 {
			t.Errorf("%d unconfirmed orders settled", n)
		}
	})
}
