package auth

import (
	"net/http"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

type usersView struct {
	Q       string
	Users   []*User
	Pager   web.Pager
	Role    access.Role
	Created *CreatedUser
	Reset   string
	ResetPW string
}

func isAdmin(p *access.Principal) bool {
	return p.Role == access.SysAdmin || p.Role == access.SecAdmin || p.Role == access.Auditor
}

func (h *Handlers) usersPage(w http.ResponseWriter, r *http.Request) {
	h.renderUsers(w, r, 200, web.View{}, usersView{})
}

func (h *Handlers) renderUsers(w http.ResponseWriter, r *http.Request, status int, v web.View, uv usersView) {
	p := access.From(r.Context())
	if !isAdmin(p) {
		h.forbidden(w, r)
		return
	}
	pg, err := web.ParsePagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uv.Q = r.URL.Query().Get("q")
	uv.Role = p.Role
	var total int
	uv.Users, total, err = h.Svc.List(r.Context(), uv.Q, pg.Offset(), pg.PageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uv.Pager = web.NewPager(r, pg, total)
	v.Title = web.M("账号管理", "Accounts")
	v.Data = uv
	h.Pages.Render(w, r, status, "users", v)
}

func (h *Handlers) forbidden(w http.ResponseWriter, r *http.Request) {
	h.Pages.Render(w, r, 403, "message", web.View{Title: web.M("无权访问", "Not allowed"), Alert: web.M("您的角色无权访问此页面", "your role may not open this page")})
}

type newUserView struct {
	Roles []access.Role
}

func (h *Handlers) newUserPage(w http.ResponseWriter, r *http.Request) {
	h.renderNewUser(w, r, 200, web.View{})
}

func (h *Handlers) renderNewUser(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	if access.From(r.Context()).Role != access.SysAdmin {
		h.forbidden(w, r)
		return
	}
	var roles []access.Role
	for _, ro := range access.Roles {
		if ro.Business() {
			roles = append(roles, ro)
		}
	}
	v.Title = web.M("新建账号", "New account")
	v.Data = newUserView{Roles: roles}
	h.Pages.Render(w, r, status, "user_new", v)
}

func (h *Handlers) createUserPost(w http.ResponseWriter, r *http.Request) {
	var u *User
	var pw string
	err := web.ParseForm(r)
	if err == nil {
		nu := NewUser{Username: r.PostForm.Get("username"), DisplayName: r.PostForm.Get("display_name"), Role: access.Role(r.PostForm.Get("role")), Division: r.PostForm.Get("division_code")}
		u, pw, err = h.Svc.Create(r.Context(), nu)
	}
	e, refused := fault.As(err)
	switch {
	case fault.Is(err, fault.CodeForbidden):
		h.forbidden(w, r)
	case refused:
		h.renderNewUser(w, r, web.Status(e), web.View{Errors: e.Fields, Form: r.PostForm})
	case err != nil:
		h.fail(w, r, err)
	default:
		h.renderUsers(w, r, 201, web.View{Notice: web.M("账号已创建。初始密码只显示这一次，请当面或通过安全渠道交给本人。", "Account created. The one-time password is shown only now: hand it over in person or through a secure channel.")},
			usersView{Created: &CreatedUser{User: *u, OneTimePassword: pw}})
	}
}

func (h *Handlers) adminAction(w http.ResponseWriter, r *http.Request, do func() (web.Msg, usersView, error)) {
	if err := web.ParseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	msg, uv, err := do()
	e, refused := fault.As(err)
	switch {
	case fault.Is(err, fault.CodeForbidden):
		h.forbidden(w, r)
	case refused:
		h.renderUsers(w, r, web.Status(e), web.View{Alert: e.Msg}, uv)
	case err != nil:
		h.fail(w, r, err)
	default:
		h.renderUsers(w, r, 200, web.View{Notice: msg}, uv)
	}
}

func (h *Handlers) resetPost(w http.ResponseWriter, r *http.Request) {
	h.adminAction(w, r, func() (web.Msg, usersView, error) {
		name := r.PathValue("username")
		pw, err := h.Svc.ResetPassword(r.Context(), name)
		return web.M("密码已重置，新的初始密码只显示这一次", "password reset; the new one-time password is shown only now"), usersView{Reset: name, ResetPW: pw}, err
	})
}

func (h *Handlers) disablePost(w http.ResponseWriter, r *http.Request) {
	h.adminAction(w, r, func() (web.Msg, usersView, error) {
		disable := r.PostForm.Get("disabled") == "1"
		if r.PostForm.Get("confirm") != "yes" {
			return web.Msg{}, usersView{}, invalid("confirm", fault.M("请勾选确认", "tick the confirmation box"))
		}
		err := h.Svc.SetDisabled(r.Context(), r.PathValue("username"), disable)
		if disable {
			return web.M("账号已停用，其会话已全部结束", "account disabled; its sessions have ended"), usersView{}, err
		}
		return web.M("账号已启用", "account enabled"), usersView{}, err
	})
}

func (h *Handlers) unlockPost(w http.ResponseWriter, r *http.Request) {
	h.adminAction(w, r, func() (web.Msg, usersView, error) {
		return web.M("账号已解锁", "account unlocked"), usersView{}, h.Svc.Unlock(r.Context(), r.PathValue("username"))
	})
}

type securityView struct {
	Roles    []access.Role
	Policies map[access.Role]bool
}

func (h *Handlers) securityPage(w http.ResponseWriter, r *http.Request) {
	h.renderSecurity(w, r, 200, web.View{})
}

func (h *Handlers) renderSecurity(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	if access.From(r.Context()).Role != access.SecAdmin {
		h.forbidden(w, r)
		return
	}
	pol, err := h.Svc.Policies(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("安全策略", "Security policy")
	v.Data = securityView{Roles: access.Roles, Policies: pol}
	h.Pages.Render(w, r, status, "security", v)
}

func (h *Handlers) securityPost(w http.ResponseWriter, r *http.Request) {
	if err := web.ParseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	pol, err := h.Svc.Policies(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, role := range access.Roles {
		want := r.PostForm.Get("totp_"+string(role)) == "1"
		if pol[role] == want {
			continue
		}
		if err := h.Svc.SetPolicy(r.Context(), role, want); fault.Is(err, fault.CodeForbidden) {
			h.forbidden(w, r)
			return
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.renderSecurity(w, r, 200, web.View{Notice: web.M("安全策略已保存", "security policy saved")})
}
