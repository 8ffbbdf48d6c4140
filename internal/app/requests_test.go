package app_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/dbtest"
	"linli/internal/requests"
)

// rqStore is the requests store the app mounted.
func rqStore(e *apptest.Env) *requests.Store {
	a := e.App
	return requests.StoreOf(a.Module("requests"))
}

type rqView struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	Status      string `json:"status"`
	Version     int    `json:"version"`
	Unit        string `json:"unit_code"`
	Division    string `json:"division_code"`
	MergedInto  string `json:"merged_into"`
	Reply       string `json:"reply"`
	ReopenCount int    `json:"reopen_count"`
	ReturnCount int    `json:"return_count"`
	Escalation  int    `json:"escalation_level"`
	ResponseDue string `json:"response_due"`
	ResolveDue  string `json:"resolve_due"`
	Events      []struct {
		Action string `json:"action"`
		Actor  string `json:"actor"`
		To     string `json:"to_status"`
	} `json:"events"`
	Duplicates []rqView `json:"duplicates"`
}

// rqSubmit posts a request and fails the test unless it is created.
func rqSubmit(t *testing.T, c *apptest.Client, body map[string]any) rqView {
	t.Helper()
	return apptest.JSON[rqView](t, c, "POST", "/api/v1/requests", body, 201)
}

// rqAct takes an action and checks the status code.
func rqAct(t *testing.T, c *apptest.Client, id, action string, body map[string]any, want int) rqView {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if want == 200 {
		return apptest.JSON[rqView](t, c, "POST", "/api/v1/requests/"+id+"/"+action, body, want)
	}
	if st, b := c.Do("POST", "/api/v1/requests/"+id+"/"+action, body); st != want {
		t.Fatalf("%s: got %d want %d: %s", action, st, want, b)
	}
	return rqView{}
}

func rqGet(t *testing.T, c *apptest.Client, id string) rqView {
	t.Helper()
	return apptest.JSON[rqView](t, c, "GET", "/api/v1/requests/"+id, nil, 200)
}

func rqSetup(e *apptest.Env) {
	e.User("res1", access.Resident, apptest.CommunityA)
	e.User("res2", access.Resident, apptest.CommunityA)
	e.User("workerA", access.CommunityWorker, apptest.CommunityA)
	e.User("workerA2", access.CommunityWorker, apptest.CommunityA)
	e.User("workerB", access.CommunityWorker, apptest.CommunityB)
	e.User("street", access.Officer, apptest.CommunityA[:9])
	e.User("countyOfficer", access.Officer, apptest.County)
}

