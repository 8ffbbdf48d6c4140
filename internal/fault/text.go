package fault

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TextProblem tells why s is not acceptable text from outside (ok when it
// is): it must be valid UTF-8 without control characters other than tab,
// newline and the carriage return of a CRLF line end. PostgreSQL refuses a
// NUL in text, and the other control characters have no place in a name,
// an address or a note. The web edge and the file reader both check with
// it.
func TextProblem(s string) (why Msg, ok bool) {
	if !utf8.ValidString(s) {
		return M("不是有效的 UTF-8 文本", "is not valid UTF-8 text"), false
	}
	for i, r := range s {
		switch {
		case r == 0:
			return M("含有空字符 (NUL)", "contains a NUL character"), false
		case r == '\t' || r == '\n' || (r == '\r' && strings.HasPrefix(s[i+1:], "\n")):
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			code := fmt.Sprintf("U+%04X", r)
			return M("含有控制字符 "+code, "contains the control character "+code), false
		}
	}
	return Msg{}, true
}
