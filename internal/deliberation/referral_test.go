package deliberation_test

import (
	"encoding/json"
	"testing"

	"linli/internal/apptest"
	"linli/internal/deliberation"
	"linli/internal/requests"
)

// A topic referred to 民呼我为 goes on as a request that names it: the
// request links to the topic and the topic to the request, and the
// resident who raised it follows the request.
func TestReferredTopicBecomesALinkedRequest(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		res5 := e.Login("res.5")
		tp := apptest.JSON[deliberation.Topic](t, e.Login("res.6"), "POST", "/api/v1/topics", deliberation.TopicInput{Title: "2 幢路灯不亮", Description: "2 幢门前两盏路灯不亮", AreaKind: "building", AreaRef: "上保社区 2 幢"}, 201)
		t.Run("referring needs a reason and moves the topic to 已转办", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/refer", deliberation.MoveInput{}, 400, "reason")
			got := apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics/"+tp.ID+"/refer", deliberation.MoveInput{Reason: "属设施报修"}, 200)
			if got.Status != deliberation.Referred || got.RequestID != "" {
				t.Fatalf("referred %+v", got)
			}
		})
		var req requests.Receipt
		t.Run("the request raised from it names the topic, and the topic names the request", func(t *testing.T) {
			st, body := h.cw.Do("POST", "/api/v1/requests", requests.NewRequest{Category: "suggestion", Description: "议题转办：2 幢门前两盏路灯不亮", Division: communityA,
				Channel: "walkin", Ref: "topic:" + tp.ID})
			if st != 201 {
				t.Fatalf("request: %d %s", st, body)
			}
			if err := json.Unmarshal([]byte(body), &req); err != nil {
				t.Fatal(err)
			}
			if req.Ref != "topic:"+tp.ID || req.RefHref() != "/deliberation/topics/"+tp.ID {
				t.Fatalf("request ref %q", req.Ref)
			}
			got := apptest.JSON[deliberation.Topic](t, res5, "GET", "/api/v1/topics/"+tp.ID, nil, 200)
			if got.RequestID != req.ID {
				t.Fatalf("the topic names request %q, want %q", got.RequestID, req.ID)
			}
		})
		t.Run("both pages link to each other", func(t *testing.T) {
			st, body, _ := h.cw.Get("/requests/" + req.ID)
			if st != 200 || !contains(body, `href="/deliberation/topics/`+tp.ID+`" id="ref"`) {
				t.Fatalf("request page %d lacks the topic link", st)
			}
			st, body, _ = res5.Get("/deliberation/topics/" + tp.ID)
			if st != 200 || !contains(body, `href="/requests/`+req.ID+`" id="request"`) {
				t.Fatalf("topic page %d lacks the request link", st)
			}
		})
		t.Run("a topic outside the worker's area cannot be named", func(t *testing.T) {
			st, _ := e.Login("cw.b").Do("POST", "/api/v1/requests", requests.NewRequest{Category: "suggestion", Description: "路灯不亮需要维修", Division: communityB,
				Channel: "walkin", Ref: "topic:" + tp.ID})
			if st != 400 {
				t.Fatalf("status %d, want 400", st)
			}
		})
	})
}
