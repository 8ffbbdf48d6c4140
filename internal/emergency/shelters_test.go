package emergency_test

import (
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
)

// A shelter's manager is named in peacetime; a warning in force over the
// shelter's place puts "open the shelter" on the manager's 工作台 until
// it is recorded open, and the situation view shows which shelters are
// open.
func TestShelterManagersOpenTheirSheltersWhenAWarningCallsThem(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		cw, gw1, gw2 := e.Login("cw.a"), e.Login("gw.1"), e.Login("gw.2")
		path := "/api/v1/emergency/shelters/" + w.shelter
		shelterTasks := func(user string) []string {
			t.Helper()
			items, err := w.es.Work(as(user, access.GridWorker, communityA), &access.Principal{Username: user, Role: access.GridWorker, Division: communityA}, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				if it.Kind == "emergency.shelter" {
					out = append(out, it.Href)
				}
			}
			return out
		}
		t.Run("the manager is named by a community worker, from the township's workers only, audited", func(t *testing.T) {
			deny(t, gw1, "PUT", path+"/manager", emergency.ManagerInput{Username: "gw.2"}, 403, "")
			deny(t, cw, "PUT", path+"/manager", emergency.ManagerInput{Username: "res.a"}, 400, "username")
			deny(t, cw, "PUT", path+"/manager", emergency.ManagerInput{Username: "cw.b"}, 400, "username")
			c := apptest.JSON[emergency.ShelterCard](t, cw, "PUT", path+"/manager", emergency.ManagerInput{Username: "gw.2"}, 200)
			if c.Manager != "gw.2" || len(c.Calls) != 0 {
				t.Fatalf("%+v", c)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.shelter_manager' AND object_id = $1 AND detail = 'gw.2'`, w.shelter); n != 1 {
				t.Fatalf("audit entries %d", n)
			}
		})
		t.Run("with no warning in force there is nothing to open", func(t *testing.T) {
			if got := shelterTasks("gw.2"); len(got) != 0 {
				t.Fatalf("tasks %v", got)
			}
			deny(t, gw2, "POST", path+"/open", emergency.OpeningInput{IncidentID: "none"}, 400, "incident_id")
		})
		other := apptest.JSON[emergency.Issued](t, e.Login("officer.county"), "POST", "/api/v1/emergency/alerts", orange(communityB), 201)
		t.Run("a warning elsewhere does not call the shelter", func(t *testing.T) {
			if got := shelterTasks("gw.2"); len(got) != 0 {
				t.Fatalf("tasks %v", got)
			}
		})
		is := w.issue(t, orange(communityA))
		incident := is.Alert.IncidentID
		t.Run("a warning over its community puts one task on the manager's 工作台, and the page offers to open it", func(t *testing.T) {
			if got := shelterTasks("gw.2"); len(got) != 1 || got[0] != "/emergency/shelters/"+w.shelter {
				t.Fatalf("manager's tasks %v", got)
			}
			if got := shelterTasks("gw.1"); len(got) != 0 {
				t.Fatalf("another worker's tasks %v", got)
			}
			c := apptest.JSON[emergency.ShelterCard](t, gw2, "GET", path, nil, 200)
			if len(c.Calls) != 1 || c.Calls[0].IncidentID != incident || c.Calls[0].State != emergency.ShelterToOpen {
				t.Fatalf("calls %+v (other incident %s)", c.Calls, other.Alert.IncidentID)
			}
			_, body, _ := gw2.Get("/emergency/shelters/" + w.shelter)
			if !strings.Contains(body, `id="open-`+incident+`"`) || strings.Contains(body, `id="assign"`) {
				t.Fatalf("manager's page:\n%s", body)
			}
		})
		t.Run("only its manager or a community worker opens it, once; the task leaves and the board shows it open", func(t *testing.T) {
			deny(t, gw1, "POST", path+"/open", emergency.OpeningInput{IncidentID: incident}, 403, "")
			c := apptest.JSON[emergency.ShelterCard](t, gw2, "POST", path+"/open", emergency.OpeningInput{IncidentID: incident}, 200)
			if c.Calls[0].State != emergency.ShelterOpen {
				t.Fatalf("%+v", c.Calls)
			}
			deny(t, gw2, "POST", path+"/open", emergency.OpeningInput{IncidentID: incident}, 409, "")
			if got := shelterTasks("gw.2"); len(got) != 0 {
				t.Fatalf("tasks after opening %v", got)
			}
			b := apptest.JSON[emergency.Board](t, e.Login("officer.town"), "GET", "/api/v1/emergency/alerts/"+is.Alert.ID+"/board", nil, 200)
			opened := ""
			for _, sh := range b.Shelters {
				if sh.ID == w.shelter {
					opened = sh.Opened
				}
			}
			if opened != emergency.ShelterOpen {
				t.Fatalf("board shelters %+v", b.Shelters)
			}
		})
		t.Run("closed once, audited; closing again is refused", func(t *testing.T) {
			c := apptest.JSON[emergency.ShelterCard](t, cw, "POST", path+"/close", emergency.OpeningInput{IncidentID: incident}, 200)
			if c.Calls[0].State != emergency.ShelterClosed {
				t.Fatalf("%+v", c.Calls)
			}
			deny(t, cw, "POST", path+"/close", emergency.OpeningInput{IncidentID: incident}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('emergency.shelter_open', 'emergency.shelter_close') AND object_id = $1`, w.shelter); n != 2 {
				t.Fatalf("audit entries %d", n)
			}
		})
	})
}

// deny sends a request that must be answered want, naming field (when
// not empty) in its problem document.
func deny(t *testing.T, c *apptest.Client, method, path string, body any, want int, field string) {
	t.Helper()
	st, text := c.Do(method, path, body)
	if st != want || field != "" && !strings.Contains(text, `"field":"`+field+`"`) {
		t.Fatalf("%s %s: %d, want %d naming %q: %s", method, path, st, want, field, text)
	}
}
