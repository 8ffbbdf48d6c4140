package volunteers_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/fault"
	"linli/internal/volunteers"
)

func fieldOf(t *testing.T, err error, code fault.Code, field string) {
	t.Helper()
	we, ok := fault.As(err)
	if !ok || we.Code != code {
		t.Fatalf("want a %s refusal, got %v", code, err)
	}
	for _, f := range we.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("the refusal %v does not name %q (fields %+v)", err, field, we.Fields)
}

func TestRegistration(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		c := e.Login("res.a")
		t.Run("a registration without skills names the field and writes nothing", func(t *testing.T) {
			st, body := c.Do("POST", "/api/v1/volunteers", volunteers.VolunteerInput{Availability: []string{"weekend"}})
			if st != 400 || !contains(body, `"skills"`) {
				t.Fatalf("got %d %s", st, body)
			}
			st, body = c.Do("POST", "/api/v1/volunteers", volunteers.VolunteerInput{Skills: []string{"juggling"}, Availability: []string{"weekend"}})
			if st != 400 || !contains(body, `"skills"`) {
				t.Fatalf("an unknown skill: got %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_volunteers`); n != 0 {
				t.Fatalf("%d volunteers written", n)
			}
		})
		t.Run("a party member must give the home branch", func(t *testing.T) {
			st, body := c.Do("POST", "/api/v1/volunteers", volunteers.VolunteerInput{Skills: []string{"meals"}, Availability: []string{"weekend"}, PartyMember: true})
			if st != 400 || !contains(body, `"party_branch"`) {
				t.Fatalf("got %d %s", st, body)
			}
		})
		var v volunteers.Volunteer
		t.Run("before registering, my record says unregistered", func(t *testing.T) {
			me := apptest.JSON[volunteers.Volunteer](t, c, "GET", "/api/v1/volunteers/me", nil, 200)
			if me.Status != volunteers.StatusUnregistered || me.ResidentID != w.a || me.Hours != 0 {
				t.Fatalf("got %+v", me)
			}
		})
		t.Run("a resident registers and awaits verification", func(t *testing.T) {
			v = apptest.JSON[volunteers.Volunteer](t, c, "POST", "/api/v1/volunteers", volunteers.VolunteerInput{Skills: []string{"meals", "digital"}, Availability: []string{"weekend"},
				Languages: []string{"hangzhou"}, Drives: true, PartyMember: true, PartyBranch: "区卫健局第二党支部"}, 201)
			if v.ResidentID != w.a || v.Status != volunteers.StatusPending || !v.Drives || v.PartyBranch != "区卫健局第二党支部" || len(v.Skills) != 2 || v.Name != "王**" {
				t.Fatalf("registered %+v", v)
			}
		})
		t.Run("a worker of another community cannot verify", func(t *testing.T) {
			if st, body := e.Login("cw.b").Do("POST", "/api/v1/volunteers/"+w.a+"/verify", volunteers.VerifyInput{Approve: true}); st != 404 {
				t.Fatalf("got %d %s", st, body)
			}
			if st, _ := c.Do("POST", "/api/v1/volunteers/"+w.a+"/verify", volunteers.VerifyInput{Approve: true}); st != 404 {
				t.Fatalf("the resident verified herself: %d", st)
			}
		})
		t.Run("a pending volunteer cannot sign up yet", func(t *testing.T) {
			a := w.activity(t, "助老送餐", 3, 5, 2, 10)
			_, err := w.vs.SignUp(w.resA, a.ID)
			if !fault.Is(err, fault.CodeConflict) {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("the community verifies and lists the volunteer", func(t *testing.T) {
			got := apptest.JSON[volunteers.Volunteer](t, e.Login("cw.a"), "POST", "/api/v1/volunteers/"+w.a+"/verify", volunteers.VerifyInput{Approve: true}, 200)
			if got.Status != volunteers.StatusVerified || got.VerifiedBy != "cw.a" {
				t.Fatalf("verified %+v", got)
			}
			page := apptest.JSON[volunteers.Page[volunteers.Volunteer]](t, e.Login("cw.a"), "GET", "/api/v1/volunteers?status=verified", nil, 200)
			if len(page.Items) != 1 || page.Items[0].ResidentID != w.a {
				t.Fatalf("listed %+v", page.Items)
			}
			if page := apptest.JSON[volunteers.Page[volunteers.Volunteer]](t, e.Login("cw.b"), "GET", "/api/v1/volunteers", nil, 200); len(page.Items) != 0 {
				t.Fatalf("community B sees %+v", page.Items)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.verify'`); n != 1 {
				t.Fatalf("%d verify audit entries", n)
			}
		})
		t.Run("the volunteer list pages by key", func(t *testing.T) {
			w.volunteer(t, w.resM)
			w.volunteer(t, w.resX)
			cw := e.Login("cw.a")
			p1 := apptest.JSON[volunteers.Page[volunteers.Volunteer]](t, cw, "GET", "/api/v1/volunteers?page_size=2", nil, 200)
			if len(p1.Items) != 2 || p1.Next == "" {
				t.Fatalf("page 1 %+v", p1)
			}
			p2 := apptest.JSON[volunteers.Page[volunteers.Volunteer]](t, cw, "GET", "/api/v1/volunteers?page_size=2&cursor="+url.QueryEscape(p1.Next), nil, 200)
			if len(p2.Items) != 1 || p2.Next != "" || p2.Items[0].ResidentID <= p1.Items[1].ResidentID {
				t.Fatalf("page 2 %+v", p2)
			}
		})
	})
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestActivities(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		w.volunteer(t, w.resM)
		w.volunteer(t, w.resX)
		w.volunteer(t, w.resKid)
		cw := e.Login("cw.a")
		t.Run("bad hours, slots and times name their field and write nothing", func(t *testing.T) {
			for _, tc := range []struct {
				in    volunteers.ActivityInput
				field string
			}{
				{volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Hours: 0, Slots: 5}, "hours"},
				{volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Hours: 25, Slots: 5}, "hours"},
				{volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Hours: -2, Slots: 5}, "hours"},
				{volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Hours: 2, Slots: 0}, "slots"},
				{volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T08:00", Hours: 2, Slots: 5}, "ends_at"},
				{volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Cutoff: "2026-12-06T09:00", Hours: 2, Slots: 5}, "cutoff"},
				{volunteers.ActivityInput{Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Hours: 2, Slots: 5}, "title"},
			} {
				st, body := cw.Do("POST", "/api/v1/activities", tc.in)
				if st != 400 || !contains(body, `"`+tc.field+`"`) {
					t.Fatalf("%+v: got %d %s", tc.in, st, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_activities`); n != 0 {
				t.Fatalf("%d activities written", n)
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/activities", volunteers.ActivityInput{Title: "x", Place: "y", StartsAt: "2026-12-05T09:00", EndsAt: "2026-12-05T11:00", Hours: 2, Slots: 5}); st != 403 {
				t.Fatalf("a resident posted: %d", st)
			}
		})
		a := w.activity(t, "助老送餐", 3, 2, 2, 10)
		t.Run("sign-ups fill the slots, then the waitlist", func(t *testing.T) {
			r1 := apptest.JSON[volunteers.SignUpResult](t, e.Login("res.a"), "POST", "/api/v1/activities/"+a.ID+"/signup", nil, 201)
			r2 := apptest.JSON[volunteers.SignUpResult](t, e.Login("res.m"), "POST", "/api/v1/activities/"+a.ID+"/signup", nil, 201)
			r3 := apptest.JSON[volunteers.SignUpResult](t, e.Login("res.x"), "POST", "/api/v1/activities/"+a.ID+"/signup", nil, 201)
			if r1.Status != volunteers.SignedUp || r2.Status != volunteers.SignedUp || r3.Status != volunteers.Waitlisted || r3.Position != 1 {
				t.Fatalf("got %+v %+v %+v", r1, r2, r3)
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/activities/"+a.ID+"/signup", nil); st != 409 {
				t.Fatalf("a second sign-up: %d", st)
			}
		})
		t.Run("a child below the minimum age is refused", func(t *testing.T) {
			_, err := w.vs.SignUp(w.resKid, a.ID)
			fieldOf(t, err, fault.CodeInvalid, "min_age")
		})
		t.Run("a cancellation before the cut-off promotes the first waitlisted", func(t *testing.T) {
			apptest.JSON[volunteers.SignUpResult](t, e.Login("res.m"), "POST", "/api/v1/activities/"+a.ID+"/cancel", nil, 200)
			got, err := w.vs.Activity(w.resX, a.ID)
			if err != nil || got.Mine != volunteers.SignedUp || got.Taken != 2 {
				t.Fatalf("after the cancellation: %+v %v", got, err)
			}
		})
		t.Run("a sign-up after the cut-off names the cut-off and writes nothing", func(t *testing.T) {
			e.Clock.Add(3 * 24 * time.Hour)
			before := e.Count(`SELECT COUNT(*) FROM vol_signups`)
			st, body := e.Login("res.m").Do("POST", "/api/v1/activities/"+a.ID+"/signup", nil)
			if st != 400 || !contains(body, `"cutoff"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if st, body := e.Login("res.x").Do("POST", "/api/v1/activities/"+a.ID+"/cancel", nil); st != 400 || !contains(body, `"cutoff"`) {
				t.Fatalf("a cancellation after the cut-off: %d %s", st, body)
			}
			if after := e.Count(`SELECT COUNT(*) FROM vol_signups`); after != before || e.Count(`SELECT COUNT(*) FROM vol_signups WHERE status = 'confirmed'`) != 2 {
				t.Fatalf("sign-ups %d → %d", before, after)
			}
		})
		t.Run("a double confirmation of attendance credits once; the absent are recorded", func(t *testing.T) {
			in := volunteers.AttendanceInput{Present: []string{w.a}}
			cw := e.Login("cw.a") // the session before the days passed has expired
			r1 := apptest.JSON[volunteers.AttendanceResult](t, cw, "POST", "/api/v1/activities/"+a.ID+"/attendance", in, 200)
			r2 := apptest.JSON[volunteers.AttendanceResult](t, cw, "POST", "/api/v1/activities/"+a.ID+"/attendance", in, 200)
			if r1.Credited != 1 || r1.Absent != 1 || r2.Credited != 0 {
				t.Fatalf("first %+v second %+v", r1, r2)
			}
			me := apptest.JSON[volunteers.Volunteer](t, e.Login("res.a"), "GET", "/api/v1/volunteers/me", nil, 200)
			if me.Hours != 2 || me.Points != 10 || me.Bank != 2 {
				t.Fatalf("after the activity: %+v", me)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_signups WHERE activity_id = $1 AND attendance = 'absent' AND resident_id = $2`, a.ID, w.x); n != 1 {
				t.Fatal("the absent volunteer is not recorded absent")
			}
			invariants(t, e, "attendance")
		})
		t.Run("two confirmations at once credit once", func(t *testing.T) {
			// Today, an hour from now; sign-ups close as it starts.
			start := e.Clock.Now().Add(time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")
			b, err := w.vs.PostActivity(w.cw, volunteers.ActivityInput{Title: "环境整治", Place: "河道", StartsAt: start, EndsAt: start[:11] + "23:59", Hours: 1.5, Points: 5, Slots: 5, TimeBank: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.vs.SignUp(w.resM, b.ID); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			res := make([]volunteers.AttendanceResult, 4)
			errs := make([]error, 4)
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i], errs[i] = w.vs.Attendance(w.cw, b.ID, volunteers.AttendanceInput{Present: []string{w.m}})
				}()
			}
			wg.Wait()
			credited := 0
			for i := range 4 {
				if errs[i] != nil {
					t.Fatalf("confirmation %d: %v", i, errs[i])
				}
				credited += res[i].Credited
			}
			if credited != 1 || e.Count(`SELECT COUNT(*) FROM vol_entries WHERE entry_key = $1`, "attend:"+b.ID+":"+w.m) != 1 {
				t.Fatalf("credited %d times", credited)
			}
			invariants(t, e, "concurrent attendance")
		})
	})
}

func TestConcurrentSignUps(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		people := bulkVolunteers(t, e, 200)
		a := w.activity(t, "社区运动会服务", 5, 50, 4, 20)
		t.Run("200 sign-ups at once for 50 slots: 50 confirmed, 150 waitlisted, no errors", func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			got := map[string]int{}
			positions := map[int]bool{}
			var failures []error
			for _, ctx := range people {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := w.vs.SignUp(ctx, a.ID)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failures = append(failures, err)
						return
					}
					got[r.Status]++
					if r.Status == volunteers.Waitlisted {
						positions[r.Position] = true
					}
				}()
			}
			wg.Wait()
			if len(failures) > 0 {
				t.Fatalf("%d sign-ups failed, the first: %v", len(failures), failures[0])
			}
			if got[volunteers.SignedUp] != 50 || got[volunteers.Waitlisted] != 150 {
				t.Fatalf("got %v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_signups WHERE activity_id = $1 AND status = 'confirmed'`, a.ID); n != 50 {
				t.Fatalf("%d confirmed rows", n)
			}
			if n := e.Count(`SELECT taken FROM vol_activities WHERE id = $1`, a.ID); n != 50 {
				t.Fatalf("taken %d", n)
			}
			if n := e.Count(`SELECT COUNT(DISTINCT seq) FROM vol_signups WHERE activity_id = $1`, a.ID); n != 200 {
				t.Fatalf("%d distinct queue places", n)
			}
		})
	})
}

