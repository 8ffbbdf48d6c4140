package volunteers_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
)

func TestPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		w := newTown(t, e)
		a := w.activity(t, "助老送餐", 3, 1, 2, 10)
		res := e.Login("res.a")
		t.Run("an unregistered resident sees the registration form", func(t *testing.T) {
			st, body, _ := res.Get("/volunteers/me")
			if st != 200 || !strings.Contains(body, `id="register"`) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("a registration without skills shows the form again naming the field", func(t *testing.T) {
			st, body, _ := res.Form("/volunteers/me", map[string]string{"availability": "weekend"}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-skills"`) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("the resident registers, the community verifies on its dashboard", func(t *testing.T) {
			if st, _, _ := res.Form("/volunteers/me", map[string]string{"skills": "meals", "availability": "weekend"}, nil); st != 200 && st != 303 {
				t.Fatalf("register: %d", st)
			}
			cw := e.Login("cw.a")
			st, body, _ := cw.Get("/volunteers")
			if st != 200 || !strings.Contains(body, `/volunteers/`+w.a+`/verify`) {
				t.Fatalf("dashboard: %d", st)
			}
			if st, _, _ := cw.Form("/volunteers/"+w.a+"/verify", map[string]string{"decision": "approve"}, nil); st != 200 && st != 303 {
				t.Fatalf("verify: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM vol_volunteers WHERE status = 'verified'`); n != 1 {
				t.Fatalf("%d verified", n)
			}
		})
		t.Run("the public list shows the open activity to anyone", func(t *testing.T) {
			st, body, _ := e.Client().Get("/volunteers/activities")
			if st != 200 || !strings.Contains(body, a.ID) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("the volunteer signs up on the activity's page", func(t *testing.T) {
			st, _, hdr := res.Form("/volunteers/activities/"+a.ID+"/signup", nil, nil)
			if st != 303 || hdr.Get("Location") != "/volunteers/activities/"+a.ID+"?done=confirmed" {
				t.Fatalf("got %d %v", st, hdr)
			}
			st, body, _ := res.Get(hdr.Get("Location"))
			if st != 200 || !strings.Contains(body, `id="result"`) || !strings.Contains(body, `id="cancel"`) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("the organiser's tick list shows the volunteer; the shop and the phone page render", func(t *testing.T) {
			st, body, _ := e.Login("cw.a").Get("/volunteers/activities/" + a.ID + "/attendance")
			if st != 200 || !strings.Contains(body, `value="`+w.a+`"`) {
				t.Fatalf("attendance: %d", st)
			}
			for _, path := range []string{"/volunteers/me", "/volunteers/shop"} {
				if st, _, _ := res.Get(path); st != 200 {
					t.Fatalf("%s: %d", path, st)
				}
			}
			if st, _, _ := e.Login("cw.a").Get("/volunteers/shop"); st != 200 {
				t.Fatalf("worker's shop: %d", st)
			}
			if st, _, _ := e.Login("cw.a").Get("/volunteers/activities/new"); st != 200 {
				t.Fatalf("new activity: %d", st)
			}
		})
	})
}
