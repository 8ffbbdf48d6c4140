package web_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// as serves h with p as the signed-in principal (nil: anonymous).
func as(p *access.Principal, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p != nil {
			r = r.WithContext(access.With(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	})
}

// call sends one request through h and returns the recorded answer.
func call(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

// problemOf decodes a problem+json answer, failing unless it is one.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) web.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
		t.Fatalf("Content-Type %q, want problem+json", ct)
	}
	var p web.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	return p
}

func mustPanic(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	fn()
}

var worker = &access.Principal{UserID: "u1", Username: "wang", Role: access.CommunityWorker, Division: "330106002051"}

func TestRouterRegistration(t *testing.T) {
	t.Parallel()
	ok := func(w http.ResponseWriter, r *http.Request) error { return nil }
	t.Run("an API route cannot be registered as public", func(t *testing.T) {
		mustPanic(t, func() { web.NewRouter().Public("GET /api/v1/x", func(http.ResponseWriter, *http.Request) {}) })
	})
	t.Run("an API route needs its prefix and a summary", func(t *testing.T) {
		mustPanic(t, func() { web.NewRouter().API("GET /v1/x", web.Op{Summary: "x"}, ok) })
		mustPanic(t, func() { web.NewRouter().API("GET /api/v1/x", web.Op{}, ok) })
	})
	t.Run("routes are listed sorted and each is wrapped with its pattern", func(t *testing.T) {
		rt := web.NewRouter()
		var wrapped []string
		rt.Wrap = func(pattern string, h http.Handler) http.Handler {
			wrapped = append(wrapped, pattern)
			return h
		}
		rt.API("POST /api/v1/b", web.Op{Summary: "b"}, ok)
		rt.API("GET /api/v1/a", web.Op{Summary: "a"}, ok)
		rt.Public("GET /healthz", func(http.ResponseWriter, *http.Request) {})
		if got, want := rt.Routes(), []string{"GET /api/v1/a", "POST /api/v1/b"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Routes() = %v, want %v", got, want)
		}
		if want := []string{"POST /api/v1/b", "GET /api/v1/a", "GET /healthz"}; !reflect.DeepEqual(wrapped, want) {
			t.Errorf("wrapped %v, want %v", wrapped, want)
		}
	})
}

