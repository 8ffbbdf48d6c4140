package app

import (
	"embed"
	"net/http"

	"linli/internal/access"
	"linli/internal/divisions"
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
	for _, m := range modules {
		if path := m.Home[p.Role]; path != "" {
			http.Redirect(w, r, path, http.StatusSeeOther)
			return
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
		var ah adminHome
		ah.Role = p.Role
		ctx := r.Context()
		h.app.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&ah.Users)
		h.app.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&ah.Entries)
		h.pages.Render(w, r, 200, "admin_home", web.View{Title: web.M("管理首页", "Administration"), Notice: notice, Data: ah})
	}
}
