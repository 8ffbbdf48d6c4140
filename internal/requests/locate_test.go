package requests_test

import (
	"testing"

	"linli/internal/apptest"
)

// A caller on the 12345 hotline gives a place, not a community: the request
// goes to the community whose known places are nearest.
func TestRequestRoutedByLocation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", "officer", county)
		c := e.Login("county")
		for code, lon := range map[string]float64{communityA: 120.1300, communityB: 120.1500} {
			apptest.JSON[map[string]any](t, c, "POST", "/api/v1/facilities", map[string]any{"division": code, "code": "LOC" + code, "name": "党群服务中心",
				"category": "party_service_center", "address": "测试", "lon": lon, "lat": 30.2700, "floor_area_m2": 300}, 201)
		}
		near := func(t *testing.T, lon float64) request {
			t.Helper()
			return submit(t, c, map[string]any{"category": "repair", "description": "路灯坏了", "attributes": map[string]string{"facility": "light"},
				"division_code": county, "lon": lon, "lat": 30.2702})
		}
		for _, p := range []struct {
			name string
			lon  float64
			want string
		}{
			{"a point by B goes to B", 120.1496, communityB},
			{"a point by A goes to A", 120.1303, communityA},
			{"a point far from every known place stays with the county it was given", 120.30, county},
		} {
			t.Run(p.name, func(t *testing.T) {
				if r := near(t, p.lon); r.Division != p.want {
					t.Errorf("went to %s, want %s", r.Division, p.want)
				}
			})
		}
		t.Run("the community's unit handles it", func(t *testing.T) {
			if r := near(t, 120.1496); r.Unit != communityB || r.Channel != "hotline" {
				t.Fatalf("routed: %+v", r)
			}
		})
	})
}
