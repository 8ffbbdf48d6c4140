package app_test

import (
	"html"
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

func TestDesignPageShowsEveryComponent(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sys", access.SysAdmin, "33")
		e.User("res", access.Resident, apptest.CommunityA)
		sys := e.Login("sys")
		st, page, _ := sys.Get("/design")
		if st != 200 {
			t.Fatalf("sysadmin: %d", st)
		}
		section := func(id string) string {
			m := regexp.MustCompile(`(?s)<section class="component" id="c-` + id + `"[^>]*>(.*?)</section>`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no section %s", id)
			}
			return m[1]
		}
		for _, k := range []struct{ id, name, live string }{
			{"header", "page header with a breadcrumb above the title", ""},
			{"nav", "grouped navigation with a link to the menu page", `<a href="/menu">`},
			{"table", "a responsive table with labelled cells", `<table class="rtable">`},
			{"table", "a card list", `<ul class="cardlist">`},
			{"summary", "a summary list", `<dl class="summary">`},
			{"tag", "status tags of every tone", `<span class="tag t-ok">已办结</span> <span class="tag t-warn">即将超时</span> <span class="tag t-bad">超时</span> <span class="tag t-info">办理中</span> <span class="tag t-muted">已关闭</span>`},
			{"actions", "one primary action, a secondary and a danger one", `<a class="button" href="#c-actions">受理</a> <a class="button secondary" href="#c-actions">转办</a> <a class="button danger" href="#c-confirm">删除</a>`},
			{"confirm", "a confirmation before deleting", `<a class="button danger" href="#c-confirm">确定删除</a>`},
			{"question", "a question page", `<form class="stack question"`},
			{"errors", "an error summary that links to its field", `<a href="#f-phone">请填写 11 位手机号码</a>`},
			{"pager", "numbered pagination", `第 2 / 12 页`},
			{"pager", "keyset pagination with a bounded total", `共 1,000+ 条`},
			{"empty", "an empty state", `<div class="empty" role="status">`},
			{"filters", "a filter panel", `<details class="filters">`},
			{"formats", "grouped numbers", `<dd class="num-sample">1,416,237</dd>`},
			{"formats", "Chinese dates", `<dd class="date-sample">2026年11月30日</dd>`},
			{"thumb", "a thumbnail figure", `<figure class="thumb"><img src="/static/favicon.`},
			{"big", "the residents' big buttons", `<nav class="big-actions"`},
			{"print", "how to print", `Ctrl+P`},
		} {
			t.Run("it shows "+k.name+" and the snippet that makes it", func(t *testing.T) {
				s := section(k.id)
				if !strings.Contains(html.UnescapeString(s), k.live) {
					t.Errorf("no live example %q in:\n%.600s", k.live, s)
				}
				if !strings.Contains(s, `<pre class="snippet"><code>`) {
					t.Error("no snippet")
				}
			})
		}
		t.Run("the page header itself has the breadcrumb", func(t *testing.T) {
			if !strings.Contains(page, `<ol class="crumbs"><li><a href="/menu">全部功能</a></li><li><span aria-current="page">页面组件</span></li></ol>`) {
				t.Error("no breadcrumb")
			}
		})
		t.Run("outside the demo a resident is not shown it", func(t *testing.T) {
			if st, _, _ := e.Login("res").Get("/design"); st != 404 {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("in the demo everyone is, from the menu too", func(t *testing.T) {
			if _, err := e.App.DB.W.Exec(`INSERT INTO settings (key, value) VALUES ('demo', '1')`); err != nil {
				t.Fatal(err)
			}
			demo := e.Restart()
			srv := httptest.NewServer(demo.Handler())
			defer srv.Close()
			c := e.Login("res")
			for _, path := range []string{"/design", "/menu"} {
				resp, err := c.HTTP.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || (path == "/menu" && !strings.Contains(string(b), `<a href="/design">页面组件</a>`)) {
					t.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
		})
	})
}
