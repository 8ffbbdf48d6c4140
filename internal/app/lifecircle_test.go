package app_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
)

// The demo county, its synthetic road network and demand points answer the
// life-circle page and API, within scope.
func TestLifeCircleOnDemoCounty(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		if _, err := e.App.SeedDemo(t.Context(), app.DemoOptions{Scale: "community", Seed: 3}); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM lc_demand`); n == 0 {
			t.Fatal("the demo placed no demand points")
		}
		e.User("county", access.Officer, apptest.County)
		e.User("ningbo", access.Officer, apptest.OtherCity)
		c := e.Login("county")
		st, body := c.Do("GET", "/api/v1/lifecircle/coverage?division="+apptest.County, nil)
		if st != 200 {
			t.Fatalf("coverage: %d %s", st, body)
		}
		var rows []struct {
			Unit         string    `json:"division_code"`
			Population   float64   `json:"population"`
			Shares       []float64 `json:"shares"`
			Completeness float64   `json:"completeness"`
		}
		json.Unmarshal([]byte(body), &rows)
		if len(rows) == 0 {
			t.Fatalf("no coverage rows: %s", body)
		}
		for _, r := range rows {
			if len(r.Unit) != 9 || r.Completeness < 0 || r.Completeness > 1 || len(r.Shares) == 0 {
				t.Fatalf("bad row %+v", r)
			}
		}
		if st, _ := e.Login("ningbo").Do("GET", "/api/v1/lifecircle/coverage?division="+apptest.County, nil); st != 404 {
			t.Fatalf("out of scope: %d", st)
		}
		if st, _ := c.Do("GET", "/api/v1/lifecircle/coverage?division="+apptest.County+"&tier=gb-99", nil); st != 400 {
			t.Fatalf("unknown tier: %d", st)
		}
		st, page, _ := c.Form("/lifecircle", map[string]string{"division": apptest.County, "tier": "plan-urban-15", "category": "kindergarten", "k": "3"}, nil)
		// No kindergarten in the demo community: the first pick covers people.
		if picks := strings.Count(page, `stroke="#6a1b9a"`); st != 200 || !strings.Contains(page, "<svg") || picks < 1 || picks > 3 || !strings.Contains(page, "新增覆盖") {
			t.Fatalf("siting page: %d (%d picks drawn)", st, strings.Count(page, `stroke="#6a1b9a"`))
		}
		if st, _, _ := c.Form("/lifecircle", map[string]string{"division": apptest.County, "k": "0"}, nil); st != 400 {
			t.Fatalf("k = 0: %d", st)
		}
		// C20 reads the analysis: the mean completeness of the analysed urban
		// communities, the same figure the coverage answer gives.
		var sumC, n float64
		st, body = c.Do("GET", "/api/v1/lifecircle/coverage?division="+apptest.CommunityA[:9], nil)
		var units []struct {
			Unit         string  `json:"division_code"`
			Completeness float64 `json:"completeness"`
		}
		json.Unmarshal([]byte(body), &units)
		for _, u := range units {
			sumC += u.Completeness
			n++
		}
		year := time.Now().Year()
		ind := getRows(t, c, apptest.CommunityA[:9], year)
		if v := ind["C20"].Value; st != 200 || n == 0 || v == nil || math.Abs(*v-100*sumC/n) > 1e-6 {
			t.Fatalf("C20 = %v, want %v from %d analysed communities", ptr(v), 100*sumC/n, int(n))
		}
		if v := getRows(t, c, apptest.CommunityA[:9], year-1)["C20"].Value; v != nil {
			t.Fatalf("C20 for last year = %v, want no data (only the current state is analysed)", *v)
		}
	})
}
