package assistance_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/assistance"
)

type indicatorRow struct {
	ID    string   `json:"id"`
	Value *float64 `json:"value"`
	Num   *float64 `json:"numerator"`
	Den   *float64 `json:"denominator"`
}

func indicator(t *testing.T, c *apptest.Client, id, division string, year int) indicatorRow {
	t.Helper()
	rows := apptest.JSON[[]indicatorRow](t, c, "GET", fmt.Sprintf("/api/v1/indicators?division=%s&period=%d", division, year), nil, 200)
	for _, r := range rows {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("%s: no row", id)
	return indicatorRow{}
}

func is(v *float64, want float64) bool { return v != nil && math.Abs(*v-want) < 1e-6 }

func show(v *float64) any {
	if v == nil {
		return "no data"
	}
	return *v
}

// I03 and C11 are read from the module's records through the indicators'
// data elements, on a toy county worked out by hand: two communities of
// 1,000 and 3,000 residents, the county's standard of 1,120 yuan a
// person and month, and four applications of which three are decided.
func TestI03AndC11FromTheRecords(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		off, cw := e.Login("off.county"), e.Login("cw.a")
		for code, pop := range map[string]float64{communityA: 1000, communityB: 3000} {
			if st, body := off.Do("PUT", fmt.Sprintf("/api/v1/divisions/%s/attributes/2026", code), map[string]any{"values": map[string]float64{"population": pop}}); st != 200 {
				t.Fatalf("population: %d %s", st, body)
			}
		}
		t.Run("I03 is the county's standard × 12, for the county and for a township in it", func(t *testing.T) {
			for _, div := range []string{county, "330106002"} {
				if r := indicator(t, off, "I03", div, 2026); !is(r.Value, 1120*12) {
					t.Fatalf("I03 of %s = %v, want 13,440", div, show(r.Value))
				}
			}
			r := indicator(t, off, "I03", county, 2026)
			if !is(r.Num, 13440*4000) || !is(r.Den, 4000) {
				t.Fatalf("I03 = %v ÷ %v, want 13,440 × 4,000 ÷ 4,000", show(r.Num), show(r.Den))
			}
		})
		t.Run("the county changes its standard and I03 follows at once", func(t *testing.T) {
			apptest.JSON[[]assistance.Standard](t, off, "POST", "/api/v1/assistance/standards", assistance.Standard{County: county, Year: 2026, DibaoFen: 125050}, 200)
			if r := indicator(t, off, "I03", county, 2026); !is(r.Value, 1250.50*12) {
				t.Fatalf("I03 = %v, want 15,006", show(r.Value))
			}
		})
		t.Run("a year without a standard has no I03, not zero", func(t *testing.T) {
			if st, body := off.Do("PUT", fmt.Sprintf("/api/v1/divisions/%s/attributes/2025", communityA), map[string]any{"values": map[string]float64{"population": 1000}}); st != 200 {
				t.Fatalf("population: %d %s", st, body)
			}
			if r := indicator(t, off, "I03", county, 2025); r.Value != nil {
				t.Fatalf("I03 of 2025 = %v, want no data", *r.Value)
			}
		})
		t.Run("before any decision C11 has no data", func(t *testing.T) {
			if r := indicator(t, off, "C11", county, 2026); r.Value != nil {
				t.Fatalf("C11 = %v, want no data", *r.Value)
			}
		})
		apply := func(programmes ...string) assistance.Application {
			hh, _ := w.household(t, "", 1970)
			return apptest.JSON[assistance.Application](t, cw, "POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: hh,
				IncomeFen: fen(30000), AssetsFen: fen(0), Programmes: programmes, Consent: true}, 201)
		}
		move := func(c *apptest.Client, a assistance.Application, action string, in assistance.Input) assistance.Application {
			t.Helper()
			return apptest.JSON[assistance.Application](t, c, "POST", "/api/v1/assistance/applications/"+a.ID+"/"+action, in, 200)
		}
		t.Run("three decisions, two settling two programmes at once: C11 = 2 ÷ 3", func(t *testing.T) {
			// One programme asked, refused: decided, not joint.
			single := move(cw, apply("dibao"), "accept", assistance.Input{})
			move(off, single, "refuse", assistance.Input{Reason: "户籍不在本县"})
			// Two asked, refused together: decided, joint.
			double := move(cw, apply("dibao", "temporary"), "accept", assistance.Input{})
			move(off, double, "refuse", assistance.Input{Reason: "户籍不在本县"})
			// One asked, approved with the 临时救助 it was found to qualify for: joint.
			found := apply("dibao")
			for _, step := range []struct {
				action string
				in     assistance.Input
			}{{"accept", assistance.Input{}}, {"check", assistance.Input{}}, {"checked", assistance.Input{}}, {"publicize", assistance.Input{Note: "入户调查属实"}}} {
				found = move(cw, found, step.action, step.in)
			}
			// Waiting on the notice: not decided.
			apply("dibao", "temporary")
			e.Clock.Add(8 * 24 * time.Hour)
			off = e.Login("off.county")
			found = move(off, found, "approve", assistance.Input{Programmes: []string{"dibao", "temporary"}})
			if len(found.Approved) != 2 {
				t.Fatalf("approved %v", found.Approved)
			}
			for _, div := range []string{county, "330106002"} {
				r := indicator(t, off, "C11", div, 2026)
				if !is(r.Value, 100*2.0/3) || !is(r.Num, 2) || !is(r.Den, 3) {
					t.Fatalf("C11 of %s = %v (%v ÷ %v), want 66.67 (2 ÷ 3)", div, show(r.Value), show(r.Num), show(r.Den))
				}
			}
			// The other township decided nothing.
			if r := indicator(t, off, "C11", "330106004", 2026); r.Value != nil {
				t.Fatalf("C11 of 西溪街道 = %v, want no data", *r.Value)
			}
			if r := indicator(t, off, "C11", county, 2025); r.Value != nil {
				t.Fatalf("C11 of 2025 = %v, want no data", *r.Value)
			}
		})
	})
}
