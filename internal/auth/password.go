// Package auth holds accounts, passwords, sessions, API tokens, second
// factors and the account pages: who may sign in, and as whom.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"linli/internal/fault"
)

// argon2id parameters (OWASP's second recommended set: 19 MiB, t=2, p=1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns a PHC-format argon2id hash.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt) // never fails: it crashes the program instead
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword compares pw with a hash made by HashPassword in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash keeps the time of a login for an unknown user like that of a
// known one, so timing does not tell which usernames exist.
var dummyHash = HashPassword("linli-dummy-password-for-timing")

// PasswordProblem checks the complexity rule: 10 to 128 characters, at least
// three of upper case, lower case, digits and symbols, not containing the
// username. It returns what is wrong and true when pw breaks the rule.
func PasswordProblem(pw, username string) (fault.Msg, bool) {
	n := len([]rune(pw))
	if n < 10 || n > 128 {
		return fault.M("密码长度须为 10 至 128 个字符", "password must be 10 to 128 characters"), true
	}
	var up, lo, dg, sy bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			up = true
		case unicode.IsLower(r):
			lo = true
		case unicode.IsDigit(r):
			dg = true
		case unicode.IsControl(r):
			return fault.M("密码不能包含控制字符", "password must not contain control characters"), true
		default:
			sy = true
		}
	}
	classes := 0
	for _, b := range []bool{up, lo, dg, sy} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return fault.M("密码须包含大写字母、小写字母、数字、符号中的至少三类", "password needs at least three of: upper case, lower case, digits, symbols"), true
	}
	if username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)) {
		return fault.M("密码不能包含用户名", "password must not contain the username"), true
	}
	return fault.Msg{}, false
}

// RandomPassword makes a one-time password that meets the rule.
func RandomPassword() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ" + "abcdefghijkmnopqrstuvwxyz" + "23456789"
	for {
		b := randomFrom(alphabet, 16)
		pw := string(b[:5]) + "-" + string(b[5:10]) + "-" + string(b[10:])
		if _, weak := PasswordProblem(pw, ""); !weak {
			return pw
		}
	}
}

// randomFrom draws n characters of alphabet uniformly: bytes at or above
// the largest multiple of its length are drawn again rather than folded,
// which would favour the first characters.
func randomFrom(alphabet string, n int) []byte {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		rand.Read(buf[:]) // never fails: it crashes the program instead
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return out
}

// NewToken returns a random token and the hash to store; only the hash is
// kept, so a database dump yields no usable session or API token.
func NewToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never fails: it crashes the program instead
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}
