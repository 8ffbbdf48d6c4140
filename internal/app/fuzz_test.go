package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/web"
)

// fuzzTarget is one app the fuzzer sends to, over one store, with a
// signed-in officer and account administrator.
type fuzzTarget struct {
	name              string
	h                 http.Handler
	officer, admin    string // session cookies
	household         string // a household of the officer's county
	service, facility string // a request category and a facility category
}

// fuzzOp is one operation that takes a body: its JSON schema, or nil for
// a file body (imports).
type fuzzOp struct {
	method, path string
	schema       map[string]any
	leaves       []string
}

// newFuzzTarget wires an app over a fresh store of the dialect and signs
// the two accounts in.
func newFuzzTarget(f *testing.F, dialect db.Dialect) *fuzzTarget {
	a := apptest.Open(f, dbtest.Open(f, dialect, nil), nil)
	ft := &fuzzTarget{name: string(dialect), h: a.Handler()}
	op := access.With(context.Background(), access.Operator())
	for _, u := range []auth.NewUser{{Username: "county", Role: access.Officer, Division: apptest.County, Password: apptest.Password},
		{Username: "admin2", Role: access.SysAdmin, Division: "33", Password: apptest.Password}} {
		if _, _, err := a.Auth.Create(op, u); err != nil {
			f.Fatal(err)
		}
	}
	ft.officer, ft.admin = ft.login(f, "county"), ft.login(f, "admin2")
	var hh struct{ ID string }
	ft.decode(f, ft.do("POST", "/api/v1/households", ft.officer, mustJSON(f, map[string]string{"division": apptest.CommunityA, "household_no": "F-1", "address": "西湖路 1 号"})), &hh)
	var services []struct{ Code string }
	ft.decode(f, ft.do("GET", "/api/v1/request-services", "", nil), &services)
	var cats []struct{ Key string }
	ft.decode(f, ft.do("GET", "/api/v1/facility-categories", ft.officer, nil), &cats)
	if hh.ID == "" || len(services) == 0 || len(cats) == 0 {
		f.Fatalf("%s: no household, service or facility category to fill bodies with", dialect)
	}
	ft.household, ft.service, ft.facility = hh.ID, services[0].Code, cats[0].Key
	return ft
}

func (ft *fuzzTarget) login(f *testing.F, user string) string {
	w := ft.do("POST", "/api/v1/session", "", mustJSON(f, map[string]string{"username": user, "password": apptest.Password}))
	for _, c := range w.Result().Cookies() {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	f.Fatalf("%s: %s cannot sign in: %d %s", ft.name, user, w.Code, w.Body)
	return ""
}

// do sends one request as the holder of the session cookie ("" for none).
func (ft *fuzzTarget) do(method, path, session string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
	}
	w := httptest.NewRecorder()
	ft.h.ServeHTTP(w, r)
	return w
}

