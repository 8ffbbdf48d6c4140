package volunteers_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/volunteers"
)

var cst = time.FixedZone("CST", 8*3600)

// weekly is a Tuesday meals round from tomorrow for count occurrences.
func weekly(e *apptest.Env, count int) volunteers.SeriesInput {
	from := e.Clock.Now().In(cst).AddDate(0, 0, 1).Format("2006-01-02")
	return volunteers.SeriesInput{Title: "每周二助餐送餐", Place: "照料中心", Rule: volunteers.RuleWeekly, Weekdays: []int{2}, StartDate: from, Count: count,
		StartTime: "10:30", EndTime: "12:30", CutoffHours: 24, Hours: 2, Points: 20, Slots: 2, MinAge: 16, TimeBank: true}
}

func TestSeries(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		nothingWritten := func(t *testing.T) {
			t.Helper()
			if n := e.Count(`SELECT COUNT(*) FROM vol_series`) + e.Count(`SELECT COUNT(*) FROM vol_activities`); n != 0 {
				t.Fatalf("%d rows written", n)
			}
		}
		t.Run("a series without a weekday, ending before it starts or with over 366 dates is refused naming the field, nothing written", func(t *testing.T) {
			in := weekly(e, 10)
			in.Weekdays = nil
			_, err := w.vs.CreateSeries(w.cw, in)
			fieldOf(t, err, fault.CodeInvalid, "weekdays")
			in = weekly(e, 0)
			in.EndDate = e.Clock.Now().In(cst).AddDate(0, 0, -3).Format("2006-01-02")
			_, err = w.vs.CreateSeries(w.cw, in)
			fieldOf(t, err, fault.CodeInvalid, "end_date")
			in = weekly(e, 0)
			in.Rule, in.EveryDays, in.Weekdays = volunteers.RuleEvery, 1, nil
			in.EndDate = e.Clock.Now().In(cst).AddDate(2, 0, 0).Format("2006-01-02")
			_, err = w.vs.CreateSeries(w.cw, in)
			fieldOf(t, err, fault.CodeInvalid, "end_date")
			in = weekly(e, 400)
			_, err = w.vs.CreateSeries(w.cw, in)
			fieldOf(t, err, fault.CodeInvalid, "count")
			nothingWritten(t)
		})
		t.Run("over the API a bad series is a 400 naming the field in Chinese and English", func(t *testing.T) {
			in := weekly(e, 10)
			in.Weekdays = nil
			st, body := e.Login("cw.a").Do("POST", "/api/v1/activity-series", in)
			if st != 400 || !strings.Contains(body, `"weekdays"`) || !strings.Contains(body, "星期") || !strings.Contains(body, "weekday") {
				t.Fatalf("got %d %s", st, body)
			}
			if st, _ := e.Login("res.a").Do("POST", "/api/v1/activity-series", weekly(e, 10)); st != 403 {
				t.Fatalf("a resident creating a series: %d", st)
			}
			nothingWritten(t)
		})
		var sr volunteers.SeriesResult
		t.Run("a worker creates a weekly series; its shifts fall on Tuesdays at 10:30 up to the 8-week horizon", func(t *testing.T) {
			sr = apptest.JSON[volunteers.SeriesResult](t, e.Login("cw.a"), "POST", "/api/v1/activity-series", weekly(e, 20), 201)
			if sr.Generated < 8 || sr.Generated > 9 {
				t.Fatalf("generated %d shifts in 8 weeks", sr.Generated)
			}
			_, shifts, err := w.vs.OneSeries(w.cw, sr.Series.ID)
			if err != nil || len(shifts) != sr.Generated {
				t.Fatalf("%d shifts, %v", len(shifts), err)
			}
			horizon := e.Clock.Now().AddDate(0, 0, volunteers.HorizonDays+1)
			for _, a := range shifts {
				l := a.StartsAt.In(cst)
				if l.Weekday() != time.Tuesday || l.Hour() != 10 || l.Minute() != 30 || a.SeriesID != sr.Series.ID || a.Slots != 2 || a.StartsAt.After(horizon) {
					t.Fatalf("shift %+v", a)
				}
				if !a.Cutoff.Equal(a.StartsAt.Add(-24 * time.Hour)) {
					t.Fatalf("cut-off %v for %v", a.Cutoff, a.StartsAt)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'volunteers.series.create'`); n != 1 {
				t.Fatalf("%d audit records", n)
			}
		})
		t.Run("generating again makes no duplicates; a week later it adds the next week's shift", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM vol_activities`)
			res, err := w.vs.Generate(w.cw, sr.Series.ID)
			if err != nil || res.Generated != 0 || e.Count(`SELECT COUNT(*) FROM vol_activities`) != before {
				t.Fatalf("%+v %v", res, err)
			}
			e.Clock.Add(7 * 24 * time.Hour)
			res, err = w.vs.Generate(w.cw, sr.Series.ID)
			if err != nil || res.Generated != 1 {
				t.Fatalf("a week later: %+v %v", res, err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM (SELECT series_date FROM vol_activities WHERE series_id = $1 GROUP BY series_date HAVING COUNT(*) > 1) d`, sr.Series.ID); n != 0 {
				t.Fatalf("%d dates twice", n)
			}
		})
		t.Run("another community's worker cannot see or change the series", func(t *testing.T) {
			if _, _, err := w.vs.OneSeries(w.cwB, sr.Series.ID); err == nil {
				t.Fatal("read across communities")
			}
			if _, err := w.vs.CancelSeries(w.cwB, sr.Series.ID); err == nil {
				t.Fatal("cancelled across communities")
			}
		})
		var taken volunteers.Activity
		t.Run("an edit moves only the future shifts nobody signed up for", func(t *testing.T) {
			w.volunteer(t, w.resA)
			_, shifts, _ := w.vs.OneSeries(w.cw, sr.Series.ID)
			taken = shifts[1]
			if _, err := w.vs.SignUp(w.resA, taken.ID); err != nil {
				t.Fatal(err)
			}
			in := weekly(e, 20)
			in.StartDate = sr.Series.StartDate
			in.StartTime, in.EndTime = "14:00", "16:00"
			in.Rule, in.Weekdays = volunteers.RuleWeekly, []int{2}
			future := 0 // not yet held, nobody signed up
			for _, a := range shifts {
				if a.StartsAt.After(e.Clock.Now()) && a.ID != taken.ID {
					future++
				}
			}
			res, err := w.vs.UpdateSeries(w.cw, sr.Series.ID, in)
			if err != nil || future == 0 || res.Removed != future || res.Generated != res.Removed {
				t.Fatalf("%+v %v (had %d shifts)", res, err, len(shifts))
			}
			_, after, _ := w.vs.OneSeries(w.cw, sr.Series.ID)
			for _, a := range after {
				h := a.StartsAt.In(cst).Hour()
				if !a.StartsAt.After(e.Clock.Now()) {
					continue // held already: untouched
				}
				if a.ID == taken.ID && h != 10 || a.ID != taken.ID && h != 14 {
					t.Fatalf("shift %s at %d:00", a.ID, h)
				}
			}
			if len(after) != len(shifts) {
				t.Fatalf("%d shifts after the edit, %d before", len(after), len(shifts))
			}
		})
		t.Run("a bad edit is refused naming the field and changes nothing", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM vol_activities`)
			in := weekly(e, 20)
			in.Weekdays = nil
			st, body := e.Login("cw.a").Do("PUT", "/api/v1/activity-series/"+sr.Series.ID, in)
			if st != 400 || !strings.Contains(body, `"weekdays"`) || e.Count(`SELECT COUNT(*) FROM vol_activities`) != before {
				t.Fatalf("got %d %s", st, body)
			}
		})
		t.Run("cancelling the series cancels its future shifts and releases their sign-ups", func(t *testing.T) {
			res := apptest.JSON[volunteers.SeriesResult](t, e.Login("cw.a"), "POST", "/api/v1/activity-series/"+sr.Series.ID+"/cancel", nil, 200)
			if res.Released != 1 || res.Cancelled == 0 || res.Series.Status != volunteers.StatusCancelled {
				t.Fatalf("%+v", res)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_activities WHERE series_id = $1 AND status = 'open' AND starts_at > $2`, sr.Series.ID, db.T(e.Clock.Now())); n != 0 {
				t.Fatalf("%d future shifts still open", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_signups WHERE activity_id = $1 AND status <> 'cancelled'`, taken.ID); n != 0 {
				t.Fatalf("%d sign-ups kept", n)
			}
			if n := e.Count(`SELECT taken FROM vol_activities WHERE id = $1`, taken.ID); n != 0 {
				t.Fatalf("%d slots still taken", n)
			}
			_, err := w.vs.SignUp(w.resX, taken.ID)
			if we, ok := fault.As(err); !ok || we.Code != fault.CodeConflict {
				w.volunteer(t, w.resX)
				if _, err := w.vs.SignUp(w.resX, taken.ID); err == nil {
					t.Fatal("signed up on a cancelled shift")
				}
			}
			open, err := w.vs.Activities(w.cw, volunteers.ActivityFilter{Division: communityA, Open: true})
			if err != nil || len(open) != 0 {
				t.Fatalf("open list shows %d cancelled shifts, %v", len(open), err)
			}
			if _, err := w.vs.Generate(w.cw, sr.Series.ID); err == nil {
				t.Fatal("generated shifts for a cancelled series")
			}
		})
	})
}

func TestSeriesPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		newTown(t, e)
		cw := e.Login("cw.a")
		t.Run("the form has weekday checkboxes and date pickers", func(t *testing.T) {
			st, body, _ := cw.Get("/volunteers/series/new")
			if st != 200 || !strings.Contains(body, `type="checkbox" name="weekday" value="2"`) || !strings.Contains(body, `type="date"`) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("a form without a weekday comes back naming the field, nothing written", func(t *testing.T) {
			in := weekly(e, 10)
			st, body, _ := cw.Form("/volunteers/series/new", map[string]string{"title": in.Title, "place": in.Place, "rule": "weekly", "start_date": in.StartDate, "count": "10",
				"start_time": "10:30", "end_time": "12:30", "hours": "2", "slots": "3"}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-weekdays"`) || e.Count(`SELECT COUNT(*) FROM vol_series`) != 0 {
				t.Fatalf("got %d", st)
			}
		})
		var loc string
		t.Run("the worker posts a Tuesday series and sees its shifts", func(t *testing.T) {
			in := weekly(e, 10)
			st, _, hdr := cw.Form("/volunteers/series/new", map[string]string{"title": in.Title, "place": in.Place, "rule": "weekly", "weekday": "2", "start_date": in.StartDate, "count": "10",
				"start_time": "10:30", "end_time": "12:30", "cutoff_hours": "24", "hours": "2", "slots": "3"}, nil)
			loc = hdr.Get("Location")
			if st != 303 || !strings.HasPrefix(loc, "/volunteers/series/") {
				t.Fatalf("got %d %v", st, hdr)
			}
			st, body, _ := cw.Get(loc)
			if st != 200 || !strings.Contains(body, `id="shifts"`) || !strings.Contains(body, `id="generate"`) {
				t.Fatalf("got %d", st)
			}
			st, body, _ = cw.Get("/volunteers/series")
			if st != 200 || !strings.Contains(body, "每周二助餐送餐") {
				t.Fatalf("list: %d", st)
			}
		})
		id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/volunteers/series/")
		t.Run("the edit page says only future shifts without sign-ups change", func(t *testing.T) {
			st, body, _ := cw.Get("/volunteers/series/" + id + "/edit")
			if st != 200 || !strings.Contains(body, `id="edit-note"`) || !strings.Contains(body, `value="2" checked`) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("generating again from the page adds nothing; cancelling marks the series cancelled", func(t *testing.T) {
			st, _, hdr := cw.Form("/volunteers/series/"+id+"/generate", nil, nil)
			if st != 303 || !strings.HasSuffix(hdr.Get("Location"), "n=0") {
				t.Fatalf("got %d %v", st, hdr)
			}
			st, _, hdr = cw.Form("/volunteers/series/"+id+"/cancel", nil, nil)
			if st != 303 {
				t.Fatalf("cancel: %d", st)
			}
			st, body, _ := cw.Get(hdr.Get("Location"))
			if st != 200 || strings.Contains(body, `id="generate"`) || !strings.Contains(body, "已取消") {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("a resident cannot open the organiser's pages", func(t *testing.T) {
			if st, _, _ := e.Login("res.a").Get("/volunteers/series/new"); st != 403 {
				t.Fatalf("got %d", st)
			}
		})
	})
}
