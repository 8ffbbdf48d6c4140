package web_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"testing"
	"testing/fstest"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// pageFS is a feature's templates: one page that shows its data and the
// error of one field.
var pageFS = fstest.MapFS{
	"templates/hello.html": {Data: []byte(`{{define "content"}}<p id="data">{{.Data}}</p><p id="ferr">{{.FieldErr "year"}}</p><p id="value">{{.Value "year"}}</p>{{end}}`)},
}

// first returns the text of the first match of pattern's group in s.
func first(s, pattern string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

func all(s, pattern string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func newPages(t *testing.T) (*web.Renderer, *web.Pages) {
	t.Helper()
	rd := web.NewRenderer()
	rd.Nav = []web.NavItem{
		{Href: "/", Label: web.M("首页", "Home"), Primary: 1},
		{Href: "/audit", Label: web.M("审计日志", "Audit log"), Roles: []access.Role{access.Auditor}, Group: web.NavAdmin, Primary: 2},
		{Href: "/lifecircle", Label: web.M("生活圈", "Life circles"), Roles: []access.Role{access.Officer, access.CommunityWorker}, Group: web.NavAnalysis, Primary: 3},
	}
	return rd, rd.Parse(pageFS, "templates/*.html")
}

// render renders the page for p, with the cookies given.
func render(ps *web.Pages, p *access.Principal, status int, v web.View, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/hello?x=1", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	if p != nil {
		r = r.WithContext(access.With(r.Context(), p))
	}
	w := httptest.NewRecorder()
	ps.Render(w, r, status, "hello", v)
	return w
}

func TestRender(t *testing.T) {
	t.Parallel()
	rd, ps := newPages(t)
	t.Run("Chinese by default, with the status and the view's data", func(t *testing.T) {
		w := render(ps, nil, 201, web.View{Title: web.M("你好", "Hello"), Data: "42"})
		html := w.Body.String()
		if w.Code != 201 || w.Header().Get("Content-Language") != "zh-CN" || first(html, `<title>(.*?)</title>`) != "你好 · 邻里" || first(html, `<p id="data">(.*?)</p>`) != "42" {
			t.Errorf("got %d %q", w.Code, first(html, `<title>(.*?)</title>`))
		}
	})
	t.Run("English when the language cookie says so", func(t *testing.T) {
		w := render(ps, nil, 200, web.View{Title: web.M("你好", "Hello"), Alert: web.M("出错", "Oops")}, &http.Cookie{Name: "lang", Value: "en"})
		html := w.Body.String()
		if w.Header().Get("Content-Language") != "en" || first(html, `<title>(.*?)</title>`) != "Hello · Linli" || first(html, `role="alert">(.*?)</p>`) != "Oops" {
			t.Errorf("got %q", first(html, `<title>(.*?)</title>`))
		}
	})
	t.Run("the navigation shows only the links of the user's role", func(t *testing.T) {
		nav := func(p *access.Principal) []string {
			html := render(ps, p, 200, web.View{}).Body.String()
			return all(first(html, `(?s)<nav class="main-nav"[^>]*>(.*?)</nav>`), `<a (?:class="all" )?href="([^"]+)"`)
		}
		if got := nav(&access.Principal{Username: "a", Role: access.Auditor}); !reflect.DeepEqual(got, []string{"/", "/audit", "/menu"}) {
			t.Errorf("auditor sees %v", got)
		}
		if got := nav(worker); !reflect.DeepEqual(got, []string{"/", "/lifecircle", "/menu"}) {
			t.Errorf("worker sees %v", got)
		}
		if got := nav(nil); got != nil {
			t.Errorf("anonymous visitor sees %v", got)
		}
	})
	t.Run("the demo banner and the elder mode follow the settings", func(t *testing.T) {
		rd.Demo = true
		defer func() { rd.Demo = false }()
		html := render(ps, nil, 200, web.View{}, &http.Cookie{Name: "elder", Value: "1"}).Body.String()
		if first(html, `<html lang="zh-CN" class="([^"]*)">`) != "elder" || first(html, `<p class="(demo-banner) no-print"`) != "demo-banner" {
			t.Errorf("root class %q", first(html, `<html lang="zh-CN" class="([^"]*)">`))
		}
	})
	t.Run("a field error and the submitted value refill the form", func(t *testing.T) {
		v := web.View{Errors: []fault.FieldError{fault.Field("year", fault.M("年份无效", "bad year"))}, Form: map[string][]string{"year": {"20x5"}}}
		html := render(ps, nil, 400, v, &http.Cookie{Name: "lang", Value: "en"}).Body.String()
		if first(html, `<p id="ferr">(.*?)</p>`) != "bad year" || first(html, `<p id="value">(.*?)</p>`) != "20x5" {
			t.Errorf("ferr %q value %q", first(html, `<p id="ferr">(.*?)</p>`), first(html, `<p id="value">(.*?)</p>`))
		}
	})
	t.Run("an unknown page or template glob is a programming error", func(t *testing.T) {
		mustPanic(t, func() {
			ps.Render(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), 200, "nope", web.View{})
		})
		mustPanic(t, func() { rd.Parse(pageFS, "templates/*.txt") })
	})
}