func TestRequestLifecycle(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		res, wa, wb, street := e.Login("res1"), e.Login("workerA"), e.Login("workerB"), e.Login("street")
		r := rqSubmit(t, res, map[string]any{"category": "repair", "description": "12幢门口路灯坏了", "attributes": map[string]string{"facility": "light"}})
		if !strings.HasPrefix(r.Number, "MH-330106-20261129-") || r.Status != "submitted" || r.Unit != apptest.CommunityA || r.Version != 1 {
			t.Fatalf("created: %+v", r)
		}
		// Sunday 16:00 China time: 4 working hours end Monday 14:00 (06:00 UTC).
		if r.ResponseDue != "2026-11-30T06:00:00Z" {
			t.Fatalf("response due %s", r.ResponseDue)
		}
		r = rqAct(t, wa, r.ID, "accept", map[string]any{"version": 1}, 200)
		r = rqAct(t, wa, r.ID, "assign", map[string]any{"assignee": "网格员小李"}, 200)
		r = rqAct(t, wa, r.ID, "start", nil, 200)
		r = rqAct(t, wa, r.ID, "answer", map[string]any{"reply": "已更换灯泡"}, 200)
		if r.Status != "answered" || r.Reply != "已更换灯泡" {
			t.Fatalf("answered: %+v", r)
		}
		// Unsatisfied: it reopens and counts against the unit.
		r = rqAct(t, res, r.ID, "evaluate", map[string]any{"rating": "unsatisfied", "comment": "第二天又不亮了"}, 200)
		if r.Status != "reopened" || r.ReopenCount != 1 {
			t.Fatalf("reopen: %+v", r)
		}
		r = rqAct(t, wa, r.ID, "answer", map[string]any{"reply": "已更换整套灯具"}, 200)
		r = rqAct(t, res, r.ID, "evaluate", map[string]any{"rating": "satisfied"}, 200)
		r = rqAct(t, wa, r.ID, "close", nil, 200)
		got := rqGet(t, res, r.ID)
		var actions []string
		for _, ev := range got.Events {
			actions = append(actions, ev.Action)
		}
		if strings.Join(actions, ",") != "submit,accept,assign,start,answer,evaluate,answer,evaluate,close" || got.Status != "closed" {
			t.Fatalf("timeline %v status %s", actions, got.Status)
		}
		// A follow-up within 7 days reopens a closed request.
		e.Clock.Add(24 * time.Hour)
		res, wa, wb, street = e.Login("res1"), e.Login("workerA"), e.Login("workerB"), e.Login("street")
		r = rqAct(t, res, r.ID, "reopen", map[string]any{"note": "又坏了"}, 200)
		if r.Status != "reopened" || r.ReopenCount != 2 {
			t.Fatalf("follow-up: %+v", r)
		}

		// Return: wrong unit goes back to dispatch one level up, the street re-dispatches.
		r2 := rqSubmit(t, res, map[string]any{"category": "sanitation", "description": "河道漂浮垃圾", "attributes": map[string]string{"spot": "street"}})
		r2 = rqAct(t, wa, r2.ID, "return", map[string]any{"reason": "属河道管理范围"}, 200)
		if r2.Status != "returned" || r2.Unit != apptest.CommunityA[:9] || r2.ReturnCount != 1 {
			t.Fatalf("returned: %+v", r2)
		}
		r2 = rqAct(t, street, r2.ID, "assign", map[string]any{"unit_code": apptest.CommunityA, "assignee": "河长办"}, 200)
		if r2.Status != "assigned" || r2.Unit != apptest.CommunityA {
			t.Fatalf("re-dispatched: %+v", r2)
		}
		// Transfer to another community: the location was wrong.
		if st, _ := wb.Do("GET", "/api/v1/requests/"+r2.ID, nil); st != 404 {
			t.Fatalf("workerB saw A's request before transfer: %d", st)
		}
		r2 = rqAct(t, wa, r2.ID, "transfer", map[string]any{"unit_code": apptest.CommunityB, "note": "在石灰桥社区"}, 200)
		if r2.Status != "transferred" || r2.Division != apptest.CommunityB {
			t.Fatalf("transferred: %+v", r2)
		}
		if st, _ := wa.Do("GET", "/api/v1/requests/"+r2.ID, nil); st != 404 {
			t.Fatalf("workerA still sees the transferred request: %d", st)
		}
		rqAct(t, wb, r2.ID, "accept", nil, 200)
		st, body := wb.Do("GET", "/api/v1/requests/notices", nil)
		if st != 200 || !strings.Contains(body, r2.Number) {
			t.Fatalf("workerB notices: %d %s", st, body)
		}

		// Merge: a second report of the same thing is suggested and merged; its reporter follows the original.
		res2 := e.Login("res2")
		o := rqSubmit(t, res, map[string]any{"category": "fire", "description": "楼道电动车充电"})
		d := rqSubmit(t, res2, map[string]any{"category": "fire", "description": "3单元楼道有人给电动车充电"})
		if len(d.Duplicates) != 1 || d.Duplicates[0].ID != o.ID {
			t.Fatalf("duplicates suggested: %+v", d.Duplicates)
		}
		if st, _ := res2.Do("GET", "/api/v1/requests/"+o.ID, nil); st != 404 {
			t.Fatalf("res2 sees res1's request before merge: %d", st)
		}
		d = rqAct(t, wa, d.ID, "merge", map[string]any{"into": o.Number}, 200)
		if d.Status != "merged" || d.MergedInto != o.ID {
			t.Fatalf("merged: %+v", d)
		}
		if got := rqGet(t, res2, o.ID); got.Number != o.Number {
			t.Fatalf("res2 follows original: %+v", got)
		}
		rqAct(t, wa, o.ID, "reject", map[string]any{"reason": "已由消防部门处理"}, 200)
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'request.%'`); n != 19 {
			t.Fatalf("%d audit entries, want one per write (19)", n)
		}
	})
}

func TestRequestIllegalTransitionsChangeNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		res, res2, wa := e.Login("res1"), e.Login("res2"), e.Login("workerA")
		r := rqSubmit(t, res, map[string]any{"category": "policy", "description": "医保怎么交"})
		snapshot := func() string {
			var s string
			var v int
			e.App.DB.R.QueryRow(`SELECT status, version FROM requests WHERE id = $1`, r.ID).Scan(&s, &v)
			return fmt.Sprintf("%s/%d/%d", s, v, e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1`, r.ID))
		}
		before := snapshot()
		rqAct(t, res, r.ID, "evaluate", map[string]any{"rating": "satisfied"}, 409) // before the answer
		rqAct(t, wa, r.ID, "close", nil, 409)
		rqAct(t, wa, r.ID, "start", nil, 409)
		rqAct(t, res, r.ID, "accept", nil, 403) // residents do not handle
		rqAct(t, wa, r.ID, "return", map[string]any{}, 400)
		rqAct(t, wa, r.ID, "accept", map[string]any{"version": 7}, 409) // stale version
		if after := snapshot(); after != before {
			t.Fatalf("changed: %s -> %s", before, after)
		}
		rqAct(t, wa, r.ID, "accept", nil, 200)
		rqAct(t, wa, r.ID, "answer", map[string]any{"reply": ""}, 400)
		rqAct(t, wa, r.ID, "answer", map[string]any{"reply": "按灵活就业人员参保"}, 200)
		rqAct(t, res2, r.ID, "evaluate", map[string]any{"rating": "satisfied"}, 404) // not theirs: not even visible
		rqAct(t, wa, r.ID, "evaluate", map[string]any{"rating": "satisfied"}, 403)   // not the reporter
		rqAct(t, res, r.ID, "evaluate", map[string]any{"rating": "great"}, 400)
		rqAct(t, res, r.ID, "evaluate", map[string]any{"rating": "fairly_satisfied"}, 200)
		rqAct(t, wa, r.ID, "close", nil, 200)
		before = snapshot()
		rqAct(t, wa, r.ID, "answer", map[string]any{"reply": "补充答复"}, 409) // a reply on a closed request
		rqAct(t, wa, r.ID, "merge", map[string]any{"into": r.Number}, 409)
		if after := snapshot(); after != before {
			t.Fatalf("closed request changed: %s -> %s", before, after)
		}
		// Bad input at intake.
		for name, body := range map[string]map[string]any{
			"unknown category":   {"category": "nope", "description": "x"},
			"outside zhejiang":   {"category": "policy", "description": "x", "lon": 116.4, "lat": 39.9},
			"half a location":    {"category": "policy", "description": "x", "lon": 120.1},
			"too long":           {"category": "policy", "description": strings.Repeat("长", 4001)},
			"missing answer":     {"category": "repair", "description": "坏了"},
			"bad choice":         {"category": "repair", "description": "坏了", "attributes": map[string]string{"facility": "rocket"}},
			"other community":    {"category": "policy", "description": "x", "division_code": apptest.CommunityB},
			"nonexistent code":   {"category": "policy", "description": "x", "division_code": "330106001001"},
			"unknown attribute":  {"category": "policy", "description": "x", "attributes": map[string]string{"color": "red"}},
			"empty description":  {"category": "policy", "description": "  "},
			"not a number value": {"category": "elderly", "description": "x", "attributes": map[string]string{"age": "eighty"}},
		} {
			n := e.Count(`SELECT COUNT(*) FROM requests`)
			if st, b := res.Do("POST", "/api/v1/requests", body); st != 400 || !strings.Contains(b, "errors") {
				t.Errorf("%s: %d %s", name, st, b)
			}
			if e.Count(`SELECT COUNT(*) FROM requests`) != n {
				t.Errorf("%s: a request was stored", name)
			}
		}
	})
}

