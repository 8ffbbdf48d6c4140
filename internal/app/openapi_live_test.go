package app_test

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/apptest"
	"linli/internal/registry"
)

// conform checks a decoded JSON value against the subset of JSON Schema the
// generator emits (type or a list of types, properties, required, items,
// additionalProperties, format date-time, $ref to components) and returns
// every mismatch by its path. A member an object's properties do not name
// is a mismatch too: the document would be incomplete.
func conform(doc openAPI, s map[string]any, v any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		return conform(doc, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, path)
	}
	if path == "" {
		path = "(answer)"
	}
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	got := jsonType(v)
	if len(types) > 0 && !typeAllowed(types, got) {
		return []string{fmt.Sprintf("%s: %s, schema says %v", path, got, types)}
	}
	var out []string
	switch x := v.(type) {
	case string:
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				out = append(out, fmt.Sprintf("%s: %q is not a date-time", path, x))
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, el := range x {
				out = append(out, conform(doc, items, el, fmt.Sprintf("%s[%d]", path, i))...)
				if len(out) > 5 {
					return out
				}
			}
		}
	case map[string]any:
		props, closed := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, name := range req {
				if _, ok := x[name.(string)]; !ok {
					out = append(out, fmt.Sprintf("%s.%s: required, missing", path, name))
				}
			}
		}
		extra, _ := s["additionalProperties"].(map[string]any)
		names := make([]string, 0, len(x))
		for n := range x {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			switch ps, ok := props[n].(map[string]any); {
			case ok:
				out = append(out, conform(doc, ps, x[n], path+"."+n)...)
			case extra != nil:
				out = append(out, conform(doc, extra, x[n], path+"."+n)...)
			case closed:
				out = append(out, fmt.Sprintf("%s.%s: not in the schema", path, n))
			}
		}
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeAllowed(types []string, got string) bool {
	for _, t := range types {
		if t == got || (t == "number" && got == "integer") {
			return true
		}
	}
	return false
}

// idOf is the id of the first item a list answer holds ("" when none).
func idOf(body string) string {
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return ""
	}
	if m, ok := v.(map[string]any); ok {
		v = m["items"]
	}
	if list, ok := v.([]any); ok && len(list) > 0 {
		if m, ok := list[0].(map[string]any); ok {
			id, _ := m["id"].(string)
			return id
		}
	}
	return ""
}

