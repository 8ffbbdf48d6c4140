package care_test

import (
	"net/url"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/care"
	"linli/internal/tabular"
)

// refused posts body as user and wants status with the field named in the
// problem document, and no row more in table.
func refused(t *testing.T, e *apptest.Env, c *apptest.Client, path string, body any, status int, field, table string) {
	t.Helper()
	before := e.Count(`SELECT COUNT(*) FROM ` + table)
	st, text := c.Do("POST", path, body)
	if st != status || (field != "" && !strings.Contains(text, `"field":"`+field+`"`)) {
		t.Fatalf("%s: %d, want %d naming %q: %s", path, st, status, field, text)
	}
	if !strings.Contains(text, `"detail_en"`) {
		t.Fatalf("no bilingual message: %s", text)
	}
	if after := e.Count(`SELECT COUNT(*) FROM ` + table); after != before {
		t.Fatalf("%s: %d rows written", table, after-before)
	}
}

func TestBadInputNamesTheFieldAndWritesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer, townOfficer, cw, res := e.Login("officer.county"), e.Login("officer.town"), e.Login("cw.a"), e.Login("res.old")
		t.Run("items: a unit, a duration and a price outside the rules, and a township officer", func(t *testing.T) {
			good := care.ItemInput{County: county, Code: "walk", NameZH: "助行", Unit: care.UnitHour, MaxMinutes: 120, PriceFen: 3000}
			bad := good
			bad.Unit = "day"
			refused(t, e, officer, "/api/v1/care/items", bad, 400, "unit", "care_items")
			bad = good
			bad.MaxMinutes = 0
			refused(t, e, officer, "/api/v1/care/items", bad, 400, "max_minutes", "care_items")
			bad = good
			bad.PriceFen = -1
			refused(t, e, officer, "/api/v1/care/items", bad, 400, "price_fen", "care_items")
			refused(t, e, townOfficer, "/api/v1/care/items", good, 403, "", "care_items")
			bad = good
			bad.Code = "bath"
			refused(t, e, officer, "/api/v1/care/items", bad, 409, "", "care_items")
		})
		t.Run("providers: a contract ending before it starts, a community of another county, an unknown organisation", func(t *testing.T) {
			good := care.ProviderInput{OrgID: w.p.OrgID, County: county, ContractNo: "XH-2026-009", ContractFrom: "2026-01-01", ContractTo: "2026-12-31",
				Communities: []string{communityA}, Items: []string{w.bath.ID}}
			bad := good
			bad.ContractTo = "2025-12-31"
			refused(t, e, officer, "/api/v1/care/providers", bad, 400, "contract_to", "care_providers")
			bad = good
			bad.Communities = []string{"330102001001"}
			refused(t, e, officer, "/api/v1/care/providers", bad, 400, "communities", "care_providers")
			bad = good
			bad.OrgID = "nope"
			refused(t, e, officer, "/api/v1/care/providers", bad, 400, "org_id", "care_providers")
			bad = good
			bad.Items = []string{"nope"}
			refused(t, e, officer, "/api/v1/care/providers", bad, 400, "items", "care_provider_areas")
		})
		t.Run("staff: only a provider account, once, and a manager adds only its own organisation's people", func(t *testing.T) {
			refused(t, e, officer, "/api/v1/care/providers/"+w.q.ID+"/staff", care.StaffInput{Username: "cw.a"}, 400, "username", "care_staff")
			refused(t, e, officer, "/api/v1/care/providers/"+w.q.ID+"/staff", care.StaffInput{Username: "staff.wang"}, 409, "", "care_staff")
			refused(t, e, e.Login("prov.mgr"), "/api/v1/care/providers/"+w.q.ID+"/staff", care.StaffInput{Username: "prov2.mgr"}, 403, "", "care_staff")
			refused(t, e, e.Login("prov2.mgr"), "/api/v1/care/providers/"+w.q.ID+"/staff", care.StaffInput{PersonnelID: w.wang.PersonnelID}, 400, "personnel_id", "care_staff")
		})
		t.Run("rules: a tier without a condition, a bad tag, a bad month", func(t *testing.T) {
			in := v1()
			in.Tiers = append(in.Tiers, care.Tier{Label: "任何人", AmountFen: 100})
			refused(t, e, officer, "/api/v1/care/entitlements/rules", in, 400, "tiers[3]", "care_rules")
			in = v1()
			in.Tiers[1].Tags = []string{"失能 OR 1=1"}
			refused(t, e, officer, "/api/v1/care/entitlements/rules", in, 400, "tiers[1].tags", "care_rules")
			in = v1()
			in.FromMonth = "2026-13"
			refused(t, e, officer, "/api/v1/care/entitlements/rules", in, 400, "from_month", "care_rules")
			refused(t, e, cw, "/api/v1/care/entitlements/rules", v1(), 403, "", "care_rules")
		})
		t.Run("orders: a resident outside the worker's community, a family not one's own, an item not served, a bad time", func(t *testing.T) {
			in := care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T09:00"}
			in.ResidentID = w.other
			refused(t, e, cw, "/api/v1/care/orders", in, 400, "resident_id", "care_orders")
			in.ResidentID = w.bed
			refused(t, e, res, "/api/v1/care/orders", in, 400, "resident_id", "care_orders")
			in.ResidentID = ""
			in.WantedAt = "tomorrow"
			refused(t, e, res, "/api/v1/care/orders", in, 400, "wanted_at", "care_orders")
			in = care.OrderInput{ProviderID: w.q.ID, ItemID: w.clean.ID, WantedAt: "2026-11-30T09:00"}
			refused(t, e, e.Login("res.b"), "/api/v1/care/orders", in, 400, "item_id", "care_orders")
			refused(t, e, e.Login("prov.mgr"), "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T09:00", ResidentID: w.elder}, 403, "", "care_orders")
		})
		t.Run("a community worker orders on a resident's behalf, and the son confirms for his mother", func(t *testing.T) {
			o := apptest.JSON[care.Order](t, cw, "POST", "/api/v1/care/orders", care.OrderInput{ResidentID: w.bed, ProviderID: w.p.ID, ItemID: w.clean.ID, WantedAt: "2026-11-30T14:00"}, 201)
			if o.OrderedBy != "cw.a" || o.ResidentID != w.bed {
				t.Fatalf("%+v", o)
			}
			if st, _ := res.Do("GET", "/api/v1/care/orders/"+o.ID, nil); st != 404 {
				t.Fatalf("another household read the order: %d", st)
			}
			if got := apptest.JSON[care.Order](t, e.Login("res.bed"), "GET", "/api/v1/care/orders/"+o.ID, nil, 200); got.ID != o.ID {
				t.Fatalf("%+v", got)
			}
		})
		t.Run("a check-in needs both coordinates, inside China; a rating and a dispute need their fields", func(t *testing.T) {
			o := apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-11-30T10:00"}, 201)
			mgr := e.Login("prov.mgr")
			apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+o.ID+"/accept", nil, 200)
			refused(t, e, mgr, "/api/v1/care/orders/"+o.ID+"/assign", care.AssignInput{StaffID: "nope"}, 400, "staff_id", "care_order_events")
			apptest.JSON[care.Order](t, mgr, "POST", "/api/v1/care/orders/"+o.ID+"/assign", care.AssignInput{StaffID: w.wang.ID}, 200)
			staff := e.Login("staff.wang")
			lon, lat := 120.14, 0.0
			refused(t, e, staff, "/api/v1/care/orders/"+o.ID+"/check-in", care.CheckInput{Lon: &lon}, 400, "lat", "care_order_events")
			refused(t, e, staff, "/api/v1/care/orders/"+o.ID+"/check-in", care.CheckInput{Lon: &lon, Lat: &lat}, 400, "lon", "care_order_events")
			refused(t, e, mgr, "/api/v1/care/orders/"+o.ID+"/check-in", nil, 403, "", "care_order_events")
			refused(t, e, res, "/api/v1/care/orders/"+o.ID+"/dispute", care.NoteInput{}, 400, "note", "care_order_events")
			refused(t, e, res, "/api/v1/care/orders/"+o.ID+"/confirm", nil, 409, "", "care_order_events")
			refused(t, e, mgr, "/api/v1/care/orders/"+o.ID+"/resolve", care.NoteInput{Outcome: "redo"}, 409, "", "care_order_events")
			refused(t, e, mgr, "/api/v1/care/orders/"+o.ID+"/resolve", care.NoteInput{Outcome: "maybe"}, 400, "outcome", "care_order_events")
		})
		t.Run("every change is audited", func(t *testing.T) {
			for _, action := range []string{"care.item.create", "care.provider.create", "care.staff.add", "care.order.create", "care.order.accepted", "care.order.assigned"} {
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action); n == 0 {
					t.Errorf("no %s in the audit log", action)
				}
			}
		})
	})
}

