package keyset_test

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/secret"
)

func TestCursor(t *testing.T) {
	t.Parallel()
	keys, _, err := secret.Load("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := keyset.Seal(keys, "visits/due", "2026-12-01", "42")
	t.Run("a cursor opens to its key for its own list", func(t *testing.T) {
		key, err := keyset.Open(keys, c, "visits/due", 2)
		if err != nil || !reflect.DeepEqual(key, []string{"2026-12-01", "42"}) {
			t.Fatalf("got %v, %v", key, err)
		}
	})
	t.Run("it shows nothing of the key", func(t *testing.T) {
		if strings.Contains(c, "2026") {
			t.Fatalf("the cursor %q shows its key", c)
		}
	})
	t.Run("another list's cursor, a key of another length, a changed or an overlong cursor are refused naming the field", func(t *testing.T) {
		for name, open := range map[string]func() error{
			"another list": func() error { _, err := keyset.Open(keys, c, "visits/high-risk", 2); return err },
			"another size": func() error { _, err := keyset.Open(keys, c, "visits/due", 3); return err },
			"changed":      func() error { _, err := keyset.Open(keys, c[:len(c)-2]+"xy", "visits/due", 2); return err },
			"overlong":     func() error { _, err := keyset.Open(keys, strings.Repeat("a", 1001), "visits/due", 2); return err },
		} {
			err := open()
			e, ok := fault.As(err)
			if !ok || e.Code != fault.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func TestLinksAndPager(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/visits?status=open&cursor=abc&page=1", nil)
	first, next := keyset.Links(r, "abc", "def")
	if first != "/visits?status=open" || next != "/visits?cursor=def&status=open" {
		t.Errorf("links %q, %q", first, next)
	}
	if first, next := keyset.Links(httptest.NewRequest("GET", "/visits", nil), "", ""); first != "" || next != "" {
		t.Errorf("on the only page: %q, %q", first, next)
	}
	if first, next := keyset.LinksBy(httptest.NewRequest("GET", "/audit?actor=wang&before=40", nil), "before", "40", "20"); first != "/audit?actor=wang" || next != "/audit?actor=wang&before=20" {
		t.Errorf("links by before: %q, %q", first, next)
	}
	if p := keyset.Pager("", "/visits?cursor=def", 1000, true, 1000); p.TotalText != "1,000+" || p.Next == "" {
		t.Errorf("capped pager %+v", p)
	}
	if p := keyset.Pager("", "", 12, false, 1000); p.TotalText != "" || p.Total != 12 {
		t.Errorf("exact pager %+v", p)
	}
}