func TestDocumentedGETsMatchSchemas(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		accounts, err := e.App.SeedDemo(t.Context(), app.DemoOptions{Scale: "community"})
		if err != nil {
			t.Fatal(err)
		}
		e.User("admin2", access.SysAdmin, "33")
		// Each operation is asked by the first of these roles it answers.
		var callers []*apptest.Client
		for _, want := range []string{"demo.officer", "demo.worker", "demo.grid", "demo.resident", "demo.auditor", "demo.provider"} {
			for _, a := range accounts {
				if a.Username == want {
					c := e.Client()
					if st, body := c.Do("POST", "/api/v1/session", map[string]string{"username": a.Username, "password": a.Password}); st != 200 {
						t.Fatalf("%s: %d %s", a.Username, st, body)
					}
					callers = append(callers, c)
				}
			}
		}
		callers = append(callers, e.Login("admin2"))
		// A ready export job of the officer's, so that the job paths have
		// an id and a file: the bound is lowered for the one export that
		// queues it, and the worker makes it.
		reg := registry.StoreOf(e.App.Module("registry"))
		reg.AsyncRows = 1
		if st, body := callers[0].Do("GET", "/api/v1/registry/export/residents?format=csv", nil); st != 202 {
			t.Fatalf("export above the bound: %d %.300s", st, body)
		}
		reg.AsyncRows = 0
		if n, err := reg.RunExportJobs(t.Context()); err != nil || n != 1 {
			t.Fatalf("export job: %d %v", n, err)
		}
		// The first visit the officer lists has a photo, so that the
		// photo's path answers (as one recorded before photos were sealed).
		if st, body := callers[0].Do("GET", "/api/v1/visits", nil); st != 200 || idOf(body) == "" {
			t.Fatalf("visits: %d", st)
		} else if _, err := e.App.DB.W.Exec(`UPDATE vis_visits SET photo = $1, photo_type = 'image/png', photo_sealed = FALSE WHERE id = $2`,
			[]byte("\x89PNG\r\n\x1a\n"), idOf(body)); err != nil {
			t.Fatal(err)
		}
		// An emergency shelter, which a community-scale demo may lack.
		var community string
		if err := e.App.DB.R.QueryRow(`SELECT division_code FROM users WHERE username = 'demo.worker'`).Scan(&community); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.CreateFacility(access.With(t.Context(), &access.Principal{Username: "demo.worker", Role: access.CommunityWorker, Division: community}),
			registry.FacilityInput{Division: community, Code: "OPENAPI-SH", Name: "应急避难场所", Category: "emergency_shelter", Address: "社区广场",
				Lon: 120.13, Lat: 30.27, FloorArea: 3000, Capacities: map[string]float64{"people": 800}, Status: "open"}); err != nil {
			t.Fatal(err)
		}
		doc, eps := documented(t, e)
		values := map[string]string{"{code}": apptest.County, "{username}": "demo.officer", "{kind}": "residents", "{community}": community}
		query := map[string]string{"q": "西湖", "lon": "120.13", "lat": "30.26", "radius_m": "2000", "division": apptest.County,
			"branch": "西湖区机关党委", "from": "2026-01-01", "to": "2026-11-30", "year": "2026"}
		// Where a path's ids have no list of their own above them.
		idsFrom := map[string]string{"/api/v1/comments": "/api/v1/comment-queue"}
		checked, total := 0, 0
		for _, ep := range eps {
			if ep.Method != "GET" {
				continue
			}
			total++
			t.Run(ep.Path, func(t *testing.T) {
				// The path as far as its parameters are filled, so that a
				// second id comes from the list under the first.
				filled := ep.Path
				path := regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllStringFunc(ep.Path, func(param string) string {
					if v, ok := values[param]; ok {
						filled = strings.Replace(filled, param, v, 1)
						return v
					}
					// An id comes from the list the path is under.
					list := filled[:strings.Index(filled, param)-1]
					if from, ok := idsFrom[list]; ok {
						list = from
					}
					for _, c := range callers {
						if st, body := c.Do("GET", list, nil); st == 200 && idOf(body) != "" {
							filled = strings.Replace(filled, param, idOf(body), 1)
							return idOf(body)
						}
					}
					t.Fatalf("no id for %s from %s", param, list)
					return ""
				})
				q := url.Values{}
				for _, p := range ep.Op.Parameters {
					if p.In == "query" && p.Required {
						q.Set(p.Name, query[p.Name])
					}
				}
				if len(q) > 0 {
					path += "?" + q.Encode()
				}
				for _, c := range callers {
					st, body, hdr := c.Get(path)
					if st >= 300 {
						continue
					}
					res, ok := ep.Op.Responses[fmt.Sprint(st)]
					media, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
					content, documented := res.Content[media]
					if !ok || !documented {
						t.Fatalf("%d %s is not documented: %v", st, media, res.Content)
					}
					if media == "application/json" {
						var v any
						if err := json.Unmarshal([]byte(body), &v); err != nil {
							t.Fatal(err)
						}
						if bad := conform(doc, content.Schema, v, ""); len(bad) > 0 {
							t.Fatalf("answer does not match its schema:\n%s", strings.Join(bad, "\n"))
						}
					}
					checked++
					return
				}
				t.Errorf("no role got an answer")
			})
		}
		t.Logf("%d of %d documented GETs answered and matched their schemas", checked, total)
		if checked != total {
			t.Errorf("%d of %d documented GETs match", checked, total)
		}
	})
}

