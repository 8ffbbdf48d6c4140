package emergency_test

import (
	"fmt"
	"sync"
	"testing"

	"linli/internal/apptest"
	"linli/internal/emergency"
)

// Check-ins arriving together commit together: each is applied in its own
// savepoint, a refused one rolls back alone, and every accepted one has
// its event and its audit entry in an unbroken chain.
func TestCheckInsArrivingTogetherCommitTogetherAndAlone(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		var extra []string
		for i := range 16 {
			extra = append(extra, w.household(t, w.cw, communityA, fmt.Sprintf("X%02d", i), ""))
		}
		got := w.issue(t, orange(communityA))
		inc := got.Alert.IncidentID
		var ids []int64
		for _, hh := range extra {
			id, _, _ := w.checkOf(t, inc, "household", hh)
			ids = append(ids, id)
		}
		// Half are reported safe beforehand: reporting them safe again is
		// a conflict, in the middle of the others.
		cw := e.Login("cw.a")
		for _, id := range ids[:8] {
			apptest.JSON[emergency.CheckinResult](t, cw, "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: got.Alert.ID, CheckID: id, Status: "safe"}, 200)
		}
		before := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.checkin'`)

		t.Run("sixteen at once: the eight new ones pass, the eight repeats are refused", func(t *testing.T) {
			var wg sync.WaitGroup
			codes := make([]int, len(ids))
			for i, id := range ids {
				wg.Go(func() {
					codes[i], _ = cw.Do("POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: got.Alert.ID, CheckID: id, Status: "safe"})
				})
			}
			wg.Wait()
			for i, c := range codes {
				if want := map[bool]int{true: 409, false: 200}[i < 8]; c != want {
					t.Errorf("check %d: %d, want %d", i, c, want)
				}
			}
		})
		t.Run("each accepted one has one event and one audit entry; the refused wrote nothing", func(t *testing.T) {
			for i, id := range ids {
				if n := e.Count(`SELECT COUNT(*) FROM em_check_events WHERE check_id = $1`, id); n != 1 {
					t.Errorf("check %d: %d events", i, n)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.checkin'`) - before; n != 8 {
				t.Fatalf("%d new audit entries", n)
			}
		})
		t.Run("the audit chain still verifies", func(t *testing.T) {
			if _, err := e.App.Audit.Verify(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	})
}
