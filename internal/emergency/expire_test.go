package emergency_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
)

// A warning ends at its CAP expires time even without a Cancel: check-ins
// close, the 工作台 and 我的 drop it, the state says so once, and the
// incident can be reviewed.
func TestAWarningEndsAtItsExpiry(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		issued := w.issue(t, orange(communityA)) // expires 2026-11-30 18:00 +08:00
		alert := issued.Alert.ID
		elder, _, _ := w.checkOf(t, issued.Alert.IncidentID, "person", w.elder)
		work := func(t *testing.T) []string {
			t.Helper()
			items, err := w.es.Work(as("nb.1", access.GridWorker, communityA), &access.Principal{Username: "nb.1", Role: access.GridWorker, Division: communityA}, 50)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, it := range items {
				kinds = append(kinds, it.Kind)
			}
			return kinds
		}
		mine := func(t *testing.T) string {
			t.Helper()
			_, page, _ := e.Login("res.a").Get("/emergency/mine")
			return page
		}

		t.Run("before its expiry the helper has the elder to reach and the resident sees the warning", func(t *testing.T) {
			e.Clock.Set(time.Date(2026, 11, 30, 9, 59, 0, 0, time.UTC))
			if got := work(t); len(got) != 1 || got[0] != "emergency.person" {
				t.Fatalf("%v", got)
			}
			if !strings.Contains(mine(t), "台风橙色预警") {
				t.Fatal("the resident does not see the warning")
			}
			if n, err := w.es.ExpireDue(as("officer.town", access.Officer, townA)); err != nil || n != 0 {
				t.Fatalf("%d expired early (%v)", n, err)
			}
		})
		t.Run("past it check-ins are refused with a reason and nothing is written", func(t *testing.T) {
			e.Clock.Set(time.Date(2026, 11, 30, 10, 1, 0, 0, time.UTC))
			st, body := e.Login("nb.1").Do("POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: "safe"})
			if st != 409 || !strings.Contains(body, "已过失效时间") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_check_events WHERE check_id = $1`, elder); n != 0 {
				t.Fatalf("%d events", n)
			}
		})
		t.Run("我的 drops it at once, before the state is marked", func(t *testing.T) {
			if strings.Contains(mine(t), "台风橙色预警") {
				t.Fatal("the resident still sees the expired warning")
			}
		})
		t.Run("the expiry pass marks it once, with one audit entry, and the 工作台 agrees", func(t *testing.T) {
			ctx := as("officer.town", access.Officer, townA)
			for i, want := range []int{1, 0} {
				if n, err := w.es.ExpireDue(ctx); err != nil || n != want {
					t.Fatalf("pass %d: %d (%v)", i+1, n, err)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_alerts WHERE id = $1 AND state = 'expired'`, alert); n != 1 {
				t.Fatal("not marked expired")
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.alert.expire' AND object_id = $1`, alert); n != 1 {
				t.Fatalf("%d audit entries", n)
			}
			if got := work(t); len(got) != 0 {
				t.Fatalf("%v", got)
			}
		})
		t.Run("the list shows it expired, the board offers no cancel, and an Update is refused", func(t *testing.T) {
			off := e.Login("officer.town")
			_, list, _ := off.Get("/emergency")
			if !strings.Contains(list, "已失效") {
				t.Fatal("the list does not say expired")
			}
			_, page, _ := off.Get("/emergency/alerts/" + alert)
			if strings.Contains(page, "/cancel") {
				t.Fatal("an expired warning offers a cancel")
			}
			if st, body := off.Do("POST", "/api/v1/emergency/alerts/"+alert+"/update", orange(communityA)); st != 409 {
				t.Fatalf("%d %s", st, body)
			}
		})
	})
}