func TestAPIAccess(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	ran := 0
	count := func(w http.ResponseWriter, r *http.Request) error { ran++; w.WriteHeader(204); return nil }
	rt.API("GET /api/v1/closed", web.Op{Summary: "closed"}, count)
	rt.API("GET /api/v1/open", web.Op{Summary: "open", Public: true}, count)
	rt.API("GET /api/v1/me", web.Op{Summary: "me", AllowPending: true}, count)
	rt.API("GET /api/v1/conflict", web.Op{Summary: "conflict"}, func(http.ResponseWriter, *http.Request) error {
		return fault.Conflict(fault.M("版本已变", "stale version"))
	})
	rt.API("GET /api/v1/broken", web.Op{Summary: "broken"}, func(http.ResponseWriter, *http.Request) error {
		return errors.New("pq: secret table details")
	})
	pending := &access.Principal{Username: "admin", Role: access.SysAdmin, Division: "33", Pending: "password"}

	t.Run("anonymous callers get 401 with a bearer challenge", func(t *testing.T) {
		w := call(as(nil, rt), "GET", "/api/v1/closed")
		p := problemOf(t, w)
		if w.Code != 401 || p.Status != 401 || p.Detail != "请先登录" || p.DetailEN != "authentication required" || p.Instance != "/api/v1/closed" {
			t.Errorf("got %d %+v", w.Code, p)
		}
		if h := w.Header().Get("WWW-Authenticate"); h != `Bearer realm="linli"` {
			t.Errorf("WWW-Authenticate %q", h)
		}
	})
	t.Run("public operations need no principal", func(t *testing.T) {
		if w := call(as(nil, rt), "GET", "/api/v1/open"); w.Code != 204 {
			t.Errorf("got %d", w.Code)
		}
	})
	t.Run("a pending step blocks every operation but those allowed", func(t *testing.T) {
		if w := call(as(pending, rt), "GET", "/api/v1/closed"); w.Code != 403 || problemOf(t, w).Status != 403 {
			t.Errorf("closed: %d", w.Code)
		}
		if w := call(as(pending, rt), "GET", "/api/v1/me"); w.Code != 204 {
			t.Errorf("allowed: %d", w.Code)
		}
	})
	t.Run("a refusal becomes its status and message", func(t *testing.T) {
		w := call(as(worker, rt), "GET", "/api/v1/conflict")
		if p := problemOf(t, w); w.Code != 409 || p.Title != "Conflict" || p.DetailEN != "stale version" {
			t.Errorf("got %d %+v", w.Code, p)
		}
	})
	t.Run("any other error is a 500 that reveals nothing", func(t *testing.T) {
		w := call(as(worker, rt), "GET", "/api/v1/broken")
		if p := problemOf(t, w); w.Code != 500 || p.DetailEN != "internal server error, please try again later" {
			t.Errorf("got %d %+v", w.Code, p)
		}
	})
	t.Run("a token calls only the operations of its scope", func(t *testing.T) {
		reader := &access.Principal{Username: "hotline", Role: access.CommunityWorker, Division: "330106002051", TokenID: "t1", Scope: "read"}
		named := &access.Principal{Username: "hotline", Role: access.CommunityWorker, Division: "330106002051", TokenID: "t2", Scope: "GET /api/v1/me"}
		for _, k := range []struct {
			p    *access.Principal
			path string
			want int
		}{{reader, "/api/v1/me", 204}, {named, "/api/v1/me", 204}, {named, "/api/v1/closed", 403}} {
			w := call(as(k.p, rt), "GET", k.path)
			if w.Code != k.want {
				t.Errorf("%s %s: %d, want %d", k.p.Scope, k.path, w.Code, k.want)
			}
			if k.want == 403 && problemOf(t, w).DetailEN != "the API token's scope does not include this operation" {
				t.Errorf("refusal %+v", problemOf(t, w))
			}
		}
	})
	if ran != 4 {
		t.Errorf("handlers ran %d times, want 4 (open, me, and me twice by token)", ran)
	}
}

func TestPageAccess(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	for _, path := range []string{"/reports", "/account/password", "/account/totp", "/logout"} {
		rt.Page("GET "+path, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	}
	for _, k := range []struct {
		name     string
		p        *access.Principal
		path     string
		status   int
		location string
	}{
		{"anonymous visitors are sent to sign in and back", nil, "/reports?year=2025", 303, "/login?next=%2Freports%3Fyear%3D2025"},
		{"a one-time password is changed first", &access.Principal{Role: access.Officer, Pending: "password"}, "/reports", 303, "/account/password"},
		{"a required second factor is enrolled first", &access.Principal{Role: access.Officer, Pending: "totp"}, "/reports", 303, "/account/totp"},
		{"the pending step's own page opens", &access.Principal{Role: access.Officer, Pending: "totp"}, "/account/totp", 200, ""},
		{"signing out is always possible", &access.Principal{Role: access.Officer, Pending: "password"}, "/logout", 200, ""},
		{"a signed-in user sees the page", worker, "/reports", 200, ""},
	} {
		t.Run(k.name, func(t *testing.T) {
			w := call(as(k.p, rt), "GET", k.path)
			if w.Code != k.status || w.Header().Get("Location") != k.location {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), k.status, k.location)
			}
		})
	}
	t.Run("an unknown step has no page and allows only signing out", func(t *testing.T) {
		if web.PendingPath("sms") != "" || web.PendingAllowed("sms", "") || !web.PendingAllowed("sms", "/logout") {
			t.Error("unknown step treated as known")
		}
	})
}

