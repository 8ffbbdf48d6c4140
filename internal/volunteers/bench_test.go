package volunteers_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/volunteers"
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

// A batch that would give someone more than 24 hours in a day, counting
// what that day already has, is refused whole; a valid one balances.
func TestCreditBatch(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		day := e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02")
		if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.a, Hours: 10, ServiceDate: day, Reason: "助餐"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.DB.W.Exec(`CREATE TABLE vol_test_batch (txn_id TEXT, account_id TEXT, division_code TEXT, bank_id TEXT, minutes BIGINT, service_date TEXT, reason TEXT)`); err != nil {
			t.Fatal(err)
		}
		fill := func(rows ...[]any) {
			t.Helper()
			if _, err := e.App.DB.W.Exec(`DELETE FROM vol_test_batch`); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if _, err := e.App.DB.W.Exec(`INSERT INTO vol_test_batch VALUES ($1,$2,$3,$4,$5,$6,'批量')`, r...); err != nil {
					t.Fatal(err)
				}
			}
		}
		acct, bank := volunteers.AccountID(volunteers.OwnerVolunteer, w.a, volunteers.Hours), volunteers.AccountID(volunteers.OwnerBank, communityA, volunteers.Hours)
		before := e.Count(`SELECT COUNT(*) FROM vol_entries`)
		t.Run("a day over 24 hours with what it already has is refused whole", func(t *testing.T) {
			fill([]any{"b-1", acct, communityA, bank, 15 * 60, day}, []any{"b-2", acct, communityA, bank, 60, e.Clock.Now().AddDate(0, 0, -2).Format("2006-01-02")})
			_, err := w.vs.CreditBatch(t.Context(), "vol_test_batch")
			fieldOf(t, err, fault.CodeInvalid, "hours")
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries`); n != before {
				t.Fatalf("entries %d → %d", before, n)
			}
		})
		t.Run("hours out of range are refused", func(t *testing.T) {
			fill([]any{"b-3", acct, communityA, bank, 25 * 60, day})
			_, err := w.vs.CreditBatch(t.Context(), "vol_test_batch")
			fieldOf(t, err, fault.CodeInvalid, "hours")
		})
		t.Run("a valid batch credits both legs and the balances", func(t *testing.T) {
			fill([]any{"b-4", acct, communityA, bank, 14 * 60, day}, []any{"b-5", "volunteer:new-one:hours", communityA, bank, 90, day})
			n, err := w.vs.CreditBatch(t.Context(), "vol_test_batch")
			if err != nil || n != 2 {
				t.Fatalf("%d %v", n, err)
			}
			me, err := w.vs.Mine(w.resA)
			if err != nil || me.Hours != 24 {
				t.Fatalf("%+v %v", me, err)
			}
			invariants(t, e, "batch")
		})
	})
}
