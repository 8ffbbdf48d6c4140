package access

import "testing"

func TestSubtree(t *testing.T) {
	t.Parallel()
	for prefix, hi := range map[string]string{"33": "34", "3301": "3302", "3309": "3310", "330106": "330107", "330199": "330200", "99": "A", "": "A"} {
		if s := Subtree(prefix); s.Lo != prefix || s.Hi != hi {
			t.Errorf("Subtree(%q) = %+v, want hi %q", prefix, s, hi)
		}
	}
	s := Subtree("3309")
	for code, in := range map[string]bool{"3309": true, "330901001001": true, "3310": false, "330899": false, "3310010": false, "33": false} {
		if s.Contains(code) != in {
			t.Errorf("3309 contains %s: %v", code, !in)
		}
	}
	if BusinessScope(&Principal{Role: Auditor, Division: "33"}).Contains("330106") || BusinessScope(nil).Contains("33") {
		t.Error("admin or anonymous scope holds business rows")
	}
}
