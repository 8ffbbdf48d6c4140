package emergency_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
)

// Drills are scheduled ahead, sit on the workers' 工作台 as they come
// near, and are then recorded held with the Exercise warning they used,
// or cancelled with a reason; a past time, an unknown hazard or an
// Exercise elsewhere is refused and nothing is written.
func TestDrillsAreScheduledHeldOrCancelled(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw, gw := e.Login("cw.a"), e.Login("gw.1")
		now := e.Clock.Now()
		drillWork := func() []string {
			t.Helper()
			items, err := w.es.Work(as("cw.a", access.CommunityWorker, communityA), &access.Principal{Username: "cw.a", Role: access.CommunityWorker, Division: communityA}, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				if it.Kind == "emergency.drill" {
					out = append(out, it.Href+" "+map[bool]string{true: "urgent", false: "soon"}[it.Urgent])
				}
			}
			return out
		}
		in := emergency.DrillInput{Division: communityA, Title: "上保社区防台演练", Hazard: "typhoon", StartsAt: now.Add(3 * 24 * time.Hour), Place: "社区广场"}
		t.Run("bad input names its field and writes nothing", func(t *testing.T) {
			past, bad, far := in, in, in
			past.StartsAt = now.Add(-time.Hour)
			bad.Hazard = "meteor"
			far.Division = communityB
			deny(t, cw, "POST", "/api/v1/emergency/drills", past, 400, "starts_at")
			deny(t, cw, "POST", "/api/v1/emergency/drills", bad, 400, "hazard")
			deny(t, cw, "POST", "/api/v1/emergency/drills", far, 400, "division")
			deny(t, gw, "POST", "/api/v1/emergency/drills", in, 403, "")
			if n := e.Count(`SELECT COUNT(*) FROM em_drills`); n != 0 {
				t.Fatalf("drills written: %d", n)
			}
		})
		var d emergency.Drill
		t.Run("scheduled three days ahead, it is on the 工作台 as coming, audited", func(t *testing.T) {
			d = apptest.JSON[emergency.Drill](t, cw, "POST", "/api/v1/emergency/drills", in, 201)
			if d.State != emergency.DrillScheduled {
				t.Fatalf("%+v", d)
			}
			if got := drillWork(); len(got) != 1 || got[0] != "/emergency/drills/"+d.ID+" soon" {
				t.Fatalf("work %v", got)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.drill_schedule' AND object_id = $1`, d.ID); n != 1 {
				t.Fatalf("audit %d", n)
			}
		})
		t.Run("a day past its time and not recorded, it becomes urgent; the page says how to hold it", func(t *testing.T) {
			e.Clock.Set(now.Add(4*24*time.Hour + time.Hour))
			cw, gw = e.Login("cw.a"), e.Login("gw.1") // the sessions lapsed meanwhile
			if got := drillWork(); len(got) != 1 || !strings.HasSuffix(got[0], " urgent") {
				t.Fatalf("work %v", got)
			}
			_, body, _ := cw.Get("/emergency/drills/" + d.ID)
			if !strings.Contains(body, `id="no-exercise"`) {
				t.Fatalf("drill page:\n%s", body)
			}
		})
		t.Run("held with an Exercise over its place; not with an actual warning or one elsewhere", func(t *testing.T) {
			actual := w.issue(t, orange(communityA))
			deny(t, cw, "POST", "/api/v1/emergency/drills/"+d.ID+"/held", emergency.DrillHeldInput{IncidentID: actual.Alert.IncidentID}, 400, "incident_id")
			ex := orange(communityB)
			ex.Status = "Exercise"
			elsewhere := apptest.JSON[emergency.Issued](t, e.Login("officer.county"), "POST", "/api/v1/emergency/alerts", ex, 201)
			deny(t, cw, "POST", "/api/v1/emergency/drills/"+d.ID+"/held", emergency.DrillHeldInput{IncidentID: elsewhere.Alert.IncidentID}, 400, "incident_id")
			ex = orange(communityA)
			ex.Status, ex.Headline = "Exercise", "防台演练"
			here := w.issue(t, ex)
			_, body, _ := cw.Get("/emergency/drills/" + d.ID)
			if !strings.Contains(body, `<option value="`+here.Alert.IncidentID+`">`) || strings.Contains(body, `<option value="`+elsewhere.Alert.IncidentID+`">`) {
				t.Fatalf("the picker does not offer exactly the Exercise here:\n%s", body)
			}
			got := apptest.JSON[emergency.Drill](t, cw, "POST", "/api/v1/emergency/drills/"+d.ID+"/held", emergency.DrillHeldInput{IncidentID: here.Alert.IncidentID}, 200)
			if got.State != emergency.DrillHeld || got.IncidentID != here.Alert.IncidentID {
				t.Fatalf("%+v", got)
			}
			if work := drillWork(); len(work) != 0 {
				t.Fatalf("work after holding %v", work)
			}
			deny(t, cw, "POST", "/api/v1/emergency/drills/"+d.ID+"/cancel", emergency.DrillCancelInput{Reason: "x"}, 409, "")
		})
		t.Run("another is cancelled only with a reason, and lists after the coming ones", func(t *testing.T) {
			later := in
			later.StartsAt = e.Clock.Now().Add(30 * 24 * time.Hour)
			d2 := apptest.JSON[emergency.Drill](t, cw, "POST", "/api/v1/emergency/drills", later, 201)
			deny(t, cw, "POST", "/api/v1/emergency/drills/"+d2.ID+"/cancel", emergency.DrillCancelInput{Reason: " "}, 400, "reason")
			list := apptest.JSON[[]emergency.Drill](t, gw, "GET", "/api/v1/emergency/drills", nil, 200)
			if len(list) != 2 || list[0].ID != d2.ID || list[1].ID != d.ID {
				t.Fatalf("list %+v", list)
			}
			got := apptest.JSON[emergency.Drill](t, cw, "POST", "/api/v1/emergency/drills/"+d2.ID+"/cancel", emergency.DrillCancelInput{Reason: "台风季提前结束"}, 200)
			if got.State != emergency.DrillCancelled || got.Reason != "台风季提前结束" {
				t.Fatalf("%+v", got)
			}
		})
	})
}
