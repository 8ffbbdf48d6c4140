package deliberation_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// Residents discuss a topic online: comments with one level of replies,
// one support per household, reports once per account, sensitive words
// that hold a comment for a moderator, and hiding with a reason, audited.
func TestOnlineDeliberation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		tp := h.accepted(t, "小区停车收费", "community", "")
		res1, res2, res3, member, outsider := e.Login("res.1"), e.Login("res.2"), e.Login("res.3"), e.Login("res.6"), e.Login("res.b")
		comments := "/api/v1/topics/" + tp.ID + "/comments"
		var first, held deliberation.Comment

		t.Run("a resident comments and a neighbour replies under it", func(t *testing.T) {
			first = apptest.JSON[deliberation.Comment](t, res1, "POST", comments, deliberation.CommentInput{Body: "建议按月收费"}, 201)
			if first.State != deliberation.CommentPublic || !first.Mine {
				t.Fatalf("comment %+v", first)
			}
			apptest.JSON[deliberation.Comment](t, res2, "POST", comments, deliberation.CommentInput{Body: "同意，外来车辆另算", ParentID: first.ID}, 201)
			pg := apptest.JSON[deliberation.CommentPage](t, res3, "GET", comments, nil, 200)
			if len(pg.Comments) != 1 || len(pg.Comments[0].Replies) != 1 || pg.Comments[0].Replies[0].Body != "同意，外来车辆另算" {
				t.Fatalf("page %+v", pg)
			}
			if pg.Comments[0].Author != "" {
				t.Fatalf("a resident reads the author's account: %+v", pg.Comments[0])
			}
		})
		t.Run("a reply to a reply is refused naming parent_id", func(t *testing.T) {
			pg := apptest.JSON[deliberation.CommentPage](t, res1, "GET", comments, nil, 200)
			refused(t, res3, "POST", comments, deliberation.CommentInput{Body: "再回复", ParentID: pg.Comments[0].Replies[0].ID}, 400, "parent_id")
		})
		t.Run("a comment over 500 characters is refused naming body and writes nothing", func(t *testing.T) {
			refused(t, res3, "POST", comments, deliberation.CommentInput{Body: strings.Repeat("长", deliberation.CommentMax+1)}, 400, "body")
			refused(t, res3, "POST", comments, deliberation.CommentInput{Body: "  "}, 400, "body")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_comments`); n != 2 {
				t.Fatalf("comments %d, want 2", n)
			}
		})
		t.Run("a resident outside the community cannot comment, read or support", func(t *testing.T) {
			refused(t, outsider, "POST", comments, deliberation.CommentInput{Body: "我也说两句"}, 404, "")
			refused(t, outsider, "GET", comments, nil, 404, "")
			refused(t, outsider, "POST", "/api/v1/topics/"+tp.ID+"/support", nil, 404, "")
		})
		t.Run("a community worker adds a sensitive word; a comment with it is held, seen only by its author and moderators", func(t *testing.T) {
			refused(t, res1, "PUT", "/api/v1/sensitive-words", deliberation.WordsInput{Division: communityA, Words: []string{"x"}}, 403, "")
			refused(t, h.cw, "PUT", "/api/v1/sensitive-words", deliberation.WordsInput{Division: communityB, Words: []string{"x"}}, 400, "division_code")
			ws := apptest.JSON[deliberation.Words](t, h.cw, "PUT", "/api/v1/sensitive-words", deliberation.WordsInput{Division: communityA, Words: []string{"黑车", "黑车", " "}}, 200)
			if len(ws.Words) != 1 || ws.Words[0] != "黑车" || len(ws.Defaults) == 0 {
				t.Fatalf("words %+v", ws)
			}
			held = apptest.JSON[deliberation.Comment](t, res2, "POST", comments, deliberation.CommentInput{Body: "门口黑车太多"}, 201)
			if held.State != deliberation.CommentHeld {
				t.Fatalf("state %s, want held", held.State)
			}
			if pg := apptest.JSON[deliberation.CommentPage](t, res3, "GET", comments, nil, 200); len(pg.Comments) != 1 {
				t.Fatalf("another resident sees %d comments, want 1", len(pg.Comments))
			}
			if pg := apptest.JSON[deliberation.CommentPage](t, res2, "GET", comments, nil, 200); len(pg.Comments) != 2 || pg.Comments[1].State != deliberation.CommentHeld {
				t.Fatalf("the author sees %+v", pg.Comments)
			}
			q := apptest.JSON[[]deliberation.Comment](t, h.cw, "GET", "/api/v1/comment-queue?division_code="+communityA, nil, 200)
			if len(q) != 1 || q[0].ID != held.ID || q[0].Author != "res.2" {
				t.Fatalf("queue %+v", q)
			}
			refused(t, res3, "GET", "/api/v1/comment-queue", nil, 400, "division_code")
		})
		t.Run("a built-in word holds a comment too", func(t *testing.T) {
			c := apptest.JSON[deliberation.Comment](t, res3, "POST", comments, deliberation.CommentInput{Body: "有人在楼下赌博"}, 201)
			if c.State != deliberation.CommentHeld {
				t.Fatalf("state %s", c.State)
			}
			apptest.JSON[deliberation.Comment](t, h.cw, "POST", "/api/v1/comments/"+c.ID+"/moderation", deliberation.ModerationInput{Action: "reject", Reason: "与议题无关"}, 200)
			if pg := apptest.JSON[deliberation.CommentPage](t, res1, "GET", comments, nil, 200); len(pg.Comments) != 1 {
				t.Fatalf("a rejected comment is public: %+v", pg.Comments)
			}
		})
		t.Run("a resident cannot moderate; a held comment is public once approved", func(t *testing.T) {
			refused(t, res1, "POST", "/api/v1/comments/"+held.ID+"/moderation", deliberation.ModerationInput{Action: "approve"}, 403, "")
			refused(t, h.cw, "POST", "/api/v1/comments/"+held.ID+"/moderation", deliberation.ModerationInput{Action: "erase"}, 400, "action")
			got := apptest.JSON[deliberation.Comment](t, h.cw, "POST", "/api/v1/comments/"+held.ID+"/moderation", deliberation.ModerationInput{Action: "approve"}, 200)
			if got.State != deliberation.CommentPublic {
				t.Fatalf("state %s", got.State)
			}
			if pg := apptest.JSON[deliberation.CommentPage](t, res1, "GET", comments, nil, 200); len(pg.Comments) != 2 {
				t.Fatalf("after approval %d comments, want 2", len(pg.Comments))
			}
			refused(t, h.cw, "POST", "/api/v1/comments/"+held.ID+"/moderation", deliberation.ModerationInput{Action: "approve"}, 409, "")
		})
		t.Run("a resident reports a comment once; it enters the moderators' queue", func(t *testing.T) {
			if st, body := res3.Do("POST", "/api/v1/comments/"+first.ID+"/report", deliberation.ReportInput{Reason: "广告"}); st != 204 {
				t.Fatalf("report: %d %s", st, body)
			}
			refused(t, res3, "POST", "/api/v1/comments/"+first.ID+"/report", deliberation.ReportInput{}, 409, "")
			if n := e.Count(`SELECT COUNT(*) FROM dlb_comment_reports`); n != 1 {
				t.Fatalf("reports %d, want 1", n)
			}
			q := apptest.JSON[[]deliberation.Comment](t, member, "GET", "/api/v1/comment-queue", nil, 200)
			if len(q) != 1 || q[0].ID != first.ID || q[0].Reports != 1 {
				t.Fatalf("a council member's queue %+v", q)
			}
		})
		t.Run("a council member hides a comment with a reason; others read the stand-in text, moderators the reason", func(t *testing.T) {
			refused(t, member, "POST", "/api/v1/comments/"+first.ID+"/moderation", deliberation.ModerationInput{Action: "hide"}, 400, "reason")
			apptest.JSON[deliberation.Comment](t, member, "POST", "/api/v1/comments/"+first.ID+"/moderation", deliberation.ModerationInput{Action: "hide", Reason: "含广告"}, 200)
			pg := apptest.JSON[deliberation.CommentPage](t, res2, "GET", comments, nil, 200)
			if c := pg.Comments[0]; c.State != deliberation.CommentHidden || c.Body != "" || c.Reason != "" || len(c.Replies) != 1 {
				t.Fatalf("a resident reads %+v", c)
			}
			c := apptest.JSON[deliberation.Comment](t, h.cw, "GET", "/api/v1/comments/"+first.ID, nil, 200)
			if c.Body != "建议按月收费" || c.Reason != "含广告" {
				t.Fatalf("the worker reads %+v", c)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.comment_hide' AND object_id = $1 AND detail = '含广告'`, first.ID); n != 1 {
				t.Fatalf("hide audits %d, want 1", n)
			}
		})
		t.Run("a moderator restores it, audited, and it reads as before", func(t *testing.T) {
			apptest.JSON[deliberation.Comment](t, h.cw, "POST", "/api/v1/comments/"+first.ID+"/moderation", deliberation.ModerationInput{Action: "restore"}, 200)
			pg := apptest.JSON[deliberation.CommentPage](t, res2, "GET", comments, nil, 200)
			if pg.Comments[0].Body != "建议按月收费" || pg.Comments[0].State != deliberation.CommentPublic {
				t.Fatalf("after restore %+v", pg.Comments[0])
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deliberation.comment_restore' AND object_id = $1`, first.ID); n != 1 {
				t.Fatalf("restore audits %d, want 1", n)
			}
		})
		t.Run("comments page by cursor", func(t *testing.T) {
			pg := apptest.JSON[deliberation.CommentPage](t, res1, "GET", comments+"?page_size=1", nil, 200)
			if len(pg.Comments) != 1 || pg.Next == "" {
				t.Fatalf("first page %+v", pg)
			}
			pg2 := apptest.JSON[deliberation.CommentPage](t, res1, "GET", comments+"?page_size=1&cursor="+pg.Next, nil, 200)
			if len(pg2.Comments) != 1 || pg2.Comments[0].ID == pg.Comments[0].ID {
				t.Fatalf("second page %+v", pg2)
			}
		})
		t.Run("support counts once per household and may be withdrawn", func(t *testing.T) {
			support := "/api/v1/topics/" + tp.ID + "/support"
			sp := apptest.JSON[deliberation.Support](t, res1, "POST", support, nil, 201)
			if sp.Supports != 1 || !sp.Mine {
				t.Fatalf("support %+v", sp)
			}
			refused(t, res1, "POST", support, nil, 409, "")
			refused(t, h.cw, "POST", support, nil, 403, "")
			apptest.JSON[deliberation.Support](t, res2, "POST", support, nil, 201)
			if sp := apptest.JSON[deliberation.Support](t, res3, "GET", support, nil, 200); sp.Supports != 2 || sp.Mine {
				t.Fatalf("count %+v", sp)
			}
			if sp := apptest.JSON[deliberation.Support](t, res1, "DELETE", support, nil, 200); sp.Supports != 1 || sp.Mine {
				t.Fatalf("withdrawn %+v", sp)
			}
			refused(t, res1, "DELETE", support, nil, 409, "")
		})
	})
}
