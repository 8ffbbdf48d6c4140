package indicators_test

import (
	"testing"

	"linli/internal/apptest"
)

// The plan's 43 indicators over a hand-built county, worked out by hand:
// sums over the subtree divided at each level, never a mean of ratios.
func TestIndicatorsOnHandBuiltData(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := indSetup(t, e)
		got := getRows(t, c, apptest.County, indYear)
		t.Run("the county reads all 43 indicators", func(t *testing.T) {
			if len(got) != 43 {
				t.Fatalf("%d indicators, want 43", len(got))
			}
		})
		t.Run("each value is the one worked out by hand", func(t *testing.T) {
			want := map[string]float64{
				"I01": (700000.0 / 100000) / (300000.0 / 100000), // 2.333…
				"I02": 100 * 1.0 / 41,                            // one village ≥ 50 万元 of 41
				"I03": 12000,
				"I04": 1, "I05": 1,
				"I06": 100 * 1.0 / 41,
				"I07": 0, "I08": 0,
				"I09": 100 * 2.0 / 222,
				"I10": 3, "I11": 1, "I12": 1,
				"I13": 100 * 8000.0 / 100000, // 8, not the 13.3 that averaging A's 20% and B's 6.7% would give
				"I14": 100 * 900.0 / 1600,
				"I15": 100 * 1.0 / 41,
				"I16": 0, // places count from filed childcare settings (the childcare module), none here; facilities' capacities no longer do
				"I17": 10000 * 2.0 / 4000,
				"I18": 10000 * 2.0 / 4500,
				"I19": 10000 * 1.0 / 4500,
				"I20": 100 * 2.0 / 3,
				"I21": 10000 * 1.0 / 600,
				"I22": 10000 * 1.0 / 4500,
				"C01": 0, "C02": 0, "C03": 0,
				"C04": 100 * 1.0 / 41,
				"C05": 0,
				"C06": 0, // communities whose enrolled diners were served meals (the care module), none here; a canteen facility alone no longer counts
				"C08": 600.0 / 1,
				"C09": 0,
				// C11 is computed from assistance applications: none here.
				"C13": 0, // key-group residents with a valid contract (the family-doctor module), none here
				"C14": 0, // awarded in 2027
				"C15": 100 * (0.6 + 0.4) / 2,
				"C16": 1,
				"C17": 100 * 1.0 / 41,
				"C18": 1,
				"C19": 100 * 1.0 / 222,
			}
			for id, w := range want {
				if v := got[id].Value; !near(v, w) {
					t.Errorf("%s = %v, want %v", id, ptr(v), w)
				}
			}
		})
		t.Run("visit rates without a supplier and life circles without an analysis read no data, not zero", func(t *testing.T) {
			// C07/C10/C12 name the visits module's monthly elements, which no
			// module of this app supplies (monthly_test.go supplies them and
			// reads values); no life-circle analysis ran.
			for _, id := range []string{"C07", "C10", "C12", "C20", "C21"} {
				if r := got[id]; r.Value != nil || r.Status != "no_data" {
					t.Errorf("%s = %v (%s), want no data", id, ptr(r.Value), r.Status)
				}
			}
		})
		t.Run("children's numerators and denominators add up to the county's", func(t *testing.T) {
			for _, id := range []string{"I13", "I14", "I17", "I20", "C06"} {
				d := getDetail(t, c, id, apptest.County, indYear)
				var num, den float64
				for _, ch := range d.Children {
					if ch.Num != nil {
						num += *ch.Num
					}
					if ch.Den != nil {
						den += *ch.Den
					}
				}
				if !near(d.Num, num) || (d.Den != nil && !near(d.Den, den)) {
					t.Errorf("%s: children sum to %v/%v, county has %v/%v", id, num, den, ptr(d.Num), ptr(d.Den))
				}
			}
		})
		t.Run("the city's values include the county's", func(t *testing.T) {
			if v := getRows(t, e.Login("city"), "3301", indYear)["I13"].Value; !near(v, 8) {
				t.Errorf("city I13 = %v, want 8 (only 西湖区 has data)", ptr(v))
			}
		})
		t.Run("facilities registered in 2026 do not exist in 2025", func(t *testing.T) {
			past := getRows(t, c, apptest.County, 2025)
			if v := past["I12"].Value; !near(v, 0) {
				t.Errorf("2025 I12 = %v, want 0", ptr(v))
			}
			if v := past["I13"].Value; v != nil {
				t.Errorf("2025 I13 = %v, want no data (no 2025 attributes)", *v)
			}
		})
	})
}
