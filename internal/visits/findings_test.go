package visits_test

import (
	"slices"
	"strconv"
	"testing"

	"linli/internal/apptest"
	"linli/internal/visits"
)

// The hazard register (emergency) reads the safety findings of recorded
// visits through the view visits publish: a "no" to 燃气使用安全 or to
// 用电安全, one row per visit and kind, with where and when.
func TestSafetyFindingsArePublishedPerVisitAndKind(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.schedule(t, "2026-12")
		w.e.Clock.Set(day("2026-12-15T18:00"))
		record := func(subject string, gas, power string) int64 {
			t.Helper()
			v := w.visitsOf(t, subject, "2026-12")[0]
			answers := map[string][]string{"health": {"fair"}, "living": {"good"}}
			if gas != "" {
				answers["gas_safe"] = []string{gas}
			}
			if power != "" {
				answers["power_safe"] = []string{power}
			}
			if _, err := w.vs.Record(w.cw, v.ID, visits.RecordInput{Method: visits.MethodHome, VisitedAt: "2026-12-15T10:00", Outcome: visits.OutcomeDone,
				Risk: visits.RiskNormal, Answers: answers}); err != nil {
				t.Fatal(err)
			}
			return v.ID
		}
		findings := func() []string {
			rs, err := w.e.App.DB.R.Query(`SELECT CAST(visit_id AS TEXT) || ' ' || kind || ' ' || division_code FROM visits_safety_findings ORDER BY visit_id, kind`)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			var out []string
			for rs.Next() {
				var s string
				if err := rs.Scan(&s); err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
			return out
		}
		t.Run("a visit with an unsafe gas and power use gives two findings; a safe visit and the visits still open give none", func(t *testing.T) {
			both := record(w.elder1, "no", "no")
			record(w.elder2, "yes", "yes")
			got := findings()
			id := strconv.FormatInt(both, 10)
			want := []string{id + " electrical " + communityA, id + " gas " + communityA}
			if !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v", got, want)
			}
		})
		t.Run("the view publishes no answers and no resident", func(t *testing.T) {
			for _, col := range []string{"answers", "resident_id", "sealed"} {
				if rs, err := w.e.App.DB.R.Query(`SELECT ` + col + ` FROM visits_safety_findings`); err == nil {
					rs.Close()
					t.Fatalf("the view publishes %s", col)
				}
			}
		})
	})
}