func TestRequestConcurrentHandlers(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		res, wa, wa2 := e.Login("res1"), e.Login("workerA"), e.Login("workerA2")
		for round := 0; round < 5; round++ {
			r := rqSubmit(t, res, map[string]any{"category": "policy", "description": fmt.Sprintf("问题 %d", round)})
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for i, c := range []*apptest.Client{wa, wa2} {
				wg.Add(1)
				go func(i int, c *apptest.Client) {
					defer wg.Done()
					codes[i], _ = c.Do("POST", "/api/v1/requests/"+r.ID+"/accept", map[string]any{"version": 1})
				}(i, c)
			}
			wg.Wait()
			if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
				t.Fatalf("round %d: codes %v", round, codes)
			}
			if n := e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND action = 'accept'`, r.ID); n != 1 {
				t.Fatalf("round %d: %d accept events", round, n)
			}
		}
	})
}

func TestRequestScoping(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		res, res2, wa, wb, co := e.Login("res1"), e.Login("res2"), e.Login("workerA"), e.Login("workerB"), e.Login("countyOfficer")
		a := rqSubmit(t, res, map[string]any{"category": "policy", "description": "A 的问题", "phone": "13812345678", "name": "王小明"})
		b := rqSubmit(t, wb, map[string]any{"category": "policy", "description": "B 的来电", "channel": "hotline", "phone": "13900001111"})
		for _, c := range []struct {
			who    *apptest.Client
			id     string
			status int
		}{{wb, a.ID, 404}, {wa, b.ID, 404}, {res2, a.ID, 404}, {res, b.ID, 404}, {co, a.ID, 200}, {co, b.ID, 200}, {wa, a.ID, 200}, {res, a.Number, 200}} {
			if st, _ := c.who.Do("GET", "/api/v1/requests/"+c.id, nil); st != c.status {
				t.Errorf("get %s: %d want %d", c.id, st, c.status)
			}
		}
		rqAct(t, wb, a.ID, "accept", nil, 404)
		count := func(c *apptest.Client, q string) int {
			st, body := c.Do("GET", "/api/v1/requests"+q, nil)
			if st != 200 {
				t.Fatalf("list: %d %s", st, body)
			}
			var l struct{ Total int }
			json.Unmarshal([]byte(body), &l)
			return l.Total
		}
		if count(wa, "") != 1 || count(wb, "") != 1 || count(res2, "") != 0 || count(res, "") != 1 || count(co, "") != 2 {
			t.Fatalf("list totals wa=%d wb=%d res2=%d res=%d county=%d", count(wa, ""), count(wb, ""), count(res2, ""), count(res, ""), count(co, ""))
		}
		if st, _ := wa.Do("GET", "/api/v1/requests?within="+apptest.CommunityB, nil); st != 404 {
			t.Fatalf("within another community: %d", st)
		}
		// Personal fields: stored encrypted, shown masked.
		_, body := wa.Do("GET", "/api/v1/requests/"+a.ID, nil)
		if strings.Contains(body, "13812345678") || !strings.Contains(body, "138****5678") || strings.Contains(body, "王小明") {
			t.Fatalf("personal data: %s", body)
		}
		if n := e.Count(`SELECT COUNT(*) FROM requests WHERE reporter_phone LIKE '%13812345678%' OR reporter_name LIKE '%王小明%'`); n != 0 {
			t.Fatal("plain personal data in the database")
		}
		// Metrics follow the scope too.
		if st, _ := wa.Do("GET", "/api/v1/requests/metrics?division="+apptest.CommunityB, nil); st != 404 {
			t.Fatalf("metrics outside scope: %d", st)
		}
		st, body := co.Do("GET", "/api/v1/requests/metrics?division="+apptest.County, nil)
		var m struct {
			Received int `json:"received"`
		}
		json.Unmarshal([]byte(body), &m)
		if st != 200 || m.Received != 2 {
			t.Fatalf("county metrics: %d %s", st, body)
		}
	})
}

func TestWorkingHourDeadlinesAcrossWeekend(t *testing.T) {
	t.Parallel()
	cal := requests.DefaultCalendar
	cst := requests.CST
	for _, c := range []struct {
		start   time.Time
		hours   int
		working bool
		want    time.Time
	}{
		// Friday 16:00 + 4 working hours: 1.5 h on Friday, 2.5 h from Monday 08:30 → Monday 11:00.
		{time.Date(2026, 11, 27, 16, 0, 0, 0, cst), 4, true, time.Date(2026, 11, 30, 11, 0, 0, 0, cst)},
		// Saturday noon + 8 working hours: Monday 8:30–12:00 (3.5) and 13:30–17:30 (4) → Tuesday 09:00.
		{time.Date(2026, 11, 28, 12, 0, 0, 0, cst), 8, true, time.Date(2026, 12, 1, 9, 0, 0, 0, cst)},
		// Lunch break is not working time: Monday 11:00 + 2 h → 14:30.
		{time.Date(2026, 11, 30, 11, 0, 0, 0, cst), 2, true, time.Date(2026, 11, 30, 14, 30, 0, 0, cst)},
		// Calendar hours run through the weekend.
		{time.Date(2026, 11, 27, 16, 0, 0, 0, cst), 24, false, time.Date(2026, 11, 28, 16, 0, 0, 0, cst)},
	} {
		if got := cal.Due(c.start, c.hours, c.working); !got.Equal(c.want) {
			t.Errorf("%s + %dh (working %v) = %s, want %s", c.start, c.hours, c.working, got.In(cst), c.want)
		}
	}
	holidays := &requests.Calendar{Periods: cal.Periods, Holidays: map[string]bool{"2026-11-30": true}, Workdays: map[string]bool{"2026-11-29": true}}
	// A make-up Sunday works; the holiday Monday does not.
	if got := holidays.Due(time.Date(2026, 11, 29, 17, 0, 0, 0, cst), 1, true); !got.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, cst)) {
		t.Errorf("holiday calendar: %s", got.In(cst))
	}
	// And the deadline the store writes, on both stores.
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		e.Clock.Add(-48 * time.Hour) // Friday 16:00 China time
		r := rqSubmit(t, e.Login("res1"), map[string]any{"category": "repair", "description": "井盖松动", "attributes": map[string]string{"facility": "manhole"}})
		if r.ResponseDue != "2026-11-30T03:00:00Z" {
			t.Fatalf("response due %s, want Monday 11:00 China time", r.ResponseDue)
		}
	})
}

func TestSLAJobEscalatesOnce(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		s := rqStore(e)
		hook := &rqNotifier{ch: make(chan requests.Notice, 100)}
		s.Notifier = hook
		res, wa, street := e.Login("res1"), e.Login("workerA"), e.Login("street")
		r := rqSubmit(t, res, map[string]any{"category": "fire", "description": "消防通道堵塞"}) // 2 calendar hours to respond
		other := rqSubmit(t, res, map[string]any{"category": "fire", "description": "另一处通道堵塞"})
		rqAct(t, wa, other.ID, "accept", nil, 200)
		ctx := context.Background()
		res0, err := s.RunSLAOnce(ctx, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		// Within the warning window from the start (2 h ≤ WarnBefore): a warning, nothing overdue.
		if res0.Overdue != 0 || res0.Warned == 0 {
			t.Fatalf("first run: %+v", res0)
		}
		e.Clock.Add(3 * time.Hour)
		street = e.Login("street")
		// Two runners at once: the response deadline escalates exactly once.
		var wg sync.WaitGroup
		results := make([]requests.SLAResult, 2)
		errs := make([]error, 2)
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i], errs[i] = s.RunSLAOnce(ctx, e.Clock.Now())
			}(i)
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		if got := rqGet(t, street, r.ID); got.Unit != apptest.CommunityA[:9] || got.Escalation != 1 {
			t.Fatalf("not escalated to the street: %+v", got)
		}
		if n := e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND action = 'escalate'`, r.ID); n != 1 {
			t.Fatalf("%d escalations of the response deadline", n)
		}
		// The deployment's notifier (SMS, 浙里办) hears of the escalation.
		for got := false; !got; {
			select {
			case n := <-hook.ch:
				got = n.Kind == "overdue" && n.Number == r.Number && n.Unit == apptest.CommunityA[:9]
			case <-time.After(10 * time.Second):
				t.Fatal("the notifier was not called for the escalation")
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM request_sla_marks WHERE request_id = $1 AND mark LIKE 'response:2:%'`, r.ID); n != 1 {
			t.Fatalf("%d response marks", n)
		}
		// Again later: nothing new for the response deadline.
		if _, err := s.RunSLAOnce(ctx, e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND action = 'escalate'`, r.ID); n != 1 {
			t.Fatalf("escalated again: %d", n)
		}
		// The street's inbox has the notice and the request as overdue.
		st, body := street.Do("GET", "/api/v1/requests/notices", nil)
		if st != 200 || !strings.Contains(body, r.Number) || !strings.Contains(body, "overdue") {
			t.Fatalf("street notices: %d %s", st, body)
		}
		st, body = street.Do("GET", "/api/v1/requests?box=overdue", nil)
		if st != 200 || !strings.Contains(body, r.Number) {
			t.Fatalf("overdue box: %d %s", st, body)
		}
		// The resolution deadline (24 h) later escalates to the county, once.
		e.Clock.Add(30 * time.Hour)
		street = e.Login("street")
		for i := 0; i < 3; i++ {
			if _, err := s.RunSLAOnce(ctx, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if got := rqGet(t, street, r.ID); got.Unit != apptest.County || got.Escalation != 2 {
			t.Fatalf("resolution escalation: %+v", got)
		}
		if n := e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND action = 'escalate'`, r.ID); n != 2 {
			t.Fatalf("%d escalations in all", n)
		}
	})
}

// o311 is a small GeoReport v2 test client.
type o311 struct {
	t      *testing.T
	e      *apptest.Env
	format string
}

func (o o311) get(path string) (int, string) {
	o.t.Helper()
	st, b := o.e.Client().Do("GET", "/open311/v2/"+strings.ReplaceAll(path, "{f}", o.format), nil)
	return st, b
}

func (o o311) post(vals map[string]string) (int, string) {
	o.t.Helper()
	st, b, _ := o.e.Client().Form("/open311/v2/requests."+o.format, vals, nil)
	return st, b
}

// decode parses a GeoReport answer into generic records: JSON arrays or
// objects, or XML documents flattened to element name → text.
func (o o311) decode(body string) []map[string]string {
	o.t.Helper()
	if o.format == "json" {
		var arr []map[string]any
		if strings.HasPrefix(strings.TrimSpace(body), "{") {
			var one map[string]any
			if err := json.Unmarshal([]byte(body), &one); err != nil {
				o.t.Fatalf("json: %v: %s", err, body)
			}
			arr = []map[string]any{one}
		} else if err := json.Unmarshal([]byte(body), &arr); err != nil {
			o.t.Fatalf("json: %v: %s", err, body)
		}
		var out []map[string]string
		for _, m := range arr {
			rec := map[string]string{}
			for k, v := range m {
				switch x := v.(type) {
				case string:
					rec[k] = x
				case float64, bool:
					rec[k] = fmt.Sprint(x)
					if k == "service_code" || k == "service_request_id" {
						o.t.Fatalf("%s is not a string in %s", k, body)
					}
				default:
					b, _ := json.Marshal(x)
					rec[k] = string(b)
				}
			}
			out = append(out, rec)
		}
		return out
	}
	return xmlRecords(o.t, body)
}

func TestOpen311(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		s := rqStore(e)
		key, err := s.CreateKey(access.With(context.Background(), &access.Principal{Username: "cli", Role: access.SysAdmin, Division: "33"}), "12345 热线", apptest.County)
		if err != nil {
			t.Fatal(err)
		}
		var firstID string
		for _, format := range []string{"json", "xml"} {
			t.Run(format, func(t *testing.T) {
				o := o311{t: t, e: e, format: format}
				fail := func(st int, body string, want int, contains string) {
					t.Helper()
					if st != want {
						t.Fatalf("got %d want %d: %s", st, want, body)
					}
					recs := o.decode(body)
					if len(recs) == 0 || recs[0]["code"] != fmt.Sprint(want) || !strings.Contains(recs[0]["description"], contains) {
						t.Fatalf("error body %v: %s", recs, body)
					}
				}
				st, body := o.get("discovery.{f}")
				if st != 200 || !strings.Contains(body, "GeoReport_v2") {
					t.Fatalf("discovery: %d %s", st, body)
				}
				st, body = o.get("services.{f}?jurisdiction_id=" + apptest.County)
				if st != 200 {
					t.Fatalf("services: %d %s", st, body)
				}
				codes := map[string]bool{}
				for _, r := range o.decode(body) {
					codes[r["service_code"]] = true
				}
				if !codes["repair"] || !codes["sanitation"] || codes["dispute"] || codes["assistance"] {
					t.Fatalf("service codes: %v", codes)
				}
				if format == "json" && !strings.Contains(body, `"service_code":"repair"`) {
					t.Fatalf("service_code not a string: %s", body)
				}
				st, body = o.get("services/repair.{f}")
				if st != 200 || !strings.Contains(body, "facility") || !strings.Contains(body, "singlevaluelist") || !strings.Contains(body, "manhole") {
					t.Fatalf("definition: %d %s", st, body)
				}
				st, body = o.get("services/dispute.{f}") // not public
				fail(st, body, 404, "service_code")
				st, body = o.get("services/nope.{f}")
				fail(st, body, 404, "service_code")
				st, body = o.get("services.{f}?jurisdiction_id=9999")
				fail(st, body, 400, "jurisdiction_id")

				good := map[string]string{"api_key": key, "service_code": "repair", "lat": "30.2605", "long": "120.1432", "address_string": "北山街道 12 幢",
					"address_id": apptest.CommunityA, "description": "路灯不亮", "attribute[facility]": "light", "phone": "13812345678", "first_name": "小明", "last_name": "王", "email": "w@example.cn"}
				with := func(k, v string) map[string]string {
					m := map[string]string{}
					for a, b := range good {
						m[a] = b
					}
					if v == "\x00" {
						delete(m, k)
					} else {
						m[k] = v
					}
					return m
				}
				n := e.Count(`SELECT COUNT(*) FROM requests`)
				st, body = o.post(with("api_key", "\x00"))
				fail(st, body, 403, "api_key")
				st, body = o.post(with("api_key", "o311_wrong"))
				fail(st, body, 403, "api_key")
				st, body = o.post(with("service_code", "\x00"))
				fail(st, body, 400, "service_code")
				st, body = o.post(with("service_code", "teleport"))
				fail(st, body, 400, "service_code")
				st, body = o.post(with("service_code", "dispute"))
				fail(st, body, 400, "service_code")
				loc := with("lat", "\x00")
				delete(loc, "long")
				delete(loc, "address_string")
				delete(loc, "address_id")
				st, body = o.post(loc)
				fail(st, body, 400, "location")
				st, body = o.post(with("lat", "39.9"))
				fail(st, body, 400, "Zhejiang")
				st, body = o.post(with("long", "east"))
				fail(st, body, 400, "lat/long")
				st, body = o.post(with("description", strings.Repeat("字", 4001)))
				fail(st, body, 400, "4000")
				st, body = o.post(with("attribute[facility]", "rocket"))
				fail(st, body, 400, "attribute[facility]")
				st, body = o.post(with("attribute[color]", "red"))
				fail(st, body, 400, "attribute[color]")
				st, body = o.post(with("attribute[facility]", "\x00"))
				fail(st, body, 400, "attribute[facility]")
				st, body = o.post(with("address_id", "330106001001"))
				fail(st, body, 400, "division_code")
				st, body = o.post(with("jurisdiction_id", "330102"))
				fail(st, body, 403, "jurisdiction_id")
				if e.Count(`SELECT COUNT(*) FROM requests`) != n {
					t.Fatal("a bad POST stored a request")
				}
				st, body = o.post(good)
				if st != 201 {
					t.Fatalf("post: %d %s", st, body)
				}
				created := o.decode(body)
				id, token := created[0]["service_request_id"], created[0]["token"]
				if !strings.HasPrefix(id, "MH-330106-") || token == "" {
					t.Fatalf("created: %v", created)
				}
				if firstID == "" {
					firstID = id
				}
				st, body = o.get("requests/" + id + ".{f}")
				if st != 200 {
					t.Fatalf("get: %d %s", st, body)
				}
				rec := o.decode(body)[0]
				if rec["status"] != "open" || rec["service_code"] != "repair" || rec["agency_responsible"] != "上保社区居委会" && !strings.Contains(rec["agency_responsible"], "上保") ||
					!strings.HasSuffix(rec["expected_datetime"], "+08:00") || !strings.HasSuffix(rec["requested_datetime"], "+08:00") || rec["address_id"] != apptest.CommunityA {
					t.Fatalf("request: %v", rec)
				}
				for _, secret := range []string{"13812345678", "小明", "w@example.cn"} {
					if strings.Contains(body, secret) {
						t.Fatalf("personal data %q in %s", secret, body)
					}
				}
				st, body = o.get("requests/MH-330106-20000101-000001.{f}")
				fail(st, body, 404, "service_request_id")
				st, body = o.get("tokens/" + token + ".{f}")
				if st != 200 || o.decode(body)[0]["service_request_id"] != id {
					t.Fatalf("token: %d %s", st, body)
				}
				st, body = o.get("tokens/nope.{f}")
				fail(st, body, 404, "token")

				// Lists and their filters.
				list := func(q string) []map[string]string {
					t.Helper()
					st, body := o.get("requests.{f}" + q)
					if st != 200 {
						t.Fatalf("list %s: %d %s", q, st, body)
					}
					return o.decode(body)
				}
				if len(list("")) != 1+boolInt(format == "xml") {
					t.Fatalf("default list: %v", list(""))
				}
				if l := list("?service_request_id=" + id + "," + firstID); len(l) != 1+boolInt(format == "xml" && firstID != id) {
					t.Fatalf("by id: %v", l)
				}
				if len(list("?service_code=sanitation")) != 0 || len(list("?status=closed")) != boolInt(format == "xml") || len(list("?status=open&jurisdiction_id="+apptest.County)) == 0 {
					t.Fatal("filters")
				}
				if len(list("?start_date=2026-11-29T00:00:00%2B08:00&end_date=2026-11-30T00:00:00%2B08:00")) == 0 || len(list("?end_date=2026-11-01T00:00:00Z")) != 0 {
					t.Fatal("date filters")
				}
				st, body = o.get("requests.{f}?status=pending")
				fail(st, body, 400, "status")
				st, body = o.get("requests.{f}?start_date=yesterday")
				fail(st, body, 400, "start_date")
				st, body = o.get("requests.{f}?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z")
				fail(st, body, 400, "90 days")
				st, body = o.get("requests.{f}?jurisdiction_id=330106002")
				fail(st, body, 400, "jurisdiction_id")
				st, body = o.get("unknown.{f}")
				fail(st, body, 404, "no such resource")

				// The worker handles it; the client follows the status.
				wa := e.Login("workerA")
				rqAct(t, wa, id, "accept", nil, 200)
				rqAct(t, wa, id, "answer", map[string]any{"reply": "已修复路灯"}, 200)
				st, body = o.get("requests/" + id + ".{f}")
				if rec := o.decode(body)[0]; st != 200 || rec["status"] != "closed" || !strings.Contains(rec["status_notes"], "已修复路灯") {
					t.Fatalf("followed: %v", rec)
				}
			})
		}
		st, body := e.Client().Do("GET", "/open311/v2/services.txt", nil)
		if st != 404 {
			t.Fatalf("services.txt: %d %s", st, body)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// xmlRecords parses a GeoReport XML document (it must be well formed) into
// one record per second-level element, mapping child element names to their
// text; nested lists are kept as raw text.
func xmlRecords(t *testing.T, body string) []map[string]string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(body))
	var out []map[string]string
	depth := 0
	var rec map[string]string
	var field string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("xml does not parse: %v: %s", err, body)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if x.Name.Local == "service_definition" || x.Name.Local == "discovery" {
					rec = map[string]string{}
					out = append(out, rec)
					depth++ // treat the root as a record
				}
			case 2:
				rec = map[string]string{}
				out = append(out, rec)
			case 3:
				field = x.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if depth >= 3 {
				text.Write(x)
			}
		case xml.EndElement:
			if depth == 3 && rec != nil {
				rec[field] = strings.TrimSpace(text.String())
			}
			depth--
			if depth == 1 && (x.Name.Local == "service_definition" || x.Name.Local == "discovery") {
				depth--
			}
		}
	}
	return out
}

// photoForm posts the new-request page's form with a photo (none when file
// is nil); a redirect answers its Location.
func photoForm(c *apptest.Client, path string, fields map[string]string, file []byte) (int, string) {
	st, body, hdr := c.Multipart(path, fields, "photo", "photo.bin", file, nil)
	if st == 303 {
		return 303, hdr.Get("Location")
	}
	return st, body
}

func TestRequestPagesAndPhotos(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		res, wa, co := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer")
		png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
		fields := map[string]string{"category": "repair", "description": "健身器材扶手断裂", "division_code": apptest.CommunityA, "attribute[facility]": "fitness"}
		n := e.Count(`SELECT COUNT(*) FROM requests`)
		if st, body := photoForm(res, "/requests/new", fields, []byte("%PDF-1.4 not an image")); st != 400 || !strings.Contains(body, "只接受 JPEG、PNG 或 WebP") {
			t.Fatalf("not an image: %d", st)
		}
		big := append(append([]byte{}, png...), make([]byte, requests.MaxPhoto)...)
		if st, _ := photoForm(res, "/requests/new", fields, big); st != 400 {
			t.Fatalf("too large: %d", st)
		}
		if e.Count(`SELECT COUNT(*) FROM requests`) != n {
			t.Fatal("a rejected upload stored a request")
		}
		st, loc := photoForm(res, "/requests/new", fields, png)
		if st != 303 || !strings.HasPrefix(loc, "/requests/") {
			t.Fatalf("submit: %d %s", st, loc)
		}
		st, page := res.Do("GET", loc, nil)
		if st != 200 || !strings.Contains(page, "已提交，回执编号 MH-330106-") || !strings.Contains(page, "/photos/") {
			t.Fatalf("receipt page: %d", st)
		}
		id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/requests/")
		pid := strings.Split(strings.SplitAfter(page, "/photos/")[1], `"`)[0]
		if st, img := wa.Do("GET", "/requests/"+id+"/photos/"+pid, nil); st != 200 || !strings.HasPrefix(img, "\x89PNG") {
			t.Fatalf("photo for the worker: %d", st)
		}
		if st, _ := e.Login("workerB").Do("GET", "/requests/"+id+"/photos/"+pid, nil); st != 404 {
			t.Fatalf("photo for another community: %d", st)
		}
		// Worker pages: inbox, bulk accept, detail forms.
		st, inbox := wa.Do("GET", "/requests?box=new", nil)
		if st != 200 || !strings.Contains(inbox, `name="id" value="`+id+`"`) {
			t.Fatalf("inbox: %d", st)
		}
		st2, _, hdr := wa.Form("/requests/bulk-accept", map[string]string{"id": id}, nil)
		if st2 != 303 || !strings.Contains(hdr.Get("Location"), "done=1") {
			t.Fatalf("bulk accept: %d %v", st2, hdr)
		}
		if got := rqGet(t, wa, id); got.Status != "accepted" {
			t.Fatalf("after bulk accept: %s", got.Status)
		}
		// An illegal transition from a page: 409 and the page says why.
		st2, body, _ := wa.Form("/requests/"+id+"/close", map[string]string{}, nil)
		if st2 != 409 || !strings.Contains(body, "不能关闭") {
			t.Fatalf("close from page: %d", st2)
		}
		// Metrics page (SVG and table), JSON and xlsx for the county.
		st, body = co.Do("GET", "/requests/metrics?division="+apptest.County, nil)
		if st != 200 || !strings.Contains(body, "<svg") || !strings.Contains(body, "按期办结率") {
			t.Fatalf("metrics page: %d", st)
		}
		st, body = co.Do("GET", "/requests/metrics.xlsx?division="+apptest.County, nil)
		if st != 200 || !strings.HasPrefix(body, "PK") {
			t.Fatalf("xlsx: %d", st)
		}
		if st, _ := wa.Do("GET", "/requests/metrics?division="+apptest.CommunityB, nil); st != 404 {
			t.Fatalf("metrics page outside scope: %d", st)
		}
	})
}

