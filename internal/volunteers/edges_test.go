package volunteers_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/volunteers"
)

// The points shop is each community's own: a bad item names its fields,
// a redemption takes at most the balance and the stock, and nothing is
// written by a refusal.
func TestShopEdges(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		w.volunteer(t, w.resX)
		if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.a, Hours: 3, Points: 100, ServiceDate: e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reason: "助餐"}); err != nil {
			t.Fatal(err)
		}
		points := func() int64 {
			t.Helper()
			v, err := w.vs.Mine(w.resA)
			if err != nil {
				t.Fatal(err)
			}
			return v.Points
		}
		t.Run("an item with no name, no points and a negative stock names each field and writes nothing", func(t *testing.T) {
			for _, f := range []string{"name", "points", "stock"} {
				_, err := w.vs.AddItem(w.cw, volunteers.ItemInput{Name: "  ", Points: 0, Stock: -1})
				fieldOf(t, err, fault.CodeInvalid, f)
			}
			_, err := w.vs.AddItem(w.cw, volunteers.ItemInput{Name: "毛巾", Points: 100001, Stock: 100001})
			fieldOf(t, err, fault.CodeInvalid, "points")
			fieldOf(t, err, fault.CodeInvalid, "stock")
			if n := e.Count(`SELECT COUNT(*) FROM vol_shop_items`); n != 0 {
				t.Fatalf("%d items written", n)
			}
		})
		t.Run("a resident cannot stock the shop, nor a worker another community's", func(t *testing.T) {
			if _, err := w.vs.AddItem(w.resA, volunteers.ItemInput{Name: "毛巾", Points: 10, Stock: 1}); !fault.Is(err, fault.CodeForbidden) {
				t.Fatalf("a resident: %v", err)
			}
			_, err := w.vs.AddItem(w.cwB, volunteers.ItemInput{Division: communityA, Name: "毛巾", Points: 10, Stock: 1})
			if !fault.Is(err, fault.CodeForbidden) {
				t.Fatalf("got %v", err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_shop_items`); n != 0 {
				t.Fatalf("%d items written", n)
			}
		})
		soap, err := w.vs.AddItem(w.cw, volunteers.ItemInput{Name: "肥皂", Points: 40, Stock: 0})
		if err != nil {
			t.Fatal(err)
		}
		oil, err := w.vs.AddItem(w.cw, volunteers.ItemInput{Name: "食用油", Points: 100, Stock: 2})
		if err != nil {
			t.Fatal(err)
		}
		sauce, err := w.vs.AddItem(w.cwB, volunteers.ItemInput{Name: "酱油", Points: 10, Stock: 5})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a resident's catalogue is their community's shop only, by name", func(t *testing.T) {
			its, err := w.vs.Items(w.resA, communityB, "", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, it := range its {
				ids[it.ID] = true
			}
			if len(its) != 2 || !ids[oil.ID] || !ids[soap.ID] {
				t.Fatalf("items %+v", its)
			}
		})
		t.Run("another community's item is not found, and the points stay", func(t *testing.T) {
			_, err := w.vs.Redeem(w.resA, volunteers.RedeemInput{ItemID: sauce.ID})
			if !fault.Is(err, fault.CodeNotFound) || points() != 100 {
				t.Fatalf("got %v, points %d", err, points())
			}
		})
		t.Run("an item out of stock names item_id and writes nothing", func(t *testing.T) {
			_, err := w.vs.Redeem(w.resA, volunteers.RedeemInput{ItemID: soap.ID})
			fieldOf(t, err, fault.CodeConflict, "item_id")
			if n := e.Count(`SELECT COUNT(*) FROM vol_redemptions`) + e.Count(`SELECT COUNT(*) FROM vol_entries WHERE kind = 'redeem'`); n != 0 || points() != 100 {
				t.Fatalf("rows %d, points %d", n, points())
			}
		})
		t.Run("a redemption of exactly the balance leaves zero; the next is refused naming the points", func(t *testing.T) {
			r, err := w.vs.Redeem(w.resA, volunteers.RedeemInput{ItemID: oil.ID})
			if err != nil || r.Points != 100 || r.Item != "食用油" || points() != 0 {
				t.Fatalf("redemption %+v %v, points %d", r, err, points())
			}
			_, err = w.vs.Redeem(w.resA, volunteers.RedeemInput{ItemID: oil.ID})
			fieldOf(t, err, fault.CodeConflict, "points")
			if n := e.Count(`SELECT stock FROM vol_shop_items WHERE id = $1`, oil.ID); n != 1 {
				t.Fatalf("stock %d, want 1", n)
			}
			invariants(t, e, "redemptions")
		})
		t.Run("a worker redeems at the counter for the community's volunteer, not another community's", func(t *testing.T) {
			if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.x, Hours: 2, Points: 150, ServiceDate: e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reason: "巡逻"}); err != nil {
				t.Fatal(err)
			}
			_, err := w.vs.Redeem(w.cwB, volunteers.RedeemInput{ItemID: oil.ID, ResidentID: w.x})
			if !fault.Is(err, fault.CodeNotFound) {
				t.Fatalf("got %v", err)
			}
			r, err := w.vs.Redeem(w.cw, volunteers.RedeemInput{ItemID: oil.ID, ResidentID: w.x})
			if err != nil || r.ResidentID != w.x {
				t.Fatalf("redemption %+v %v", r, err)
			}
			if v, _ := w.vs.Mine(w.resX); v.Points != 50 {
				t.Fatalf("points %d, want 50", v.Points)
			}
		})
		t.Run("a redemption is not reversed", func(t *testing.T) {
			var txn string
			if err := e.App.DB.R.QueryRow(`SELECT txn_id FROM vol_redemptions WHERE resident_id = $1`, w.a).Scan(&txn); err != nil {
				t.Fatal(err)
			}
			_, err := w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: txn, Reason: "退货"})
			if !fault.Is(err, fault.CodeConflict) || points() != 0 {
				t.Fatalf("got %v, points %d", err, points())
			}
		})
	})
}

// Hours go only within a household, never more than the balance; a
// transfer is reversed once, by the community, with a reason.
func TestTransferEdges(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.a, Hours: 5, ServiceDate: e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reason: "助老"}); err != nil {
			t.Fatal(err)
		}
		bank := func() float64 {
			t.Helper()
			v, err := w.vs.Mine(w.resA)
			if err != nil {
				t.Fatal(err)
			}
			return v.Bank
		}
		t.Run("no hours, negative hours, not a number or under a minute name the hours", func(t *testing.T) {
			for _, h := range []float64{0, -2, math.NaN(), 0.001} {
				_, err := w.vs.Transfer(w.resA, volunteers.TransferInput{To: w.m, Hours: h})
				fieldOf(t, err, fault.CodeInvalid, "hours")
			}
		})
		t.Run("to oneself or to no one known is refused naming to", func(t *testing.T) {
			for _, to := range []string{w.a, "nobody", w.kid} {
				_, err := w.vs.Transfer(w.resA, volunteers.TransferInput{To: to, Hours: 1})
				fieldOf(t, err, fault.CodeConflict, "to")
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries WHERE kind = 'transfer'`); n != 0 || bank() != 5 {
				t.Fatalf("transfer entries %d, bank %v", n, bank())
			}
		})
		var txn string
		t.Run("the whole balance may be given, leaving zero; then a tenth of an hour more is refused", func(t *testing.T) {
			p, err := w.vs.Transfer(w.resA, volunteers.TransferInput{To: w.m, Hours: 5})
			if err != nil || bank() != 0 {
				t.Fatalf("%v, bank %v", err, bank())
			}
			txn = p.TxnID
			_, err = w.vs.Transfer(w.resA, volunteers.TransferInput{To: w.m, Hours: 0.1})
			fieldOf(t, err, fault.CodeConflict, "hours")
			invariants(t, e, "transfers")
		})
		t.Run("the giver keeps the recorded hours the stars count", func(t *testing.T) {
			if v, _ := w.vs.Mine(w.resA); v.Hours != 5 {
				t.Fatalf("recorded hours %v, want 5", v.Hours)
			}
		})
		t.Run("a reversal needs a reason and the community; another community does not find it", func(t *testing.T) {
			_, err := w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: txn, Reason: " "})
			fieldOf(t, err, fault.CodeInvalid, "reason")
			_, err = w.vs.Reverse(w.cwB, volunteers.ReversalInput{TxnID: txn, Reason: "误操作"})
			if !fault.Is(err, fault.CodeNotFound) {
				t.Fatalf("another community: %v", err)
			}
			_, err = w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: "no-such-txn", Reason: "误操作"})
			if !fault.Is(err, fault.CodeNotFound) {
				t.Fatalf("an unknown transaction: %v", err)
			}
		})
		t.Run("reversed, the hours come back, once", func(t *testing.T) {
			if _, err := w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: txn, Reason: "误操作"}); err != nil {
				t.Fatal(err)
			}
			mom := balanceOf(t, e, volunteers.AccountID(volunteers.OwnerVolunteer, w.m, volunteers.Hours))
			if bank() != 5 || mom != 0 {
				t.Fatalf("bank %v, mother %d minutes", bank(), mom)
			}
			_, err := w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: txn, Reason: "误操作"})
			if !fault.Is(err, fault.CodeConflict) || bank() != 5 {
				t.Fatalf("a second reversal: %v, bank %v", err, bank())
			}
			invariants(t, e, "reversal")
		})
	})
}

