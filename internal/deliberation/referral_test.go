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

// A 民呼我为 suggestion becomes a council topic from the request's page:
// the raise form opens prefilled, the topic keeps the request as its
// source, one request makes one topic, and the request's page links to
// the topic where its reply is.
func TestASuggestionBecomesATopicWithOneClick(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		h := newHood(t, e)
		res1 := e.Login("res.1")
		submit := func(category, text string) requests.Receipt {
			t.Helper()
			st, body := res1.Do("POST", "/api/v1/requests", requests.NewRequest{Category: category, Description: text, Division: communityA, Channel: "app"})
			if st != 201 {
				t.Fatalf("request: %d %s", st, body)
			}
			var rc requests.Receipt
			if err := json.Unmarshal([]byte(body), &rc); err != nil {
				t.Fatal(err)
			}
			return rc
		}
		sug := submit("suggestion", "建议在小区东门增设电动自行车集中充电棚，楼道充电太危险")
		t.Run("the worker's request page offers to raise it as a topic", func(t *testing.T) {
			st, body, _ := h.cw.Get("/requests/" + sug.ID)
			if st != 200 || !contains(body, `id="raise-topic" href="/deliberation/raise?source=request:`+sug.ID+`"`) {
				t.Fatalf("request page %d lacks the raise link", st)
			}
		})
		t.Run("the raise form opens prefilled with the suggestion's text", func(t *testing.T) {
			st, body, _ := h.cw.Get("/deliberation/raise?source=request:" + sug.ID)
			if st != 200 || !contains(body, `name="source" value="request:`+sug.ID+`"`) || !contains(body, "楼道充电太危险</textarea>") ||
				!contains(body, `name="division_code" value="`+communityA+`"`) {
				t.Fatalf("raise form %d not prefilled:\n%s", st, body)
			}
		})
		var tp deliberation.Topic
		t.Run("raised, the topic names the request as its source and goes to screening", func(t *testing.T) {
			tp = apptest.JSON[deliberation.Topic](t, h.cw, "POST", "/api/v1/topics", deliberation.TopicInput{Title: "东门增设充电棚", Description: "居民建议增设集中充电棚",
				AreaKind: "community", Source: "request:" + sug.ID}, 201)
			if tp.Source != "request:"+sug.ID || tp.Origin != deliberation.OriginRequest || tp.Status != deliberation.Screening || tp.Division != communityA {
				t.Fatalf("topic %+v", tp)
			}
		})
		t.Run("a second topic from the same request is refused and the form opens the first", func(t *testing.T) {
			refused(t, h.cw, "POST", "/api/v1/topics", deliberation.TopicInput{Title: "再提一次", Description: "重复", AreaKind: "community", Source: "request:" + sug.ID}, 409, "")
			st, _, hdr := h.cw.Get("/deliberation/raise?source=request:" + sug.ID)
			if st != 303 || hdr.Get("Location") != "/deliberation/topics/"+tp.ID {
				t.Fatalf("second opening: %d %q", st, hdr.Get("Location"))
			}
		})
		t.Run("the request's page links to the topic for the worker and names it for the resident", func(t *testing.T) {
			_, body, _ := h.cw.Get("/requests/" + sug.ID)
			if !contains(body, `<a href="/deliberation/topics/`+tp.ID+`">东门增设充电棚</a>`) || contains(body, `id="raise-topic"`) {
				t.Fatalf("worker's request page:\n%s", body)
			}
			_, body, _ = res1.Get("/requests/" + sug.ID)
			if !contains(body, "东门增设充电棚") || !contains(body, `href="/deliberation/board/`+communityA+`"`) {
				t.Fatalf("resident's request page lacks the topic:\n%s", body)
			}
			_, body, _ = h.cw.Get("/deliberation/topics/" + tp.ID)
			if !contains(body, `<a href="/requests/`+sug.ID+`">`) {
				t.Fatal("the topic page does not link its source request")
			}
		})
		t.Run("only a suggestion, in the worker's area, by a worker, can be the source; nothing is written", func(t *testing.T) {
			question := submit("policy", "请问医保异地备案怎么办理")
			before := e.Count("SELECT COUNT(*) FROM dlb_topics")
			in := deliberation.TopicInput{Title: "题", Description: "说明", AreaKind: "community"}
			in.Source = "request:" + question.ID
			refused(t, h.cw, "POST", "/api/v1/topics", in, 400, "source")
			in.Source = "request:nosuch"
			refused(t, h.cw, "POST", "/api/v1/topics", in, 400, "source")
			in.Source = "visit:12345"
			refused(t, h.cw, "POST", "/api/v1/topics", in, 400, "source")
			in.Source = "request:" + submit("suggestion", "建议增加社区图书角的开放时间").ID
			refused(t, e.Login("cw.b"), "POST", "/api/v1/topics", in, 400, "source")
			refused(t, res1, "POST", "/api/v1/topics", in, 403, "")
			if after := e.Count("SELECT COUNT(*) FROM dlb_topics"); after != before {
				t.Fatalf("topics %d → %d", before, after)
			}
		})
	})
}
