package deliberation_test

import (
	"testing"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// The 村(居)务公开 board: windows, a financial statement that must add
// up, acknowledgement once per household, and a public board that shows
// only current notices.
func TestNoticeBoard(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		today := e.Clock.Now().In(cst).Format("2006-01-02")
		yesterday := e.Clock.Now().In(cst).AddDate(0, 0, -1).Format("2006-01-02")
		lastWeek := e.Clock.Now().In(cst).AddDate(0, 0, -7).Format("2006-01-02")
		nextWeek := e.Clock.Now().In(cst).AddDate(0, 0, 7).Format("2006-01-02")
		res1, res2, resB := e.Login("res.1"), e.Login("res.2"), e.Login("res.b")
		lines := []deliberation.AmountRow{{Kind: "income", Item: "停车费", Amount: 1250000}, {Kind: "expense", Item: "保洁", Amount: 800000}, {Kind: "expense", Item: "绿化", Amount: 150050}}
		var statement, policy deliberation.Notice

		t.Run("a financial statement whose total does not equal its lines is refused naming total, nothing written", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "finance", Title: "11 月收支", From: today, Period: "2026-11", Lines: lines, Total: 300000}, 400, "total")
			refused(t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "finance", Title: "11 月收支", From: today, Period: "2026-11",
				Lines: []deliberation.AmountRow{{Kind: "gift", Item: "x", Amount: 0}}}, 400, "lines[0].kind")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_notices`) + e.Count(`SELECT COUNT(*) FROM dlb_notice_lines`); n != 0 {
				t.Fatalf("%d rows written", n)
			}
		})
		t.Run("a notice whose window ends before it starts is refused naming publish_until", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "policy", Title: "补贴", Body: "x", From: today, Until: yesterday}, 400, "publish_until")
			refused(t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "news", Title: "x", Body: "x", From: today}, 400, "category")
			refused(t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityB, Category: "policy", Title: "x", Body: "x", From: today}, 400, "division_code")
			refused(t, res1, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "policy", Title: "x", Body: "x", From: today}, 403, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_notices`); n != 0 {
				t.Fatalf("%d notices written", n)
			}
		})
		t.Run("a statement that adds up is published with its lines", func(t *testing.T) {
			statement = apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "finance", Title: "11 月收支", From: today, Period: "2026-11", Lines: lines, Total: 299950}, 201)
			if len(statement.Lines) != 3 || statement.Income() != 1250000 || statement.Expense() != 950050 || statement.Until != "" {
				t.Fatalf("statement %+v", statement)
			}
			if deliberation.Yuan(statement.Total) != "2999.50" {
				t.Fatalf("yuan %s", deliberation.Yuan(statement.Total))
			}
		})
		t.Run("the public board shows only current notices; expired ones are in the archive, future ones nowhere", func(t *testing.T) {
			policy = apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "policy", Title: "高龄津贴申领", Body: "80 岁以上老人可申领", From: today, Until: nextWeek, AckRequired: true}, 201)
			old := apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "affairs", Title: "上周停水通知", Body: "已结束", From: lastWeek, Until: yesterday}, 201)
			future := apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "guide", Title: "下周起办事指南", Body: "x", From: nextWeek}, 201)
			anon := e.Client()
			pg := apptest.JSON[deliberation.NoticePage](t, anon, "GET", "/api/v1/notices-board?division_code="+communityA, nil, 200)
			ids := map[string]bool{}
			for _, n := range pg.Items {
				ids[n.ID] = true
			}
			if len(pg.Items) != 2 || !ids[statement.ID] || !ids[policy.ID] {
				t.Fatalf("current board %+v", pg.Items)
			}
			ar := apptest.JSON[deliberation.NoticePage](t, anon, "GET", "/api/v1/notices-board?archive=1&division_code="+communityA, nil, 200)
			if len(ar.Items) != 1 || ar.Items[0].ID != old.ID {
				t.Fatalf("archive %+v", ar.Items)
			}
			refused(t, anon, "GET", "/api/v1/notices-board/"+future.ID, nil, 404, "")
			apptest.JSON[deliberation.Notice](t, h.cw, "GET", "/api/v1/notices-board/"+future.ID, nil, 200)
			refused(t, anon, "GET", "/api/v1/notices-board", nil, 400, "division_code")
			refused(t, anon, "GET", "/api/v1/notices-board/x", nil, 400, "id")
			st, body, _ := anon.Get("/notices/" + communityA)
			if st != 200 || !contains(body, "高龄津贴申领") || !contains(body, "11 月收支") || contains(body, "上周停水通知") || contains(body, "下周起办事指南") {
				t.Fatalf("public page %d", st)
			}
		})
		t.Run("a household acknowledges a notice once; a statement needs none, another community's resident may not", func(t *testing.T) {
			ack := "/api/v1/notices-board/" + policy.ID + "/acknowledgements"
			n := apptest.JSON[deliberation.Notice](t, res1, "POST", ack, nil, 201)
			if n.Acks != 1 || !n.Acked {
				t.Fatalf("after ack %+v", n)
			}
			refused(t, res1, "POST", ack, nil, 409, "")
			refused(t, resB, "POST", ack, nil, 403, "")
			refused(t, res2, "POST", "/api/v1/notices-board/"+statement.ID+"/acknowledgements", nil, 409, "")
			if n := apptest.JSON[deliberation.Notice](t, res2, "POST", ack, nil, 201); n.Acks != 2 {
				t.Fatalf("acks %d, want 2", n.Acks)
			}
		})
		t.Run("the printable view of the statement shows its table and total", func(t *testing.T) {
			st, body, _ := e.Client().Get("/notices/" + communityA + "/" + statement.ID)
			if st != 200 || !contains(body, "12500.00") || !contains(body, "2999.50") || !contains(body, "<table") {
				t.Fatalf("print view %d", st)
			}
		})
	})
}