func TestPagesFail(t *testing.T) {
	t.Parallel()
	_, ps := newPages(t)
	fail := func(err error) (int, string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/hello", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: "en"})
		ps.Fail(w, r, "hello", web.View{Title: web.M("你好", "Hello")}, err)
		return w.Code, first(w.Body.String(), `role="alert">(.*?)</p>`)
	}
	t.Run("a refusal shows its status, message and field", func(t *testing.T) {
		m := fault.M("年份无效", "bad year")
		if code, alert := fail(fault.Invalid(m, fault.Field("year", m))); code != 400 || alert != "bad year" {
			t.Errorf("got %d %q", code, alert)
		}
	})
	t.Run("anything else is a 500 that reveals nothing", func(t *testing.T) {
		if code, alert := fail(errors.New("disk full at /var/lib/linli")); code != 500 || alert != "internal server error, please try again later" {
			t.Errorf("got %d %q", code, alert)
		}
	})
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	rd := web.NewRenderer()
	url := rd.Asset("app.css")
	if !regexp.MustCompile(`^/static/app\.[0-9a-f]{10}\.css$`).MatchString(url) {
		t.Fatalf("asset URL %q is not content-hashed", url)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{name}", rd.ServeStatic)
	t.Run("a hashed asset is served for a year", func(t *testing.T) {
		w := call(mux, "GET", url)
		if w.Code != 200 || w.Header().Get("Content-Type") != "text/css; charset=utf-8" || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || w.Body.Len() == 0 {
			t.Errorf("got %d %v", w.Code, w.Header())
		}
	})
	t.Run("an unhashed or unknown name is not found", func(t *testing.T) {
		for _, u := range []string{"/static/app.css", "/static/nope.js"} {
			if w := call(mux, "GET", u); w.Code != 404 {
				t.Errorf("%s: %d", u, w.Code)
			}
		}
	})
	t.Run("no asset: empty URL", func(t *testing.T) {
		if rd.Asset("missing.css") != "" {
			t.Error("a missing asset has a URL")
		}
	})
}

func TestLinks(t *testing.T) {
	t.Parallel()
	t.Run("redirects stay on the site", func(t *testing.T) {
		for next, want := range map[string]string{
			"/divisions/33?q=1": "/divisions/33?q=1", "": "/", "https://evil.example/": "/", "//evil.example": "/",
			"/\\evil.example": "/", "/ok\r\nSet-Cookie: x": "/", "relative": "/",
			"/\t/evil.example": "/", "/\x00/evil.example": "/", "/\n/evil.example": "/", " //evil.example": "/", "/ok path": "/",
			"/\x7f/evil.example": "/", "/a\\b": "/", "/%E8%A5%BF?q=%20": "/%E8%A5%BF?q=%20", "/西湖": "/",
		} {
			if got := web.SafeNext(next, "/"); got != want {
				t.Errorf("SafeNext(%q) = %q, want %q", next, got, want)
			}
		}
	})
	t.Run("the pager keeps the other parameters", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/divisions?q=%E8%A5%BF&page=2&page_size=10", nil)
		pg := web.NewPager(r, web.Pagination{Page: 2, PageSize: 10}, 35)
		want := web.Pager{Page: 2, Pages: 4, Total: 35, Prev: "/divisions?page=1&page_size=10&q=%E8%A5%BF", Next: "/divisions?page=3&page_size=10&q=%E8%A5%BF"}
		if pg != want {
			t.Errorf("got %+v", pg)
		}
		if last := web.NewPager(r, web.Pagination{Page: 4, PageSize: 10}, 35); last.Next != "" || last.Prev == "" {
			t.Errorf("last page %+v", last)
		}
	})
	t.Run("the language is Chinese unless English is chosen", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		if web.Lang(r) != "zh" {
			t.Error("default is not Chinese")
		}
		r.AddCookie(&http.Cookie{Name: "lang", Value: "fr"})
		if web.Lang(r) != "zh" {
			t.Error("an unknown language is not Chinese")
		}
		r = httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: "en"})
		if web.Lang(r) != "en" {
			t.Error("English not chosen")
		}
	})
}

func TestMessages(t *testing.T) {
	t.Parallel()
	m := web.M("生活圈", "Life circles")
	if m.In("en") != "Life circles" || m.In("zh") != "生活圈" || m.In("") != "生活圈" || m.String() != "生活圈 / Life circles" {
		t.Errorf("got %q %q %q", m.In("en"), m.In("zh"), m.String())
	}
}

func TestRefuseShowsTheFieldsAtFault(t *testing.T) {
	t.Parallel()
	rd, _ := newPages(t)
	refuse := func(lang string, err error) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/registry/households", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		rd.Refuse(w, r, err)
		return w
	}
	bad := fault.Invalid(fault.M("文本含有不允许的字符", "the text contains characters that are not allowed"), fault.Field("address", fault.M("含有空字符 (NUL)", "contains a NUL character")))
	t.Run("in English", func(t *testing.T) {
		w := refuse("en", bad)
		body := w.Body.String()
		if w.Code != 400 || first(body, `role="alert">(.*?)</p>`) != "the text contains characters that are not allowed" ||
			!reflect.DeepEqual(all(body, `<li>(.*?)</li>`), []string{"<code>address</code>: contains a NUL character"}) {
			t.Errorf("got %d %s", w.Code, body)
		}
	})
	t.Run("in Chinese", func(t *testing.T) {
		w := refuse("zh", bad)
		if got := all(w.Body.String(), `<li>(.*?)</li>`); !reflect.DeepEqual(got, []string{"<code>address</code>：含有空字符 (NUL)"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("anything else is a 500 that reveals nothing", func(t *testing.T) {
		w := refuse("en", errors.New("pq: relation secret"))
		if w.Code != 500 || first(w.Body.String(), `role="alert">(.*?)</p>`) != "internal server error, please try again later" {
			t.Errorf("got %d", w.Code)
		}
	})
}
