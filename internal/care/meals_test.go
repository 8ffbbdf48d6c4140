package care_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/module"
	"linli/internal/registry"
)

// canteenTown is the town with a canteen facility in community A run by
// provider P, a week's menu in October and in November at 15 yuan a
// lunch, and the meal rule's first version: 80+ 5 yuan, 低保 aged 60+ 4
// yuan a meal.
type canteenTown struct {
	*town
	c                care.Canteen
	elderE, dibaoE   care.Enrolment
	mgr, cw, officer *apptest.Client
	facility         string
}

func newCanteenTown(t *testing.T, e *apptest.Env) *canteenTown {
	t.Helper()
	w := &canteenTown{town: newTown(t, e), mgr: e.Login("prov.mgr"), cw: e.Login("cw.a"), officer: e.Login("officer.county")}
	f, err := w.reg.CreateFacility(w.town.cw, registry.FacilityInput{Division: communityA, Code: "A-CANTEEN", Name: "上保社区老年食堂", Category: "elderly_canteen",
		Address: "上保社区 2 号", Lon: 120.141, Lat: 30.261, FloorArea: 120, Status: "open"})
	if err != nil {
		t.Fatal(err)
	}
	w.facility = f.ID
	apptest.JSON[care.Rule](t, w.officer, "POST", "/api/v1/care/meal-rules", care.RuleInput{County: county, FromMonth: "2026-01", Name: "2026 年助餐补贴", Tiers: []care.Tier{
		{Label: "高龄", AgeMin: 80, AmountFen: 500}, {Label: "低保老人", AgeMin: 60, Tags: []string{"dibao"}, AmountFen: 400}}}, 201)
	return w
}

func (w *canteenTown) menu(t *testing.T, week, day string) {
	t.Helper()
	apptest.JSON[[]care.MenuSitting](t, w.mgr, "PUT", "/api/v1/care/canteens/"+w.c.ID+"/menu", care.MenuInput{Week: week, Sittings: []care.MenuSitting{
		{Date: day, Sitting: care.SittingLunch, Dishes: []string{"红烧肉", "清炒时蔬", "米饭"}, PriceFen: 1500}}}, 200)
}

func (w *canteenTown) meals(t *testing.T) int {
	return w.e.Count(`SELECT COUNT(*) FROM care_meals`)
}

func (w *canteenTown) subsidy(t *testing.T, resident, day string) int64 {
	t.Helper()
	var fen int64
	if err := w.e.App.DB.R.QueryRow(`SELECT subsidy_fen FROM care_meals WHERE resident_id = $1 AND served_on = $2`, resident, day).Scan(&fen); err != nil {
		return -1
	}
	return fen
}

