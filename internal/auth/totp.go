package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP (RFC 6238): 30-second steps, 6 digits, HMAC-SHA1, as authenticator
// apps expect.

// NewTOTPSecret returns a random base32 secret.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b) // never fails: it crashes the program instead
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// TOTPCode computes the code for secret at t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.ReplaceAll(secret, " ", "")))
	if err != nil {
		return "", err
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000), nil
}

// CheckTOTP accepts the code of the current step or one step either side
// (clock drift), comparing in constant time.
func CheckTOTP(secret, code string, now time.Time) bool {
	_, ok := matchTOTP(secret, code, now)
	return ok
}

// matchTOTP returns the step (Unix time / 30) whose code is code, among the
// current one and one either side; an account remembers the last step
// taken, so that no code is accepted twice.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	var step int64
	found := false
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		t := now.Add(d)
		c, err := TOTPCode(secret, t)
		if err == nil && hmac.Equal([]byte(c), []byte(code)) && !found {
			step, found = t.Unix()/30, true
		}
	}
	return step, found
}

// TOTPURI is the otpauth URI an authenticator app can import.
func TOTPURI(secret, username string) string {
	return "otpauth://totp/" + url.PathEscape("Linli:"+username) + "?secret=" + secret + "&issuer=Linli&algorithm=SHA1&digits=6&period=30"
}
