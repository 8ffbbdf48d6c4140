package dbtest

import (
	"testing"

	"linli/internal/fault"
)

// Refusal asserts that err is a refusal of code naming field first ("" for
// none) and returns its English message, for tests of stores and rules.
func Refusal(t testing.TB, err error, code fault.Code, field string) string {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want a %s refusal", err, code)
	}
	got := ""
	if len(e.Fields) > 0 {
		got = e.Fields[0].Field
	}
	if got != field {
		t.Fatalf("field %q, want %q (%v)", got, field, err)
	}
	return e.Msg.EN
}
