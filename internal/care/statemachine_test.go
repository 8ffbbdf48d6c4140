package care_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
)

// move is one step tried on an order: who sends it, and where.
type move struct {
	user, step string
	body       any
}

// orderState reads an order's status and how many events it has.
func (w *town) orderState(t *testing.T, id string) (status string, events int) {
	t.Helper()
	if err := w.e.App.DB.R.QueryRow(`SELECT status FROM care_orders WHERE id = $1`, id).Scan(&status); err != nil {
		t.Fatal(err)
	}
	return status, w.e.Count(`SELECT COUNT(*) FROM care_order_events WHERE order_id = $1`, id)
}

// refused tries each move and wants a 409 that leaves the order, its
// events and the audit log as they were.
func (w *town) refused(t *testing.T, id string, moves ...move) {
	t.Helper()
	status, events := w.orderState(t, id)
	audits := w.e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'care.%'`)
	for _, m := range moves {
		if st, body := w.e.Login(m.user).Do("POST", "/api/v1/care/orders/"+id+"/"+m.step, m.body); st != 409 {
			t.Errorf("%s by %s on a %s order: %d %s, want 409", m.step, m.user, status, st, body)
		}
	}
	if s, n := w.orderState(t, id); s != status || n != events {
		t.Errorf("refused moves changed the order: %s with %d events, want %s with %d", s, n, status, events)
	}
	if n := w.e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'care.%'`); n != audits {
		t.Errorf("refused moves wrote %d audit entries", n-audits)
	}
}

