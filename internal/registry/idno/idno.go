// Package idno validates resident identity numbers (GB 11643-1999, 公民身份号码)
// and phone numbers, and masks them for display.
package idno

import (
	"fmt"
	"strings"
	"time"

	"linli/internal/pii"
)

// Error explains why a number was rejected, in Chinese and English.
type Error struct{ ZH, EN string }

func (e *Error) Error() string { return e.ZH + " / " + e.EN }

func errf(zh, en string, a ...any) *Error {
	return &Error{ZH: fmt.Sprintf(zh, a...), EN: fmt.Sprintf(en, a...)}
}

// CheckDigit returns the GB 11643 check character of the first 17 digits.
func CheckDigit(first17 string) byte { return pii.CheckDigit(first17) }

// Info is what an ID number tells about its holder.
type Info struct {
	Number string    // normalised: 18 characters, upper-case X
	Region string    // first 6 digits: the county of first registration
	Birth  time.Time // date of birth (UTC midnight)
	Gender string    // "M" or "F" (odd / even sequence digit)
}

// Parse validates an 18-character ID number: digits, a real birth date not
// in the future and after 1900, and the check character. now bounds the birth date.
func Parse(s string, now time.Time) (Info, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 18 {
		return Info{}, errf("身份证号须为 18 位（现为 %d 位）", "the ID number must have 18 characters (it has %d)", len([]rune(s)))
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return Info{}, errf("身份证号前 17 位须为数字", "the first 17 characters of the ID number must be digits")
		}
	}
	if c := s[17]; !(c >= '0' && c <= '9' || c == 'X') {
		return Info{}, errf("身份证号末位须为数字或 X", "the last character of the ID number must be a digit or X")
	}
	if s[0] == '0' || s[:2] == "00" {
		return Info{}, errf("身份证号的地址码无效", "the ID number's region code is invalid")
	}
	b, err := time.Parse("20060102", s[6:14])
	if err != nil || b.Year() < 1900 || b.After(now) {
		return Info{}, errf("身份证号中的出生日期 %s 不存在或不合理", "the birth date %s in the ID number is impossible", s[6:14])
	}
	if want := CheckDigit(s); s[17] != want {
		return Info{}, errf("身份证号校验位错误（应为 %c）", "the ID number's check character is wrong (expected %c)", want)
	}
	g := "M"
	if (s[16]-'0')%2 == 0 {
		g = "F"
	}
	return Info{Number: s, Region: s[:6], Birth: b, Gender: g}, nil
}

// Mask shows the province and city (4 digits) and the last two
// characters: 3301**********34. The twelve hidden digits are more than
// the age, gender and community shown beside it can fill in: the birth
// date (8), the county (2) and two of the sequence (2). A person's
// record may show the birth date to a role that may reveal the number
// anyway; even then the county and the sequence leave candidates.
func Mask(id string) string {
	if len(id) != 18 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + "**********" + id[16:]
}

// NormalisePhone strips spaces, dashes and a +86 prefix, and checks that what
// is left is an 11-digit mobile number or a 7–12 digit landline.
func NormalisePhone(s string) (string, error) {
	s = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+86"), "0086")
	if len(s) < 7 || len(s) > 12 {
		return "", errf("电话号码须为 11 位手机号或 7–12 位固定电话", "the phone number must be an 11-digit mobile or a 7–12 digit landline")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", errf("电话号码只能包含数字", "the phone number may only contain digits")
		}
	}
	if len(s) == 11 && s[0] == '1' && (s[1] < '3' || s[1] > '9') {
		return "", errf("手机号码第二位无效", "the mobile number's second digit is invalid")
	}
	return s, nil
}

// MaskPhone shows the first three and last four digits: 138****5678.
func MaskPhone(p string) string { return pii.MaskPhone(p) }

// Age is the age in whole years at the given instant.
func Age(birth, at time.Time) int {
	y := at.Year() - birth.Year()
	if at.Month() < birth.Month() || at.Month() == birth.Month() && at.Day() < birth.Day() {
		y--
	}
	return y
}

// Synthetic makes a valid-format fictitious ID number for demo and test
// data: region and birth date as given, sequence seq (0–999; its parity
// gives the gender) and the right check character. The sequence block
// 9xx is used so that numbers are recognisable as synthetic in review.
func Synthetic(region string, birth time.Time, seq int) string {
	s := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq%1000)
	return s + string(CheckDigit(s))
}
