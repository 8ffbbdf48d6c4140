package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"linli/internal/fault"
	"linli/internal/web"
)

// blame returns the field a refusal names and its English reason.
func blame(t *testing.T, err error) (string, string) {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Code != fault.CodeInvalid || len(e.Fields) != 1 {
		t.Fatalf("got %v, want one invalid field", err)
	}
	return e.Fields[0].Field, e.Fields[0].MessageEN
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for _, k := range []struct {
		name, body, field, why string
	}{
		{"a clean body passes", `{"a":"x\n","b":[1,"y",{"c":null}],"d":{"e":true}}`, "", ""},
		{"malformed JSON is left to the decoder", `{"a":"\u0000`, "", ""},
		{"a top-level member", `{"name":"a\u0000"}`, "name", "contains a NUL character"},
		{"a member after others", `{"a":1,"b":[2,3],"c":{"d":"x"},"name":"\u0007"}`, "name", "contains the control character U+0007"},
		{"an array element", `{"tags":["ok","ok","\u001b"]}`, "tags[2]", "contains the control character U+001B"},
		{"a nested member", `{"members":[{"name":"ok"},{"name":"ok","roles":["x","\u0000"]}]}`, "members[1].roles[1]", "contains a NUL character"},
		{"an empty array before", `{"a":[],"b":{},"c":"\u0000"}`, "c", "contains a NUL character"},
		{"invalid UTF-8 in raw bytes", "{\"note\":\"a\xffb\"}", "note", "is not valid UTF-8 text"},
		{"a bad key blames its object", `{"values":{"pop\u0000":1}}`, "values", "has a key that contains a NUL character"},
		{"a bad key at the top", `{"x\u0000":1}`, "body", "has a key that contains a NUL character"},
		{"a bare string", `"\u0000"`, "body", "contains a NUL character"},
		{"an array at the top", `["ok","\u0000"]`, "[1]", "contains a NUL character"},
	} {
		t.Run(k.name, func(t *testing.T) {
			err := web.CheckJSON([]byte(k.body))
			if k.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if field, why := blame(t, err); field != k.field || why != k.why {
				t.Errorf("blamed %q (%s), want %q (%s)", field, why, k.field, k.why)
			}
		})
	}
}

func TestCheckValues(t *testing.T) {
	t.Parallel()
	t.Run("clean values pass", func(t *testing.T) {
		if err := web.CheckValues(url.Values{"q": {"王", "a\r\nb"}}); err != nil {
			t.Error(err)
		}
	})
	t.Run("a bad value names its parameter", func(t *testing.T) {
		if field, why := blame(t, web.CheckValues(url.Values{"a": {"ok"}, "q": {"ok", "x\x00"}})); field != "q" || why != "contains a NUL character" {
			t.Errorf("blamed %q %q", field, why)
		}
	})
	t.Run("a bad name is quoted", func(t *testing.T) {
		if field, _ := blame(t, web.CheckValues(url.Values{"q\x00": {"ok"}})); field != `"q\x00"` {
			t.Errorf("blamed %q", field)
		}
	})
}

func TestCleanInput(t *testing.T) {
	t.Parallel()
	var refused error
	var seen string
	h := web.LimitJSON(1024, web.CleanInput(func(w http.ResponseWriter, r *http.Request, err error) {
		refused = err
		w.WriteHeader(400)
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := web.DecodeJSON(w, r, &map[string]any{}); err == nil {
			seen = "json"
		} else {
			seen = r.PostForm.Get("name")
		}
	})))
	send := func(method, target, ctype, body string) *httptest.ResponseRecorder {
		refused, seen = nil, ""
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, k := range []struct {
		name, method, target, ctype, body string
		field                             string
	}{
		{"a bad path", "GET", "/x/%00", "", "", "path"},
		{"a bad query parameter", "GET", "/x?q=%1b", "", "", "q"},
		{"a bad form value", "POST", "/x", "application/x-www-form-urlencoded", "name=a%00", "name"},
		{"a bad JSON string", "POST", "/x", "application/json; charset=utf-8", `{"name":"\u0000"}`, "name"},
	} {
		t.Run(k.name+" is refused before the handler", func(t *testing.T) {
			send(k.method, k.target, k.ctype, k.body)
			if field, _ := blame(t, refused); field != k.field || seen != "" {
				t.Errorf("blamed %q, handler saw %q", field, seen)
			}
		})
	}
	t.Run("the handler finds the form parsed", func(t *testing.T) {
		if send("POST", "/x", "application/x-www-form-urlencoded", "name=%E7%8E%8B"); refused != nil || seen != "王" {
			t.Errorf("refused %v, saw %q", refused, seen)
		}
	})
	t.Run("the handler reads the JSON body unchanged", func(t *testing.T) {
		if send("POST", "/x", "application/json", `{"name":"王\n"}`); refused != nil || seen != "json" {
			t.Errorf("refused %v, saw %q", refused, seen)
		}
	})
	t.Run("a body over the limit is too large", func(t *testing.T) {
		send("POST", "/x", "application/json", `{"name":"`+strings.Repeat("x", 2000)+`"}`)
		if !fault.Is(refused, fault.CodeTooLarge) {
			t.Errorf("got %v", refused)
		}
		send("POST", "/x", "application/x-www-form-urlencoded", "name="+strings.Repeat("x", 2000))
		if !fault.Is(refused, fault.CodeTooLarge) {
			t.Errorf("form: got %v", refused)
		}
	})
	t.Run("other bodies are left to their handlers", func(t *testing.T) {
		if send("POST", "/x", "text/csv", "a\x00b"); refused != nil {
			t.Errorf("refused %v", refused)
		}
	})
	t.Run("DecodeJSON checks a body that came without a content type", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(`{"name":"\u0000"}`))
		if field, _ := blame(t, web.DecodeJSON(httptest.NewRecorder(), r, &map[string]any{})); field != "name" {
			t.Errorf("blamed %q", field)
		}
	})
	t.Run("ParseForm checks what it parses", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/x?page=%00", strings.NewReader("a=1"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if field, _ := blame(t, web.ParseForm(r)); field != "page" {
			t.Errorf("blamed %q", field)
		}
	})
}
