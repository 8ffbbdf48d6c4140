package visits_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/db"
	"linli/internal/visits"
)

// The views published for the volunteers module's pairs: targets with
// their next open visit, and a visit closed by a paired volunteer through
// an INSERT the visits module's trigger turns into its own update.
func TestVolunteerVisits(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		month := visits.MonthOf(e.Clock.Now()).String()
		w.schedule(t, month)
		rates := func() int {
			t.Helper()
			r, err := w.vs.Rates(w.cw, communityA, month)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range r.Groups {
				if g.Group == visits.GroupSpecialElderly {
					return g.Visited
				}
			}
			t.Fatalf("no special-elderly group in %+v", r)
			return 0
		}
		first := w.visitsOf(t, w.elder1, month)[0]
		t.Run("visits_targets publishes a target's month with its next open visit, without a name", func(t *testing.T) {
			var prog, resident, due string
			if err := e.App.DB.R.QueryRow(`SELECT programme, resident_id, next_due FROM visits_targets WHERE target_id = $1 AND month = $2`, w.elder1, month).Scan(&prog, &resident, &due); err != nil {
				t.Fatal(err)
			}
			if prog != "special_elderly" || resident != w.elder1 || due != first.Due {
				t.Fatalf("%s %s %s, want the visit due %s", prog, resident, due, first.Due)
			}
			rows, err := e.App.DB.R.Query(`SELECT * FROM visits_targets LIMIT 1`)
			if err != nil {
				t.Fatal(err)
			}
			names, _ := rows.Columns()
			rows.Close()
			cols := strings.Join(names, ",")
			if cols != "programme_id,programme,programme_zh,programme_en,target_id,resident_id,household_id,division_code,month,status,next_due" {
				t.Fatalf("published columns %s", cols)
			}
		})
		before := rates()
		t.Run("a volunteer's visit inserted into visits_volunteer_visits closes the open visit as done, and the month's rate counts it", func(t *testing.T) {
			now := db.T(e.Clock.Now())
			if _, err := e.App.DB.W.Exec(`INSERT INTO visits_volunteer_visits (visit_id, visited_at, note, recorded_by, needs_help, flag_id, recorded_at) VALUES ($1, $2, '聊了家常', 'vol.a', FALSE, '', $2)`, first.ID, now); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND status = 'done' AND method = 'home' AND recorded_by = 'vol.a' AND risk = 'normal' AND note = '聊了家常'`, first.ID); n != 1 {
				t.Fatal("the visit is not closed as the volunteer's")
			}
			if after := rates(); after != before+1 {
				t.Fatalf("visited %d → %d", before, after)
			}
			if n := e.Count(`SELECT COUNT(*) FROM visits_targets WHERE target_id = $1 AND month = $2 AND next_due IS NULL`, w.elder1, month); n != 1 {
				t.Fatal("the target still shows an open visit")
			}
		})
		t.Run("closing it again is refused by the trigger and changes nothing", func(t *testing.T) {
			_, err := e.App.DB.W.Exec(`INSERT INTO visits_volunteer_visits (visit_id, visited_at, note, recorded_by, needs_help, flag_id, recorded_at) VALUES ($1, $2, '', 'vol.b', FALSE, '', $2)`, first.ID, db.T(e.Clock.Now()))
			if err == nil || !strings.Contains(err.Error(), "visit is not open") {
				t.Fatalf("got %v", err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND recorded_by = 'vol.a'`, first.ID); n != 1 {
				t.Fatal("the visit changed")
			}
		})
		t.Run("a resident who needs help: the visit is closed at attention and flagged for assistance", func(t *testing.T) {
			v := w.visitsOf(t, w.elder2, month)[0]
			if _, err := e.App.DB.W.Exec(`INSERT INTO visits_volunteer_visits (visit_id, visited_at, note, recorded_by, needs_help, flag_id, recorded_at) VALUES ($1, $2, '', 'vol.a', TRUE, 'flag-1', $2)`, v.ID, db.T(e.Clock.Now())); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_visits WHERE id = $1 AND status = 'done' AND risk = 'attention'`, v.ID); n != 1 {
				t.Fatal("not closed at attention")
			}
			if n := e.Count(`SELECT COUNT(*) FROM vis_assistance_flags WHERE id = 'flag-1' AND visit_id = $1 AND status = 'open' AND reason <> '' AND division_code = $2`, v.ID, communityA); n != 1 {
				t.Fatalf("%d flags", n)
			}
		})
	})
}
