package requests_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/requests"
)

func TestWorkingHourDeadlinesAcrossWeekend(t *testing.T) {
	t.Parallel()
	cal := requests.DefaultCalendar
	cst := requests.CST
	for _, c := range []struct {
		name    string
		start   time.Time
		hours   int
		working bool
		want    time.Time
	}{
		{"Friday 16:00 + 4 working hours: 1.5 h on Friday, 2.5 h from Monday 08:30",
			time.Date(2026, 11, 27, 16, 0, 0, 0, cst), 4, true, time.Date(2026, 11, 30, 11, 0, 0, 0, cst)},
		{"Saturday noon + 8 working hours: Monday 8:30–12:00 and 13:30–17:30, then Tuesday",
			time.Date(2026, 11, 28, 12, 0, 0, 0, cst), 8, true, time.Date(2026, 12, 1, 9, 0, 0, 0, cst)},
		{"the lunch break is not working time",
			time.Date(2026, 11, 30, 11, 0, 0, 0, cst), 2, true, time.Date(2026, 11, 30, 14, 30, 0, 0, cst)},
		{"calendar hours run through the weekend",
			time.Date(2026, 11, 27, 16, 0, 0, 0, cst), 24, false, time.Date(2026, 11, 28, 16, 0, 0, 0, cst)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := cal.Due(c.start, c.hours, c.working); !got.Equal(c.want) {
				t.Errorf("%s + %dh (working %v) = %s, want %s", c.start, c.hours, c.working, got.In(cst), c.want)
			}
		})
	}
	t.Run("a make-up Sunday works, a holiday Monday does not", func(t *testing.T) {
		holidays := &requests.Calendar{Periods: cal.Periods, Holidays: map[string]bool{"2026-11-30": true}, Workdays: map[string]bool{"2026-11-29": true}}
		if got := holidays.Due(time.Date(2026, 11, 29, 17, 0, 0, 0, cst), 1, true); !got.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, cst)) {
			t.Errorf("holiday calendar: %s", got.In(cst))
		}
	})
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		t.Run("the store writes the working-hour deadline", func(t *testing.T) {
			people(e)
			e.Clock.Add(-48 * time.Hour) // Friday 16:00 China time
			r := submit(t, e.Login("res1"), map[string]any{"category": "repair", "description": "井盖松动", "attributes": map[string]string{"facility": "manhole"}})
			if want := time.Date(2026, 11, 30, 11, 0, 0, 0, cst); !r.ResponseDue.Equal(want) {
				t.Fatalf("response due %s, want Monday 11:00 China time", r.ResponseDue.In(cst))
			}
		})
	})
}

// runTwice runs the SLA job from two runners at once, as two processes
// would, and returns what each did.
func runTwice(t *testing.T, s *requests.Store, now time.Time) [2]requests.SLAResult {
	t.Helper()
	var wg sync.WaitGroup
	var results [2]requests.SLAResult
	var errs [2]error
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = s.RunSLAOnce(context.Background(), now) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	return results
}

