package auth_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/auth"
	"linli/internal/dbtest"
	"linli/internal/fault"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	t.Run("a hash checks only its own password", func(t *testing.T) {
		h := auth.HashPassword("Correct-Horse-9")
		if !auth.CheckPassword(h, "Correct-Horse-9") || auth.CheckPassword(h, "correct-horse-9") || auth.CheckPassword("garbage", "x") {
			t.Fatal("hash check wrong")
		}
		if h == auth.HashPassword("Correct-Horse-9") {
			t.Fatal("two hashes of one password share their salt")
		}
	})
	t.Run("a hash with out-of-bounds parameters is refused", func(t *testing.T) {
		h := auth.HashPassword("Correct-Horse-9")
		for _, bad := range []string{strings.Replace(h, "m=19456", "m=9999999", 1), strings.Replace(h, "t=2", "t=99", 1), strings.Replace(h, "$argon2id$", "$argon2i$", 1)} {
			if auth.CheckPassword(bad, "Correct-Horse-9") {
				t.Errorf("accepted %s", bad)
			}
		}
	})
	t.Run("the complexity rule", func(t *testing.T) {
		for pw, want := range map[string]string{
			"short1A!":             "password must be 10 to 128 characters",
			"alllowercaseletters":  "password needs at least three of: upper case, lower case, digits, symbols",
			"lower-and-digits-123": "",
			"Wang-Passw0rd-x":      "",
			"xwang.workerX1-":      "password must not contain the username",
			"Tab\there-Passw0rd":   "password must not contain control characters",
		} {
			m, weak := auth.PasswordProblem(pw, "wang.worker")
			if weak != (want != "") || m.EN != want {
				t.Errorf("%q: %v %q, want %q", pw, weak, m.EN, want)
			}
		}
	})
	t.Run("one-time passwords meet the rule and differ", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 50; i++ {
			pw := auth.RandomPassword()
			if m, weak := auth.PasswordProblem(pw, "admin"); weak || len(pw) != 18 || seen[pw] {
				t.Fatalf("%q: %v", pw, m)
			}
			seen[pw] = true
		}
	})
	t.Run("tokens are random and stored as their hash", func(t *testing.T) {
		a, ha := auth.NewToken("lnl_")
		b, _ := auth.NewToken("lnl_")
		if a == b || !strings.HasPrefix(a, "lnl_") || ha != auth.HashToken(a) || len(ha) != 64 || ha == a {
			t.Fatalf("%q %q %q", a, b, ha)
		}
	})
}

// RFC 6238 appendix B vectors (SHA-1, 8 digits there; the low 6 digits here).
func TestTOTP(t *testing.T) {
	t.Parallel()
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
	t.Run("the RFC's vectors", func(t *testing.T) {
		for ts, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
			got, err := auth.TOTPCode(secret, time.Unix(ts, 0))
			if err != nil || got != want {
				t.Errorf("t=%d: %s, want %s", ts, got, want)
			}
		}
	})
	now := time.Unix(1234567890, 0)
	code := func(d time.Duration) string {
		c, err := auth.TOTPCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("one step of clock drift is accepted", func(t *testing.T) {
		if !auth.CheckTOTP(secret, code(-30*time.Second), now) || !auth.CheckTOTP(secret, " "+code(30*time.Second)+" ", now) {
			t.Error("drift refused")
		}
	})
	t.Run("three steps are refused, as are malformed codes", func(t *testing.T) {
		for _, c := range []string{code(-90 * time.Second), "12345", "1234567", ""} {
			if auth.CheckTOTP(secret, c, now) {
				t.Errorf("accepted %q", c)
			}
		}
	})
	t.Run("a secret that is not base32 gives no code", func(t *testing.T) {
		if _, err := auth.TOTPCode("not base32!", now); err == nil {
			t.Error("no error")
		}
	})
	t.Run("new secrets are random, and the URI names the account", func(t *testing.T) {
		a, b := auth.NewTOTPSecret(), auth.NewTOTPSecret()
		if a == b || len(a) != 32 {
			t.Fatalf("%q %q", a, b)
		}
		if got := auth.TOTPURI(a, "wang li"); got != "otpauth://totp/Linli:wang%20li?secret="+a+"&issuer=Linli&algorithm=SHA1&digits=6&period=30" {
			t.Errorf("got %q", got)
		}
	})
}

func TestParseLogin(t *testing.T) {
	t.Parallel()
	for _, k := range []struct {
		name, user, pw, code, field string
	}{
		{"an empty username", " ", "pw", "", "username"},
		{"an overlong username", strings.Repeat("x", 65), "pw", "", "username"},
		{"an empty password", "wang", "", "", "password"},
		{"an overlong password", "wang", strings.Repeat("x", 513), "", "password"},
		{"an overlong code", "wang", "pw", "12345678901", "totp"},
	} {
		t.Run(k.name+" is refused", func(t *testing.T) {
			_, err := auth.ParseLogin(k.user, k.pw, k.code)
			dbtest.Refusal(t, err, fault.CodeInvalid, k.field)
		})
	}
	t.Run("a good form is trimmed", func(t *testing.T) {
		b, err := auth.ParseLogin(" wang ", " pw ", " 123456 ")
		if err != nil || b != (auth.LoginBody{Username: "wang", Password: " pw ", TOTP: "123456"}) {
			t.Errorf("got %+v %v", b, err)
		}
	})
}

func FuzzParseLogin(f *testing.F) {
	f.Add("admin", "pw", "")
	f.Add(" wang ", strings.Repeat("x", 600), "123456")
	f.Add("", "", "1234567890123")
	f.Fuzz(func(t *testing.T, u, p, code string) {
		b, err := auth.ParseLogin(u, p, code)
		if err != nil {
			if !fault.Is(err, fault.CodeInvalid) {
				t.Fatalf("not an invalid refusal: %v", err)
			}
			return
		}
		if b.Username == "" || len(b.Username) > 64 || b.Password == "" || len(b.Password) > 512 || len(b.TOTP) > 10 {
			t.Fatalf("accepted out-of-bounds login %q", b.Username)
		}
	})
}