func TestMeals(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newCanteenTown(t, e)
		t.Run("only a facility of the canteen kind becomes a canteen", func(t *testing.T) {
			var dayCare string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM registry_facility_cards WHERE category = 'elderly_day_care'`).Scan(&dayCare); err != nil {
				t.Fatal(err)
			}
			if st, body := w.cw.Do("POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: dayCare}); st != 400 || !contains(body, "facility_id") {
				t.Fatalf("%d %s", st, body)
			}
			if st, body := e.Login("cw.b").Do("POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: w.facility}); st != 400 || !contains(body, "facility_id") {
				t.Fatalf("another community's worker: %d %s", st, body)
			}
			w.c = apptest.JSON[care.Canteen](t, w.cw, "POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: w.facility, ProviderID: w.p.ID}, 201)
			if w.c.County != county || len(w.c.Communities) != 1 || w.c.Communities[0] != communityA {
				t.Fatalf("%+v", w.c)
			}
			if st, body := w.cw.Do("POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: w.facility}); st != 409 {
				t.Fatalf("twice: %d %s", st, body)
			}
		})
		t.Run("the provider's staff publish the menu, nobody else", func(t *testing.T) {
			in := care.MenuInput{Week: "2026-11-23", Sittings: []care.MenuSitting{{Date: "2026-11-25", Sitting: care.SittingLunch, Dishes: []string{"鱼"}, PriceFen: 1200}}}
			for _, c := range []*apptest.Client{w.cw, e.Login("prov2.mgr"), e.Login("res.old")} {
				if st, body := c.Do("PUT", "/api/v1/care/canteens/"+w.c.ID+"/menu", in); st != 403 && st != 404 {
					t.Fatalf("%d %s", st, body)
				}
			}
			in.Week = "2026-11-24"
			if st, body := w.mgr.Do("PUT", "/api/v1/care/canteens/"+w.c.ID+"/menu", in); st != 400 || !contains(body, `"week"`) {
				t.Fatalf("not a Monday: %d %s", st, body)
			}
			w.menu(t, "2026-10-26", "2026-10-28")
			w.menu(t, "2026-11-23", "2026-11-25")
			ms := apptest.JSON[[]care.MenuSitting](t, e.Login("res.old"), "GET", "/api/v1/care/canteens/"+w.c.ID+"/menu?week=2026-11-23", nil, 200)
			if len(ms) != 1 || ms[0].PriceFen != 1500 || len(ms[0].Dishes) != 3 {
				t.Fatalf("%+v", ms)
			}
		})
		t.Run("only residents aged 60 or more enrol, once per canteen", func(t *testing.T) {
			if st, body := w.cw.Do("POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.son}); st != 400 || !contains(body, "resident_id") {
				t.Fatalf("aged 56: %d %s", st, body)
			}
			w.elderE = apptest.JSON[care.Enrolment](t, e.Login("res.old"), "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID}, 201)
			if st, body := w.cw.Do("POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.elder}); st != 409 {
				t.Fatalf("twice: %d %s", st, body)
			}
			w.dibaoE = apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.dibao, Mode: care.ModeDelivery}, 201)
			if st, body := e.Login("res.b").Do("POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID}); st != 400 || !contains(body, "canteen_id") {
				t.Fatalf("another community: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meal_enrolments WHERE active`); n != 2 {
				t.Fatalf("%d enrolments", n)
			}
		})
		t.Run("an ended enrolment may be made again", func(t *testing.T) {
			bed := apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.bed}, 201)
			if st, body := e.Login("res.old").Do("POST", "/api/v1/care/meal-enrolments/"+bed.ID+"/end", nil); st != 403 {
				t.Fatalf("another household: %d %s", st, body)
			}
			if st, body := w.cw.Do("POST", "/api/v1/care/meal-enrolments/"+bed.ID+"/end", nil); st != 204 {
				t.Fatalf("%d %s", st, body)
			}
			apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.bed}, 201)
		})
		t.Run("the subsidy follows the rule version in force for the meal's month", func(t *testing.T) {
			res := apptest.JSON[care.MealResult](t, w.mgr, "POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-10-28", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}, {EnrolmentID: w.dibaoE.ID}}}, 200)
			if res.Added != 2 || res.SubsidyFen != 900 {
				t.Fatalf("%+v", res)
			}
			v2 := care.RuleInput{County: county, FromMonth: "2026-11", Name: "2026 年助餐补贴（调整）", Tiers: []care.Tier{{Label: "高龄", AgeMin: 80, AmountFen: 800}, {Label: "低保", Tags: []string{"dibao"}, AmountFen: 600}}}
			if r := apptest.JSON[care.Rule](t, w.officer, "POST", "/api/v1/care/meal-rules", v2, 201); r.Version != 2 {
				t.Fatalf("version %d", r.Version)
			}
			v3 := v2
			v3.FromMonth = "2026-10"
			if st, body := w.officer.Do("POST", "/api/v1/care/meal-rules", v3); st != 400 || !contains(body, "from_month") {
				t.Fatalf("a version over October's meals: %d %s", st, body)
			}
			apptest.JSON[care.MealResult](t, w.mgr, "POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-25", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}}}, 200)
			if got := w.subsidy(t, w.elder, "2026-10-28"); got != 500 {
				t.Errorf("October under version 1: %d", got)
			}
			if got := w.subsidy(t, w.dibao, "2026-10-28"); got != 400 {
				t.Errorf("低保 in October: %d", got)
			}
			if got := w.subsidy(t, w.elder, "2026-11-25"); got != 800 {
				t.Errorf("November under version 2: %d", got)
			}
			var copay, amount int64
			if err := e.App.DB.R.QueryRow(`SELECT amount_fen, copay_fen FROM care_meals WHERE resident_id = $1 AND served_on = '2026-11-25'`, w.elder).Scan(&amount, &copay); err != nil || amount != 1500 || copay != 700 {
				t.Fatalf("the diner pays the rest: %d %d %v", amount, copay, err)
			}
		})
		t.Run("the tick list records each meal once, however often it is sent", func(t *testing.T) {
			path := "/care/canteens/" + w.c.ID + "/sitting"
			st, body, _ := w.mgr.Get(path + "?date=2026-11-25&sitting=lunch")
			if st != 200 || !strings.Contains(body, `name="m.`+w.dibaoE.ID+`"`) || strings.Contains(body, `name="m.`+w.elderE.ID+`"`) {
				t.Fatalf("the list offers the 低保 diner and shows the elder as recorded: %d", st)
			}
			form := map[string]string{"date": "2026-11-25", "sitting": "lunch", "m." + w.dibaoE.ID: care.ModeDelivery, "m." + w.elderE.ID: care.ModeDineIn}
			before := w.meals(t)
			for i := 0; i < 2; i++ {
				if st, body, _ := w.mgr.Form(path, form, nil); st != http.StatusSeeOther {
					t.Fatalf("submit %d: %d %s", i+1, st, body)
				}
				if n := w.meals(t); n != before+1 {
					t.Fatalf("submit %d: %d meals, want %d", i+1, n, before+1)
				}
			}
			if got := w.subsidy(t, w.dibao, "2026-11-25"); got != 600 {
				t.Errorf("低保 under version 2: %d", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_meals WHERE resident_id = $1 AND served_on = '2026-11-25' AND mode = 'dine_in'`, w.elder); n != 1 {
				t.Errorf("the second submit changed the elder's meal")
			}
		})
		t.Run("a sitting without a menu or a diner not enrolled records nothing", func(t *testing.T) {
			before := w.meals(t)
			if st, body := w.mgr.Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-26", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}}}); st != 400 || !contains(body, `"date"`) {
				t.Fatalf("no menu: %d %s", st, body)
			}
			if st, body := w.mgr.Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-25", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: "nobody"}}}); st != 400 || !contains(body, "enrolment_id") {
				t.Fatalf("not enrolled: %d %s", st, body)
			}
			if n := w.meals(t); n != before {
				t.Fatalf("%d meals, want %d", n, before)
			}
		})
		t.Run("a CSV with one bad line is refused whole, naming the line and field", func(t *testing.T) {
			w.menu(t, "2026-11-23", "2026-11-24")
			before := w.meals(t)
			bad := "enrolment_id,date,sitting,mode\n" + w.elderE.ID + ",2026-11-24,lunch,dine_in\n" + w.dibaoE.ID + ",2026-11-24,supper,\n"
			st, body := w.mgr.Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/meals/import", bad)
			if st != 400 || !contains(body, "line 3") || !contains(body, "sitting") {
				t.Fatalf("%d %s", st, body)
			}
			if n := w.meals(t); n != before {
				t.Fatalf("a refused file wrote %d meals", n-before)
			}
			good := strings.Replace(bad, "supper", "lunch", 1) + w.elderE.ID + ",2026-11-24,lunch,delivery\n"
			res := apptest.JSON[care.MealResult](t, w.mgr, "POST", "/api/v1/care/canteens/"+w.c.ID+"/meals/import", good, 200)
			if res.Added != 2 || res.Already != 1 || w.meals(t) != before+2 {
				t.Fatalf("%+v", res)
			}
		})
		t.Run("the upload page names the bad line and writes nothing", func(t *testing.T) {
			before := w.meals(t)
			st, body, _ := w.mgr.Multipart("/care/canteens/"+w.c.ID+"/import", nil, "file", "meals.csv", []byte("enrolment_id,date,sitting,mode\n"+w.elderE.ID+",2026-12-24,lunch,\n"), nil)
			if st != 400 || !strings.Contains(body, "第 2 行") || w.meals(t) != before {
				t.Fatalf("%d", st)
			}
		})
		t.Run("C06 counts a community only when meals were served there", func(t *testing.T) {
			sum := careElement(t, e, "units_with_meals_served")
			sc := access.Subtree(county)
			got, err := sum(context.Background(), e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 9, Year: 2026})
			if err != nil {
				t.Fatal(err)
			}
			if got[townA] != 1 || got["330106004"] != 0 {
				t.Fatalf("%v", got)
			}
			if got, _ := sum(context.Background(), e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 6, Year: 2025}); got[county] != 0 {
				t.Fatalf("2025: %v", got)
			}
			if got, _ := sum(context.Background(), e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 12, Year: 2026, Month: 9}); got[communityA] != 0 {
				t.Fatalf("September: %v", got)
			}
		})
		t.Run("meals join the provider's settlement of the month", func(t *testing.T) {
			st := apptest.JSON[care.Settlement](t, w.officer, "POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-10"}, 201)
			if st.Meals != 2 || st.SubsidyFen != 900 || st.AmountFen != 3000 {
				t.Fatalf("%+v", st)
			}
			if st, body := w.mgr.Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-10-28", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: w.elderE.ID}}}); st != 400 || !contains(body, "date") {
				t.Fatalf("a settled month: %d %s", st, body)
			}
		})
		t.Run("meals are scoped and recorded in the audit log", func(t *testing.T) {
			for _, u := range []string{"res.b", "prov2.mgr"} {
				if st, body := e.Login(u).Do("GET", "/api/v1/care/canteens/"+w.c.ID+"/diners", nil); st != 404 {
					t.Errorf("%s: %d %s", u, st, body)
				}
			}
			if st, _ := e.Login("prov2.mgr").Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-25", Sitting: care.SittingLunch}); st != 404 {
				t.Errorf("another provider records: %d", st)
			}
			mine := apptest.JSON[[]care.Enrolment](t, e.Login("res.old"), "GET", "/api/v1/care/canteens/"+w.c.ID+"/diners", nil, 200)
			if len(mine) != 1 || mine[0].ResidentID != w.elder || !strings.HasSuffix(mine[0].Name, "**") {
				t.Errorf("a resident sees their household only, masked: %+v", mine)
			}
			for _, action := range []string{"care.canteen.register", "care.menu.publish", "care.meal.enrol", "care.meal.unenrol", "care.meal.record", "care.meal.import", "care.meal_rule.publish"} {
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action); n == 0 {
					t.Errorf("no %s in the audit log", action)
				}
			}
			st, _, hdr := w.mgr.Get("/care/canteens/" + w.c.ID + "/months/2026-11")
			if st != 200 || hdr.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'care.meal.statement'`) != 1 {
				t.Fatalf("the month's statement: %d", st)
			}
		})
		t.Run("the menu form names a bad price and publishes a good week", func(t *testing.T) {
			path := "/care/canteens/" + w.c.ID + "/menu"
			st, body, _ := w.mgr.Form(path, map[string]string{"week": "2026-11-30", "lunch_0": "鱼\n青菜", "lunch_price_0": "十五"}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-lunch_price_0"`) || e.Count(`SELECT COUNT(*) FROM care_menus WHERE served_on = '2026-11-30'`) != 0 {
				t.Fatalf("%d", st)
			}
			if st, _, _ := w.mgr.Form(path, map[string]string{"week": "2026-11-30", "lunch_0": "鱼\n青菜", "lunch_price_0": "12.5", "dinner_2": "面条", "dinner_price_2": "8"}, nil); st != http.StatusSeeOther {
				t.Fatalf("%d", st)
			}
			ms := apptest.JSON[[]care.MenuSitting](t, w.mgr, "GET", "/api/v1/care/canteens/"+w.c.ID+"/menu?week=2026-11-30", nil, 200)
			if len(ms) != 2 || ms[0].PriceFen != 1250 || len(ms[0].Dishes) != 2 || ms[1].Date != "2026-12-02" || ms[1].Sitting != care.SittingDinner {
				t.Fatalf("%+v", ms)
			}
		})
		t.Run("the pages answer every role", func(t *testing.T) {
			for _, u := range []string{"prov.mgr", "cw.a", "officer.county", "res.old", "res.b"} {
				for _, path := range []string{"/care/canteens", "/care/canteens/" + w.c.ID} {
					st, _, _ := e.Login(u).Get(path)
					if want := 200; (u == "res.b" && path != "/care/canteens") && st != 404 || !(u == "res.b" && path != "/care/canteens") && st != want {
						t.Errorf("%s %s: %d", u, path, st)
					}
				}
			}
			if st, _, _ := w.mgr.Get("/care/canteens/" + w.c.ID + "/menu?week=2026-11-23"); st != 200 {
				t.Errorf("menu form: %d", st)
			}
		})
	})
}

func careElement(t *testing.T, e *apptest.Env, key string) module.SumFunc {
	t.Helper()
	for _, el := range e.App.Module("care").(module.ElementSupplier).Elements() {
		if el.Key == key {
			return el.Sum
		}
	}
	t.Fatalf("no element %s", key)
	return nil
}
