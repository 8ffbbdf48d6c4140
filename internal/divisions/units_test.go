package divisions_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/dbtest"
	"linli/internal/divisions"
	"linli/internal/fault"
)

func valueMap(as []divisions.Attribute) map[string]float64 {
	out := map[string]float64{}
	for _, a := range as {
		out[a.Kind] = a.Value
	}
	return out
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		off := as(countyOfficer)
		for _, code := range []string{communityA, communityB} {
			if err := e.store.SetAttributes(off, e.log, code, 2025, map[string]float64{"population": 5000, "households": 2000}); err != nil {
				t.Fatalf("officer writes %s: %v", code, err)
			}
		}
		read := func(p *access.Principal, code string) (map[string]float64, error) {
			attrs, err := e.store.Attributes(as(p), code, 2025)
			return valueMap(attrs), err
		}
		t.Run("each reads within its jurisdiction", func(t *testing.T) {
			for _, k := range []struct {
				p    *access.Principal
				code string
			}{{workerA, communityA}, {countyOfficer, communityA}, {countyOfficer, communityB}} {
				got, err := read(k.p, k.code)
				if err != nil || !reflect.DeepEqual(got, map[string]float64{"population": 5000, "households": 2000}) {
					t.Errorf("%s reads %s: %v %v", k.p.Username, k.code, got, err)
				}
			}
		})
		t.Run("outside it a unit reads as not found, naming the code", func(t *testing.T) {
			for _, k := range []struct {
				p    *access.Principal
				code string
			}{{workerA, communityB}, {ningboOfficer, communityA}, {sysAdmin, communityA}, {countyOfficer, "330106999999"}} {
				_, err := read(k.p, k.code)
				if msg := dbtest.Refusal(t, err, fault.CodeNotFound, ""); msg != "division "+k.code+" not found or outside your jurisdiction" {
					t.Errorf("%s: %q", k.p.Username, msg)
				}
			}
		})
		t.Run("only officers write, and a refusal writes nothing", func(t *testing.T) {
			before := e.count(`SELECT COUNT(*) FROM unit_changes`)
			dbtest.Refusal(t, e.store.SetAttributes(as(workerA), e.log, communityA, 2025, map[string]float64{"population": 1}), fault.CodeForbidden, "")
			dbtest.Refusal(t, e.store.SetAttributes(as(workerA), e.log, communityB, 2025, map[string]float64{"population": 1}), fault.CodeNotFound, "")
			dbtest.Refusal(t, e.store.SetAttributes(as(ningboOfficer), e.log, communityA, 2025, map[string]float64{"population": 1}), fault.CodeNotFound, "")
			if got, _ := read(countyOfficer, communityA); got["population"] != 5000 || e.count(`SELECT COUNT(*) FROM unit_changes`) != before {
				t.Fatalf("a refused write changed data: %v", got)
			}
		})
		for _, k := range []struct {
			name   string
			year   int
			values map[string]float64
			field  string
		}{
			{"a year before 1949", 1948, map[string]float64{"population": 1}, "year"},
			{"a negative value", 2025, map[string]float64{"population": -3}, "population"},
			{"an infinite value", 2025, map[string]float64{"population": math.Inf(1)}, "population"},
			{"an unknown attribute", 2025, map[string]float64{"populace": 3}, "populace"},
			{"no values at all", 2025, map[string]float64{}, "values"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				dbtest.Refusal(t, e.store.SetAttributes(off, e.log, communityA, k.year, k.values), fault.CodeInvalid, k.field)
			})
		}
		t.Run("a change is dated by the clock, kept with its old value and audited", func(t *testing.T) {
			e.clock.Add(time.Hour)
			if err := e.store.SetAttributes(off, e.log, communityA, 2025, map[string]float64{"population": 5100, "households": 2000}); err != nil {
				t.Fatal(err)
			}
			cs, total, err := e.store.Changes(off, communityA, 0, 10)
			if err != nil || total != 3 {
				t.Fatalf("%d changes: %v", total, err)
			}
			want := divisions.Change{At: e.clock.Now(), Actor: "county", What: "attribute:population:2025", OldValue: "5000", NewValue: "5100"}
			if !cs[0].At.Equal(want.At) {
				t.Errorf("at %v, want %v", cs[0].At, want.At)
			}
			cs[0].At = want.At
			if cs[0] != want {
				t.Errorf("got %+v", cs[0])
			}
			attrs, err := e.store.Attributes(off, communityA, 2025)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range attrs {
				if a.Kind == "population" && (!a.UpdatedAt.Equal(e.clock.Now()) || a.UpdatedBy != "county") {
					t.Errorf("population stamped %v by %s", a.UpdatedAt, a.UpdatedBy)
				}
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'unit.attributes.set' AND object_id = $1`, communityA); n != 2 {
				t.Errorf("%d audit entries", n)
			}
		})
		t.Run("all years are read when none is given", func(t *testing.T) {
			if err := e.store.SetAttributes(off, e.log, communityA, 2024, map[string]float64{"population": 4900}); err != nil {
				t.Fatal(err)
			}
			attrs, err := e.store.Attributes(off, communityA, 0)
			if err != nil || len(attrs) != 3 || attrs[0].Year != 2025 || attrs[len(attrs)-1].Year != 2024 {
				t.Fatalf("got %+v %v", attrs, err)
			}
		})
	})
}

func TestDesignations(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		off := as(countyOfficer)
		kinds := func() []string {
			t.Helper()
			ds, err := e.store.Designations(off, communityA)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, d := range ds {
				out = append(out, d.Kind)
			}
			return out
		}
		t.Run("a designation is awarded, re-dated and counted", func(t *testing.T) {
			for _, y := range []int{2023, 2024} {
				if err := e.store.SetDesignation(off, e.log, communityA, "future_community", y, "第二批"); err != nil {
					t.Fatal(err)
				}
				e.clock.Add(time.Minute) // changes are listed newest first by their time
			}
			ds, err := e.store.Designations(off, communityA)
			if err != nil || len(ds) != 1 || ds[0].Year != 2024 || ds[0].Note != "第二批" || ds[0].UpdatedBy != "county" {
				t.Fatalf("got %+v %v", ds, err)
			}
			cs, _, err := e.store.Changes(off, communityA, 0, 10)
			if err != nil || len(cs) != 2 || cs[0].OldValue != "2023" || cs[0].NewValue != "2024" || cs[0].What != "designation:future_community" {
				t.Fatalf("changes %+v %v", cs, err)
			}
			if n, err := e.store.DesignationCounts(off, county); err != nil || !reflect.DeepEqual(n, map[string]int{"future_community": 1}) {
				t.Fatalf("counts %v %v", n, err)
			}
		})
		for _, k := range []struct {
			name, kind, note, field string
			year                    int
		}{
			{"an unknown designation", "best_village", "", "kind", 2024},
			{"a year after 2100", "future_community", "", "year", 2101},
			{"a note over 500 bytes", "future_community", strings.Repeat("x", 501), "note", 2024},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				dbtest.Refusal(t, e.store.SetDesignation(off, e.log, communityA, k.kind, k.year, k.note), fault.CodeInvalid, k.field)
			})
		}
		t.Run("a worker may not award one", func(t *testing.T) {
			dbtest.Refusal(t, e.store.SetDesignation(as(workerA), e.log, communityA, "smart_community", 2024, ""), fault.CodeForbidden, "")
		})
		t.Run("a withdrawn designation is no longer held but keeps its years", func(t *testing.T) {
			if err := e.store.RemoveDesignation(off, e.log, communityA, "future_community"); err != nil {
				t.Fatal(err)
			}
			if got := kinds(); len(got) != 0 {
				t.Fatalf("still held: %v", got)
			}
			if n := e.count(`SELECT COUNT(*) FROM unit_designations WHERE division_code = $1 AND year = 2024 AND withdrawn_year = 2026`, communityA); n != 1 {
				t.Fatalf("withdrawal not kept with the clock's year: %d", n)
			}
			if n, _ := e.store.DesignationCounts(off, county); len(n) != 0 {
				t.Fatalf("counted after withdrawal: %v", n)
			}
		})
		t.Run("withdrawing what is not held is not found", func(t *testing.T) {
			msg := dbtest.Refusal(t, e.store.RemoveDesignation(off, e.log, communityA, "future_community"), fault.CodeNotFound, "")
			if msg != "division "+communityA+" holds no designation future_community" {
				t.Errorf("got %q", msg)
			}
		})
		t.Run("awarding it again holds it again", func(t *testing.T) {
			if err := e.store.SetDesignation(off, e.log, communityA, "future_community", 2026, ""); err != nil {
				t.Fatal(err)
			}
			if got := kinds(); !reflect.DeepEqual(got, []string{"future_community"}) {
				t.Fatalf("got %v", got)
			}
		})
	})
}

func TestCatalogues(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		attrs, err := e.store.AttributeKinds(context.Background())
		if err != nil || len(attrs) != 9 || attrs[0] != (divisions.Kind{Key: "population", NameZH: "常住人口", NameEN: "Resident population", Unit: "人", Additive: true}) {
			t.Fatalf("attributes %+v %v", attrs, err)
		}
		ds, err := e.store.DesignationKinds(context.Background())
		if err != nil || len(ds) != 13 || ds[0].Key != "future_community" || ds[0].Level != 5 {
			t.Fatalf("designations %+v %v", ds, err)
		}
	})
}

func TestRollups(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		off := as(countyOfficer)
		t.Run("no data: no latest year", func(t *testing.T) {
			if y, err := e.store.LatestYear(off, county); err != nil || y != 0 {
				t.Fatalf("got %d %v", y, err)
			}
		})
		for code, v := range map[string]float64{communityA: 5000, "330106002052": 3000, communityB: 4000} {
			if err := e.store.SetAttributes(off, e.log, code, 2025, map[string]float64{"population": v, "households": v / 2}); err != nil {
				t.Fatal(err)
			}
		}
		// A township's own figure is not added to its communities'.
		if err := e.store.SetAttributes(off, e.log, "330106002", 2025, map[string]float64{"population": 99999}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetAttributes(off, e.log, communityA, 2023, map[string]float64{"population": 1}); err != nil {
			t.Fatal(err)
		}
		t.Run("totals sum the communities by child", func(t *testing.T) {
			got, err := e.store.Totals(off, county, 2025, []string{"population", "households"})
			want := map[string]map[string]float64{
				"330106002": {"population": 8000, "households": 4000},
				"330106004": {"population": 4000, "households": 2000},
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v %v", got, err)
			}
		})
		t.Run("a township sums its communities", func(t *testing.T) {
			got, err := e.store.Totals(off, "330106002", 2025, []string{"population"})
			if err != nil || !reflect.DeepEqual(got, map[string]map[string]float64{communityA: {"population": 5000}, "330106002052": {"population": 3000}}) {
				t.Fatalf("got %v %v", got, err)
			}
		})
		t.Run("a worker's totals hold only its community", func(t *testing.T) {
			got, err := e.store.Totals(as(workerA), county, 2025, []string{"population"})
			if err != nil || !reflect.DeepEqual(got, map[string]map[string]float64{"330106002": {"population": 5000}}) {
				t.Fatalf("got %v %v", got, err)
			}
		})
		t.Run("a community, or no kinds, has no children to total", func(t *testing.T) {
			for _, k := range []struct {
				code  string
				kinds []string
			}{{communityA, []string{"population"}}, {county, nil}} {
				if got, err := e.store.Totals(off, k.code, 2025, k.kinds); err != nil || len(got) != 0 {
					t.Errorf("%s: %v %v", k.code, got, err)
				}
			}
		})
		t.Run("the latest year is the newest with any figure", func(t *testing.T) {
			if y, err := e.store.LatestYear(off, county); err != nil || y != 2025 {
				t.Fatalf("got %d %v", y, err)
			}
			if y, err := e.store.LatestYear(as(ningboOfficer), county); err != nil || y != 0 {
				t.Fatalf("outside scope: %d %v", y, err)
			}
		})
	})
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		villages, _, err := e.store.Children(context.Background(), "330106002", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SeedDemo(as(access.Operator()), e.log, county, villages, 2026, 7); err != nil {
			t.Fatal(err)
		}
		t.Run("three years of figures for every village, dated by the clock", func(t *testing.T) {
			if n := e.count(`SELECT COUNT(DISTINCT division_code) FROM unit_attributes WHERE year = 2024 AND kind = 'population'`); n != len(villages) {
				t.Errorf("%d villages seeded, want %d", n, len(villages))
			}
			if n := e.count(`SELECT COUNT(DISTINCT year) FROM unit_attributes`); n != 3 {
				t.Errorf("%d years", n)
			}
			attrs, err := e.store.Attributes(as(countyOfficer), villages[0].Code, 2026)
			if err != nil || len(attrs) == 0 || !attrs[0].UpdatedAt.Equal(e.clock.Now()) || attrs[0].UpdatedBy != "demo" {
				t.Errorf("got %+v %v", attrs, err)
			}
		})
		t.Run("the store is marked a demo and the seeding audited", func(t *testing.T) {
			if n := e.count(`SELECT COUNT(*) FROM settings WHERE key = 'demo' AND value = '1'`); n != 1 {
				t.Error("not marked")
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'demo.seed' AND object_id = $1`, county); n != 1 {
				t.Error("not audited")
			}
		})
	})
}
