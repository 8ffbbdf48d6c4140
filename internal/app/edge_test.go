package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/web"
)

// blamed is the field a key or value at a body path is blamed under: a
// bad key blames its object ("body" at the top).
func blamed(target string) string {
	if obj, ok := strings.CutSuffix(target, "{}"); ok {
		if obj == "" {
			return "body"
		}
		return obj
	}
	return target
}

// caller is who sends a body to an operation: the account administrator
// for accounts, a county officer for everything else.
func caller(e *apptest.Env, path string, officer, admin *apptest.Client) *apptest.Client {
	if strings.HasPrefix(path, "/api/v1/users") {
		return admin
	}
	return officer
}

// send posts raw JSON and decodes a problem, if the answer is one.
func send(t *testing.T, c *apptest.Client, method, path string, body []byte) (int, web.Problem) {
	t.Helper()
	req := c.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	st, text, _ := c.Send(req)
	var p web.Problem
	if st >= 400 && st < 500 {
		if err := json.Unmarshal([]byte(text), &p); err != nil {
			t.Fatalf("%s %s: %d, not a problem: %s", method, path, st, text)
		}
	}
	return st, p
}

func TestNULInJSONIs400(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		e.User("admin2", access.SysAdmin, "33")
		officer, admin := e.Login("county"), e.Login("admin2")
		_, eps := documented(t, e)
		tried := 0
		for _, ep := range eps {
			schema := ep.jsonBody()
			if schema == nil {
				continue
			}
			for _, target := range stringLeaves(schema, "") {
				tried++
				t.Run(ep.Method+" "+ep.Path+" "+target, func(t *testing.T) {
					body := mustJSON(t, sample(schema, "", target, "a\x00b"))
					st, p := send(t, caller(e, ep.Path, officer, admin), ep.Method, fill(ep.Path), body)
					if st != 400 || len(p.Errors) != 1 || p.Errors[0].Field != blamed(target) || p.DetailEN != "the text contains characters that are not allowed" {
						t.Errorf("status %d, problem %+v; want 400 naming %q", st, p, blamed(target))
					}
				})
			}
		}
		if tried < 60 {
			t.Errorf("only %d strings tried: the document lost its bodies", tried)
		}
	})
}

func TestBadTextRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		before := e.Count(`SELECT COUNT(*) FROM reg_households`)
		household := func(note string) []byte {
			return []byte(`{"division":"` + apptest.CommunityA + `","household_no":"H-1","address":"西湖路 1 号","note":"` + note + `"}`)
		}
		for _, k := range []struct {
			name, note, why string
		}{
			{"a NUL is refused", `a\u0000b`, "contains a NUL character"},
			{"an escape character is refused", `a\u001bb`, "contains the control character U+001B"},
			{"a lone carriage return is refused", `a\rb`, "contains the control character U+000D"},
			{"a C1 control character is refused", `a\u0085b`, "contains the control character U+0085"},
			{"invalid UTF-8 is refused", "a\xff\xfeb", "is not valid UTF-8 text"},
		} {
			t.Run("JSON: "+k.name, func(t *testing.T) {
				st, p := send(t, c, "POST", "/api/v1/households", household(k.note))
				if st != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "note" || p.Errors[0].MessageEN != k.why {
					t.Errorf("status %d, problem %+v", st, p)
				}
			})
		}
		t.Run("JSON: tabs, newlines and CRLF are text", func(t *testing.T) {
			st, _ := send(t, c, "POST", "/api/v1/households", household(`第一行\r\n\t第二行\n`))
			if st != 201 {
				t.Fatalf("status %d", st)
			}
		})
		t.Run("nothing refused was stored", func(t *testing.T) {
			if n := e.Count(`SELECT COUNT(*) FROM reg_households`); n != before+1 {
				t.Errorf("%d households, want %d", n, before+1)
			}
		})
		t.Run("a query parameter names itself", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, c, "GET", "/api/v1/residents?q="+url.QueryEscape("王\x00"), nil, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "q" || p.Errors[0].MessageEN != "contains a NUL character" {
				t.Errorf("problem %+v", p)
			}
		})
		t.Run("a path segment is checked too", func(t *testing.T) {
			p := apptest.JSON[web.Problem](t, c, "GET", "/api/v1/residents/%00", nil, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "path" {
				t.Errorf("problem %+v", p)
			}
		})
		t.Run("a form value is refused on a page with its name", func(t *testing.T) {
			st, page, hdr := c.Form("/registry/households", map[string]string{"division": apptest.CommunityA, "household_no": "H-2", "address": "a\x00b"}, map[string]string{"Origin": e.URL})
			if st != 400 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(page, "address") {
				t.Errorf("status %d %s: %s", st, hdr.Get("Content-Type"), page)
			}
		})
		t.Run("a multipart form's text fields are checked", func(t *testing.T) {
			st, _, _ := c.Multipart("/requests/new", map[string]string{"category": "x", "description": "a\x00b"}, "photo", "", nil, map[string]string{"Origin": e.URL})
			if st != 400 {
				t.Errorf("status %d", st)
			}
		})
		t.Run("an Open311 form is checked before its handler", func(t *testing.T) {
			st, _, _ := c.Form("/open311/v2/requests.json", map[string]string{"service_code": "x", "description": "a\x00b"}, nil)
			if st != 400 {
				t.Errorf("status %d", st)
			}
		})
	})
}