func TestOrderStateMachine(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		lon, lat := 120.141, 30.261
		at := care.CheckInput{Lon: &lon, Lat: &lat}
		dispute := care.NoteInput{Note: "没有上门"}
		void := care.NoteInput{Outcome: "void", Note: "作废"}
		assign := care.AssignInput{StaffID: w.wang.ID}
		o := apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T09:00"}, 201)
		step := func(user, s string, body any) care.Order {
			t.Helper()
			return apptest.JSON[care.Order](t, e.Login(user), "POST", "/api/v1/care/orders/"+o.ID+"/"+s, body, 200)
		}
		t.Run("an order just placed is only accepted: assigning, confirming, rating, disputing or resolving it is a conflict", func(t *testing.T) {
			w.refused(t, o.ID, move{"prov.mgr", "assign", assign}, move{"res.old", "confirm", nil},
				move{"res.old", "rate", care.RateInput{Rating: 5}}, move{"res.old", "dispute", dispute}, move{"prov.mgr", "resolve", void})
		})
		t.Run("an accepted order is not accepted again, confirmed or resolved", func(t *testing.T) {
			if got := step("prov.mgr", "accept", nil); got.Status != care.StatusAccepted {
				t.Fatalf("%+v", got)
			}
			w.refused(t, o.ID, move{"prov.mgr", "accept", nil}, move{"res.old", "confirm", nil}, move{"prov.mgr", "resolve", void})
		})
		t.Run("an assigned order is not accepted, checked out, confirmed or resolved", func(t *testing.T) {
			if got := step("prov.mgr", "assign", assign); got.Status != care.StatusAssigned || got.StaffID != w.wang.ID {
				t.Fatalf("%+v", got)
			}
			w.refused(t, o.ID, move{"prov.mgr", "accept", nil}, move{"staff.wang", "check-out", nil}, move{"res.old", "confirm", nil}, move{"prov.mgr", "resolve", void})
		})
		t.Run("an order in service is not checked in twice, reassigned or confirmed", func(t *testing.T) {
			if got := step("staff.wang", "check-in", at); got.Status != care.StatusInService {
				t.Fatalf("%+v", got)
			}
			w.refused(t, o.ID, move{"staff.wang", "check-in", at}, move{"prov.mgr", "accept", nil}, move{"prov.mgr", "assign", assign},
				move{"res.old", "confirm", nil}, move{"res.old", "rate", care.RateInput{Rating: 4}})
		})
		t.Run("a served order is not checked in or out again, rated before confirmation or reassigned", func(t *testing.T) {
			e.Clock.Add(40 * time.Minute)
			if got := step("staff.wang", "check-out", nil); got.Status != care.StatusServed || got.Minutes != 40 || got.AmountFen != 8000 {
				t.Fatalf("%+v", got)
			}
			w.refused(t, o.ID, move{"staff.wang", "check-in", at}, move{"staff.wang", "check-out", nil}, move{"res.old", "rate", care.RateInput{Rating: 5}},
				move{"prov.mgr", "assign", assign}, move{"prov.mgr", "resolve", void})
		})
		t.Run("a confirmed order is not confirmed again, disputed, checked out or reassigned", func(t *testing.T) {
			if got := step("res.old", "confirm", nil); got.Status != care.StatusConfirmed || got.CopayFen != 8000 || got.SubsidyFen != 0 {
				t.Fatalf("no quota was granted: the whole 80 yuan is the co-payment: %+v", got)
			}
			w.refused(t, o.ID, move{"res.old", "confirm", nil}, move{"res.old", "dispute", dispute}, move{"staff.wang", "check-out", nil},
				move{"prov.mgr", "assign", assign}, move{"prov.mgr", "resolve", void})
		})
		var d care.Order
		t.Run("a disputed order is not confirmed, checked out or disputed twice", func(t *testing.T) {
			d = w.orderCheckedIn(t, w.bath.ID)
			d = apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+d.ID+"/dispute", dispute, 200)
			if d.Status != care.StatusDisputed {
				t.Fatalf("%+v", d)
			}
			w.refused(t, d.ID, move{"res.old", "confirm", nil}, move{"staff.wang", "check-out", nil}, move{"res.old", "dispute", dispute},
				move{"prov.mgr", "accept", nil}, move{"prov.mgr", "assign", assign})
		})
		t.Run("a void order is final: nothing moves it", func(t *testing.T) {
			d = apptest.JSON[care.Order](t, e.Login("prov.mgr"), "POST", "/api/v1/care/orders/"+d.ID+"/resolve", void, 200)
			if d.Status != care.StatusCancelled || d.AmountFen != 0 || d.Minutes != 0 {
				t.Fatalf("%+v", d)
			}
			w.refused(t, d.ID, move{"prov.mgr", "resolve", void}, move{"prov.mgr", "accept", nil}, move{"prov.mgr", "assign", assign},
				move{"res.old", "dispute", dispute}, move{"res.old", "confirm", nil}, move{"staff.wang", "check-in", at})
		})
		t.Run("each move that happened is one event, from the status before to the one after", func(t *testing.T) {
			rows, err := e.App.DB.R.Query(`SELECT from_status, to_status FROM care_order_events WHERE order_id = $1 ORDER BY at`, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var steps []string
			for rows.Next() {
				var from, to string
				if err := rows.Scan(&from, &to); err != nil {
					t.Fatal(err)
				}
				steps = append(steps, from+">"+to)
			}
			got := strings.Join(steps, ",")
			want := ">ordered,ordered>accepted,accepted>assigned,assigned>in_service,in_service>served,served>confirmed"
			if got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
		})
	})
}

