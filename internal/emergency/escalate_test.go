package emergency_test

import (
	"strconv"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
)

// A vulnerable resident not confirmed in time goes up: past the deadline
// (30 minutes by default) or when the helper cannot reach them, the
// community's and the township's 工作台 list them, whoever their helper is.
func TestUnconfirmedVulnerableResidentsEscalateAfterTheDeadline(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		start := e.Clock.Now()
		issued := w.issue(t, orange(communityA))
		overdue := func(t *testing.T, user string, role access.Role, division string) map[string]string {
			t.Helper()
			items, err := w.es.Work(as(user, role, division), &access.Principal{Username: user, Role: role, Division: division}, 50)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, it := range items {
				if it.Kind == "emergency.overdue" {
					got[it.Href] = it.Title.ZH
				}
			}
			return got
		}
		elder, _, _ := w.checkOf(t, issued.Alert.IncidentID, "person", w.elder)
		bed, _, _ := w.checkOf(t, issued.Alert.IncidentID, "person", w.bed)
		check := func(id int64) string { return "/emergency/checks/" + strconv.FormatInt(id, 10) }

		t.Run("within the deadline nothing goes up", func(t *testing.T) {
			e.Clock.Set(start.Add(29 * time.Minute))
			if got := overdue(t, "cw.a", access.CommunityWorker, communityA); len(got) != 0 {
				t.Fatalf("%v", got)
			}
		})
		t.Run("past it both unconfirmed residents reach the community worker and the township officer, with their helpers", func(t *testing.T) {
			e.Clock.Set(start.Add(31 * time.Minute))
			got := overdue(t, "cw.a", access.CommunityWorker, communityA)
			if len(got) != 2 || got[check(elder)] != "未联系，帮扶人 nb.1" || got[check(bed)] == "" {
				t.Fatalf("%v", got)
			}
			if got := overdue(t, "officer.town", access.Officer, townA); len(got) != 2 {
				t.Fatalf("officer: %v", got)
			}
		})
		t.Run("another community's worker and a grid worker get none", func(t *testing.T) {
			if got := overdue(t, "cw.b", access.CommunityWorker, communityB); len(got) != 0 {
				t.Fatalf("%v", got)
			}
			if got := overdue(t, "gw.1", access.GridWorker, communityA); len(got) != 0 {
				t.Fatalf("%v", got)
			}
		})
		t.Run("a confirmed resident leaves the list; one the helper cannot reach stays", func(t *testing.T) {
			nb := e.Login("nb.1")
			apptest.JSON[emergency.CheckinResult](t, nb, "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: issued.Alert.ID, CheckID: elder, Status: "unreachable"}, 200)
			if got := overdue(t, "cw.a", access.CommunityWorker, communityA); got[check(elder)] != "联系不上，帮扶人 nb.1" {
				t.Fatalf("%v", got)
			}
			apptest.JSON[emergency.CheckinResult](t, nb, "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: issued.Alert.ID, CheckID: elder, Status: "safe"}, 200)
			if got := overdue(t, "cw.a", access.CommunityWorker, communityA); len(got) != 1 || got[check(bed)] == "" {
				t.Fatalf("%v", got)
			}
		})
		t.Run("an unreachable resident goes up at once, before the deadline", func(t *testing.T) {
			second := w.issue(t, orange(communityA))
			b2, _, _ := w.checkOf(t, second.Alert.IncidentID, "person", w.bed)
			if got := overdue(t, "cw.a", access.CommunityWorker, communityA); got[check(b2)] != "" {
				t.Fatalf("%v", got)
			}
			apptest.JSON[emergency.CheckinResult](t, e.Login("gw.2"), "POST", "/api/v1/emergency/checkins", emergency.CheckinInput{AlertID: second.Alert.ID, CheckID: b2, Status: "unreachable"}, 200)
			if got := overdue(t, "cw.a", access.CommunityWorker, communityA); got[check(b2)] != "联系不上，帮扶人 gw.2" {
				t.Fatalf("%v", got)
			}
		})
		t.Run("a cancelled warning takes its residents off the list", func(t *testing.T) {
			apptest.JSON[emergency.Alert](t, e.Login("officer.town"), "POST", "/api/v1/emergency/alerts/"+issued.Alert.ID+"/cancel", emergency.CancelInput{}, 201)
			if got := overdue(t, "cw.a", access.CommunityWorker, communityA); got[check(bed)] != "" || got[check(elder)] != "" || len(got) != 1 {
				t.Fatalf("%v", got)
			}
		})
	})
}
