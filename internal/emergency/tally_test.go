package emergency_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"linli/internal/apptest"
	"linli/internal/emergency"
)

// The board reads kept counts (em_tally), never a count of the checks: at
// every step they must equal one.
func TestTheBoardsKeptCountsEqualACountOfTheChecks(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		same := func(t *testing.T) {
			t.Helper()
			read := func(q string) []string {
				rows, err := e.App.DB.R.Query(q)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var inc, div, kind, st string
					var n int
					if err := rows.Scan(&inc, &div, &kind, &st, &n); err != nil {
						t.Fatal(err)
					}
					out = append(out, fmt.Sprintf("%s %s %s %s %d", inc, div, kind, st, n))
				}
				sort.Strings(out)
				return out
			}
			kept := read(`SELECT incident_id, division_code, kind, status, n FROM em_tally WHERE n > 0`)
			counted := read(`SELECT incident_id, division_code, kind, status, COUNT(*) FROM em_checks GROUP BY incident_id, division_code, kind, status`)
			if fmt.Sprint(kept) != fmt.Sprint(counted) {
				t.Fatalf("kept %v\ncounted %v", kept, counted)
			}
		}
		got := w.issue(t, orange(communityA))
		alert := got.Alert.ID
		elder, _, _ := w.checkOf(t, got.Alert.IncidentID, "person", w.elder)
		bed, _, _ := w.checkOf(t, got.Alert.IncidentID, "person", w.bed)
		h2, _, _ := w.checkOf(t, got.Alert.IncidentID, "household", w.h2)
		report := func(t *testing.T, user string, in emergency.CheckinInput) {
			t.Helper()
			in.AlertID = alert
			apptest.JSON[emergency.CheckinResult](t, e.Login(user), "POST", "/api/v1/emergency/checkins", in, 200)
		}

		t.Run("after the targeting every check is pending, counted once", func(t *testing.T) {
			same(t)
			b := apptest.JSON[emergency.Board](t, e.Login("officer.town"), "GET", "/api/v1/emergency/alerts/"+alert+"/board", nil, 200)
			if b.Households.Total != b.Households.Pending || b.Vulnerable.Total != 2 || b.Vulnerable.Pending != 2 {
				t.Fatalf("%+v %+v", b.Households, b.Vulnerable)
			}
		})
		t.Run("after reports by the helper, a worker and the resident, and an evacuation", func(t *testing.T) {
			report(t, "nb.1", emergency.CheckinInput{CheckID: elder, Status: "unreachable"})
			same(t)
			report(t, "nb.1", emergency.CheckinInput{CheckID: elder, Status: "safe"})
			report(t, "gw.2", emergency.CheckinInput{CheckID: bed, Status: "evacuated", ShelterID: w.shelter})
			report(t, "gw.2", emergency.CheckinInput{CheckID: h2, Status: "needs_help", Note: "老人行动不便"})
			report(t, "res.a", emergency.CheckinInput{Status: "safe"})
			same(t)
		})
		t.Run("opposite moves at once in one community never deadlock and keep the counts", func(t *testing.T) {
			// The elder is safe and the bedridden man, moved earlier, now
			// needs help: both vulnerable residents of community A, whose
			// counts share rows. Each is toggled the other way round, at
			// the same time.
			report(t, "gw.2", emergency.CheckinInput{CheckID: bed, Status: "needs_help", Note: "药品用完"})
			var wg sync.WaitGroup
			errs := make(chan string, 40)
			toggle := func(id int64, first, second string) {
				defer wg.Done()
				c := e.Login("gw.2")
				for i := range 10 {
					st := first
					if i%2 == 1 {
						st = second
					}
					if code, body := c.Do("POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, CheckID: id, Status: st, Note: "需要协助"}); code != 200 {
						errs <- fmt.Sprintf("%d %s", code, body)
					}
				}
			}
			wg.Add(2)
			go toggle(elder, "needs_help", "safe")
			go toggle(bed, "safe", "needs_help")
			wg.Wait()
			close(errs)
			for msg := range errs {
				t.Error(msg)
			}
			same(t)
		})
		t.Run("a refused report moves no count", func(t *testing.T) {
			if st, body := e.Login("nb.1").Do("POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: "unreachable"}); st != 409 {
				t.Fatalf("%d %s", st, body)
			}
			same(t)
		})
		t.Run("an Update widening the area counts the new checks", func(t *testing.T) {
			apptest.JSON[emergency.Issued](t, e.Login("officer.county"), "POST", "/api/v1/emergency/alerts/"+alert+"/update", orange(communityA, communityB), 201)
			same(t)
			b := apptest.JSON[emergency.Board](t, e.Login("officer.county"), "GET", "/api/v1/emergency/alerts/"+alert+"/board", nil, 200)
			if b.Vulnerable.Total != 3 || b.Vulnerable.Safe != 1 || b.Vulnerable.NeedsHelp != 1 || b.Vulnerable.Pending != 1 || len(b.Rows) != 2 {
				t.Fatalf("%+v %d rows", b.Vulnerable, len(b.Rows))
			}
			// Needing help comes first, then the not yet reached.
			if len(b.Waiting) != 2 || b.Waiting[0].Status != "needs_help" || b.Waiting[1].Division != communityB {
				t.Fatalf("waiting %+v", b.Waiting)
			}
		})
	})
}