func TestTransitionVersionMustBeANumber(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("worker", access.CommunityWorker, apptest.CommunityA)
		c := e.Login("worker")
		t.Run("the API names the field", func(t *testing.T) {
			req := c.NewRequest("POST", "/api/v1/requests/x/accept", strings.NewReader(`{"version":"abc"}`))
			req.Header.Set("Content-Type", "application/json")
			st, text, _ := c.Send(req)
			var p web.Problem
			if err := json.Unmarshal([]byte(text), &p); st != 400 || err != nil || len(p.Errors) != 1 || p.Errors[0].Field != "version" {
				t.Errorf("status %d: %s", st, text)
			}
		})
		t.Run("the page names the field", func(t *testing.T) {
			st, page, _ := c.Form("/requests/x/accept", map[string]string{"version": "abc"}, map[string]string{"Origin": e.URL})
			if st != 400 || !strings.Contains(page, "version") {
				t.Errorf("status %d: %s", st, page)
			}
		})
	})
}

func TestAPIErrorsAreProblems(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		for _, k := range []struct {
			name, method, path string
			hdr                map[string]string
			status             int
			title, allow       string
		}{
			{"an unknown operation", "GET", "/api/v1/nothing-here", nil, 404, "Not Found", ""},
			{"an unknown operation, anonymously", "GET", "/api/v1/nothing/here", nil, 404, "Not Found", ""},
			{"a method the path does not take", "DELETE", "/api/v1/residents", nil, 405, "Method Not Allowed", "GET, HEAD, POST"},
			{"a method an item does not take", "PATCH", "/api/v1/households/x", nil, 405, "Method Not Allowed", "DELETE, GET, HEAD, PUT"},
			{"a cross-site write", "POST", "/api/v1/households", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "Forbidden", ""},
			{"an import with errors", "POST", "/api/v1/indicator-reports/import", map[string]string{"Content-Type": "text/csv"}, 422, "Unprocessable Content", ""},
			{"a body over the limit", "POST", "/api/v1/households", map[string]string{"Content-Type": "application/json"}, 413, "Content Too Large", ""},
		} {
			t.Run(k.name, func(t *testing.T) {
				var body *strings.Reader
				switch k.status {
				case 422:
					body = strings.NewReader("区划代码,年份,population_total\n330106,2026,5\n")
				case 413:
					body = strings.NewReader(`{"note":"` + strings.Repeat("x", 2<<20) + `"}`)
				default:
					body = strings.NewReader("")
				}
				req := c.NewRequest(k.method, k.path, body)
				for h, v := range k.hdr {
					req.Header.Set(h, v)
				}
				st, text, hdr := c.Send(req)
				var p web.Problem
				if err := json.Unmarshal([]byte(text), &p); err != nil || hdr.Get("Content-Type") != "application/problem+json; charset=utf-8" {
					t.Fatalf("%d %s: %s", st, hdr.Get("Content-Type"), text)
				}
				if st != k.status || p.Status != k.status || p.Title != k.title || p.Detail == "" || p.DetailEN == "" || hdr.Get("Allow") != k.allow {
					t.Errorf("%d %+v Allow %q", st, p, hdr.Get("Allow"))
				}
			})
		}
		t.Run("a page that does not exist stays a plain 404", func(t *testing.T) {
			if st, _, hdr := c.Get("/no-such-page"); st != 404 || strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%d %s", st, hdr.Get("Content-Type"))
			}
		})
	})
}

var _ = http.StatusOK

func TestRequestCatalogueMovedBesideTheRequests(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		st, now, hdr := c.Get("/api/v1/request-services")
		if st != 200 || hdr.Get("Deprecation") != "" {
			t.Fatalf("new path: %d, Deprecation %q", st, hdr.Get("Deprecation"))
		}
		st, old, hdr := c.Get("/api/v1/requests/services")
		if st != 200 || old != now {
			t.Fatalf("old path: %d, a different answer", st)
		}
		if hdr.Get("Deprecation") != "@1796083200" || hdr.Get("Link") != `</api/v1/request-services>; rel="successor-version"` {
			t.Errorf("old path: Deprecation %q, Link %q", hdr.Get("Deprecation"), hdr.Get("Link"))
		}
	})
}