type body struct {
	Name    string            `json:"name"`
	Note    string            `json:"note,omitempty"`
	Due     *time.Time        `json:"due"`
	Tags    []string          `json:"tags"`
	Counts  map[string]int    `json:"counts"`
	Secret  string            `json:"-"`
	private int               // unexported: not in the schema
	Extra   map[string]string `json:"extra,omitempty"`
	embedded
}

type embedded struct {
	Level float64 `json:"level"`
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	nop := func(http.ResponseWriter, *http.Request) error { return nil }
	rt.API("GET /api/v1/divisions/{code}/children", web.Op{Summary: "children", Tag: "divisions",
		Params: []web.Param{{Name: "page", Type: "integer"}}, Response: web.List[body]{}}, nop)
	rt.API("POST /api/v1/things", web.Op{Summary: "create", Body: body{private: 1}, Response: body{}, Status: 201, Public: true}, nop)
	rt.API("POST /api/v1/imports", web.Op{Summary: "import", Accepts: []string{"text/csv"}, Response: report{}, Report: report{}}, nop)
	rt.API("GET /api/v1/exports", web.Op{Summary: "export", Produces: []string{"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}}, nop)
	b, err := json.Marshal(rt.OpenAPI("1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	type schema struct {
		Type        any               `json:"type"`
		Required    []string          `json:"required"`
		Format      string            `json:"format"`
		Description string            `json:"description"`
		Properties  map[string]schema `json:"properties"`
		Items       *schema           `json:"items"`
		Additional  *schema           `json:"additionalProperties"`
	}
	type param struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
		Schema   schema `json:"schema"`
	}
	type content map[string]struct {
		Schema schema `json:"schema"`
	}
	type op struct {
		OperationID string   `json:"operationId"`
		Tags        []string `json:"tags"`
		Parameters  []param  `json:"parameters"`
		Security    *[]any   `json:"security"`
		RequestBody *struct {
			Content content `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Description string  `json:"description"`
			Content     content `json:"content"`
		} `json:"responses"`
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Version string `json:"version"`
		} `json:"info"`
		Paths      map[string]map[string]op `json:"paths"`
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	t.Run("the document names its version and the problem schema", func(t *testing.T) {
		if doc.OpenAPI != "3.1.0" || doc.Info.Version != "1.2.3" || doc.Components.Schemas["Problem"].Properties["detail_en"].Type != "string" {
			t.Errorf("header %+v", doc)
		}
	})
	t.Run("path and query parameters are documented", func(t *testing.T) {
		get := doc.Paths["/api/v1/divisions/{code}/children"]["get"]
		want := []param{{Name: "code", In: "path", Required: true, Schema: schema{Type: "string"}}, {Name: "page", In: "query", Schema: schema{Type: "integer"}}}
		for i := range get.Parameters {
			get.Parameters[i].Schema.Type = fmt.Sprint(get.Parameters[i].Schema.Type)
		}
		if !reflect.DeepEqual(get.Parameters, want) || get.OperationID != "getDivisionsCodeChildren" || !reflect.DeepEqual(get.Tags, []string{"divisions"}) {
			t.Errorf("get %+v", get)
		}
		if get.Security != nil {
			t.Error("a closed operation declares no security override")
		}
	})
	t.Run("bodies and responses follow the json tags", func(t *testing.T) {
		post := doc.Paths["/api/v1/things"]["post"]
		if post.Security == nil || len(*post.Security) != 0 {
			t.Errorf("a public operation needs an empty security list: %v", post.Security)
		}
		if _, ok := post.Responses["201"]; !ok {
			t.Errorf("responses %v lack 201", post.Responses)
		}
		props := post.RequestBody.Content["application/json"].Schema.Properties
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		if len(props) != 7 {
			t.Errorf("properties %v, want name note due tags counts extra level", names)
		}
		checks := map[string]schema{
			"name":   {Type: "string"},
			"note":   {Type: "string", Description: "optional"},
			"due":    {Type: []any{"string", "null"}, Format: "date-time", Description: "optional"},
			"tags":   {Type: "array", Items: &schema{Type: "string"}},
			"counts": {Type: "object", Additional: &schema{Type: "integer"}},
			"level":  {Type: "number"},
		}
		for n, want := range checks {
			if got := props[n]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %+v, want %+v", n, got, want)
			}
		}
		list := doc.Paths["/api/v1/divisions/{code}/children"]["get"].Responses["200"].Content["application/json"].Schema
		if list.Properties["items"].Items == nil || list.Properties["items"].Items.Properties["name"].Type != "string" || list.Properties["total"].Type != "integer" {
			t.Errorf("list schema %+v", list)
		}
	})
	t.Run("an answer requires every member that is never omitted", func(t *testing.T) {
		answer := doc.Paths["/api/v1/things"]["post"].Responses["201"].Content["application/json"].Schema
		if want := []string{"counts", "due", "level", "name", "tags"}; !reflect.DeepEqual(answer.Required, want) {
			t.Errorf("required %v, want %v", answer.Required, want)
		}
		list := doc.Paths["/api/v1/divisions/{code}/children"]["get"].Responses["200"].Content["application/json"].Schema
		if want := []string{"items", "page", "page_size", "total"}; !reflect.DeepEqual(list.Required, want) {
			t.Errorf("list required %v", list.Required)
		}
	})
	t.Run("a request body requires nothing: its operation's checks do", func(t *testing.T) {
		if req := doc.Paths["/api/v1/things"]["post"].RequestBody.Content["application/json"].Schema.Required; req != nil {
			t.Errorf("required %v", req)
		}
	})
	t.Run("file bodies and answers name their media types", func(t *testing.T) {
		imp := doc.Paths["/api/v1/imports"]["post"]
		if got := imp.RequestBody.Content["text/csv"].Schema; got.Type != "string" || got.Format != "binary" || len(imp.RequestBody.Content) != 1 {
			t.Errorf("import body %+v", imp.RequestBody.Content)
		}
		exp := doc.Paths["/api/v1/exports"]["get"].Responses["200"].Content
		if len(exp) != 2 || exp["text/csv"].Schema.Format != "binary" || exp["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"].Schema.Format != "binary" {
			t.Errorf("export answers %+v", exp)
		}
	})
	t.Run("a refusal with a report documents the report", func(t *testing.T) {
		var raw struct {
			Paths map[string]map[string]struct {
				Responses map[string]struct {
					Description string `json:"description"`
					Content     map[string]struct {
						Schema struct {
							AllOf []struct {
								Ref        string            `json:"$ref"`
								Properties map[string]schema `json:"properties"`
							} `json:"allOf"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"responses"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		r422 := raw.Paths["/api/v1/imports"]["post"].Responses["422"]
		all := r422.Content["application/problem+json"].Schema.AllOf
		if len(all) != 2 || all[0].Ref != "#/components/schemas/Problem" || all[1].Properties["report"].Properties["rows"].Type != "integer" || r422.Description == "" {
			t.Errorf("422 %+v", r422)
		}
	})
	t.Run("success descriptions use RFC 9110 phrases", func(t *testing.T) {
		if d := doc.Paths["/api/v1/things"]["post"].Responses["201"].Description; d != "Created" {
			t.Errorf("description %q", d)
		}
	})
}

type report struct {
	Rows   int      `json:"rows"`
	Errors []string `json:"errors,omitempty"`
}

func TestAPIRootAnswersProblems(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	nop := func(w http.ResponseWriter, r *http.Request) error { w.WriteHeader(204); return nil }
	rt.API("GET /api/v1/things", web.Op{Summary: "list", Public: true}, nop)
	rt.API("POST /api/v1/things", web.Op{Summary: "add", Public: true}, nop)
	rt.API("DELETE /api/v1/things/{id}", web.Op{Summary: "remove", Public: true}, nop)
	rt.Public("GET /page", func(w http.ResponseWriter, r *http.Request) {})
	for _, k := range []struct {
		name, method, path string
		status             int
		title, allow       string
	}{
		{"an unknown operation is a 404 problem", "GET", "/api/v1/nothing", 404, "Not Found", ""},
		{"so is a path below a known one", "GET", "/api/v1/things/x/y", 404, "Not Found", ""},
		{"a method a path does not take is a 405 problem naming those it does", "PUT", "/api/v1/things", 405, "Method Not Allowed", "GET, HEAD, POST"},
		{"likewise for an item", "GET", "/api/v1/things/7", 405, "Method Not Allowed", "DELETE"},
	} {
		t.Run(k.name, func(t *testing.T) {
			w := call(rt, k.method, k.path)
			p := problemOf(t, w)
			if w.Code != k.status || p.Status != k.status || p.Title != k.title || p.Instance != k.path || w.Header().Get("Allow") != k.allow || p.DetailEN == "" {
				t.Errorf("got %d %+v Allow %q", w.Code, p, w.Header().Get("Allow"))
			}
		})
	}
	t.Run("outside the API a missing page stays the plain 404", func(t *testing.T) {
		if w := call(rt, "GET", "/nowhere"); w.Code != 404 || w.Header().Get("Content-Type") == "application/problem+json; charset=utf-8" {
			t.Errorf("got %d %s", w.Code, w.Header().Get("Content-Type"))
		}
	})
	t.Run("known operations still answer", func(t *testing.T) {
		if w := call(rt, "DELETE", "/api/v1/things/7"); w.Code != 204 {
			t.Errorf("got %d", w.Code)
		}
	})
}

func TestAliasServesTheSuccessor(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter()
	rt.API("PUT /api/v1/request-services/{code}", web.Op{Summary: "edit", Public: true}, func(w http.ResponseWriter, r *http.Request) error {
		w.Write([]byte(r.PathValue("code")))
		return nil
	})
	rt.Alias("PUT /api/v1/requests/services/{code}", "PUT /api/v1/request-services/{code}")
	w := call(rt, "PUT", "/api/v1/requests/services/lift%20retrofit")
	if w.Code != 200 || w.Body.String() != "lift retrofit" {
		t.Errorf("got %d %q", w.Code, w.Body)
	}
	if w.Header().Get("Deprecation") != "@1796083200" || w.Header().Get("Link") != `</api/v1/request-services/lift%20retrofit>; rel="successor-version"` {
		t.Errorf("headers %v", w.Header())
	}
	t.Run("the alias is served, not documented", func(t *testing.T) {
		if got := rt.Routes(); !reflect.DeepEqual(got, []string{"PUT /api/v1/request-services/{code}"}) {
			t.Errorf("routes %v", got)
		}
	})
	t.Run("an alias of nothing is a programming error", func(t *testing.T) {
		mustPanic(t, func() { rt.Alias("GET /api/v1/old", "GET /api/v1/none") })
	})
}

func TestProblemTitlesFollowRFC9110(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{413: "Content Too Large", 422: "Unprocessable Content", 414: "URI Too Long", 416: "Range Not Satisfiable", 404: "Not Found", 409: "Conflict"} {
		if got := web.StatusTitle(code); got != want {
			t.Errorf("%d: %q, want %q", code, got, want)
		}
	}
	w := httptest.NewRecorder()
	web.WriteProblem(w, httptest.NewRequest("POST", "/api/v1/x", nil), fault.Unprocessable(fault.M("文件有错误", "the file has errors")))
	if p := problemOf(t, w); p.Title != "Unprocessable Content" {
		t.Errorf("title %q", p.Title)
	}
}
