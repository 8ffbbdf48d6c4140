package emergency_test

import (
	"slices"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/emergency"
	"linli/internal/module"
)

func TestWarningTargetsExactlyTheAreasHouseholdsAndVulnerableResidents(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		got := w.issue(t, orange(communityA))
		inc := got.Alert.IncidentID

		t.Run("the issue counts the four households of community A and its two vulnerable residents", func(t *testing.T) {
			if got.Targeted.Households != 4 || got.Targeted.Vulnerable != 2 {
				t.Fatalf("targeted %+v, want 4 households and 2 vulnerable", got.Targeted)
			}
		})
		t.Run("the checks are exactly those households and people: none in community B, not the expired tag, not the untagged", func(t *testing.T) {
			var subjects []string
			rows, err := e.App.DB.R.Query(`SELECT kind || ':' || subject_id FROM em_checks WHERE incident_id = $1 ORDER BY 1`, inc)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				rows.Scan(&s)
				subjects = append(subjects, s)
			}
			want := []string{"household:" + w.h1, "household:" + w.h2, "household:" + w.h3, "household:" + w.h4, "person:" + w.elder, "person:" + w.bed}
			slices.Sort(want)
			if !slices.Equal(subjects, want) {
				t.Fatalf("checks %v\nwant %v", subjects, want)
			}
		})
		t.Run("each vulnerable resident's task goes to their helper: the paired neighbour, else the grid's worker", func(t *testing.T) {
			if _, helper, _ := w.checkOf(t, inc, "person", w.elder); helper != "nb.1" {
				t.Fatalf("the elder's helper is %q, want nb.1", helper)
			}
			if _, helper, _ := w.checkOf(t, inc, "person", w.bed); helper != "gw.2" {
				t.Fatalf("the bedridden man's helper is %q, want gw.2", helper)
			}
		})
		t.Run("every vulnerable resident is an item on their helper's 工作台", func(t *testing.T) {
			for helper, subject := range map[string]string{"nb.1": w.elder, "gw.2": w.bed} {
				id, _, _ := w.checkOf(t, inc, "person", subject)
				items, err := w.es.Work(as(helper, access.GridWorker, communityA), &access.Principal{Username: helper, Role: access.GridWorker, Division: communityA}, 50)
				if err != nil {
					t.Fatal(err)
				}
				if !hasItem(items, "emergency.person", "/emergency/checks/"+itoa(id)) {
					t.Fatalf("%s's 工作台 lacks check %d: %+v", helper, id, items)
				}
			}
			// The 工作台 itself lists it.
			work := apptest.JSON[struct {
				Items []module.WorkItem `json:"items"`
			}](t, e.Login("nb.1"), "GET", "/api/v1/workbench", nil, 200)
			if !hasItem(work.Items, "emergency.person", "") {
				t.Fatalf("the workbench of nb.1: %+v", work.Items)
			}
		})
		t.Run("the resident of the area with an account is told, the one outside is not", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM user_notices n JOIN users u ON u.id = n.user_id WHERE u.username = 'res.a' AND n.kind = 'emergency.alert'`); n != 1 {
				t.Fatalf("res.a has %d notices", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM user_notices n JOIN users u ON u.id = n.user_id WHERE u.username = 'res.b'`); n != 0 {
				t.Fatalf("res.b has %d notices", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM user_notices n JOIN users u ON u.id = n.user_id WHERE u.username = 'nb.1' AND n.kind = 'emergency.alert'`); n != 1 {
				t.Fatalf("the helper nb.1 has %d notices", n)
			}
		})
		t.Run("an Update widening the area to community B adds B's household and person only, keeping A's statuses", func(t *testing.T) {
			c := e.Login("officer.county")
			up := apptest.JSON[emergency.Issued](t, c, "POST", "/api/v1/emergency/alerts/"+got.Alert.ID+"/update", orange(communityA, communityB), 201)
			if up.Alert.IncidentID != inc || up.Targeted.Households != 1 || up.Targeted.Vulnerable != 1 {
				t.Fatalf("update: incident %s, targeted %+v", up.Alert.IncidentID, up.Targeted)
			}
		})
	})
}

func hasItem(items []module.WorkItem, kind, href string) bool {
	for _, it := range items {
		if it.Kind == kind && (href == "" || it.Href == href) {
			return true
		}
	}
	return false
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestWarningInputIsCheckedFieldByField(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		c := e.Login("officer.town")
		for _, tc := range []struct {
			name, field string
			edit        func(*emergency.AlertInput)
		}{
			{"a warning with no area", "divisions", func(in *emergency.AlertInput) { in.Divisions = nil }},
			{"an area outside the officer's township", "divisions", func(in *emergency.AlertInput) { in.Divisions = []string{communityB} }},
			{"an expiry before its onset", "expires", func(in *emergency.AlertInput) { in.Expires = "2026-11-29T10:00" }},
			{"an unknown colour", "colour", func(in *emergency.AlertInput) { in.Colour = "purple" }},
			{"a response level V", "response_level", func(in *emergency.AlertInput) { in.ResponseLevel = "V" }},
			{"an open polygon", "polygon", func(in *emergency.AlertInput) { in.Polygon = "30.25,120.13 30.27,120.13 30.27,120.15 30.26,120.16" }},
			{"a circle without radius", "circle", func(in *emergency.AlertInput) { in.Circle = "30.26,120.14" }},
			{"a CAP category not in the list", "category", func(in *emergency.AlertInput) { in.Category = "Weather" }},
		} {
			t.Run(tc.name+" is refused naming "+tc.field+", and nothing is written", func(t *testing.T) {
				in := orange(communityA)
				tc.edit(&in)
				st, body := c.Do("POST", "/api/v1/emergency/alerts", in)
				if st != 400 || !containsField(body, tc.field) {
					t.Fatalf("%d %s", st, body)
				}
				if n := e.Count(`SELECT COUNT(*) FROM em_alerts`) + e.Count(`SELECT COUNT(*) FROM em_checks`); n != 0 {
					t.Fatalf("%d rows written", n)
				}
			})
		}
		t.Run("a community worker may not issue a warning", func(t *testing.T) {
			if st, body := e.Login("cw.a").Do("POST", "/api/v1/emergency/alerts", orange(communityA)); st != 403 {
				t.Fatalf("%d %s", st, body)
			}
		})
		_ = w
	})
}