func TestStars(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		cw := e.Login("cw.a")
		day := func(d int) string { return e.Clock.Now().AddDate(0, 0, -d).Format("2006-01-02") }
		credit := func(h float64, d int) (int, string) {
			return cw.Do("POST", "/api/v1/ledger/credits", volunteers.CreditInput{ResidentID: w.a, Hours: h, ServiceDate: day(d), Reason: "结对探访"})
		}
		me := func() volunteers.Volunteer {
			return apptest.JSON[volunteers.Volunteer](t, e.Login("res.a"), "GET", "/api/v1/volunteers/me", nil, 200)
		}
		t.Run("the thresholds are data: 100, 300, 600, 1000, 1500 hours", func(t *testing.T) {
			ls := apptest.JSON[[]volunteers.StarLevel](t, cw, "GET", "/api/v1/ledger/stars", nil, 200)
			want := []int{100, 300, 600, 1000, 1500}
			for i, l := range ls {
				if l.Stars != i+1 || l.Hours != want[i] {
					t.Fatalf("levels %+v", ls)
				}
			}
		})
		t.Run("hours of 0, below 0 or over 24 in a day name the field and write nothing", func(t *testing.T) {
			for _, h := range []float64{0, -1, 24.5} {
				if st, body := credit(h, 1); st != 400 || !contains(body, `"hours"`) {
					t.Fatalf("%v hours: %d %s", h, st, body)
				}
			}
			if st, _ := credit(20, 1); st != 201 {
				t.Fatal("20 hours refused")
			}
			if st, body := credit(4.5, 1); st != 400 || !contains(body, `"hours"`) {
				t.Fatalf("24.5 hours in a day over two credits: %d %s", st, body)
			}
			if st, body := cw.Do("POST", "/api/v1/ledger/credits", volunteers.CreditInput{ResidentID: w.a, Hours: 2, ServiceDate: e.Clock.Now().AddDate(0, 0, 3).Format("2006-01-02"), Reason: "x"}); st != 400 || !contains(body, `"service_date"`) {
				t.Fatalf("a future day: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries`); n != 2 {
				t.Fatalf("%d entries", n)
			}
		})
		t.Run("stars change exactly at the thresholds", func(t *testing.T) {
			for d := 2; d <= 4; d++ {
				credit(20, d)
			}
			credit(19.5, 5) // 99.5 hours
			if v := me(); v.Hours != 99.5 || v.Stars != 0 {
				t.Fatalf("at 99.5 hours: %+v", v)
			}
			credit(0.5, 5)
			if v := me(); v.Hours != 100 || v.Stars != 1 {
				t.Fatalf("at 100 hours: %+v", v)
			}
			for d := 6; d < 16; d++ {
				credit(20, d)
			}
			if v := me(); v.Hours != 300 || v.Stars != 2 {
				t.Fatalf("at 300 hours: %+v", v)
			}
			invariants(t, e, "credits")
		})
		t.Run("a reversal below a threshold takes the star back; a transaction is reversed once, with a reason", func(t *testing.T) {
			var txn string
			if err := e.App.DB.R.QueryRow(`SELECT txn_id FROM vol_entries WHERE service_date = $1 AND kind = 'service' AND amount > 0`, day(15)).Scan(&txn); err != nil {
				t.Fatal(err)
			}
			if st, body := cw.Do("POST", "/api/v1/ledger/reversals", volunteers.ReversalInput{TxnID: txn}); st != 400 || !contains(body, `"reason"`) {
				t.Fatalf("without a reason: %d %s", st, body)
			}
			apptest.JSON[volunteers.Posted](t, cw, "POST", "/api/v1/ledger/reversals", volunteers.ReversalInput{TxnID: txn, Reason: "重复登记"}, 201)
			if v := me(); v.Hours != 280 || v.Stars != 1 {
				t.Fatalf("after the reversal: %+v", v)
			}
			if st, _ := cw.Do("POST", "/api/v1/ledger/reversals", volunteers.ReversalInput{TxnID: txn, Reason: "again"}); st != 409 {
				t.Fatalf("a second reversal: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_entries WHERE txn_id = $1`, txn); n != 2 {
				t.Fatalf("the reversed transaction has %d entries (edited?)", n)
			}
			invariants(t, e, "reversal")
		})
		t.Run("the account and its entries are the volunteer's own", func(t *testing.T) {
			id := volunteers.AccountID(volunteers.OwnerVolunteer, w.a, volunteers.Hours)
			acct := apptest.JSON[volunteers.Account](t, e.Login("res.a"), "GET", "/api/v1/ledger/accounts/"+id, nil, 200)
			if acct.Balance != 280*60 || acct.Stars != 1 {
				t.Fatalf("account %+v", acct)
			}
			if st, _ := e.Login("res.x").Do("GET", "/api/v1/ledger/accounts/"+id, nil); st != 404 {
				t.Fatalf("another resident read it: %d", st)
			}
			p := apptest.JSON[volunteers.Page[volunteers.Entry]](t, e.Login("res.a"), "GET", "/api/v1/ledger/accounts/"+id+"/entries?page_size=5", nil, 200)
			if len(p.Items) != 5 || p.Next == "" || p.Items[0].Kind != volunteers.KindReversal {
				t.Fatalf("entries %+v", p)
			}
		})
	})
}