func TestOrderListPagesByKeyAndScopes(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		res := e.Login("res.old")
		var ids []string
		for i := range 5 {
			o := apptest.JSON[care.Order](t, res, "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.p.ID, ItemID: w.bath.ID, WantedAt: "2026-12-0" + string(rune('1'+i)) + "T09:00"}, 201)
			ids = append(ids, o.ID)
			e.Clock.Add(1)
		}
		apptest.JSON[care.Order](t, e.Login("res.b"), "POST", "/api/v1/care/orders", care.OrderInput{ProviderID: w.q.ID, ItemID: w.bath.ID, WantedAt: "2026-12-01T09:00"}, 201)
		t.Run("the provider's manager pages its five orders two at a time, newest first", func(t *testing.T) {
			mgr := e.Login("prov.mgr")
			var got []string
			path := "/api/v1/care/orders?page_size=2"
			for range 5 {
				pg := apptest.JSON[care.OrderPage](t, mgr, "GET", path, nil, 200)
				for _, o := range pg.Items {
					got = append(got, o.ID)
				}
				if pg.Next == "" {
					break
				}
				path = "/api/v1/care/orders?page_size=2&cursor=" + url.QueryEscape(pg.Next)
			}
			if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
				t.Fatalf("%v, want %v reversed", got, ids)
			}
		})
		t.Run("a tampered cursor is refused, naming it", func(t *testing.T) {
			if st, body := e.Login("prov.mgr").Do("GET", "/api/v1/care/orders?cursor=abc", nil); st != 400 || !strings.Contains(body, "cursor") {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a care worker sees only the orders assigned to them", func(t *testing.T) {
			if pg := apptest.JSON[care.OrderPage](t, e.Login("staff.wang"), "GET", "/api/v1/care/orders", nil, 200); len(pg.Items) != 0 {
				t.Fatalf("%+v", pg.Items)
			}
		})
		t.Run("community workers, the township and the county see their area's orders", func(t *testing.T) {
			for user, want := range map[string]int{"cw.a": 5, "cw.b": 1, "officer.town": 5, "officer.county": 6} {
				if pg := apptest.JSON[care.OrderPage](t, e.Login(user), "GET", "/api/v1/care/orders?page_size=50", nil, 200); len(pg.Items) != want {
					t.Errorf("%s sees %d orders, want %d", user, len(pg.Items), want)
				}
			}
		})
		t.Run("a resident sees the providers serving their community only", func(t *testing.T) {
			prs := apptest.JSON[[]care.Provider](t, e.Login("res.b"), "GET", "/api/v1/care/providers", nil, 200)
			if len(prs) != 1 || prs[0].ID != w.q.ID {
				t.Fatalf("%+v", prs)
			}
		})
		t.Run("the status filter narrows, and an unknown status names the field", func(t *testing.T) {
			if pg := apptest.JSON[care.OrderPage](t, e.Login("cw.a"), "GET", "/api/v1/care/orders?status=confirmed", nil, 200); len(pg.Items) != 0 {
				t.Fatalf("%+v", pg.Items)
			}
			if st, body := e.Login("cw.a").Do("GET", "/api/v1/care/orders?status=done", nil); st != 400 || !strings.Contains(body, `"status"`) {
				t.Fatalf("%d %s", st, body)
			}
		})
	})
}

