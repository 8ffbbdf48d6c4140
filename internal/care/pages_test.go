package care_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/care"
)

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

// The loop through the pages, as phones without JavaScript post them.
func TestPagesOrderToSettlement(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.county")
		apptest.JSON[care.Rule](t, officer, "POST", "/api/v1/care/entitlements/rules", v1(), 201)
		apptest.JSON[care.QuotaRun](t, officer, "POST", "/api/v1/care/entitlements/runs", care.RunInput{County: county, Month: "2026-11"}, 201)
		res, mgr, staff := e.Login("res.old"), e.Login("prov.mgr"), e.Login("staff.wang")
		var orderPath string
		t.Run("the provider's start page is its workspace, empty at first", func(t *testing.T) {
			st, _, hdr := mgr.Get("/")
			if st != 303 || hdr.Get("Location") != "/care" {
				t.Fatalf("%d %q", st, hdr.Get("Location"))
			}
			_, body, _ := mgr.Get("/care")
			for _, want := range []string{"安康居家养老服务有限公司", "暂无订单", "王**", "staff.wang"} {
				if !strings.Contains(body, want) {
					t.Fatalf("the workspace lacks %q:\n%s", want, body)
				}
			}
		})
		t.Run("the resident sees the quota and orders 助浴 from the form; a bad time names the field", func(t *testing.T) {
			_, page, _ := res.Get("/care/mine")
			if !strings.Contains(page, "¥200.00") || !strings.Contains(page, "助浴") {
				t.Fatalf("%s", page)
			}
			offer := w.p.ID + "/" + w.bath.ID
			if st, body, _ := res.Form("/care/mine", map[string]string{"offer": offer, "wanted_at": "明天"}, sameOrigin); st != 400 || !strings.Contains(body, `href="#f-wanted_at"`) {
				t.Fatalf("%d %s", st, body)
			}
			if st, _, hdr := res.Form("/care/mine", map[string]string{"offer": offer, "wanted_at": "2026-11-30T09:00"}, sameOrigin); st != 303 || hdr.Get("Location") != "/care/mine?ordered=1" {
				t.Fatalf("%d %q", st, hdr.Get("Location"))
			}
			_, page, _ = res.Get("/care/mine?ordered=1")
			m := regexp.MustCompile(`href="(/care/orders/[0-9a-f]+)"`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("%s", page)
			}
			orderPath = m[1]
		})
		step := func(t *testing.T, c *apptest.Client, action string, vals map[string]string) string {
			t.Helper()
			st, body, hdr := c.Form(orderPath+"/"+action, vals, sameOrigin)
			if st != 303 {
				t.Fatalf("%s: %d %s", action, st, body)
			}
			_, page, _ := c.Get(hdr.Get("Location"))
			return page
		}
		t.Run("the provider accepts and assigns, the staff member checks in and out", func(t *testing.T) {
			if page := step(t, mgr, "accept", nil); !strings.Contains(page, `name="staff_id"`) {
				t.Fatalf("%s", page)
			}
			step(t, mgr, "assign", map[string]string{"staff_id": w.wang.ID})
			_, page, _ := staff.Get(orderPath)
			if !strings.Contains(page, `id="check-in"`) {
				t.Fatalf("%s", page)
			}
			if st, body, _ := staff.Form(orderPath+"/check-in", map[string]string{"lon": "121.47", "lat": "31.23"}, sameOrigin); st != 400 || !strings.Contains(body, `href="#f-lon"`) {
				t.Fatalf("%d %s", st, body)
			}
			if page := step(t, staff, "check-in", map[string]string{"lon": "120.1405", "lat": "30.2605"}); !strings.Contains(page, `id="check-out"`) {
				t.Fatalf("%s", page)
			}
			step(t, staff, "check-out", nil)
		})
		t.Run("the resident confirms and rates", func(t *testing.T) {
			if page := step(t, res, "confirm", nil); !strings.Contains(page, "补贴 ¥80.00") || !strings.Contains(page, `id="rate"`) {
				t.Fatalf("%s", page)
			}
			if page := step(t, res, "rate", map[string]string{"rating": "5"}); !strings.Contains(page, "5★") {
				t.Fatalf("%s", page)
			}
		})
		t.Run("the provider's workspace lists the order and the rating", func(t *testing.T) {
			_, body, _ := mgr.Get("/care")
			if !strings.Contains(body, orderPath) || !strings.Contains(body, "已确认") || !strings.Contains(body, "5 / 5") {
				t.Fatalf("%s", body)
			}
		})
	})
}

// A month's settlement through the pages: the provider drafts it, the
// township checks, the county approves (the statement's link and hash
// appear) and marks it paid; a missing reference names its field.
func TestPagesSettleAMonth(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		o := w.orderCheckedIn(t, w.bath.ID)
		apptest.JSON[care.Order](t, e.Login("staff.wang"), "POST", "/api/v1/care/orders/"+o.ID+"/check-out", nil, 200)
		apptest.JSON[care.Order](t, e.Login("res.old"), "POST", "/api/v1/care/orders/"+o.ID+"/confirm", nil, 200)
		e.Clock.Add(5 * 24 * time.Hour)
		mgr := e.Login("prov.mgr")
		if st, body, _ := mgr.Form("/care/settlements", map[string]string{"provider_id": w.p.ID, "month": "2026-13"}, sameOrigin); st != 400 || !strings.Contains(body, `href="#f-month"`) {
			t.Fatalf("%d %s", st, body)
		}
		st, _, hdr := mgr.Form("/care/settlements", map[string]string{"provider_id": w.p.ID, "month": "2026-11"}, sameOrigin)
		path := hdr.Get("Location")
		if st != 303 || !strings.HasPrefix(path, "/care/settlements/") {
			t.Fatalf("%d %q", st, path)
		}
		for _, step := range []struct{ user, action string }{{"officer.town", "check"}, {"officer.county", "approve"}} {
			if st, body, _ := e.Login(step.user).Form(path+"/"+step.action, nil, sameOrigin); st != 303 {
				t.Fatalf("%s: %d %s", step.action, st, body)
			}
		}
		county := e.Login("officer.county")
		_, page, _ := county.Get(path)
		if !strings.Contains(page, "statement.xlsx") || !strings.Contains(page, "SHA-256") || !strings.Contains(page, `id="pay"`) {
			t.Fatalf("%s", page)
		}
		if st, body, _ := county.Form(path+"/pay", map[string]string{"reference": ""}, sameOrigin); st != 400 || !strings.Contains(body, `href="#f-reference"`) {
			t.Fatalf("%d %s", st, body)
		}
		if st, _, _ := county.Form(path+"/pay", map[string]string{"reference": "GK-1"}, sameOrigin); st != 303 {
			t.Fatalf("pay: %d", st)
		}
		if _, page, _ = county.Get(path); !strings.Contains(page, "已支付") || !strings.Contains(page, "GK-1") {
			t.Fatalf("%s", page)
		}
	})
}
