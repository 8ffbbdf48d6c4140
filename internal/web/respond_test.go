package web_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"linli/internal/fault"
	"linli/internal/web"
)

func TestStatusOfEveryCode(t *testing.T) {
	t.Parallel()
	for code, want := range map[fault.Code]int{
		fault.CodeInvalid: 400, fault.CodeNotFound: 404, fault.CodeConflict: 409, fault.CodeForbidden: 403,
		fault.CodeUnprocessable: 422, fault.CodeUnauthenticated: 401, fault.CodeTooLarge: 413,
		fault.CodeUnsupported: 415, fault.CodeTooMany: 429, fault.CodeUnavailable: 503, "made_up": 500,
	} {
		if got := web.Status(fault.New(code, fault.M("x", "x"))); got != want {
			t.Errorf("%s: %d, want %d", code, got, want)
		}
	}
}

func TestWriteProblemCarriesFieldsAndReport(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	e := fault.Unprocessable(fault.M("文件有错误", "the file has errors"), fault.FieldError{Field: "year", Message: "年份", MessageEN: "year", Row: 3})
	e.Detail = map[string]int{"rows": 7}
	web.WriteProblem(w, httptest.NewRequest("POST", "/api/v1/import", nil), e)
	var p struct {
		web.Problem
		Report map[string]int `json:"report"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := []fault.FieldError{{Field: "year", Message: "年份", MessageEN: "year", Row: 3}}
	if w.Code != 422 || p.Status != 422 || !reflect.DeepEqual(p.Errors, want) || p.Report["rows"] != 7 || w.Header().Get("Content-Language") != "zh-CN, en" {
		t.Errorf("got %d %+v", w.Code, p)
	}
}

func TestUnauthenticatedIsFreshEachTime(t *testing.T) {
	t.Parallel()
	a := web.Unauthenticated()
	a.Fields = append(a.Fields, fault.Field("token", fault.M("x", "x")))
	if b := web.Unauthenticated(); len(b.Fields) != 0 || b.Code != fault.CodeUnauthenticated {
		t.Errorf("a change to one refusal leaked into the next: %+v", b)
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	t.Run("a value is written with its status", func(t *testing.T) {
		w := httptest.NewRecorder()
		web.WriteJSON(w, 201, map[string]string{"html": "<b>"})
		var got map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 201 || got["html"] != "<b>" {
			t.Errorf("got %d %v %v", w.Code, got, err)
		}
		if strings.Contains(w.Body.String(), "<b>") {
			t.Error("HTML is not escaped in JSON")
		}
	})
	t.Run("a value that cannot be encoded is a 500, not half a body", func(t *testing.T) {
		w := httptest.NewRecorder()
		web.WriteJSON(w, 200, map[string]float64{"x": math.NaN()})
		if w.Code != 500 || w.Header().Get("Content-Type") == "application/json; charset=utf-8" {
			t.Errorf("got %d %q", w.Code, w.Header().Get("Content-Type"))
		}
	})
}

type input struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	decode := func(contentType, body string, limit int64) (input, error) {
		var v input
		var err error
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { err = web.DecodeJSON(w, r, &v) })
		r := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		var hh http.Handler = h
		if limit > 0 {
			hh = web.LimitJSON(limit, h)
		}
		hh.ServeHTTP(httptest.NewRecorder(), r)
		return v, err
	}
	t.Run("a good body is decoded", func(t *testing.T) {
		v, err := decode("application/json; charset=utf-8", `{"name":"王","age":70}`, 0)
		if err != nil || v != (input{"王", 70}) {
			t.Errorf("got %+v %v", v, err)
		}
	})
	for _, k := range []struct {
		name, ct, body string
		limit          int64
		code           fault.Code
		field          string
	}{
		{"another content type is refused", "text/csv", `{}`, 0, fault.CodeUnsupported, ""},
		{"a body over the limit is refused", "application/json", `{"name":"` + strings.Repeat("x", 64) + `"}`, 32, fault.CodeTooLarge, ""},
		{"malformed JSON is refused", "application/json", `{"name":`, 0, fault.CodeInvalid, ""},
		{"a wrong type names its field", "application/json", `{"age":"seventy"}`, 0, fault.CodeInvalid, "age"},
		{"an empty body is refused", "", ``, 0, fault.CodeInvalid, ""},
		{"an unknown field is named", "application/json", `{"name":"x","bogus":1}`, 0, fault.CodeInvalid, "bogus"},
		{"trailing data is refused", "application/json", `{"name":"x"}{"name":"y"}`, 0, fault.CodeInvalid, ""},
	} {
		t.Run(k.name, func(t *testing.T) {
			_, err := decode(k.ct, k.body, k.limit)
			e, ok := fault.As(err)
			if !ok || e.Code != k.code {
				t.Fatalf("got %v, want %s", err, k.code)
			}
			field := ""
			if len(e.Fields) > 0 {
				field = e.Fields[0].Field
			}
			if field != k.field {
				t.Errorf("field %q, want %q", field, k.field)
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	t.Parallel()
	post := func(body string, max int64) *http.Request {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, max)
		return r
	}
	t.Run("a form is parsed", func(t *testing.T) {
		r := post("a=1&b=%E4%B8%AD", 100)
		if err := web.ParseForm(r); err != nil || r.PostForm.Get("b") != "中" {
			t.Errorf("got %v %v", r.PostForm, err)
		}
	})
	t.Run("a form over the limit is too large", func(t *testing.T) {
		if err := web.ParseForm(post("a="+strings.Repeat("x", 100), 10)); !fault.Is(err, fault.CodeTooLarge) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("a malformed form is invalid", func(t *testing.T) {
		if err := web.ParseForm(post("a=%zz", 100)); !fault.Is(err, fault.CodeInvalid) {
			t.Errorf("got %v", err)
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	parse := func(q string) (web.Pagination, error) {
		return web.ParsePagination(httptest.NewRequest("GET", "/x?"+q, nil))
	}
	t.Run("defaults and offset", func(t *testing.T) {
		p, err := parse("")
		if err != nil || p != (web.Pagination{Page: 1, PageSize: web.DefaultPageSize}) {
			t.Errorf("got %+v %v", p, err)
		}
		if p, _ := parse("page=3&page_size=50"); p.Offset() != 100 {
			t.Errorf("offset %d, want 100", p.Offset())
		}
	})
	for q, field := range map[string]string{"page=0": "page", "page=x": "page", "page=1000001": "page", "page_size=0": "page_size", "page_size=201": "page_size"} {
		t.Run(q+" is refused naming "+field, func(t *testing.T) {
			_, err := parse(q)
			if e, ok := fault.As(err); !ok || e.Code != fault.CodeInvalid || e.Fields[0].Field != field {
				t.Errorf("got %v", err)
			}
		})
	}
	t.Run("a list is never null and counts its pages", func(t *testing.T) {
		l := web.NewList[int](nil, web.Pagination{Page: 2, PageSize: 20}, 41)
		b, err := json.Marshal(l)
		if err != nil || string(b) != `{"items":[],"page":2,"page_size":20,"total":41}` || l.Pages() != 3 {
			t.Errorf("got %s %d %v", b, l.Pages(), err)
		}
		if (web.List[int]{}).Pages() != 0 {
			t.Error("an empty list has pages")
		}
	})
}
