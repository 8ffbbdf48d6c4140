package app

import (
	"embed"
	"net/http"

	"linli/internal/access"
	"linli/internal/divisions"
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
}

type adminHome struct {
	Role    access.Role
	Users   int
	Entries int
}

// home is each role's start page: officers and workers see their division
// at a glance; admins see their duties.
func (h *homeHandlers) home(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	if p.Role == access.Resident {
		h.residentHome(w, r)
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
	if r.URL.Query().Get("changed") == "1" {
		notice = web.M("密码已修改", "password changed")
	}
	switch p.Role {
	case access.Officer:
		h.units.UnitPageNotice(w, r, p.Division, web.M("辖区概览", "My jurisdiction"), notice)
	case access.CommunityWorker, access.GridWorker:
		h.units.UnitPageNotice(w, r, p.Division, web.M("社区概览", "My community"), notice)
	case access.Resident, access.Provider:
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

// residentView is the resident's home: the few things residents do most,
// as big buttons on the first screen.
type residentView struct {
	Division string
	Elder    bool
}

// residentHome puts a resident's main actions first, in both modes; in
// 长辈模式 the page is one column and nothing else comes before them.
func (h *homeHandlers) residentHome(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	v := web.View{Title: web.M("请选择要办的事", "What would you like to do?"), Data: residentView{Division: p.Division, Elder: web.Elder(r)}}
	if r.URL.Query().Get("changed") == "1" {
		v.Notice = web.M("密码已修改", "password changed")
	}
	h.pages.Render(w, r, http.StatusOK, "resident_home", v)
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
