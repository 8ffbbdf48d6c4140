package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"linli/internal/web"
)

func TestRefusalsAreKitPages(t *testing.T) {
	t.Parallel()
	rd := web.NewRenderer()
	rt := web.NewRouter()
	rt.Refuse = func(w http.ResponseWriter, r *http.Request, err error) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			web.WriteProblem(w, r, err)
			return
		}
		rd.Refuse(w, r, err)
	}
	rt.Public("GET /reports", func(w http.ResponseWriter, r *http.Request) {})
	rt.API("GET /api/v1/reports", web.Op{Summary: "reports", Public: true}, func(w http.ResponseWriter, r *http.Request) error { return nil })
	get := func(method, path, lang string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if lang != "" {
			r.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		return w
	}
	for _, k := range []struct {
		name, method, path, lang string
		status                   int
		title, alert             string
	}{
		{"an unknown page is the message page in Chinese", "GET", "/nowhere", "", 404, "找不到这个页面", "找不到这个页面，请检查地址或从首页进入"},
		{"and in English", "GET", "/nowhere", "en", 404, "Page not found", "there is no such page; check the address or start from the home page"},
		{"a method the page does not take is a 405 page", "DELETE", "/reports", "", 405, "不能这样打开此页面", "此页面不能这样打开，请从页面上的链接或按钮进入"},
		{"and in English", "DELETE", "/reports", "en", 405, "This page cannot be used this way", "this page cannot be used this way; use the links and buttons on the pages"},
	} {
		t.Run(k.name, func(t *testing.T) {
			w := get(k.method, k.path, k.lang)
			html := w.Body.String()
			if w.Code != k.status || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || first(html, `<h1>(.*?)</h1>`) != k.title || first(html, `role="alert">(.*?)</p>`) != k.alert {
				t.Errorf("got %d %q h1 %q alert %q", w.Code, w.Header().Get("Content-Type"), first(html, `<h1>(.*?)</h1>`), first(html, `role="alert">(.*?)</p>`))
			}
			if k.status == 405 && w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
		})
	}
	t.Run("the API still answers problem+json", func(t *testing.T) {
		w := get("GET", "/api/v1/nowhere", "")
		var p web.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 404 || p.Detail == "" || p.DetailEN == "" {
			t.Errorf("got %d %v %+v", w.Code, err, p)
		}
	})
	t.Run("a failure inside is a plain page in both languages, nothing of the failure in it", func(t *testing.T) {
		w := httptest.NewRecorder()
		web.InternalError(w, httptest.NewRequest("GET", "/x", nil))
		html := w.Body.String()
		if w.Code != 500 || !strings.Contains(html, "服务器内部错误") || !strings.Contains(html, "Internal server error") {
			t.Errorf("got %d %q", w.Code, html)
		}
	})
}
