package auth_test

import (
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/web"
)

func TestAdminMadeAccountsNeedApproval(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("sys", access.SysAdmin, "33")
		e.User("sec", access.SecAdmin, "33")
		sys, sec := e.Login("sys"), e.Login("sec")
		officer := map[string]string{"username": "officer2", "role": "officer", "division_code": apptest.County}
		t.Run("an admin cannot choose a business account's password", func(t *testing.T) {
			body := map[string]string{"username": "officer1", "role": "officer", "division_code": apptest.County, "password": "Chosen-Passw0rd-1"}
			p := apptest.JSON[web.Problem](t, sys, "POST", "/api/v1/users", body, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "password" ||
				p.DetailEN != "an admin cannot set the password: a one-time password is generated, to be changed at first sign-in" {
				t.Fatalf("got %+v", p)
			}
			if n := e.Count(`SELECT COUNT(*) FROM users WHERE username = 'officer1'`); n != 0 {
				t.Fatal("the refused account was made")
			}
		})
		var oneTime string
		t.Run("an account that reads personal data waits for the security administrator", func(t *testing.T) {
			u := apptest.JSON[auth.CreatedUser](t, sys, "POST", "/api/v1/users", officer, 201)
			if !u.MustChange || !u.PendingApproval || u.OneTimePassword == "" {
				t.Fatalf("got %+v", u)
			}
			oneTime = u.OneTimePassword
			_, p := signIn(t, e.Client(), map[string]string{"username": "officer2", "password": oneTime}, 401)
			if p.DetailEN != "the account awaits the security administrator's approval" {
				t.Fatalf("sign-in before approval: %+v", p)
			}
		})
		t.Run("the system administrator cannot approve it", func(t *testing.T) {
			apptest.JSON[web.Problem](t, sys, "POST", "/api/v1/users/officer2/approve", nil, 403)
		})
		t.Run("the security administrator approves it, audited", func(t *testing.T) {
			u := apptest.JSON[auth.User](t, sec, "POST", "/api/v1/users/officer2/approve", nil, 200)
			if u.PendingApproval || !u.MustChange {
				t.Fatalf("got %+v", u)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.approve' AND object_id = 'officer2' AND actor = 'sec'`); n != 1 {
				t.Fatalf("approval audited %d times", n)
			}
			apptest.JSON[web.Problem](t, sec, "POST", "/api/v1/users/officer2/approve", nil, 409)
		})
		t.Run("then the one-time password signs in, to be changed first", func(t *testing.T) {
			me, _ := signIn(t, e.Client(), map[string]string{"username": "officer2", "password": oneTime}, 200)
			if me.Pending != "password" {
				t.Fatalf("got %+v", me)
			}
		})
		t.Run("a reset hands the account over only after approval", func(t *testing.T) {
			st, _, _ := sys.Form("/admin/users/officer2/reset", nil, nil)
			if st != 200 {
				t.Fatalf("reset %d", st)
			}
			if u := apptest.JSON[auth.User](t, sys, "GET", "/api/v1/users/officer2", nil, 200); !u.PendingApproval {
				t.Fatalf("got %+v", u)
			}
		})
		t.Run("a refused account is disabled, audited", func(t *testing.T) {
			u := apptest.JSON[auth.User](t, sec, "POST", "/api/v1/users/officer2/reject", nil, 200)
			if u.PendingApproval || !u.Disabled {
				t.Fatalf("got %+v", u)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.reject' AND object_id = 'officer2'`); n != 1 {
				t.Fatalf("refusal audited %d times", n)
			}
		})
		t.Run("a resident's account needs no approval", func(t *testing.T) {
			u := apptest.JSON[auth.CreatedUser](t, sys, "POST", "/api/v1/users", map[string]string{"username": "res1", "role": "resident", "division_code": apptest.CommunityA}, 201)
			if u.PendingApproval {
				t.Fatalf("got %+v", u)
			}
			signIn(t, e.Client(), map[string]string{"username": "res1", "password": u.OneTimePassword}, 200)
		})
		t.Run("the security administrator approves on the account page", func(t *testing.T) {
			apptest.JSON[auth.CreatedUser](t, sys, "POST", "/api/v1/users", map[string]string{"username": "worker9", "role": "grid_worker", "division_code": apptest.CommunityA}, 201)
			if st, _, _ := sys.Form("/admin/users/worker9/approve", nil, nil); st != 403 {
				t.Fatalf("sysadmin: %d", st)
			}
			if st, _, _ := sec.Form("/admin/users/worker9/approve", nil, nil); st != 200 {
				t.Fatalf("secadmin: %d", st)
			}
			if u := apptest.JSON[auth.User](t, sec, "GET", "/api/v1/users/worker9", nil, 200); u.PendingApproval {
				t.Fatalf("got %+v", u)
			}
		})
	})
}
