package fault_test

import (
	"testing"

	"linli/internal/fault"
)

func TestTextProblem(t *testing.T) {
	t.Parallel()
	for _, k := range []struct {
		name, s, why string
	}{
		{"plain Chinese and English", "西湖区 No. 1 — «ok» 😀", ""},
		{"tabs, newlines and CRLF line ends", "a\tb\nc\r\nd", ""},
		{"the replacement character itself", "\uFFFD", ""},
		{"a NUL", "a\x00", "contains a NUL character"},
		{"a lone carriage return", "a\rb", "contains the control character U+000D"},
		{"a carriage return at the end", "a\r", "contains the control character U+000D"},
		{"an escape", "\x1b[31m", "contains the control character U+001B"},
		{"a delete", "a\x7f", "contains the control character U+007F"},
		{"a C1 control", "a\u0085", "contains the control character U+0085"},
		{"invalid UTF-8", "a\xffb", "is not valid UTF-8 text"},
		{"a truncated sequence", "中"[:2], "is not valid UTF-8 text"},
	} {
		t.Run(k.name, func(t *testing.T) {
			why, ok := fault.TextProblem(k.s)
			if ok != (k.why == "") || why.EN != k.why {
				t.Errorf("got %v %q, want %q", ok, why.EN, k.why)
			}
			if !ok && why.ZH == "" {
				t.Error("no Chinese text")
			}
		})
	}
}
