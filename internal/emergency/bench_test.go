package emergency_test

import (
	"testing"

	"linli/internal/apptest"
)

// The benchmark's run issues the same warning the officer would, times a
// bare copy of its rows, and leaves nothing behind.
func TestBenchIssueCountsTheRowsAndCleansUp(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		b, err := w.es.BenchIssue(t.Context(), communityA)
		if err != nil {
			t.Fatal(err)
		}
		if b.Households != 4 || b.Vulnerable != 2 || b.Issue <= 0 || b.Bare <= 0 || b.Ratio() <= 0 {
			t.Fatalf("%+v", b)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_checks`) + e.Count(`SELECT COUNT(*) FROM em_alerts`) + e.Count(`SELECT COUNT(*) FROM em_alert_areas`); n != 0 {
			t.Fatalf("%d rows left", n)
		}
	})
}
