package care_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/care"
)

func TestQuotaByHand(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		t.Run("a month without a rule is refused, naming the month", func(t *testing.T) {
			st, body := officer.Do("POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-06"})
			if st != 400 || !contains(body, `"month"`) {
				t.Fatalf("%d %s", st, body)
			}
		})
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		t.Run("version 1 grants June by hand", func(t *testing.T) {
			run := apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-06"}, 201)
			// elder 85: 200; 失能: 300; 低保 aged 65: 100; 失能 until August: 300;
			// the son (56): nothing; community B's elder (86): 200.
			want := map[string]int64{w.elder: 20000, w.bed: 30000, w.dibao: 10000, w.formerly: 30000, w.son: -1, w.other: 20000}
			for id, fen := range want {
				if g, _, _ := w.quota(t, id, "2026-06"); g != fen {
					t.Errorf("resident %s granted %d, want %d", id, g, fen)
				}
			}
			if run.Residents != 5 || run.GrantedFen != 110000 || run.Version != 1 {
				t.Fatalf("run %+v", run)
			}
		})
		t.Run("a month is granted once", func(t *testing.T) {
			if st, body := officer.Do("POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-06"}); st != 409 {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a version cannot start in a month already granted", func(t *testing.T) {
			in := v1()
			in.FromMonth = "2026-06"
			if st, body := officer.Do("POST", "/api/v1/care/entitlements/rules", in); st != 400 || !contains(body, "from_month") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("version 2 grants November by hand and June's rest expires", func(t *testing.T) {
			v2 := care.RuleInput{County: county, FromMonth: "2026-07", Name: "2026 年居家养老服务补贴（调整）", Tiers: []care.Tier{
				{Label: "高龄", AgeMin: 80, AmountFen: 25000}, {Label: "失能", Tags: []string{"disabled_full"}, AmountFen: 30000},
				{Label: "低保", Tags: []string{"dibao"}, AmountFen: 15000}}}
			rule := apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v2, 201)
			if rule.Version != 2 {
				t.Fatalf("version %d", rule.Version)
			}
			run := apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
			// elder: 250; 失能: 300; 低保: 150; the 失能 tag ended in August: nothing.
			want := map[string]int64{w.elder: 25000, w.bed: 30000, w.dibao: 15000, w.formerly: -1, w.son: -1, w.other: 25000}
			for id, fen := range want {
				if g, _, _ := w.quota(t, id, "2026-11"); g != fen {
					t.Errorf("resident %s granted %d, want %d", id, g, fen)
				}
			}
			if run.Version != 2 || run.Residents != 4 || run.GrantedFen != 95000 || run.ExpiredFen != 110000 {
				t.Fatalf("run %+v", run)
			}
			if g, u, x := w.quota(t, w.bed, "2026-06"); g != 30000 || u != 0 || x != 30000 {
				t.Fatalf("June of the 失能 resident: %d %d %d", g, u, x)
			}
		})
		t.Run("a resident reads their household's quota only", func(t *testing.T) {
			es := apptest.JSON[[]care.Entitlement](t, e.Login("res.bed"), "GET", "/api/v1/care/entitlements", nil, 200)
			if len(es) != 2 || es[0].Month != "2026-11" || es[0].LeftFen != 30000 || es[1].ExpiredFen != 30000 || es[0].ResidentID != w.bed {
				t.Fatalf("%+v", es)
			}
		})
		t.Run("a community worker reads their community's month, and a provider none", func(t *testing.T) {
			es := apptest.JSON[[]care.Entitlement](t, e.Login("cw.a"), "GET", "/api/v1/care/entitlements?month=2026-11", nil, 200)
			if len(es) != 3 {
				t.Fatalf("%+v", es)
			}
			if es := apptest.JSON[[]care.Entitlement](t, e.Login("prov.mgr"), "GET", "/api/v1/care/entitlements?month=2026-11", nil, 200); len(es) != 0 {
				t.Fatalf("%+v", es)
			}
		})
	})
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || index(s, sub) >= 0) }