// The board's pages: a worker publishes a statement through the form
// (amounts in yuan), a bad total shows the form again naming it, and a
// resident acknowledges by button.
func TestNoticePages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		today := e.Clock.Now().In(cst).Format("2006-01-02")
		form := map[string]string{"division_code": communityA, "category": "finance", "title": "10 月收支", "publish_from": today, "period": "2026-10",
			"kind_0": "income", "item_0": "停车费", "amount_0": "1200.50", "kind_1": "expense", "item_1": "保洁", "amount_1": "200", "total": "1000"}
		t.Run("a total that does not match the lines shows the form again naming total, nothing written", func(t *testing.T) {
			if st, _, _ := h.cw.Get("/deliberation/notices/new?division_code=" + communityA); st != 200 {
				t.Fatalf("form %d", st)
			}
			st, body, _ := h.cw.Form("/deliberation/notices/new", form, nil)
			if st != 400 || !contains(body, `href="#f-total"`) || !contains(body, "1200.50") {
				t.Fatalf("%d %.600s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_notices`); n != 0 {
				t.Fatalf("%d notices", n)
			}
		})
		var loc string
		t.Run("a statement that adds up is published and printable", func(t *testing.T) {
			form["total"] = "1000.50"
			st, body, hdr := h.cw.Form("/deliberation/notices/new", form, nil)
			if st != 303 {
				t.Fatalf("%d %.600s", st, body)
			}
			loc = hdr.Get("Location")
			st, body, _ = e.Client().Get(loc)
			if st != 200 || !contains(body, `id="statement"`) || !contains(body, "1000.50") || !contains(body, "1200.50") {
				t.Fatalf("print view %d", st)
			}
		})
		t.Run("a resident acknowledges a notice that asks for it, once", func(t *testing.T) {
			n := apptest.JSON[deliberation.Notice](t, h.cw, "POST", "/api/v1/notices-board", deliberation.NoticeInput{Division: communityA, Category: "affairs", Title: "换届选举公告", Body: "请各户知悉", From: today, AckRequired: true}, 201)
			res1 := e.Login("res.1")
			path := "/notices/" + communityA + "/" + n.ID
			if _, body, _ := res1.Get(path); !contains(body, `id="ack"`) {
				t.Fatal("no acknowledge button")
			}
			if st, _, _ := res1.Form(path+"/ack", nil, nil); st != 303 {
				t.Fatalf("ack %d", st)
			}
			if _, body, _ := res1.Get(path); contains(body, `id="ack"`) || !contains(body, "您家已确认") {
				t.Fatal("the button stays after acknowledging")
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_notice_acks`); n != 1 {
				t.Fatalf("acks %d", n)
			}
		})
	})
}