// BenchmarkRequestCreate measures one submission through the store (no
// HTTP): validation, numbering, the request, its event and its audit entry
// in one transaction. Compare: go test -bench RequestCreate -cpuprofile.
func BenchmarkRequestCreate(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			d := dbtest.Open(b, dialect, nil)
			a := apptest.Open(b, d, nil)
			s := requests.StoreOf(a.Module("requests"))
			ctx := access.With(context.Background(), &access.Principal{UserID: "u1", Username: "bench", Role: access.CommunityWorker, Division: apptest.CommunityA})
			b.SetParallelism(16) // many submitters, as behind HTTP
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Create(ctx, requests.NewRequest{Category: "sanitation", Description: "垃圾未清运", Channel: "hotline", Attributes: map[string]string{"spot": "street"}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func TestRequestNumbersUnderConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		s := rqStore(e)
		ctx := access.With(context.Background(), &access.Principal{UserID: "w", Username: "w", Role: access.CommunityWorker, Division: apptest.CommunityA})
		const n = 60
		nums := make([]string, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r, err := s.Create(ctx, requests.NewRequest{Category: "policy", Description: fmt.Sprintf("来电 %d", i), Channel: "hotline"})
				if err != nil {
					t.Error(err)
					return
				}
				nums[i] = r.Number
			}(i)
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, num := range nums {
			if seen[num] {
				t.Fatalf("number %s given twice", num)
			}
			seen[num] = true
		}
		// Numbers are dense: 1..n for the county and day.
		for i := 1; i <= n; i++ {
			if !seen[fmt.Sprintf("MH-330106-20261129-%06d", i)] {
				t.Fatalf("number %d missing: %v", i, nums)
			}
		}
		if got := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.create'`); got != n {
			t.Fatalf("%d audit entries for %d submissions", got, n)
		}
		if got := e.Count(`SELECT COUNT(*) FROM request_events WHERE action = 'submit'`); got != n {
			t.Fatalf("%d submit events", got)
		}
	})
}

