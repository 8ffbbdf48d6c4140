package app_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/web"
)

func TestRefusalsSpeakThePageLanguage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("wang", access.CommunityWorker, apptest.CommunityA)
		h1 := func(page string) string {
			m := regexp.MustCompile(`<h1>(.*?)</h1>`).FindStringSubmatch(page)
			if m == nil {
				return ""
			}
			return m[1]
		}
		cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
		for _, k := range []struct{ lang, title, alert string }{
			{"zh", "无权访问", "拒绝跨站提交：请从本站页面操作"},
			{"en", "Not allowed", "cross-site request refused: use this site's own pages"},
		} {
			t.Run("a cross-site form is refused on the message page in "+k.lang, func(t *testing.T) {
				c := e.Login("wang")
				c.Get("/prefs?lang=" + k.lang)
				st, page, h := c.Form("/account/password", map[string]string{"old_password": "x"}, cross)
				if st != 403 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h1(page) != k.title || !strings.Contains(html.UnescapeString(page), k.alert) {
					t.Fatalf("got %d %q h1 %q:\n%.500s", st, h.Get("Content-Type"), h1(page), page)
				}
			})
		}
		t.Run("a cross-site API call is refused as problem+json", func(t *testing.T) {
			c := e.Login("wang")
			req := c.NewRequest("DELETE", "/api/v1/session", nil)
			for k, v := range cross {
				req.Header.Set(k, v)
			}
			st, body, h := c.Send(req)
			var p web.Problem
			if st != 403 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") || json.Unmarshal([]byte(body), &p) != nil || p.DetailEN == "" {
				t.Fatalf("got %d %q %s", st, h.Get("Content-Type"), body)
			}
		})
		t.Run("an unknown page is the 404 page, a wrong method the 405 page", func(t *testing.T) {
			c := e.Login("wang")
			if st, page, _ := c.Get("/no/such/page"); st != 404 || h1(page) != "找不到这个页面" {
				t.Fatalf("got %d %q", st, h1(page))
			}
			st, page, h := c.Form("/menu", map[string]string{}, nil)
			if st != 405 || h1(page) != "不能这样打开此页面" || h.Get("Allow") == "" {
				t.Fatalf("got %d %q Allow %q", st, h1(page), h.Get("Allow"))
			}
		})
		t.Run("a form too large is the 413 page", func(t *testing.T) {
			c := e.Login("wang")
			c.Get("/prefs?lang=en")
			st, page, _ := c.Form("/account/password", map[string]string{"old_password": strings.Repeat("x", 2<<20)}, nil)
			if st != http.StatusRequestEntityTooLarge || h1(page) != "What you sent is too large" {
				t.Fatalf("got %d %q", st, h1(page))
			}
		})
	})
}
