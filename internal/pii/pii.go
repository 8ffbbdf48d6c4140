// Package pii finds personal data that people type into free text — mainland
// identity numbers (GB 11643, recognised by their check character), mobile
// numbers and e-mail addresses — and masks it for display. Digits may be
// ASCII or full-width, as Chinese input methods produce them.
package pii

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind names what a finding is.
type Kind string

// The kinds of personal data found.
const (
	IDNumber Kind = "id_number"
	Mobile   Kind = "mobile"
	Email    Kind = "email"
)

// Match is one finding: its kind and its byte span in the text.
type Match struct {
	Kind       Kind
	Start, End int
	value      string // normalised: ASCII digits, no separators or prefix
}

// digit is an ASCII or a full-width digit.
const digit = `[0-9０-９]`

// Patterns anchored at the start of what they are tried on; boundaries and
// check characters are checked in code.
var (
	idPattern     = regexp.MustCompile(`\A[1-9１-９]` + digit + `{5}[ -]?` + digit + `{8}[ -]?` + digit + `{3}[0-9０-９XxＸｘ]`)
	mobilePattern = regexp.MustCompile(`\A(?:[+＋]?(?:00)?86[ -]?)?[1１][3-9３-９]` + digit + `(?:[ -]?` + digit + `{4}){2}`)
	emailPattern  = regexp.MustCompile(`\A[A-Za-z0-9._%+-]+[@＠][A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
)

var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CheckDigit returns the GB 11643 check character of the first 17 digits
// of an identity number.
func CheckDigit(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}

// Find lists the personal data in text, in order.
func Find(text string) []Match {
	var out []Match
	for i := 0; i < len(text); {
		if m, ok := matchAt(text, i); ok {
			out = append(out, m)
			i = m.End
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return out
}

// Mask replaces every finding in text by its mask — an identity number
// keeps its first four and last two characters (no birth-date digit), a
// mobile number its first three and last four digits, an e-mail address the
// first letter and the domain — and says what it found (nil: nothing, and
// the text comes back as it was).
func Mask(text string) (string, []Kind) {
	ms := Find(text)
	if len(ms) == 0 {
		return text, nil
	}
	var b strings.Builder
	var kinds []Kind
	last := 0
	for _, m := range ms {
		b.WriteString(text[last:m.Start])
		b.WriteString(mask(m))
		kinds = append(kinds, m.Kind)
		last = m.End
	}
	b.WriteString(text[last:])
	return b.String(), kinds
}

func mask(m Match) string {
	v := m.value
	switch m.Kind {
	case IDNumber:
		return v[:4] + strings.Repeat("*", 12) + v[16:]
	case Mobile:
		return MaskPhone(v)
	}
	local, domain, _ := strings.Cut(v, "@")
	r, _ := utf8.DecodeRuneInString(local)
	domain, _ = Mask(domain) // a number may hide in the domain
	return string(r) + "***@" + domain
}

// MaskPhone shows a phone number's first three and last four digits; a
// number too short to keep enough hidden is hidden whole.
func MaskPhone(p string) string {
	if len(p) < 8 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// matchAt tries each kind at byte i, which must start a token: the rune
// before it cannot be part of it. An address is tried first, so that
// 13812345678@qq.com is masked as an address.
func matchAt(text string, i int) (Match, bool) {
	prev, _ := utf8.DecodeLastRuneInString(text[:i])
	rest := text[i:]
	if i == 0 || !isLocalChar(prev) {
		if n := emailPattern.FindStringIndex(rest); n != nil && endsAddress(text, i+n[1]) {
			return Match{Kind: Email, Start: i, End: i + n[1], value: strings.Replace(rest[:n[1]], "＠", "@", 1)}, true
		}
	}
	if i == 0 || !isDigit(prev) {
		if n := idPattern.FindStringIndex(rest); n != nil && endsToken(text, i+n[1]) {
			if v := digits(rest[:n[1]]); validID(v) {
				return Match{Kind: IDNumber, Start: i, End: i + n[1], value: v}, true
			}
		}
		if n := mobilePattern.FindStringIndex(rest); n != nil && endsToken(text, i+n[1]) {
			v := digits(rest[:n[1]])
			return Match{Kind: Mobile, Start: i, End: i + n[1], value: v[len(v)-11:]}, true
		}
	}
	return Match{}, false
}

// endsToken tells whether no digit follows byte end.
func endsToken(text string, end int) bool {
	r, _ := utf8.DecodeRuneInString(text[end:])
	return !isDigit(r)
}

// endsAddress tells whether an e-mail address may end at byte end: what
// follows cannot continue it.
func endsAddress(text string, end int) bool {
	r, _ := utf8.DecodeRuneInString(text[end:])
	return !isLocalChar(r) && r != '@' && r != '＠'
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

func isLocalChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._%+-", r)
}

// digits keeps the digits (as ASCII) and a final X of s.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune(r - '０' + '0')
		case r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ':
			b.WriteByte('X')
		}
	}
	return b.String()
}

// validID tells whether 18 normalised characters hold a real birth date
// and the right check character.
func validID(v string) bool {
	if len(v) != 18 {
		return false
	}
	birth, err := time.Parse("20060102", v[6:14])
	if err != nil || birth.Year() < 1900 || birth.Year() > 2099 {
		return false
	}
	return CheckDigit(v) == v[17]
}
