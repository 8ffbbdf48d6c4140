package auth

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/fault"
	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serve sign-in, the account pages and account administration.
type Handlers struct {
	Svc   *Service
	Pages *web.Pages
	// SecureCookies forces the Secure flag (behind a TLS proxy); cookies
	// are Secure anyway on a TLS connection.
	SecureCookies bool
	TrustProxy    bool
}

// ParsePages prepares the account pages.
func ParsePages(rd *web.Renderer) *web.Pages { return rd.Parse(templates, "templates/*.html") }

// Authenticate puts the principal of a session cookie or bearer token into
// the request context; it rejects nothing (routes decide), and records the
// client address for the audit log.
func (h *Handlers) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hashed assets are the same for everyone: no session lookup (a
		// database read) for each stylesheet and icon a page pulls in.
		if strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		ctx := audit.WithIP(r.Context(), web.ClientIP(r, h.TrustProxy))
		var p *access.Principal
		var err error
		if a := r.Header.Get("Authorization"); a != "" && !strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="linli", error="invalid_request"`)
			web.WriteProblem(w, r, fault.New(fault.CodeUnauthenticated, web.M("API 令牌只用于 /api/ 接口；网页请登录使用", "API tokens are for the API under /api/ only; sign in to use the pages")))
			return
		} else if a != "" {
			tok, ok := strings.CutPrefix(a, "Bearer ")
			if ok {
				p, err = h.Svc.Bearer(ctx, strings.TrimSpace(tok))
			}
			if err == nil && p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="linli", error="invalid_token"`)
				web.WriteProblem(w, r, fault.New(fault.CodeUnauthenticated, web.M("API 令牌无效或已过期", "the API token is invalid or expired")))
				return
			}
		} else if c, cerr := r.Cookie(web.SessionCookie); cerr == nil {
			p, err = h.Svc.Session(ctx, c.Value)
			if p == nil && err == nil {
				h.clearCookie(w, r)
			}
		}
		if err != nil {
			web.WriteProblem(w, r, err)
			return
		}
		if p != nil {
			ctx = access.With(ctx, p)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (h *Handlers) secure(r *http.Request) bool { return h.SecureCookies || r.TLS != nil }

func (h *Handlers) setCookie(w http.ResponseWriter, r *http.Request, tok string) {
	http.SetCookie(w, &http.Cookie{Name: web.SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
		MaxAge: int(h.Svc.MaxAge / time.Second)})
}

func (h *Handlers) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: web.SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// Register adds the routes.
func (h *Handlers) Register(rt *web.Router) {
	rt.Public("GET /login", h.loginPage)
	rt.Public("POST /login", h.loginPost)
	rt.Public("POST /logout", h.logout)
	rt.Page("GET /account/password", h.passwordPage)
	rt.Page("POST /account/password", h.passwordPost)
	rt.Page("GET /account/totp", h.totpPage)
	rt.Page("POST /account/totp", h.totpPost)
	rt.Page("GET /admin/users", h.usersPage)
	rt.Page("GET /admin/users/new", h.newUserPage)
	rt.Page("POST /admin/users", h.createUserPost)
	rt.Page("POST /admin/users/{username}/reset", h.resetPost)
	rt.Page("POST /admin/users/{username}/disable", h.disablePost)
	rt.Page("POST /admin/users/{username}/unlock", h.unlockPost)
	rt.Page("GET /admin/security", h.securityPage)
	rt.Page("POST /admin/security", h.securityPost)

	rt.API("POST /api/v1/session", web.Op{Summary: "登录，返回会话 Cookie / Sign in; sets the session cookie", Tag: "auth", Public: true, Body: LoginBody{}, Response: Me{}}, h.apiLogin)
	rt.API("DELETE /api/v1/session", web.Op{Summary: "退出登录 / Sign out", Tag: "auth", AllowPending: true, Status: 204}, h.apiLogout)
	rt.API("GET /api/v1/me", web.Op{Summary: "当前用户 / The signed-in principal", Tag: "auth", AllowPending: true, Response: Me{}}, h.apiMe)
	rt.API("GET /api/v1/users", web.Op{Summary: "账号列表（管理员）/ List accounts (admins)", Tag: "auth",
		Params: []web.Param{{Name: "q", Description: "用户名或姓名 / username or name"}, {Name: "page", Type: "integer"}, {Name: "page_size", Type: "integer"}}, Response: web.List[User]{}}, h.apiUsers)
	rt.API("POST /api/v1/users", web.Op{Summary: "创建账号（系统管理员）/ Create an account (sysadmin)", Tag: "auth", Body: NewUser{}, Response: CreatedUser{}, Status: 201}, h.apiCreateUser)
	rt.API("GET /api/v1/users/{username}", web.Op{Summary: "账号详情 / One account", Tag: "auth", Response: User{}}, h.apiUser)
	rt.API("POST /api/v1/users/{username}/approve", web.Op{Summary: "批准待审批账号（安全管理员）/ Approve an account awaiting approval (secadmin)", Tag: "auth", Response: User{}},
		func(w http.ResponseWriter, r *http.Request) error { return h.apiDecide(w, r, h.Svc.Approve) })
	rt.API("POST /api/v1/users/{username}/reject", web.Op{Summary: "拒绝待审批账号并停用（安全管理员）/ Refuse an account awaiting approval, disabling it (secadmin)", Tag: "auth", Response: User{}},
		func(w http.ResponseWriter, r *http.Request) error { return h.apiDecide(w, r, h.Svc.Reject) })
	rt.API("GET /api/v1/tokens", web.Op{Summary: "API 令牌列表（本人的；安全管理员：辖区内全部）/ API tokens (one's own; the security admin's: all within reach)", Tag: "auth", Response: []Token{}}, h.apiTokens)
	rt.API("DELETE /api/v1/tokens/{id}", web.Op{Summary: "撤销 API 令牌 / Revoke an API token", Tag: "auth", Status: 204}, h.apiRevokeToken)
	rt.Page("GET /account/tokens", h.tokensPage)
	rt.Page("POST /account/tokens/{id}/revoke", h.revokeTokenPost)
	rt.Page("POST /admin/users/{username}/approve", h.approvePost)
	rt.Page("POST /admin/users/{username}/reject", h.rejectPost)
	// A token's scope names operations as routed here.
	h.Svc.Operations = rt.Routes
}

// LoginBody is the JSON sign-in request.
type LoginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
	TOTP     string `json:"totp,omitempty"`
}

