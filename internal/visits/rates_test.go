package visits_test

import (
	"context"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/module"
	"linli/internal/registry"
	"linli/internal/visits"
)

const (
	communityC = "330106002052" // 宝石社区, in the same township as A
	township   = "330106002"    // 北山街道
)

// TestRates works the monthly rates out by hand on a toy township for two
// months: community A (two elders, a child, an assisted household) and
// community C (one elder).
func TestRates(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("cw.c", access.CommunityWorker, communityC)
		cwc := as("cw.c", access.CommunityWorker, communityC)
		hc, err := w.reg.CreateHousehold(cwc, registry.HouseholdInput{Division: communityC, HouseholdNo: "C1", Address: "宝石社区 1 幢 1 室"})
		if err != nil {
			t.Fatal(err)
		}
		saved := w.cw
		w.cw = cwc
		elderC := w.resident(t, hc.ID, 1945, "severe_disability", "")
		w.cw = saved

		record := func(t *testing.T, ctx context.Context, subject, month, at, outcome string) {
			t.Helper()
			vs := w.visitsOf(t, subject, month)
			for _, v := range vs {
				if v.Status != visits.StatusOpen {
					continue
				}
				in := visits.RecordInput{Method: visits.MethodHome, VisitedAt: at, Outcome: outcome, Reason: "不在家以外的原因",
					Answers: map[string][]string{"health": {"good"}, "living": {"good"}}}
				if subject == w.child {
					in.Answers = map[string][]string{"health": {"good"}, "guardian_present": {"yes"}}
				}
				if _, err := w.vs.Record(ctx, v.ID, in); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Fatalf("no open visit of %s in %s: %+v", subject, month, vs)
		}
		officer := as("officer.t", access.Officer, township)
		// rates reads one group's (due, visited) at a division.
		rates := func(t *testing.T, division, month string) map[string][2]int {
			t.Helper()
			r, err := w.vs.Rates(officer, division, month)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string][2]int{}
			for _, g := range r.Groups {
				out[g.Group] = [2]int{g.Due, g.Visited}
			}
			return out
		}
		cw := w.cw
		gw1, gw2 := as("gw.1", access.GridWorker, communityA), as("gw.2", access.GridWorker, communityA)

		w.schedule(t, "2026-12")
		e.Clock.Set(day("2026-12-20T18:00"))
		record(t, gw1, w.elder1, "2026-12", "2026-12-05T10:00", visits.OutcomeDone)
		record(t, cw, w.elder2, "2026-12", "2026-12-06T10:00", visits.OutcomeNotHome) // a retry stays open
		record(t, gw2, w.child, "2026-12", "2026-12-07T10:00", visits.OutcomeDone)
		record(t, gw2, w.h2, "2026-12", "2026-12-08T10:00", visits.OutcomeRefused)
		record(t, cwc, elderC, "2026-12", "2026-12-09T10:00", visits.OutcomeDone)

		e.Clock.Set(day("2027-01-02T09:00"))
		w.schedule(t, "2027-01")
		e.Clock.Set(day("2027-01-20T18:00"))
		record(t, cw, w.elder2, "2027-01", "2027-01-05T10:00", visits.OutcomeDone)
		record(t, gw1, w.elder1, "2027-01", "2027-01-06T10:00", visits.OutcomeNotHome)
		record(t, gw1, w.elder1, "2027-01", "2027-01-08T10:00", visits.OutcomeDone) // the retry
		record(t, gw2, w.h2, "2027-01", "2027-01-09T10:00", visits.OutcomeDone)

		want := map[string]map[string]map[string][2]int{
			"2026-12": {
				communityA: {visits.GroupSpecialElderly: {2, 1}, visits.GroupChildren: {1, 1}, visits.GroupAssistedFamilies: {1, 0}},
				communityC: {visits.GroupSpecialElderly: {1, 1}, visits.GroupChildren: {0, 0}, visits.GroupAssistedFamilies: {0, 0}},
				township:   {visits.GroupSpecialElderly: {3, 2}, visits.GroupChildren: {1, 1}, visits.GroupAssistedFamilies: {1, 0}},
			},
			"2027-01": {
				communityA: {visits.GroupSpecialElderly: {2, 2}, visits.GroupChildren: {1, 0}, visits.GroupAssistedFamilies: {1, 1}},
				communityC: {visits.GroupSpecialElderly: {1, 0}, visits.GroupChildren: {0, 0}, visits.GroupAssistedFamilies: {0, 0}},
				township:   {visits.GroupSpecialElderly: {3, 2}, visits.GroupChildren: {1, 0}, visits.GroupAssistedFamilies: {1, 1}},
			},
		}
		for month, byDiv := range want {
			for div, groups := range byDiv {
				t.Run("rates of "+div+" in "+month, func(t *testing.T) {
					got := rates(t, div, month)
					for g, dv := range groups {
						if got[g] != dv {
							t.Errorf("%s: (due, visited) = %v, want %v", g, got[g], dv)
						}
					}
				})
			}
		}
		t.Run("the data elements roll the communities up to the township by summing", func(t *testing.T) {
			els := map[string]module.Element{}
			for _, el := range visits.Elements() {
				els[el.Key] = el
			}
			sc := access.Subtree(township)
			for _, c := range []struct {
				key   string
				month int
				want  float64
			}{
				{"special_elderly_due", 12, 3}, {"special_elderly_visited", 12, 2}, {"children_due", 12, 1}, {"children_visited", 12, 1},
				{"assisted_families_due", 12, 1}, {"assisted_families_cared", 12, 0},
			} {
				el, ok := els[c.key]
				if !ok || !el.Monthly {
					t.Fatalf("element %s missing or not monthly", c.key)
				}
				got, err := el.Sum(context.Background(), e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 9, Year: 2026, Month: c.month})
				if err != nil {
					t.Fatal(err)
				}
				if got[township] != c.want {
					t.Errorf("%s in month %d: %v, want %v", c.key, c.month, got[township], c.want)
				}
			}
			got, err := els["special_elderly_due"].Sum(context.Background(), e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 12, Year: 2027, Month: 1})
			if err != nil || got[communityA] != 2 || got[communityC] != 1 {
				t.Errorf("by community in January: %v %v", got, err)
			}
			year, err := els["special_elderly_visited"].Sum(context.Background(), e.App.DB.R, module.Group{Lo: sc.Lo, Hi: sc.Hi, Prefix: 6, Year: 2026})
			if err != nil || year["330106"] != 2 {
				t.Errorf("the year 2026 (December only): %v %v", year, err)
			}
		})
	})
}
