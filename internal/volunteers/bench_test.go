package volunteers_test

import (
	"testing"

	"linli/internal/apptest"
)

// The benchmark's batch credit runs on both stores, keeps the ledger
// balanced and leaves nothing behind.
func TestBenchCredit(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		b, err := w.vs.BenchCredit(t.Context(), 2000, 50)
		if err != nil {
			t.Fatal(err)
		}
		if b.Entries != 2000 || b.Total < 2000 || b.Credit <= 0 || b.Bare <= 0 || b.ReadP95 <= 0 {
			t.Fatalf("result %+v", b)
		}
		if n := e.Count(`SELECT COUNT(*) FROM vol_entries`) + e.Count(`SELECT COUNT(*) FROM vol_accounts`); n != 0 {
			t.Fatalf("%d rows left behind", n)
		}
		invariants(t, e, "bench")
	})
}
