package auth_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
)

// elderCookie is the elder cookie the client holds for the site ("" when none).
func elderCookie(t *testing.T, e *apptest.Env, c *apptest.Client) string {
	t.Helper()
	u, _ := url.Parse(e.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "elder" {
			return ck.Value
		}
	}
	return ""
}

// formLogin signs in through the login page, as a browser does.
func formLogin(t *testing.T, c *apptest.Client, name string) {
	t.Helper()
	st, body, _ := c.Form("/login", map[string]string{"username": name, "password": apptest.Password, "next": "/"}, nil)
	if st != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d %.300s", name, st, body)
	}
}

func TestElderModeFollowsTheAccount(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("granny", access.Resident, apptest.CommunityA)
		e.User("wang", access.CommunityWorker, apptest.CommunityA)
		chosen := func(name string) int {
			return e.Count(`SELECT COUNT(*) FROM users WHERE username = $1 AND elder_mode = 1`, name)
		}
		t.Run("the login page offers 长辈模式 as a big button that comes back to the login page", func(t *testing.T) {
			c := e.Client()
			st, page, _ := c.Get("/login?next=%2Frequests")
			href := first(page, `<a class="button big" href="([^"]+)">长辈模式`)
			if st != 200 || href == "" {
				t.Fatalf("got %d, no big switch:\n%.600s", st, page)
			}
			st, _, h := c.Get(unescape(href))
			if st != http.StatusSeeOther || h.Get("Location") != "/login?next=%2Frequests" || elderCookie(t, e, c) != "1" {
				t.Fatalf("switch: %d %q cookie %q", st, h.Get("Location"), elderCookie(t, e, c))
			}
			if _, page, _ := c.Get("/login"); first(page, `<html lang="zh-CN" class="(elder)"`) != "elder" || first(page, `<a class="button secondary" href="[^"]+">(回到标准字体)`) == "" {
				t.Fatalf("the login page after the switch is not in 长辈模式:\n%.400s", page)
			}
		})
		t.Run("switching it on while signed in is kept with the account", func(t *testing.T) {
			c := e.Client()
			formLogin(t, c, "granny")
			if st, _, _ := c.Get("/prefs?elder=1&next=%2F"); st != http.StatusSeeOther || chosen("granny") != 1 {
				t.Fatalf("got %d, stored %d", st, chosen("granny"))
			}
		})
		t.Run("signing in on another browser brings 长辈模式 along", func(t *testing.T) {
			c := e.Client()
			formLogin(t, c, "granny")
			if got := elderCookie(t, e, c); got != "1" {
				t.Fatalf("elder cookie after sign-in %q", got)
			}
			if _, page, _ := c.Get("/menu"); first(page, `<html lang="zh-CN" class="(elder)"`) != "elder" {
				t.Fatal("the first page after sign-in is not in 长辈模式")
			}
		})
		t.Run("switching it off is kept too, and the next sign-in turns it off", func(t *testing.T) {
			c := e.Client()
			formLogin(t, c, "granny")
			c.Get("/prefs?elder=0&next=%2F")
			if n := e.Count(`SELECT COUNT(*) FROM users WHERE username = 'granny' AND elder_mode = 0`); n != 1 {
				t.Fatalf("stored off: %d", n)
			}
			other := e.Client()
			other.Get("/prefs?elder=1")
			formLogin(t, other, "granny")
			if got := elderCookie(t, e, other); got != "0" {
				t.Fatalf("elder cookie after sign-in %q, want 0", got)
			}
		})
		t.Run("an account that never chose keeps the browser's choice", func(t *testing.T) {
			c := e.Client()
			c.Get("/prefs?elder=1")
			formLogin(t, c, "wang")
			if got := elderCookie(t, e, c); got != "1" || chosen("wang") != 0 {
				t.Fatalf("cookie %q, stored %d", got, chosen("wang"))
			}
		})
		t.Run("a bad value changes nothing", func(t *testing.T) {
			c := e.Client()
			formLogin(t, c, "wang")
			st, _, _ := c.Get("/prefs?elder=yes&next=%2F")
			if st != http.StatusSeeOther || elderCookie(t, e, c) != "" || e.Count(`SELECT COUNT(*) FROM users WHERE username = 'wang' AND elder_mode IS NOT NULL`) != 0 {
				t.Fatalf("got %d, cookie %q", st, elderCookie(t, e, c))
			}
		})
	})
}

// first returns the first match of pattern's group in s ("" when none).
func first(s, pattern string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// unescape reads an attribute's value as the browser does.
func unescape(s string) string { return html.UnescapeString(s) }
