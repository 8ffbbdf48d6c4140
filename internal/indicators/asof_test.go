package indicators_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/indicators"
)

// designation is one a unit holds, as the divisions API lists them.
type designation struct {
	Kind string `json:"kind"`
	Year int    `json:"year"`
}

// Effective dating: a facility enlarged and a caregiver's certificate
// withdrawn in 2024, an organisation deleted in 2024 — 2023's indicators
// stay as they were at the end of 2023, live and precomputed.
func TestIndicatorsAsOfYearEnd(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		at := func(y int, m time.Month) { e.Clock.Set(time.Date(y, m, 1, 9, 0, 0, 0, time.UTC)) }
		for _, y := range []int{2023, 2024} {
			done(t, c, "PUT", fmt.Sprintf("/api/v1/divisions/%s/attributes/%d", apptest.CommunityA, y), map[string]any{"values": map[string]float64{"households": 400, "population": 1000, "population_60plus": 200}})
		}
		at(2023, time.June)
		fac := map[string]any{"division": apptest.CommunityA, "code": "F-ASOF", "name": "上保社区服务中心", "category": "community_service_facility",
			"address": "测试路1号", "lon": 120.16, "lat": 30.27, "floor_area_m2": 300}
		facID := created(t, c, "POST", "/api/v1/facilities", fac)
		personID := created(t, c, "POST", "/api/v1/personnel", map[string]any{"division": apptest.CommunityA, "name": "护理员甲", "roles": []string{"care_worker"}, "attrs": map[string]any{"certified": true}})
		orgID := created(t, c, "POST", "/api/v1/organizations", map[string]any{"division": apptest.CommunityA, "kind": "social_org", "name": "社会组织丙", "reg_no": "REG-ASOF"})
		at(2024, time.March)
		fac["floor_area_m2"] = 500
		done(t, c, "PUT", "/api/v1/facilities/"+facID, fac)
		done(t, c, "PUT", "/api/v1/personnel/"+personID, map[string]any{"division": apptest.CommunityA, "name": "护理员甲", "roles": []string{"care_worker"}, "attrs": map[string]any{"certified": false}})
		done(t, c, "DELETE", "/api/v1/organizations/"+orgID, nil)
		// Worked by hand: 2023 I14 = 100 × 300 ÷ 400, I21 = 10000 × 1 ÷ 200,
		// I18 = 10000 × 1 ÷ 1000; 2024: 100 × 500 ÷ 400, 0 and 0.
		want := map[int]map[string]float64{
			2023: {"I14": 75, "I21": 50, "I18": 10},
			2024: {"I14": 125, "I21": 0, "I18": 0},
		}
		check := func(t *testing.T) {
			for y, ws := range want {
				got := getRows(t, c, apptest.County, y)
				for id, w := range ws {
					if v := got[id].Value; !near(v, w) {
						t.Errorf("%d %s = %v, want %v", y, id, ptr(v), w)
					}
				}
			}
		}
		t.Run("live values are as of each year's end", check)
		t.Run("precomputed values are the same", func(t *testing.T) {
			ctx := access.With(context.Background(), &access.Principal{Username: "check", Role: access.Officer, Division: "33"})
			store := indicators.StoreOf(e.App.Module("indicators"))
			for _, y := range []int{2023, 2024} {
				if _, err := store.RecomputeAll(ctx, y); err != nil {
					t.Fatal(err)
				}
			}
			check(t)
			if n := e.Count(`SELECT COUNT(*) FROM ind_value_runs`); n != 2 {
				t.Errorf("%d precomputed years", n)
			}
		})
		at(2026, time.November) // the app's clock back to now
		t.Run("a past year's tags are read by their own dates", func(t *testing.T) {
			// A 低保 tag from March 2023 to May 2024 makes its holder one of
			// C13's key group at the end of 2023, not of 2022 or 2024.
			before := map[int]*float64{}
			for _, y := range []int{2022, 2023, 2024} {
				before[y] = getRows(t, c, apptest.County, y)["C13"].Den
			}
			hh := created(t, c, "POST", "/api/v1/households", map[string]any{"division": apptest.CommunityA, "household_no": "H-ASOF", "address": "上保路2号"})
			res := created(t, c, "POST", "/api/v1/residents", map[string]any{"household_id": hh, "name": "李测试", "id_number": validID("33010619880101002"), "relation": "户主", "residence": "registered"})
			created(t, c, "POST", "/api/v1/residents/"+res+"/tags", map[string]any{"tag": "dibao", "since": "2023-03-01", "until": "2024-05-31"})
			for y, w := range map[int]float64{2022: 0, 2023: 1, 2024: 0} {
				v := getRows(t, c, apptest.County, y)["C13"].Den
				var was, is float64
				if before[y] != nil {
					was = *before[y]
				}
				if v != nil {
					is = *v
				}
				if is-was != w {
					t.Errorf("%d C13 key group grew by %v, want %v", y, is-was, w)
				}
			}
		})
		t.Run("a withdrawn designation counts for the years it was held", func(t *testing.T) {
			// Awarded in 2022 and withdrawn this year (the app's 2026).
			done(t, c, "POST", "/api/v1/divisions/"+apptest.CommunityA+"/designations", map[string]any{"kind": "epidemic_free", "year": 2022})
			done(t, c, "DELETE", "/api/v1/divisions/"+apptest.CommunityA+"/designations/epidemic_free", nil)
			this := time.Now().Year() // the divisions core stamps withdrawals with the real year
			if v := getRows(t, c, apptest.County, this-1)["I09"].Num; !near(v, 1) {
				t.Errorf("I09 numerator the year before the withdrawal = %v, want 1", ptr(v))
			}
			if v := getRows(t, c, apptest.County, this)["I09"].Num; !near(v, 0) {
				t.Errorf("I09 numerator in the year of the withdrawal = %v, want 0", ptr(v))
			}
			for _, d := range apptest.JSON[[]designation](t, c, "GET", "/api/v1/divisions/"+apptest.CommunityA+"/designations", nil, 200) {
				if d.Kind == "epidemic_free" {
					t.Errorf("a withdrawn designation is listed: %+v", d)
				}
			}
			refusal(t, c, "DELETE", "/api/v1/divisions/"+apptest.CommunityA+"/designations/epidemic_free", nil, 404)
		})
	})
}
