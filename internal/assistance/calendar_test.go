package assistance_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/assistance"
)

// The clocks count working days on a calendar kept as data: the State
// Council's holidays and make-up working days (调休) are in it, and a
// provincial officer records more; an application's clock follows.
func TestClocksRunOnTheHolidayCalendar(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("off.prov", access.Officer, "33")
		prov, off, cw := e.Login("off.prov"), e.Login("off.county"), e.Login("cw.a")
		apply := func(t *testing.T, c *apptest.Client) assistance.Application {
			t.Helper()
			hh, _ := w.household(t, "", 1970)
			return apptest.JSON[assistance.Application](t, c, "POST", "/api/v1/assistance/applications", assistance.ApplyInput{HouseholdID: hh, IncomeFen: fen(0), Programmes: []string{"dibao"}}, 201)
		}
		cst := time.FixedZone("CST", 8*3600)
		t.Run("the 2026 notice is in the calendar: 国庆 off, Saturday 10 October working", func(t *testing.T) {
			days := apptest.JSON[[]assistance.CalendarDay](t, cw, "GET", "/api/v1/assistance/calendar?year=2026", nil, 200)
			got := map[string]bool{}
			for _, d := range days {
				got[d.Day] = d.Working
			}
			if w, ok := got["2026-10-01"]; !ok || w {
				t.Errorf("2026-10-01: %v %v", w, ok)
			}
			if w, ok := got["2026-10-10"]; !ok || !w {
				t.Errorf("2026-10-10: %v %v", w, ok)
			}
			if len(days) != 39 {
				t.Errorf("%d days in 2026, want 39 (33 off, 6 made working)", len(days))
			}
		})
		t.Run("only a provincial officer records a day, naming the field of bad input", func(t *testing.T) {
			if st, _ := off.Do("PUT", "/api/v1/assistance/calendar", assistance.CalendarDay{Day: "2026-12-01", Name: "假日"}); st != 403 {
				t.Fatalf("county officer: %d", st)
			}
			for field, in := range map[string]assistance.CalendarDay{"day": {Day: "2026-13-01", Name: "假日"}, "name": {Day: "2026-12-01"}} {
				if st, body := prov.Do("PUT", "/api/v1/assistance/calendar", in); st != 400 || !strings.Contains(body, `"field":"`+field+`"`) {
					t.Fatalf("bad %s: %d %s", field, st, body)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM ast_calendar WHERE day >= '2026-11-01'`); n != 0 {
				t.Fatalf("%d days written by refused input", n)
			}
		})
		t.Run("a holiday on Tuesday 1 December and a working Saturday 5 December move the clock", func(t *testing.T) {
			// Submitted on Sunday 29 November: five working days are Mon 30,
			// Wed 2, Thu 3, Fri 4 and Sat 5 December.
			apptest.JSON[[]assistance.CalendarDay](t, prov, "PUT", "/api/v1/assistance/calendar", assistance.CalendarDay{Day: "2026-12-01", Working: false, Name: "地方假日"}, 200)
			a := apply(t, cw)
			if want := time.Date(2026, 12, 7, 17, 30, 0, 0, cst); !a.Due.Equal(want) {
				t.Fatalf("with the holiday, due %v, want %v", a.Due, want)
			}
			apptest.JSON[[]assistance.CalendarDay](t, prov, "PUT", "/api/v1/assistance/calendar", assistance.CalendarDay{Day: "2026-12-05", Working: true, Name: "调休上班"}, 200)
			if a := apply(t, cw); !a.Due.Equal(time.Date(2026, 12, 5, 17, 30, 0, 0, cst)) {
				t.Fatalf("with the working Saturday, due %v", a.Due)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.calendar_set'`); n != 2 {
				t.Errorf("%d audited changes, want 2", n)
			}
		})
		t.Run("an application on the eve of 国庆 is due after the holidays, counting the working Saturday", func(t *testing.T) {
			// Wednesday 30 September: 1–7 October off; Thu 8, Fri 9, Sat 10
			// (调休), Mon 12 and Tue 13 are the five working days.
			e.Clock.Set(time.Date(2026, 9, 30, 10, 0, 0, 0, cst))
			hh, _ := w.household(t, "", 1970)
			a, err := w.as.Apply(w.cw, assistance.ApplyInput{HouseholdID: hh, IncomeFen: fen(0), Programmes: []string{"dibao"}})
			if err != nil {
				t.Fatal(err)
			}
			if want := time.Date(2026, 10, 13, 17, 30, 0, 0, cst); !a.Due.Equal(want) {
				t.Fatalf("due %v, want %v", a.Due, want)
			}
		})
	})
}
