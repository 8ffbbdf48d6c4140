package deliberation_test

import (
	"net/url"
	"testing"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// A resident's topic collects co-signs from other households of its area
// and goes to screening at the threshold exactly; the worker's steps
// follow the state machine, illegal ones are 409 and change nothing.
func TestTopicsCosignAndStates(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		res1, res2, res3, res5 := e.Login("res.1"), e.Login("res.2"), e.Login("res.3"), e.Login("res.5")
		var tp deliberation.Topic

		t.Run("a council with bad rules is refused naming the fields and writes nothing", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/councils", deliberation.CouncilInput{Division: communityA, Name: "x", QuorumPM: 0, Majority: "most", CosignDays: 7}, 400, "quorum_pm")
			refused(t, h.cw, "POST", "/api/v1/councils", deliberation.CouncilInput{Division: communityB, Name: "x", QuorumPM: 500, Majority: "simple", CosignDays: 7}, 400, "division_code")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_councils`); n != 1 {
				t.Fatalf("councils %d, want 1", n)
			}
		})
		t.Run("the council's members, roles and rules read back", func(t *testing.T) {
			c := apptest.JSON[deliberation.Council](t, res1, "GET", "/api/v1/councils/"+h.council.ID, nil, 200)
			if len(c.Members) != 3 || c.QuorumPM != 500 || c.CosignThreshold != 2 || c.Majority != "simple" {
				t.Fatalf("council %+v", c)
			}
		})
		t.Run("a topic with no affected area is refused naming area_kind", func(t *testing.T) {
			refused(t, res1, "POST", "/api/v1/topics", deliberation.TopicInput{Title: "加装电梯", Description: "1 幢加装电梯"}, 400, "area_kind")
			refused(t, res1, "POST", "/api/v1/topics", deliberation.TopicInput{Title: "加装电梯", Description: "x", AreaKind: "building", AreaRef: "上保社区 9 幢"}, 400, "area_ref")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_topics`); n != 0 {
				t.Fatalf("topics %d, want 0", n)
			}
		})
		t.Run("a resident raises a topic that collects co-signs", func(t *testing.T) {
			tp = apptest.JSON[deliberation.Topic](t, res1, "POST", "/api/v1/topics", deliberation.TopicInput{Title: "1 幢加装电梯", Description: "老人上下楼难", AreaKind: "building", AreaRef: "上保社区 1 幢"}, 201)
			if tp.Status != deliberation.Collecting || tp.CosignNeeded != 2 || tp.Origin != "resident" || tp.RaisedBy != "" {
				t.Fatalf("topic %+v", tp)
			}
		})
		t.Run("the raiser's own household cannot co-sign, nor a household outside the building", func(t *testing.T) {
			refused(t, res1, "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 409, "")
			refused(t, res5, "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 403, "")
		})
		t.Run("one co-sign below the threshold keeps it collecting", func(t *testing.T) {
			got := apptest.JSON[deliberation.Topic](t, res2, "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 200)
			if got.Status != deliberation.Collecting || got.Cosigns != 1 {
				t.Fatalf("after one: %s %d", got.Status, got.Cosigns)
			}
			refused(t, res2, "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 409, "")
		})
		t.Run("the co-sign that reaches the threshold exactly sends it to screening", func(t *testing.T) {
			got := apptest.JSON[deliberation.Topic](t, res3, "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 200)
			if got.Status != deliberation.Screening || got.Cosigns != 2 {
				t.Fatalf("after two: %s %d", got.Status, got.Cosigns)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_cosigns WHERE topic_id = $1`, tp.ID); n != 2 {
				t.Fatalf("co-sign rows %d", n)
			}
		})
		t.Run("a co-sign after screening is refused", func(t *testing.T) {
			refused(t, e.Login("res.4"), "POST", "/api/v1/topics/"+tp.ID+"/cosign", nil, 409, "")
		})
		t.Run("an illegal move is 409 and changes nothing", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/deliberate", deliberation.MoveInput{}, 409, "")
			refused(t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/decline", deliberation.MoveInput{}, 400, "reason")
			got := apptest.JSON[deliberation.Topic](t, res1, "GET", "/api/v1/topics/"+tp.ID, nil, 200)
			if got.Status != deliberation.Screening {
				t.Fatalf("status %s", got.Status)
			}
		})
		t.Run("a worker of another community cannot see or move it", func(t *testing.T) {
			refused(t, e.Login("cw.b"), "POST", "/api/v1/topics/"+tp.ID+"/accept", deliberation.MoveInput{}, 404, "")
			refused(t, e.Login("res.b"), "GET", "/api/v1/topics/"+tp.ID, nil, 404, "")
		})
		t.Run("accepted, then into deliberation, with a public history", func(t *testing.T) {
			apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/accept", deliberation.MoveInput{}, 200)
			got := apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/deliberate", deliberation.MoveInput{}, 200)
			if got.Status != deliberation.Deliberating {
				t.Fatalf("status %s", got.Status)
			}
			pub := apptest.JSON[deliberation.Topic](t, res5, "GET", "/api/v1/topics/"+tp.ID, nil, 200)
			var to []string
			for _, ev := range pub.History {
				to = append(to, ev.To)
			}
			want := []string{"collecting", "screening", "accepted", "deliberating"}
			if len(to) != len(want) {
				t.Fatalf("history %v, want %v", to, want)
			}
			for i := range want {
				if to[i] != want[i] {
					t.Fatalf("history %v, want %v", to, want)
				}
			}
		})
		t.Run("a declined topic keeps its reason", func(t *testing.T) {
			other := apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics", deliberation.TopicInput{Division: communityA, Title: "改建停车场", Description: "x", AreaKind: "community"}, 201)
			if other.Status != deliberation.Screening || other.Origin != "member" {
				t.Fatalf("worker's topic %+v", other)
			}
			got := apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+other.ID+"/decline", deliberation.MoveInput{Reason: "属于业委会职责"}, 200)
			if got.Status != deliberation.Declined || got.Reason != "属于业委会职责" {
				t.Fatalf("declined %+v", got)
			}
			refused(t, h.cw, "POST", "/api/v1/topics/"+other.ID+"/accept", deliberation.MoveInput{}, 409, "")
		})
		t.Run("a council member's topic skips the co-signing", func(t *testing.T) {
			got := apptest.JSON[deliberation.Topic](t, e.Login("res.6"), "POST", "/api/v1/topics", deliberation.TopicInput{Title: "2 幢外墙维修", Description: "渗水", AreaKind: "building", AreaRef: "上保社区 2 幢"}, 201)
			if got.Status != deliberation.Screening || got.Origin != "member" {
				t.Fatalf("member's topic %+v", got)
			}
		})
		t.Run("the list pages by key", func(t *testing.T) {
			pg := apptest.JSON[deliberation.TopicPage](t, res1, "GET", "/api/v1/topics?page_size=2", nil, 200)
			if len(pg.Items) != 2 || pg.Next == "" {
				t.Fatalf("first page %d next %q", len(pg.Items), pg.Next)
			}
			pg2 := apptest.JSON[deliberation.TopicPage](t, res1, "GET", "/api/v1/topics?page_size=2&cursor="+url.QueryEscape(pg.Next), nil, 200)
			if len(pg2.Items) != 1 || pg2.Next != "" || pg2.Items[0].ID == pg.Items[1].ID {
				t.Fatalf("second page %+v", pg2)
			}
			refused(t, res1, "GET", "/api/v1/topics?page=2", nil, 400, "page")
		})
		t.Run("every change is audited", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.topic_cosign'`); n != 2 {
				t.Fatalf("co-sign audit entries %d", n)
			}
		})
	})
}
