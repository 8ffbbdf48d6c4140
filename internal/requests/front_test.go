package requests_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/fault"
)

// workItems is the workbench as the API answers.
type workItems struct {
	Items []struct {
		Kind     string    `json:"kind"`
		KindName fault.Msg `json:"kind_name"`
		Href     string    `json:"href"`
		Whose    string    `json:"whose"`
		Overdue  bool      `json:"overdue"`
	} `json:"items"`
}

func (w workItems) kindOf(href string) (kind, name string) {
	for _, it := range w.Items {
		if it.Href == href {
			return it.Kind, it.KindName.ZH
		}
	}
	return "", ""
}

// TestRequestsOnTheFrontDoors: the requests module's items on the 工作台
// follow each worker's scope, escalations reach the officer of the unit
// they climb to, and a resident's 我的 lists their own requests.
func TestRequestsOnTheFrontDoors(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		people(e)
		e.User("grid.a", access.GridWorker, communityA)
		e.User("grid.b", access.GridWorker, communityA)
		wa := e.Login("workerA")
		gridOf(t, wa, "G01", "grid.a", "res1", "33010619610301901X")
		gridOf(t, wa, "G02", "grid.b", "res2", "330106196203029020")
		a := submit(t, e.Login("res1"), map[string]any{"category": "fire", "description": "消防通道堵塞"}) // 2 calendar hours to respond
		b := submit(t, e.Login("res2"), map[string]any{"category": "fire", "description": "另一处通道堵塞"})
		work := func(user string) workItems {
			t.Helper()
			return apptest.JSON[workItems](t, e.Login(user), "GET", "/api/v1/workbench", nil, 200)
		}

		// A fire request must be taken on within 2 hours: it is due soon
		// from the start.
		t.Run("each grid worker's workbench holds their own grid's request only, due soon", func(t *testing.T) {
			for user, want := range map[string][2]request{"grid.a": {a, b}, "grid.b": {b, a}} {
				w := work(user)
				if k, _ := w.kindOf("/requests/" + want[0].ID); k != "request.due" {
					t.Errorf("%s: own request as %q", user, k)
				}
				if k, _ := w.kindOf("/requests/" + want[1].ID); k != "" {
					t.Errorf("%s sees the other grid's request as %q", user, k)
				}
			}
		})
		t.Run("the community worker has both; the other community's worker neither", func(t *testing.T) {
			w := work("workerA")
			if k1, _ := w.kindOf("/requests/" + a.ID); k1 != "request.due" {
				t.Errorf("a as %q", k1)
			}
			if k2, _ := w.kindOf("/requests/" + b.ID); k2 != "request.due" {
				t.Errorf("b as %q", k2)
			}
			if w := work("workerB"); len(w.Items) != 0 {
				t.Errorf("workerB: %+v", w.Items)
			}
		})
		t.Run("before an escalation the officers have nothing of the community's", func(t *testing.T) {
			for _, user := range []string{"street", "countyOfficer"} {
				if w := work(user); len(w.Items) != 0 {
					t.Errorf("%s: %+v", user, w.Items)
				}
			}
		})
		t.Run("past the response deadline the request climbs to the street officer's workbench, not the county's", func(t *testing.T) {
			e.Clock.Add(3 * time.Hour)
			if _, err := store(e).RunSLAOnce(context.Background(), e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			k, name := work("street").kindOf("/requests/" + a.ID)
			if k != "request.overdue" || name != "升级督办" {
				t.Errorf("street: %q %q", k, name)
			}
			if k, _ := work("countyOfficer").kindOf("/requests/" + a.ID); k != "" {
				t.Errorf("county sees the street's escalation as %q", k)
			}
			if k, _ := work("grid.a").kindOf("/requests/" + a.ID); k != "request.overdue" {
				t.Errorf("grid.a: %q", k)
			}
		})
		t.Run("a resident's 我的 lists their own request with its state and their household", func(t *testing.T) {
			_, body, _ := e.Login("res1").Get("/me")
			for _, want := range []string{a.Number, "待受理", "我的家庭", "户址：G01 1 号", "家庭成员 1 人", `href="/requests/new"`} {
				if !strings.Contains(body, want) {
					t.Errorf("我的 lacks %q", want)
				}
			}
			if strings.Contains(body, b.Number) {
				t.Error("res1 sees res2's request")
			}
		})
		t.Run("a caller without an account is told nothing in the app", func(t *testing.T) {
			wa := e.Login("workerA")
			walkIn := submit(t, wa, map[string]any{"category": "policy", "description": "来电咨询", "channel": "hotline", "name": "王五", "phone": "13800138000"})
			act(t, wa, walkIn.ID, "accept", nil)
			if n := e.Count(`SELECT COUNT(*) FROM user_notices WHERE href = $1`, "/requests/"+walkIn.ID); n != 0 {
				t.Errorf("%d notices for a request without an account", n)
			}
		})
		t.Run("the reporter with an account is told of the acceptance once", func(t *testing.T) {
			act(t, e.Login("workerA"), b.ID, "accept", nil)
			if n := e.Count(`SELECT COUNT(*) FROM user_notices WHERE href = $1 AND kind = 'request.accepted'`, "/requests/"+b.ID); n != 1 {
				t.Errorf("%d acceptance notices", n)
			}
		})
	})
}