func (ft *fuzzTarget) decode(f *testing.F, w *httptest.ResponseRecorder, v any) {
	if w.Code >= 300 {
		f.Fatalf("%s: %d %s", ft.name, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		f.Fatal(err)
	}
}

// plain is the value a body gets at a leaf that is not fuzzed: one that
// passes the operation's checks where the field's name tells what it is,
// so that the fuzzed string travels as far as it can.
func (ft *fuzzTarget) plain(op fuzzOp, path string) any {
	name := path[strings.LastIndexAny(path, ".]")+1:]
	switch name {
	case "division", "division_code":
		return apptest.CommunityA
	case "lon":
		return 120.13
	case "lat":
		return 30.26
	case "username":
		return "county"
	case "password":
		return apptest.Password
	case "phone":
		return "13800000000"
	case "birth_date":
		return "1990-01-01"
	case "household_id":
		return ft.household
	case "role":
		return "community_worker"
	case "category":
		if strings.HasPrefix(op.path, "/api/v1/requests") {
			return ft.service
		}
		return ft.facility
	}
	return nil
}

// body builds op's JSON body with s, raw (invalid UTF-8 stays invalid,
// control characters are escaped as JSON demands), at the chosen leaf.
func (ft *fuzzTarget) body(t *testing.T, op fuzzOp, leaf int, s string) []byte {
	const marker = "\u0001fuzz\u0001"
	target := ""
	if len(op.leaves) > 0 {
		target = op.leaves[leaf%len(op.leaves)]
	}
	v := fuzzSample(op.schema, "", target, marker, func(path string) any { return ft.plain(op, path) })
	return bytes.Replace(mustJSON(t, v), mustJSON(t, marker), rawJSONString(s), 1)
}

// fuzzSample is sample with the plain values of plain where it has one.
func fuzzSample(s map[string]any, path, target, bad string, plain func(string) any) any {
	if path != target {
		if v := plain(path); v != nil {
			return v
		}
	}
	switch typeOf(s) {
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{fuzzSample(items, path+"[0]", target, bad, plain)}
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for n, p := range props {
			out[n] = fuzzSample(p.(map[string]any), join(path, n), target, bad, plain)
		}
		if extra, ok := s["additionalProperties"].(map[string]any); ok {
			key := "k"
			if target == path+"{}" {
				key = bad
			}
			out[key] = fuzzSample(extra, join(path, "k"), target, bad, plain)
		}
		return out
	}
	return sample(s, path, target, bad)
}

// rawJSONString quotes s for JSON without repairing it: bytes that are not
// UTF-8 are left as they are.
func rawJSONString(s string) []byte {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// fileBody is a file for an import operation with s in a free-text
// column, so that it travels as far as the file's rows go.
func fileBody(path, s string) []byte {
	switch path {
	case "/api/v1/registry/import/{kind}":
		return []byte("区划代码,户编号,地址\n" + apptest.CommunityA + ",HH-F," + s + "\n")
	case "/api/v1/unit-data/import":
		return []byte("division_code,designation,year,note\n" + apptest.CommunityA + ",future_community,2024," + s + "\n")
	case "/api/v1/indicator-reports/import":
		return []byte("区划代码,年份,名称\n" + apptest.CommunityA + ",2026," + s + "\n")
	}
	return []byte("division_code,name\n" + apptest.CommunityA + "," + s + "\n")
}

// fuzzOps lists the operations that take a body, from the live document.
func fuzzOps(f *testing.F, ft *fuzzTarget) []fuzzOp {
	var doc openAPI
	ft.decode(f, ft.do("GET", "/api/v1/openapi.json", "", nil), &doc)
	var ops []fuzzOp
	for path, items := range doc.Paths {
		for m, o := range items {
			if o.RequestBody == nil {
				continue
			}
			op := fuzzOp{method: strings.ToUpper(m), path: path}
			if c, ok := o.RequestBody.Content["application/json"]; ok {
				op.schema, op.leaves = c.Schema, stringLeaves(c.Schema, "")
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

// FuzzCreateEndpoints sends strings with NUL, invalid UTF-8 and control
// characters in every string of every operation that takes a body (and as
// the content of every file import), on every store, and fails on any 5xx.
func FuzzCreateEndpoints(f *testing.F) {
	targets := []*fuzzTarget{}
	for _, d := range dbtest.Dialects() {
		targets = append(targets, newFuzzTarget(f, d))
	}
	ops := fuzzOps(f, targets[0])
	if len(ops) < 30 {
		f.Fatalf("only %d operations take a body", len(ops))
	}
	// The seeds: a NUL in every string, and one of the other kinds of bad
	// text in turn.
	others := []string{"\xff\xfe", "a\x1b[31mb", "\xed\xa0\x80", "ok\r", "\u0085", "\u2028\u202e", "plain"}
	n := 0
	for i, op := range ops {
		for leaf := range max(1, len(op.leaves)) {
			f.Add(uint8(i), uint8(leaf), "a\x00b")
			f.Add(uint8(i), uint8(leaf), others[n%len(others)])
			n++
		}
	}
	f.Fuzz(func(t *testing.T, opIndex, leaf uint8, s string) {
		op := ops[int(opIndex)%len(ops)]
		path, body := fill(op.path), fileBody(op.path, s)
		if op.path == "/api/v1/registry/import/{kind}" {
			path = "/api/v1/registry/import/households?apply=true"
		}
		for _, ft := range targets {
			session := ft.officer
			if strings.HasPrefix(op.path, "/api/v1/users") {
				session = ft.admin
			}
			if op.schema != nil {
				body = ft.body(t, op, int(leaf), s)
			}
			r := httptest.NewRequest(op.method, path, bytes.NewReader(body))
			if op.schema != nil {
				r.Header.Set("Content-Type", "application/json")
			} else {
				r.Header.Set("Content-Type", "text/csv")
			}
			r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
			w := httptest.NewRecorder()
			ft.h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s: %s %s with %q: %d %s", ft.name, op.method, op.path, body, w.Code, w.Body)
			}
		}
	})
}