func TestSLAJobEscalatesOnce(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		s := store(e)
		hook := &recorder{ch: make(chan requests.Notice, 100)}
		s.Notifier = hook
		res, wa, street := e.Login("res1"), e.Login("workerA"), e.Login("street")
		r := submit(t, res, map[string]any{"category": "fire", "description": "消防通道堵塞"}) // 2 calendar hours to respond
		other := submit(t, res, map[string]any{"category": "fire", "description": "另一处通道堵塞"})
		act(t, wa, other.ID, "accept", nil)
		t.Run("within the warning window a deadline warns, nothing is overdue", func(t *testing.T) {
			got, err := s.RunSLAOnce(context.Background(), e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got.Overdue != 0 || got.Warned == 0 {
				t.Fatalf("first run: %+v", got)
			}
			if n := eventsOf(e, r.ID, "warn"); n != 1 {
				t.Fatalf("%d warnings", n)
			}
		})
		t.Run("past the response deadline two runners escalate it to the street exactly once", func(t *testing.T) {
			e.Clock.Add(3 * time.Hour)
			street = e.Login("street")
			results := runTwice(t, s, e.Clock.Now())
			if n := results[0].Escalated + results[1].Escalated; n != 1 {
				t.Fatalf("escalated %d times: %+v", n, results)
			}
			if got := get(t, street, r.ID); got.Unit != townshipA || got.Escalation != 1 {
				t.Fatalf("not escalated to the street: %+v", got)
			}
			if n := eventsOf(e, r.ID, "escalate"); n != 1 {
				t.Fatalf("%d escalations of the response deadline", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM request_sla_marks WHERE request_id = $1 AND mark LIKE 'response:2:%'`, r.ID); n != 1 {
				t.Fatalf("%d response marks", n)
			}
		})
		t.Run("the deployment's notifier hears of the escalation", func(t *testing.T) {
			for got := false; !got; {
				select {
				case n := <-hook.ch:
					got = n.Kind == "overdue" && n.Number == r.Number && n.Unit == townshipA
				case <-time.After(10 * time.Second):
					t.Fatal("the notifier was not called for the escalation")
				}
			}
		})
		t.Run("a later run escalates nothing more", func(t *testing.T) {
			if _, err := s.RunSLAOnce(context.Background(), e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			if n := eventsOf(e, r.ID, "escalate"); n != 1 {
				t.Fatalf("escalated again: %d", n)
			}
		})
		t.Run("the street's inbox holds the notice and the request as overdue", func(t *testing.T) {
			ns := apptest.JSON[[]notice](t, street, "GET", "/api/v1/requests/notices", nil, 200)
			if !slices.ContainsFunc(ns, func(n notice) bool { return n.Number == r.Number && n.Kind == "overdue" }) {
				t.Fatalf("street notices: %+v", ns)
			}
			l := apptest.JSON[list](t, street, "GET", "/api/v1/requests?box=overdue", nil, 200)
			if !slices.ContainsFunc(l.Items, func(x request) bool { return x.ID == r.ID }) {
				t.Fatalf("overdue box: %+v", l)
			}
		})
		t.Run("the resolution deadline later escalates to the county, once", func(t *testing.T) {
			e.Clock.Add(30 * time.Hour)
			street = e.Login("street")
			for range 3 {
				if _, err := s.RunSLAOnce(context.Background(), e.Clock.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if got := get(t, street, r.ID); got.Unit != county || got.Escalation != 2 {
				t.Fatalf("resolution escalation: %+v", got)
			}
			if n := eventsOf(e, r.ID, "escalate"); n != 2 {
				t.Fatalf("%d escalations in all", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.escalate' AND object_id = $1`, r.Number); n != 2 {
				t.Fatalf("%d escalation audit entries", n)
			}
		})
	})
}