// The approved statement is an xlsx whose totals are the settlement's,
// with a row per service and residents by surname only.
func TestStatementHoldsTheTotalsAndTheServices(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		o := w.orderCheckedIn(t, w.bath.ID)
		apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
		apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
		e.Clock.Add(5 * 24 * 3600 * 1e9)
		officer := as("officer.county", access.Officer, county)
		st, err := w.cs.Draft(officer, care.SettlementInput{ProviderID: w.p.ID, Month: "2026-11"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.cs.Check(as("officer.town", access.Officer, townA), st.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.cs.Approve(officer, st.ID); err != nil {
			t.Fatal(err)
		}
		file, got, err := w.cs.Statement(officer, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := tabular.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(tab.Header, "|")
		for _, row := range tab.Rows {
			text += "\n" + strings.Join(row, "|")
		}
		// No quota was granted: the whole 80 yuan is the co-payment.
		for _, want := range []string{o.ID + "|" + communityA + "|张**|助浴|", "|1|80|0|80", "合计 Total|2026-11|安康居家养老服务有限公司|1 次 services||||80|0|80", "未结异议 Open disputes|||0"} {
			if !strings.Contains(text, want) {
				t.Errorf("the statement lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "居民甲") || got.SHA256 == "" {
			t.Errorf("a full name, or no hash:\n%s", text)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'care.settlement.statement'`); n != 1 {
			t.Errorf("%d statement reads audited", n)
		}
	})
}