// Closing the store (as the app does when it closes) answers every
// submission already queued, refuses the later ones, and stops its writer
// (the package's leak check fails the run otherwise).
func TestRequestStoreCloseAnswersQueuedSubmissions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		s := rqStore(e)
		ctx := access.With(context.Background(), &access.Principal{UserID: "w", Username: "w", Role: access.CommunityWorker, Division: apptest.CommunityA})
		submit := func(i int) error {
			_, err := s.Create(ctx, requests.NewRequest{Category: "policy", Description: fmt.Sprintf("来电 %d", i), Channel: "hotline"})
			return err
		}
		if err := submit(0); err != nil {
			t.Fatal(err)
		}
		const n = 40
		errs := make(chan error, n)
		for i := 1; i <= n; i++ {
			go func() { errs <- submit(i) }()
		}
		s.Close()
		written := 1
		for range n {
			switch err := <-errs; {
			case err == nil:
				written++
			case !errors.Is(err, requests.ErrClosed):
				t.Errorf("submission during close: %v", err)
			}
		}
		t.Run("every submission answered as written was written", func(t *testing.T) {
			if got := e.Count(`SELECT COUNT(*) FROM requests`); got != written {
				t.Fatalf("%d requests stored, %d answered as written", got, written)
			}
		})
		t.Run("a closed store refuses submissions", func(t *testing.T) {
			if err := submit(n + 1); !errors.Is(err, requests.ErrClosed) {
				t.Fatalf("after close: %v", err)
			}
		})
		s.Close() // again: harmless
	})
}

