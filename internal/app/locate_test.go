package app_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// A caller on the 12345 hotline gives a place, not a community: the request
// goes to the community whose known places are nearest.
func TestRequestRoutedByLocation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		for code, lon := range map[string]float64{apptest.CommunityA: 120.1300, apptest.CommunityB: 120.1500} {
			st, b := c.Do("POST", "/api/v1/facilities", map[string]any{"division": code, "code": "LOC" + code, "name": "党群服务中心", "category": "party_service_center",
				"address": "测试", "lon": lon, "lat": 30.2700, "floor_area_m2": 300})
			if st != 201 {
				t.Fatalf("facility: %d %s", st, b)
			}
		}
		near := func(lon float64) string {
			r := rqSubmit(t, c, map[string]any{"category": "repair", "description": "路灯坏了", "attributes": map[string]string{"facility": "light"},
				"division_code": apptest.County, "lon": lon, "lat": 30.2702})
			return r.Division
		}
		if got := near(120.1496); got != apptest.CommunityB {
			t.Errorf("point by B went to %s", got)
		}
		if got := near(120.1303); got != apptest.CommunityA {
			t.Errorf("point by A went to %s", got)
		}
		if got := near(120.30); got != apptest.County {
			t.Errorf("point far from every known place went to %s, want the county it was given", got)
		}
	})
}
