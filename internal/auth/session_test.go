package auth_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/fault"
)

func TestLoginBackoff(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.user("wang", access.CommunityWorker, communityA)
		login := func(name, pw, ip string) error {
			_, _, err := e.svc.Login(context.Background(), name, pw, "", ip, "test")
			return err
		}
		const here = "198.51.100.7"
		waitOf := func(err error) time.Duration {
			t.Helper()
			dbtest.Refusal(t, err, fault.CodeTooMany, "")
			d, ok := auth.RetryAfter(err)
			if !ok {
				t.Fatalf("no wait in %v", err)
			}
			return d
		}
		t.Run("an unknown user and a wrong password read the same", func(t *testing.T) {
			a := dbtest.Refusal(t, login("nobody", "Wrong-Passw0rd-1", here), fault.CodeUnauthenticated, "")
			b := dbtest.Refusal(t, login("wang", "Wrong-Passw0rd-1", here), fault.CodeUnauthenticated, "")
			if a != b || a != "wrong username or password" {
				t.Errorf("%q / %q", a, b)
			}
		})
		t.Run("five wrong passwords cost their owner two seconds, not a lock", func(t *testing.T) {
			for i := 1; i < auth.AccountFreeTries; i++ {
				dbtest.Refusal(t, login("wang", "Wrong-Passw0rd-1", here), fault.CodeUnauthenticated, "")
			}
			if d := waitOf(login("wang", password, here)); d != 2*time.Second {
				t.Errorf("wait %s", d)
			}
			e.clock.Add(2 * time.Second)
			if err := login("wang", password, here); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("the attempts that reached a check and the start of the back-off are audited", func(t *testing.T) {
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'login.throttle' AND object_id = 'wang' AND result = 'denied' AND detail = 'user:wang'`); n != 1 {
				t.Errorf("back-off audited %d times", n)
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'login' AND result = 'failed'`); n != auth.AccountFreeTries+1 {
				t.Errorf("%d failures audited, want %d", n, auth.AccountFreeTries+1)
			}
		})
		t.Run("each try during the back-off doubles it, up to a quarter of an hour", func(t *testing.T) {
			const there = "203.0.113.50" // an address of its own, which reaches its free tries later
			for range auth.AccountFreeTries {
				login("wang", "Wrong-Passw0rd-1", there)
			}
			var waits []int
			for range 12 {
				waits = append(waits, int(waitOf(login("wang", "Wrong-Passw0rd-1", there))/time.Second))
			}
			if want := []int{2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900}; !reflect.DeepEqual(waits, want) {
				t.Errorf("waits %v, want %v", waits, want)
			}
		})
		t.Run("the back-off holds the account from any address", func(t *testing.T) {
			waitOf(login("wang", password, "203.0.113.9"))
		})
		t.Run("the security administrator clears it", func(t *testing.T) {
			sec := principal(e.user("sec", access.SecAdmin, "33"))
			dbtest.Refusal(t, e.svc.Unlock(as(&access.Principal{Role: access.SysAdmin, Division: "33"}), "wang"), fault.CodeForbidden, "")
			if u, err := e.svc.Get(as(sec), "wang"); err != nil || !u.Throttled {
				t.Fatalf("got %+v %v", u, err)
			}
			if err := e.svc.Unlock(as(sec), "wang"); err != nil {
				t.Fatal(err)
			}
			if err := login("wang", password, here); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("one address's failures do not slow another", func(t *testing.T) {
			for i := range auth.AddressFreeTries {
				login(fmt.Sprintf("name%d", i), "Wrong-Passw0rd-1", "192.0.2.1")
			}
			waitOf(login("name-x", "Wrong-Passw0rd-1", "192.0.2.1"))
			dbtest.Refusal(t, login("name-x", "Wrong-Passw0rd-1", "192.0.2.2"), fault.CodeUnauthenticated, "")
		})
		t.Run("failures are forgotten after a quiet hour", func(t *testing.T) {
			for range auth.AccountFreeTries - 1 {
				dbtest.Refusal(t, login("wang", "Wrong-Passw0rd-1", here), fault.CodeUnauthenticated, "")
			}
			e.clock.Add(time.Hour + time.Second)
			for range auth.AccountFreeTries - 1 {
				dbtest.Refusal(t, login("wang", "Wrong-Passw0rd-1", here), fault.CodeUnauthenticated, "")
			}
			if err := login("wang", password, here); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a sign-in is audited with the address", func(t *testing.T) {
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'login' AND result = 'ok' AND actor = 'wang' AND ip = $1`, here); n != 3 {
				t.Errorf("%d sign-ins audited", n)
			}
		})
	})
}

func TestSecondFactorPassesTheBackoff(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		u := e.user("county", access.Officer, county)
		secret, err := e.svc.StartTOTP(as(principal(u)))
		if err != nil {
			t.Fatal(err)
		}
		code, _ := auth.TOTPCode(secret, e.clock.Now())
		if err := e.svc.ConfirmTOTP(as(principal(u)), code); err != nil {
			t.Fatal(err)
		}
		login := func(pw, code string) error {
			_, _, err := e.svc.Login(context.Background(), "county", pw, code, "203.0.113.5", "test")
			return err
		}
		for range 12 { // someone else's wrong guesses, from elsewhere
			e.svc.Login(context.Background(), "county", "Wrong-Passw0rd-1", "", "198.51.100.66", "test")
		}
		e.clock.Add(30 * time.Second)
		fresh, _ := auth.TOTPCode(secret, e.clock.Now())
		t.Run("the password alone, or with a wrong code, waits", func(t *testing.T) {
			dbtest.Refusal(t, login(password, ""), fault.CodeTooMany, "")
			dbtest.Refusal(t, login(password, wrongCode(t, secret, e.clock.Now())), fault.CodeTooMany, "")
			dbtest.Refusal(t, login("Wrong-Passw0rd-1", fresh), fault.CodeTooMany, "")
		})
		t.Run("the password with a fresh code signs in at once", func(t *testing.T) {
			if err := login(password, fresh); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		u := e.user("lihua", access.Officer, county)
		session := func(tok string) *access.Principal {
			t.Helper()
			p, err := e.svc.Session(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		tok := e.login("lihua")
		t.Run("a session gives its account's principal", func(t *testing.T) {
			p := session(tok)
			if p == nil || *p != (access.Principal{UserID: u.ID, Username: "lihua", Role: access.Officer, Division: county}) {
				t.Fatalf("got %+v", p)
			}
		})
		t.Run("an unknown or overlong token gives no one", func(t *testing.T) {
			for _, tk := range []string{"", "nope", strings.Repeat("x", 101)} {
				if p := session(tk); p != nil {
					t.Errorf("%q: %+v", tk, p)
				}
			}
		})
		t.Run("use within the idle timeout keeps it, touched at most once a minute", func(t *testing.T) {
			seen := func() time.Time {
				var s db.Time
				if err := e.d.R.QueryRow(`SELECT last_seen_at FROM sessions`).Scan(&s); err != nil {
					t.Fatal(err)
				}
				return s.Time
			}
			before := seen()
			e.clock.Add(30 * time.Second)
			session(tok)
			if !seen().Equal(before) {
				t.Error("touched within the minute")
			}
			for i := 0; i < 3; i++ {
				e.clock.Add(29 * time.Minute)
				if session(tok) == nil {
					t.Fatalf("active session ended after %d steps", i)
				}
			}
			if !seen().Equal(e.clock.Now()) {
				t.Errorf("last seen %v, want %v", seen(), e.clock.Now())
			}
		})
		t.Run("idleness beyond the timeout ends it", func(t *testing.T) {
			e.clock.Add(30*time.Minute + time.Second)
			if session(tok) != nil {
				t.Fatal("idle session still valid")
			}
			if n := e.count(`SELECT COUNT(*) FROM sessions`); n != 0 {
				t.Fatalf("expired session kept: %d", n)
			}
		})
		t.Run("a busy session ends at the absolute limit", func(t *testing.T) {
			tok := e.login("lihua")
			for elapsed := time.Duration(0); elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
				if session(tok) == nil {
					t.Fatalf("ended early at %s", elapsed)
				}
				e.clock.Add(20 * time.Minute)
			}
			e.clock.Add(time.Minute)
			if session(tok) != nil {
				t.Fatal("session outlived its absolute limit")
			}
		})
		t.Run("signing out ends the session and is audited", func(t *testing.T) {
			tok := e.login("lihua")
			if err := e.svc.Logout(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			if session(tok) != nil || e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'logout' AND actor = 'lihua'`) != 1 {
				t.Fatal("logout left the session or went unaudited")
			}
			if err := e.svc.Logout(context.Background(), tok); err != nil {
				t.Fatalf("second logout: %v", err)
			}
		})
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		u := e.user("wang", access.CommunityWorker, communityA)
		ctx := as(principal(u))
		keep, other := e.login("wang"), e.login("wang")
		for _, k := range []struct {
			name, old, new, field string
		}{
			{"a wrong current password", "Wrong-Passw0rd-1", "New-Strong-Pass-42", "old_password"},
			{"a weak new password", password, "short", "new_password"},
			{"the same password again", password, password, "new_password"},
		} {
			t.Run(k.name+" is refused", func(t *testing.T) {
				dbtest.Refusal(t, e.svc.ChangePassword(ctx, keep, k.old, k.new), fault.CodeInvalid, k.field)
			})
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.change_password' AND result = 'failed'`); n != 1 {
			t.Errorf("wrong current password audited %d times", n)
		}
		t.Run("a good change keeps this session and ends the others", func(t *testing.T) {
			if err := e.svc.ChangePassword(ctx, keep, password, "New-Strong-Pass-42"); err != nil {
				t.Fatal(err)
			}
			if p, err := e.svc.Session(context.Background(), keep); err != nil || p == nil {
				t.Fatalf("this session ended: %v", err)
			}
			if p, err := e.svc.Session(context.Background(), other); err != nil || p != nil {
				t.Fatalf("other session kept: %+v %v", p, err)
			}
			if _, _, err := e.svc.Login(context.Background(), "wang", "New-Strong-Pass-42", "", "", ""); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("no one changes a password without signing in", func(t *testing.T) {
			dbtest.Refusal(t, e.svc.ChangePassword(context.Background(), "", password, "New-Strong-Pass-43"), fault.CodeForbidden, "")
		})
	})
}

func TestSecondFactor(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		u := e.user("county", access.Officer, county)
		sec := principal(e.user("sec", access.SecAdmin, "33"))
		ctx := as(principal(u))
		if err := e.svc.SetPolicy(as(sec), access.Officer, true); err != nil {
			t.Fatal(err)
		}
		t.Run("a role that requires it sends its users to enrol", func(t *testing.T) {
			p, err := e.svc.Session(context.Background(), e.login("county"))
			if err != nil || p.Pending != "totp" {
				t.Fatalf("got %+v %v", p, err)
			}
		})
		secret, err := e.svc.StartTOTP(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("the pending secret is the same until confirmed, and sealed at rest", func(t *testing.T) {
			if again, err := e.svc.StartTOTP(ctx); err != nil || again != secret {
				t.Fatalf("got %q %v", again, err)
			}
			if n := e.count(`SELECT COUNT(*) FROM users WHERE totp_secret LIKE $1`, "%"+secret+"%"); n != 0 {
				t.Fatal("TOTP secret stored in clear")
			}
		})
		t.Run("a wrong code does not enrol", func(t *testing.T) {
			dbtest.Refusal(t, e.svc.ConfirmTOTP(ctx, wrongCode(t, secret, e.clock.Now())), fault.CodeInvalid, "code")
		})
		t.Run("a good code enrols and the pending step ends", func(t *testing.T) {
			code, err := auth.TOTPCode(secret, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.ConfirmTOTP(ctx, code); err != nil {
				t.Fatal(err)
			}
			if u, err := e.svc.Get(ctx, "county"); err != nil || !u.TOTP {
				t.Fatalf("got %+v %v", u, err)
			}
		})
		t.Run("signing in now asks for the code", func(t *testing.T) {
			_, _, err := e.svc.Login(context.Background(), "county", password, "", "", "")
			if !auth.NeedsTOTP(err) || dbtest.Refusal(t, err, fault.CodeUnauthenticated, "totp") != "enter the one-time code from your authenticator" {
				t.Fatalf("got %v", err)
			}
			_, _, err = e.svc.Login(context.Background(), "county", password, wrongCode(t, secret, e.clock.Now()), "", "")
			if !auth.NeedsTOTP(err) {
				t.Fatalf("wrong code: %v", err)
			}
			e.clock.Add(30 * time.Second) // the enrolling code was taken: the next step's
			code, _ := auth.TOTPCode(secret, e.clock.Now())
			tok, _, err := e.svc.Login(context.Background(), "county", password, code, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if p, err := e.svc.Session(context.Background(), tok); err != nil || p.Pending != "" {
				t.Fatalf("got %+v %v", p, err)
			}
		})
		t.Run("other refusals do not ask for a code", func(t *testing.T) {
			_, _, err := e.svc.Login(context.Background(), "county", "Wrong-Passw0rd-1", "", "", "")
			if auth.NeedsTOTP(err) || auth.NeedsTOTP(fault.Invalid(fault.M("x", "x"), fault.Field("totp", fault.M("x", "x")))) {
				t.Fatal("asked for a code")
			}
		})
	})
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		u := e.user("hotline", access.CommunityWorker, communityA)
		sec := principal(e.user("sec", access.SecAdmin, "33"))
		bearer := func(tok string) *access.Principal {
			t.Helper()
			p, err := e.svc.Bearer(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		req := func(name string, ttl time.Duration) auth.TokenRequest {
			return auth.TokenRequest{Username: name, Name: "12345", Scope: "read", TTL: ttl}
		}
		t.Run("only the system administrator issues tokens, for a year at most", func(t *testing.T) {
			_, _, err := e.svc.IssueToken(as(sec), req("hotline", 24*time.Hour))
			dbtest.Refusal(t, err, fault.CodeForbidden, "")
			for _, ttl := range []time.Duration{0, 367 * 24 * time.Hour} {
				_, _, err := e.svc.IssueToken(operator(), req("hotline", ttl))
				dbtest.Refusal(t, err, fault.CodeInvalid, "days")
			}
			_, _, err = e.svc.IssueToken(operator(), req("nobody", time.Hour))
			dbtest.Refusal(t, err, fault.CodeNotFound, "")
		})
		tok, rec, err := e.svc.IssueToken(operator(), req("hotline", 24*time.Hour))
		if err != nil || !strings.HasPrefix(tok, auth.TokenPrefix) {
			t.Fatal(tok, err)
		}
		t.Run("a token acts as its account within its scope, and only its hash is kept", func(t *testing.T) {
			p := bearer(tok)
			if p == nil || *p != (access.Principal{UserID: u.ID, Username: "hotline", Role: access.CommunityWorker, Division: communityA, TokenID: rec.ID, Scope: "read"}) {
				t.Fatalf("got %+v", p)
			}
			if e.count(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1`, tok) != 0 || e.count(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1`, auth.HashToken(tok)) != 1 {
				t.Fatal("token stored in clear")
			}
			if bearer(tok+"x") != nil || bearer(strings.Repeat("x", 101)) != nil {
				t.Fatal("a wrong token acts")
			}
		})
		t.Run("a disabled account's token acts no more", func(t *testing.T) {
			if err := e.svc.SetDisabled(as(sec), "hotline", true); err != nil {
				t.Fatal(err)
			}
			if bearer(tok) != nil {
				t.Fatal("token of a disabled account acts")
			}
			_, _, err := e.svc.IssueToken(operator(), req("hotline", time.Hour))
			dbtest.Refusal(t, err, fault.CodeInvalid, "username")
			if err := e.svc.SetDisabled(as(sec), "hotline", false); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a revoked token acts no more, and is revoked once", func(t *testing.T) {
			tok2, rec2, err := e.svc.IssueToken(operator(), req("hotline", time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.RevokeToken(as(principal(u)), rec2.ID); err != nil {
				t.Fatal(err)
			}
			if bearer(tok2) != nil {
				t.Fatal("revoked token acts")
			}
			_, err = e.svc.RevokeToken(as(sec), rec2.ID)
			dbtest.Refusal(t, err, fault.CodeConflict, "")
		})
		t.Run("an expired token acts no more", func(t *testing.T) {
			e.clock.Add(24 * time.Hour)
			if bearer(tok) != nil {
				t.Fatal("expired token acts")
			}
		})
	})
}

// wrongCode is a six-digit code that no step around now accepts.
func wrongCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if !auth.CheckTOTP(secret, c, now) {
			return c
		}
	}
}
