package emergency_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/web"
)

func TestAnEventIsItsWarningsTasksStatusesAndSituation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.town")
		opened := apptest.JSON[emergency.Issued](t, officer, "POST", "/api/v1/emergency/events", orange(communityA), 201)
		ev := opened.Alert.ID

		t.Run("opening an event issues its first warning, a CAP Alert whose id is the event's", func(t *testing.T) {
			if opened.Alert.MsgType != "Alert" || opened.Alert.IncidentID != ev || opened.Targeted.Vulnerable != 2 {
				t.Fatalf("%+v", opened)
			}
		})
		var update emergency.Issued
		t.Run("a warning posted to the event is an Update referencing the first", func(t *testing.T) {
			in := orange(communityA)
			in.Colour, in.ResponseLevel, in.Headline = "red", "I", "台风红色预警"
			update = apptest.JSON[emergency.Issued](t, officer, "POST", "/api/v1/emergency/events/"+ev+"/warnings", in, 201)
			if update.Alert.MsgType != "Update" || update.Alert.IncidentID != ev || !strings.Contains(update.Alert.References, opened.Alert.Identifier) {
				t.Fatalf("%+v", update.Alert)
			}
		})
		t.Run("the event reads as its warnings, oldest first, the latest in force", func(t *testing.T) {
			got := apptest.JSON[emergency.Event](t, officer, "GET", "/api/v1/emergency/events/"+ev, nil, 200)
			if len(got.Warnings) != 2 || got.Warnings[0].ID != ev || got.Warnings[1].ID != update.Alert.ID || got.Latest.ID != update.Alert.ID || got.State != "active" {
				t.Fatalf("%+v", got)
			}
			list := apptest.JSON[[]emergency.Event](t, officer, "GET", "/api/v1/emergency/events", nil, 200)
			if len(list) != 1 || list[0].ID != ev || list[0].Latest.Colour != "red" || list[0].Warnings != nil {
				t.Fatalf("the list has %+v", list)
			}
		})
		t.Run("the list pages by the time the last page ended; a bad page size or time is named", func(t *testing.T) {
			if list := apptest.JSON[[]emergency.Event](t, officer, "GET", "/api/v1/emergency/events?before="+opened.Alert.Sent.Format(time.RFC3339), nil, 200); len(list) != 0 {
				t.Fatalf("an event before its own start: %+v", list)
			}
			for q, field := range map[string]string{"page_size=0": "page_size", "before=yesterday": "before"} {
				p := apptest.JSON[web.Problem](t, officer, "GET", "/api/v1/emergency/events?"+q, nil, 400)
				if len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("%s: %+v", q, p)
				}
			}
		})
		t.Run("a later warning's id does not name an event, and another community's worker sees none", func(t *testing.T) {
			if st, body := officer.Do("GET", "/api/v1/emergency/events/"+update.Alert.ID, nil); st != 404 {
				t.Fatalf("%d %s", st, body)
			}
			if st, body := e.Login("cw.b").Do("GET", "/api/v1/emergency/events/"+ev+"/tasks", nil); st != 404 {
				t.Fatalf("%d %s", st, body)
			}
			if list := apptest.JSON[[]emergency.Event](t, e.Login("cw.b"), "GET", "/api/v1/emergency/events", nil, 200); len(list) != 0 {
				t.Fatalf("%+v", list)
			}
		})
		var bed emergency.Check
		t.Run("its tasks are one per household and vulnerable resident of the area", func(t *testing.T) {
			tasks := apptest.JSON[[]emergency.Check](t, e.Login("cw.a"), "GET", "/api/v1/emergency/events/"+ev+"/tasks?kind=person", nil, 200)
			if len(tasks) != 2 {
				t.Fatalf("%d person tasks: %+v", len(tasks), tasks)
			}
			for _, c := range tasks {
				if c.SubjectID == w.bed {
					bed = c
				}
			}
			if n := len(apptest.JSON[[]emergency.Check](t, e.Login("cw.a"), "GET", "/api/v1/emergency/events/"+ev+"/tasks?kind=household", nil, 200)); n != 4 {
				t.Fatalf("%d household tasks", n)
			}
		})
		t.Run("a status reported to the event moves its task; one naming another event's warning is refused and writes nothing", func(t *testing.T) {
			other := w.issue(t, orange(communityA)) // a second event over the same area
			st, body := e.Login("gw.2").Do("POST", "/api/v1/emergency/events/"+ev+"/statuses", emergency.CheckinInput{AlertID: other.Alert.ID, CheckID: bed.ID, Status: "safe"})
			if st != 400 || !containsField(body, "alert_id") {
				t.Fatalf("%d %s", st, body)
			}
			if _, _, status := w.checkOf(t, ev, "person", w.bed); status != "pending" {
				t.Fatalf("the task is %s", status)
			}
			res := apptest.JSON[emergency.CheckinResult](t, e.Login("gw.2"), "POST", "/api/v1/emergency/events/"+ev+"/statuses",
				emergency.CheckinInput{CheckID: bed.ID, Status: "evacuated", ShelterID: w.shelter}, 200)
			if len(res.Checks) != 1 || res.Checks[0].Status != "evacuated" {
				t.Fatalf("%+v", res)
			}
			apptest.JSON[emergency.CheckinResult](t, e.Login("res.a"), "POST", "/api/v1/emergency/events/"+ev+"/statuses", emergency.CheckinInput{Status: "safe"}, 200)
		})
		t.Run("the situation counts both reports", func(t *testing.T) {
			b := apptest.JSON[emergency.Board](t, e.Login("cw.a"), "GET", "/api/v1/emergency/events/"+ev+"/situation", nil, 200)
			if b.Households.Safe != 1 || b.Vulnerable.Evacuated != 1 || b.Alert.ID != update.Alert.ID {
				t.Fatalf("households %+v vulnerable %+v alert %s", b.Households, b.Vulnerable, b.Alert.ID)
			}
		})
		t.Run("cancelling the event closes it", func(t *testing.T) {
			apptest.JSON[emergency.Alert](t, officer, "POST", "/api/v1/emergency/events/"+ev+"/cancel", emergency.CancelInput{Note: "台风已远离"}, 201)
			if got := apptest.JSON[emergency.Event](t, officer, "GET", "/api/v1/emergency/events/"+ev, nil, 200); got.State != "cancelled" || got.Latest.MsgType != "Cancel" || len(got.Warnings) != 3 {
				t.Fatalf("%+v", got)
			}
		})
	})
}