type rqNotifier struct{ ch chan requests.Notice }

func (n *rqNotifier) Notify(_ context.Context, x requests.Notice) error {
	n.ch <- x
	return nil
}

// rqEvents counts a request's events of one action.
func rqEvents(e *apptest.Env, id, action string) int {
	return e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND action = $2`, id, action)
}

func TestRequestAutoCloseWithoutEvaluation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		s := rqStore(e)
		s.AutoCloseAfter = 3 * 24 * time.Hour
		t.Cleanup(func() { s.AutoCloseAfter = 0 })
		ctx := context.Background()
		res, wa := e.Login("res1"), e.Login("workerA")
		answer := func(desc string) rqView {
			r := rqSubmit(t, res, map[string]any{"category": "policy", "description": desc})
			rqAct(t, wa, r.ID, "accept", nil, 200)
			return rqAct(t, wa, r.ID, "answer", map[string]any{"reply": "已电话解答"}, 200)
		}
		r1, r2, r3 := answer("医保报销比例咨询"), answer("社保转移咨询"), answer("户籍迁入咨询")
		rqAct(t, res, r3.ID, "evaluate", map[string]any{"rating": "satisfied"}, 200)
		// advance moves the clock and signs in again (sessions idle out).
		advance := func(d time.Duration) {
			e.Clock.Add(d)
			res, wa = e.Login("res1"), e.Login("workerA")
		}
		run := func() requests.SLAResult {
			t.Helper()
			got, err := s.RunSLAOnce(ctx, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		// Before the deadline nothing closes.
		advance(2 * 24 * time.Hour)
		if got := run(); got.AutoClosed != 0 {
			t.Fatalf("closed early: %+v", got)
		}
		if got := rqGet(t, res, r1.ID); got.Status != "answered" {
			t.Fatalf("status after 2 days: %s", got.Status)
		}
		// Past it, two runners at once close each unevaluated request exactly once.
		advance(24*time.Hour + time.Minute)
		var wg sync.WaitGroup
		results := make([]requests.SLAResult, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i], errs[i] = s.RunSLAOnce(ctx, e.Clock.Now())
			}(i)
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		if n := results[0].AutoClosed + results[1].AutoClosed; n != 2 {
			t.Fatalf("auto-closed %d requests (%+v)", n, results)
		}
		for _, id := range []string{r1.ID, r2.ID} {
			if n := rqEvents(e, id, "autoclose"); n != 1 {
				t.Fatalf("%d autoclose events", n)
			}
			got := rqGet(t, res, id)
			if got.Status != "closed" {
				t.Fatalf("not closed: %+v", got)
			}
			if last := got.Events[len(got.Events)-1]; last.Action != "autoclose" || last.To != "closed" || last.Actor != "system" {
				t.Fatalf("last event: %+v", last)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM request_events WHERE request_id = $1 AND note LIKE $2`, r1.ID, "%自动办结（未评价）%closed without evaluation%"); n != 1 {
			t.Fatalf("the event note does not say why: %d", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.autoclose'`); n != 2 {
			t.Fatalf("%d audit entries", n)
		}
		// The evaluated one is not touched; the timeline shows the reason.
		if got := rqGet(t, res, r3.ID); got.Status != "evaluated" || rqEvents(e, r3.ID, "autoclose") != 0 {
			t.Fatalf("evaluated request changed: %+v", got)
		}
		st, page := res.Do("GET", "/requests/"+r1.ID, nil)
		if st != 200 || !strings.Contains(page, "自动办结（未评价）") {
			t.Fatalf("timeline: %d", st)
		}
		// Later runs do nothing more; an evaluation is now too late.
		if got := run(); got.AutoClosed != 0 {
			t.Fatalf("closed again: %+v", got)
		}
		if n := rqEvents(e, r1.ID, "autoclose"); n != 1 {
			t.Fatalf("%d autoclose events after a rerun", n)
		}
		rqAct(t, res, r1.ID, "evaluate", map[string]any{"rating": "satisfied"}, 409)
		// Within the reopen window (7 days from the answer) the reporter may still reopen.
		got := rqAct(t, res, r1.ID, "reopen", map[string]any{"note": "还是没解决"}, 200)
		if got.Status != "reopened" || got.ReopenCount != 1 {
			t.Fatalf("reopen after auto-close: %+v", got)
		}
		// Past the window, no longer.
		advance(4 * 24 * time.Hour)
		rqAct(t, res, r2.ID, "reopen", map[string]any{"note": "还是没解决"}, 409)
		if got := rqGet(t, res, r2.ID); got.Status != "closed" {
			t.Fatalf("late reopen changed the request: %+v", got)
		}

		// The default is 7 calendar days.
		s.AutoCloseAfter = 0
		r4 := answer("低保申请条件咨询")
		advance(7*24*time.Hour - time.Minute)
		run()
		if got := rqGet(t, res, r4.ID); got.Status != "answered" {
			t.Fatalf("closed before 7 days: %s", got.Status)
		}
		advance(2 * time.Minute)
		if got := run(); got.AutoClosed != 1 {
			t.Fatalf("default auto-close: %+v", got)
		}
		if got := rqGet(t, res, r4.ID); got.Status != "closed" {
			t.Fatalf("not closed after 7 days: %s", got.Status)
		}
	})
}

