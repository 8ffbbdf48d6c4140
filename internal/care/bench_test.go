package care_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/care"
)

// The benchmark runs the month after the latest as the officer would,
// times a bare copy of its rows, and leaves the ledger as it found it.
func TestBenchRunCountsTheRowsAndCleansUp(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		b, err := w.cs.BenchRun(t.Context(), county)
		if err != nil {
			t.Fatal(err)
		}
		if b.Month != "2026-12" || b.Residents != 4 || b.Run <= 0 || b.Bare <= 0 || b.Ratio() <= 0 {
			t.Fatalf("%+v", b)
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_quota WHERE month = '2026-12' OR expired_fen <> 0`) + e.Count(`SELECT COUNT(*) FROM care_quota_runs WHERE month = '2026-12'`); n != 0 {
			t.Fatalf("%d rows left", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_quota WHERE month = '2026-11'`); n != 4 {
			t.Fatalf("November: %d rows", n)
		}
	})
}
