package auth_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/web"
)

// signIn posts the JSON sign-in and decodes the answer: a Me on 200, a
// problem otherwise.
func signIn(t *testing.T, c *apptest.Client, body map[string]string, status int) (auth.Me, web.Problem) {
	t.Helper()
	if status == 200 {
		return apptest.JSON[auth.Me](t, c, "POST", "/api/v1/session", body, 200), web.Problem{}
	}
	return auth.Me{}, apptest.JSON[web.Problem](t, c, "POST", "/api/v1/session", body, status)
}

func TestSignInOverTheAPI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("wang", access.CommunityWorker, apptest.CommunityA)
		c := e.Client()
		wrong := map[string]string{"username": "wang", "password": "Wrong-Passw0rd-1"}
		t.Run("an unknown user and a wrong password read the same", func(t *testing.T) {
			_, a := signIn(t, c, map[string]string{"username": "nobody", "password": "Wrong-Passw0rd-1"}, 401)
			_, b := signIn(t, c, wrong, 401)
			if a.Detail != b.Detail || a.Detail != "用户名或密码错误" || a.DetailEN != "wrong username or password" {
				t.Fatalf("%+v / %+v", a, b)
			}
		})
		t.Run("a malformed sign-in names its field", func(t *testing.T) {
			_, p := signIn(t, c, map[string]string{"username": " ", "password": "x"}, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "username" {
				t.Fatalf("got %+v", p)
			}
		})
		t.Run("repeated failures slow the account, even against the right password", func(t *testing.T) {
			for i := 1; i < auth.AccountFreeTries; i++ {
				signIn(t, c, wrong, 401)
			}
			a := mustLogin(t, e, "wang", apptest.Password)
			if a.Status != 429 || a.RetryAfter != 2 || a.Problem.Detail != "登录尝试过多，请 2 秒后再试" {
				t.Fatalf("got %+v", a)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'login.throttle' AND object_id = 'wang'`); n != 1 {
				t.Fatalf("back-off audited %d times", n)
			}
		})
		t.Run("after the delay the account signs in and sees itself", func(t *testing.T) {
			e.Clock.Add(2 * time.Second)
			me, _ := signIn(t, c, map[string]string{"username": "wang", "password": apptest.Password}, 200)
			if me != (auth.Me{Username: "wang", Role: access.CommunityWorker, Division: apptest.CommunityA}) {
				t.Fatalf("got %+v", me)
			}
			if me := apptest.JSON[auth.Me](t, c, "GET", "/api/v1/me", nil, 200); me.Username != "wang" || me.ViaToken {
				t.Fatalf("me %+v", me)
			}
		})
		t.Run("signing out ends the session", func(t *testing.T) {
			if st, _ := c.Do("DELETE", "/api/v1/session", nil); st != 204 {
				t.Fatalf("logout %d", st)
			}
			apptest.JSON[web.Problem](t, c, "GET", "/api/v1/me", nil, 401)
			if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 0 {
				t.Fatalf("logout left %d sessions", n)
			}
		})
	})
}

func TestSessionExpiryOverTheAPI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("lihua", access.Officer, apptest.County)
		me := func(c *apptest.Client) int {
			st, _ := c.Do("GET", "/api/v1/me", nil)
			return st
		}
		c := e.Login("lihua")
		t.Run("activity within the idle timeout keeps the session", func(t *testing.T) {
			for i := 0; i < 3; i++ {
				e.Clock.Add(e.App.Cfg.SessionIdle - time.Minute)
				if st := me(c); st != 200 {
					t.Fatalf("ended after %d steps: %d", i, st)
				}
			}
		})
		t.Run("idleness beyond it ends it", func(t *testing.T) {
			e.Clock.Add(e.App.Cfg.SessionIdle + time.Second)
			if st := me(c); st != 401 {
				t.Fatalf("idle session: %d", st)
			}
		})
		t.Run("a busy session ends at the absolute limit", func(t *testing.T) {
			c := e.Login("lihua")
			for elapsed := time.Duration(0); elapsed < e.App.Cfg.SessionMax; elapsed += 20 * time.Minute {
				if st := me(c); st != 200 {
					t.Fatalf("ended early at %s: %d", elapsed, st)
				}
				e.Clock.Add(20 * time.Minute)
			}
			e.Clock.Add(time.Minute)
			if st := me(c); st != 401 {
				t.Fatalf("outlived its absolute limit: %d", st)
			}
		})
	})
}

// alertOf is the text of a page's alert, "" when there is none.
func alertOf(page string) string {
	m := regexp.MustCompile(`role="alert">([^<]*)</p>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestFirstAdminMustChangePassword(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		pw, err := e.App.Auth.EnsureFirstAdmin(t.Context())
		if err != nil || pw == "" {
			t.Fatal(pw, err)
		}
		c := e.Client()
		t.Run("the sign-in page sends the admin on", func(t *testing.T) {
			st, _, h := c.Form("/login", map[string]string{"username": "admin", "password": pw, "next": "/audit"}, nil)
			if st != 303 || h.Get("Location") != "/audit" {
				t.Fatalf("got %d %q", st, h.Get("Location"))
			}
		})
		t.Run("every page leads to the password change first", func(t *testing.T) {
			st, _, h := c.Get("/admin/users")
			if st != 303 || h.Get("Location") != "/account/password" {
				t.Fatalf("got %d %q", st, h.Get("Location"))
			}
		})
		t.Run("the API refuses until then", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, c, "GET", "/api/v1/users", nil, 403)
			if p.DetailEN != "finish changing the one-time password or enrolling the second factor on the web first" {
				t.Fatalf("got %q", p.DetailEN)
			}
		})
		for _, k := range []struct {
			name, old, new, confirm, alert string
		}{
			{"a weak password", pw, "short", "short", "密码长度须为 10 至 128 个字符"},
			{"two different new passwords", pw, "New-Strong-Pass-42", "New-Strong-Pass-43", "两次输入的新密码不一致"},
			{"a wrong current password", "Wrong-Passw0rd-1", "New-Strong-Pass-42", "New-Strong-Pass-42", "原密码不正确"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				st, page, _ := c.Form("/account/password", map[string]string{"old_password": k.old, "new_password": k.new, "confirm_password": k.confirm}, nil)
				if st != 400 || alertOf(page) != k.alert {
					t.Fatalf("got %d %q", st, alertOf(page))
				}
			})
		}
		t.Run("after the change the admin lists accounts", func(t *testing.T) {
			st, _, h := c.Form("/account/password", map[string]string{"old_password": pw, "new_password": "New-Strong-Pass-42", "confirm_password": "New-Strong-Pass-42"}, nil)
			if st != 303 || h.Get("Location") != "/?changed=1" {
				t.Fatalf("change: %d %q", st, h.Get("Location"))
			}
			list := apptest.JSON[web.List[auth.User]](t, c, "GET", "/api/v1/users", nil, 200)
			if list.Total != 1 || list.Items[0].Username != "admin" || list.Items[0].MustChange {
				t.Fatalf("got %+v", list)
			}
		})
	})
}

