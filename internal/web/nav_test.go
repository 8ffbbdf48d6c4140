package web_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"linli/internal/access"
	"linli/internal/web"
)

func TestNavigation(t *testing.T) {
	t.Parallel()
	staff := []access.Role{access.CommunityWorker, access.GridWorker}
	rd := web.NewRenderer()
	rd.Nav = []web.NavItem{
		{Href: "/", Label: web.M("首页", "Home"), Primary: 1},
		{Href: "/divisions", Label: web.M("区划查询", "Divisions"), Group: web.NavAnalysis, Roles: staff},
		{Href: "/requests", Label: web.M("民呼我为", "Requests"), Primary: 2},
		{Href: "/registry/residents", Label: web.M("居民查询", "Residents"), Group: web.NavRecords, Primary: 4, Roles: staff},
		{Href: "/registry/me", Label: web.M("我的信息", "My record"), Primary: 3, Roles: []access.Role{access.Resident}},
		{Href: "/indicators", Label: web.M("指标监测", "Indicators"), Group: web.NavAnalysis, Primary: 5, Roles: staff},
		{Href: "/lifecircle", Label: web.M("生活圈", "Life circles"), Group: web.NavAnalysis, Primary: 6, Roles: staff},
		{Href: "/account/totp", Label: web.M("动态口令", "One-time codes"), Group: web.NavAccount},
		{Href: "/visits", Label: web.M("走访", "Visits"), Group: web.M("走访", "Visits"), Roles: staff},
	}
	get := func(p *access.Principal, path string, cookies ...*http.Cookie) string {
		r := httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		r = r.WithContext(access.With(r.Context(), p))
		w := httptest.NewRecorder()
		rd.Menu(w, r)
		if w.Code != 200 {
			t.Fatalf("menu: %d", w.Code)
		}
		return w.Body.String()
	}
	header := func(html string) []string {
		return all(first(html, `(?s)<nav class="main-nav"[^>]*>(.*?)</nav>`), `<a (?:class="all" )?href="([^"]+)"`)
	}
	resident := &access.Principal{Username: "granny", Role: access.Resident}
	elder := &http.Cookie{Name: "elder", Value: "1"}
	t.Run("a worker's header has four primary links by their order, then the menu", func(t *testing.T) {
		if got := header(get(worker, "/menu")); !reflect.DeepEqual(got, []string{"/", "/requests", "/registry/residents", "/indicators", "/menu"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("in 长辈模式 one fewer", func(t *testing.T) {
		if got := header(get(worker, "/menu", elder)); !reflect.DeepEqual(got, []string{"/", "/requests", "/registry/residents", "/menu"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("a resident's header offers neither divisions nor one-time codes", func(t *testing.T) {
		if got := header(get(resident, "/menu")); !reflect.DeepEqual(got, []string{"/", "/requests", "/registry/me", "/menu"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("the menu page lists every item of the role under its group, the usual groups first", func(t *testing.T) {
		html := get(worker, "/menu", &http.Cookie{Name: "lang", Value: "en"})
		groups := all(html, `<h2 id="menu-\d+">([^<]+)</h2>`)
		if want := []string{"Main", "Registry", "Statistics and analysis", "Account and security", "Visits"}; !reflect.DeepEqual(groups, want) {
			t.Errorf("groups %v, want %v", groups, want)
		}
		links := all(first(html, `(?s)<main id="main">(.*)</main>`), `<li><a href="([^"]+)"`)
		if want := []string{"/", "/requests", "/registry/residents", "/divisions", "/indicators", "/lifecircle", "/account/totp", "/visits"}; !reflect.DeepEqual(links, want) {
			t.Errorf("links %v, want %v", links, want)
		}
		if first(html, `<form method="post" action="(/logout)"`) != "/logout" {
			t.Error("no way to sign out on the menu page")
		}
	})
	t.Run("the resident's menu keeps one-time codes under account security, and no divisions", func(t *testing.T) {
		html := get(resident, "/menu")
		if got := all(html, `<h2 id="menu-\d+">([^<]+)</h2>`); !reflect.DeepEqual(got, []string{"常用", "账号安全"}) {
			t.Errorf("groups %v", got)
		}
		if first(html, `href="(/divisions)"`) != "" {
			t.Error("a resident is offered the division look-up")
		}
	})
	t.Run("the current page is marked in the header and on the menu", func(t *testing.T) {
		html := get(worker, "/menu")
		if first(html, `<a class="all" href="/menu" (aria-current="page")>`) == "" {
			t.Error("the menu link is not marked current on the menu page")
		}
		if n := len(all(html, `(aria-current="page")`)); n != 1 {
			t.Errorf("%d links marked current", n)
		}
	})
}
