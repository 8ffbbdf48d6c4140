package deliberation_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"linli/internal/apptest"
)

var topicPath = regexp.MustCompile(`^/deliberation/topics/([0-9a-f]+)`)

// The whole loop through the pages a phone without JavaScript uses: a
// resident raises a topic, two neighbours co-sign, the community accepts
// it and schedules a meeting, households vote, the decision appears on
// the public board with its progress.
func TestPagesLoop(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		now := e.Clock.Now()
		res1, res2, res3 := e.Login("res.1"), e.Login("res.2"), e.Login("res.3")
		page := func(t *testing.T, c *apptest.Client, path string, want ...string) string {
			t.Helper()
			st, body, _ := c.Get(path)
			if st != 200 {
				t.Fatalf("GET %s: %d %.400s", path, st, body)
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Fatalf("GET %s lacks %q", path, w)
				}
			}
			return body
		}
		post := func(t *testing.T, c *apptest.Client, path string, form map[string]string, want int) string {
			t.Helper()
			st, body, hdr := c.Form(path, form, nil)
			if st != want {
				t.Fatalf("POST %s: %d, want %d: %.600s", path, st, want, body)
			}
			return hdr.Get("Location")
		}
		var topic string
		t.Run("the raise form refuses a topic with no area, naming the field", func(t *testing.T) {
			page(t, res1, "/deliberation", "还没有议题", `id="raise"`)
			page(t, res1, "/deliberation/raise", `name="area_kind"`)
			body := func() string {
				_, b, _ := res1.Form("/deliberation/raise", map[string]string{"title": "1 幢加装电梯", "description": "老人上下楼难"}, nil)
				return b
			}()
			if !strings.Contains(body, `href="#f-area_kind"`) || !strings.Contains(body, "1 幢加装电梯") {
				t.Fatalf("the form again: %.800s", body)
			}
		})
		t.Run("a resident raises a topic for their building", func(t *testing.T) {
			loc := post(t, res1, "/deliberation/raise", map[string]string{"title": "1 幢加装电梯", "description": "老人上下楼难", "area_kind": "building", "building": "上保社区 1 幢"}, 303)
			m := topicPath.FindStringSubmatch(loc)
			if m == nil {
				t.Fatalf("redirect %q", loc)
			}
			topic = m[1]
			page(t, res1, loc, `data-status="collecting"`, "0</strong> / 2")
		})
		t.Run("two neighbours co-sign and it goes to screening", func(t *testing.T) {
			for _, c := range []*apptest.Client{res2, res3} {
				page(t, c, "/deliberation/topics/"+topic, `id="cosign"`)
				post(t, c, "/deliberation/topics/"+topic+"/cosign", nil, 303)
			}
			page(t, res1, "/deliberation/topics/"+topic, `data-status="screening"`)
		})
		t.Run("the community accepts it; an illegal step is answered 409 on the page", func(t *testing.T) {
			page(t, h.cw, "/deliberation/topics/"+topic, `id="do-accept"`, `id="do-decline"`)
			post(t, h.cw, "/deliberation/topics/"+topic+"/move/decline", map[string]string{"reason": ""}, 400)
			post(t, h.cw, "/deliberation/topics/"+topic+"/move/accept", nil, 303)
			post(t, h.cw, "/deliberation/topics/"+topic+"/move/accept", nil, 409)
		})
		var meeting string
		t.Run("and schedules a meeting with it on the agenda", func(t *testing.T) {
			page(t, h.cw, "/deliberation/meetings/new", `id="topic-`+topic+`"`)
			form := map[string]string{"division_code": communityA, "council_id": h.council.ID, "title": "十二月议事会", "place": "社区会议室", "topic": topic,
				"starts_at": now.Add(-time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")}
			post(t, h.cw, "/deliberation/meetings/new", form, 400)
			form["starts_at"] = now.Add(10 * time.Minute).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")
			meeting = post(t, h.cw, "/deliberation/meetings/new", form, 303)
			page(t, h.cw, meeting, "1 幢加装电梯", `name="present"`)
			page(t, res1, "/deliberation", "十二月议事会")
		})
		t.Run("attendance is ticked and minutes entered after the meeting", func(t *testing.T) {
			e.Clock.Set(now.Add(15 * time.Minute))
			post(t, h.cw, meeting+"/attendance", map[string]string{"present": h.council.Members[0].ID}, 303)
			post(t, h.cw, meeting+"/minutes", map[string]string{"minutes": "陈建国：赞成", "summary": "同意推进 1 幢加装电梯，交由住户表决。"}, 303)
			page(t, res1, meeting, "同意推进 1 幢加装电梯")
		})
		var vote string
		t.Run("the worker opens a vote of the building's households, who vote", func(t *testing.T) {
			vote = post(t, h.cw, "/deliberation/topics/"+topic+"/vote", map[string]string{"options": "同意\n不同意", "electorate": "households",
				"closes_at": e.Clock.Now().Add(10 * time.Minute).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")}, 303)
			for _, c := range []*apptest.Client{res1, res2, res3} {
				page(t, c, vote, `id="cast"`)
				loc := post(t, c, vote+"/ballot", map[string]string{"choice": "同意"}, 303)
				page(t, c, loc, `id="receipt"`)
			}
			post(t, res1, vote+"/ballot", map[string]string{"choice": "同意"}, 409)
			page(t, e.Login("res.5"), vote, "截止后计票")
		})
		var decision string
		t.Run("after the window the result shows and the decision is recorded", func(t *testing.T) {
			e.Clock.Set(now.Add(27 * time.Minute))
			cw := e.Login("cw.a")
			page(t, cw, vote, `data-outcome="passed"`, `data-ok="true"`)
			page(t, cw, "/deliberation/topics/"+topic, `id="decide-submit"`)
			decision = post(t, cw, "/deliberation/topics/"+topic+"/decide", map[string]string{"vote_id": strings.TrimPrefix(vote, "/deliberation/votes/"),
				"text": "1 幢加装电梯", "decided_by": "上保社区居民议事会", "owner": "王物业", "plan": "一月招标，三月施工"}, 303)
			post(t, cw, decision+"/progress", map[string]string{"percent": "abc", "note": "x"}, 400)
			post(t, cw, decision+"/progress", map[string]string{"percent": "30", "note": "已完成招标"}, 303)
			page(t, cw, decision, `id="progress">30%`)
		})
		t.Run("the decision is on the public board with its progress", func(t *testing.T) {
			page(t, e.Client(), "/deliberation/board/"+communityA, "1 幢加装电梯", `value="30"`)
			st, _, _ := e.Client().Get("/deliberation/board/33010600205x")
			if st != 404 {
				t.Fatalf("a bad code: %d", st)
			}
		})
	})
}
