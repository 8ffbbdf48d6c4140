package auth_test

import (
	"context"
	"reflect"
	"testing"

	"linli/internal/access"
	"linli/internal/auth"
	"linli/internal/dbtest"
	"linli/internal/fault"
)

func TestCreateRules(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		sys := principal(e.user("sys", access.SysAdmin, "3301"))
		for _, k := range []struct {
			name  string
			nu    auth.NewUser
			code  fault.Code
			field string
		}{
			{"a short username", auth.NewUser{Username: "w1", Role: access.CommunityWorker, Division: communityA}, fault.CodeInvalid, "username"},
			{"a username with a space", auth.NewUser{Username: "wang li", Role: access.CommunityWorker, Division: communityA}, fault.CodeInvalid, "username"},
			{"a display name over 50 characters", auth.NewUser{Username: "worker1", DisplayName: string(make([]rune, 51)), Role: access.CommunityWorker, Division: communityA}, fault.CodeInvalid, "display_name"},
			{"an unknown role", auth.NewUser{Username: "worker1", Role: "mayor", Division: communityA}, fault.CodeInvalid, "role"},
			{"an admin duty made on the web", auth.NewUser{Username: "auditor2", Role: access.Auditor, Division: "3301"}, fault.CodeInvalid, "role"},
			{"a division outside the admin's", auth.NewUser{Username: "worker1", Role: access.CommunityWorker, Division: ningboVil}, fault.CodeInvalid, "division_code"},
			{"an unknown division", auth.NewUser{Username: "worker1", Role: access.CommunityWorker, Division: "330106999999"}, fault.CodeInvalid, "division_code"},
			{"a worker bound above a community", auth.NewUser{Username: "worker1", Role: access.CommunityWorker, Division: county}, fault.CodeInvalid, "division_code"},
			{"an officer bound to a community", auth.NewUser{Username: "officer1", Role: access.Officer, Division: communityA}, fault.CodeInvalid, "division_code"},
			{"a weak password", auth.NewUser{Username: "worker1", Role: access.CommunityWorker, Division: communityA, Password: "password"}, fault.CodeInvalid, "password"},
			{"a password holding the username", auth.NewUser{Username: "worker1", Role: access.CommunityWorker, Division: communityA, Password: "Worker1-Passw0rd"}, fault.CodeInvalid, "password"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				_, _, err := e.svc.Create(as(sys), k.nu)
				dbtest.Refusal(t, err, k.code, k.field)
			})
		}
		if n := e.count(`SELECT COUNT(*) FROM users`); n != 1 {
			t.Fatalf("refusals created %d accounts", n-1)
		}
		t.Run("a good account gets a one-time password to change", func(t *testing.T) {
			u, pw, err := e.svc.Create(as(sys), auth.NewUser{Username: " Worker1 ", Role: access.CommunityWorker, Division: communityA})
			if err != nil {
				t.Fatal(err)
			}
			if _, weak := auth.PasswordProblem(pw, "worker1"); weak || u.Username != "worker1" || u.DisplayName != "worker1" || !u.MustChange {
				t.Errorf("got %+v, password %q", u, pw)
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND object_id = 'worker1' AND actor = 'sys'`); n != 1 {
				t.Errorf("creation audited %d times", n)
			}
		})
		t.Run("a taken username is a conflict", func(t *testing.T) {
			_, _, err := e.svc.Create(as(sys), auth.NewUser{Username: "worker1", Role: access.Resident, Division: communityA})
			dbtest.Refusal(t, err, fault.CodeConflict, "username")
		})
		t.Run("only the system administrator creates accounts", func(t *testing.T) {
			off := principal(e.user("county", access.Officer, county))
			_, _, err := e.svc.Create(as(off), auth.NewUser{Username: "res1", Role: access.Resident, Division: communityA})
			dbtest.Refusal(t, err, fault.CodeForbidden, "")
			_, _, err = e.svc.Create(context.Background(), auth.NewUser{Username: "res1", Role: access.Resident, Division: communityA})
			dbtest.Refusal(t, err, fault.CodeForbidden, "")
		})
		t.Run("the operator creates the admin duties", func(t *testing.T) {
			if _, _, err := e.svc.Create(operator(), auth.NewUser{Username: "aud", Role: access.Auditor, Division: "33"}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestFindAndListWithinReach(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		sys := principal(e.user("sys", access.SysAdmin, "3301"))
		e.user("worker_a", access.CommunityWorker, communityA)
		e.user("worker.b", access.CommunityWorker, communityA)
		e.user("nb.officer", access.Officer, ningbo)
		t.Run("an admin finds accounts within its division", func(t *testing.T) {
			u, err := e.svc.Get(as(sys), "worker_a")
			if err != nil || u.Role != access.CommunityWorker || u.Division != communityA {
				t.Fatalf("got %+v %v", u, err)
			}
		})
		t.Run("accounts elsewhere read as not found", func(t *testing.T) {
			for _, name := range []string{"nb.officer", "nobody"} {
				_, err := e.svc.Get(as(sys), name)
				if msg := dbtest.Refusal(t, err, fault.CodeNotFound, ""); msg != "account not found or outside your jurisdiction" {
					t.Errorf("%s: %q", name, msg)
				}
			}
			_, err := e.svc.Get(context.Background(), "worker_a")
			dbtest.Refusal(t, err, fault.CodeNotFound, "")
		})
		t.Run("anyone finds their own account", func(t *testing.T) {
			nb := principal(e.user("nb.self", access.Resident, ningboVil))
			if u, err := e.svc.Get(as(nb), "nb.self"); err != nil || u.ID != nb.UserID {
				t.Fatalf("got %+v %v", u, err)
			}
		})
		names := func(q string, offset, limit int) ([]string, int) {
			t.Helper()
			us, total, err := e.svc.List(as(sys), q, offset, limit)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, u := range us {
				out = append(out, u.Username)
			}
			return out, total
		}
		for _, k := range []struct {
			name          string
			q             string
			offset, limit int
			want          []string
			total         int
		}{
			{"the list holds the admin's subtree by name", "", 0, 10, []string{"sys", "worker.b", "worker_a"}, 3},
			{"a search matches part of the name", "WORKER", 0, 10, []string{"worker.b", "worker_a"}, 2},
			{"an underscore is a character, not a wildcard", "r_a", 0, 10, []string{"worker_a"}, 1},
			{"pages are counted in full", "", 1, 1, []string{"worker.b"}, 3},
		} {
			t.Run(k.name, func(t *testing.T) {
				got, total := names(k.q, k.offset, k.limit)
				if !reflect.DeepEqual(got, k.want) || total != k.total {
					t.Errorf("got %v (%d), want %v (%d)", got, total, k.want, k.total)
				}
			})
		}
		t.Run("business roles cannot list accounts", func(t *testing.T) {
			_, _, err := e.svc.List(as(&access.Principal{Role: access.Officer, Division: "3301"}), "", 0, 10)
			dbtest.Refusal(t, err, fault.CodeForbidden, "")
		})
	})
}

func TestAdminDuties(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		sys := principal(e.user("sys", access.SysAdmin, "33"))
		sec := principal(e.user("sec", access.SecAdmin, "33"))
		e.user("wang", access.CommunityWorker, communityA)
		tok := e.login("wang")
		var pw string
		t.Run("resetting a password needs the system administrator", func(t *testing.T) {
			_, err := e.svc.ResetPassword(as(sec), "wang")
			dbtest.Refusal(t, err, fault.CodeForbidden, "")
		})
		t.Run("a reset password must be changed, ends the sessions and waits for approval", func(t *testing.T) {
			var err error
			pw, err = e.svc.ResetPassword(as(sys), "wang")
			if err != nil {
				t.Fatal(err)
			}
			if p, err := e.svc.Session(context.Background(), tok); err != nil || p != nil {
				t.Fatalf("old session still open: %+v %v", p, err)
			}
			_, _, err = e.svc.Login(context.Background(), "wang", pw, "", "", "")
			if msg := dbtest.Refusal(t, err, fault.CodeUnauthenticated, ""); msg != "the account awaits the security administrator's approval" {
				t.Fatalf("before approval: %q", msg)
			}
			if _, err := e.svc.Approve(as(sec), "wang"); err != nil {
				t.Fatal(err)
			}
			tok, _, err = e.svc.Login(context.Background(), "wang", pw, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if p, err := e.svc.Session(context.Background(), tok); err != nil || p.Pending != "password" {
				t.Fatalf("got %+v %v", p, err)
			}
		})
		t.Run("no one disables their own account", func(t *testing.T) {
			dbtest.Refusal(t, e.svc.SetDisabled(as(sec), "sec", true), fault.CodeInvalid, "username")
		})
		t.Run("a disabled account loses its sessions and cannot sign in", func(t *testing.T) {
			if err := e.svc.SetDisabled(as(sec), "wang", true); err != nil {
				t.Fatal(err)
			}
			if n := e.count(`SELECT COUNT(*) FROM sessions`); n != 0 {
				t.Fatalf("%d sessions left", n)
			}
			_, _, err := e.svc.Login(context.Background(), "wang", "Wrong-Passw0rd-1", "", "", "")
			if msg := dbtest.Refusal(t, err, fault.CodeUnauthenticated, ""); msg != "wrong username or password" {
				t.Errorf("a wrong password: %q", msg)
			}
			_, _, err = e.svc.Login(context.Background(), "wang", pw, "", "", "")
			if msg := dbtest.Refusal(t, err, fault.CodeUnauthenticated, ""); msg != "the account is disabled; contact your administrator" {
				t.Errorf("got %q", msg)
			}
		})
		t.Run("an enabled account signs in again", func(t *testing.T) {
			if err := e.svc.SetDisabled(as(sys), "wang", false); err != nil {
				t.Fatal(err)
			}
			if u, err := e.svc.Get(as(sys), "wang"); err != nil || u.Disabled {
				t.Fatalf("got %+v %v", u, err)
			}
		})
		t.Run("policies are set by the security administrator, for known roles", func(t *testing.T) {
			dbtest.Refusal(t, e.svc.SetPolicy(as(sys), access.Officer, true), fault.CodeForbidden, "")
			dbtest.Refusal(t, e.svc.SetPolicy(as(sec), "mayor", true), fault.CodeInvalid, "role")
			if err := e.svc.SetPolicy(as(sec), access.Officer, true); err != nil {
				t.Fatal(err)
			}
			pol, err := e.svc.Policies(context.Background())
			if err != nil || len(pol) != len(access.Roles) || !pol[access.Officer] || pol[access.Resident] {
				t.Errorf("got %v %v", pol, err)
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'policy.set' AND object_id = 'officer'`); n != 1 {
				t.Errorf("policy audited %d times", n)
			}
		})
	})
}

func TestFirstAdmin(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		pw, err := e.svc.EnsureFirstAdmin(context.Background())
		if err != nil || pw == "" {
			t.Fatalf("first start: %q %v", pw, err)
		}
		if again, err := e.svc.EnsureFirstAdmin(context.Background()); err != nil || again != "" {
			t.Fatalf("second start made another admin: %q %v", again, err)
		}
		tok, u, err := e.svc.Login(context.Background(), "admin", pw, "", "", "")
		if err != nil || u.Role != access.SysAdmin || u.Division != "33" || !u.MustChange {
			t.Fatalf("got %+v %v", u, err)
		}
		if p, err := e.svc.Session(context.Background(), tok); err != nil || p.Pending != "password" {
			t.Fatalf("pending %+v %v", p, err)
		}
	})
}