// Me describes the principal.
type Me struct {
	Username string      `json:"username"`
	Role     access.Role `json:"role"`
	Division string      `json:"division_code"`
	Pending  string      `json:"pending,omitempty"`
	ViaToken bool        `json:"via_token"`
}

// CreatedUser is a new account with its one-time password, shown once.
type CreatedUser struct {
	User
	OneTimePassword string `json:"one_time_password,omitempty"`
}

// ParseLogin reads and bounds the login form fields; a refusal is an
// invalid *fault.Error naming the field.
func ParseLogin(username, password, totp string) (LoginBody, error) {
	b := LoginBody{Username: strings.TrimSpace(username), Password: password, TOTP: strings.TrimSpace(totp)}
	switch {
	case b.Username == "" || len(b.Username) > 64:
		return b, invalid("username", fault.M("请输入用户名", "enter your username"))
	case b.Password == "" || len(b.Password) > 512:
		return b, invalid("password", fault.M("请输入密码", "enter your password"))
	case len(b.TOTP) > 10:
		return b, invalid("totp", fault.M("动态口令为 6 位数字", "the one-time code has 6 digits"))
	}
	return b, nil
}

type loginView struct {
	Next     string
	NeedTOTP bool
	Username string
	// ElderHref and StandardHref switch 长辈模式 and come back here.
	ElderHref, StandardHref string
}

func newLoginView(next, username string) loginView {
	back := url.QueryEscape("/login?next=" + url.QueryEscape(next))
	return loginView{Next: next, Username: username, ElderHref: "/prefs?elder=1&next=" + back, StandardHref: "/prefs?elder=0&next=" + back}
}

