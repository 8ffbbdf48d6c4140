package indicators_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// laggingChild is one child in the lagging ranking.
type laggingChild struct {
	Division   string   `json:"division_code"`
	Name       string   `json:"name"`
	Seriously  int      `json:"seriously_lagging"`
	Lagging    int      `json:"lagging"`
	Indicators []string `json:"indicators"`
}

// countyComparison is one indicator across counties.
type countyComparison struct {
	Scope    indRow   `json:"scope"`
	Counties []indRow `json:"counties"`
}

// Views: targets of rates hold for the parts that no one decomposed them
// to (counts never), children ranked by lagging indicators, and one
// indicator across every county as a ranked chart.
func TestIndicatorViewsLaggingAndCounties(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		for code, target := range map[string]float64{"330106002": 50, "330106004": 6} { // I13 is 20 and 6.67
			done(t, c, "PUT", "/api/v1/indicator-targets/"+code+"/I13", map[string]float64{"target": target})
		}
		byDivision := func(d indDetail) map[string]indRow {
			out := map[string]indRow{}
			for _, ch := range d.Children {
				out[ch.Division] = ch
			}
			return out
		}
		t.Run("a rate's target applies where set and is inherited elsewhere", func(t *testing.T) {
			i13 := byDivision(getDetail(t, c, "I13", apptest.County, indYear))
			if ch := i13["330106002"]; !near(ch.Target, 50) || ch.TargetFrom != "" || ch.Status != "seriously_lagging" { // 20/50 = 0.4 < 0.6
				t.Errorf("北山街道 I13: %+v target %v", ch, ptr(ch.Target))
			}
			if ch := i13["330106004"]; !near(ch.Target, 6) || ch.Status != "met" {
				t.Errorf("西溪街道 I13: %+v", ch)
			}
			if ch := i13["330106005"]; !near(ch.Target, 12) || ch.TargetFrom != "33" || ch.Status != "no_data" { // the plan's 12%, inherited
				t.Errorf("a township without data nor target, I13: %+v target %v", ch, ptr(ch.Target))
			}
		})
		t.Run("a count's target is never inherited", func(t *testing.T) {
			for code, ch := range byDivision(getDetail(t, c, "I04", apptest.County, indYear)) {
				if ch.Target != nil {
					t.Errorf("%s: a count's target was inherited: %v", code, *ch.Target)
				}
			}
		})
		t.Run("lagging children are ranked worst first", func(t *testing.T) {
			lag := apptest.JSON[[]laggingChild](t, c, "GET", fmt.Sprintf("/api/v1/indicator-lagging?division=%s&period=%d", apptest.County, indYear), nil, 200)
			found := map[string][]string{}
			for i, l := range lag {
				found[l.Division] = l.Indicators
				if i > 0 && (l.Seriously > lag[i-1].Seriously || (l.Seriously == lag[i-1].Seriously && l.Seriously+l.Lagging > lag[i-1].Seriously+lag[i-1].Lagging)) {
					t.Errorf("ranking out of order at %d: %+v after %+v", i, l, lag[i-1])
				}
				if l.Name == "" || len(l.Indicators) != l.Seriously+l.Lagging {
					t.Errorf("entry %+v", l)
				}
			}
			if !slices.Contains(found["330106002"], "I13") || slices.Contains(found["330106004"], "I13") {
				t.Errorf("lagging I13: 北山 %v, 西溪 %v", found["330106002"], found["330106004"])
			}
		})
		t.Run("the division page shows the ranking", func(t *testing.T) {
			if st, page := c.Do("GET", fmt.Sprintf("/indicators?division=%s&period=%d", apptest.County, indYear), nil); st != 200 || !strings.Contains(page, "lagging-children") || !strings.Contains(page, "北山街道") {
				t.Errorf("division page without the ranking: %d", st)
			}
		})
		e.User("province", access.Officer, "33")
		p := e.Login("province")
		t.Run("every county of the province is ranked, no data last", func(t *testing.T) {
			cmp := apptest.JSON[countyComparison](t, p, "GET", fmt.Sprintf("/api/v1/indicators/I13/counties?period=%d", indYear), nil, 200)
			if want := e.Count(`SELECT COUNT(*) FROM divisions WHERE level = 3`); len(cmp.Counties) != want || want < 80 {
				t.Fatalf("%d counties, want %d", len(cmp.Counties), want)
			}
			if first := cmp.Counties[0]; first.Division != apptest.County || !near(first.Value, 8) || first.Name != "西湖区" {
				t.Errorf("first county %+v", first)
			}
			if last := cmp.Counties[len(cmp.Counties)-1]; last.Value != nil {
				t.Errorf("no data must rank last: %+v", last)
			}
			if v := cmp.Scope.Value; !near(v, 8) {
				t.Errorf("province I13 = %v, want 8", ptr(v))
			}
		})
		t.Run("the comparison is a chart and an export", func(t *testing.T) {
			if st, page := p.Do("GET", fmt.Sprintf("/indicators/I13/counties?period=%d", indYear), nil); st != 200 || !strings.Contains(page, `class="county-chart"`) || !strings.Contains(page, "1. 西湖区") {
				t.Errorf("counties page: %d", st)
			}
			if st, x := p.Do("GET", fmt.Sprintf("/indicators/export.xlsx?id=I13&view=counties&period=%d", indYear), nil); st != 200 || !strings.HasPrefix(x, "PK") {
				t.Errorf("counties export: %d", st)
			}
		})
		t.Run("a county officer compares only its own county", func(t *testing.T) {
			cmp := apptest.JSON[countyComparison](t, c, "GET", fmt.Sprintf("/api/v1/indicators/I13/counties?period=%d", indYear), nil, 200)
			if len(cmp.Counties) != 1 || cmp.Counties[0].Division != apptest.County {
				t.Errorf("county officer's comparison: %+v", cmp.Counties)
			}
		})
	})
}
