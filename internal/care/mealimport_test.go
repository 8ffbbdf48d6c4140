package care_test

import (
	"bytes"
	"testing"

	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/tabular"
)

// mealsXLSX writes a meal file in xlsx with the import's header.
func mealsXLSX(t *testing.T, rows ...[]string) string {
	t.Helper()
	var buf bytes.Buffer
	x, err := tabular.New(&buf, "xlsx", tabular.Options{Sheet: "Meals"})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Row(care.MealCSVHeader...); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := x.Row(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestMealImportAndMenus(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newCanteenTown(t, e)
		w.c = apptest.JSON[care.Canteen](t, w.cw, "POST", "/api/v1/care/canteens", care.CanteenInput{FacilityID: w.facility, ProviderID: w.p.ID}, 201)
		menuPath := "/api/v1/care/canteens/" + w.c.ID + "/menu"
		lunch := func(day string, fen int64, dishes ...string) care.MenuSitting {
			return care.MenuSitting{Date: day, Sitting: care.SittingLunch, Dishes: dishes, PriceFen: fen}
		}
		week := func(monday string) []care.MenuSitting {
			t.Helper()
			return apptest.JSON[[]care.MenuSitting](t, w.mgr, "GET", menuPath+"?week="+monday, nil, 200)
		}
		t.Run("publishing a week again replaces its sittings and leaves the other weeks", func(t *testing.T) {
			apptest.JSON[[]care.MenuSitting](t, w.mgr, "PUT", menuPath, care.MenuInput{Week: "2026-11-16", Sittings: []care.MenuSitting{lunch("2026-11-18", 1300, "饺子")}}, 200)
			apptest.JSON[[]care.MenuSitting](t, w.mgr, "PUT", menuPath, care.MenuInput{Week: "2026-11-23", Sittings: []care.MenuSitting{
				lunch("2026-11-23", 1500, "鱼"), lunch("2026-11-24", 1500, "鸡"), {Date: "2026-11-24", Sitting: care.SittingDinner, Dishes: []string{"粥"}, PriceFen: 600}}}, 200)
			got := apptest.JSON[[]care.MenuSitting](t, w.mgr, "PUT", menuPath, care.MenuInput{Week: "2026-11-23", Sittings: []care.MenuSitting{lunch("2026-11-24", 1400, "豆腐", "米饭")}}, 200)
			if len(got) != 1 || got[0].Date != "2026-11-24" || got[0].PriceFen != 1400 || len(got[0].Dishes) != 2 {
				t.Fatalf("%+v", got)
			}
			if ms := week("2026-11-23"); len(ms) != 1 || ms[0].Dishes[0] != "豆腐" {
				t.Fatalf("the week read back: %+v", ms)
			}
			if ms := week("2026-11-16"); len(ms) != 1 || ms[0].Date != "2026-11-18" || ms[0].PriceFen != 1300 {
				t.Fatalf("the week before changed: %+v", ms)
			}
		})
		t.Run("a date outside the week, a sitting twice, no dish or a price over 100 yuan is refused, naming it, and the week stays", func(t *testing.T) {
			for field, sittings := range map[string][]care.MenuSitting{
				`"sittings[0].date"`:      {lunch("2026-11-30", 1500, "鱼")},
				`"sittings[1]"`:           {lunch("2026-11-24", 1500, "鱼"), lunch("2026-11-24", 1200, "鸡")},
				`"sittings[0].dishes"`:    {lunch("2026-11-24", 1500)},
				`"sittings[0].price_fen"`: {lunch("2026-11-24", 100_01, "鲍鱼")},
				`"sittings[0].sitting"`:   {{Date: "2026-11-24", Sitting: "breakfast", Dishes: []string{"包子"}, PriceFen: 300}},
			} {
				if st, body := w.mgr.Do("PUT", menuPath, care.MenuInput{Week: "2026-11-23", Sittings: sittings}); st != 400 || !contains(body, field) {
					t.Errorf("%s: %d %s", field, st, body)
				}
			}
			if ms := week("2026-11-23"); len(ms) != 1 || ms[0].PriceFen != 1400 {
				t.Fatalf("a refused menu changed the week: %+v", ms)
			}
		})
		elder := apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.elder}, 201)
		dibao := apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.dibao, Mode: care.ModeDelivery}, 201)
		importPath := "/api/v1/care/canteens/" + w.c.ID + "/meals/import"
		t.Run("an xlsx file with one bad line is refused whole, naming the line", func(t *testing.T) {
			file := mealsXLSX(t, []string{elder.ID, "2026-11-24", "lunch", ""}, []string{dibao.ID, "2026-11-25", "lunch", ""})
			if st, body := w.mgr.Do("POST", importPath, file); st != 400 || !contains(body, "line 3") || !contains(body, "date") {
				t.Fatalf("no menu on the 25th: %d %s", st, body)
			}
			if n := w.meals(t); n != 0 {
				t.Fatalf("a refused file wrote %d meals", n)
			}
		})
		t.Run("an xlsx file of meals is recorded like a CSV, each diner's subsidy by the rule", func(t *testing.T) {
			file := mealsXLSX(t, []string{elder.ID, "2026-11-24", "lunch", ""}, []string{dibao.ID, "2026-11-24", "lunch", ""})
			res := apptest.JSON[care.MealResult](t, w.mgr, "POST", importPath, file, 200)
			if res.Added != 2 || res.Already != 0 || res.SubsidyFen != 900 {
				t.Fatalf("%+v", res)
			}
			if got := w.subsidy(t, w.elder, "2026-11-24"); got != 500 {
				t.Errorf("the elder's subsidy %d, want 500", got)
			}
			var mode string
			var copay int64
			if err := e.App.DB.R.QueryRow(`SELECT mode, copay_fen FROM care_meals WHERE resident_id = $1`, w.dibao).Scan(&mode, &copay); err != nil || mode != care.ModeDelivery || copay != 1000 {
				t.Fatalf("the 低保 diner: %s %d %v", mode, copay, err)
			}
		})
		t.Run("the same file sent again adds nothing", func(t *testing.T) {
			file := mealsXLSX(t, []string{elder.ID, "2026-11-24", "lunch", ""}, []string{dibao.ID, "2026-11-24", "lunch", ""})
			res := apptest.JSON[care.MealResult](t, w.mgr, "POST", importPath, file, 200)
			if res.Added != 0 || res.Already != 2 || w.meals(t) != 2 {
				t.Fatalf("%+v", res)
			}
		})
		t.Run("a file without the enrolment column is refused, naming the file", func(t *testing.T) {
			if st, body := w.mgr.Do("POST", importPath, "date,sitting,mode\n2026-11-24,lunch,\n"); st != 400 || !contains(body, `"file"`) || !contains(body, "enrolment_id") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("an ended enrolment takes no more meals, and a new one does", func(t *testing.T) {
			if st, body := w.cw.Do("POST", "/api/v1/care/meal-enrolments/"+elder.ID+"/end", nil); st != 204 {
				t.Fatalf("%d %s", st, body)
			}
			if st, body := w.mgr.Do("POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-18", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: elder.ID}}}); st != 400 || !contains(body, "enrolment_id") {
				t.Fatalf("an ended enrolment: %d %s", st, body)
			}
			again := apptest.JSON[care.Enrolment](t, w.cw, "POST", "/api/v1/care/meal-enrolments", care.EnrolInput{CanteenID: w.c.ID, ResidentID: w.elder}, 201)
			if again.ID == elder.ID {
				t.Fatalf("the ended enrolment came back: %+v", again)
			}
			res := apptest.JSON[care.MealResult](t, w.mgr, "POST", "/api/v1/care/canteens/"+w.c.ID+"/sittings", care.SittingInput{Date: "2026-11-18", Sitting: care.SittingLunch,
				Served: []care.Tick{{EnrolmentID: again.ID}}}, 200)
			if res.Added != 1 || w.subsidy(t, w.elder, "2026-11-18") != 500 {
				t.Fatalf("%+v", res)
			}
		})
		t.Run("another provider neither publishes the canteen's menu nor imports its meals", func(t *testing.T) {
			other := e.Login("prov2.mgr")
			if st, _ := other.Do("PUT", menuPath, care.MenuInput{Week: "2026-11-23", Sittings: []care.MenuSitting{lunch("2026-11-24", 100, "水")}}); st != 404 && st != 403 {
				t.Errorf("menu: %d", st)
			}
			if st, _ := other.Do("POST", importPath, mealsXLSX(t, []string{dibao.ID, "2026-11-23", "lunch", ""})); st != 404 && st != 403 {
				t.Errorf("import: %d", st)
			}
			if n := w.meals(t); n != 3 {
				t.Fatalf("%d meals", n)
			}
		})
	})
}