func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestOrderLoop(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		res, mgr, staff, mgr2 := e.Login("res.old"), e.Login("prov.mgr"), e.Login("staff.wang"), e.Login("prov2.mgr")
		t.Run("an order for an item the provider does not serve there is refused", func(t *testing.T) {
			if st, body := res.Do("POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.q.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T09:00"}); st != 400 || !contains(body, "provider_id") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_orders`); n != 0 {
				t.Fatalf("%d orders written", n)
			}
		})
		var bath care.Order
		t.Run("the resident orders 助浴 and the provider accepts and assigns", func(t *testing.T) {
			bath = apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T09:00"}, 201)
			if bath.Status != care.StatusOrdered || bath.Name != "张**" {
				t.Fatalf("%+v", bath)
			}
			if st, _ := staff.Do("POST", "/api/v1/care/orders/"+bath.ID+"/accept", nil); st != 404 && st != 403 {
				t.Fatalf("a care worker not yet assigned accepted: %d", st)
			}
			apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+bath.ID+"/accept", nil, 200)
			o := apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+bath.ID+"/assign", care.AssignInput{StaffID: w.wang.ID}, 200)
			if o.Status != care.StatusAssigned || o.StaffName != "王**" {
				t.Fatalf("%+v", o)
			}
		})
		t.Run("another provider sees neither the order nor its resident", func(t *testing.T) {
			if st, _ := mgr2.Do("GET", "/api/v1/care/orders/"+bath.ID, nil); st != 404 {
				t.Fatalf("status %d", st)
			}
			if pg := apptest.JSON[care.OrderPage](t, mgr2, "GET", "/api/v1/care/orders", nil, 200); len(pg.Items) != 0 {
				t.Fatalf("%+v", pg)
			}
			if st, _ := mgr2.Do("POST", "/api/v1/care/orders/"+bath.ID+"/accept", nil); st != 404 {
				t.Fatalf("status %d", st)
			}
			if st, _ := mgr.Do("GET", "/api/v1/registry/residents/"+w.elder, nil); st == 200 {
				t.Fatal("a provider read a resident's record")
			}
		})
		t.Run("a check-out before the check-in is refused", func(t *testing.T) {
			if st, body := staff.Do("POST", "/api/v1/care/orders/"+bath.ID+"/check-out", nil); st != 409 {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a check-in far outside the community is refused, naming the field", func(t *testing.T) {
			lon, lat := 121.47, 31.23 // Shanghai
			if st, body := staff.Do("POST", "/api/v1/care/orders/"+bath.ID+"/check-in", care.CheckInput{Lon: &lon, Lat: &lat}); st != 400 || !contains(body, `"lon"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_orders WHERE checkin_at IS NOT NULL`); n != 0 {
				t.Fatal("a refused check-in was written")
			}
		})
		t.Run("staff check in at the door; a service longer than the item allows is refused", func(t *testing.T) {
			lon, lat := 120.141, 30.261
			o := apptest.JSON[care.Order](t, staff, "POST", "/api/v1/care/orders/"+bath.ID+"/check-in", care.CheckInput{Lon: &lon, Lat: &lat}, 200)
			if o.Status != care.StatusInService || o.CheckinLon == nil {
				t.Fatalf("%+v", o)
			}
			e.Clock.Add(2 * time.Hour) // sessions idle out meanwhile
			staff, res, mgr = e.Login("staff.wang"), e.Login("res.old"), e.Login("prov.mgr")
			if st, body := staff.Do("POST", "/api/v1/care/orders/"+bath.ID+"/check-out", nil); st != 400 || !contains(body, `"at"`) {
				t.Fatalf("%d %s", st, body)
			}
			end := o.CheckinAt.Add(60 * time.Minute).Format(time.RFC3339)
			o = apptest.JSON[care.Order](t, staff, "POST", "/api/v1/care/orders/"+bath.ID+"/check-out", care.CheckInput{At: end}, 200)
			if o.Status != care.StatusServed || o.Minutes != 60 || o.AmountFen != 8000 || o.Month != "2026-11" {
				t.Fatalf("%+v", o)
			}
		})
		t.Run("the subsidy is drawn once even on a double confirmation", func(t *testing.T) {
			o := apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders/"+bath.ID+"/confirm", nil, 200)
			if o.Status != care.StatusConfirmed || o.SubsidyFen != 8000 || o.CopayFen != 0 {
				t.Fatalf("%+v", o)
			}
			if st, _ := res.Do("POST", "/api/v1/care/orders/"+bath.ID+"/confirm", nil); st != 409 {
				t.Fatalf("second confirmation: %d", st)
			}
			if g, u, _ := w.quota(t, w.elder, "2026-11"); g != 20000 || u != 8000 {
				t.Fatalf("quota %d used %d", g, u)
			}
		})
		t.Run("the resident rates once", func(t *testing.T) {
			if st, body := res.Do("POST", "/api/v1/care/orders/"+bath.ID+"/rate", care.RateInput{Rating: 9}); st != 400 || !contains(body, "rating") {
				t.Fatalf("%d %s", st, body)
			}
			o := apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders/"+bath.ID+"/rate", care.RateInput{Rating: 5, Note: "很细心"}, 200)
			if o.Rating != 5 {
				t.Fatalf("%+v", o)
			}
			if st, _ := res.Do("POST", "/api/v1/care/orders/"+bath.ID+"/rate", care.RateInput{Rating: 1}); st != 409 {
				t.Fatalf("second rating: %d", st)
			}
			prs := apptest.JSON[[]care.Provider](t, mgr, "GET", "/api/v1/care/providers", nil, 200)
			if len(prs) != 1 || prs[0].ID != w.p.ID || prs[0].Rating != 5 || prs[0].Ratings != 1 {
				t.Fatalf("%+v", prs)
			}
		})
		t.Run("a dispute goes to the provider with a clock, and is resolved", func(t *testing.T) {
			o := w.orderCheckedIn(t, w.bath.ID)
			o = apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders/"+o.ID+"/dispute", care.NoteInput{Note: "只待了十分钟"}, 200)
			if o.Status != care.StatusDisputed || !o.DisputeDue.Equal(e.Clock.Now().Add(care.DisputeHours*time.Hour).Truncate(time.Microsecond)) {
				t.Fatalf("%+v", o)
			}
			o = apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+o.ID+"/resolve", care.NoteInput{Outcome: "void", Note: "作废"}, 200)
			if o.Status != care.StatusCancelled {
				t.Fatalf("%+v", o)
			}
		})
	})
}

func TestSettlement(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		serve := func(item string, minutes int) care.Order {
			o := w.orderCheckedIn(t, item)
			e.Clock.Add(time.Duration(minutes) * time.Minute)
			return apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
		}
		// 助浴 8,000 fen a visit: subsidy 8,000 from the elder's 20,000.
		// 助洁 5,000 fen an hour for 180 minutes: 15,000, subsidy the 12,000
		// left, co-payment 3,000. A third 助浴 is served but not confirmed.
		for _, o := range []care.Order{serve(w.bath.ID, 45), serve(w.clean.ID, 180)} {
			apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
		}
		serve(w.bath.ID, 30)
		mgr := e.Login("prov.mgr")
		var st care.Settlement
		t.Run("a month that has not ended does not settle", func(t *testing.T) {
			if s, body := mgr.Do("POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"}); s != 400 || !contains(body, "month") {
				t.Fatalf("%d %s", s, body)
			}
		})
		e.Clock.Set(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
		mgr, officer = e.Login("prov.mgr"), e.Login("officer.county")
		t.Run("the totals are the confirmed services × prices − co-payments", func(t *testing.T) {
			st = apptest.JSON[care.Settlement](t, mgr, "POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"}, 201)
			amount := int64(8000 + 5000*180/60)
			copay := int64(3000)
			if st.Services != 2 || st.AmountFen != amount || st.CopayFen != copay || st.SubsidyFen != amount-copay || st.Status != care.SettleDraft {
				t.Fatalf("%+v", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_orders WHERE settlement_id = '' AND status = 'served'`); n != 1 {
				t.Fatalf("unconfirmed services left unsettled: %d", n)
			}
		})
		t.Run("the community checks, the county approves and the statement carries its hash", func(t *testing.T) {
			if s, _ := officer.Do("POST", "/api/v1/care/settlements/"+st.ID+"/approve", nil); s != 409 {
				t.Fatalf("approved before the check: %d", s)
			}
			if s, _ := officer.Do("POST", "/api/v1/care/settlements/"+st.ID+"/check", nil); s != 403 {
				t.Fatalf("the county checked: %d", s)
			}
			apptest.JSON[care.Settlement](t, e.Login("cw.a"), "POST", "/api/v1/care/settlements/"+st.ID+"/check", nil, 200)
			a := apptest.JSON[care.Settlement](t, officer, "POST", "/api/v1/care/settlements/"+st.ID+"/approve", nil, 200)
			if len(a.SHA256) != 64 || a.Status != care.SettleApproved {
				t.Fatalf("%+v", a)
			}
			req := officer.NewRequest("GET", "/api/v1/care/settlements/"+st.ID+"/statement", nil)
			code, body, hdr := officer.Send(req)
			sum := sha256.Sum256([]byte(body))
			if code != http.StatusOK || hex.EncodeToString(sum[:]) != a.SHA256 || hdr.Get("X-Content-SHA256") != a.SHA256 {
				t.Fatalf("%d hash %s header %s want %s", code, hex.EncodeToString(sum[:]), hdr.Get("X-Content-SHA256"), a.SHA256)
			}
			if s, body := officer.Do("POST", "/api/v1/care/settlements/"+st.ID+"/pay", care.PayInput{}); s != 400 || !contains(body, "reference") {
				t.Fatalf("%d %s", s, body)
			}
			p := apptest.JSON[care.Settlement](t, officer, "POST", "/api/v1/care/settlements/"+st.ID+"/pay", care.PayInput{Reference: "GK-2026-12-0001"}, 200)
			if p.Status != care.SettlePaid || p.PaidRef != "GK-2026-12-0001" {
				t.Fatalf("%+v", p)
			}
		})
		t.Run("a provider sees its own settlements only", func(t *testing.T) {
			if sts := apptest.JSON[[]care.Settlement](t, e.Login("prov2.mgr"), "GET", "/api/v1/care/settlements", nil, 200); len(sts) != 0 {
				t.Fatalf("%+v", sts)
			}
			if s, _ := e.Login("prov2.mgr").Do("GET", "/api/v1/care/settlements/"+st.ID, nil); s != 404 {
				t.Fatalf("status %d", s)
			}
		})
	})
}