// ambiguous tells whether one URL could match both templated paths with
// neither the more concrete (OpenAPI matches concrete segments first).
func ambiguous(p, q string) bool {
	ps, qs := strings.Split(p, "/"), strings.Split(q, "/")
	if p == q || len(ps) != len(qs) {
		return false
	}
	tmpl := func(seg string) bool { return strings.HasPrefix(seg, "{") }
	pFirst, qFirst := false, false
	for i := range ps {
		switch {
		case ps[i] == qs[i]:
		case tmpl(ps[i]) && tmpl(qs[i]):
		case tmpl(ps[i]):
			qFirst = true
		case tmpl(qs[i]):
			pFirst = true
		default:
			return false // two different literals: no URL matches both
		}
	}
	return pFirst == qFirst
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		var raw map[string]any
		if err := json.Unmarshal([]byte(mustGet(t, e, "/api/v1/openapi.json")), &raw); err != nil {
			t.Fatal(err)
		}
		_, eps := documented(t, e)
		t.Run("no two paths match one URL ambiguously", func(t *testing.T) {
			paths := map[string]bool{}
			for _, ep := range eps {
				paths[ep.Path] = true
			}
			for p := range paths {
				for q := range paths {
					if p < q && ambiguous(p, q) {
						t.Errorf("%s and %s both match one URL", p, q)
					}
				}
			}
		})
		t.Run("operation ids are unique and every path parameter is declared", func(t *testing.T) {
			ids := map[string]string{}
			for _, ep := range eps {
				if other, dup := ids[ep.Op.OperationID]; dup {
					t.Errorf("%s %s and %s share the id %s", ep.Method, ep.Path, other, ep.Op.OperationID)
				}
				ids[ep.Op.OperationID] = ep.Method + " " + ep.Path
				declared := map[string]bool{}
				for _, p := range ep.Op.Parameters {
					if p.In == "path" && p.Required {
						declared[p.Name] = true
					}
				}
				for _, m := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(ep.Path, -1) {
					if !declared[m[1]] {
						t.Errorf("%s %s: path parameter %s is not declared", ep.Method, ep.Path, m[1])
					}
				}
			}
		})
		t.Run("every reference resolves", func(t *testing.T) {
			var walk func(v any, at string)
			walk = func(v any, at string) {
				switch x := v.(type) {
				case map[string]any:
					if ref, ok := x["$ref"].(string); ok {
						name, local := strings.CutPrefix(ref, "#/components/schemas/")
						schemas := raw["components"].(map[string]any)["schemas"].(map[string]any)
						if _, found := schemas[name]; !local || !found {
							t.Errorf("%s: %s does not resolve", at, ref)
						}
					}
					for k, el := range x {
						walk(el, at+"/"+k)
					}
				case []any:
					for i, el := range x {
						walk(el, fmt.Sprintf("%s/%d", at, i))
					}
				}
			}
			walk(raw, "#")
		})
		t.Run("every operation documents its answers, problems included", func(t *testing.T) {
			for _, ep := range eps {
				if _, ok := ep.Op.Responses["4XX"].Content["application/problem+json"]; !ok {
					t.Errorf("%s %s: no problem answer", ep.Method, ep.Path)
				}
				if ep.Op.RequestBody != nil && len(ep.Op.RequestBody.Content) == 0 {
					t.Errorf("%s %s: a body without a media type", ep.Method, ep.Path)
				}
			}
		})
		t.Run("every operation that takes or gives a file says its media types", func(t *testing.T) {
			for _, path := range []string{"/api/v1/indicator-reports/import", "/api/v1/unit-data/import", "/api/v1/registry/import/{kind}"} {
				for _, ep := range eps {
					if ep.Path == path && ep.Method == "POST" {
						if ep.Op.RequestBody == nil {
							t.Errorf("%s documents no body", path)
						} else if _, ok := ep.Op.RequestBody.Content["text/csv"]; !ok {
							t.Errorf("%s takes no CSV", path)
						}
						if _, ok := ep.Op.Responses["422"]; !ok {
							t.Errorf("%s documents no 422 report", path)
						}
					}
				}
			}
		})
	})
}

// mustGet reads a page that must answer 200.
func mustGet(t *testing.T, e *apptest.Env, path string) string {
	t.Helper()
	st, body, _ := e.Client().Get(path)
	if st != 200 {
		t.Fatalf("%s: %d", path, st)
	}
	return body
}
