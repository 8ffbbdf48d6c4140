package care_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/tabular"
)

func TestRuleVersions(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		// The elder of 85 is also 失能 from March: two tiers apply.
		w.tag(t, w.cw, w.elder, "disabled_full", "2026-03-01", "")
		// The son, 56, holds 低保 but the tier wants 60.
		w.tag(t, w.cw, w.son, "dibao", "2025-01-01", "")
		t.Run("a township officer does not publish the county's rule", func(t *testing.T) {
			in := v1()
			in.FromMonth = "2026-05"
			if st, body := e.Login("officer.town").Do("POST", "/api/v1/care/entitlements/rules", in); st != 403 {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_rules`); n != 1 {
				t.Fatalf("%d rules", n)
			}
		})
		t.Run("a resident meeting several tiers gets the largest, not their sum", func(t *testing.T) {
			apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-02"}, 201)
			apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-03"}, 201)
			if g, _, _ := w.quota(t, w.elder, "2026-02"); g != 20000 {
				t.Errorf("February, before the tag: %d, want 20000", g)
			}
			if g, _, _ := w.quota(t, w.elder, "2026-03"); g != 30000 {
				t.Errorf("March, aged and 失能: %d, want 30000", g)
			}
			if g, _, _ := w.quota(t, w.son, "2026-03"); g != -1 {
				t.Errorf("the son of 56 with 低保 was granted %d", g)
			}
		})
		t.Run("a new version starts only after the months already granted", func(t *testing.T) {
			for _, from := range []string{"2026-01", "2026-02", "2026-03"} {
				in := v1()
				in.FromMonth = from
				if st, body := officer.Do("POST", "/api/v1/care/entitlements/rules", in); st != 400 || !contains(body, "from_month") {
					t.Errorf("%s: %d %s", from, st, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_rules`); n != 1 {
				t.Fatalf("%d rules", n)
			}
		})
		t.Run("version 2 from May leaves April under version 1", func(t *testing.T) {
			v2 := v1()
			v2.FromMonth, v2.Name = "2026-05", "2026 年居家养老服务补贴（五月起）"
			v2.Tiers = []care.Tier{{Label: "高龄", AgeMin: 80, AmountFen: 26000}}
			if r := apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v2, 201); r.Version != 2 || r.Year != 2026 {
				t.Fatalf("%+v", r)
			}
			apr := apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-04"}, 201)
			may := apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-05"}, 201)
			if apr.Version != 1 || may.Version != 2 {
				t.Fatalf("April v%d, May v%d", apr.Version, may.Version)
			}
			// May: only the two aged 80+ (the elder and community B's), the
			// 失能 tier gone.
			if may.Residents != 2 || may.GrantedFen != 52000 {
				t.Fatalf("%+v", may)
			}
			if g, _, _ := w.quota(t, w.bed, "2026-05"); g != -1 {
				t.Fatalf("the 失能 resident got %d in May", g)
			}
		})
		t.Run("the versions are listed newest first", func(t *testing.T) {
			rs := apptest.JSON[[]care.Rule](t, officer, "GET", "/api/v1/care/entitlements/rules", nil, 200)
			if len(rs) != 2 || rs[0].Version != 2 || rs[1].Version != 1 || rs[0].FromMonth != "2026-05" {
				t.Fatalf("%+v", rs)
			}
		})
		t.Run("a new year has no rule until one is published for it", func(t *testing.T) {
			if st, body := officer.Do("POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2027-01"}); st != 400 || !contains(body, `"month"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_quota WHERE month = '2027-01'`); n != 0 {
				t.Fatalf("%d quotas written", n)
			}
		})
		t.Run("each month's run expires only what was left of the months before", func(t *testing.T) {
			// Every month before May is expired whole: nothing was used.
			if n := e.Count(`SELECT COUNT(*) FROM care_quota WHERE month < '2026-05' AND expired_fen <> granted_fen`); n != 0 {
				t.Fatalf("%d earlier months not expired", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_quota WHERE month = '2026-05' AND expired_fen <> 0`); n != 0 {
				t.Fatalf("%d of May's quotas expired", n)
			}
		})
	})
}

func TestQuotaLedgerInFen(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		serve := func(item string, minutes int) care.Order {
			t.Helper()
			o := w.orderCheckedIn(t, item)
			e.Clock.Add(time.Duration(minutes) * time.Minute)
			o = apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
			return apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
		}
		t.Run("three hours of 助洁 draw 150 yuan whole from the 200", func(t *testing.T) {
			o := serve(w.clean.ID, 180)
			if o.AmountFen != 15000 || o.SubsidyFen != 15000 || o.CopayFen != 0 {
				t.Fatalf("%+v", o)
			}
		})
		t.Run("37 minutes of 助洁 cost 3,083 fen, rounded to the fen, all subsidised", func(t *testing.T) {
			o := serve(w.clean.ID, 37)
			if o.Minutes != 37 || o.AmountFen != 3083 || o.SubsidyFen != 3083 || o.CopayFen != 0 {
				t.Fatalf("%+v", o)
			}
			if g, u, _ := w.quota(t, w.elder, "2026-11"); g != 20000 || u != 18083 {
				t.Fatalf("granted %d used %d", g, u)
			}
		})
		t.Run("a 助浴 beyond what is left draws the last 1,917 fen and the rest is the co-payment", func(t *testing.T) {
			o := serve(w.bath.ID, 30)
			if o.SubsidyFen != 1917 || o.CopayFen != 6083 || o.SubsidyFen+o.CopayFen != o.AmountFen {
				t.Fatalf("%+v", o)
			}
		})
		t.Run("with the quota spent the next service is paid whole and the quota stays at zero", func(t *testing.T) {
			o := serve(w.bath.ID, 30)
			if o.SubsidyFen != 0 || o.CopayFen != 8000 {
				t.Fatalf("%+v", o)
			}
			if g, u, x := w.quota(t, w.elder, "2026-11"); g != 20000 || u != 20000 || x != 0 {
				t.Fatalf("granted %d used %d expired %d", g, u, x)
			}
			es := apptest.JSON[[]care.Entitlement](t, e.Login("res.old"), "GET", "/api/v1/care/entitlements", nil, 200)
			if len(es) != 1 || es[0].LeftFen != 0 || es[0].UsedFen != 20000 {
				t.Fatalf("%+v", es)
			}
		})
		t.Run("a resident under no tier has no quota at all", func(t *testing.T) {
			if g, _, _ := w.quota(t, w.son, "2026-11"); g != -1 {
				t.Fatalf("the son has a quota: %d", g)
			}
		})
		t.Run("a service of November confirmed after December's grant finds November's rest expired", func(t *testing.T) {
			// 失能 resident: 300 yuan in November, nothing used.
			bed := e.Login("res.bed")
			o := apptest.JSON[care.Order](t, bed, "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T09:00"}, 201)
			apptest.JSON[care.Order](t, e.Login("prov.mgr"), "POST", "/api/v1/care/orders/"+o.ID+"/accept", nil, 200)
			apptest.JSON[care.Order](t, e.Login("prov.mgr"), "POST", "/api/v1/care/orders/"+o.ID+"/assign", care.AssignInput{StaffID: w.wang.ID}, 200)
			lon, lat := 120.141, 30.261
			apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-in", care.CheckInput{Lon: &lon, Lat: &lat}, 200)
			e.Clock.Add(45 * time.Minute)
			if s := apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200); s.Month != "2026-11" {
				t.Fatalf("%+v", s)
			}
			e.Clock.Set(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
			run := apptest.JSON[care.QuotaRun](t, e.Login("officer.county"), "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-12"}, 201)
			// November's rest: the 失能 30,000, 低保 10,000, 失能 till
			// August: none, community B's elder 20,000; the elder's is spent.
			if run.ExpiredFen != 60000 {
				t.Fatalf("%+v", run)
			}
			c := apptest.JSON[care.Order](t, e.Login("res.bed"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
			if c.SubsidyFen != 0 || c.CopayFen != 8000 {
				t.Fatalf("%+v", c)
			}
			if g, u, x := w.quota(t, w.bed, "2026-11"); g != 30000 || u != 0 || x != 30000 {
				t.Fatalf("November: %d %d %d", g, u, x)
			}
			if g, u, _ := w.quota(t, w.bed, "2026-12"); g != 30000 || u != 0 {
				t.Fatalf("December drawn for a November service: %d %d", g, u)
			}
		})
	})
}

func TestSettlementRefusals(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		served := func(item string, minutes int) care.Order {
			t.Helper()
			o := w.orderCheckedIn(t, item)
			e.Clock.Add(time.Duration(minutes) * time.Minute)
			return apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
		}
		confirm := func(o care.Order) care.Order {
			t.Helper()
			return apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
		}
		// Confirmed: 助浴 8,000 (subsidised) and 100 minutes of 助洁, 8,333
		// (12,000 left: subsidised). Served, not confirmed: one 助浴.
		// Disputed: one 助浴 in service.
		confirm(served(w.bath.ID, 50))
		confirm(served(w.clean.ID, 100))
		late := served(w.bath.ID, 20)
		d := w.orderCheckedIn(t, w.bath.ID)
		apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+d.ID+"/dispute", care.NoteInput{Note: "人没来"}, 200)
		e.Clock.Set(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
		var st care.Settlement
		t.Run("the draft holds the confirmed services only and counts the open dispute", func(t *testing.T) {
			st = apptest.JSON[care.Settlement](t, e.Login("officer.county"), "POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"}, 201)
			if st.Services != 2 || st.AmountFen != 16333 || st.SubsidyFen != 16333 || st.CopayFen != 0 || st.OpenDisputes != 1 {
				t.Fatalf("%+v", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_orders WHERE settlement_id = $1`, st.ID); n != 2 {
				t.Fatalf("%d orders in the settlement", n)
			}
		})
		t.Run("a provider's month is settled once, by its manager or the county alike", func(t *testing.T) {
			for _, u := range []string{"officer.county", "prov.mgr"} {
				if s, body := e.Login(u).Do("POST", "/api/v1/care/settlements", care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"}); s != 409 {
					t.Errorf("%s: %d %s", u, s, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM care_settlements`); n != 1 {
				t.Fatalf("%d settlements", n)
			}
		})
		t.Run("a service confirmed after the draft stays out of it, unsettled", func(t *testing.T) {
			e.Clock.Add(time.Hour)
			c := confirm(late)
			if c.SettlementID != "" || c.SubsidyFen != 3667 || c.CopayFen != 4333 {
				t.Fatalf("20,000 − 8,000 − 8,333 leaves 3,667: %+v", c)
			}
			got := apptest.JSON[care.Settlement](t, e.Login("officer.county"), "GET", "/api/v1/care/settlements/"+st.ID, nil, 200)
			if got.Services != 2 || got.AmountFen != 16333 {
				t.Fatalf("%+v", got)
			}
		})
		t.Run("a draft is neither approved nor paid before the community checks it; a worker of another community cannot check it", func(t *testing.T) {
			if s, _ := e.Login("officer.county").Do("POST", "/api/v1/care/settlements/"+st.ID+"/pay", care.PayInput{Reference: "GK-1"}); s != 409 {
				t.Errorf("paid a draft: %d", s)
			}
			if s, _ := e.Login("cw.b").Do("POST", "/api/v1/care/settlements/"+st.ID+"/check", nil); s != 404 {
				t.Errorf("community B checked it: %d", s)
			}
			if s, _ := e.Login("prov.mgr").Do("POST", "/api/v1/care/settlements/"+st.ID+"/check", nil); s != 403 {
				t.Errorf("the provider checked its own settlement: %d", s)
			}
			if got := apptest.JSON[care.Settlement](t, e.Login("officer.county"), "GET", "/api/v1/care/settlements/"+st.ID, nil, 200); got.Status != care.SettleDraft {
				t.Fatalf("%+v", got)
			}
		})
		t.Run("the statement is read with the project's xlsx reader and its rows add up to the totals", func(t *testing.T) {
			apptest.JSON[care.Settlement](t, e.Login("officer.town"), "POST", "/api/v1/care/settlements/"+st.ID+"/check", nil, 200)
			if s, _ := e.Login("officer.county").Do("GET", "/api/v1/care/settlements/"+st.ID+"/statement", nil); s != 409 {
				t.Errorf("a statement before the approval: %d", s)
			}
			apptest.JSON[care.Settlement](t, e.Login("officer.county"), "POST", "/api/v1/care/settlements/"+st.ID+"/approve", nil, 200)
			file, _, err := w.cs.Statement(as("officer.county", access.Officer, county), st.ID)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := tabular.Read(file)
			if err != nil {
				t.Fatal(err)
			}
			var sums [3]int64
			var services int
			var total []string
			for _, row := range tab.Rows {
				switch {
				case row[0] == "合计 Total":
					total = row
				case len(row[0]) == 32:
					services++
					for i := range sums {
						v, err := strconv.ParseFloat(row[7+i], 64)
						if err != nil {
							t.Fatalf("row %v: %v", row, err)
						}
						sums[i] += int64(math.Round(v * 100))
					}
				}
			}
			if services != 2 || total == nil {
				t.Fatalf("%d service rows, total %v:\n%v", services, total, tab.Rows)
			}
			for i, want := range []int64{16333, 16333, 0} {
				if v, err := strconv.ParseFloat(total[7+i], 64); err != nil || int64(math.Round(v*100)) != want || sums[i] != want {
					t.Errorf("column %s: rows add to %v, total %s, want %d fen", tab.Header[7+i], sums[i], total[7+i], want)
				}
			}
			if !strings.Contains(strings.Join(total, "|"), "2 次 services") {
				t.Errorf("total %v", total)
			}
		})
	})
}