func TestCheckOutAndRedo(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		o := w.orderCheckedIn(t, w.bath.ID)
		checkout := func(at string) (int, string) {
			return e.Login("staff.wang").Do("POST", "/api/v1/care/orders/"+o.ID+"/check-out", care.CheckInput{At: at})
		}
		t.Run("a check-out time before the check-in is refused, naming the time, and nothing is written", func(t *testing.T) {
			e.Clock.Add(30 * time.Minute)
			if st, body := checkout(o.CheckinAt.Add(-time.Minute).Format(time.RFC3339)); st != 400 || !contains(body, `"at"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_orders WHERE checkout_at IS NOT NULL OR status <> 'in_service'`); n != 0 {
				t.Fatalf("%d orders changed", n)
			}
		})
		t.Run("a check-out time in the future or not a time is refused, naming the time", func(t *testing.T) {
			for _, at := range []string{e.Clock.Now().Add(time.Hour).Format(time.RFC3339), "tomorrow", "2026-11-29 10:00"} {
				if st, body := checkout(at); st != 400 || !contains(body, `"at"`) {
					t.Errorf("%q: %d %s", at, st, body)
				}
			}
		})
		t.Run("one minute more than the item allows is refused; exactly its 90 minutes is served", func(t *testing.T) {
			e.Clock.Add(2 * time.Hour)
			if st, body := checkout(o.CheckinAt.Add(91 * time.Minute).Format(time.RFC3339)); st != 400 || !contains(body, "90") {
				t.Fatalf("%d %s", st, body)
			}
			st, body := checkout(o.CheckinAt.Add(90 * time.Minute).Format(time.RFC3339))
			if st != 200 || !contains(body, `"minutes":90`) || !contains(body, `"amount_fen":8000`) {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a check-out given in China's local time is read as such", func(t *testing.T) {
			p := w.orderCheckedIn(t, w.clean.ID)
			e.Clock.Add(3 * time.Hour)
			local := p.CheckinAt.Add(61 * time.Minute).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")
			got := apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+p.ID+"/check-out", care.CheckInput{At: local}, 200)
			// The check-in has seconds; the minute given rounds the span
			// down to 60 or 61 minutes: an hour's 5,000 fen, or 5,083.
			if got.Minutes != 60 && got.Minutes != 61 || got.AmountFen != (5000*int64(got.Minutes)+30)/60 {
				t.Fatalf("%+v", got)
			}
		})
		t.Run("a served order disputed and redone goes back to be assigned, its times and amount cleared", func(t *testing.T) {
			apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/dispute", care.NoteInput{Note: "没洗完"}, 200)
			r := apptest.JSON[care.Order](t, e.Login("cw.a"), "POST", "/api/v1/care/orders/"+o.ID+"/resolve", care.NoteInput{Outcome: "redo", Note: "重新上门"}, 200)
			if r.Status != care.StatusAccepted || r.StaffID != "" || r.Minutes != 0 || r.AmountFen != 0 || !r.CheckinAt.IsZero() || !r.DisputeDue.IsZero() {
				t.Fatalf("%+v", r)
			}
			if !contains(r.DisputeNote, "没洗完") || !contains(r.DisputeNote, "redo: 重新上门") {
				t.Fatalf("the note lost the dispute's history: %q", r.DisputeNote)
			}
		})
		t.Run("the redone order is served again and confirmed once", func(t *testing.T) {
			apptest.JSON[care.Order](t, e.Login("prov.mgr"), "POST", "/api/v1/care/orders/"+o.ID+"/assign", care.AssignInput{StaffID: w.wang.ID}, 200)
			lon, lat := 120.141, 30.261
			apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-in", care.CheckInput{Lon: &lon, Lat: &lat}, 200)
			e.Clock.Add(50 * time.Minute)
			apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
			c := apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
			if c.Status != care.StatusConfirmed || c.Minutes != 50 || c.AmountFen != 8000 || c.CopayFen != 8000 {
				t.Fatalf("%+v", c)
			}
		})
	})
}

func TestOrderScope(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		o := w.orderCheckedIn(t, w.bath.ID)
		t.Run("another provider's manager can neither check in, check out, resolve nor settle the order", func(t *testing.T) {
			mgr2 := e.Login("prov2.mgr")
			lon, lat := 120.141, 30.261
			for s, body := range map[string]any{"check-in": care.CheckInput{Lon: &lon, Lat: &lat}, "check-out": nil, "resolve": care.NoteInput{Outcome: "void", Note: "x"}} {
				if st, body := mgr2.Do("POST", "/api/v1/care/orders/"+o.ID+"/"+s, body); st != 404 {
					t.Errorf("%s: %d %s", s, st, body)
				}
			}
			e.Clock.Set(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC))
			if st, body := e.Login("prov2.mgr").Do("POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"}); st != 403 {
				t.Errorf("settled another provider's month: %d %s", st, body)
			}
		})
		t.Run("the provider's manager, not sent, does not check out for the staff member", func(t *testing.T) {
			if st, body := e.Login("prov.mgr").Do("POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil); st != 403 {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a resident of another household neither reads, confirms nor disputes the order", func(t *testing.T) {
			for _, u := range []string{"res.bed", "res.b"} {
				c := e.Login(u)
				if st, _ := c.Do("GET", "/api/v1/care/orders/"+o.ID, nil); st != 404 {
					t.Errorf("%s read it: %d", u, st)
				}
				if st, _ := c.Do("POST", "/api/v1/care/orders/"+o.ID+"/dispute", care.NoteInput{Note: "不是我家的"}); st != 404 {
					t.Errorf("%s disputed it: %d", u, st)
				}
			}
		})
		t.Run("a community worker of another community does not see or resolve it; one of its own does", func(t *testing.T) {
			if st, _ := e.Login("cw.b").Do("GET", "/api/v1/care/orders/"+o.ID, nil); st != 404 {
				t.Errorf("community B read it: %d", st)
			}
			if got := apptest.JSON[care.Order](t, e.Login("cw.a"), "GET", "/api/v1/care/orders/"+o.ID, nil, 200); got.ID != o.ID {
				t.Errorf("%+v", got)
			}
		})
		t.Run("the staff member's own order stays where it was", func(t *testing.T) {
			if s, _ := w.orderState(t, o.ID); s != care.StatusInService {
				t.Fatalf("status %s", s)
			}
		})
	})
}

