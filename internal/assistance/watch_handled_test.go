package assistance_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/assistance"
	"linli/internal/registry"
)

// A warning is handled by an application started from it or by a
// dismissal with a reason, confirmed on its own page; the monitoring page
// shows the share of the last 90 days' warnings handled within five
// working days, counting those still listed once their time is past.
func TestWarningsAreDismissedWithAReasonAndHandledInTime(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		edge := func() (string, string) {
			hh, ms := w.household(t, "", 1970)
			if _, err := w.reg.AddTag(w.cw, ms[0], registry.TagInput{Tag: "dibao_edge"}); err != nil {
				t.Fatal(err)
			}
			return hh, assistance.SignalEdge + ":" + ms[0]
		}
		dismissed, dismissedSource := edge()
		applied, appliedSource := edge()
		waiting, _ := edge()
		cw := e.Login("cw.a")
		listed := func(t *testing.T, hh string) bool {
			t.Helper()
			pg := apptest.JSON[assistance.WatchPage](t, cw, "GET", "/api/v1/assistance/warnings", nil, 200)
			for _, g := range pg.Items {
				if g.HouseholdID == hh {
					return true
				}
			}
			return false
		}
		t.Run("a dismissal without a reason, of no warning, or by an officer is refused and writes nothing", func(t *testing.T) {
			for _, c := range []struct {
				in    assistance.DismissInput
				field string
			}{
				{assistance.DismissInput{HouseholdID: dismissed, Source: dismissedSource, Reason: "  "}, `"field":"reason"`},
				{assistance.DismissInput{HouseholdID: dismissed, Source: appliedSource, Reason: "核实无困难"}, `"field":"source"`},
			} {
				if st, body := cw.Do("POST", "/api/v1/assistance/warnings/dismiss", c.in); st != 400 || !strings.Contains(body, c.field) {
					t.Fatalf("%+v: %d %s", c.in, st, body)
				}
			}
			if st, _ := e.Login("off.county").Do("POST", "/api/v1/assistance/warnings/dismiss", assistance.DismissInput{HouseholdID: dismissed, Source: dismissedSource, Reason: "核实无困难"}); st != 403 {
				t.Fatalf("an officer dismisses: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_watch_handled`); n != 0 || !listed(t, dismissed) {
				t.Fatalf("%d handled rows after refusals", n)
			}
		})
		t.Run("the page asks to confirm with a reason; confirmed, the warning leaves the list and the dismissal is audited", func(t *testing.T) {
			st, page, _ := cw.Get("/assistance/watch")
			if st != 200 || !strings.Contains(page, `id="dismiss-dibao_edge-`) {
				t.Fatalf("watch page: %d", st)
			}
			href := "/assistance/watch/dismiss?household_id=" + dismissed + "&source=" + dismissedSource
			if st, page, _ := cw.Get(href); st != 200 || !strings.Contains(page, `id="confirm-dismiss"`) || !strings.Contains(page, "低保边缘家庭") {
				t.Fatalf("confirmation page: %d", st)
			}
			form := map[string]string{"household_id": dismissed, "source": dismissedSource}
			if st, page, _ := cw.Form("/assistance/watch/dismiss", form, nil); st != 400 || !strings.Contains(page, `href="#f-reason"`) {
				t.Fatalf("without a reason: %d", st)
			}
			form["reason"] = "入户核实：子女按月赡养，生活无困难"
			if st, _, hdr := cw.Form("/assistance/watch/dismiss", form, nil); st != 303 || hdr.Get("Location") != "/assistance/watch?dismissed=1" {
				t.Fatalf("dismiss: %d %v", st, hdr)
			}
			if listed(t, dismissed) {
				t.Fatal("a dismissed warning is still listed")
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.watch_dismiss' AND object_id = $1`, dismissed); n != 1 {
				t.Fatalf("%d audit entries", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_watch_handled WHERE household_id = $1 AND how = 'dismissed' AND reason = $2`, dismissed, form["reason"]); n != 1 {
				t.Fatalf("%d dismissals kept", n)
			}
			if st, _ := cw.Do("POST", "/api/v1/assistance/warnings/dismiss", assistance.DismissInput{HouseholdID: dismissed, Source: dismissedSource, Reason: "再次忽略"}); st != 400 {
				t.Fatalf("dismissed twice: %d", st)
			}
		})
		t.Run("an application started from a warning handles it", func(t *testing.T) {
			a, err := w.as.Apply(w.cw, assistance.ApplyInput{HouseholdID: applied, IncomeFen: fen(50000), AssetsFen: fen(0), Programmes: []string{"dibao_edge"}, Consent: true, Source: appliedSource})
			if err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_watch_handled WHERE household_id = $1 AND how = 'applied' AND application_id = $2`, applied, a.ID); n != 1 {
				t.Fatalf("%d handled rows for the application", n)
			}
		})
		t.Run("the share counts the two handled in time; the third once its five working days are past", func(t *testing.T) {
			got := apptest.JSON[assistance.Timeliness](t, cw, "GET", "/api/v1/assistance/warnings/timeliness", nil, 200)
			if got.OnTime != 2 || got.Late != 0 || got.Overdue != 0 || got.Percent == nil || *got.Percent != 100 {
				t.Fatalf("today: %+v", got)
			}
			e.Clock.Add(10 * 24 * time.Hour) // Wednesday 9 December: 29 November's warnings were due on 4 December
			cw = e.Login("cw.a")
			if !listed(t, waiting) {
				t.Fatal("the waiting warning left the list")
			}
			got = apptest.JSON[assistance.Timeliness](t, cw, "GET", "/api/v1/assistance/warnings/timeliness", nil, 200)
			if got.OnTime != 2 || got.Overdue != 1 || got.Percent == nil || *got.Percent != 67 || got.Days != assistance.WatchSLADays {
				t.Fatalf("ten days on: %+v", got)
			}
			if st, page, _ := cw.Get("/assistance/watch"); st != 200 || !strings.Contains(page, "处理率 67%") {
				t.Fatalf("watch page: %d", st)
			}
			if st, _ := e.Login("cw.b").Do("GET", "/api/v1/assistance/warnings/timeliness", nil); st != 200 {
				t.Fatalf("another community: %d", st)
			}
			if other := apptest.JSON[assistance.Timeliness](t, e.Login("cw.b"), "GET", "/api/v1/assistance/warnings/timeliness", nil, 200); other.Counted() != 0 || other.Percent != nil {
				t.Fatalf("another community counts %+v", other)
			}
			if st, _ := e.Login("off.county").Do("GET", "/api/v1/assistance/warnings/timeliness", nil); st != 403 {
				t.Fatalf("an officer reads the share: %d", st)
			}
		})
	})
}