// balanceOf is an account's balance in its unit (minutes, points).
func balanceOf(t *testing.T, e *apptest.Env, id string) int {
	t.Helper()
	return e.Count(`SELECT COALESCE(SUM(balance), 0) FROM vol_accounts WHERE id = $1`, id)
}

// A cancellation frees a slot or a waitlist place; an activity is
// managed by its own community only.
func TestCancellationsAndScope(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		w.volunteer(t, w.resM)
		w.volunteer(t, w.resX)
		a := w.activity(t, "社区清扫", 3, 1, 2, 5)
		t.Run("cancelling without a sign-up is refused", func(t *testing.T) {
			err := w.vs.Cancel(w.resA, a.ID)
			if !fault.Is(err, fault.CodeConflict) {
				t.Fatalf("got %v", err)
			}
		})
		for _, su := range []struct {
			user, want string
		}{{"res.a", volunteers.SignedUp}, {"res.m", volunteers.Waitlisted}, {"res.x", volunteers.Waitlisted}} {
			r := apptest.JSON[volunteers.SignUpResult](t, e.Login(su.user), "POST", "/api/v1/activities/"+a.ID+"/signup", nil, 201)
			if r.Status != su.want {
				t.Fatalf("%s: %+v", su.user, r)
			}
		}
		t.Run("a waitlisted cancellation moves the next one up the list and takes no slot", func(t *testing.T) {
			if err := w.vs.Cancel(w.resM, a.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := w.vs.Activity(w.resX, a.ID)
			if got.Taken != 1 || got.Mine != volunteers.Waitlisted {
				t.Fatalf("activity %+v", got)
			}
			if err := w.vs.Cancel(w.resM, a.ID); !fault.Is(err, fault.CodeConflict) {
				t.Fatalf("a second cancellation: %v", err)
			}
		})
		t.Run("signing up again after cancelling joins the back of the waitlist", func(t *testing.T) {
			r, err := w.vs.SignUp(w.resM, a.ID)
			if err != nil || r.Status != volunteers.Waitlisted || r.Position != 2 {
				t.Fatalf("%+v %v", r, err)
			}
		})
		t.Run("the confirmed one's cancellation promotes the earliest waitlisted, not the latest", func(t *testing.T) {
			if err := w.vs.Cancel(w.resA, a.ID); err != nil {
				t.Fatal(err)
			}
			_, roster, err := w.vs.Roster(w.cw, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(roster) != 2 || roster[0].ResidentID != w.x || roster[0].Status != volunteers.SignedUp || roster[1].ResidentID != w.m || roster[1].Status != volunteers.Waitlisted {
				t.Fatalf("roster %+v", roster)
			}
		})
		t.Run("with no one waiting a cancellation frees the slot", func(t *testing.T) {
			for _, ctx := range []context.Context{w.resM, w.resX} {
				if err := w.vs.Cancel(ctx, a.ID); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := w.vs.Activity(w.resA, a.ID)
			if got.Taken != 0 || got.Full() {
				t.Fatalf("activity %+v", got)
			}
			r, err := w.vs.SignUp(w.resA, a.ID)
			if err != nil || r.Status != volunteers.SignedUp {
				t.Fatalf("%+v %v", r, err)
			}
		})
		t.Run("another community's worker does not find the roster or take attendance", func(t *testing.T) {
			if _, _, err := w.vs.Roster(w.cwB, a.ID); !fault.Is(err, fault.CodeNotFound) {
				t.Fatalf("roster: %v", err)
			}
			if _, err := w.vs.Attendance(w.cwB, a.ID, volunteers.AttendanceInput{Present: []string{w.a}}); !fault.Is(err, fault.CodeNotFound) {
				t.Fatalf("attendance: %v", err)
			}
			st, _ := e.Login("cw.b").Do("GET", "/api/v1/activities/"+a.ID+"/roster", nil)
			if st != 404 {
				t.Fatalf("roster over the API: %d", st)
			}
		})
		t.Run("attendance before the day names present and credits nothing", func(t *testing.T) {
			_, err := w.vs.Attendance(w.cw, a.ID, volunteers.AttendanceInput{Present: []string{w.a}})
			fieldOf(t, err, fault.CodeInvalid, "present")
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries`); n != 0 {
				t.Fatalf("%d entries", n)
			}
		})
	})
}

// A certificate keeps the figures of its day; a changed code finds
// nothing.
func TestCertificateFigures(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		w.volunteer(t, w.resX)
		credit := func(h float64) {
			t.Helper()
			if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.a, Hours: h, ServiceDate: e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reason: "助老"}); err != nil {
				t.Fatal(err)
			}
		}
		credit(4)
		first, err := w.vs.IssueCertificate(w.resA)
		if err != nil {
			t.Fatal(err)
		}
		credit(2.5)
		t.Run("hours recorded later do not change an issued certificate", func(t *testing.T) {
			got, err := w.vs.VerifyCertificate(context.Background(), first.Code)
			if err != nil || got.Hours != 4 {
				t.Fatalf("%+v %v", got, err)
			}
		})
		t.Run("a new certificate carries the new total", func(t *testing.T) {
			c, err := w.vs.IssueCertificate(w.resA)
			if err != nil || c.Hours != 6.5 || c.Code == first.Code {
				t.Fatalf("%+v %v", c, err)
			}
		})
		t.Run("a code with one character changed is not found", func(t *testing.T) {
			b := []byte(first.Code)
			if b[0] == 'A' {
				b[0] = 'B'
			} else {
				b[0] = 'A'
			}
			_, err := w.vs.VerifyCertificate(context.Background(), string(b))
			if !fault.Is(err, fault.CodeNotFound) {
				t.Fatalf("got %v", err)
			}
			st, body := e.Client().Do("GET", "/api/v1/certificates/"+string(b), nil)
			if st != 404 || strings.Contains(body, "6.5") {
				t.Fatalf("got %d %s", st, body)
			}
		})
		t.Run("a resident lists only their own certificates, another community's worker none", func(t *testing.T) {
			mine, err := w.vs.Certificates(w.resA, "", 0)
			if err != nil || len(mine) != 2 {
				t.Fatalf("mine %+v %v", mine, err)
			}
			if xs, err := w.vs.Certificates(w.resX, "", 0); err != nil || len(xs) != 0 {
				t.Fatalf("res.x's %+v %v", xs, err)
			}
			if bs, err := w.vs.Certificates(w.cwB, "", 0); err != nil || len(bs) != 0 {
				t.Fatalf("community B's %+v %v", bs, err)
			}
			if as, err := w.vs.Certificates(w.cw, "", 0); err != nil || len(as) != 2 {
				t.Fatalf("community A's %+v %v", as, err)
			}
		})
	})
}
