package app

import (
	"testing"

	"linli/internal/access"
)

// A caller on the 12345 hotline gives a place, not a community: the request
// goes to the community whose known places are nearest.
func TestRequestRoutedByLocation(t *testing.T) {
	eachStore(t, func(t *testing.T, e *testEnv) {
		e.user("county", access.Officer, county)
		c := e.login("county")
		for code, lon := range map[string]float64{communityA: 120.1300, communityB: 120.1500} {
			st, b := c.do("POST", "/api/v1/facilities", map[string]any{"division": code, "code": "LOC" + code, "name": "党群服务中心", "category": "party_service_center",
				"address": "测试", "lon": lon, "lat": 30.2700, "floor_area_m2": 300})
			if st != 201 {
				t.Fatalf("facility: %d %s", st, b)
			}
		}
		near := func(lon float64) string {
			r := rqSubmit(t, c, map[string]any{"category": "repair", "description": "路灯坏了", "attributes": map[string]string{"facility": "light"},
				"division_code": county, "lon": lon, "lat": 30.2702})
			return r.Division
		}
		if got := near(120.1496); got != communityB {
			t.Errorf("point by B went to %s", got)
		}
		if got := near(120.1303); got != communityA {
			t.Errorf("point by A went to %s", got)
		}
		if got := near(120.30); got != county {
			t.Errorf("point far from every known place went to %s, want the county it was given", got)
		}
	})
}
