package emergency_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/emergency"
)

func containsField(body, field string) bool {
	return strings.Contains(body, `"field":"`+field+`"`)
}

func TestCheckInsFollowTheirStateMachine(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		got := w.issue(t, orange(communityA))
		inc, alert := got.Alert.IncidentID, got.Alert.ID
		elder, _, _ := w.checkOf(t, inc, "person", w.elder)
		bed, _, _ := w.checkOf(t, inc, "person", w.bed)
		nb := e.Login("nb.1")
		post := func(c *apptest.Client, in emergency.CheckinInput) (int, string) {
			return c.Do("POST", "/api/v1/emergency/checkins", in)
		}

		t.Run("the resident of the area reports safe from 我的: their household is safe", func(t *testing.T) {
			res := apptest.JSON[emergency.CheckinResult](t, e.Login("res.a"), "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, Status: "safe"}, 200)
			if len(res.Checks) != 1 || res.Checks[0].Kind != "household" || res.Checks[0].SubjectID != w.h4 || res.Checks[0].Status != "safe" {
				t.Fatalf("%+v", res)
			}
		})
		t.Run("reporting safe again is a conflict", func(t *testing.T) {
			if st, body := post(e.Login("res.a"), emergency.CheckinInput{AlertID: alert, Status: "safe"}); st != 409 {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("a resident outside the area cannot check in", func(t *testing.T) {
			if st, body := post(e.Login("res.b"), emergency.CheckinInput{AlertID: alert, Status: "safe"}); st != 403 {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_checks WHERE status <> 'pending'`); n != 1 {
				t.Fatalf("%d checks moved", n)
			}
		})
		t.Run("the helper finds the elder unreachable, then safe; safe cannot go back to unreachable", func(t *testing.T) {
			for _, st := range []string{"unreachable", "safe"} {
				apptest.JSON[emergency.CheckinResult](t, nb, "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: st}, 200)
			}
			st, body := post(nb, emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: "unreachable"})
			if st != 409 || !strings.Contains(body, "已确认安全") {
				t.Fatalf("%d %s", st, body)
			}
			if n := e.Count(`SELECT COUNT(*) FROM em_check_events WHERE check_id = $1`, elder); n != 2 {
				t.Fatalf("%d events", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.checkin' AND object_id = $1`, itoa(elder)); n != 2 {
				t.Fatalf("%d audit entries", n)
			}
		})
		t.Run("bad input names its field and writes nothing", func(t *testing.T) {
			for _, tc := range []struct {
				in    emergency.CheckinInput
				field string
			}{
				{emergency.CheckinInput{AlertID: alert, CheckID: bed, Status: "fine"}, "status"},
				{emergency.CheckinInput{AlertID: alert, CheckID: bed, Status: "evacuated"}, "shelter_id"},
				{emergency.CheckinInput{AlertID: alert, CheckID: bed, Status: "needs_help"}, "note"},
				{emergency.CheckinInput{AlertID: alert, CheckID: bed, Status: "evacuated", ShelterID: w.h1}, "shelter_id"},
				{emergency.CheckinInput{AlertID: alert, Status: "safe"}, "check_id"},
			} {
				if st, body := post(e.Login("gw.2"), tc.in); st != 400 || !containsField(body, tc.field) {
					t.Fatalf("%+v: %d %s", tc.in, st, body)
				}
			}
			if _, _, st := w.checkOf(t, inc, "person", w.bed); st != "pending" {
				t.Fatalf("the bedridden man's check is %s", st)
			}
		})
		t.Run("the grid worker moves the bedridden man to the shelter; a household of 2 more puts it over capacity, which warns", func(t *testing.T) {
			res := apptest.JSON[emergency.CheckinResult](t, e.Login("gw.2"), "POST", "/api/v1/emergency/checkins",
				emergency.CheckinInput{AlertID: alert, CheckID: bed, Status: "evacuated", ShelterID: w.shelter}, 200)
			if res.Shelter == nil || res.Shelter.Occupancy != 1 || res.Shelter.Capacity != 2 || res.Warning != nil {
				t.Fatalf("%+v", res)
			}
			h1, _, _ := w.checkOf(t, inc, "household", w.h1)
			res = apptest.JSON[emergency.CheckinResult](t, e.Login("gw.1"), "POST", "/api/v1/emergency/checkins",
				emergency.CheckinInput{AlertID: alert, CheckID: h1, Status: "evacuated", ShelterID: w.shelter}, 200)
			if res.Shelter == nil || res.Shelter.Occupancy != 3 || res.Warning == nil || !strings.Contains(res.Warning.ZH, "超出容量") {
				t.Fatalf("%+v", res)
			}
		})
		t.Run("the board counts by community and lists who is not yet confirmed", func(t *testing.T) {
			b := apptest.JSON[emergency.Board](t, e.Login("cw.a"), "GET", "/api/v1/emergency/alerts/"+alert+"/board", nil, 200)
			if b.Households.Total != 4 || b.Households.Safe != 1 || b.Households.Evacuated != 1 || b.Vulnerable.Total != 2 || b.Vulnerable.Safe != 1 || b.Vulnerable.Evacuated != 1 {
				t.Fatalf("households %+v vulnerable %+v", b.Households, b.Vulnerable)
			}
			if len(b.Rows) != 1 || b.Rows[0].Division != communityA || len(b.Waiting) != 0 {
				t.Fatalf("rows %+v waiting %+v", b.Rows, b.Waiting)
			}
			if st, _ := e.Login("cw.b").Do("GET", "/api/v1/emergency/alerts/"+alert+"/board", nil); st != 404 {
				t.Fatalf("community B's worker sees A's board: %d", st)
			}
		})
		t.Run("a worker of another community cannot record A's check", func(t *testing.T) {
			if st, body := post(e.Login("cw.b"), emergency.CheckinInput{AlertID: alert, CheckID: bed, Status: "safe"}); st != 404 {
				t.Fatalf("%d %s", st, body)
			}
		})
		t.Run("after the cancel, check-ins are a conflict", func(t *testing.T) {
			apptest.JSON[emergency.Alert](t, e.Login("officer.town"), "POST", "/api/v1/emergency/alerts/"+alert+"/cancel", emergency.CancelInput{Note: "台风已远离"}, 201)
			if st, body := post(nb, emergency.CheckinInput{AlertID: alert, CheckID: elder, Status: "needs_help", Note: "x"}); st != 409 {
				t.Fatalf("%d %s", st, body)
			}
			if st, body := e.Login("officer.town").Do("POST", "/api/v1/emergency/alerts/"+alert+"/cancel", nil); st != 409 {
				t.Fatalf("a second cancel: %d %s", st, body)
			}
		})
	})
}