func TestLedger(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		w.volunteer(t, w.resA)
		w.volunteer(t, w.resX)
		if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.a, Hours: 10, Points: 100, ServiceDate: e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reason: "助餐"}); err != nil {
			t.Fatal(err)
		}
		t.Run("hours go to a family member of the same household", func(t *testing.T) {
			apptest.JSON[volunteers.Posted](t, e.Login("res.a"), "POST", "/api/v1/ledger/transfers", volunteers.TransferInput{To: w.m, Hours: 4}, 201)
			mom := apptest.JSON[volunteers.Account](t, e.Login("cw.a"), "GET", "/api/v1/ledger/accounts/"+volunteers.AccountID(volunteers.OwnerVolunteer, w.m, volunteers.Hours), nil, 200)
			mine := apptest.JSON[volunteers.Volunteer](t, e.Login("res.a"), "GET", "/api/v1/volunteers/me", nil, 200)
			if mom.Balance != 240 || mine.Bank != 6 || mine.Hours != 10 {
				t.Fatalf("mother %+v, me %+v", mom, mine)
			}
		})
		t.Run("a transfer to someone outside the family is refused", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM vol_entries`)
			st, body := e.Login("res.a").Do("POST", "/api/v1/ledger/transfers", volunteers.TransferInput{To: w.x, Hours: 1})
			if st != 409 || !contains(body, `"to"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if st, body := e.Login("res.a").Do("POST", "/api/v1/ledger/transfers", volunteers.TransferInput{To: w.m, Hours: 7}); st != 409 || !contains(body, `"hours"`) {
				t.Fatalf("more than the balance: %d %s", st, body)
			}
			if after := e.Count(`SELECT COUNT(*) FROM vol_entries`); after != before {
				t.Fatalf("entries %d → %d", before, after)
			}
		})
		it := apptest.JSON[volunteers.Item](t, e.Login("cw.a"), "POST", "/api/v1/points-shop/items", volunteers.ItemInput{Name: "大米", Points: 60, Stock: 1}, 201)
		big := apptest.JSON[volunteers.Item](t, e.Login("cw.a"), "POST", "/api/v1/points-shop/items", volunteers.ItemInput{Name: "电饭煲", Points: 500, Stock: 3}, 201)
		t.Run("a redemption beyond the balance names the points and writes nothing", func(t *testing.T) {
			st, body := e.Login("res.a").Do("POST", "/api/v1/points-shop/redemptions", volunteers.RedeemInput{ItemID: big.ID})
			if st != 409 || !contains(body, `"points"`) {
				t.Fatalf("got %d %s", st, body)
			}
			if n := e.Count(`SELECT stock FROM vol_shop_items WHERE id = $1`, big.ID); n != 3 {
				t.Fatalf("stock %d", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_redemptions`); n != 0 {
				t.Fatalf("%d redemptions", n)
			}
		})
		t.Run("two redemptions of the last item at once: one wins", func(t *testing.T) {
			if _, err := w.vs.Credit(w.cw, volunteers.CreditInput{ResidentID: w.x, Hours: 8, Points: 100, ServiceDate: e.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reason: "助餐"}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, ctx := range []context.Context{w.resA, w.resX} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = w.vs.Redeem(ctx, volunteers.RedeemInput{ItemID: it.ID})
				}()
			}
			wg.Wait()
			won, lost := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case fault.Is(err, fault.CodeConflict):
					lost++
				default:
					t.Fatalf("unexpected %v", err)
				}
			}
			if won != 1 || lost != 1 || e.Count(`SELECT stock FROM vol_shop_items WHERE id = $1`, it.ID) != 0 || e.Count(`SELECT COUNT(*) FROM vol_redemptions`) != 1 {
				t.Fatalf("won %d lost %d", won, lost)
			}
			if e.Count(`SELECT COALESCE(SUM(balance), 0) FROM vol_accounts WHERE owner_kind = 'shop'`) != 60 {
				t.Fatal("the shop did not receive the points once")
			}
			invariants(t, e, "redemptions")
		})
		t.Run("a reversal that would take spent points back is refused", func(t *testing.T) {
			var txn string
			if err := e.App.DB.R.QueryRow(`SELECT e.txn_id FROM vol_entries e JOIN vol_redemptions r ON e.account_id = 'volunteer:' || r.resident_id || ':points' WHERE e.kind = 'service'`).Scan(&txn); err != nil {
				t.Fatal(err)
			}
			_, err := w.vs.Reverse(w.cw, volunteers.ReversalInput{TxnID: txn, Reason: "登记错误"})
			if !fault.Is(err, fault.CodeConflict) {
				t.Fatalf("got %v", err)
			}
			invariants(t, e, "refused reversal")
		})
	})
}
