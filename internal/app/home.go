package app

import (
	"embed"
	"net/http"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/front"
	"linli/internal/module"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

type homeHandlers struct {
	app   *App
	pages *web.Pages
	units *divisions.Handlers
}

func (h *homeHandlers) Register(rt *web.Router) {
	rt.Page("GET /{$}", h.home)
	rt.Page("GET /overview", h.overview)
}

type adminHome struct {
	Role    access.Role
	Users   int
	Entries int
}

// home sends each role to its start page: workers to the 工作台,
// residents to 我的, a role a module claims to its page; the rest see
// their division or, for admins, their duties.
func (h *homeHandlers) home(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	keep := ""
	if r.URL.Query().Get("changed") == "1" {
		keep = "?changed=1"
	}
	switch {
	case front.IsWorker(p):
		http.Redirect(w, r, "/work"+keep, http.StatusSeeOther)
		return
	case p.Role == access.Resident:
		http.Redirect(w, r, "/me"+keep, http.StatusSeeOther)
		return
	}
	for _, m := range h.app.modules {
		if hm, ok := m.Module.(module.Homes); ok {
			if path := hm.Homes()[p.Role]; path != "" {
				http.Redirect(w, r, path, http.StatusSeeOther)
				return
			}
		}
	}
	var notice web.Msg
	if keep != "" {
		notice = web.M("密码已修改", "password changed")
	}
	switch p.Role {
	case access.Provider:
		h.units.UnitPageNotice(w, r, p.Division, web.M("我的社区", "My community"), notice)
	default:
		ah := adminHome{Role: p.Role}
		var err error
		if ah.Users, err = h.app.Auth.CountUsers(r.Context()); err == nil {
			ah.Entries, err = h.app.Audit.Count(r.Context())
		}
		if err != nil {
			web.Logger(r.Context()).Error("admin home", "err", err.Error())
			web.InternalError(w, r)
			return
		}
		h.pages.Render(w, r, 200, "admin_home", web.View{Title: web.M("管理首页", "Administration"), Notice: notice, Data: ah})
	}
}

// overview is the workers' division at a glance, their start page before
// the 工作台.
func (h *homeHandlers) overview(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	switch p.Role {
	case access.Officer:
		h.units.UnitPageNotice(w, r, p.Division, web.M("辖区概览", "My jurisdiction"), web.Msg{})
	case access.CommunityWorker, access.GridWorker:
		h.units.UnitPageNotice(w, r, p.Division, web.M("社区概览", "My community"), web.Msg{})
	default:
		h.app.refuse(w, r, fault.NotFound(web.M("找不到这个页面，请检查地址或从首页进入", "there is no such page; check the address or start from the home page")))
	}
}

// officers may import unit data.
var officers = []access.Role{access.Officer}

// staff are every role but the resident.
var staff = []access.Role{access.GridWorker, access.CommunityWorker, access.Officer, access.Provider, access.SysAdmin, access.SecAdmin, access.Auditor}

// accountNav closes every menu: the admins' duties and one's own account.
func accountNav() []web.NavItem {
	return []web.NavItem{
		{Href: "/admin/users", Label: web.M("账号管理", "Accounts"), Group: web.NavAdmin, Primary: 2, Roles: []access.Role{access.SysAdmin, access.SecAdmin}},
		{Href: "/admin/security", Label: web.M("安全策略", "Security policy"), Group: web.NavAdmin, Primary: 3, Roles: []access.Role{access.SecAdmin}},
		{Href: "/audit", Label: web.M("审计日志", "Audit log"), Group: web.NavAdmin, Primary: 2, Roles: []access.Role{access.Auditor}},
		{Href: "/account/password", Label: web.M("修改密码", "Change password"), Group: web.NavAccount},
		{Href: "/account/totp", Label: web.M("动态口令", "One-time codes"), Group: web.NavAccount},
		{Href: "/account/tokens", Label: web.M("API 令牌", "API tokens"), Group: web.NavAccount, Roles: []access.Role{access.GridWorker, access.CommunityWorker, access.Officer, access.Provider, access.SecAdmin}},
	}
}

// designNav offers the page of the kit's components to the system
// administrator, and to everyone in the demo.
func designNav(demo bool) web.NavItem {
	n := web.NavItem{Href: "/design", Label: web.M("页面组件", "Page components"), Group: web.NavAdmin, Roles: []access.Role{access.SysAdmin}}
	if demo {
		n.Roles, n.Group = nil, web.M("关于本系统", "About this system")
	}
	return n
}
