package emergency_test

import (
	"strings"
	"sync"
	"testing"

	"linli/internal/apptest"
	"linli/internal/emergency"
)

// Emergency supplies: batches per place with a minimum and an expiry,
// changed only by movements that never take the stock below zero.
func TestSuppliesAreKeptByMovementsThatNeverGoBelowZero(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		newTown(t, e)
		cw := e.Login("cw.a")
		sumOfMoves := func(id string) int {
			return e.Count(`SELECT COALESCE(SUM(delta), 0) FROM em_stock_moves WHERE item_id = $1`, id)
		}
		var jackets, water emergency.StockItem

		t.Run("a community worker records batches; the list flags the one below its minimum and the one expiring", func(t *testing.T) {
			jackets = apptest.JSON[emergency.StockItem](t, cw, "POST", "/api/v1/emergency/stock",
				emergency.StockInput{Place: "社区应急仓库", Name: "救生衣", Unit: "件", Quantity: 20, Minimum: 10}, 201)
			water = apptest.JSON[emergency.StockItem](t, cw, "POST", "/api/v1/emergency/stock",
				emergency.StockInput{Place: "社区应急仓库", Name: "瓶装饮用水", Unit: "箱", Quantity: 5, Minimum: 8, ExpiresOn: "2026-12-20"}, 201)
			if jackets.Division != communityA || jackets.Low || water.Expiring != "soon" || !water.Low || sumOfMoves(jackets.ID) != 20 {
				t.Fatalf("%+v %+v", jackets, water)
			}
			low := apptest.JSON[emergency.StockPage](t, cw, "GET", "/api/v1/emergency/stock?show=low", nil, 200)
			exp := apptest.JSON[emergency.StockPage](t, cw, "GET", "/api/v1/emergency/stock?show=expiring", nil, 200)
			if len(low.Items) != 1 || low.Items[0].ID != water.ID || len(exp.Items) != 1 || exp.Items[0].ID != water.ID {
				t.Fatalf("low %+v, expiring %+v", low.Items, exp.Items)
			}
		})
		t.Run("bad batches are refused naming each field, and nothing is written", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM em_stock`)
			st, body := cw.Do("POST", "/api/v1/emergency/stock", emergency.StockInput{Division: communityB, Place: "", Name: "", Unit: "件", Quantity: -1, Minimum: 0, ExpiresOn: "明年"})
			for _, f := range []string{`"division"`, `"place"`, `"name"`, `"quantity"`, `"expires_on"`} {
				if st != 400 || !strings.Contains(body, f) {
					t.Fatalf("%d lacks %s: %s", st, f, body)
				}
			}
			st, body = cw.Do("POST", "/api/v1/emergency/stock", emergency.StockInput{Place: "社区应急仓库", Name: "救生衣", Unit: "件", Quantity: 3})
			if st != 409 {
				t.Fatalf("the same batch twice: %d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_stock`); n != before {
				t.Fatalf("%d batches, was %d", n, before)
			}
		})
		t.Run("taking out more than is kept is refused and changes nothing", func(t *testing.T) {
			st, body := cw.Do("POST", "/api/v1/emergency/stock/"+jackets.ID+"/moves", emergency.MoveInput{Delta: -21, Reason: "发放"})
			if st != 400 || !strings.Contains(body, `"delta"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, body = cw.Do("POST", "/api/v1/emergency/stock/"+jackets.ID+"/moves", emergency.MoveInput{Delta: -1})
			if st != 400 || !strings.Contains(body, `"reason"`) {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT quantity FROM em_stock WHERE id = $1`, jackets.ID); n != 20 || sumOfMoves(jackets.ID) != 20 {
				t.Fatalf("quantity %d", n)
			}
		})
		t.Run("ten workers taking out three each at once: six succeed, two are left, and the movements add up", func(t *testing.T) {
			var wg sync.WaitGroup
			codes := make([]int, 10)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = cw.Do("POST", "/api/v1/emergency/stock/"+jackets.ID+"/moves", emergency.MoveInput{Delta: -3, Reason: "发放给转移群众"})
				}()
			}
			wg.Wait()
			ok := 0
			for _, c := range codes {
				switch c {
				case 200:
					ok++
				case 400:
				default:
					t.Fatalf("codes %v", codes)
				}
			}
			if q := e.Count(`SELECT quantity FROM em_stock WHERE id = $1`, jackets.ID); ok != 6 || q != 2 || sumOfMoves(jackets.ID) != 2 {
				t.Fatalf("%d succeeded, %d left, moves sum to %d", ok, q, sumOfMoves(jackets.ID))
			}
		})
		t.Run("a grid worker reads but does not write; another community and a resident see nothing", func(t *testing.T) {
			gw := e.Login("gw.1")
			if pg := apptest.JSON[emergency.StockPage](t, gw, "GET", "/api/v1/emergency/stock", nil, 200); len(pg.Items) != 2 {
				t.Fatalf("%+v", pg)
			}
			if st, _ := gw.Do("POST", "/api/v1/emergency/stock/"+jackets.ID+"/moves", emergency.MoveInput{Delta: 1, Reason: "x"}); st != 403 {
				t.Fatalf("%d", st)
			}
			if pg := apptest.JSON[emergency.StockPage](t, e.Login("cw.b"), "GET", "/api/v1/emergency/stock", nil, 200); len(pg.Items) != 0 {
				t.Fatalf("%+v", pg)
			}
			if st, _ := e.Login("cw.b").Do("POST", "/api/v1/emergency/stock/"+jackets.ID+"/moves", emergency.MoveInput{Delta: 1, Reason: "x"}); st != 404 {
				t.Fatalf("%d", st)
			}
			if st, _, _ := e.Login("res.a").Get("/emergency/stock"); st != 403 {
				t.Fatalf("%d", st)
			}
		})
		t.Run("the pages record a batch and a movement without JavaScript, keeping what was typed on an error", func(t *testing.T) {
			st, body, _ := cw.Form("/emergency/stock/new", map[string]string{"place": "上保社区避难场所", "unit": "顶", "quantity": "8", "minimum": "5"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-name"`) || !strings.Contains(body, `value="上保社区避难场所"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, _, hdr := cw.Form("/emergency/stock/new", map[string]string{"name": "帐篷", "place": "上保社区避难场所", "unit": "顶", "quantity": "8", "minimum": "5"}, sameOrigin)
			if st != 303 || hdr.Get("Location") != "/emergency/stock?done=1" {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			_, page, _ := cw.Get("/emergency/stock?done=1")
			if !strings.Contains(page, "帐篷") || !strings.Contains(page, `id="done"`) || !strings.Contains(page, "低于最低库存") {
				t.Fatalf("%s", page)
			}
			st, body, _ = cw.Form("/emergency/stock/"+water.ID, map[string]string{"direction": "out", "quantity": "6", "reason": "发放"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-quantity"`) {
				t.Fatalf("%d %s", st, body)
			}
			st, _, _ = cw.Form("/emergency/stock/"+water.ID, map[string]string{"direction": "in", "quantity": "10", "reason": "采购"}, sameOrigin)
			if q := e.Count(`SELECT quantity FROM em_stock WHERE id = $1`, water.ID); st != 303 || q != 15 {
				t.Fatalf("%d, quantity %d", st, q)
			}
		})
	})
}