func TestTOTPRequiredByPolicy(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sec", access.SecAdmin, "33")
		e.User("county", access.Officer, apptest.County)
		t.Run("the security administrator requires codes of officers", func(t *testing.T) {
			if st, _, _ := e.Login("sec").Form("/admin/security", map[string]string{"totp_officer": "1"}, nil); st != 200 {
				t.Fatalf("policy: %d", st)
			}
			if pol, err := e.App.Auth.Policies(t.Context()); err != nil || !pol[access.Officer] || pol[access.CommunityWorker] {
				t.Fatalf("got %v %v", pol, err)
			}
		})
		c := e.Login("county")
		t.Run("an officer must enrol before anything else", func(t *testing.T) {
			if me := apptest.JSON[auth.Me](t, c, "GET", "/api/v1/me", nil, 200); me.Pending != "totp" {
				t.Fatalf("me %+v", me)
			}
			p := apptest.JSON[web.Problem](t, c, "GET", "/api/v1/divisions/"+apptest.County+"/attributes", nil, 403)
			if p.Detail != "请先在网页上完成修改初始密码或绑定动态口令" {
				t.Fatalf("got %q", p.Detail)
			}
		})
		var secret string
		t.Run("a wrong code does not enrol; the right one does", func(t *testing.T) {
			var id string
			if err := e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = 'county'`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			var err error
			if secret, err = e.App.Auth.StartTOTP(as(&access.Principal{UserID: id})); err != nil {
				t.Fatal(err)
			}
			st, page, _ := c.Form("/account/totp", map[string]string{"code": wrongCode(t, secret, e.Clock.Now())}, nil)
			if st != 400 || alertOf(page) != "动态口令不正确，请核对手机时间后重试" {
				t.Fatalf("wrong code: %d %q", st, alertOf(page))
			}
			code, err := auth.TOTPCode(secret, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if st, _, _ := c.Form("/account/totp", map[string]string{"code": code}, nil); st != 303 {
				t.Fatalf("enrol: %d", st)
			}
			if st, _ := c.Do("GET", "/api/v1/divisions/"+apptest.County+"/attributes", nil); st != 200 {
				t.Fatalf("after enrolment: %d", st)
			}
		})
		t.Run("signing in now needs the code", func(t *testing.T) {
			e.Clock.Add(30 * time.Second) // the enrolling code was taken: the next step's
			c2 := e.Client()
			_, p := signIn(t, c2, map[string]string{"username": "county", "password": apptest.Password}, 401)
			if len(p.Errors) != 1 || p.Errors[0].Field != "totp" || p.Detail != "请输入动态口令" {
				t.Fatalf("without code: %+v", p)
			}
			code, err := auth.TOTPCode(secret, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			signIn(t, c2, map[string]string{"username": "county", "password": apptest.Password, "totp": code}, 200)
		})
	})
}

func TestAccountAdministrationRules(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sys", access.SysAdmin, "3301")
		e.User("county", access.Officer, apptest.County)
		sys := e.Login("sys")
		for _, k := range []struct {
			name   string
			body   map[string]string
			status int
			field  string
		}{
			{"a short username", map[string]string{"username": "w1", "role": "community_worker", "division_code": apptest.CommunityA}, 400, "username"},
			{"a worker above a community", map[string]string{"username": "worker1", "role": "community_worker", "division_code": apptest.County}, 400, "division_code"},
			{"a division outside the admin's", map[string]string{"username": "worker1", "role": "community_worker", "division_code": "330201001001"}, 400, "division_code"},
			{"an unknown role", map[string]string{"username": "worker1", "role": "mayor", "division_code": apptest.CommunityA}, 400, "role"},
			{"an admin duty", map[string]string{"username": "auditor2", "role": "auditor", "division_code": "3301"}, 400, "role"},
			{"an unknown field", map[string]string{"username": "worker1", "role": "resident", "division_code": apptest.CommunityA, "phone": "1"}, 400, "phone"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				p := apptest.JSON[web.Problem](t, sys, "POST", "/api/v1/users", k.body, k.status)
				if len(p.Errors) != 1 || p.Errors[0].Field != k.field {
					t.Errorf("got %+v", p)
				}
			})
		}
		t.Run("a good account comes with its one-time password, once", func(t *testing.T) {
			u := apptest.JSON[auth.CreatedUser](t, sys, "POST", "/api/v1/users", map[string]string{"username": "worker1", "role": "community_worker", "division_code": apptest.CommunityA}, 201)
			if u.Username != "worker1" || u.Role != access.CommunityWorker || !u.MustChange || len(u.OneTimePassword) != 18 {
				t.Fatalf("got %+v", u)
			}
			p := apptest.JSON[web.Problem](t, sys, "POST", "/api/v1/users", map[string]string{"username": "worker1", "role": "resident", "division_code": apptest.CommunityA}, 409)
			if len(p.Errors) != 1 || p.Errors[0].Field != "username" {
				t.Fatalf("taken: %+v", p)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND object_id = 'worker1'`); n != 1 {
				t.Fatalf("creation audited %d times", n)
			}
		})
		t.Run("officers cannot create accounts", func(t *testing.T) {
			apptest.JSON[web.Problem](t, e.Login("county"), "POST", "/api/v1/users", map[string]string{"username": "x1x", "role": "resident", "division_code": apptest.CommunityA}, 403)
		})
		t.Run("a business user reads only their own account", func(t *testing.T) {
			county := e.Login("county")
			if u := apptest.JSON[auth.User](t, county, "GET", "/api/v1/users/county", nil, 200); u.Username != "county" {
				t.Fatalf("own: %+v", u)
			}
			apptest.JSON[web.Problem](t, county, "GET", "/api/v1/users/worker1", nil, 404)
		})
		t.Run("an admin reads accounts within reach", func(t *testing.T) {
			if u := apptest.JSON[auth.User](t, sys, "GET", "/api/v1/users/worker1", nil, 200); u.Division != apptest.CommunityA {
				t.Fatalf("got %+v", u)
			}
			apptest.JSON[web.Problem](t, sys, "GET", "/api/v1/users/nobody", nil, 404)
		})
	})
}

func TestAccountPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sys", access.SysAdmin, "33")
		e.User("sec", access.SecAdmin, "33")
		e.User("county", access.Officer, apptest.County)
		sys, sec := e.Login("sys"), e.Login("sec")
		otp := regexp.MustCompile(`<code class="otp">([^<]+)</code>`)
		t.Run("only admins open the account list", func(t *testing.T) {
			if st, _, _ := sys.Get("/admin/users"); st != 200 {
				t.Errorf("sysadmin: %d", st)
			}
			if st, _, _ := e.Login("county").Get("/admin/users"); st != http.StatusForbidden {
				t.Errorf("officer: %d", st)
			}
			if st, _, _ := sys.Get("/admin/users?page=0"); st != 400 {
				t.Errorf("bad page: %d", st)
			}
		})
		t.Run("a page-made account shows its one-time password", func(t *testing.T) {
			st, page, _ := sys.Form("/admin/users", map[string]string{"username": "res1", "role": "resident", "division_code": apptest.CommunityA}, nil)
			m := otp.FindStringSubmatch(page)
			if st != 201 || m == nil {
				t.Fatalf("got %d", st)
			}
			if _, _, err := e.App.Auth.Login(t.Context(), "res1", m[1], "", "", ""); err != nil {
				t.Fatalf("the shown password does not sign in: %v", err)
			}
		})
		t.Run("a refused account shows the field's error", func(t *testing.T) {
			st, page, _ := sys.Form("/admin/users", map[string]string{"username": "res1", "role": "resident", "division_code": apptest.CommunityA}, nil)
			if st != 409 || !regexp.MustCompile(`用户名已被使用：res1`).MatchString(page) {
				t.Fatalf("got %d", st)
			}
		})
		t.Run("a reset shows the new one-time password", func(t *testing.T) {
			st, page, _ := sys.Form("/admin/users/res1/reset", nil, nil)
			if m := otp.FindStringSubmatch(page); st != 200 || m == nil {
				t.Fatalf("got %d", st)
			}
			if st, _, _ := sys.Form("/admin/users/nobody/reset", nil, nil); st != 404 {
				t.Fatalf("unknown account: %d", st)
			}
		})
		t.Run("disabling needs confirmation and the security administrator", func(t *testing.T) {
			if st, page, _ := sec.Form("/admin/users/res1/disable", map[string]string{"disabled": "1"}, nil); st != 400 || alertOf(page) != "请勾选确认" {
				t.Fatalf("unconfirmed: %d %q", st, alertOf(page))
			}
			if st, _, _ := sec.Form("/admin/users/res1/disable", map[string]string{"disabled": "1", "confirm": "yes"}, nil); st != 200 {
				t.Fatalf("confirmed: %d", st)
			}
			if u, err := e.App.Auth.Get(as(&access.Principal{Role: access.SecAdmin, Division: "33"}), "res1"); err != nil || !u.Disabled {
				t.Fatalf("got %+v %v", u, err)
			}
			if st, _, _ := e.Login("county").Form("/admin/users/res1/disable", map[string]string{"disabled": "0", "confirm": "yes"}, nil); st != http.StatusForbidden {
				t.Fatalf("officer: %d", st)
			}
		})
		t.Run("only the security administrator opens the security policy", func(t *testing.T) {
			if st, _, _ := sec.Get("/admin/security"); st != 200 {
				t.Errorf("secadmin: %d", st)
			}
			if st, _, _ := sys.Get("/admin/security"); st != http.StatusForbidden {
				t.Errorf("sysadmin: %d", st)
			}
		})
	})
}
