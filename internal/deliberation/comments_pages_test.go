package deliberation_test

import (
	"strings"
	"testing"

	"linli/internal/apptest"
	"linli/internal/deliberation"
)

// The online discussion through forms without JavaScript: comment, reply,
// support, report, a held comment's notice and the moderator's queue.
func TestCommentPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		tp := h.accepted(t, "健身器材更新", "community", "")
		res1, res2 := e.Login("res.1"), e.Login("res.2")
		topicURL := "/deliberation/topics/" + tp.ID
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
			if want == 303 {
				return hdr.Get("Location")
			}
			return body
		}
		var first string
		t.Run("a resident posts a comment from the topic page", func(t *testing.T) {
			page(t, res1, topicURL, `id="comment-form"`, "还没有评论", `id="support-button"`)
			loc := post(t, res1, topicURL+"/comments", map[string]string{"body": "器材太旧了"}, 303)
			if !strings.Contains(loc, "commented=1") {
				t.Fatalf("redirect %s", loc)
			}
			page(t, res2, topicURL, "器材太旧了")
			pg := apptest.JSON[deliberation.CommentPage](t, res2, "GET", "/api/v1/topics/"+tp.ID+"/comments", nil, 200)
			first = pg.Comments[0].ID
		})
		t.Run("an over-long comment shows the form again naming body", func(t *testing.T) {
			body := post(t, res2, topicURL+"/comments", map[string]string{"body": strings.Repeat("长", 501)}, 400)
			if !strings.Contains(body, `href="#f-body"`) {
				t.Fatalf("the form again: %.600s", body)
			}
		})
		t.Run("a neighbour replies through the reply link", func(t *testing.T) {
			page(t, res2, topicURL+"?reply="+first, `name="parent_id" value="`+first+`"`, `id="replying"`)
			post(t, res2, topicURL+"/comments", map[string]string{"body": "同意更换", "parent_id": first}, 303)
			page(t, res1, topicURL, "同意更换")
		})
		t.Run("support and its withdrawal by button", func(t *testing.T) {
			post(t, res2, topicURL+"/support", nil, 303)
			page(t, res2, topicURL, `id="unsupport"`, `id="support-count">1<`)
			post(t, res2, topicURL+"/unsupport", nil, 303)
			page(t, res2, topicURL, `id="support-count">0<`)
		})
		t.Run("a comment with a sensitive word tells its author it awaits review", func(t *testing.T) {
			loc := post(t, res2, topicURL+"/comments", map[string]string{"body": "谁在收高利贷"}, 303)
			body := page(t, res2, loc, "正在等待审核")
			if !strings.Contains(body, "谁在收高利贷") {
				t.Fatal("the author does not see the held comment")
			}
			if b := page(t, res1, topicURL); strings.Contains(b, "谁在收高利贷") {
				t.Fatal("a held comment is public")
			}
		})
		t.Run("a report from the page lands in the worker's queue, who hides the comment", func(t *testing.T) {
			post(t, res2, "/deliberation/comments/"+first+"/report", map[string]string{"reason": ""}, 303)
			page(t, h.cw, "/deliberation?division_code="+communityA, `id="moderation"`, `id="words"`)
			page(t, h.cw, "/deliberation/moderation?division_code="+communityA, "器材太旧了", "谁在收高利贷")
			page(t, h.cw, "/deliberation/comments/"+first, `id="do-hide"`)
			post(t, h.cw, "/deliberation/comments/"+first+"/moderation", map[string]string{"action": "hide"}, 400)
			post(t, h.cw, "/deliberation/comments/"+first+"/moderation", map[string]string{"action": "hide", "reason": "重复"}, 303)
			b := page(t, res2, topicURL, "该评论已被隐藏")
			if strings.Contains(b, "器材太旧了") {
				t.Fatal("a hidden comment's text is shown to a resident")
			}
			page(t, h.cw, topicURL, "器材太旧了", "重复")
		})
		t.Run("a community worker edits the sensitive words", func(t *testing.T) {
			page(t, h.cw, "/deliberation/words?division_code="+communityA, "高利贷")
			post(t, h.cw, "/deliberation/words", map[string]string{"division_code": communityA, "words": "噪音扰民\r\n乱停车"}, 303)
			page(t, h.cw, "/deliberation/words?division_code="+communityA, "乱停车", "噪音扰民")
		})
	})
}