func (h *Handlers) loginPage(w http.ResponseWriter, r *http.Request) {
	if access.From(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.Pages.Render(w, r, 200, "login", web.View{Title: web.M("登录", "Sign in"), Data: newLoginView(web.SafeNext(r.URL.Query().Get("next"), "/"), "")})
}

func (h *Handlers) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.Pages.Render(w, r, 400, "login", web.View{Title: web.M("登录", "Sign in"), Alert: web.M("表单无效", "invalid form"), Data: newLoginView("/", "")})
		return
	}
	next := web.SafeNext(r.PostForm.Get("next"), "/")
	b, err := ParseLogin(r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("totp"))
	view := newLoginView(next, b.Username)
	if err == nil {
		var tok string
		var u *User
		if tok, u, err = h.Svc.Login(r.Context(), b.Username, b.Password, b.TOTP, web.ClientIP(r, h.TrustProxy), r.UserAgent()); err == nil {
			h.setCookie(w, r, tok)
			h.applyElder(w, r, u.ID)
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	view.NeedTOTP = NeedsTOTP(err)
	setRetryAfter(w, err)
	h.Pages.Fail(w, r, "login", web.View{Title: web.M("登录", "Sign in"), Data: view}, err)
}

// setRetryAfter tells a throttled client when to try again.
func setRetryAfter(w http.ResponseWriter, err error) {
	if d, ok := RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(d/time.Second)))
	}
}

func (h *Handlers) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(web.SessionCookie); err == nil {
		if err := h.Svc.Logout(r.Context(), c.Value); err != nil {
			web.Logger(r.Context()).Error("logout", "err", err.Error())
		}
	}
	h.clearCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (h *Handlers) passwordPage(w http.ResponseWriter, r *http.Request) {
	v := web.View{Title: web.M("修改密码", "Change password"), Crumbs: accountCrumbs(web.M("修改密码", "Change password"))}
	if access.From(r.Context()).Pending == "password" {
		v.Alert = web.M("首次登录或密码被重置后，须先设置自己的新密码", "set a password of your own before you continue (first sign-in or reset)")
	}
	h.Pages.Render(w, r, 200, "password", v)
}

func (h *Handlers) passwordPost(w http.ResponseWriter, r *http.Request) {
	v := web.View{Title: web.M("修改密码", "Change password")}
	if err := h.changePassword(r); err != nil {
		h.Pages.Fail(w, r, "password", v, err)
		return
	}
	http.Redirect(w, r, "/?changed=1", http.StatusSeeOther)
}

func (h *Handlers) changePassword(r *http.Request) error {
	if err := web.ParseForm(r); err != nil {
		return err
	}
	if r.PostForm.Get("new_password") != r.PostForm.Get("confirm_password") {
		return invalid("confirm_password", fault.M("两次输入的新密码不一致", "the two new passwords differ"))
	}
	tok := "" // the session that stays open
	if c, err := r.Cookie(web.SessionCookie); err == nil {
		tok = c.Value
	}
	return h.Svc.ChangePassword(r.Context(), tok, r.PostForm.Get("old_password"), r.PostForm.Get("new_password"))
}

type totpView struct {
	Secret, URI string
	Grouped     string        // the secret in groups of four
	QR          template.HTML // the URI as an inline SVG QR code
	Enabled     bool
}

// totpPage shows the enrolment: the state, the pending secret if one was
// made, else a button that makes one (a POST: a GET changes nothing).
func (h *Handlers) totpPage(w http.ResponseWriter, r *http.Request) {
	h.renderTOTP(w, r, 200, web.View{})
}

