package deliberation_test

import (
	"fmt"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// A duplicate topic is merged into another of its council: the duplicate
// closes as 已合并 with a link to the target, its co-signing and
// supporting households count on the target once each, its comments stay
// readable, and both histories and the audit log record the merge. Every
// refusal writes nothing.
func TestMergeDuplicateTopics(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		res1, res2, res3, res4 := e.Login("res.1"), e.Login("res.2"), e.Login("res.3"), e.Login("res.4")
		raise := func(c *apptest.Client, title string) deliberation.Topic {
			return apptest.JSON[deliberation.Topic](t, c, "POST", "/api/v1/topics", deliberation.TopicInput{Title: title, Description: "东门空地", AreaKind: "community"}, 201)
		}
		// The target: raised by household 1, co-signed by household 2.
		target := raise(res1, "东门增设充电棚")
		apptest.JSON[deliberation.Topic](t, res2, "POST", "/api/v1/topics/"+target.ID+"/cosign", nil, 200)
		apptest.JSON[deliberation.Support](t, res2, "POST", "/api/v1/topics/"+target.ID+"/support", nil, 201)
		// The duplicate: raised by household 3, co-signed by household 2
		// too, supported by households 2 and 4, with a comment.
		dup := raise(res3, "东门建电动车充电棚")
		apptest.JSON[deliberation.Topic](t, res2, "POST", "/api/v1/topics/"+dup.ID+"/cosign", nil, 200)
		for _, c := range []*apptest.Client{res2, res4} {
			apptest.JSON[deliberation.Support](t, c, "POST", "/api/v1/topics/"+dup.ID+"/support", nil, 201)
		}
		comment := apptest.JSON[deliberation.Comment](t, res4, "POST", "/api/v1/topics/"+dup.ID+"/comments", deliberation.CommentInput{Body: "充电棚要有遮雨顶"}, 201)
		declined := h.accepted(t, "要求物业费全免", "community", "")
		apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+declined.ID+"/shelve", deliberation.MoveInput{Reason: "不属议事会事项"}, 200)

		// A community of the township without its own council brings its
		// topics to the township's council.
		e.User("off.a", access.Officer, communityA[:9])
		off := e.Login("off.a")
		apptest.JSON[deliberation.Council](t, off, "POST", "/api/v1/councils", deliberation.CouncilInput{Division: communityA[:9], Name: "北山街道议事会", QuorumPM: 500, Majority: "simple", CosignDays: 7}, 201)
		other := apptest.JSON[deliberation.Topic](t, off, "POST", "/api/v1/topics", deliberation.TopicInput{Division: communityA[:9] + "099", Title: "街道公交线路调整", Description: "x", AreaKind: "community"}, 201)
		snapshot := func() string {
			return fmt.Sprint(e.Count(`SELECT COUNT(*) FROM dlb_topic_events`), e.Count(`SELECT COUNT(*) FROM dlb_cosigns`), e.Count(`SELECT COUNT(*) FROM dlb_supports`),
				e.Count(`SELECT COUNT(*) FROM dlb_topics WHERE status = 'merged' OR merged_into <> ''`), e.Count(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'deliberation.topic_merge%'`))
		}
		before := snapshot()
		t.Run("merging into itself is refused naming into, and nothing is written", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: dup.ID}, 400, "into")
			refused(t, h.cw, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{}, 400, "into")
		})
		t.Run("merging into a closed topic is refused", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: declined.ID}, 409, "")
		})
		t.Run("merging a closed topic is refused", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+declined.ID+"/merge", deliberation.MergeInput{Into: target.ID}, 409, "")
		})
		t.Run("merging across councils is refused naming into", func(t *testing.T) {
			if other.CouncilID == h.council.ID {
				t.Fatalf("the other topic is on the community's council")
			}
			refused(t, off, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: other.ID}, 400, "into")
		})
		t.Run("a resident, or a worker of another community, cannot merge", func(t *testing.T) {
			refused(t, res1, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: target.ID}, 403, "")
			refused(t, e.Login("cw.b"), "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: target.ID}, 404, "")
		})
		t.Run("after every refusal nothing was written", func(t *testing.T) {
			if after := snapshot(); after != before {
				t.Fatalf("before %s, after %s", before, after)
			}
		})
		var merged deliberation.Topic
		t.Run("the merge closes the duplicate as 已合并 with a link to the target", func(t *testing.T) {
			merged = apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: target.ID, Reason: "同一地点同一诉求"}, 200)
			if merged.Status != deliberation.Merged || merged.MergedInto == nil || merged.MergedInto.ID != target.ID || merged.Reason != "同一地点同一诉求" {
				t.Fatalf("merged %+v", merged)
			}
		})
		t.Run("co-signs move counted once per household: the target reaches its threshold", func(t *testing.T) {
			got := apptest.JSON[deliberation.Topic](t, res1, "GET", "/api/v1/topics/"+target.ID, nil, 200)
			// Household 2 signed both and counts once; household 3 raised
			// the duplicate and now co-signs the target.
			if got.Cosigns != 2 || got.Status != deliberation.Screening {
				t.Fatalf("target %s with %d co-signs", got.Status, got.Cosigns)
			}
			if n := e.Count(`SELECT COUNT(DISTINCT household_id) FROM dlb_cosigns WHERE topic_id = $1`, target.ID); n != 2 || e.Count(`SELECT COUNT(*) FROM dlb_cosigns WHERE topic_id = $1`, target.ID) != 2 {
				t.Fatalf("co-sign rows %d", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_cosigns WHERE topic_id = $1 AND household_id = $2`, target.ID, h.homes["res.3"]); n != 1 {
				t.Fatalf("the duplicate's raiser does not co-sign the target")
			}
		})
		t.Run("supports move counted once per household", func(t *testing.T) {
			sp := apptest.JSON[deliberation.Support](t, res4, "GET", "/api/v1/topics/"+target.ID+"/support", nil, 200)
			if sp.Supports != 2 || !sp.Mine {
				t.Fatalf("target supports %+v", sp)
			}
		})
		t.Run("both public histories record the merge, and the audit log has it", func(t *testing.T) {
			got := apptest.JSON[deliberation.Topic](t, res4, "GET", "/api/v1/topics/"+dup.ID, nil, 200)
			last := got.History[len(got.History)-1]
			if last.Action != "merge" || last.To != deliberation.Merged || !strings.Contains(last.Note, "东门增设充电棚") {
				t.Fatalf("the duplicate's history %+v", got.History)
			}
			tg := apptest.JSON[deliberation.Topic](t, res4, "GET", "/api/v1/topics/"+target.ID, nil, 200)
			actions := []string{}
			for _, ev := range tg.History {
				actions = append(actions, ev.Action)
			}
			if strings.Join(actions, ",") != "raise,merge_in,threshold" {
				t.Fatalf("the target's history %v", actions)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('deliberation.topic_merge', 'deliberation.topic_merge_in')`); n != 2 {
				t.Fatalf("audit entries %d", n)
			}
		})
		t.Run("the duplicate's comments stay readable; new comments and supports go to the target", func(t *testing.T) {
			pg := apptest.JSON[deliberation.CommentPage](t, res1, "GET", "/api/v1/topics/"+dup.ID+"/comments", nil, 200)
			if len(pg.Comments) != 1 || pg.Comments[0].ID != comment.ID {
				t.Fatalf("comments %+v", pg.Comments)
			}
			refused(t, res1, "POST", "/api/v1/topics/"+dup.ID+"/comments", deliberation.CommentInput{Body: "再说一句"}, 409, "")
			refused(t, res1, "POST", "/api/v1/topics/"+dup.ID+"/support", nil, 409, "")
			st, body, _ := res1.Get("/deliberation/topics/" + dup.ID)
			if st != 200 || !strings.Contains(body, `id="merged-into"`) || !strings.Contains(body, "/deliberation/topics/"+target.ID) || !strings.Contains(body, "充电棚要有遮雨顶") {
				t.Fatalf("the duplicate's page %d", st)
			}
		})
		t.Run("a merged topic cannot be merged again", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+dup.ID+"/merge", deliberation.MergeInput{Into: target.ID}, 409, "")
		})
		t.Run("the pages pick the target from a list and merge only once confirmed", func(t *testing.T) {
			third := raise(res4, "东门充电棚（第三次提出）")
			st, body, _ := h.cw.Get("/deliberation/topics/" + third.ID)
			if st != 200 || !strings.Contains(body, `href="/deliberation/topics/`+third.ID+`/merge"`) {
				t.Fatalf("topic page %d lacks the merge link", st)
			}
			st, body, _ = h.cw.Get("/deliberation/topics/" + third.ID + "/merge")
			if st != 200 || !strings.Contains(body, `value="`+target.ID+`"`) || strings.Contains(body, `id="into-`+third.ID+`"`) || strings.Contains(body, `id="into-`+dup.ID+`"`) || strings.Contains(body, `id="into-`+declined.ID+`"`) {
				t.Fatalf("the picker %d: %.2000s", st, body)
			}
			st, body, _ = h.cw.Form("/deliberation/topics/"+third.ID+"/merge", map[string]string{}, nil)
			if st != 400 || !strings.Contains(body, `href="#f-into"`) {
				t.Fatalf("no choice: %d", st)
			}
			st, body, _ = h.cw.Form("/deliberation/topics/"+third.ID+"/merge", map[string]string{"into": target.ID}, nil)
			if st != 200 || !strings.Contains(body, `id="merge-confirm"`) || e.Count(`SELECT COUNT(*) FROM dlb_topics WHERE id = $1 AND status = 'merged'`, third.ID) != 0 {
				t.Fatalf("the confirmation %d", st)
			}
			st, _, hdr := h.cw.Form("/deliberation/topics/"+third.ID+"/merge", map[string]string{"into": target.ID, "confirm": "1"}, nil)
			if st != 303 || hdr.Get("Location") != "/deliberation/topics/"+target.ID+"?merged=1" {
				t.Fatalf("confirmed: %d %s", st, hdr.Get("Location"))
			}
			if n := e.Count(`SELECT COUNT(*) FROM dlb_topics WHERE id = $1 AND status = 'merged' AND merged_into = $2`, third.ID, target.ID); n != 1 {
				t.Fatalf("not merged")
			}
		})
	})
}
