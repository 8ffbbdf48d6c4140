package emergency_test

import (
	"regexp"
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/emergency"
)

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

// The loop through the pages, as a phone without JavaScript posts them.
func TestPagesIssueCheckInAndCount(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		officer := e.Login("officer.town")
		var alertPath string

		t.Run("the form refuses a warning without an area, naming the field, and keeps what was typed", func(t *testing.T) {
			st, body, _ := officer.Form("/emergency/new", map[string]string{"event": "暴雨", "category": "Met", "colour": "red", "response_level": "I",
				"headline": "暴雨红色预警", "instruction": "请留在室内"}, sameOrigin)
			if st != 400 || !strings.Contains(body, `href="#f-divisions"`) || !strings.Contains(body, `value="暴雨红色预警"`) {
				t.Fatalf("%d\n%s", st, body)
			}
		})
		t.Run("the officer issues a red warning for community A and lands on its board", func(t *testing.T) {
			st, _, hdr := officer.Form("/emergency/new", map[string]string{"divisions": communityA, "event": "暴雨", "category": "Met", "colour": "red",
				"response_level": "I", "status": "Exercise", "headline": "暴雨红色预警", "instruction": "请留在室内"}, sameOrigin)
			alertPath = strings.TrimSuffix(hdr.Get("Location"), "?issued=1")
			if st != 303 || !regexp.MustCompile(`^/emergency/alerts/[0-9a-f]+$`).MatchString(alertPath) {
				t.Fatalf("%d %q", st, hdr.Get("Location"))
			}
			_, body, _ := officer.Get(alertPath)
			for _, want := range []string{"红色预警", `id="hh-total">4<`, `id="hh-confirmed">0<`, `id="vu-total">2<`, "尚未确认的重点人员", "张**", "李**", "nb.1", ".xml"} {
				if !strings.Contains(body, want) {
					t.Fatalf("the board lacks %q:\n%s", want, body)
				}
			}
		})
		t.Run("the resident sees the warning on 我的 and reports safe with one button", func(t *testing.T) {
			res := e.Login("res.a")
			_, me, _ := res.Get("/me")
			if !strings.Contains(me, "暴雨红色预警") || !strings.Contains(me, "/emergency/mine") {
				t.Fatalf("我的 lacks the warning:\n%s", me)
			}
			_, page, _ := res.Get("/emergency/mine")
			id := regexp.MustCompile(`name="alert_id" value="([0-9a-f]+)"`).FindStringSubmatch(page)
			if id == nil || !strings.Contains(page, "未报平安") {
				t.Fatalf("%s", page)
			}
			st, _, hdr := res.Form("/emergency/mine", map[string]string{"alert_id": id[1], "status": "safe"}, sameOrigin)
			if st != 303 || hdr.Get("Location") != "/emergency/mine?done=1" {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			_, page, _ = res.Get("/emergency/mine?done=1")
			if !strings.Contains(page, "已报平安") || strings.Contains(page, "safe-button") {
				t.Fatalf("%s", page)
			}
		})
		t.Run("the board counts it", func(t *testing.T) {
			_, body, _ := officer.Get(alertPath)
			if !strings.Contains(body, `id="hh-confirmed">1<`) || !strings.Contains(body, `id="hh-safe">1<`) {
				t.Fatalf("%s", body)
			}
		})
		t.Run("the helper records the elder as moved to the shelter from the check's page", func(t *testing.T) {
			var check int64
			if err := e.App.DB.R.QueryRow(`SELECT id FROM em_checks WHERE kind = 'person' AND subject_id = $1`, w.elder).Scan(&check); err != nil {
				t.Fatal(err)
			}
			nb := e.Login("nb.1")
			_, page, _ := nb.Get("/emergency/checks/" + itoa(check))
			if !strings.Contains(page, "上保社区应急避难场所") || !strings.Contains(page, `value="evacuated"`) {
				t.Fatalf("%s", page)
			}
			st, _, hdr := nb.Form("/emergency/checks/"+itoa(check), map[string]string{"status": "evacuated", "shelter_id": w.shelter}, sameOrigin)
			if st != 303 || !strings.HasSuffix(hdr.Get("Location"), "?done=1") {
				t.Fatalf("%d %s", st, hdr.Get("Location"))
			}
			_, page, _ = nb.Get(hdr.Get("Location"))
			if !strings.Contains(page, "已转移") || !strings.Contains(page, `id="recorded"`) {
				t.Fatalf("%s", page)
			}
			_, body, _ := officer.Get(alertPath)
			if !strings.Contains(body, "在场 1 / 容量 2") {
				t.Fatalf("the shelter's occupancy:\n%s", body)
			}
		})
		t.Run("the resident of community B has no warning and cannot see A's board", func(t *testing.T) {
			b := e.Login("res.b")
			_, page, _ := b.Get("/emergency/mine")
			if strings.Contains(page, "暴雨红色预警") {
				t.Fatalf("%s", page)
			}
			if st, _, _ := e.Login("cw.b").Get(alertPath); st != 404 {
				t.Fatalf("community B's worker opens A's warning: %d", st)
			}
		})
		t.Run("the officer cancels it from the page", func(t *testing.T) {
			st, _, hdr := officer.Form(alertPath+"/cancel", map[string]string{"note": "演练结束"}, sameOrigin)
			if st != 303 {
				t.Fatalf("%d", st)
			}
			_, body, _ := officer.Get(hdr.Get("Location"))
			if !strings.Contains(body, "已解除") || strings.Contains(body, `id="cancel"`) {
				t.Fatalf("%s", body)
			}
		})
	})
}

func TestDemoPairsHelpersAndLeavesAPastWarning(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		e.User("demo.street", "officer", townA)
		if err := emergency.Demo(t.Context(), w.es, "330106"); err != nil {
			t.Fatal(err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_helpers`); n < 2 {
			t.Fatalf("%d pairings", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_alerts WHERE created_by = 'demo.street' AND msg_type = 'Cancel' AND state = 'cancelled' AND status = 'Actual'`); n != 1 {
			t.Fatalf("%d cancelled demo warnings", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_checks c JOIN em_alerts x ON x.id = c.incident_id WHERE x.status = 'Actual' AND c.status = 'pending'`); n != 0 {
			t.Fatalf("%d checks left pending", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_checks c JOIN em_alerts x ON x.id = c.incident_id WHERE x.status = 'Actual'`); n != 6 {
			t.Fatalf("%d checks in the township", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_reviews r JOIN em_findings f ON f.review_id = r.id WHERE r.created_by = 'demo.street'`); n != 2 {
			t.Fatalf("%d findings of the demo's review", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_alerts x WHERE x.status = 'Exercise' AND x.msg_type = 'Cancel' AND NOT EXISTS (SELECT 1 FROM em_reviews r WHERE r.incident_id = x.incident_id)`); n != 1 {
			t.Fatalf("%d drills over and not reviewed", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM em_check_events e JOIN em_alerts x ON x.id = e.incident_id WHERE x.status = 'Exercise'`); n < 1 {
			t.Fatalf("%d check-ins in the drill", n)
		}
	})
}