func TestRequestAutoCloseWithoutEvaluation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		s := store(e)
		s.AutoCloseAfter = 3 * 24 * time.Hour
		res, wa := e.Login("res1"), e.Login("workerA")
		answer := func(desc string) request {
			t.Helper()
			r := submit(t, res, map[string]any{"category": "policy", "description": desc})
			act(t, wa, r.ID, "accept", nil)
			return act(t, wa, r.ID, "answer", map[string]any{"reply": "已电话解答"})
		}
		// advance moves the clock and signs in again (sessions idle out).
		advance := func(d time.Duration) {
			e.Clock.Add(d)
			res, wa = e.Login("res1"), e.Login("workerA")
		}
		run := func(t *testing.T) requests.SLAResult {
			t.Helper()
			got, err := s.RunSLAOnce(context.Background(), e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		r1, r2, r3 := answer("医保报销比例咨询"), answer("社保转移咨询"), answer("户籍迁入咨询")
		act(t, res, r3.ID, "evaluate", map[string]any{"rating": "satisfied"})
		t.Run("before the deadline nothing closes", func(t *testing.T) {
			advance(2 * 24 * time.Hour)
			if got := run(t); got.AutoClosed != 0 {
				t.Fatalf("closed early: %+v", got)
			}
			if got := get(t, res, r1.ID); got.Status != "answered" {
				t.Fatalf("status after 2 days: %s", got.Status)
			}
		})
		t.Run("past it, two runners close each unevaluated request exactly once", func(t *testing.T) {
			advance(24*time.Hour + time.Minute)
			results := runTwice(t, s, e.Clock.Now())
			if n := results[0].AutoClosed + results[1].AutoClosed; n != 2 {
				t.Fatalf("auto-closed %d requests (%+v)", n, results)
			}
			for _, id := range []string{r1.ID, r2.ID} {
				if n := eventsOf(e, id, "autoclose"); n != 1 {
					t.Fatalf("%d autoclose events", n)
				}
				got := get(t, res, id)
				last := got.Events[len(got.Events)-1]
				if got.Status != "closed" || last.Action != "autoclose" || last.To != "closed" || last.Actor != "system" {
					t.Fatalf("closed: %s, last event %+v", got.Status, last)
				}
				if last.Note != "自动办结（未评价）：办结后 3 天未评价 / closed without evaluation: not evaluated within 3 days of the answer" {
					t.Fatalf("the event does not say why: %q", last.Note)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'request.autoclose'`); n != 2 {
				t.Fatalf("%d audit entries", n)
			}
		})
		t.Run("the evaluated request is not touched", func(t *testing.T) {
			if got := get(t, res, r3.ID); got.Status != "evaluated" || eventsOf(e, r3.ID, "autoclose") != 0 {
				t.Fatalf("evaluated request changed: %+v", got)
			}
		})
		t.Run("the timeline page shows the reason", func(t *testing.T) {
			st, page, _ := res.Get("/requests/" + r1.ID)
			if st != 200 || !containsAll(page, "自动办结（未评价）") {
				t.Fatalf("timeline: %d", st)
			}
		})
		t.Run("later runs do nothing more and an evaluation is now too late", func(t *testing.T) {
			if got := run(t); got.AutoClosed != 0 {
				t.Fatalf("closed again: %+v", got)
			}
			if n := eventsOf(e, r1.ID, "autoclose"); n != 1 {
				t.Fatalf("%d autoclose events after a rerun", n)
			}
			refuse(t, res, r1.ID, "evaluate", map[string]any{"rating": "satisfied"}, 409)
		})
		t.Run("within the reopen window the reporter may still reopen", func(t *testing.T) {
			got := act(t, res, r1.ID, "reopen", map[string]any{"note": "还是没解决"})
			if got.Status != "reopened" || got.ReopenCount != 1 {
				t.Fatalf("reopen after auto-close: %+v", got)
			}
		})
		t.Run("past the window, no longer", func(t *testing.T) {
			advance(4 * 24 * time.Hour)
			p := refuse(t, res, r2.ID, "reopen", map[string]any{"note": "还是没解决"}, 409)
			if p.Detail != "办结已超过 7 天，请提交新诉求" || p.DetailEN != "answered more than 7 days ago: please submit a new request" {
				t.Fatalf("late reopen: %+v", p)
			}
			if got := get(t, res, r2.ID); got.Status != "closed" {
				t.Fatalf("late reopen changed the request: %+v", got)
			}
		})
		t.Run("by default answered requests close after 7 calendar days", func(t *testing.T) {
			s.AutoCloseAfter = 0
			r4 := answer("低保申请条件咨询")
			advance(7*24*time.Hour - time.Minute)
			run(t)
			if got := get(t, res, r4.ID); got.Status != "answered" {
				t.Fatalf("closed before 7 days: %s", got.Status)
			}
			advance(2 * time.Minute)
			if got := run(t); got.AutoClosed != 1 {
				t.Fatalf("default auto-close: %+v", got)
			}
			if got := get(t, res, r4.ID); got.Status != "closed" {
				t.Fatalf("not closed after 7 days: %s", got.Status)
			}
		})
		t.Run("a negative delay never closes", func(t *testing.T) {
			s.AutoCloseAfter = -1
			r5 := answer("养老金查询")
			advance(30 * 24 * time.Hour)
			if got := run(t); got.AutoClosed != 0 {
				t.Fatalf("closed with auto-close off: %+v", got)
			}
			if got := get(t, res, r5.ID); got.Status != "answered" {
				t.Fatalf("status: %s", got.Status)
			}
		})
	})
}
