package deliberation_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// A meeting is held at a place or online; the community's residents
// register once each up to its capacity, also when two take the last
// place at once, and cancel before it starts; on the day the worker ticks
// the members and the registered residents present or absent.
func TestMeetingOnlineAndRegistrations(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		tp := h.accepted(t, "社区健身步道", "community", "")
		in := deliberation.MeetingInput{CouncilID: h.council.ID, Title: "健身步道线上恳谈会", StartsAt: now.Add(48 * time.Hour), Topics: []string{tp.ID}, Mode: "online", Capacity: 2}
		t.Run("a meeting without its place, or online without its link, is refused naming the missing field; nothing is written", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/meetings", in, 400, "link")
			atPlace := in
			atPlace.Mode = ""
			refused(t, h.cw, "POST", "/api/v1/meetings", atPlace, 400, "place")
			bad := in
			bad.Link, bad.Capacity = "ftp://meeting.example/1", -1
			refused(t, h.cw, "POST", "/api/v1/meetings", bad, 400, "link")
			refused(t, h.cw, "POST", "/api/v1/meetings", bad, 400, "capacity")
			bad.Mode = "phone"
			refused(t, h.cw, "POST", "/api/v1/meetings", bad, 400, "mode")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_meetings`) + e.Count(`SELECT COUNT(*) FROM dlb_agenda`); n != 0 {
				t.Fatalf("meetings and agenda rows %d", n)
			}
		})
		var m deliberation.Meeting
		t.Run("an online meeting gives its meeting number instead of a place", func(t *testing.T) {
			in.Link = "腾讯会议 628 193 475"
			m = apptest.JSON[deliberation.Meeting](t, h.cw, "POST", "/api/v1/meetings", in, 201)
			if m.Mode != deliberation.ModeOnline || m.Link != in.Link || m.Place != "" || m.Capacity != 2 || m.Registered != 0 {
				t.Fatalf("meeting %+v", m)
			}
			st, body, _ := e.Login("res.1").Get("/deliberation/meetings/" + m.ID)
			if st != 200 || !strings.Contains(body, "628 193 475") || !strings.Contains(body, `id="register"`) {
				t.Fatalf("meeting page %d", st)
			}
		})
		res1 := e.Login("res.1")
		t.Run("a resident registers once; a second time is refused", func(t *testing.T) {
			got := apptest.JSON[deliberation.Meeting](t, res1, "POST", "/api/v1/meetings/"+m.ID+"/registrations", nil, 201)
			if got.Registered != 1 || !got.MyRegistration || got.Registrations != nil {
				t.Fatalf("after registering %+v", got)
			}
			refused(t, res1, "POST", "/api/v1/meetings/"+m.ID+"/registrations", nil, 409, "")
		})
		t.Run("a resident of another community, or a worker, cannot register", func(t *testing.T) {
			refused(t, e.Login("res.b"), "POST", "/api/v1/meetings/"+m.ID+"/registrations", nil, 404, "")
			refused(t, h.cw, "POST", "/api/v1/meetings/"+m.ID+"/registrations", nil, 403, "")
			refused(t, e.Login("res.2"), "DELETE", "/api/v1/meetings/"+m.ID+"/registrations", nil, 409, "")
			if n, c := e.Count(`SELECT COUNT(*) FROM dlb_registrations`), e.Count(`SELECT registered FROM dlb_meetings WHERE id = $1`, m.ID); n != 1 || c != 1 {
				t.Fatalf("after the refusals: %d registrations, count %d", n, c)
			}
		})
		t.Run("two residents taking the last place at once: one has it, the other is refused", func(t *testing.T) {
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for i, u := range []string{"res.2", "res.3"} {
				c := e.Login(u)
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = c.Do("POST", "/api/v1/meetings/"+m.ID+"/registrations", nil)
				}()
			}
			wg.Wait()
			if codes[0]+codes[1] != 201+409 {
				t.Fatalf("codes %v", codes)
			}
			if n, c := e.Count(`SELECT COUNT(*) FROM dlb_registrations WHERE meeting_id = $1`, m.ID), e.Count(`SELECT registered FROM dlb_meetings WHERE id = $1`, m.ID); n != 2 || c != 2 {
				t.Fatalf("%d registrations, count %d", n, c)
			}
			refused(t, e.Login("res.4"), "POST", "/api/v1/meetings/"+m.ID+"/registrations", nil, 409, "")
		})
		t.Run("a registration is cancelled before the start, which frees its place", func(t *testing.T) {
			got := apptest.JSON[deliberation.Meeting](t, res1, "DELETE", "/api/v1/meetings/"+m.ID+"/registrations", nil, 200)
			if got.Registered != 1 || got.MyRegistration {
				t.Fatalf("after cancelling %+v", got)
			}
			refused(t, res1, "DELETE", "/api/v1/meetings/"+m.ID+"/registrations", nil, 409, "")
			st, _, hdr := res1.Form("/deliberation/meetings/"+m.ID+"/register", nil, nil)
			if st != 303 || !strings.Contains(hdr.Get("Location"), "registered=1") {
				t.Fatalf("the page's register: %d", st)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('deliberation.meeting_register', 'deliberation.meeting_unregister')`); n != 4 {
				t.Fatalf("audit entries %d", n)
			}
		})
		var regs []deliberation.Registration
		t.Run("the worker sees who registered, by name", func(t *testing.T) {
			got := apptest.JSON[deliberation.Meeting](t, h.cw, "GET", "/api/v1/meetings/"+m.ID, nil, 200)
			if len(got.Registrations) != 2 || got.Registrations[0].Name == "" {
				t.Fatalf("registrations %+v", got.Registrations)
			}
			regs = got.Registrations
		})
		e.Clock.Set(now.Add(48*time.Hour + time.Minute))
		t.Run("once the meeting has begun registrations no longer change", func(t *testing.T) {
			refused(t, e.Login("res.4"), "POST", "/api/v1/meetings/"+m.ID+"/registrations", nil, 409, "")
			refused(t, e.Login("res.1"), "DELETE", "/api/v1/meetings/"+m.ID+"/registrations", nil, 409, "")
		})
		t.Run("attendance ticks the members and the registered residents present or absent", func(t *testing.T) {
			cw := e.Login("cw.a")
			refused(t, cw, "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Residents: []string{"nobody"}}, 400, "residents[0]")
			got := apptest.JSON[deliberation.Meeting](t, cw, "POST", "/api/v1/meetings/"+m.ID+"/attendance", deliberation.AttendanceInput{Present: []string{h.council.Members[0].ID}, Residents: []string{regs[1].ID}}, 200)
			if got.Present != 1 || got.ResidentsPresent != 1 || got.Registrations[0].Present || !got.Registrations[1].Present {
				t.Fatalf("attendance %+v", got)
			}
			pub := apptest.JSON[deliberation.Meeting](t, e.Login("res.5"), "GET", "/api/v1/meetings/"+m.ID, nil, 200)
			if pub.Registrations != nil || pub.ResidentsPresent != 1 {
				t.Fatalf("a resident reads %+v", pub)
			}
		})
	})
}