func TestRequestCatalogueUpkeep(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		rqSetup(e)
		e.User("prov", access.Officer, "33")
		e.User("city", access.Officer, "3301")
		res, wa, co, prov, city := e.Login("res1"), e.Login("workerA"), e.Login("countyOfficer"), e.Login("prov"), e.Login("city")
		cat := map[string]any{"code": "lift_retrofit", "group": "设施 / Facilities", "name_zh": "加装电梯", "name_en": "Lift retrofit",
			"description_zh": "老旧小区加装电梯协调", "description_en": "Coordinating lift retrofits in old estates", "unit_level": 5,
			"response_hours": 4, "resolve_hours": 48, "working_hours": false, "public": true,
			"reply_templates": []string{"已组织楼道居民协商。"},
			"attributes":      []map[string]any{{"code": "floors", "datatype": "number", "label_zh": "楼层数", "label_en": "Floors"}}}
		// Only province and city officers maintain the catalogue.
		for _, c := range []*apptest.Client{wa, co, res} {
			if st, body := c.Do("POST", "/api/v1/requests/services", cat); st != 403 {
				t.Fatalf("create by a non-manager: %d %s", st, body)
			}
			if st, body := c.Do("PUT", "/api/v1/requests/services/policy", map[string]any{"resolve_hours": 1}); st != 403 {
				t.Fatalf("edit by a non-manager: %d %s", st, body)
			}
		}
		if st, _ := wa.Do("GET", "/requests/catalogue/new", nil); st != 403 {
			t.Fatalf("new-category page for a worker: %d", st)
		}
		if st, _ := wa.Do("GET", "/requests/catalogue/policy", nil); st != 403 {
			t.Fatalf("edit page for a worker: %d", st)
		}
		if st, _, _ := wa.Form("/requests/catalogue/policy", map[string]string{"name_zh": "x", "name_en": "x", "response_hours": "1", "resolve_hours": "1"}, nil); st != 403 {
			t.Fatalf("edit form post by a worker: %d", st)
		}
		// Validation, with messages in both languages; nothing is written.
		bad := map[string]any{"code": "Bad Code", "name_zh": "", "name_en": "x", "unit_level": 7, "response_hours": 10, "resolve_hours": 5,
			"attributes": []map[string]any{{"code": "kind", "datatype": "singlevaluelist", "label_zh": "类型", "label_en": "Kind"}}}
		st, body := prov.Do("POST", "/api/v1/requests/services", bad)
		if st != 400 {
			t.Fatalf("bad category: %d %s", st, body)
		}
		for _, want := range []string{`"code"`, `"name_zh"`, `"unit_level"`, `"resolve_hours"`, `"attributes"`, "办结时限不能短于受理时限", "the resolution time cannot be shorter than the response time", "请填写中文名称", "the Chinese name is required"} {
			if !strings.Contains(body, want) {
				t.Fatalf("validation answer lacks %s: %s", want, body)
			}
		}
		if n := e.Count(`SELECT COUNT(*) FROM request_categories WHERE code = 'Bad Code'`); n != 0 {
			t.Fatal("an invalid category was stored")
		}
		// Create; the code is then taken.
		st, body = prov.Do("POST", "/api/v1/requests/services", cat)
		if st != 201 || !strings.Contains(body, `"lift_retrofit"`) {
			t.Fatalf("create: %d %s", st, body)
		}
		if st, body := city.Do("POST", "/api/v1/requests/services", cat); st != 409 {
			t.Fatalf("duplicate code: %d %s", st, body)
		}
		if st, body := c0(e).Do("GET", "/api/v1/requests/services", nil); st != 200 || !strings.Contains(body, `"lift_retrofit"`) {
			t.Fatalf("catalogue lacks the new category: %d", st)
		}
		// A request in it gets its deadlines (calendar hours).
		t0 := e.Clock.Now()
		old := rqSubmit(t, res, map[string]any{"category": "lift_retrofit", "description": "3 号楼想加装电梯", "attributes": map[string]string{"floors": "6"}})
		if due := rqTime(t, old.ResolveDue); !due.Equal(t0.Add(48 * time.Hour)) {
			t.Fatalf("resolve due %s, want %s", due, t0.Add(48*time.Hour))
		}
		rqAct(t, wa, old.ID, "accept", nil, 200)
		if got := rqAct(t, wa, old.ID, "answer", map[string]any{"template": 1}, 200); got.Reply != "已组织楼道居民协商。" {
			t.Fatalf("reply template: %q", got.Reply)
		}
		// A city officer edits the resolution SLA: new requests get the new
		// deadline, the old one keeps its own.
		if st, body := city.Do("PUT", "/api/v1/requests/services/lift_retrofit", map[string]any{"resolve_hours": 2}); st != 400 || !strings.Contains(body, "办结时限不能短于受理时限") {
			t.Fatalf("edit below the response time: %d %s", st, body)
		}
		st, body = city.Do("PUT", "/api/v1/requests/services/lift_retrofit", map[string]any{"resolve_hours": 24, "reply_templates": []string{"已协调施工单位。", "已上报街道。"}})
		if st != 200 || !strings.Contains(body, `"resolve_hours":24`) || !strings.Contains(body, `"response_hours":4`) || !strings.Contains(body, "已上报街道") {
			t.Fatalf("edit: %d %s", st, body)
		}
		if st, _ := city.Do("PUT", "/api/v1/requests/services/no_such", map[string]any{"resolve_hours": 24}); st != 404 {
			t.Fatalf("edit of an unknown category: %d", st)
		}
		e.Clock.Add(time.Hour)
		res, co, prov, city = e.Login("res1"), e.Login("countyOfficer"), e.Login("prov"), e.Login("city")
		t1 := e.Clock.Now()
		fresh := rqSubmit(t, res, map[string]any{"category": "lift_retrofit", "description": "5 号楼也想加装电梯"})
		if due := rqTime(t, fresh.ResolveDue); !due.Equal(t1.Add(24 * time.Hour)) {
			t.Fatalf("new request: resolve due %s, want %s", due, t1.Add(24*time.Hour))
		}
		if due := rqTime(t, rqGet(t, res, old.ID).ResolveDue); !due.Equal(t0.Add(48 * time.Hour)) {
			t.Fatalf("old request's deadline moved to %s", due)
		}
		// Audited, with what changed.
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.category.create' AND object_id = 'lift_retrofit' AND actor = 'prov'`); n != 1 {
			t.Fatalf("%d create audit entries", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.category.update' AND object_id = 'lift_retrofit' AND actor = 'city' AND detail LIKE '%resolve_hours%'`); n != 1 {
			t.Fatalf("%d update audit entries", n)
		}
		// The page: a county officer reads the catalogue without edit links;
		// a city officer edits through the form.
		st, page := co.Do("GET", "/requests/catalogue", nil)
		if st != 200 || !strings.Contains(page, "lift_retrofit") || strings.Contains(page, "/requests/catalogue/lift_retrofit") {
			t.Fatalf("catalogue page for a county officer: %d", st)
		}
		st, page = city.Do("GET", "/requests/catalogue/lift_retrofit", nil)
		if st != 200 || !strings.Contains(page, "已协调施工单位。") {
			t.Fatalf("edit page: %d", st)
		}
		form := map[string]string{"group": "设施 / Facilities", "name_zh": "加装电梯", "name_en": "Lift retrofit", "description_zh": "加装电梯协调",
			"description_en": "Lift retrofits", "response_hours": "abc", "resolve_hours": "36", "public": "1", "reply_templates": "已协调施工单位。\n已上报街道。"}
		st, page, _ = city.Form("/requests/catalogue/lift_retrofit", form, nil)
		if st != 400 || !strings.Contains(page, "受理时限须为") {
			t.Fatalf("bad form: %d", st)
		}
		form["response_hours"] = "8"
		st, _, hdr := city.Form("/requests/catalogue/lift_retrofit", form, nil)
		if st != 303 || !strings.HasPrefix(hdr.Get("Location"), "/requests/catalogue") {
			t.Fatalf("form edit: %d %v", st, hdr)
		}
		st, body = c0(e).Do("GET", "/api/v1/requests/services", nil)
		if st != 200 || !strings.Contains(body, `"resolve_hours":36`) || !strings.Contains(body, `"response_hours":8`) {
			t.Fatalf("form edit not applied: %s", body)
		}
		// A new category through the page.
		st, _, hdr = prov.Form("/requests/catalogue/new", map[string]string{"code": "pets", "name_zh": "宠物管理", "name_en": "Pets", "unit_level": "5",
			"response_hours": "8", "resolve_hours": "72", "working_hours": "1", "public": "1"}, nil)
		if st != 303 {
			t.Fatalf("page create: %d %v", st, hdr)
		}
		rqSubmit(t, res, map[string]any{"category": "pets", "description": "楼道里有流浪猫"})
	})
}

// c0 is a client that is not signed in.
func c0(e *apptest.Env) *apptest.Client { return e.Client() }

func rqTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}