func TestOfficersOfAnotherArea(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("officer.xixi", access.Officer, "330106004") // 西溪街道
		e.User("officer.other", access.Officer, "330105")   // another county
		apptest.JSON[care.Rule](t, e.Login("officer.county"), "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		o := w.orderCheckedIn(t, w.bath.ID)
		t.Run("an officer of another county neither publishes, grants nor reads this county's quota and orders", func(t *testing.T) {
			c := e.Login("officer.other")
			in := v1()
			in.FromMonth = "2026-12"
			if st, body := c.Do("POST", "/api/v1/care/entitlements/rules", in); st != 403 {
				t.Errorf("rule: %d %s", st, body)
			}
			if st, body := c.Do("POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}); st != 403 {
				t.Errorf("run: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_quota_runs`); n != 0 {
				t.Fatalf("%d runs written", n)
			}
			if rs := apptest.JSON[[]care.Rule](t, c, "GET", "/api/v1/care/entitlements/rules", nil, 200); len(rs) != 0 {
				t.Errorf("rules: %+v", rs)
			}
			if st, _ := c.Do("GET", "/api/v1/care/orders/"+o.ID, nil); st != 404 {
				t.Errorf("order: %d", st)
			}
		})
		t.Run("an officer of another township sees none of the order, and the township's own does", func(t *testing.T) {
			if pg := apptest.JSON[care.OrderPage](t, e.Login("officer.xixi"), "GET", "/api/v1/care/orders", nil, 200); len(pg.Items) != 0 {
				t.Errorf("%+v", pg)
			}
			if st, _ := e.Login("officer.xixi").Do("GET", "/api/v1/care/orders/"+o.ID, nil); st != 404 {
				t.Errorf("order: %d", st)
			}
			if pg := apptest.JSON[care.OrderPage](t, e.Login("officer.town"), "GET", "/api/v1/care/orders", nil, 200); len(pg.Items) != 1 || pg.Items[0].ID != o.ID {
				t.Errorf("%+v", pg)
			}
		})
		t.Run("a dispute past its 72 hours stays open, counted in the month's draft, until someone resolves it", func(t *testing.T) {
			d := apptest.JSON[care.Order](t, e.Login("cw.a"), "POST", "/api/v1/care/orders/"+o.ID+"/dispute", care.NoteInput{Note: "居民说没人来"}, 200)
			if want := e.Clock.Now().Add(72 * time.Hour); !d.DisputeDue.Equal(want.Truncate(time.Microsecond)) {
				t.Fatalf("due %v, want %v", d.DisputeDue, want)
			}
			e.Clock.Add(73 * time.Hour)
			st := apptest.JSON[care.Settlement](t, e.Login("prov.mgr"), "POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"}, 201)
			if st.OpenDisputes != 1 || st.Services != 0 {
				t.Fatalf("%+v", st)
			}
			r := apptest.JSON[care.Order](t, e.Login("cw.a"), "POST", "/api/v1/care/orders/"+o.ID+"/resolve", care.NoteInput{Outcome: "void", Note: "已核实"}, 200)
			if r.Status != care.StatusCancelled || !r.DisputeDue.IsZero() {
				t.Fatalf("%+v", r)
			}
		})
	})
}