func (h *Handlers) renderTOTP(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	p := access.From(r.Context())
	u, err := h.Svc.self(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tv := totpView{Enabled: u.TOTP}
	if !u.TOTP {
		if tv.Secret, err = h.Svc.pendingTOTP(u); err != nil {
			h.fail(w, r, err)
			return
		}
		if tv.Secret != "" {
			tv.URI = TOTPURI(tv.Secret, u.Username)
			tv.Grouped = Grouped(tv.Secret)
			if tv.QR, err = QRSVG(tv.URI, web.M("动态口令二维码", "QR code for one-time codes").In(web.Lang(r))); err != nil {
				h.fail(w, r, err)
				return
			}
		}
	}
	v.Title = web.M("动态口令", "One-time codes")
	v.Crumbs = accountCrumbs(web.M("动态口令", "One-time codes"))
	v.Data = tv
	if p.Pending == "totp" && v.Alert.ZH == "" {
		v.Alert = web.M("您的角色要求使用动态口令，请先完成绑定", "your role requires one-time codes; enrol before you continue")
	}
	h.Pages.Render(w, r, status, "totp", v)
}

// totpPost starts an enrolment (action=start makes the secret) or
// confirms it with a code.
func (h *Handlers) totpPost(w http.ResponseWriter, r *http.Request) {
	err := web.ParseForm(r)
	start := err == nil && r.PostForm.Get("action") == "start"
	switch {
	case start:
		_, err = h.Svc.StartTOTP(r.Context())
	case err == nil:
		err = h.Svc.ConfirmTOTP(r.Context(), r.PostForm.Get("code"))
	}
	if e, ok := fault.As(err); ok {
		h.renderTOTP(w, r, web.Status(e), web.View{Alert: e.Msg, Errors: e.Fields})
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if start {
		h.renderTOTP(w, r, 200, web.View{})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// fail answers a page request that went wrong: a refusal on the message
// page with its status, anything else logged as a 500 that reveals nothing.
func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.Pages.Fail(w, r, "message", web.View{Title: web.M("出错了", "Something went wrong")}, err)
}

func (h *Handlers) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var b LoginBody
	if err := web.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	b, err := ParseLogin(b.Username, b.Password, b.TOTP)
	if err != nil {
		return err
	}
	tok, u, err := h.Svc.Login(r.Context(), b.Username, b.Password, b.TOTP, web.ClientIP(r, h.TrustProxy), r.UserAgent())
	if err != nil {
		setRetryAfter(w, err)
		return err
	}
	h.setCookie(w, r, tok)
	pending := ""
	if u.MustChange {
		pending = "password"
	}
	web.WriteJSON(w, 200, Me{Username: u.Username, Role: u.Role, Division: u.Division, Pending: pending})
	return nil
}

func (h *Handlers) apiLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(web.SessionCookie); err == nil {
		if err := h.Svc.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	h.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handlers) apiMe(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	web.WriteJSON(w, 200, Me{Username: p.Username, Role: p.Role, Division: p.Division, Pending: p.Pending, ViaToken: p.TokenID != ""})
	return nil
}

func (h *Handlers) apiUsers(w http.ResponseWriter, r *http.Request) error {
	pg, err := web.ParsePagination(r)
	if err != nil {
		return err
	}
	us, total, err := h.Svc.List(r.Context(), r.URL.Query().Get("q"), pg.Offset(), pg.PageSize)
	if err != nil {
		return err
	}
	items := make([]User, len(us))
	for i, u := range us {
		items[i] = *u
	}
	web.WriteJSON(w, 200, web.NewList(items, pg, total))
	return nil
}

func (h *Handlers) apiCreateUser(w http.ResponseWriter, r *http.Request) error {
	var nu NewUser
	if err := web.DecodeJSON(w, r, &nu); err != nil {
		return err
	}
	u, pw, err := h.Svc.Create(r.Context(), nu)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, CreatedUser{User: *u, OneTimePassword: pw})
	return nil
}

func (h *Handlers) apiUser(w http.ResponseWriter, r *http.Request) error {
	p := access.From(r.Context())
	if p.Role.Business() && r.PathValue("username") != p.Username {
		return accountNotFound()
	}
	u, err := h.Svc.Get(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, u)
	return nil
}

// accountCrumbs leads from the menu's account group to the page.
func accountCrumbs(here web.Msg) []web.Crumb {
	return []web.Crumb{{Href: "/menu", Label: web.M("全部功能", "All services")}, {Label: here}}
}
