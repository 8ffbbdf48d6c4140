package care_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/care"
)

// The benchmark runs the latest month again as the officer would, times a
// bare copy of its rows, and leaves the ledger as it found it.
func TestBenchRunCountsTheRowsAndCleansUp(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		o := w.orderCheckedIn(t, w.bath.ID)
		apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
		apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
		b, err := w.cs.BenchRun(t.Context(), county)
		if err != nil {
			t.Fatal(err)
		}
		if b.Month != "2026-11" || b.Residents != 4 || b.Run <= 0 || b.Bare <= 0 || b.Ratio() <= 0 {
			t.Fatalf("%+v", b)
		}
		if n := e.Count(`SELECT COUNT(*) FROM care_quota WHERE month = '2026-11'`) + e.Count(`SELECT COUNT(*) FROM care_quota_runs WHERE month = '2026-11' AND run_by = 'officer.county'`); n != 5 {
			t.Fatalf("November: %d rows", n)
		}
		if g, u, _ := w.quota(t, w.elder, "2026-11"); g != 20000 || u != 8000 {
			t.Fatalf("the elder's November after the benchmark: %d granted, %d used", g, u)
		}
	})
}
