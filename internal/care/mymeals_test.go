package care_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
)

func TestAResidentSeesTheirMealsAndBill(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newCanteenTown(t, e)
		w.c = apptest.JSON[care.Canteen](t, w.cw, "POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: w.facility, ProviderID: w.p.ID}, 201)
		w.menu(t, "2026-10-26", "2026-10-28")
		w.menu(t, "2026-11-23", "2026-11-25")
		w.elderE = apptest.JSON[care.Enrolment](t, e.Login("res.old"), "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID}, 201)
		w.dibaoE = apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.dibao}, 201)
		for _, day := range []string{"2026-10-28", "2026-11-25"} {
			apptest.JSON[care.MealResult](t, w.mgr, "POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: day, Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}, {EnrolmentID: w.dibaoE.ID}}}, 200)
		}
		res := e.Login("res.old")

		t.Run("the newest month is shown by default: the household's meals only, with the price, subsidy and what it pays", func(t *testing.T) {
			b := apptest.JSON[care.MealBill](t, res, "GET", "/api/v1/care/my-meals", nil, 200)
			if b.Month != "2026-11" || len(b.Months) != 2 || b.Months[0] != "2026-11" || b.Months[1] != "2026-10" {
				t.Fatalf("month %s of %v", b.Month, b.Months)
			}
			// 80+ under the first version: 15 yuan a lunch, 5 of it subsidised.
			if b.Count != 1 || b.Meals[0].ResidentID != w.elder || b.Meals[0].Name != "张**" || b.Meals[0].Canteen != "上保社区老年食堂" ||
				b.AmountFen != 1500 || b.SubsidyFen != 500 || b.CopayFen != 1000 {
				t.Fatalf("%+v", b)
			}
		})
		t.Run("another month is picked from the list; a month badly written is refused naming it", func(t *testing.T) {
			b := apptest.JSON[care.MealBill](t, res, "GET", "/api/v1/care/my-meals?month=2026-10", nil, 200)
			if b.Count != 1 || b.Meals[0].Date != "2026-10-28" {
				t.Fatalf("%+v", b)
			}
			if st, body := res.Do("GET", "/api/v1/care/my-meals?month=2026-13", nil); st != 400 || !contains(body, `"month"`) {
				t.Fatalf("%d %s", st, body)
			}
			if b := apptest.JSON[care.MealBill](t, res, "GET", "/api/v1/care/my-meals?month=2026-09", nil, 200); b.Count != 0 || len(b.Meals) != 0 {
				t.Fatalf("%+v", b)
			}
		})
		t.Run("the bill is the resident's own: workers are refused", func(t *testing.T) {
			if st, _ := w.cw.Do("GET", "/api/v1/care/my-meals", nil); st != 403 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("the page lists the month's meals and totals, and links the other months", func(t *testing.T) {
			st, body, _ := res.Get("/care/meals/mine")
			if st != 200 || !strings.Contains(body, `id="bill-copay">¥10.00`) || !strings.Contains(body, `href="/care/meals/mine?month=2026-10"`) || !strings.Contains(body, "上保社区老年食堂") {
				t.Fatalf("%d %s", st, body)
			}
			st, body, _ = res.Get("/care/meals/mine?month=2026-09")
			if st != 200 || !strings.Contains(body, "这个月您家没有助餐记录") {
				t.Fatalf("empty month: %d", st)
			}
		})
		t.Run("我的 tells the resident this month's meals and what they pay", func(t *testing.T) {
			ctx := as("res.old", access.Resident, communityA)
			secs, err := w.cs.Mine(ctx, access.From(ctx))
			if err != nil || len(secs) != 1 || len(secs[0].Items) != 1 {
				t.Fatalf("%+v %v", secs, err)
			}
			if it := secs[0].Items[0]; it.Href != "/care/meals/mine?month=2026-11" || !strings.Contains(it.Label.ZH, "助餐 1 次，自付 ¥10.00") {
				t.Fatalf("%+v", it)
			}
			e.Clock.Add(31 * 24 * time.Hour) // December: no meals yet
			if secs, _ := w.cs.Mine(ctx, access.From(ctx)); len(secs) != 1 || len(secs[0].Items) != 0 {
				t.Fatalf("%+v", secs)
			}
		})
	})
}
