package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashAndRule(t *testing.T) {
	t.Parallel()
	h := HashPassword("Correct-Horse-9")
	if !CheckPassword(h, "Correct-Horse-9") || CheckPassword(h, "correct-horse-9") || CheckPassword("garbage", "x") {
		t.Fatal("hash check wrong")
	}
	for pw, ok := range map[string]bool{"short1A!": false, "alllowercaseletters": false, "lower-and-digits-123": true, "Wang-Passw0rd-x": true, "xwang.workerX1-": false} {
		if got := PasswordProblem(pw, "wang.worker") == nil; got != ok {
			t.Errorf("PasswordProblem(%q) ok=%v, want %v", pw, got, ok)
		}
	}
	for i := 0; i < 20; i++ {
		if err := PasswordProblem(RandomPassword(), "admin"); err != nil {
			t.Fatal(err)
		}
	}
}

// RFC 6238 appendix B vectors (SHA-1, 8 digits there; the low 6 digits here).
func TestTOTPVectors(t *testing.T) {
	t.Parallel()
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
	for ts, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		got, err := TOTPCode(secret, time.Unix(ts, 0))
		if err != nil || got != want {
			t.Errorf("t=%d: %s, want %s", ts, got, want)
		}
	}
	now := time.Unix(1234567890, 0)
	c, _ := TOTPCode(secret, now.Add(-30*time.Second))
	if !CheckTOTP(secret, c, now) {
		t.Error("one step of drift refused")
	}
	c, _ = TOTPCode(secret, now.Add(-90*time.Second))
	if CheckTOTP(secret, c, now) {
		t.Error("three steps of drift accepted")
	}
}

func FuzzParseLogin(f *testing.F) {
	f.Add("admin", "pw", "")
	f.Add(" wang ", strings.Repeat("x", 600), "123456")
	f.Add("", "", "1234567890123")
	f.Fuzz(func(t *testing.T, u, p, code string) {
		b, err := ParseLogin(u, p, code)
		if err != nil {
			if _, ok := err.(*Problem); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if b.Username == "" || len(b.Username) > 64 || b.Password == "" || len(b.Password) > 512 || len(b.TOTP) > 10 {
			t.Fatalf("accepted out-of-bounds login %q", b.Username)
		}
	})
}
