package volunteers_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/volunteers"
)

// TestLedgerProperty runs random sequences of credits, awards through
// attendance, transfers, redemptions and reversals, and after every one
// checks the ledger: each currency sums to zero over the accounts and
// over the entries, every transaction balances, every balance is its
// entries' sum, and no volunteer's or shop's account is below zero. A
// refused operation must be a clean 4xx refusal that wrote nothing.
func TestLedgerProperty(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		people := []context.Context{w.resA, w.resM, w.resX}
		for _, p := range people {
			w.volunteer(t, p)
		}
		ids := []string{w.a, w.m, w.x}
		var items []string
		for i, pts := range []int64{15, 40, 120} {
			it, err := w.vs.AddItem(w.cw, volunteers.ItemInput{Name: "商品" + string(rune('A'+i)), Points: pts, Stock: 3})
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, it.ID)
		}
		rng := rand.New(rand.NewPCG(16, 2026))
		var txns []string
		counts := map[string]int{}
		for step := range 120 {
			var err error
			var posted volunteers.Posted
			op := rng.IntN(4)
			switch op {
			case 0:
				day := e.Clock.Now().AddDate(0, 0, -rng.IntN(20)).Format("2006-01-02")
				posted, err = w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: ids[rng.IntN(3)], Hours: float64(rng.IntN(20)+1) / 2, Points: int64(rng.IntN(50)), ServiceDate: day, Reason: "随机"})
			case 1:
				i := rng.IntN(3)
				to := ids[rng.IntN(3)]
				posted, err = w.vs.Transfer(people[i], volunteers.TransferInput{To: to, Hours: float64(rng.IntN(8)+1) / 2})
			case 2:
				_, err = w.vs.Redeem(people[rng.IntN(3)], volunteers.RedeemInput{ItemID: items[rng.IntN(3)]})
			case 3:
				if len(txns) == 0 {
					continue
				}
				posted, err = w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: txns[rng.IntN(len(txns))], Reason: "更正"})
			}
			if err != nil {
				if we, ok := fault.As(err); !ok || we.Code == "" {
					t.Fatalf("step %d op %d: not a refusal: %v", step, op, err)
				}
				counts["refused"]++
			} else {
				counts["done"]++
				if posted.TxnID != "" {
					txns = append(txns, posted.TxnID)
				}
			}
			invariants(t, e, "step "+itoa(step))
		}
		if counts["done"] < 30 || counts["refused"] < 5 {
			t.Fatalf("the sequence exercised too little: %v", counts)
		}
	})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
